"""Large corpora (issue 14): streaming readers, Algorithm 1 fitted on a sample and applied as
articles run, the stored fit reused on resume, and the store's paged scan of what is left.

The embedder is a hash of the text (no model): the same text always gets the same vector, so
budgets can be recomputed by hand in the test with scipy's Box-Cox, independently of the runner."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from resume_helpers import compile_run, make_articles, store_rows
from scipy import special, stats

from foveate_dspy.method import budget as budget_module
from foveate_dspy.corpus import readers as corpus_module
from foveate_dspy.runtime import runner
from foveate_dspy.method.budget import BudgetConfig, BudgetFit, RelevanceCounter, article_budgets, unique_words
from foveate_dspy.corpus.readers import CorpusError, CorpusSource, Document, iter_articles, load_corpus
from foveate_dspy.runtime.store import DuplicateArticle, RunStore, SettingsMismatch

MU = 2.0  # a small mean keeps the scripted runs short
THRESHOLD = 0.16


class HashEmbedder:
    """Unit vectors in 8 dimensions from a text's sha256; records every batch it is given."""

    def __init__(self, fail_on_articles: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail_on_articles = fail_on_articles

    def encode(self, texts, remember: bool = True):
        texts = list(texts)
        self.batches.append(texts)
        if self.fail_on_articles and any(len(t) > 100 for t in texts):
            raise KeyboardInterrupt  # Ctrl-C while the sample's articles are being embedded
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8).astype(np.float32) - 127.5 for t in texts]
        return np.stack([r / np.linalg.norm(r) for r in rows]) if rows else np.zeros((0, 8), np.float32)


@pytest.fixture()
def embedder(monkeypatch) -> HashEmbedder:
    fake = HashEmbedder()
    monkeypatch.setattr(runner, "counter", lambda name, threshold: RelevanceCounter(fake, threshold))
    monkeypatch.setattr(budget_module, "counter", lambda name, threshold: RelevanceCounter(fake, threshold))
    return fake


def hand_count(text: str) -> int:
    """c(d) straight from the definition: distinct words whose cosine with the article >= tau."""
    fake = HashEmbedder()
    article = fake.encode([text])[0]
    return sum(float(fake.encode([w])[0] @ article) >= THRESHOLD for w in unique_words(text))


def hand_budget(count: int, lmbda: float, mean: float, std: float) -> int:
    return max(1, math.floor(MU + (float(special.boxcox(count, lmbda)) - mean) / std + 0.5))


def stored_budgets(run_dir: Path) -> dict[str, int]:
    return dict(store_rows(run_dir, "SELECT id, n FROM articles ORDER BY position"))


def stored_fit(run_dir: Path) -> dict:
    return json.loads(store_rows(run_dir, "SELECT value FROM meta WHERE key = 'budget_fit'")[0][0])


def adaptive(**overrides):
    return dict(n_per_level=None, budget=BudgetConfig(THRESHOLD, MU, 1.0), levels=("micro",), **overrides)


# --- the fit, by hand ------------------------------------------------------------------------------


def test_a_fit_applied_to_one_count_by_hand() -> None:
    fit = BudgetFit(lmbda=1.0, mean=4.0, std=2.0)
    assert fit.budget(6) == 9  # boxcox(6, 1) = 5; z = 0.5; 8.5 rounds half up to 9
    assert fit.budget(0) == 6  # boxcox(0, 1) = -1; z = -2.5; 5.5 -> 6
    assert BudgetFit(lmbda=0.0, mean=1.0, std=1.0).budget(0) == 1  # log(0) = -inf: the thinnest budget
    assert BudgetFit(lmbda=1.0, shift=3.0, mean=4.0, std=2.0).budget(-5) == 6  # below the shift: clamped to 0
    assert BudgetFit(None).budget(123) == 8  # degenerate sample: everyone gets mu
    assert BudgetFit.of_counts([5, 5, 5]).lmbda is None and BudgetFit.of_counts([7]).lmbda is None


def test_the_fit_on_a_tiny_sample_is_scipys_box_cox() -> None:
    counts = [3, 9, 4, 20, 7]
    fit = BudgetFit.of_counts(counts, corpus=40)
    transformed, lmbda = stats.boxcox(np.asarray(counts, dtype=float))
    assert (fit.lmbda, fit.mean, fit.std, fit.sample, fit.corpus) == (lmbda, transformed.mean(), transformed.std(), 5, 40)
    shifted = BudgetFit.of_counts([0, 2, 5])  # a zero count: shifted by |min| + 1, as the whole-corpus algorithm does
    assert shifted.shift == 1.0 and shifted.lmbda == stats.boxcox(np.asarray([1.0, 3.0, 6.0]))[1]


# --- sampled versus exact budgets in a run ---------------------------------------------------------


@pytest.mark.parametrize("sample", [12, 50], ids=["sample-equals-corpus", "sample-larger-than-corpus"])
def test_a_sample_as_large_as_the_corpus_keeps_todays_exact_budgets(tmp_path: Path, embedder: HashEmbedder, sample: int) -> None:
    articles = make_articles(12)
    today = article_budgets([a.text for a in articles], HashEmbedder(), BudgetConfig(THRESHOLD, MU, 1.0))
    assert len(set(today)) > 1  # the corpus really spreads its budgets
    summary = compile_run(articles, tmp_path / "run", **adaptive(budget_sample=sample))
    assert summary["complete"]
    assert list(stored_budgets(tmp_path / "run").values()) == today
    assert stored_fit(tmp_path / "run")["sample"] == 12


def test_a_smaller_sample_fits_on_the_sample_and_budgets_the_rest_as_they_run(tmp_path: Path, embedder: HashEmbedder) -> None:
    articles = make_articles(12)
    summary = compile_run(articles, tmp_path / "run", **adaptive(budget_sample=5))
    assert summary["complete"]
    texts = {a.text for a in articles}
    article_batches = [batch for batch in embedder.batches if set(batch) <= texts]
    sample = article_batches[0]  # the fit embeds its sample first, in one batch
    assert len(sample) == 5
    counts = [hand_count(text) for text in sample]
    transformed, lmbda = stats.boxcox(np.asarray(counts, dtype=float))
    fit = stored_fit(tmp_path / "run")
    assert (fit["sample"], fit["corpus"]) == (5, 12)
    assert fit["lmbda"] == pytest.approx(lmbda) and fit["mean"] == pytest.approx(transformed.mean()) and fit["std"] == pytest.approx(transformed.std())
    expected = {a.id: hand_budget(hand_count(a.text), lmbda, transformed.mean(), transformed.std()) for a in articles}
    assert stored_budgets(tmp_path / "run") == expected
    # the seven others were embedded as the run reached them, not before
    assert sum(len(batch) for batch in article_batches[1:]) == 7


def test_a_resume_reuses_the_stored_fit(tmp_path: Path, embedder: HashEmbedder, monkeypatch) -> None:
    articles = make_articles(12)
    compile_run(articles, tmp_path / "reference", **adaptive(budget_sample=5))
    first = compile_run(articles, tmp_path / "run", **adaptive(budget_sample=5, max_calls=15))
    assert not first["complete"]
    fit = stored_fit(tmp_path / "run")

    def must_not_run(*_args):
        raise AssertionError("the fit was recomputed on resume")

    monkeypatch.setattr(runner, "fit_budget", must_not_run)
    resumed = compile_run(articles, tmp_path / "run", **adaptive(budget_sample=300))  # a new --budget-sample changes nothing
    assert resumed["complete"] and stored_fit(tmp_path / "run") == fit
    assert stored_budgets(tmp_path / "run") == stored_budgets(tmp_path / "reference")


def test_a_run_interrupted_while_fitting_resumes_cleanly(tmp_path: Path, monkeypatch) -> None:
    articles = make_articles(12)
    failing = HashEmbedder(fail_on_articles=True)
    monkeypatch.setattr(runner, "counter", lambda name, threshold: RelevanceCounter(failing, threshold))
    with pytest.raises(KeyboardInterrupt):
        compile_run(articles, tmp_path / "run", **adaptive(budget_sample=5))
    assert store_rows(tmp_path / "run", "SELECT COUNT(*) FROM meta WHERE key = 'budget_fit'") == [(0,)]
    assert store_rows(tmp_path / "run", "SELECT COUNT(*) FROM articles WHERE n IS NOT NULL") == [(0,)]

    healthy = HashEmbedder()
    for module in (runner, budget_module):
        monkeypatch.setattr(module, "counter", lambda name, threshold: RelevanceCounter(healthy, threshold))
    assert compile_run(articles, tmp_path / "run", **adaptive(budget_sample=5))["complete"]
    compile_run(articles, tmp_path / "reference", **adaptive(budget_sample=5))
    assert stored_budgets(tmp_path / "run") == stored_budgets(tmp_path / "reference")


# --- streaming corpora -------------------------------------------------------------------------------


def test_limit_stops_reading_the_corpus(monkeypatch) -> None:
    def documents(*_args):
        for i in range(3):
            yield Document(f"d{i}", f"Text number {i}.", None, f"mem:{i}", {"file": "mem", "line": i + 1})
        raise AssertionError("read past --limit")

    monkeypatch.setattr(corpus_module, "iter_documents", documents)
    assert [a.id for a in iter_articles("ignored", limit=3)] == ["d0", "d1", "d2"]
    assert len(load_corpus("ignored", limit=3)) == 3
    assert len(list(CorpusSource("ignored", limit=2))) == 2


def test_a_corpus_that_ends_mid_line(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(b'{"id": "a", "text": "One."}\n{"id": "b", "text": "Two."}')  # no final newline
    assert [a.id for a in load_corpus(whole)] == ["a", "b"]
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b'{"id": "a", "text": "One."}\n\n{"id": "b", "text": "Tw')
    with pytest.raises(CorpusError, match=r"cut\.jsonl:3: the last line is cut off"):
        list(CorpusSource(cut))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_streamed_corpus_runs_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    rows = [{"id": a.id, "text": a.text} for a in make_articles(4)]
    path = _write(tmp_path / "corpus.jsonl", rows)
    summary = compile_run(CorpusSource(path), tmp_path / "run")
    assert summary["complete"] and summary["articles"] == 4
    rows[2]["text"] += " One more sentence."
    _write(path, rows)
    with pytest.raises(SettingsMismatch, match="corpus:"):
        compile_run(CorpusSource(path), tmp_path / "run")


def test_duplicate_ids_in_a_streamed_corpus_name_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.jsonl", [{"id": "a", "text": "One."}, {"id": "b", "text": "Two."}, {"id": "a", "text": "Three."}])
    with pytest.raises(DuplicateArticle, match=rf"dup\.jsonl:3: duplicate article id 'a' \(first at {path}:1\)"):
        compile_run(CorpusSource(path), tmp_path / "run")
    assert compile_run(CorpusSource(path, limit=2), tmp_path / "run")["complete"]  # a fixed corpus starts over cleanly


# --- the store at scale ----------------------------------------------------------------------------


def test_pending_pages_see_every_article_once_while_commits_happen(tmp_path: Path) -> None:
    articles = make_articles(7)
    with RunStore.open(tmp_path) as store:
        store.add_articles([(i, a, 1) for i, a in enumerate(articles)])
        store.initialise({"test": True})
        store.commit_article(articles[1], [], [], [], teacher="t", method="m")
        seen = []
        for article, n in store.pending(page=2):
            seen.append(article.id)
            store.commit_article(article, [], [], [], teacher="t", method="m", n=5)
        assert seen == [a.id for a in articles if a.id != "art-1"]
        assert list(store.pending()) == [] and store.progress() == {"pending": 0, "done": 7, "failed": 0, "articles": 7}
        assert store.budgets()["art-1"] == 1 and store.budgets()["art-2"] == 5  # n stored with the commit


def test_a_ray_worker_computes_the_missing_budgets_of_its_batch(embedder: HashEmbedder) -> None:
    """The worker's batch step without a cluster: jobs sent without n (NO_BUDGET) get the stored
    fit's n, computed in the worker, and send it back; jobs with an n keep theirs."""
    import asyncio
    import pickle

    import dspy
    from resume_helpers import Teacher, settings

    from foveate_dspy.method.budget import ArticleBudget
    from foveate_dspy.runtime.calls import Pricing, RunLimits, UsageLedger
    from foveate_dspy.method.choice import build_program
    from foveate_dspy.runtime.ratelimit import RequestGate
    from foveate_dspy.runtime.ray_executor import NO_BUDGET, ArticleWorker

    run_settings = settings(levels=("micro",), n_per_level=None, budget=BudgetConfig(THRESHOLD, MU, 1.0))
    class Broker:  # admits every article, as the broker does when the run has no limit
        class Method:
            def remote(self, *args):
                future = asyncio.get_running_loop().create_future()
                future.set_result(None)
                return future

        enter_article = leave_article = Method()

    worker = ArticleWorker.__new__(ArticleWorker)  # what _set_up builds, with a stand-in for Ray's broker
    worker.broker, worker.token = Broker(), "process"
    worker.settings, worker.program, worker.creative, worker.creative_config = run_settings, build_program(run_settings), None, None
    worker.lms, worker.adapter = [Teacher().lm()], dspy.ChatAdapter(use_json_adapter_fallback=False)
    worker.ledger, worker.limits, worker.gate = UsageLedger(Pricing()), RunLimits(), RequestGate(4)
    worker.budget = ArticleBudget(BudgetFit(lmbda=1.0, mean=float(hand_count(make_articles(1)[0].text)), std=1.0), run_settings.budget, "hash")
    articles = make_articles(3)
    jobs = [(0, articles[0].id, articles[0].text, NO_BUDGET), (1, articles[1].id, articles[1].text, 1), (2, articles[2].id, articles[2].text, NO_BUDGET)]
    outcomes = [pickle.loads(p) for p in asyncio.run(worker._run(jobs))]
    expected = [worker.budget.fit.budget(hand_count(a.text), MU, 1.0) for a in articles]
    assert [o.n for o in outcomes] == [expected[0], None, expected[2]]
    assert [len(o.items) for o in outcomes] == [expected[0], 1, expected[2]]
