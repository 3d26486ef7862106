"""Benchmark: reading a long PDF, and the cost of the language tools, on this machine.

    python benchmarks/documents.py                  # a 500-page PDF
    python benchmarks/documents.py --pages 100 --json bench.json

The PDF is written first with reportlab (each page ~200 words of English prose wrapped at 70
characters, a running header and a "Page k of N" footer; page edges differ per page) and is not
timed. Then, each in a fresh process so that its peak RSS is its own:

* pypdf alone: `extract_text()` of every page (the floor of any pypdf-based reader);
* `documents.read_pdf`: extraction plus header/footer/page-number removal and line unwrapping;
* `corpus.load_corpus` (chunks of 400 words): all of that plus chunking and language detection.

And the language tools on their own: jieba's first segmentation (it builds or loads its
dictionary), words of a Chinese passage, and py3langid per passage.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROSE = (
    "The Rhine is one of the major rivers of Europe and it flows from the Swiss Alps to the North Sea. "
    "Its course passes through six countries and it carries a great deal of information about the history "
    "of trade in the region. Basel, Cologne and Rotterdam are the largest ports along the river. Barges carry "
    "coal, grain and containers between them, and the river has been a trade route since Roman times. "
)
CHINESE = (
    "长江是中国最长的河流，全长约六千三百公里。它发源于青藏高原，最后在上海注入东海。长江流域养育了全国三分之一以上的人口。"
    "三峡大坝位于湖北省宜昌市，是世界上装机容量最大的水电站。武汉、南京和重庆是长江沿岸的重要城市。"
)

STAGES = {
    "pypdf": "from pypdf import PdfReader\nr = PdfReader(PATH)\nn = sum(len(p.extract_text() or '') for p in r.pages)",
    "read_pdf": "from foveate_dspy.corpus.documents import read_pdf\nn = len(list(read_pdf(Path(PATH))))",
    "load_corpus": "from foveate_dspy.corpus.readers import load_corpus\nn = len(load_corpus(PATH))",
}


def write_pdf(path: Path, pages: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from documents_helpers import wrap
    from documents_helpers import write_pdf as write

    write(path, [wrap(f"Station {k} report. " + PROSE * 2 + f"End of station {k} report.") for k in range(pages)], header="The Book of Rivers")


def run_stage(name: str, path: Path) -> dict[str, float]:
    code = (
        "import resource, sys, time\nfrom pathlib import Path\n"
        f"PATH = {str(path)!r}\nstarted = time.perf_counter(); cpu = time.process_time()\n"
        f"{STAGES[name]}\n"
        "print(n, time.perf_counter() - started, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    return {"items": int(out[0]), "wall_s": float(out[1]), "cpu_s": float(out[2]), "peak_rss_mb": int(out[3]) / 1024}


def language_tools() -> dict[str, float]:
    from foveate_dspy.corpus.language import detect_language
    from foveate_dspy.corpus.words import words

    started = time.perf_counter()
    words("长江")
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        count = len(words(CHINESE))
    per_passage = (time.perf_counter() - started) / 100
    started = time.perf_counter()
    detect_language(PROSE)
    model = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        detect_language(PROSE)
    detect = (time.perf_counter() - started) / 100
    return {
        "jieba_first_call_s": first,
        "py3langid_first_call_s": model,
        "chinese_passage_chars": len(CHINESE),
        "chinese_passage_words": count,
        "words_per_passage_ms": per_passage * 1000,
        "detect_language_per_passage_ms": detect * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.pdf"
        write_pdf(path, args.pages)
        figures: dict[str, object] = {"pages": args.pages, "pdf_mb": path.stat().st_size / 2**20}
        for stage in STAGES:
            figures[stage] = run_stage(stage, path)
            print(stage, figures[stage], flush=True)
    figures["language"] = language_tools()
    print("language", figures["language"])
    figures["this_process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
