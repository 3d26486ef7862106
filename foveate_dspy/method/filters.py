"""Post-hoc filters over accepted items (`--filters noise,length,rouge`).

Three filters from the related work, each optional and each explaining every removal:

- noise (SELF-GUIDE): drop a pair when a curated noise term ("as an AI", an apology, a template
  leftover) occurs in its instruction or answer, or when its answer is a refusal by the project's
  one refusal classifier (`refusal.is_refusal`). The term list is a plain text file users edit.
- rouge (SeDi-Instruct): batch-level diversity. Within one article's batch, an instruction whose
  ROUGE-L F-measure with an instruction already kept exceeds the threshold (0.55, SeDi-Instruct's
  relaxed value) is a near-duplicate and is dropped; the first of two similar instructions stays.
- length (SELF-GUIDE): keep answers whose length lies within mean ± 2 std of the run's accepted
  answers of the same level. It needs the whole run's statistics, so it runs once at the end.

Filters work on `records.Item`s only and hold no files: the runner calls `apply_article` as each
article finishes, before the article is committed to the run store, and `finalize` once the run is
complete, over every item accepted so far (the store re-supplies them on resume). A removed item is marked rejected in place (its last attempt gets the reason
"filtered: <filter>: <why>"), so every writer that files items by `item.accepted` puts it among
the rejected records, with its instruction and answer kept in the attempt history.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from foveate_dspy.corpus.words import word_count
from foveate_dspy.method.items import Item
from foveate_dspy.method.refusal import is_refusal, normalise

log = logging.getLogger(__name__)

FILTERS = ("noise", "rouge", "length")  # the order they run in
ROUGE_THRESHOLD = 0.55
LENGTH_STDS = 2.0
EXAMPLES_IN_REPORT = 20  # removals listed in summary.json


class FilterError(ValueError):
    """A filter option is unusable (unknown name, unreadable noise list); raised before any LM call."""


def parse_filters(text: str) -> tuple[str, ...]:
    """'rouge,noise' → ('noise', 'rouge') in running order; unknown names raise FilterError."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise FilterError(f"--filters takes a comma-separated subset of {','.join(FILTERS)}; got {text!r}")
    return tuple(n for n in FILTERS if n in names)


@dataclass(frozen=True)
class FilterConfig:
    noise_terms: str | None = None  # a noise list file; None = the packaged data/noise_terms.txt
    rouge_threshold: float = ROUGE_THRESHOLD
    length_stds: float = LENGTH_STDS


@dataclass
class Removal:
    """One item a filter took out, and why."""

    item: Item
    filter: str
    why: str

    @property
    def reason(self) -> str:
        return f"filtered: {self.filter}: {self.why}"

    def summary(self) -> dict[str, str]:
        return {"id": self.item.id, "level": self.item.level, "filter": self.filter, "why": self.why}


# --- noise ---------------------------------------------------------------------------------


SECTIONS = {"[anywhere]": "anywhere", "[answers]": "answers"}


@dataclass(frozen=True)
class NoiseTerms:
    anywhere: tuple[str, ...]  # searched in instructions and answers
    answers: tuple[str, ...] = ()  # searched in answers only


def read_noise_terms(path: str | Path | None = None) -> NoiseTerms:
    """The noise terms of `path` (or the packaged list): one per line, '#' starts a comment line,
    `[anywhere]` and `[answers]` lines start the sections (see data/noise_terms.txt)."""
    where = path or "the packaged noise list"
    try:
        if path is None:
            text = resources.files("foveate_dspy").joinpath("data/noise_terms.txt").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FilterError(f"{where}: cannot read the noise term list: {getattr(exc, 'strerror', None) or exc}") from exc
    terms: dict[str, list[str]] = {"anywhere": [], "answers": []}
    section = "anywhere"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.lower() in SECTIONS:
            section = SECTIONS[stripped.lower()]
            continue
        terms[section].append(normalise(stripped))
    if not terms["anywhere"] and not terms["answers"]:
        raise FilterError(f"{where}: no noise terms in the file")
    return NoiseTerms(tuple(dict.fromkeys(terms["anywhere"])), tuple(dict.fromkeys(terms["answers"])))


def _term_pattern(term: str) -> re.Pattern[str]:
    # Whole-word matching only at edges that are word characters: "as an ai" must not match
    # "as an aid", while "{{" must still match inside "{{name}}".
    head = r"(?<!\w)" if re.match(r"\w", term) else ""
    tail = r"(?!\w)" if re.search(r"\w$", term) else ""
    return re.compile(head + re.escape(term) + tail)


class NoiseFilter:
    def __init__(self, terms: NoiseTerms) -> None:
        self.terms = terms
        self.anywhere = [(term, _term_pattern(term)) for term in terms.anywhere]
        self.answers_only = [(term, _term_pattern(term)) for term in terms.answers]

    def why(self, instruction: str, output: str) -> str | None:
        """Which noise term the pair contains, and where, or that the answer is a refusal; None
        when it is clean. Only answers are classified: the classifier reads answers, and a
        question such as "What does the passage not say about X?" is no refusal."""
        for side, text, patterns in (
            ("instruction", instruction, self.anywhere),
            ("answer", output, self.anywhere + self.answers_only),
        ):
            flat = normalise(text)
            for term, pattern in patterns:
                if pattern.search(flat):
                    return f"the {side} contains the noise term {term!r}"
        if is_refusal(output):
            return "the answer is a refusal"
        return None


# --- rouge ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits.

    The same as the `rouge-score` package's default tokenizer on ASCII text, but Unicode-aware:
    that tokenizer deletes every non-ASCII letter, so two Greek or Chinese instructions would
    share no tokens and never count as near-duplicates."""
    return _TOKEN.findall(text.lower())


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F-measure (β = 1) of two texts: 2PR/(P+R) over their longest common token
    subsequence, as Self-Instruct and SeDi-Instruct compute it with `rouge-score`."""
    a, b = rouge_tokens(candidate), rouge_tokens(reference)
    if not a or not b:
        return 0.0
    lcs = _lcs_length(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


class RougeFilter:
    def __init__(self, threshold: float = ROUGE_THRESHOLD) -> None:
        self.threshold = threshold

    def near_duplicates(self, items: Sequence[Item]) -> list[tuple[Item, str]]:
        """Items whose instruction is too close to one kept earlier in the same batch."""
        kept: list[Item] = []
        dropped = []
        for item in items:
            instruction = item.accepted.instruction
            best, match = 0.0, None
            for other in kept:
                score = rouge_l(instruction, other.accepted.instruction)
                if score > best:
                    best, match = score, other
            if match is not None and best > self.threshold:
                dropped.append((item, f"ROUGE-L {best:.3f} > {self.threshold:g} with {match.id}"))
            else:
                kept.append(item)
        return dropped


# --- length --------------------------------------------------------------------------------


def answer_length(item: Item) -> int:
    """Answer length in words (corpus.words, as the rules and chunking count them: a Chinese
    answer has words too): cheap, tokenizer-free and readable in reports."""
    return word_count(item.accepted.output)


def length_outliers(items: Sequence[Item], stds: float = LENGTH_STDS) -> list[tuple[Item, str]]:
    """Items whose answer length lies outside mean ± `stds` population standard deviations of
    the answers of the same level. A level with fewer than two items keeps all of them."""
    by_level: dict[str, list[Item]] = {}
    for item in items:
        by_level.setdefault(item.level, []).append(item)
    dropped = []
    for level, group in by_level.items():
        if len(group) < 2:
            continue
        lengths = [answer_length(item) for item in group]
        mean = sum(lengths) / len(lengths)
        std = math.sqrt(sum((x - mean) ** 2 for x in lengths) / len(lengths))
        low, high = mean - stds * std, mean + stds * std
        for item, length in zip(group, lengths):
            if length < low or length > high:
                dropped.append(
                    (item, f"answer of {length} words outside {max(low, 0):.1f}–{high:.1f} ({level}: mean {mean:.1f} ± {stds:g}·{std:.1f})")
                )
    return dropped


# --- the chain -----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _noise_filter(path: str | None) -> NoiseFilter:
    return NoiseFilter(read_noise_terms(path))


@dataclass
class FilterChain:
    """The filters chosen for a run, and the record of what they removed."""

    names: tuple[str, ...]
    config: FilterConfig = field(default_factory=FilterConfig)
    removed: list[Removal] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = parse_filters(",".join(self.names))
        # Read the noise list now, so a bad path fails before the first LM call.
        self.noise = _noise_filter(self.config.noise_terms) if "noise" in self.names else None
        self.rouge = RougeFilter(self.config.rouge_threshold) if "rouge" in self.names else None

    def apply_article(self, items: Iterable[Item]) -> tuple[list[Item], list[Removal]]:
        """Run the per-article filters (noise, then rouge) over one article's items.

        Returns (accepted items kept, removals); removed items are marked rejected in place.
        Items that were already rejected are left alone."""
        kept = [item for item in items if item.accepted is not None]
        removals: list[Removal] = []
        if self.noise is not None:
            clean = []
            for item in kept:
                why = self.noise.why(item.accepted.instruction, item.accepted.output)
                if why is None:
                    clean.append(item)
                else:
                    removals.append(Removal(item, "noise", why))
            kept = clean
        if self.rouge is not None:
            duplicates = self.rouge.near_duplicates(kept)
            gone = {id(item) for item, _ in duplicates}
            removals.extend(Removal(item, "rouge", why) for item, why in duplicates)
            kept = [item for item in kept if id(item) not in gone]
        self._commit(removals)
        return kept, removals

    def finalize(self, accepted: Iterable[Item]) -> list[Removal]:
        """Run the whole-run filter (length) over every accepted item of the run."""
        if "length" not in self.names:
            return []
        items = [item for item in accepted if item.accepted is not None]
        removals = [Removal(item, "length", why) for item, why in length_outliers(items, self.config.length_stds)]
        self._commit(removals)
        return removals

    def _commit(self, removals: list[Removal]) -> None:
        for removal in removals:
            log.info("%s removed %s: %s", removal.filter, removal.item.id, removal.why)
            removal.item.attempts[-1].rejection = removal.reason
        self.removed.extend(removals)

    def report(self) -> dict[str, Any]:
        """The summary.json section of the removals this chain made (see `filter_report`)."""
        return filter_report(self.names, self.config, ((r.item.id, r.item.level, r.filter, r.why) for r in self.removed))


def filter_report(names: Iterable[str], config: FilterConfig, removals: Iterable[tuple[str, str, str, str]]) -> dict[str, Any]:
    """The summary.json section: settings, counts per filter and level, and the first examples.
    `removals` are (item id, level, filter name, why) in the order they were made."""
    names = list(names)
    counts: dict[str, Counter[str]] = {name: Counter() for name in names}
    examples = []
    for item_id, level, name, why in removals:
        counts.setdefault(name, Counter())[level] += 1
        if len(examples) < EXAMPLES_IN_REPORT:
            examples.append({"id": item_id, "level": level, "filter": name, "why": why})
    return {
        "filters": names,
        "noise_terms": config.noise_terms or "packaged",
        "rouge_threshold": config.rouge_threshold,
        "length_stds": config.length_stds,
        "removed": sum(sum(c.values()) for c in counts.values()),
        "removed_per_filter": {name: sum(c.values()) for name, c in counts.items()},
        "removed_per_filter_and_level": {name: dict(c) for name, c in counts.items()},
        "examples": examples,
    }
