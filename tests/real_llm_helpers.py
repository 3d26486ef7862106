"""Running the real commands against the session's real LLM (the `smollm` fixture)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MODEL = "openai/local-gguf"  # the name llama-cpp-python's server answers to (local_server.MODEL_ALIAS)

# Two short articles no other test uses, written for these tests.
ARTICLES = [
    {
        "id": "lighthouse",
        "content": (
            "The Bell Rock Lighthouse stands eleven miles off the coast of Angus in Scotland. Robert Stevenson "
            "built it between 1807 and 1810 on a reef that is covered by the sea at high tide. Unlike earlier "
            "towers, it was made of granite blocks that locked together like a puzzle. The keepers lived in the "
            "tower for weeks at a time, and the light was first lit on 1 February 1811."
        ),
    },
    {
        "id": "tea-clipper",
        "content": (
            "The Cutty Sark was launched at Dumbarton in 1869 as a tea clipper. She was built for speed, but the "
            "Suez Canal opened the same year and steamships soon carried the tea trade. She later carried wool "
            "from Australia, where she set records for the voyage to Britain. Today she rests in a dry dock at "
            "Greenwich in London."
        ),
    },
]


def write_corpus(path: Path, articles: list[dict[str, str]] = ARTICLES) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


def run_module(module: str, *args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m module args` as a user would run it; a dummy key for the OpenAI client."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-no-key-local"}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
