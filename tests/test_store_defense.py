"""A store that defends itself (issue 13, item 3): an empty, truncated or corrupt run.sqlite is
refused with one line that says what to do, from compile and from export; exports are never
overwritten by a run that starts from nothing; temporary export files do not linger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from network_helpers import ARTICLES, scripted_teacher

from foveate_dspy.compile import main as compile_main
from foveate_dspy.export import main as export_main
from loopback import LoopbackServer


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "loopback-test-key")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in ARTICLES[:2]), encoding="utf-8")
    return path


def _args(corpus: Path, out: Path, url: str, *extra: str) -> list[str]:
    return ["--corpus", str(corpus), "--out", str(out), "--teacher", "openai/loopback", "--api-base", url, "--n-per-level", "1", "--quiet", *extra]


@pytest.fixture
def finished_run(corpus: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, out, server.url)) == 0
    return out


def _exports(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("instructions.jsonl", "rejected.jsonl", "summary.json")}


def _damage(store: Path, how: str) -> None:
    if how == "empty":
        store.write_bytes(b"")
    elif how == "truncated":
        store.write_bytes(store.read_bytes()[:100])
    else:  # 4 KiB of garbage inside, past the header page
        data = bytearray(store.read_bytes())
        data[4096:8192] = os.urandom(4096)
        store.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_a_damaged_store_is_refused_by_compile_and_export_with_one_line(
    how: str, corpus: Path, finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports = _exports(finished_run)
    _damage(finished_run / "run.sqlite", how)
    capsys.readouterr()
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, finished_run, server.url)) == 1
        assert server.snapshot()["requests"] == 0  # never silently redone
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run.sqlite" in err and "--force-new" in err, err
    assert _exports(finished_run) == exports  # the exports made from it are untouched
    assert export_main([str(finished_run), "--format", "alpaca", "--out", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run.sqlite" in err and "damaged" in err or "empty" in err, err
    # --force-new moves it aside and starts over.
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, finished_run, server.url, "--force-new")) == 0
    moved = [p for p in finished_run.iterdir() if p.name.startswith("superseded-")]
    assert len(moved) == 1 and (moved[0] / "run.sqlite").exists() and (moved[0] / "summary.json").read_bytes() == exports["summary.json"]


def test_a_store_without_a_run_never_overwrites_exports(corpus: Path, finished_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store that holds tables but no run (e.g. replaced by an empty database) beside exports."""
    import sqlite3

    exports = _exports(finished_run)
    (finished_run / "run.sqlite").unlink()
    sqlite3.connect(finished_run / "run.sqlite").execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)").connection.close()
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, finished_run, server.url)) == 1
        assert server.snapshot()["requests"] == 0
    assert "--force-new" in capsys.readouterr().err
    assert _exports(finished_run) == exports


def test_temporary_files_of_a_killed_export_are_removed_by_the_next_write(tmp_path: Path) -> None:
    from foveate_dspy.export import remove_stale_tmp, write_json

    target = tmp_path / "instructions.jsonl"
    # A writer killed mid-export left its temporary file; its pid no longer runs.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".instructions.jsonl.{dead}.abc123.tmp"
    stale.write_text("half a file")
    live = tmp_path / f".instructions.jsonl.{os.getppid()}.def456.tmp"  # a live writer's: left alone
    live.write_text("being written")
    write_json(target, {"ok": True})
    assert not stale.exists() and live.exists()
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [live.name]
    assert remove_stale_tmp(target) == []


def test_killing_an_export_leaves_no_temporary_file_after_the_next_export(finished_run: Path, tmp_path: Path, repo_root: Path) -> None:
    """A real export process killed while writing (SIGKILL from inside, mid-file), then run again."""
    out = tmp_path / "out.jsonl"
    code = (
        "import os, signal, sys\n"
        "import foveate_dspy.export as export\n"
        "real = export.to_openai_chat\n"
        "def dying(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "export.to_openai_chat = dying\n"
        f"export.main([{str(finished_run)!r}, '--format', 'openai-chat', '--out', {str(out)!r}])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    killed = subprocess.run([sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the kill left one behind
    assert export_main([str(finished_run), "--format", "openai-chat", "--out", str(out)]) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert out.read_text().count("\n") > 0
