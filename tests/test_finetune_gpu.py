"""The real 4-bit QLoRA path (bitsandbytes NF4 on CUDA), on the tiny model: trains, saves the
adapter, and answers with the 4-bit base. Skipped where no GPU or bitsandbytes is available."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None,
        reason="needs a CUDA GPU and bitsandbytes for the 4-bit QLoRA path (none here; CPU tests cover plain LoRA)",
    ),
]


def test_qlora_4bit_trains_and_answers(tmp_path: Path, shared_data: Path) -> None:
    from finetune.config import TrainConfig
    from finetune.evaluate import evaluate
    from finetune.generation import Sampling
    from finetune.correctness import OfflineJudge
    from finetune.train import train
    from finetune_helpers import squad_records, tiny_model, write_instructions

    data = write_instructions(tmp_path / "i.jsonl", squad_records(64))
    config = TrainConfig(learning_rate=3e-3, max_steps=12, logging_steps=2, save_steps=100)
    assert config.quant and config.double_quant  # the paper's defaults, untouched
    summary = train(data, str(tiny_model()), tmp_path / "run", config, show_progress=False)
    assert summary["quant"] == "4-bit nf4 double-quant"
    assert summary["peak_gpu_allocated_gib"] > 0
    assert summary["last_logged_loss"] < summary["first_logged_loss"]

    result = evaluate(
        str(tmp_path / "run"),
        shared_data / "squad11_dev_small100.jsonl",
        tmp_path / "eval",
        OfflineJudge(),
        sampling=Sampling(max_new_tokens=8),
        limit=16,
        show_progress=False,
    )
    assert result["n_questions"] == 16 and result["recall"]["mean"] is not None
    assert result["loaded_in_4bit"] is True  # followed the run: answered in 4-bit as it was trained
