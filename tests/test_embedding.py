"""The run's embedder: model names with the `@bf16` precision suffix, and what bfloat16 changes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foveate_dspy.method.budget import article_budgets
from foveate_dspy.method.embedding import get_embedder, split_precision


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("minilm", ("minilm", False)),
        ("minilm@bf16", ("minilm", True)),
        ("/models/my-encoder@bf16", ("/models/my-encoder", True)),
        ("sentence-transformers/paraphrase-multilingual-mpnet-base-v2", ("sentence-transformers/paraphrase-multilingual-mpnet-base-v2", False)),
        ("@bf16", ("@bf16", False)),  # no model name before the suffix: a name like any other
        ("minilm@fp8", ("minilm@fp8", False)),  # not a precision this knows: loading it fails naming it
    ],
)
def test_the_precision_suffix(spec: str, expected: tuple[str, bool]) -> None:
    assert split_precision(spec) == expected


@pytest.fixture(scope="module")
def paragraphs(shared_data: Path) -> list[str]:
    rows = (json.loads(line) for line in (shared_data / "squad11_dev_2067.jsonl").read_text(encoding="utf-8").splitlines())
    return list(dict.fromkeys(row["context"] for row in rows))[:80]


def test_bf16_is_its_own_embedder_with_vectors_close_to_float32(paragraphs: list[str]) -> None:
    exact, reduced = get_embedder("minilm"), get_embedder("minilm@bf16")
    assert exact is not reduced  # separate recent-texts caches: a float32 vector never answers a bf16 request
    a, b = exact.encode(paragraphs[:20]), reduced.encode(paragraphs[:20])
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.999
    assert not np.array_equal(a, b)  # bfloat16 really ran


def test_bf16_budgets_stay_within_one_of_float32(paragraphs: list[str]) -> None:
    """Algorithm 1 end to end on 80 SQuAD paragraphs; benchmarks/scale.py measures 10,000 (99% equal)."""
    exact = article_budgets(paragraphs, get_embedder("minilm"))
    reduced = article_budgets(paragraphs, get_embedder("minilm@bf16"))
    differences = [abs(x - y) for x, y in zip(exact, reduced)]
    assert max(differences) <= 1
    assert sum(d == 0 for d in differences) >= 0.9 * len(paragraphs)


def test_a_run_made_in_bf16_resumes_only_in_bf16(tmp_path: Path) -> None:
    """The suffix is part of the run's settings: its budgets and keyword rankings came from it."""
    from resume_helpers import compile_run, make_articles

    from foveate_dspy.runtime.store import SettingsMismatch

    articles = make_articles(2)
    compile_run(articles, tmp_path / "run", embedder="minilm@bf16")
    with pytest.raises(SettingsMismatch, match="embedder: minilm@bf16 in the store, minilm now"):
        compile_run(articles, tmp_path / "run", embedder="minilm")
    assert compile_run(articles, tmp_path / "run", embedder="minilm@bf16")["this_run"]["lm_calls"] == 0
