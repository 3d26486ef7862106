"""Bad input and settings: data files, question files, config files, flags, prompt encoding and
the CLI's one-line errors. Nothing here trains a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from finetune.cli import build_parser
from finetune.config import TrainConfig, read_config_file, resolve_config
from finetune.errors import FinetuneError
from finetune.prompts import IGNORE_INDEX, encode_example, render_prompt, resolve_prompt_format
from finetune.data import load_instructions, load_questions


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---- instruction files ---------------------------------------------------------------------


def test_instructions_lenient_on_extra_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "i.jsonl",
        json.dumps({"instruction": "Q?", "output": "A.", "article_id": 7, "feature": ["x"], "attempts": 2}) + "\n\n",
    )
    (record,) = load_instructions(path)
    assert (record.instruction, record.output, record.article_id, record.line) == ("Q?", "A.", "7", 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("\n  \n", "the file is empty"),
        ('{"instruction": "Q", "output": "A"}\n{"instruction": "Q2", "output": \n', ":2: not valid JSON"),
        ('["instruction", "output"]\n', ":1: expected a JSON object"),
        ('{"instruction": "Q", "output": "A"}\n{"instruction": "Q2"}\n', ":2: missing required field 'output'"),
        ('{"instruction": 3, "output": "A"}\n', ":1: field 'instruction' must be a string"),
        ('{"instruction": "  ", "output": "A"}\n', ":1: field 'instruction' is empty"),
    ],
)
def test_instructions_errors_name_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = _write(tmp_path / "bad.jsonl", content)
    with pytest.raises(FinetuneError, match=r"bad\.jsonl") as err:
        load_instructions(path)
    assert message in str(err.value)


def test_instructions_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FinetuneError, match="no such file"):
        load_instructions(tmp_path / "absent.jsonl")


# ---- question files ------------------------------------------------------------------------


def test_squad_questions_one_item_per_question(shared_data: Path) -> None:
    items = load_questions(shared_data / "squad11_dev_small100.jsonl", limit=100)
    assert len(items) == 100
    first = json.loads((shared_data / "squad11_dev_small100.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert items[0].qid == first["questions"][0]["id"]
    assert items[0].answers == tuple(first["questions"][0]["answers"])
    assert items[0].context == first["context"]
    assert len(load_questions(shared_data / "squad11_dev_small100.jsonl")) == 527


def test_flat_questions_accept_answer_or_answers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "q.jsonl",
        json.dumps({"question": "Who?", "answer": "Me"})
        + "\n"
        + json.dumps({"id": "b", "question": "When?", "answers": ["Now", ""]})
        + "\n",
    )
    items = load_questions(path)
    assert [(i.qid, i.answers) for i in items] == [("line1", ("Me",)), ("b", ("Now",))]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "Who?"}\n', ":1: missing required field 'answers'"),
        ('{"question": "Who?", "answers": []}\n', ":1: field 'answers' holds no non-empty answer"),
        ('{"questions": [{"question": "Q", "answers": [1]}]}\n', ":1: questions[0]: field 'answers' must be"),
        (
            '{"id": "a", "question": "Q", "answer": "A"}\n{"id": "a", "question": "Q", "answer": "A"}\n',
            "'a' occurs more than once",
        ),
    ],
)
def test_question_errors(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(FinetuneError) as err:
        load_questions(_write(tmp_path / "q.jsonl", content))
    assert message in str(err.value)


# ---- configuration -------------------------------------------------------------------------


def test_defaults_are_the_papers() -> None:
    config = TrainConfig()
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (8, 16, 0.0)
    assert (config.learning_rate, config.num_train_epochs, config.lr_scheduler_type) == (1e-4, 5.0, "cosine")
    assert (config.warmup_steps, config.effective_batch_size, config.cutoff_len) == (0, 16, 2048)
    assert (config.optim, config.max_grad_norm, config.quant, config.double_quant) == ("adamw_torch", 1.0, True, True)


def test_flags_override_config_file_overrides_defaults(tmp_path: Path) -> None:
    config_file = _write(tmp_path / "c.yaml", "learning_rate: 2e-4\nlora_r: 16\nquant: false\ncutoff-len: 512\n")
    args = build_parser().parse_args(
        [
            "train",
            "--data",
            "d",
            "--base-model",
            "m",
            "--out",
            "o",
            "--config",
            str(config_file),
            "--rank",
            "4",
            "--epochs",
            "2",
        ]
    )
    config = resolve_config(args.config, vars(args))
    assert config.learning_rate == 2e-4  # file (YAML reads 2e-4 as a string; coerced)
    assert config.lora_r == 4  # flag beats file
    assert config.num_train_epochs == 2.0  # flag
    assert config.quant is False and config.cutoff_len == 512  # file
    assert config.lora_alpha == 16  # default


def test_config_file_json_and_errors(tmp_path: Path) -> None:
    assert read_config_file(_write(tmp_path / "c.json", '{"optim": "adamw_torch_fused"}')) == {
        "optim": "adamw_torch_fused"
    }
    with pytest.raises(FinetuneError, match="unknown setting 'lora_rank'"):
        read_config_file(_write(tmp_path / "u.json", '{"lora_rank": 8}'))
    with pytest.raises(FinetuneError, match="'lora_r' must be int"):
        read_config_file(_write(tmp_path / "t.json", '{"lora_r": "eight"}'))
    with pytest.raises(FinetuneError, match="cannot parse"):
        read_config_file(_write(tmp_path / "p.json", "{oops"))
    with pytest.raises(FinetuneError, match="must be at least 1"):
        resolve_config(None, {"per_device_train_batch_size": 0})


# ---- prompts and labels --------------------------------------------------------------------


@pytest.mark.parametrize("chat", [False, True])
def test_loss_only_on_answer_tokens(chat: bool) -> None:
    from finetune_helpers import tiny_tokenizer

    tokenizer = tiny_tokenizer(chat_template=chat)
    fmt = resolve_prompt_format(tokenizer, "auto")
    assert fmt == ("chat" if chat else "plain")
    encoded = encode_example(tokenizer, "Who won Super Bowl 50?", "Denver Broncos", fmt, cutoff_len=2048)
    prompt_len = encoded.labels.count(IGNORE_INDEX)
    assert encoded.labels[:prompt_len] == [IGNORE_INDEX] * prompt_len
    assert encoded.labels[prompt_len:] == encoded.input_ids[prompt_len:]
    answer = tokenizer.decode(encoded.input_ids[prompt_len:], skip_special_tokens=True)
    assert answer.strip() == "Denver Broncos"
    assert encoded.input_ids[prompt_len:][-2 if chat else -1] == tokenizer.eos_token_id  # learns to stop
    # the prompt is exactly what evaluation renders (plain prompts get the tokenizer's BOS added)
    rendered = render_prompt(tokenizer, "Who won Super Bowl 50?", fmt)
    assert tokenizer.decode(encoded.input_ids[:prompt_len]) == ("" if chat else "<s>") + rendered
    assert encoded.input_ids.count(tokenizer.bos_token_id) == 1  # no doubled BOS with templates


def test_over_long_records_are_truncated_not_dropped() -> None:
    from finetune_helpers import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    encoded = encode_example(tokenizer, "word " * 400, "answer " * 50, "plain", cutoff_len=64)
    assert encoded.truncated
    assert len(encoded.input_ids) == len(encoded.labels) == 64
    assert any(label != IGNORE_INDEX for label in encoded.labels)  # the answer keeps part of the budget
    assert "### Response:" in tokenizer.decode(encoded.input_ids)  # the response header survives
    assert not encode_example(tokenizer, "short?", "yes", "plain", cutoff_len=64).truncated


def test_chat_format_needs_a_template() -> None:
    from finetune_helpers import tiny_tokenizer

    with pytest.raises(FinetuneError, match="no chat template"):
        resolve_prompt_format(tiny_tokenizer(), "chat")


# ---- the CLI -------------------------------------------------------------------------------


REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finetune", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_help_does_not_import_heavy_libraries() -> None:
    heavy = "{'torch', 'transformers', 'peft', 'dspy', 'bitsandbytes'}"
    probe = (
        f"import sys; from finetune.cli import build_parser; build_parser(); print(sorted({heavy} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"
    assert "usage: python -m finetune" in _cli("--help").stdout


def test_4bit_without_bitsandbytes_or_cuda_is_one_clear_line(tmp_path: Path) -> None:
    import importlib.util

    import torch

    if importlib.util.find_spec("bitsandbytes") is not None and torch.cuda.is_available():
        pytest.skip("4-bit can run here; the refusal path is for machines without it")
    data = _write(tmp_path / "d.jsonl", json.dumps({"instruction": "Q", "output": "A"}) + "\n")
    result = _cli("train", "--data", str(data), "--base-model", str(tmp_path), "--out", str(tmp_path / "run"))
    lines = _error_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("finetune: error: 4-bit QLoRA cannot run here") and "--no-quant" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-model", "/nonexistent/model/dir"], "base model path '/nonexistent/model/dir' does not exist"),
        (["--data", "{missing}"], "missing.jsonl: no such file"),
        (["--data", "{empty}"], "empty.jsonl: the file is empty (no JSON records)"),
    ],
)
def test_train_bad_input_is_one_line_naming_the_problem(tmp_path: Path, args: list[str], message: str) -> None:
    data = _write(tmp_path / "d.jsonl", json.dumps({"instruction": "Q", "output": "A"}) + "\n")
    _write(tmp_path / "empty.jsonl", "")
    defaults = {"--data": str(data), "--base-model": str(tmp_path), "--out": str(tmp_path / "run")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        defaults[flag] = value.format(missing=tmp_path / "missing.jsonl", empty=tmp_path / "empty.jsonl")
    result = _cli("train", "--no-quant", *[x for pair in defaults.items() for x in pair])
    assert result.returncode == 2
    (line,) = _error_lines(result)
    assert line.startswith("finetune: error: ") and line.endswith(message)
