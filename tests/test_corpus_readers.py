"""Corpus readers (JSONL, text folders, CSV/TSV, Parquet, Hugging Face datasets), chunking of long
documents with provenance, and the errors a bad corpus gives."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from resume_helpers import compile_run, read_jsonl

from foveate_dspy.corpus.chunking import chunk_text
from foveate_dspy.compile import main as compile_main
from foveate_dspy.corpus.readers import CorpusError, load_corpus


def test_jsonl_with_an_id_field(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"doc": "d1", "text": "One."}\n\n{"doc": 7, "text": "Two."}\n', encoding="utf-8")
    articles = load_corpus(path, id_field="doc")
    assert [(a.id, a.text) for a in articles] == [("d1", "One."), ("7", "Two.")]
    assert articles[1].source == {
        "file": str(path), "line": 3, "source_id": "7", "chunk": 0, "chunks": 1, "char_start": 0, "char_end": 4,
        "language": "und",  # "Two." is too short to tell a language from
    }
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: no id field 'uid'"):
        load_corpus(path, id_field="uid")


def test_a_folder_of_text_files_uses_relative_paths_as_ids(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "b.md").write_text("# Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "docs" / "sub" / "a.txt").write_text("\ufeffPlain text.", encoding="utf-8")
    (tmp_path / "docs" / "sub" / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (tmp_path / "docs" / ".hidden").mkdir()
    (tmp_path / "docs" / ".hidden" / "x.txt").write_text("secret notes", encoding="utf-8")
    articles = load_corpus(tmp_path / "docs")
    assert [(a.id, a.text) for a in articles] == [("b.md", "# Title\n\nMarkdown body."), ("sub/a.txt", "Plain text.")]
    with pytest.raises(CorpusError, match=r"no \.txt, \.md, \.pdf, \.html, \.htm, \.docx files"):
        load_corpus(_empty_dir(tmp_path))


def _empty_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.rtf").write_bytes(b"{\\rtf1 not a format we read}")
    return folder


def test_csv_and_tsv_with_chosen_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "body", "title"])
        writer.writerow(["k1", "First body,\nwith a line break.", "T1"])
        writer.writerow(["k2", "Second body.", "T2"])
    articles = load_corpus(path, text_field="body", id_field="key")
    assert [(a.id, a.text, a.title) for a in articles] == [("k1", "First body,\nwith a line break.", "T1"), ("k2", "Second body.", "T2")]
    assert articles[1].source["row"] == 2 and articles[1].source["line"] == 4
    with pytest.raises(CorpusError, match=r"c\.csv:1 \(header\): no text field.*body, key, title"):
        load_corpus(path)
    tsv = tmp_path / "c.tsv"
    tsv.write_text("id\ttext\nx\tTab separated.\n", encoding="utf-8")
    assert [(a.id, a.text) for a in load_corpus(tsv)] == [("x", "Tab separated.")]


def test_parquet_with_chosen_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"doc_id": ["p1", "p2"], "passage": ["Parquet one.", "Parquet two."], "other": [1, 2]}), path)
    articles = load_corpus(path, text_field="passage", id_field="doc_id")
    assert [(a.id, a.text, a.source["row"]) for a in articles] == [("p1", "Parquet one.", 1), ("p2", "Parquet two.", 2)]
    with pytest.raises(CorpusError, match=r"no field 'text'"):
        load_corpus(path, text_field="text")


def test_hugging_face_datasets_from_local_paths(tmp_path: Path) -> None:
    import datasets

    saved = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"id": ["h1", "h2"], "text": ["Train one.", "Train two."]}),
            "test": datasets.Dataset.from_dict({"id": ["t1"], "text": ["Test one."]}),
        }
    ).save_to_disk(str(saved))
    assert [a.id for a in load_corpus(hf_dataset=str(saved), split="test")] == ["t1"]
    assert [a.id for a in load_corpus(saved, split="train")] == ["h1", "h2"]  # --corpus accepts it too
    with pytest.raises(CorpusError, match=r"choose a split with --split \(train, test\)"):
        load_corpus(hf_dataset=str(saved))

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "train.jsonl").write_text('{"id": "j1", "content": "From a data folder."}\n', encoding="utf-8")
    articles = load_corpus(hf_dataset=str(data_dir), split="train")
    assert [(a.id, a.text) for a in articles] == [("j1", "From a data folder.")]
    assert articles[0].source["dataset"] == str(data_dir)


def test_a_hub_name_offline_is_a_clear_error(capsys, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"no-such-user/no-such-dataset: cannot load the Hugging Face dataset.*offline\? pass a local path"):
        load_corpus(hf_dataset="no-such-user/no-such-dataset")
    assert compile_main(["--out", str(tmp_path / "run")]) == 2
    assert "give exactly one of --corpus and --hf-dataset" in capsys.readouterr().err


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "One."}\n{"id": "b", "text": "Two."}\n{"id": "a", "text": "Three."}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"c\.jsonl:3: duplicate article id 'a' \(first at {path}:1\)"):
        load_corpus(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", b'{"text": "fine"}\n{"text": oops}\n', r"bad\.jsonl:2: not valid JSON"),
        ("bin.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"bin\.jsonl:1: not valid UTF-8 .*is this a binary file\?"),
        ("latin.jsonl", '{"text": "ok"}\n{"text": "caf\xe9"}\n'.encode("latin-1"), r"latin\.jsonl:2: not valid UTF-8"),
        ("list.jsonl", b'["text"]\n', r"list\.jsonl:1: expected a JSON object, got list"),
        ("nul.csv", b"id,text\na,ok\nb,bad\x00value\n", r"nul\.csv:3: contains NUL bytes"),
        ("wide.csv", b"id,text\na,ok,extra\n", r"wide\.csv:2: more fields than the header has"),
        ("fake.parquet", b"this is not parquet at all", r"fake\.parquet: not a readable Parquet file"),
        ("bin.txt", b"text then \x00 binary", r"bin\.txt:1: contains NUL bytes"),
        ("latin.md", "line one\ncaf\xe9\n".encode("latin-1"), r"latin\.md:2: not UTF-8"),
    ],
)
def test_malformed_and_binary_files_name_the_file_and_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus(path)


def test_chunks_are_whole_sentences_with_exact_offsets() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(30))
    chunks = chunk_text(text, 50)
    assert len(chunks) == 5 and all(len(c.text.split()) <= 50 for c in chunks)
    assert all(text[c.start : c.end] == c.text and c.text.endswith("words.") for c in chunks)
    assert " ".join(c.text for c in chunks) == text
    assert chunk_text("Dr. Smith met St. John at 3 p.m. on Jan. 5. " * 30, 40)[0].text.endswith(".")
    assert chunk_text(text, 0) == chunk_text(text, 10_000)


def test_a_one_megabyte_single_line_document_is_chunked(tmp_path: Path) -> None:
    words = [f"Lorem{i % 997}" for i in range(150_000)]
    line = " ".join(words)  # no sentence ends at all: cut at word boundaries
    assert len(line) > 1_000_000
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"id": "big", "text": line}) + "\n" + json.dumps({"id": "big2", "text": "Short. " * 150_000}) + "\n", encoding="utf-8")
    articles = load_corpus(path, chunk_tokens=400)
    big = [a for a in articles if a.source["source_id"] == "big"]
    assert len(big) == 375 and {len(a.text.split()) for a in big} == {400}
    assert big[7].id == "big#chunk7" and line[big[7].source["char_start"] : big[7].source["char_end"]] == big[7].text
    short = [a for a in articles if a.source["source_id"] == "big2"]
    assert len(short) == 375 and all(a.text.startswith("Short.") and a.text.endswith("Short.") for a in short)

    summary = compile_run(big[:2], tmp_path / "run")
    assert summary["articles_done"] == 2 and summary["records"] > 0
    record = read_jsonl(tmp_path / "run" / "instructions.jsonl")[0]
    assert record["article_id"] == "big#chunk0"
    provenance = {key: value for key, value in record["source"].items() if key != "language"}  # "Lorem17 ..." has none
    assert provenance == {"file": str(path), "line": 1, "source_id": "big", "chunk": 0, "chunks": 375, "char_start": 0, "char_end": len(big[0].text)}


def test_the_compile_flags_reach_the_readers(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.csv"
    path.write_text("key,body\nk1,Body one.\n", encoding="utf-8")
    args = ["--corpus", str(path), "--text-column", "bodyx", "--out", str(tmp_path / "run")]
    assert compile_main(args) == 2
    assert "no field 'bodyx'" in capsys.readouterr().err
    assert compile_main(["--corpus", str(path), "--chunk-tokens", "-1", "--out", str(tmp_path / "run")]) == 2
    assert "--chunk-tokens must be >= 0" in capsys.readouterr().err
