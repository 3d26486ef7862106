"""Reading articles from a corpus file.

Errors name the file and line, because a corpus of thousands of lines with one bad record is the
normal case, and "JSONDecodeError: Expecting value" alone sends the user hunting.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_FIELDS = ("content", "context", "text")


class CorpusError(ValueError):
    """The corpus cannot be read as asked; the message names the file and line."""


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    title: str | None = None
    source: dict[str, Any] = field(default_factory=dict)  # provenance: file, line, chunk


def _detect_field(record: dict[str, Any], explicit: str | None, where: str) -> str:
    if explicit is not None:
        if explicit not in record:
            raise CorpusError(f"{where}: no field {explicit!r} (fields: {', '.join(sorted(record)) or 'none'})")
        return explicit
    for name in TEXT_FIELDS:
        if name in record:
            return name
    raise CorpusError(
        f"{where}: no text field; expected one of {', '.join(TEXT_FIELDS)} or --text-field "
        f"(fields: {', '.join(sorted(record)) or 'none'})"
    )


def iter_jsonl(path: Path, text_field: str | None = None) -> Iterator[Article]:
    """Articles of a JSON Lines file; blank lines are ignored, empty texts skipped with a warning."""
    seen: dict[str, int] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot open corpus: {exc.strerror or exc}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusError(f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(record, dict):
                raise CorpusError(f"{where}: expected a JSON object, got {type(record).__name__}")
            name = _detect_field(record, text_field, where)
            text = record[name]
            if not isinstance(text, str):
                raise CorpusError(f"{where}: field {name!r} must be a string, got {type(text).__name__}")
            article_id = str(record["id"]) if record.get("id") is not None else f"{path.stem}-{number}"
            if article_id in seen:
                raise CorpusError(f"{where}: duplicate article id {article_id!r} (first on line {seen[article_id]})")
            seen[article_id] = number
            if not text.strip():
                print(f"warning: {where}: empty text in article {article_id!r}, skipped", file=sys.stderr)
                continue
            title = record.get("title")
            yield Article(article_id, text.strip(), str(title) if title is not None else None, {"file": str(path), "line": number})


def load_corpus(path: str | Path, text_field: str | None = None, limit: int | None = None) -> list[Article]:
    """All articles of a corpus file (first `limit` when given); raises CorpusError when unusable."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: corpus not found")
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory; expected a .jsonl file")
    articles = []
    for article in iter_jsonl(path, text_field):
        articles.append(article)
        if limit is not None and len(articles) >= limit:
            break
    if not articles:
        raise CorpusError(f"{path}: no articles with text")
    return articles
