"""Reading JSON Lines files with errors that name the file and line, and writing them.

Corpora, runs, evaluation inputs and fine-tuning data are all JSONL that users edit or generate
by hand; a bad byte on line 40,213 must say so, not "JSONDecodeError: Expecting value".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from foveate_dspy import json_safe


def read_objects(
    path: str | Path, error: type[Exception] = ValueError, *, required: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of `path`, raising `error` with
    "PATH:LINE: what is wrong" on NUL bytes, bad UTF-8 (a byte-order mark on line 1 is fine),
    invalid JSON or a value that is not an object. A last line without its newline is read like any
    other; one that is not valid JSON is reported as cut off (a truncated file). `required`: a
    missing file, or one without a single object, is an error too."""
    path = Path(path)
    if required and not path.is_file():
        raise error(f"{path}: no such file")
    seen = 0
    for number, value in _objects(path, error):
        seen += 1
        yield number, value
    if required and seen == 0:
        raise error(f"{path}: the file is empty (no JSON records)")


def write_objects(handle: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write `rows` to `handle` as JSON Lines (UTF-8 as is, NaN and infinities as null); the count."""
    count = 0
    for row in rows:
        handle.write(json_safe.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def _objects(path: Path, error: type[Exception]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise error(f"{path}: cannot open: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if b"\x00" in raw:
                raise error(f"{where}: contains NUL bytes; this looks like a binary file, not JSON Lines")
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise error(
                    f"{where}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "is this a binary file? Re-encode it as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                if not raw.endswith(b"\n"):  # the last line, cut off: a copy or a writer that stopped
                    raise error(
                        f"{where}: the last line is cut off (not valid JSON: {exc.msg} at column {exc.colno}); "
                        "the file looks truncated: complete or delete that line"
                    ) from None
                raise error(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(value, dict):
                raise error(f"{where}: expected a JSON object, got {type(value).__name__}")
            yield number, value
