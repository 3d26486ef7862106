"""The run store under faults: a full disk, a read-only directory, a second writer, a corrupt
store file, hostile ids. Each must give a clear error and leave committed work intact."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest
from resume_helpers import Teacher, comparable, compile_run, make_articles, read_jsonl, store_rows

from foveate_dspy.runtime import store as store_module
from foveate_dspy.corpus.readers import Article
from foveate_dspy.runtime.store import RunStore, StoreError


def _full_disk_after(inserts: int):
    """A connection factory whose item inserts fail, like SQLite on a full disk, after `inserts`."""

    class FullDisk(sqlite3.Connection):
        seen = 0

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO items"):
                FullDisk.seen += 1
                if FullDisk.seen > inserts:
                    raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    original = store_module._connect
    return lambda path, factory=sqlite3.Connection, read_only=False: original(path, FullDisk, read_only)


def _consistent(run_dir: Path) -> None:
    """Every done article has all its items and attempts; no other article has any."""
    orphans = store_rows(
        run_dir, "SELECT COUNT(*) FROM items JOIN articles ON articles.id = items.article_id WHERE articles.status != 'done'"
    )
    assert orphans == [(0,)]
    attempts = store_rows(run_dir, "SELECT (SELECT COUNT(*) FROM attempts), (SELECT COALESCE(SUM(attempts), 0) FROM items)")
    assert attempts[0][0] == attempts[0][1]
    per_article = store_rows(run_dir, "SELECT articles.id, COUNT(items.id) FROM articles LEFT JOIN items ON items.article_id = articles.id WHERE status = 'done' GROUP BY articles.id")
    assert all(count == 6 for _, count in per_article)  # 3 levels x n=2


def test_full_disk_mid_run_loses_nothing_committed_and_resume_completes(tmp_path: Path, monkeypatch) -> None:
    articles = make_articles(6)
    reference = tmp_path / "reference"
    compile_run(articles, reference, max_concurrency=1)

    run_dir = tmp_path / "run"
    monkeypatch.setattr(store_module, "_connect", _full_disk_after(13))  # dies inside the third article
    with pytest.raises(StoreError) as failure:
        compile_run(articles, run_dir, max_concurrency=1)
    message = str(failure.value)
    assert "database or disk is full" in message and "run the same command again to resume" in message
    done = store_rows(run_dir, "SELECT COUNT(*) FROM articles WHERE status = 'done'")[0][0]
    assert done == 2
    _consistent(run_dir)
    # The exports written as the failed run ended hold exactly the committed articles.
    assert {r["article_id"] for r in read_jsonl(run_dir / "instructions.jsonl")} == {"art-0", "art-1"}

    monkeypatch.undo()
    summary = compile_run(articles, run_dir, max_concurrency=1)
    assert summary["complete"] and summary["this_run"]["articles_skipped_done"] == 2
    records = read_jsonl(run_dir / "instructions.jsonl")
    assert comparable(records) == comparable(read_jsonl(reference / "instructions.jsonl"))
    assert len({r["id"] for r in records}) == len(records)
    _consistent(run_dir)


@pytest.fixture()
def tiny_tmpfs():
    """A 2 MiB tmpfs, for a real ENOSPC (needs root with CAP_SYS_ADMIN; skipped otherwise)."""
    mount_point = Path(tempfile.mkdtemp(prefix="foveate-tmpfs-"))
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs to fill up ({result.stderr.strip() or 'not permitted'}); the simulated full disk test covers the logic")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
        mount_point.rmdir()


def test_real_full_disk_on_a_tiny_filesystem(tiny_tmpfs: Path, tmp_path: Path) -> None:
    articles = make_articles(6, extra="Padding sentence about rockets. " * 200)
    run_dir = tiny_tmpfs / "run"
    filler = tiny_tmpfs / "filler"
    state = {"filled": False}

    def fill_disk_at_third_article(inputs) -> None:
        if not state["filled"] and "Falcon2" in str(inputs.get("article", "")):
            state["filled"] = True
            with filler.open("wb") as handle:  # take every free byte
                try:
                    while True:
                        handle.write(b"\0" * 65536)
                        handle.flush()
                except OSError:
                    pass

    with pytest.raises(StoreError, match="full"):
        compile_run(articles, run_dir, Teacher(before=fill_disk_at_third_article), max_concurrency=1)
    done = store_rows(run_dir, "SELECT COUNT(*) FROM articles WHERE status = 'done'")[0][0]
    assert 0 < done < 6
    _consistent(run_dir)

    filler.unlink()
    compile_run(articles, run_dir, max_concurrency=1)
    reference = tmp_path / "reference"
    compile_run(articles, reference, max_concurrency=1)
    assert comparable(read_jsonl(run_dir / "instructions.jsonl")) == comparable(read_jsonl(reference / "instructions.jsonl"))
    _consistent(run_dir)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _make_read_only(folder: Path) -> str:
    """Make `folder` unwritable for this process; returns how, or skips when it cannot."""
    folder.chmod(0o555)
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return "chmod"
    probe.unlink()
    folder.chmod(0o755)
    # root ignores permission bits; the immutable attribute stops root too.
    result = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if result.returncode == 0:
        return "chattr"
    pytest.skip(f"running as root and cannot set the immutable attribute ({result.stderr.strip()}): no way to make a directory read-only")


def _make_writable(folder: Path, how: str) -> None:
    if how == "chattr":
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    folder.chmod(0o755)


def test_read_only_run_directory_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    articles = make_articles(2)
    run_dir = tmp_path / "run"
    compile_run(articles, run_dir)
    before = _digest(run_dir)
    how = _make_read_only(run_dir)
    try:
        with pytest.raises(StoreError, match="cannot write the run directory"):
            compile_run(articles, run_dir)
        with pytest.raises(StoreError, match="cannot write the run directory"):
            compile_run(articles, run_dir / "new-run")
    finally:
        _make_writable(run_dir, how)
    assert _digest(run_dir) == before


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    first = RunStore.open(tmp_path / "run")
    try:
        with pytest.raises(StoreError, match="another run is writing this directory"):
            RunStore.open(tmp_path / "run")
    finally:
        first.close()
    RunStore.open(tmp_path / "run").close()  # released on close


def test_a_corrupt_store_file_is_named(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.sqlite").write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match=r"run\.sqlite: the run store is damaged \(not a SQLite database.*--force-new"):
        RunStore.open(run_dir)


def test_outputs_without_a_store_are_not_overwritten(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "instructions.jsonl").write_text('{"instruction": "mine", "output": "keep"}\n')
    with pytest.raises(StoreError, match="no run store"):
        compile_run(make_articles(1), run_dir)
    assert "mine" in (run_dir / "instructions.jsonl").read_text()
    compile_run(make_articles(1), run_dir, force_new=True)
    moved = [p for p in run_dir.iterdir() if p.name.startswith("superseded-")]
    assert len(moved) == 1 and "mine" in (moved[0] / "instructions.jsonl").read_text()


def test_hostile_ids_and_texts_are_stored_verbatim(tmp_path: Path) -> None:
    hostile = "x'); DROP TABLE items; --"
    articles = [Article(hostile, make_articles(1)[0].text + ' "quoted" ; DELETE FROM articles;')]
    compile_run(articles, tmp_path / "run")
    records = read_jsonl(tmp_path / "run" / "instructions.jsonl")
    assert records and {r["article_id"] for r in records} == {hostile}
    assert store_rows(tmp_path / "run", "SELECT id FROM articles") == [(hostile,)]


def test_a_crashed_session_is_marked_interrupted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    compile_run(make_articles(1), run_dir)
    with RunStore.open(run_dir) as store:
        store.begin_session({})  # never ended: what a kill -9 leaves behind
    summary = compile_run(make_articles(1), run_dir)
    assert [s["status"] for s in summary["sessions"]] == ["finished", "interrupted", "finished"]
