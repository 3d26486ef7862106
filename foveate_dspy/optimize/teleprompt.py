"""Optimise the synthesis program itself with a DSPy teleprompter (`compile --optimize`).

There are no gold pairs to learn from, so the metric is reference-free and built from the
program's own signals plus a judge, per article (one dspy.Example):

    score = 0.4 · first-pass acceptance + 0.4 · grounding + 0.2 · difficulty

- first-pass acceptance: the share of the article's instruction slots whose first attempt was
  valid (no re-synthesis needed); a level that failed outright counts as n failed slots.
- grounding: the mean over accepted pairs of "is the answer supported by the article" (judge).
- difficulty: the mean over accepted pairs of the judged difficulty, easy 0, medium ½, hard 1.

The judge is an LM (`--judge MODEL`, signatures.optimize.JudgeSynthesizedPair) or, by default, a
deterministic offline heuristic, labelled as such in every report: grounding is the share of the
answer's content words found in the article; difficulty is evals.heuristics' instruction
difficulty (sentences needed, keywords, spread) squashed to [0, 1) by d / (d + 2). A judge reply
that does not parse is counted as invalid and left out of the means, never scored as 0.

Teleprompters: BootstrapFewShot (demos from runs that score ≥ 0.5), MIPROv2 (instructions and
demos, Optuna search) and GEPA (instructions, reflecting on per-predictor textual feedback). The
optimisation budget `max_calls` caps the metric calls each one makes while compiling; scoring the
program before and after (on the validation split, or the train split when the corpus is too
small to hold one out) costs one metric call per article each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from foveate_dspy import json_safe
from foveate_dspy.method.level_names import LEVELS

if TYPE_CHECKING:
    import dspy

    from foveate_dspy.corpus.readers import Article
    from foveate_dspy.method.items import Item

OPTIMIZERS = ("bootstrap", "mipro", "gepa")
WEIGHTS = {"first_pass": 0.4, "grounded": 0.4, "difficulty": 0.2}
BOOTSTRAP_THRESHOLD = 0.5
MIPRO_CANDIDATES = 3
DIFFICULTY_SCALE = {"easy": 0.0, "medium": 0.5, "hard": 1.0}
HEURISTIC_JUDGE = "heuristic (offline)"
_ANSWER_PREDICTORS = ("respond", "reread")


class OptimizeError(ValueError):
    """Unusable optimisation settings, or a program file that does not fit the program."""


@dataclass(frozen=True)
class OptimizeSettings:
    optimizer: str
    train_size: int = 4  # articles in the train split (and at most as many held out)
    n: int = 2  # instructions per level per article while optimising
    max_calls: int = 32  # metric calls the teleprompter may make while compiling
    demos: int = 2  # bootstrapped demos per predictor at most
    threads: int = 2  # programs scored in parallel by MIPROv2 and GEPA
    seed: int = 0


# --- judging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    grounded: float | None  # None: the judge's reply was invalid
    difficulty: float | None
    problem: str | None = None


class Judge(Protocol):
    label: str

    def judge(self, article: str, instruction: str, answer: str) -> Verdict: ...


class HeuristicJudge:
    """Deterministic stand-in for an LM judge (see the module docstring); a heuristic."""

    label = HEURISTIC_JUDGE

    def judge(self, article: str, instruction: str, answer: str) -> Verdict:
        from foveate_dspy.method.difficulty import content_words, instruction_difficulty

        words = content_words(answer)
        known = set(content_words(article))
        grounded = sum(w in known for w in words) / len(words) if words else 0.0
        d = instruction_difficulty(article, instruction)
        return Verdict(grounded, d / (d + 2.0))


class LMJudge:
    """An LM judging each pair with signatures.optimize.JudgeSynthesizedPair."""

    def __init__(self, lm: dspy.LM) -> None:
        from foveate_dspy.teachers.judges import SignatureJudge
        from signatures.optimize import JudgeSynthesizedPair

        self.lm = lm
        self.label = lm.model
        self.judge_pair = SignatureJudge(JudgeSynthesizedPair, lm)

    def judge(self, article: str, instruction: str, answer: str) -> Verdict:
        from foveate_dspy.runtime.calls import describe_error

        got = self.judge_pair.ask(article=article, instruction=instruction, answer=answer)
        if got.failure is not None:  # a failed judgement is counted invalid, never a score
            return Verdict(None, None, describe_error(got.error))
        return Verdict(1.0 if got.prediction.grounded else 0.0, DIFFICULTY_SCALE[got.prediction.difficulty])


# --- the metric ----------------------------------------------------------------------------


@dataclass
class Signals:
    """What the metric saw in one program output."""

    first_pass: float
    grounded: float
    difficulty: float
    slots: int
    accepted: int
    invalid_judgements: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    ungrounded: list[tuple[str, str]] = field(default_factory=list)
    easiest: list[tuple[float, str]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return (
            WEIGHTS["first_pass"] * self.first_pass
            + WEIGHTS["grounded"] * self.grounded
            + WEIGHTS["difficulty"] * self.difficulty
        )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def judge_items(article: str, items: Sequence[Item], judge: Judge) -> dict[str, Verdict]:
    """The judge's verdict on every accepted item, by item id."""
    return {
        item.id: judge.judge(article, item.accepted.instruction, item.accepted.output)
        for item in items
        if item.accepted is not None
    }


def summarise(n: int, items: Sequence[Item], level_failures: Sequence[Any], verdicts: dict[str, Verdict]) -> Signals:
    """The metric's signals for `items` (see the module docstring)."""
    slots = len(items) + n * len(level_failures)
    first = sum(1 for item in items if item.accepted is not None and not item.resynthesized)
    rejections: Counter[str] = Counter(
        item.attempts[0].rejection.split(" (")[0] for item in items if item.attempts and item.attempts[0].rejection
    )
    grounded, difficulty, ungrounded, easiest, invalid = [], [], [], [], 0
    for item in items:
        final = item.accepted
        if final is None:
            continue
        verdict = verdicts[item.id]
        if verdict.grounded is None or verdict.difficulty is None:
            invalid += 1
            continue
        grounded.append(verdict.grounded)
        difficulty.append(verdict.difficulty)
        if verdict.grounded < 0.5:
            ungrounded.append((final.instruction, final.output))
        easiest.append((verdict.difficulty, final.instruction))
    easiest.sort()
    return Signals(
        first_pass=first / slots if slots else 0.0,
        grounded=_mean(grounded),
        difficulty=_mean(difficulty),
        slots=slots,
        accepted=sum(1 for item in items if item.accepted is not None),
        invalid_judgements=invalid,
        rejections=rejections,
        ungrounded=ungrounded[:2],
        easiest=easiest[:2],
    )


def _level_of(pred_name: str | None) -> str | None:
    head = (pred_name or "").split(".")[0]
    return head if head in LEVELS else None


def feedback_text(signals: Signals, judge_label: str, pred_name: str | None) -> str:
    """What GEPA's reflection LM reads for one predictor: the score's parts and concrete cases."""
    score_line = (
        f"Score {signals.score:.3f}: {signals.first_pass:.0%} of {signals.slots} instruction slots were accepted on "
        f"the first attempt; accepted answers grounded {signals.grounded:.2f}, difficulty {signals.difficulty:.2f} "
        f"(0 easy, 1 hard; judge: {judge_label})."
    )
    lines = [score_line]
    if (pred_name or "").rsplit(".", 1)[-1] in _ANSWER_PREDICTORS:
        for instruction, answer in signals.ungrounded:
            lines.append(
                f'Ungrounded answer: to "{instruction}" the answer "{answer[:200]}" states things the article does '
                "not support. Answer only from the article."
            )
        if not signals.ungrounded:
            lines.append("Every judged answer was grounded. Keep answers complete and faithful to the article.")
        return "\n".join(lines)
    for reason, count in signals.rejections.most_common(3):
        lines.append(f"{count} first attempt(s) were rejected: {reason}. Write instructions the article fully answers.")
    for difficulty, instruction in signals.easiest:
        if difficulty < 0.5:
            lines.append(
                f'Too easy (difficulty {difficulty:.2f}): "{instruction}". Ask for relations, causes or comparisons '
                "across the article."
            )
    return "\n".join(lines)


class ProgramMetric:
    """metric(example, prediction, trace=None) → score in [0, 1], with thread-safe counts.

    `calls` counts scorings (what the optimisation budget caps); `feedback_calls` counts GEPA's
    extra per-predictor feedback requests on outputs it has already scored. Those reuse the
    verdicts of the scoring (the last JUDGED_KEPT outputs are remembered), so an LM judge is asked
    about each output once, however many predictors GEPA asks feedback for."""

    JUDGED_KEPT = 64

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.calls = 0
        self.feedback_calls = 0
        self.invalid_judgements = 0
        self._lock = threading.Lock()
        self._judged: OrderedDict[int, tuple[Sequence[Item], dict[str, Verdict]]] = OrderedDict()

    def _verdicts(self, article: str, items: Sequence[Item]) -> tuple[dict[str, Verdict], bool]:
        """The judge's verdicts on one output's items, judged once per output (by identity: the
        entry holds the items, so their id cannot be reused while it is kept), and whether they
        were judged just now."""
        with self._lock:
            kept = self._judged.get(id(items))
        if kept is not None and kept[0] is items:
            return kept[1], False
        verdicts = judge_items(article, items, self.judge)
        with self._lock:
            self._judged[id(items)] = (items, verdicts)
            while len(self._judged) > self.JUDGED_KEPT:
                self._judged.popitem(last=False)
        return verdicts, True

    def _signals(self, example: dspy.Example, prediction: dspy.Prediction, count_as: str) -> tuple[Signals, dict[str, Verdict]]:
        items = prediction.results
        verdicts, fresh = self._verdicts(example.article, items)
        signals = summarise(example.n, items, prediction.get("level_failures") or [], verdicts)
        with self._lock:
            setattr(self, count_as, getattr(self, count_as) + 1)
            if fresh:  # reused verdicts were counted when they were judged
                self.invalid_judgements += signals.invalid_judgements
        return signals, verdicts

    def __call__(self, example: dspy.Example, prediction: dspy.Prediction, trace: Any = None) -> float:
        return self._signals(example, prediction, "calls")[0].score

    def with_feedback(
        self,
        gold: dspy.Example,
        pred: dspy.Prediction,
        trace: Any = None,
        pred_name: str | None = None,
        pred_trace: Any = None,
    ) -> dspy.Prediction:
        """GEPA's form: the program-level score plus feedback aimed at predictor `pred_name`
        (a level's predictors hear about that level's items only)."""
        import dspy

        whole, verdicts = self._signals(gold, pred, "calls" if pred_name is None else "feedback_calls")
        level = _level_of(pred_name)
        focus = whole
        if level is not None:
            failures = [f for f in (pred.get("level_failures") or []) if f.level == level]
            focus = summarise(gold.n, [item for item in pred.results if item.level == level], failures, verdicts)
        return dspy.Prediction(score=whole.score, feedback=feedback_text(focus, self.judge.label, pred_name))


# --- data ----------------------------------------------------------------------------------


def split_articles(articles: Sequence[Article], train_size: int, seed: int) -> tuple[list[Article], list[Article]]:
    """A seeded train split of `train_size` articles and a held-out split of at most as many."""
    order = list(range(len(articles)))
    random.Random(f"optimize:{seed}").shuffle(order)
    train = [articles[i] for i in order[:train_size]]
    val = [articles[i] for i in order[train_size : 2 * train_size]]
    return train, val


def to_examples(articles: Sequence[Article], n: int, seed: int) -> list[dspy.Example]:
    import dspy

    return [
        dspy.Example(article=a.text, n=n, article_id=a.id, seed=seed).with_inputs("article", "n", "article_id", "seed")
        for a in articles
    ]


def mean_score(program: dspy.Module, examples: Sequence[dspy.Example], metric: ProgramMetric) -> tuple[float, int]:
    """(the program's mean metric over `examples`, how many runs raised); a run that raises
    scores 0, as the teleprompters' own evaluation counts it."""
    scores, errors = [], 0
    for example in examples:
        try:
            prediction = program(**example.inputs())
        except Exception:  # noqa: BLE001  (one article's failure is a zero, counted and reported)
            scores.append(0.0)
            errors += 1
            continue
        scores.append(metric(example, prediction))
    return _mean(scores), errors


# --- teleprompters -------------------------------------------------------------------------


def _compile(
    program: dspy.Module,
    train: list[dspy.Example],
    val: list[dspy.Example],
    settings: OptimizeSettings,
    metric: ProgramMetric,
    proposer_lm: dspy.LM,
) -> dspy.Module:
    """Optimise `program` with the teleprompter `settings.optimizer` names."""
    compilers = {"bootstrap": _bootstrap, "mipro": _mipro, "gepa": _gepa}
    if settings.optimizer not in compilers:
        raise OptimizeError(f"--optimize takes one of {', '.join(OPTIMIZERS)}; got {settings.optimizer!r}")
    return compilers[settings.optimizer](program, train, val, settings, metric, proposer_lm)


def _bootstrap(
    program: dspy.Module,
    train: list[dspy.Example],
    val: list[dspy.Example],
    settings: OptimizeSettings,
    metric: ProgramMetric,
    proposer_lm: dspy.LM,
) -> dspy.Module:
    """BootstrapFewShot: demos from the train articles whose output scores at least BOOTSTRAP_THRESHOLD."""
    import dspy

    teleprompter = dspy.BootstrapFewShot(
        metric=metric,
        metric_threshold=BOOTSTRAP_THRESHOLD,
        max_bootstrapped_demos=settings.demos,
        max_labeled_demos=0,  # the train examples are articles, not demos of any predictor
        max_rounds=1,
    )
    return teleprompter.compile(program, trainset=train[: settings.max_calls])


def _mipro(
    program: dspy.Module,
    train: list[dspy.Example],
    val: list[dspy.Example],
    settings: OptimizeSettings,
    metric: ProgramMetric,
    proposer_lm: dspy.LM,
) -> dspy.Module:
    """MIPROv2: instructions proposed by `proposer_lm` and bootstrapped demos, as many trials as
    the call budget leaves after bootstrapping."""
    import dspy

    # Bootstrapping costs up to one metric call per train article and candidate; each trial
    # scores the whole validation split.
    bootstrap_calls = MIPRO_CANDIDATES * len(train)
    trials = (settings.max_calls - bootstrap_calls) // len(val) - 1
    if trials < 1:
        need = bootstrap_calls + 2 * len(val)
        raise OptimizeError(
            f"--optimize-max-calls {settings.max_calls} is too small for mipro with {len(train)} train and "
            f"{len(val)} validation articles; it needs at least {need}"
        )
    teleprompter = dspy.MIPROv2(
        metric=metric,
        prompt_model=proposer_lm,
        auto=None,
        num_candidates=MIPRO_CANDIDATES,
        max_bootstrapped_demos=settings.demos,
        max_labeled_demos=0,
        num_threads=settings.threads,
        seed=settings.seed,
        metric_threshold=BOOTSTRAP_THRESHOLD,
        verbose=False,
        track_stats=False,
    )
    # MIPROv2's proposer passes every optional field to a signature built without the ones
    # switched off below, and DSPy warns about each ignored field on every proposal.
    with _quiet("dspy.predict.predict"):
        return teleprompter.compile(
            program,
            trainset=train,
            valset=val,
            num_trials=trials,
            minibatch=False,
            program_aware_proposer=False,  # the program's source is long and says little per predictor
            data_aware_proposer=False,  # a dataset summary of whole articles would dwarf the prompt
        )


def _gepa(
    program: dspy.Module,
    train: list[dspy.Example],
    val: list[dspy.Example],
    settings: OptimizeSettings,
    metric: ProgramMetric,
    proposer_lm: dspy.LM,
) -> dspy.Module:
    """GEPA: instructions evolved from the metric's feedback, reflected on by `proposer_lm`."""
    import dspy
    from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer

    from foveate_dspy.teachers.adapters import RecoveringChatAdapter

    # GEPA checks its budget between iterations, and one iteration scores two minibatches and,
    # when the candidate improves, the validation split: keep that much headroom so the cap holds.
    minibatch = min(3, len(train))
    budget = settings.max_calls - (2 * minibatch + len(val))
    if budget < len(val):
        raise OptimizeError(
            f"--optimize-max-calls {settings.max_calls} is too small for gepa with {len(train)} train and "
            f"{len(val)} validation articles; it needs at least {2 * minibatch + 2 * len(val)}"
        )
    teleprompter = dspy.GEPA(
        metric=metric.with_feedback,
        max_metric_calls=budget,
        reflection_lm=proposer_lm,
        reflection_minibatch_size=minibatch,
        instruction_proposer=InstructionProposer(adapter=RecoveringChatAdapter()),
        num_threads=settings.threads,
        seed=settings.seed,
        warn_on_score_mismatch=False,
    )
    return teleprompter.compile(program, trainset=train, valset=val)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Raise one logger to ERROR for the duration."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def lm_call_counter() -> Any:
    """A DSPy callback counting LM calls; DSPy carries callbacks into its worker threads, where
    the runner's own usage ledger does not reach."""
    from dspy.utils.callback import BaseCallback

    class LMCallCounter(BaseCallback):
        def __init__(self) -> None:
            self.calls = 0
            self._lock = threading.Lock()

        def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
            with self._lock:
                self.calls += 1

    return LMCallCounter()


@dataclass
class OptimizeReport:
    optimizer: str
    judge: str
    train_articles: list[str]
    eval_articles: list[str]
    eval_split: str
    metric_before: float
    metric_after: float
    metric_calls: int
    max_calls: int
    lm_calls: int
    invalid_judgements: int
    program_errors: int  # runs that raised while scoring before/after (each scored 0)
    wall_seconds: float
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optimize_program(
    program: dspy.Module,
    articles: Sequence[Article],
    settings: OptimizeSettings,
    teacher: dspy.LM,
    proposer: dspy.LM,
    judge: Judge,
    adapter: dspy.Adapter | None = None,
) -> tuple[dspy.Module, OptimizeReport]:
    """Compile `program` on a train split of `articles`; score it before and after. `adapter`
    is the run's output mode's (adapters.build_adapter); chat by default."""
    import dspy

    from foveate_dspy.teachers.adapters import RecoveringChatAdapter

    if settings.optimizer not in OPTIMIZERS:
        raise OptimizeError(f"--optimize takes one of {', '.join(OPTIMIZERS)}; got {settings.optimizer!r}")
    started = time.monotonic()
    train_articles, val_articles = split_articles(articles, settings.train_size, settings.seed)
    if not train_articles:
        raise OptimizeError("--optimize needs at least one article")
    eval_articles = val_articles or train_articles
    train = to_examples(train_articles, settings.n, settings.seed)
    evalset = to_examples(eval_articles, settings.n, settings.seed)
    if settings.optimizer in ("mipro", "gepa") and not val_articles:
        raise OptimizeError(f"{settings.optimizer} needs held-out articles: give a corpus of more than {settings.train_size} articles")
    metric = ProgramMetric(judge)
    counter = lm_call_counter()
    adapter = adapter or RecoveringChatAdapter()
    with dspy.context(lm=teacher, adapter=adapter, callbacks=[counter]):
        before, errors_before = mean_score(program, evalset, metric)
        compile_calls_from = metric.calls
        optimized = _compile(program, train, evalset, settings, metric, proposer)
        compile_calls = metric.calls - compile_calls_from
        after, errors_after = mean_score(optimized, evalset, metric)
    report = OptimizeReport(
        optimizer=settings.optimizer,
        judge=judge.label,
        train_articles=[a.id for a in train_articles],
        eval_articles=[a.id for a in eval_articles],
        eval_split="validation" if val_articles else "train (corpus too small to hold articles out)",
        metric_before=round(before, 4),
        metric_after=round(after, 4),
        metric_calls=compile_calls,
        max_calls=settings.max_calls,
        lm_calls=counter.calls,
        invalid_judgements=metric.invalid_judgements,
        program_errors=errors_before + errors_after,
        wall_seconds=round(time.monotonic() - started, 3),
    )
    return optimized, report


# --- program files -------------------------------------------------------------------------


def save_program(program: dspy.Module, path: str | Path, about: dict[str, Any]) -> None:
    """Write the program's learnable state (instructions, demos) as JSON, plus `about`.

    LMs never go in: a predictor's own LM (none is set by this project) is dropped, so a
    program file carries no model string, endpoint or key."""
    from dspy.utils.saving import get_dependency_versions

    state = program.dump_state()
    for predictor_state in state.values():
        predictor_state["lm"] = None
    state["metadata"] = {"dependency_versions": get_dependency_versions()}
    state["foveate_dspy"] = about
    path = Path(path)
    if path.suffix != ".json":
        raise OptimizeError(f"{path}: a program file must end in .json")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json_safe.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_program(program: dspy.Module, path: str | Path, method: str) -> dict[str, Any]:
    """Load a saved state into a fresh `program` built from the run's settings; returns `about`.

    The file must come from the same method and cover every predictor of the program (a file
    saved with more levels fits a run with fewer). LM entries in the file are ignored."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OptimizeError(f"{path}: cannot read the program file: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise OptimizeError(f"{path}:{exc.lineno}: not a JSON program file ({exc.msg})") from exc
    if not isinstance(state, dict):
        raise OptimizeError(f"{path}: not a program file (expected a JSON object)")
    about = state.get("foveate_dspy") or {}
    saved_method = about.get("method")
    if saved_method is not None and saved_method != method:
        raise OptimizeError(f"{path}: the program was saved for --method {saved_method}, not {method}")
    names = [name for name, _ in program.named_parameters()]
    missing = [name for name in names if name not in state]
    if missing:
        raise OptimizeError(f"{path}: the program file has no state for {', '.join(missing)}")
    for name in names:
        state[name] = {**state[name], "lm": None}
    program.load_state(state)
    return about


def describe(report: OptimizeReport) -> str:
    """One line for stderr."""
    change = report.metric_after - report.metric_before
    return (
        f"optimised with {report.optimizer}: metric {report.metric_before:.3f} → {report.metric_after:.3f} "
        f"({change:+.3f}) on {len(report.eval_articles)} {report.eval_split.split(' ')[0]} article(s); "
        f"{report.metric_calls}/{report.max_calls} metric calls, {report.lm_calls} LM calls, judge: {report.judge}"
    )


def demo_count(program: dspy.Module) -> int:
    return sum(len(p.demos) for p in program.predictors())

