"""The paper's Table 6/7 ablations as one flag each: --no-resynthesis and --no-reread."""

from __future__ import annotations

import json

from foveate_dspy.compile import main


def compile_run(repo_root, out, *flags: str) -> dict:
    argv = [
        "--corpus", str(repo_root / "examples" / "articles.jsonl"), "--limit", "3", "--n-per-level", "2",
        "--levels", "micro,scatter", "--quiet", "--out", str(out), *flags,
    ]  # fmt: skip
    assert main(argv) == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def records(out) -> list[dict]:
    lines = []
    for name in ("instructions.jsonl", "rejected.jsonl"):
        lines += [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]
    return lines


def test_ablation_flags_switch_off_their_stage_and_nothing_else(repo_root, tmp_path) -> None:
    full = compile_run(repo_root, tmp_path / "full")
    stages = full["lm_usage"]["stages"]
    # The offline teacher fails some scatter questions at first, so the full run re-synthesises.
    assert full["resynthesized"] > 0 and "scatter.regenerate" in stages and stages["reread"]["calls"] > 0

    no_resynthesis = compile_run(repo_root, tmp_path / "no-resynthesis", "--no-resynthesis")
    assert no_resynthesis["settings"]["resynthesis"] is False
    assert no_resynthesis["resynthesized"] == 0 and no_resynthesis["resynthesis_attempts"] == 0
    assert not any(stage.endswith(".regenerate") for stage in no_resynthesis["lm_usage"]["stages"])
    assert all(r["attempts"] == 1 for r in records(tmp_path / "no-resynthesis"))
    assert no_resynthesis["failed"] >= full["resynthesized"]  # what re-synthesis rescued now fails
    assert no_resynthesis["lm_usage"]["stages"]["reread"]["calls"] > 0

    no_reread = compile_run(repo_root, tmp_path / "no-reread", "--no-reread")
    assert no_reread["settings"]["reread"] is False
    assert "reread" not in no_reread["lm_usage"]["stages"]
    assert no_reread["resynthesized"] > 0  # re-synthesis still runs
