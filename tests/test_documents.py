"""PDF, HTML and DOCX corpora: clean text, page or heading provenance, and bad input named."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
from documents_helpers import html_page, wrap, write_docx, write_pdf

from foveate_dspy.compile import main as compile_main
from foveate_dspy.corpus.readers import CorpusError, load_corpus
from foveate_dspy.corpus.documents import read_docx, read_html, read_pdf

RHINE = (
    "The Rhine is one of the major rivers of Europe and it flows from the Swiss Alps to the North Sea. "
    "Its course passes through six countries and it carries a great deal of information about the "
    "history of trade in the region."
)
PORTS = (
    "Basel, Cologne and Rotterdam are the largest ports along the river. Barges carry coal, grain "
    "and containers between them, and the river has been a trade route since Roman times."
)
BRIDGES = (
    "Many bridges cross the river today. The oldest stone bridge was built by the Romans near "
    "Mainz, and the longest is a railway bridge close to the Dutch border that opened in 1990."
)


def _error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_layout_is_undone_so_sentences_survive(tmp_path: Path) -> None:
    # Page 1 ends in the middle of a sentence and breaks "information" across two lines.
    page1 = [
        "The Rhine is one of the major rivers of Europe and it flows from the",
        "Swiss Alps to the North Sea. Its course passes through six countries",
        "and it carries a great deal of infor-",
        "mation about the history of trade in the region. Basel, Cologne and",
    ]
    page2 = [
        "Rotterdam are the largest ports along the river and they handle much",
        "of the cargo of the region.",
    ]
    path = write_pdf(tmp_path / "report.pdf", [page1, page2], header="ACME River Report 2024")
    pieces = list(read_pdf(path))
    assert [(p.label, p.source) for p in pieces] == [("p1-2", {"page": 1, "page_end": 2})]
    assert pieces[0].text == (
        "The Rhine is one of the major rivers of Europe and it flows from the Swiss Alps to the North Sea. "
        "Its course passes through six countries and it carries a great deal of information about the "
        "history of trade in the region. Basel, Cologne and Rotterdam are the largest ports along the river "
        "and they handle much of the cargo of the region."
    )


def test_pdf_pages_ending_a_sentence_are_articles_with_their_page(tmp_path: Path) -> None:
    paragraphs = [RHINE + " " + PORTS, PORTS + " " + BRIDGES, BRIDGES + " " + RHINE]
    path = write_pdf(tmp_path / "rivers.pdf", [wrap(p) for p in paragraphs], header="Rivers of Europe", title="Rivers")
    articles = load_corpus(path)
    assert [a.id for a in articles] == ["rivers.pdf#p1", "rivers.pdf#p2", "rivers.pdf#p3"]
    assert [a.text for a in articles] == paragraphs  # header and "Page k of 3" gone, lines rejoined
    assert articles[1].title == "Rivers"
    assert articles[1].source == {
        "file": str(path), "page": 2, "page_end": 2, "source_id": "rivers.pdf#p2",
        "chunk": 0, "chunks": 1, "char_start": 0, "char_end": len(paragraphs[1]), "language": "en",
    }  # fmt: skip


def test_a_scanned_pdf_is_reported_and_the_folder_goes_on(tmp_path: Path, capsys) -> None:
    (tmp_path / "docs").mkdir()
    scan = write_pdf(tmp_path / "docs" / "scan.pdf", [[], []], scanned=(1, 2))
    with pytest.raises(CorpusError, match=r"scan\.pdf: no text layer on any of its 2 page\(s\) \(a scanned PDF\?\)"):
        load_corpus(scan)
    (tmp_path / "docs" / "notes.txt").write_text(RHINE, encoding="utf-8")
    articles = load_corpus(tmp_path / "docs")
    assert [a.id for a in articles] == ["notes.txt"]
    assert f"warning: {scan}: no text layer on any of its 2 page(s)" in capsys.readouterr().err
    (tmp_path / "docs" / "notes.txt").unlink()
    with pytest.raises(CorpusError, match="no articles with text"):
        load_corpus(tmp_path / "docs")


def test_a_pdf_with_some_scanned_pages_warns_with_their_numbers(tmp_path: Path, capsys) -> None:
    path = write_pdf(tmp_path / "mixed.pdf", [wrap(RHINE), [], wrap(PORTS)], scanned=(2,))
    articles = load_corpus(path)
    assert [a.id for a in articles] == ["mixed.pdf#p1", "mixed.pdf#p3"]
    assert f"warning: {path}: 1 of 3 pages have no text layer (pages 2)" in capsys.readouterr().err


def test_encrypted_and_corrupt_pdfs_are_one_error_line_naming_the_file(tmp_path: Path, capsys) -> None:
    locked = write_pdf(tmp_path / "locked.pdf", [wrap(RHINE)], password="secret")
    assert compile_main(["--corpus", str(locked), "--out", str(tmp_path / "run")]) == 2
    assert _error(capsys) == f"error: {locked}: the PDF is encrypted with a password; decrypt it first"
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(write_pdf(tmp_path / "whole.pdf", [wrap(RHINE)]).read_bytes()[:300])
    assert compile_main(["--corpus", str(broken), "--out", str(tmp_path / "run")]) == 2
    assert _error(capsys).startswith(f"error: {broken}: not a readable PDF (")
    assert not (tmp_path / "run").exists()


def _code(number: int) -> str:
    """A word of its own for each page number ("ab", "ac", ...): page edges that differ."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[digit] + letters
        if number == 0:
            return "x" + letters


def test_a_chinese_pdf_rejoins_wrapped_lines_without_spaces(tmp_path: Path) -> None:
    lines = ["长江是中国最长的河流，全长约六千三百公里。它发源于", "青藏高原，最后在上海注入东海。"]
    path = write_pdf(tmp_path / "zh.pdf", [lines], font="STSong-Light")
    articles = load_corpus(path)
    assert [(a.id, a.text, a.source["language"]) for a in articles] == [
        ("zh.pdf#p1", "长江是中国最长的河流，全长约六千三百公里。它发源于青藏高原，最后在上海注入东海。", "zh")
    ]


@pytest.mark.slow
def test_a_500_page_pdf_is_streamed_chunked_and_shows_progress(tmp_path: Path, capsys) -> None:
    body = " ".join([RHINE, PORTS, BRIDGES] * 3)  # ~190 words a page
    pages = [wrap(f"Station {_code(k)} lies on the river. {body} The gauge at {_code(k)} reads high water.") for k in range(500)]
    path = write_pdf(tmp_path / "book.pdf", pages, header="The Book of Rivers")
    started = time.monotonic()
    articles = load_corpus(path, chunk_tokens=100)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert "reading book.pdf: page 500/500" in err
    assert len({a.source["source_id"] for a in articles}) == 500  # one piece per page
    assert articles[-1].source["page"] == 500 and articles[-1].text.endswith(f"The gauge at {_code(499)} reads high water.")
    assert all(len(a.text.split()) <= 100 and a.text.endswith(".") for a in articles)
    assert all("Book of Rivers" not in a.text and "Page" not in a.text for a in articles)
    print(f"500-page PDF: {len(articles)} articles in {elapsed:.1f} s")


# --- HTML -----------------------------------------------------------------------------------------


def test_html_main_text_with_heading_paths(tmp_path: Path) -> None:
    body = (
        f"<h1>The Rhine</h1><p>{RHINE}</p><h2>Ports</h2><p>{PORTS}</p>"
        f"<h3>Bridges</h3><p>{BRIDGES}</p><ul><li>Basel bridge</li><li>Mainz bridge</li></ul>"
        f"<h2>Trade</h2><p>{PORTS}</p>"
    )
    path = tmp_path / "rhine.html"
    path.write_text(html_page("Rhine facts", body), encoding="utf-8")
    articles = load_corpus(path)
    assert [(a.id, a.source["headings"]) for a in articles] == [
        ("rhine.html#sec0", ["The Rhine"]),
        ("rhine.html#sec1", ["The Rhine", "Ports"]),
        ("rhine.html#sec2", ["The Rhine", "Ports", "Bridges"]),
        ("rhine.html#sec3", ["The Rhine", "Trade"]),
    ]
    assert [a.text for a in articles] == [RHINE, PORTS, f"{BRIDGES}\n\nBasel bridge\n\nMainz bridge", PORTS]
    assert not any("Copyright" in a.text or "Log in" in a.text for a in articles)


def test_html_without_main_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nav.html"
    path.write_text("<html><body><nav><a href='/'>Home</a></nav><script>var x = 1;</script></body></html>", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"nav\.html: no main text found in the HTML"):
        load_corpus(path)


# --- DOCX -----------------------------------------------------------------------------------------


def test_docx_heading_paths_and_tables(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "manual.docx",
        [
            ("title", "River Manual"),
            ("p", RHINE),
            ("h1", "Ports"),
            ("p", PORTS),
            ("table", [["Port", "Country"], ["Basel", "Switzerland"]]),
            ("h2", "Bridges"),
            ("p", BRIDGES),
            ("h1", "Empty chapter"),
            ("h1", "Appendix"),
            ("p", "See the tables above."),
        ],
        title="Manual",
    )
    pieces = list(read_docx(path))
    assert [(p.label, p.source["headings"], p.text) for p in pieces] == [
        ("sec0", ["River Manual"], RHINE),
        ("sec1", ["River Manual", "Ports"], f"{PORTS}\n\nPort | Country\n\nBasel | Switzerland"),
        ("sec2", ["River Manual", "Ports", "Bridges"], BRIDGES),
        ("sec3", ["River Manual", "Appendix"], "See the tables above."),
    ]
    assert {p.title for p in pieces} == {"Manual"}


def test_a_docx_that_is_some_other_zip_is_an_error(tmp_path: Path) -> None:
    fake = tmp_path / "photos.docx"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("holiday/beach.txt", "not a word document")
    with pytest.raises(CorpusError, match=r"photos\.docx: not a Word \.docx document \(a zip package without a Word body"):
        load_corpus(fake)
    plain = tmp_path / "old.docx"
    plain.write_bytes(b"\xd0\xcf\x11\xe0 an old binary .doc")
    with pytest.raises(CorpusError, match=r"old\.docx: not a Word \.docx document \(not a zip package; a binary \.doc must be converted"):
        load_corpus(plain)


# --- folders and languages ------------------------------------------------------------------------


def test_a_folder_of_mixed_documents_carries_page_and_heading_provenance(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs"
    (docs / "web").mkdir(parents=True)
    (docs / "a.txt").write_text(RHINE, encoding="utf-8")
    (docs / "b.md").write_text(f"# Ports\n\n{PORTS}", encoding="utf-8")
    write_pdf(docs / "c.pdf", [wrap(RHINE + " " + PORTS)])
    write_docx(docs / "d.docx", [("h1", "Bridges"), ("p", BRIDGES)])
    (docs / "web" / "e.html").write_text(html_page("Trade", f"<h2>Trade</h2><p>{PORTS}</p>"), encoding="utf-8")
    write_pdf(docs / "f.pdf", [[]], scanned=(1,))
    articles = load_corpus(docs)
    assert [a.id for a in articles] == ["a.txt", "b.md", "c.pdf#p1", "d.docx#sec0", "web/e.html#sec0"]
    assert articles[2].source["page"] == 1 and articles[2].source["file"] == str(docs / "c.pdf")
    assert articles[3].source["headings"] == ["Bridges"] and articles[4].source["headings"] == ["Trade"]
    assert {a.source["language"] for a in articles} == {"en"}
    assert "f.pdf: no text layer" in capsys.readouterr().err


def test_a_mixed_language_document_gets_a_language_per_section(tmp_path: Path) -> None:
    german = (
        "Der Rhein ist einer der längsten Flüsse Europas. Er entspringt in den Schweizer Alpen und "
        "mündet in die Nordsee. Seit der Römerzeit ist er ein wichtiger Handelsweg."
    )
    chinese = "长江是中国最长的河流。它发源于青藏高原，最后在上海注入东海。三峡大坝位于湖北省。"
    path = write_docx(tmp_path / "rivers.docx", [("h1", "Rhein"), ("p", german), ("h1", "River"), ("p", RHINE), ("h1", "长江"), ("p", chinese)])
    articles = load_corpus(path)
    assert [(a.source["headings"], a.source["language"]) for a in articles] == [(["Rhein"], "de"), (["River"], "en"), (["长江"], "zh")]


@pytest.mark.slow
def test_compile_runs_on_a_pdf_and_records_carry_the_page(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "rivers.pdf", [wrap(RHINE + " " + PORTS), wrap(BRIDGES + " " + RHINE)])
    assert compile_main(["--corpus", str(path), "--out", str(tmp_path / "run"), "--n-per-level", "1", "--levels", "micro", "--quiet"]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["article_id"] for r in records} == {"rivers.pdf#p1", "rivers.pdf#p2"}
    assert all(r["source"]["page"] == int(r["article_id"][-1]) and r["language"] == "en" for r in records)


def test_html_reader_is_usable_alone(tmp_path: Path) -> None:
    path = tmp_path / "one.html"
    path.write_text(html_page("One", f"<p>{RHINE}</p>"), encoding="utf-8")
    assert [(p.label, p.source, p.text) for p in read_html(path)] == [("sec0", {"section": 0, "headings": []}, RHINE)]
