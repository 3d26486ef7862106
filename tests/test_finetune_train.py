"""Fine-tuning and scoring end to end on a tiny random Llama, on CPU with plain LoRA."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from finetune_helpers import scripted_judge_lm, squad_records, tiny_model, write_instructions  # noqa: E402

from finetune.compare import compare, parse_named_files, subsample_per_article  # noqa: E402
from finetune.config import TrainConfig  # noqa: E402
from finetune.errors import FinetuneError  # noqa: E402
from finetune.evaluate import evaluate  # noqa: E402
from finetune.generation import Sampling  # noqa: E402
from finetune.correctness import UNPARSEABLE, LLMJudge, OfflineJudge  # noqa: E402
from finetune.train import train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
QUICK = dict(quant=False, per_device_train_batch_size=8, gradient_accumulation_steps=1, logging_steps=5)
SHORT_ANSWERS = Sampling(temperature=0.5, top_p=0.95, max_new_tokens=4)


def _quiet(_: str) -> None:
    """Log sink for in-process runs (the CLI logs to stderr)."""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """30 LoRA steps at a high learning rate on 60 SQuAD pairs, checkpoints every 10 steps."""
    work = tmp_path_factory.mktemp("trained")
    data = write_instructions(work / "instructions.jsonl", squad_records(60))
    config = TrainConfig(**QUICK, learning_rate=3e-3, max_steps=30, save_steps=10)
    train(data, str(tiny_model()), work / "run", config, show_progress=False, log=_quiet)
    return work / "run"


def test_lora_training_loss_falls(trained_run: Path) -> None:
    summary = json.loads((trained_run / "train_summary.json").read_text())
    assert summary["global_step"] == 30
    assert summary["last_logged_loss"] < summary["first_logged_loss"]
    assert (summary["quant"], summary["prompt_format"], summary["n_truncated"]) == ("none", "plain", 0)
    assert 0 < summary["trainable_parameters"] < summary["total_parameters"]
    logged = [json.loads(line) for line in (trained_run / "log_history.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logged if "loss" in entry] == [1, 5, 10, 15, 20, 25, 30]
    assert (trained_run / "adapter" / "adapter_config.json").is_file()
    manifest = json.loads((trained_run / "finetune_config.json").read_text())
    assert manifest["config"]["lora_alpha"] == 16 and manifest["n_records"] == 60


def test_resume_continues_from_the_last_checkpoint(trained_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    # make it look interrupted after step 20
    (run / "train_summary.json").unlink()
    shutil.rmtree(run / "adapter")
    shutil.rmtree(run / "checkpoints" / "checkpoint-30")
    manifest = json.loads((run / "finetune_config.json").read_text())
    config = TrainConfig(**manifest["config"])
    data = Path(manifest["data"])

    with pytest.raises(
        FinetuneError, match=f"{run} holds an unfinished run \\(last checkpoint checkpoint-20\\); pass --resume"
    ):
        train(data, manifest["base_model"], run, config, log=_quiet)
    changed = TrainConfig(**{**manifest["config"], "learning_rate": 1e-3})
    with pytest.raises(FinetuneError, match=r"other settings \(learning_rate: 0\.003 -> 0\.001\)"):
        train(data, manifest["base_model"], run, changed, resume=True, log=_quiet)

    summary = train(data, manifest["base_model"], run, config, resume=True, show_progress=False, log=_quiet)
    assert summary["resumed_from"] == "checkpoint-20"
    assert summary["global_step"] == 30
    logged = [json.loads(line) for line in (run / "log_history.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logged if "loss" in entry] == [1, 5, 10, 15, 20, 25, 30]  # no repeats
    assert (run / "adapter" / "adapter_config.json").is_file()


def test_finished_run_is_refused_unless_resumed_or_overwritten(trained_run: Path, tmp_path: Path) -> None:
    manifest = json.loads((trained_run / "finetune_config.json").read_text())
    config = TrainConfig(**manifest["config"])
    with pytest.raises(FinetuneError, match=f"--out {trained_run} already holds a finished run.*--overwrite"):
        train(manifest["data"], manifest["base_model"], trained_run, config, log=_quiet)
    before = (trained_run / "train_summary.json").read_text()
    assert train(manifest["data"], manifest["base_model"], trained_run, config, resume=True, log=_quiet) == json.loads(
        before
    )
    assert (trained_run / "train_summary.json").read_text() == before

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FinetuneError, match="not empty and holds no finetune run"):
        train(manifest["data"], manifest["base_model"], foreign, config, overwrite=True, log=_quiet)
    assert (foreign / "notes.txt").is_file()


def test_over_long_records_are_truncated_and_counted(trained_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    rows = [
        *squad_records(8),
        {"instruction": "Explain " + "the history of the stadium " * 80, "output": "It is long."},
    ]
    data = write_instructions(tmp_path / "long.jsonl", rows)
    config = TrainConfig(**QUICK, cutoff_len=128, max_steps=2, save_steps=100)
    summary = train(data, str(tiny_model()), run, config, overwrite=True, show_progress=False, log=_quiet)
    assert summary["n_truncated"] == 1 and summary["n_records"] == 9
    assert summary["global_step"] == 2


def test_evaluate_resumes_adds_rounds_and_refuses_changed_settings(
    trained_run: Path, tmp_path: Path, shared_data: Path
) -> None:
    questions = shared_data / "squad11_dev_small100.jsonl"
    out = tmp_path / "eval"
    first = evaluate(
        str(trained_run),
        questions,
        out,
        OfflineJudge(),
        sampling=SHORT_ANSWERS,
        limit=8,
        show_progress=False,
        log=_quiet,
    )
    assert first["answered_this_session"] == 8 and first["recall"]["std"] is None
    assert first["model_kind"] == "finetune-run" and first["loaded_in_4bit"] is False
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert {row["round"] for row in rows} == {0} and len(rows) == 8
    assert all(set(row) >= {"id", "question", "answers", "generated", "recall", "verdict"} for row in rows)

    # tear the last line as a crash would; a second round is added; finished items are skipped
    text = (out / "items.jsonl").read_text()
    (out / "items.jsonl").write_text(text[: -len(text.splitlines()[-1]) // 2 - 1])
    second = evaluate(
        str(trained_run),
        questions,
        out,
        OfflineJudge(),
        sampling=SHORT_ANSWERS,
        limit=8,
        rounds=2,
        show_progress=False,
        log=_quiet,
    )
    assert second["answered_this_session"] == 1 + 8
    assert len(second["recall"]["per_round"]) == 2 and second["recall"]["std"] is not None
    assert second["judge_kind"].startswith("offline")

    with pytest.raises(FinetuneError, match="other settings \\(sampling"):
        evaluate(
            str(trained_run), questions, out, OfflineJudge(), sampling=Sampling(temperature=1.0), limit=8, log=_quiet
        )


def test_chat_template_model_with_an_llm_judge(tmp_path: Path, shared_data: Path) -> None:
    data = write_instructions(tmp_path / "i.jsonl", squad_records(16))
    run = tmp_path / "run"
    summary = train(
        data,
        str(tiny_model(chat_template=True)),
        run,
        TrainConfig(**QUICK, max_steps=2),
        show_progress=False,
        log=_quiet,
    )
    assert summary["prompt_format"] == "chat"
    lm, _ = scripted_judge_lm()  # the tiny model's answers are gibberish: the scripted judge cannot parse them
    result = evaluate(
        str(run),
        shared_data / "squad11_dev_small100.jsonl",
        tmp_path / "eval",
        LLMJudge("offline/scripted", lm=lm),
        sampling=SHORT_ANSWERS,
        limit=5,
        show_progress=False,
        log=_quiet,
    )
    assert result["unparseable"]["total"] == 5
    assert result["accuracy"]["mean"] is None  # nothing judged: no accuracy, rather than 0
    assert all(
        json.loads(line)["verdict"] == UNPARSEABLE
        for line in (tmp_path / "eval" / "items.jsonl").read_text().splitlines()
    )


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finetune", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_cli_train_then_evaluate_on_100_squad_questions(tmp_path: Path, shared_data: Path) -> None:
    """The whole loop through the CLI. The model is tuned on the 100 test questions' own gold
    answers, a memorisation check: if prompts, labels, adapter saving/loading or decoding were
    out of step, the tuned model could not recall the answers it was trained on."""
    questions = shared_data / "squad11_dev_small100.jsonl"
    data = write_instructions(tmp_path / "gold100.jsonl", squad_records(100))
    base = str(tiny_model())
    trained = _cli(
        "train", "--data", str(data), "--base-model", base, "--out", str(tmp_path / "run"), "--no-quant",
        "--lr", "1e-2", "--max-steps", "80", "--batch-size", "16", "--grad-accum", "1", "--lora-r", "16",
        "--no-gradient-checkpointing", "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["global_step"] == 80

    evaluated = _cli(
        "evaluate", "--model", str(tmp_path / "run"), "--questions", str(questions), "--limit", "100",
        "--out", str(tmp_path / "eval"), "--temperature", "0", "--max-new-tokens", "12", "--no-progress",
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.startswith("recall ")
    tuned = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert tuned["n_questions"] == 100 and tuned["judge"] == "offline"
    assert len((tmp_path / "eval" / "items.jsonl").read_text().splitlines()) == 100

    untuned = evaluate(
        base,
        questions,
        tmp_path / "base-eval",
        OfflineJudge(),
        sampling=Sampling(temperature=0, max_new_tokens=12),
        limit=100,
        show_progress=False,
        log=_quiet,
    )
    assert tuned["recall"]["mean"] > 0.1 > untuned["recall"]["mean"]
    assert tuned["accuracy"]["mean"] > untuned["accuracy"]["mean"]


def test_subsample_per_article_is_nested_and_seeded(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{a}-{i}", "output": "a", "article_id": f"art{a}"} for a in range(3) for i in range(5)]
    rows.append({"instruction": "q-solo", "output": "a", "article_id": "solo"})
    path = write_instructions(tmp_path / "i.jsonl", rows)
    one, two = subsample_per_article(path, 1, seed=0), subsample_per_article(path, 2, seed=0)
    assert len(one) == 4 and len(two) == 7  # the one-record article keeps its single record
    assert all(row in two for row in one)
    assert subsample_per_article(path, 2, seed=0) == two
    assert len(subsample_per_article(path, 9, seed=0)) == 16
    write_instructions(path, [{"instruction": "q", "output": "a"}])
    with pytest.raises(FinetuneError, match=":1: missing field 'article_id'"):
        subsample_per_article(path, 1, seed=0)


def test_compare_writes_table_json_and_plot(tmp_path: Path, shared_data: Path) -> None:
    rows = squad_records(40)
    data = write_instructions(tmp_path / "gold.jsonl", rows)
    named = parse_named_files([f"gold={data}"])
    config = TrainConfig(**QUICK, max_steps=3, save_steps=100)
    kwargs = dict(sizes=[1, 2], include_base=True, sampling=SHORT_ANSWERS, limit=10, show_progress=False, log=_quiet)
    out = tmp_path / "cmp"
    result = compare(
        str(tiny_model()), shared_data / "squad11_dev_small100.jsonl", out, named, OfflineJudge(), config, **kwargs
    )

    articles = len({row["article_id"] for row in rows})
    assert [(r["name"], r["per_article"], r["n_records"]) for r in result] == [
        ("base", None, 0),
        ("gold", None, 40),
        ("gold@1", 1, articles),
        ("gold@2", 2, len(subsample_per_article(data, 2, 0))),
    ]  # fmt: skip
    assert all(r["recall"]["mean"] is not None and r["method"] for r in result)
    assert result[1]["method"] == "squad-gold"
    table = (out / "compare.md").read_text()
    assert "| run | method | per article | records | dropped | recall | accuracy | unparseable |" in table
    assert "| gold@2 | squad-gold | 2 |" in table and "offline containment" in table
    assert json.loads((out / "compare.json").read_text())["runs"] == result
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    trained_at = (out / "gold" / "train" / "train_summary.json").stat().st_mtime_ns
    assert (
        compare(
            str(tiny_model()), shared_data / "squad11_dev_small100.jsonl", out, named, OfflineJudge(), config, **kwargs
        )
        == result
    )
    assert (out / "gold" / "train" / "train_summary.json").stat().st_mtime_ns == trained_at  # resumed, not retrained


def test_compare_rejects_bad_run_specs(tmp_path: Path) -> None:
    with pytest.raises(FinetuneError, match="expected NAME=PATH"):
        parse_named_files(["just-a-path.jsonl"])
    with pytest.raises(FinetuneError, match="no such instruction file"):
        parse_named_files([f"a={tmp_path / 'nope.jsonl'}"])
    with pytest.raises(FinetuneError, match="'base', 'open-book', 'rag' are reserved"):
        parse_named_files([f"base={tmp_path}"])
