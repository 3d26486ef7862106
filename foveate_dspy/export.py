"""Exports of a run: the run directory's own files, and training formats.

`python -m foveate_dspy.export RUN_DIR --format FORMAT --out PATH` turns the accepted records of a
run (read from its store, safely even while the run is still writing) into:

    jsonl        the instructions.jsonl records (id, article_id, level, feature, instruction,
                 output, attempts, teacher, method, language, source, history)
    alpaca       a JSON array of {"instruction", "input", "output"}
    sharegpt     a JSON array of {"id", "conversations": [{"from": "human"|"gpt", "value"}]}
    openai-chat  JSON Lines of {"messages": [{"role": "user"|"assistant", "content"}]}, the
                 OpenAI fine-tuning format
    hf           a `datasets.Dataset.save_to_disk` folder (`datasets.load_from_disk` reads it);
                 `--push-to-hub NAME` uploads it as well

The Self-Foveate instructions are closed-book questions (fine-tuning trains without the article),
so the article is left out unless `--with-context` asks for it (alpaca: `input`; chat formats:
before the instruction in the user turn). RUN_DIR may also be a plain instructions.jsonl.

Every file is written to a temporary name and renamed into place, so a crash or a full disk
never leaves a half-written export where a complete one is expected.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from foveate_dspy import json_safe
from foveate_dspy.corpus.jsonl import read_objects, write_objects

if TYPE_CHECKING:
    from foveate_dspy.runtime.store import RunStore

FORMATS = ("jsonl", "alpaca", "sharegpt", "openai-chat", "hf")
RECORDS = "instructions.jsonl"
REJECTED = "rejected.jsonl"
SUMMARY = "summary.json"
EXIT_USAGE = 2
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why and names the path."""


# --- atomic files ---------------------------------------------------------------------------


def _tmp_prefix(path: Path, pid: int | None = None) -> str:
    """Temporary files are named .NAME.PID.<random>.tmp: the pid tells a stale one (its writer is
    gone, e.g. killed during the export) from one another process is writing right now."""
    return f".{path.name}.{os.getpid() if pid is None else pid}."


def remove_stale_tmp(path: Path) -> list[Path]:
    """Delete the temporary files that writers of `path` left behind when they died (a kill
    during an export); returns them. Files of a live writer are left alone."""
    removed = []
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{path.name}.*.tmp"):
            pid = candidate.name[len(path.name) + 2 :].split(".", 1)[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write `path` through a temporary file in the same folder, fsync it, then rename it over
    `path`: readers see the old file or the new one, never a torn one. On failure the temporary
    file is removed and `path` is untouched; one left by a writer that was killed is removed by
    the next write of `path`."""
    remove_stale_tmp(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; an export is as readable as any file
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    count = 0

    def write(handle: IO[str]) -> None:
        nonlocal count
        count = write_objects(handle, records)

    write_atomic(path, write)
    return count


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, lambda handle: handle.write(json_safe.dumps(value, indent=2, ensure_ascii=False) + "\n"))


def write_json_array(path: Path, values: Iterable[Any]) -> int:
    """A JSON array written element by element (the same text as `write_json` of the list), so a
    million records never sit in memory at once; returns the count."""
    count = 0

    def write(handle: IO[str]) -> None:
        nonlocal count
        for value in values:
            handle.write("[\n  " if count == 0 else ",\n  ")
            handle.write(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
            count += 1
        handle.write("[]\n" if count == 0 else "\n]\n")

    write_atomic(path, write)
    return count


def write_run_files(store: RunStore, run_dir: Path, summary: dict[str, Any]) -> None:
    """instructions.jsonl, rejected.jsonl and summary.json of a run, from its store."""
    write_jsonl(run_dir / RECORDS, store.accepted_records())
    write_jsonl(run_dir / REJECTED, store.rejected_records())
    write_json(run_dir / SUMMARY, summary)


# --- training formats -----------------------------------------------------------------------


def _prompt(record: dict[str, Any], context: str | None) -> str:
    return f"{context}\n\n{record['instruction']}" if context else record["instruction"]


def to_alpaca(record: dict[str, Any], context: str | None = None) -> dict[str, Any]:
    return {"instruction": record["instruction"], "input": context or "", "output": record["output"]}


def to_sharegpt(record: dict[str, Any], context: str | None = None, system: str | None = None) -> dict[str, Any]:
    turns = [{"from": "system", "value": system}] if system else []
    turns += [{"from": "human", "value": _prompt(record, context)}, {"from": "gpt", "value": record["output"]}]
    return {"id": record["id"], "conversations": turns}


def to_openai_chat(record: dict[str, Any], context: str | None = None, system: str | None = None) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": _prompt(record, context)}, {"role": "assistant", "content": record["output"]}]
    return {"messages": messages}


def to_hf_row(record: dict[str, Any], context: str | None = None) -> dict[str, Any]:
    """A flat, Arrow-friendly row: `feature` is always a list of strings (micro and macro items
    have one, scatter items a group), nested `source` and `history` are JSON strings so rows of
    different shapes share one schema."""
    feature = record.get("feature")
    row = {
        "id": record["id"],
        "article_id": record.get("article_id"),
        "level": record.get("level"),
        "feature": [] if feature is None else [str(f) for f in feature] if isinstance(feature, list) else [str(feature)],
        "instruction": record.get("instruction", ""),
        "output": record.get("output", ""),
        "accepted": record.get("accepted", record.get("reason") is None),
        "reason": record.get("reason"),
        "attempts": record.get("attempts"),
        "resynthesized": record.get("resynthesized"),
        "teacher": record.get("teacher"),
        "method": record.get("method"),
        "language": record.get("language"),
        "source": json.dumps(record.get("source", {}), ensure_ascii=False),
        "history": json.dumps(record.get("history", []), ensure_ascii=False),
    }
    if context is not None:
        row["context"] = context
    return row


# --- reading a run --------------------------------------------------------------------------


def _records_from_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of an instructions.jsonl made elsewhere (a baseline, an older run): lenient on
    extra fields, strict on the ones every format needs."""
    for number, record in read_objects(path, ExportError):
        for name in ("instruction", "output"):
            if not isinstance(record.get(name), str):
                raise ExportError(f"{path}:{number}: missing or non-string field {name!r}")
        record.setdefault("id", f"{path.stem}-{number}")
        yield record


def _rejected_pair(record: dict[str, Any]) -> dict[str, Any]:
    """A rejected item as a record: its last attempt's instruction and output, and why it failed
    (failed levels, which have no attempt at all, are not items and are left out)."""
    last = record["history"][-1]
    return {**record, "instruction": last.get("instruction", ""), "output": last.get("output", ""), "accepted": False}


@contextlib.contextmanager
def open_records(
    source: Path, include_rejected: bool = False, with_context: bool = False
) -> Iterator[tuple[Iterator[dict[str, Any]], Callable[[dict[str, Any]], str | None]]]:
    """(records, article text of a record) of a run directory, its store file, or an
    instructions.jsonl; the records stream from the store (or file) as they are consumed."""
    from foveate_dspy.runtime.store import STORE_NAME, RunStore, StoreError

    if source.is_file() and source.name != STORE_NAME:
        if include_rejected or with_context:
            raise ExportError(f"{source}: --include-rejected and --with-context need a run directory (its {STORE_NAME})")
        yield _records_from_jsonl(source), lambda _record: None
        return
    try:
        store = RunStore.read(source)
    except StoreError as exc:
        raise ExportError(str(exc)) from exc
    with store:

        def records() -> Iterator[dict[str, Any]]:
            if not include_rejected:
                yield from store.accepted_records()
                return
            for record in store.accepted_records():
                yield {**record, "accepted": True}
            for record in store.rejected_records():
                if record.get("history"):
                    yield _rejected_pair(record)

        @functools.lru_cache(maxsize=64)  # an article's records come together: its text is read once
        def text(article_id: str | None) -> str | None:
            return store.article_text(article_id) if with_context and article_id is not None else None

        yield records(), lambda record: text(record.get("article_id"))


def load_records(
    source: Path, include_rejected: bool = False, with_context: bool = False
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(records, article texts by id) as lists (small runs; `open_records` streams)."""
    with open_records(source, include_rejected, with_context) as (records, text):
        listed = list(records)
        return listed, {r["article_id"]: text(r) for r in listed if with_context and r.get("article_id") is not None}


# --- writing a format -----------------------------------------------------------------------


def _save_dataset_dir(dataset: Any, out: Path) -> None:
    """save_to_disk into a fresh sibling folder, then swap it in for `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        dataset.save_to_disk(str(tmp))
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def push_to_hub(dataset: Any, name: str) -> None:
    """Upload to the Hugging Face Hub (the token comes from the usual HF_TOKEN / login)."""
    offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if os.environ.get(v, "").lower() in ("1", "true", "yes", "on")]
    if offline:
        raise ExportError(f"cannot push {name!r} to the Hugging Face Hub: offline mode is on ({', '.join(offline)}=1)")
    try:
        dataset.push_to_hub(name)
    except Exception as exc:  # network, auth and permission errors all end here
        raise ExportError(f"cannot push {name!r} to the Hugging Face Hub: {exc.__class__.__name__}: {exc}") from exc


def export(
    source: Path,
    fmt: str,
    out: Path | None,
    *,
    include_rejected: bool = False,
    with_context: bool = False,
    system: str | None = None,
    hub_name: str | None = None,
) -> int:
    """Write the run's records in `fmt` to `out` (and/or push them to the hub); returns the count."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if include_rejected and fmt not in ("jsonl", "hf"):
        raise ExportError(f"--include-rejected applies to jsonl and hf; {fmt} holds training pairs, which need an answer")
    if hub_name is not None and fmt != "hf":
        raise ExportError("--push-to-hub needs --format hf")
    if out is None and hub_name is None:
        raise ExportError("give --out (and/or --push-to-hub with --format hf)")
    if out is not None and fmt != "hf":
        out.parent.mkdir(parents=True, exist_ok=True)
    with open_records(source, include_rejected, with_context) as (records, context):
        if fmt == "jsonl":
            return write_jsonl(out, ({**r, "context": context(r)} if with_context else r for r in records))
        if fmt == "alpaca":
            return write_json_array(out, (to_alpaca(r, context(r)) for r in records))
        if fmt == "sharegpt":
            return write_json_array(out, (to_sharegpt(r, context(r), system) for r in records))
        if fmt == "openai-chat":
            return write_jsonl(out, (to_openai_chat(r, context(r), system) for r in records))
        import datasets

        rows = [to_hf_row(r, context(r)) for r in records]  # Arrow builds the table in memory anyway
    dataset = datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({})
    if out is not None:
        _save_dataset_dir(dataset, out)
    if hub_name is not None:
        push_to_hub(dataset, hub_name)
    return len(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m foveate_dspy.export",
        description="Export a run's instruction/answer pairs for fine-tuning (reads the run store; safe while the run is writing).",
    )
    parser.add_argument("run", type=Path, help="run directory (or its run.sqlite, or an instructions.jsonl)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="jsonl | alpaca | sharegpt | openai-chat | hf")
    parser.add_argument("--out", type=Path, help="output file (a folder for --format hf)")
    parser.add_argument("--push-to-hub", metavar="NAME", help="with --format hf: also upload to the Hugging Face Hub as NAME")
    parser.add_argument("--include-rejected", action="store_true", help="jsonl/hf: add rejected items (accepted=false, with reason)")
    parser.add_argument("--with-context", action="store_true", help="include the article: alpaca input, chat user turn, jsonl/hf context")
    parser.add_argument("--system", help="sharegpt/openai-chat: a system message for every conversation")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.run.exists():
        print(f"error: {args.run}: not found", file=sys.stderr)
        return EXIT_USAGE
    try:
        count = export(
            args.run,
            args.format,
            args.out,
            include_rejected=args.include_rejected,
            with_context=args.with_context,
            system=args.system,
            hub_name=args.push_to_hub,
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {args.out}: cannot write the export: {exc.strerror or exc}", file=sys.stderr)
        return 1
    where = ", ".join(str(p) for p in (args.out, args.push_to_hub and f"hub:{args.push_to_hub}") if p)
    print(f"{count} records → {where} ({args.format})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
