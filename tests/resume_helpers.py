"""Shared pieces of the store, resume and export tests: a deterministic scripted teacher, small
corpora, and helpers to run the real runner in-process and read what it wrote.

The scripted teacher's replies depend only on the request's inputs, like a temperature-0
teacher, so two runs of the same settings must produce identical records however the work was
interrupted: that is what the resume tests compare.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripted_lm import batch_questions, scripted_lm

from foveate_dspy.corpus.readers import Article
from foveate_dspy.corpus.text import is_stopword
from foveate_dspy.runtime.runner import RunSettings, run

SENTENCES = [
    "Alice Moreau founded Acme Rockets in {year} in Toulouse.",
    "Bob Chen joined the company as chief engineer two years later.",
    "Unlike its rivals, Acme built its engines from recycled steel.",
    "The first launch failed; however, the second reached orbit.",
    "Critics called the {name} project a gamble that paid off.",
]


def make_articles(count: int, extra: str = "") -> list[Article]:
    return [
        Article(
            f"art-{i}",
            " ".join(s.format(year=1990 + i, name=f"Falcon{i}") for s in SENTENCES) + (f" {extra}" if extra else ""),
            source={"file": "memory", "line": i + 1},
        )
        for i in range(count)
    ]


def _capitalised(text: str) -> list[str]:
    """Capitalised words, then the other words, function words ("The", "In") left out as a
    teacher would."""
    seen: dict[str, None] = {}
    for word in [*re.findall(r"\b[A-Z][\w]+", text), *re.findall(r"\b[a-z]\w{3,}", text)]:
        if not is_stopword(word):
            seen.setdefault(word)
    return list(seen)


def reply(outputs: tuple[str, ...], inputs: dict[str, Any]) -> dict[str, Any]:
    """A valid reply for every Self-Foveate signature, from the inputs alone."""
    article = str(inputs.get("article", ""))
    if outputs == ("keywords",):
        # At most n keywords (count is 2n for micro): micro then needs no embedding model.
        return {"keywords": _capitalised(article)[: max(1, int(inputs["count"]) // 2)]}
    if outputs == ("core_keywords", "major_keywords"):
        return {"core_keywords": list(inputs["keywords"])[:1], "major_keywords": list(inputs["keywords"])[1:2]}
    if outputs == ("key_sentences",):
        # Whole sentences of the article (a clause cut at ";" would be a fragment: rules.py).
        return {"key_sentences": re.split(r"(?<=[.])\s+", article)[: int(inputs["count"])]}
    if outputs == ("questions",):
        # A micro question must not contain its answer (rules.py): it names the detail by position.
        return batch_questions(
            inputs,
            lambda i, x: f"Which detail number {i + 1} does the article give?" if "answers" in inputs else f"What does the article say about {json.dumps(x)}?",
        )
    if outputs == ("question",):
        if "target_answer" in inputs:
            return {"question": "Which other detail does the article give?"}
        return {"question": f"What else does the article say about {json.dumps(inputs.get('keyword_group') or inputs.get('key_sentence'))}?"}
    if outputs == ("answerable", "answer"):
        # An answer the article supports (rules.py): its first sentence the question does not quote.
        sentences = re.split(r"(?<=[.])\s+", article)
        quoted = [x for x in sentences if json.dumps(x)[1:-1] in str(inputs["instruction"])]
        return {"answerable": True, "answer": next((x for x in sentences if x not in quoted), sentences[0])}
    if outputs == ("answer",):
        return {"answer": str(inputs["draft_answer"]) + " It says so plainly."}
    raise AssertionError(f"unexpected signature {outputs}")


@dataclass
class Teacher:
    """The scripted teacher plus switches: `fail_when(inputs)` makes a call raise (a provider
    outage for matching requests), `before(inputs)` runs before each reply (a test's hook)."""

    fail_when: Callable[[dict[str, Any]], bool] | None = None
    before: Callable[[dict[str, Any]], None] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def respond(self, outputs, inputs, call):
        self.calls.append({"outputs": outputs, "inputs": inputs, "system": call.system})
        if self.before is not None:
            self.before(inputs)
        if self.fail_when is not None and self.fail_when(inputs):
            raise ConnectionError("provider unreachable (scripted outage)")
        return reply(outputs, inputs)

    def lm(self):
        return scripted_lm(self.respond)[0]


def settings(**overrides: Any) -> RunSettings:
    base = dict(teacher="scripted/teacher", n_per_level=2, max_retries=1, max_concurrency=4)
    base.update(overrides)
    return RunSettings(**base)


def compile_run(articles: list[Article], out: Path, teacher: Teacher | None = None, **overrides: Any) -> dict[str, Any]:
    """runner.run in-process with the scripted teacher; returns the summary."""
    force_new = overrides.pop("force_new", False)
    teacher = teacher or Teacher()
    return run(articles, out, settings(**overrides), progress=False, force_new=force_new, teacher_lm=teacher.lm(), log=lambda _m: None)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def comparable(records: list[dict[str, Any]]) -> list[str]:
    """Records as sorted canonical strings: equal lists mean the same records, no duplicates."""
    return sorted(json.dumps(r, sort_keys=True) for r in records)


def store_rows(run_dir: Path, query: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True)) as db:
        return db.execute(query).fetchall()


def http_reply(body: dict[str, Any]) -> str:
    """The scripted teacher behind the loopback HTTP server: the same replies, in ChatAdapter text."""
    from scripted_lm import OUTPUTS_RE, parse_fields

    from loopback import _content_text

    messages = body["messages"]  # the loopback server hands responders the whole request body

    system = _content_text(messages[0]["content"])
    outputs = tuple(re.findall(r"\d+\. `(\w+)`", OUTPUTS_RE.search(system).group(1)))
    values = reply(outputs, parse_fields(_content_text(messages[-1]["content"])))
    parts = [f"[[ ## {name} ## ]]\n{json.dumps(values[name]) if isinstance(values[name], list) else values[name]}" for name in outputs]
    return "\n\n".join(parts) + "\n\n[[ ## completed ## ]]"
