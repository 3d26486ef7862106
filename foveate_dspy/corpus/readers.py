"""Reading articles from a corpus: JSONL, CSV/TSV, Parquet, text files, PDF/HTML/DOCX documents
(`documents.py`), Hugging Face datasets.

Every reader yields `Document`s (one record of the source); `load_corpus` splits long ones into
sentence-aligned chunks (`chunking.py`) and returns the `Article`s the program runs on. Each
article keeps its provenance in `Article.source` (file and line or row, source document id, chunk
index, character offsets into the source text and the chunk's detected language), and that
provenance travels into every output record, so an instruction can always be traced back to the
exact passage it was written from.

Errors name the file and line (or row), because a corpus of thousands of lines with one bad
record is the normal case, and "JSONDecodeError: Expecting value" alone sends the user hunting.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveate_dspy.corpus.chunking import DEFAULT_CHUNK_TOKENS, chunk_text
from foveate_dspy.corpus.documents import DOCUMENT_SUFFIXES, UnreadableDocument, read_document
from foveate_dspy.corpus.jsonl import read_objects
from foveate_dspy.corpus.language import detect_language

TEXT_FIELDS = ("content", "context", "text")
ID_FIELD = "id"
TEXT_SUFFIXES = (".txt", ".md")
# A directory holding one of these was written by `datasets.save_to_disk`.
SAVED_DATASET_MARKERS = ("dataset_dict.json", "state.json")


class CorpusError(ValueError):
    """The corpus cannot be read as asked; the message names the file and line."""


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    title: str | None = None
    source: dict[str, Any] = field(default_factory=dict)  # provenance: file, line, chunk


@dataclass(frozen=True)
class Document:
    """One record of a corpus, before chunking; `where` locates it for error messages."""

    id: str
    text: str
    title: str | None
    where: str
    source: dict[str, Any]


def _detect_field(names: list[str] | dict[str, Any], explicit: str | None, where: str) -> str:
    if explicit is not None:
        if explicit not in names:
            raise CorpusError(f"{where}: no field {explicit!r} (fields: {', '.join(sorted(names)) or 'none'})")
        return explicit
    for name in TEXT_FIELDS:
        if name in names:
            return name
    raise CorpusError(
        f"{where}: no text field; expected one of {', '.join(TEXT_FIELDS)} or --text-field "
        f"(fields: {', '.join(sorted(names)) or 'none'})"
    )


def _text_of(record: dict[str, Any], name: str, where: str) -> str:
    text = record[name]
    if text is None:
        return ""
    if not isinstance(text, str):
        raise CorpusError(f"{where}: field {name!r} must be a string, got {type(text).__name__}")
    return text


def _id_of(record: dict[str, Any], id_field: str | None, default: str, where: str) -> str:
    """The record's id: `id_field` (required when given), else `id` when present, else `default`."""
    name = id_field or ID_FIELD
    if id_field is not None and id_field not in record:
        raise CorpusError(f"{where}: no id field {id_field!r} (fields: {', '.join(sorted(record)) or 'none'})")
    value = record.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise CorpusError(f"{where}: field {name!r} must be a string or an integer, got {type(value).__name__}")
    return str(value)


def _title_of(record: dict[str, Any]) -> str | None:
    title = record.get("title")
    return str(title) if title is not None else None


def record_document(
    record: dict[str, Any], text_field: str | None, id_field: str | None, default_id: str, where: str, source: dict[str, Any]
) -> Document:
    """One record (a JSONL line, a mapping given to the library) as a Document: its text field
    detected in the record itself, its id or `default_id`, its optional title."""
    text = _text_of(record, _detect_field(record, text_field, where), where)
    return Document(_id_of(record, id_field, default_id, where), text, _title_of(record), where, source)


def iter_jsonl(path: Path, text_field: str | None = None, id_field: str | None = None) -> Iterator[Document]:
    """Records of a JSON Lines file; blank lines are ignored."""
    for number, record in read_objects(path, CorpusError):
        yield record_document(record, text_field, id_field, f"{path.stem}-{number}", f"{path}:{number}", {"file": str(path), "line": number})


def iter_csv(path: Path, text_field: str | None = None, id_field: str | None = None) -> Iterator[Document]:
    """Rows of a CSV (or, for .tsv, tab-separated) file with a header line."""
    # A long document is one field; the csv module's default 128 KiB field limit would reject it.
    csv.field_size_limit(2**31 - 1)
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot open corpus: {exc.strerror or exc}") from exc
    with handle:
        # strict: a quote that is never closed is an error, not a field swallowing the rest of the file
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", strict=True)
        rows = enumerate(reader, start=1)
        name = None
        while True:
            starts = reader.line_num + 1  # the line the next record starts on (after the header: line 2)
            try:
                row_number, row = next(rows)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise CorpusError(f"{path}:{reader.line_num + 1}: not UTF-8 ({exc.reason}); is this a binary file?") from exc
            except csv.Error as exc:
                if reader.line_num > starts or "end of data" in str(exc) or "expected after" in str(exc):
                    raise CorpusError(
                        f"{path}:{max(starts, 2) if reader.fieldnames else 1}: not valid CSV ({exc}): a quoted field that starts "
                        f"in the record on this line is not closed where it should be (read up to line {reader.line_num})"
                    ) from exc
                raise CorpusError(f"{path}:{reader.line_num}: not valid CSV ({exc}); is this a binary file?") from exc
            where = f"{path}:{reader.line_num}"
            if name is None:
                name = _detect_field(list(reader.fieldnames or []), text_field, f"{path}:1 (header)")
            if None in row:
                raise CorpusError(f"{where}: more fields than the header has ({len(reader.fieldnames or [])})")
            if any("\x00" in value for value in row.values() if isinstance(value, str)):
                raise CorpusError(f"{where}: contains NUL bytes; this looks like a binary file, not CSV")
            doc_id = _id_of(row, id_field, f"{path.stem}-{row_number}", where)
            source = {"file": str(path), "row": row_number, "line": reader.line_num}
            yield Document(doc_id, _text_of(row, name, where), _title_of(row), where, source)


def iter_parquet(path: Path, text_field: str | None = None, id_field: str | None = None) -> Iterator[Document]:
    """Rows of a Parquet file, read in batches so a large file never sits in memory at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{path}: not a readable Parquet file ({exc})") from exc
    names = parquet.schema_arrow.names
    text_name = _detect_field(names, text_field, f"{path} (columns)")
    if id_field is not None and id_field not in names:
        raise CorpusError(f"{path} (columns): no id column {id_field!r} (columns: {', '.join(sorted(names))})")
    wanted = [n for n in dict.fromkeys([text_name, id_field or ID_FIELD, "title"]) if n in names]
    row_number = 0
    try:
        for batch in parquet.iter_batches(columns=wanted):
            for row in batch.to_pylist():
                row_number += 1
                where = f"{path}: row {row_number}"
                doc_id = _id_of(row, id_field, f"{path.stem}-{row_number}", where)
                source = {"file": str(path), "row": row_number}
                yield Document(doc_id, _text_of(row, text_name, where), _title_of(row), where, source)
    except pa.ArrowException as exc:
        raise CorpusError(f"{path}: row {row_number + 1}: cannot read the Parquet data ({exc})") from exc


def _read_text_file(path: Path, label: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise CorpusError(f"{path}:{line}: contains NUL bytes; this looks like a binary file, not {label}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start}); is this a binary file?") from exc


def iter_document_file(path: Path, doc_id: str, skip_unreadable: bool = False) -> Iterator[Document]:
    """The pieces of a PDF, HTML or DOCX file as documents `<doc_id>#<page or section>`. An
    unreadable file (encrypted, scanned, not what its suffix says) is an error, or with
    `skip_unreadable` (a folder) a warning naming it, and the folder's other files are read."""
    try:
        for piece in read_document(path):
            yield Document(f"{doc_id}#{piece.label}", piece.text, piece.title, piece.where, {"file": str(path), **piece.source})
    except UnreadableDocument as exc:
        if not skip_unreadable:
            raise CorpusError(str(exc)) from exc
        print(f"warning: {exc}; skipped", file=sys.stderr)


def iter_text_files(root: Path) -> Iterator[Document]:
    """Every .txt, .md, .pdf, .html/.htm and .docx file under `root` (hidden files and folders
    skipped), in path order; a document's id is its path relative to `root`, so ids stay stable
    when the folder moves."""
    suffixes = TEXT_SUFFIXES + DOCUMENT_SUFFIXES
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in suffixes and p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise CorpusError(f"{root}: no {', '.join(suffixes)} files in the directory")
    for path in files:
        doc_id = path.relative_to(root).as_posix()
        if path.suffix.lower() in DOCUMENT_SUFFIXES:
            yield from iter_document_file(path, doc_id, skip_unreadable=True)
        else:
            yield Document(doc_id, _read_text_file(path, "text"), None, str(path), {"file": str(path)})


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in SAVED_DATASET_MARKERS)


def _open_hf_dataset(name_or_path: str, split: str | None):
    """A `datasets.Dataset`: a save_to_disk folder via load_from_disk, anything else (a local data
    folder or file, or a hub name) via load_dataset."""
    import datasets

    path = Path(name_or_path)
    try:
        if _is_saved_dataset(path):
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(name_or_path, split=split or "train")
    except Exception as exc:  # datasets raises many types; all mean "cannot read this"
        hint = "" if path.exists() else "; offline? pass a local path (a save_to_disk folder or a data folder)"
        raise CorpusError(f"{name_or_path}: cannot load the Hugging Face dataset ({exc.__class__.__name__}: {exc}){hint}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in loaded:
            raise CorpusError(f"{name_or_path}: choose a split with --split ({', '.join(splits)})" if split is None else f"{name_or_path}: no split {split!r} ({', '.join(splits)})")
        return loaded[split], split
    return loaded, split


def iter_hf_dataset(
    name_or_path: str, split: str | None = None, text_field: str | None = None, id_field: str | None = None
) -> Iterator[Document]:
    """Rows of a Hugging Face dataset (local or, when online, from the hub)."""
    dataset, split = _open_hf_dataset(name_or_path, split)
    label = f"{name_or_path}" + (f"[{split}]" if split else "")
    text_name = _detect_field(dataset.column_names, text_field, f"{label} (columns)")
    if id_field is not None and id_field not in dataset.column_names:
        raise CorpusError(f"{label} (columns): no id column {id_field!r} (columns: {', '.join(sorted(dataset.column_names))})")
    for index, row in enumerate(dataset):
        where = f"{label}: row {index}"
        doc_id = _id_of(row, id_field, f"row-{index}", where)
        source = {"dataset": name_or_path, "split": split, "row": index}
        yield Document(doc_id, _text_of(row, text_name, where), _title_of(row), where, source)


def iter_documents(
    corpus: str | Path | None = None,
    text_field: str | None = None,
    id_field: str | None = None,
    hf_dataset: str | None = None,
    split: str | None = None,
) -> Iterator[Document]:
    """The documents of a corpus path (format chosen by its suffix, or folder contents) or of a
    Hugging Face dataset; exactly one of `corpus` and `hf_dataset` must be given."""
    if (corpus is None) == (hf_dataset is None):
        raise CorpusError("give exactly one of --corpus and --hf-dataset")
    if hf_dataset is not None:
        return iter_hf_dataset(hf_dataset, split, text_field, id_field)
    path = Path(corpus)
    if not path.exists():
        raise CorpusError(f"{path}: corpus not found")
    if path.is_dir():
        if _is_saved_dataset(path):
            return iter_hf_dataset(str(path), split, text_field, id_field)
        return iter_text_files(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return iter_csv(path, text_field, id_field)
    if suffix in (".parquet", ".pq"):
        return iter_parquet(path, text_field, id_field)
    if suffix in DOCUMENT_SUFFIXES:
        return iter_document_file(path, path.name)
    if suffix in TEXT_SUFFIXES:
        return iter([Document(path.name, _read_text_file(path, "text"), None, str(path), {"file": str(path)})])
    return iter_jsonl(path, text_field, id_field)


def chunk_document(document: Document, chunk_tokens: int = DEFAULT_CHUNK_TOKENS, languages: bool = True) -> list[Article]:
    """The articles of one document: one per chunk. A document that fits in one chunk keeps its
    id; the chunks of a longer one are `<id>#chunk<k>` (k from 0). With `languages`, each chunk's
    language is detected into its `source`; `compile` leaves that to the run (runner.run_article),
    since detection is nine tenths of the CPU a read costs and a run reads its corpus before its
    first LM call."""
    chunks = chunk_text(document.text, chunk_tokens)
    articles = []
    for index, chunk in enumerate(chunks):
        article_id = document.id if len(chunks) == 1 else f"{document.id}#chunk{index}"
        source = {
            **document.source,
            "source_id": document.id,
            "chunk": index,
            "chunks": len(chunks),
            "char_start": chunk.start,
            "char_end": chunk.end,
        }
        if languages:
            source["language"] = detect_language(chunk.text)
        articles.append(Article(article_id, chunk.text, document.title, source))
    return articles


def iter_articles(
    path: str | Path | None = None,
    text_field: str | None = None,
    limit: int | None = None,
    *,
    id_field: str | None = None,
    hf_dataset: str | None = None,
    split: str | None = None,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    languages: bool = True,
) -> Iterator[Article]:
    """The articles of a corpus, one at a time (the first `limit` when given: reading stops
    there, so `--limit 10` on a 50 GB file reads ten records), long documents chunked into
    sentence-aligned pieces of at most `chunk_tokens` words (0: never chunk). Empty texts are
    skipped with a warning; a corpus without any text is a CorpusError at its end.

    Nothing is held but the current document, so a corpus of millions of records streams in
    constant memory. Duplicate ids are not checked here (that needs every id seen so far): the
    run store refuses them as it stores the corpus, and `load_corpus` checks its list."""
    count = 0
    if limit is not None and limit <= 0:
        return
    for document in iter_documents(path, text_field, id_field, hf_dataset, split):
        pieces = chunk_document(document, chunk_tokens, languages)
        if not pieces:
            print(f"warning: {document.where}: empty text in article {document.id!r}, skipped", file=sys.stderr)
        for article in pieces:
            yield article
            count += 1
            if limit is not None and count >= limit:
                return
    if not count:
        raise CorpusError(f"{path if hf_dataset is None else hf_dataset}: no articles with text")


@dataclass(frozen=True)
class CorpusSource:
    """A corpus as the arguments that read it: iterating it streams the articles afresh each
    time (`iter_articles`), so a run can read a corpus twice (once to check it, once to store it)
    without ever holding it. `languages` is off: a run detects an article's language when it runs
    it (`chunk_document`)."""

    path: str | Path | None = None
    text_field: str | None = None
    limit: int | None = None
    id_field: str | None = None
    hf_dataset: str | None = None
    split: str | None = None
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    languages: bool = False

    def __iter__(self) -> Iterator[Article]:
        return iter_articles(
            self.path,
            self.text_field,
            self.limit,
            id_field=self.id_field,
            hf_dataset=self.hf_dataset,
            split=self.split,
            chunk_tokens=self.chunk_tokens,
            languages=self.languages,
        )


def load_corpus(
    path: str | Path | None = None,
    text_field: str | None = None,
    limit: int | None = None,
    *,
    id_field: str | None = None,
    hf_dataset: str | None = None,
    split: str | None = None,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
) -> list[Article]:
    """The articles of `iter_articles` as a list (small corpora, evaluation, optimisation);
    raises CorpusError when unusable, and on duplicate ids, naming both records."""
    articles: list[Article] = []
    first_seen: dict[str, str] = {}
    reader = iter_articles(path, text_field, limit, id_field=id_field, hf_dataset=hf_dataset, split=split, chunk_tokens=chunk_tokens)
    for article in reader:
        where = describe_source(article.source)
        if article.id in first_seen:
            raise CorpusError(f"{where}: duplicate article id {article.id!r} (first at {first_seen[article.id]})")
        first_seen[article.id] = where
        articles.append(article)
    return articles


def describe_source(source: dict[str, Any]) -> str:
    """Where an article came from, as the readers name records in errors (file:line, file: row N,
    dataset[split]: row N)."""
    if "dataset" in source:
        split = source.get("split")
        return f"{source['dataset']}" + (f"[{split}]" if split else "") + f": row {source.get('row')}"
    file = source.get("file", "?")
    if "line" in source:
        return f"{file}:{source['line']}"
    if "row" in source:
        return f"{file}: row {source['row']}"
    return str(file)
