"""Shared pieces of the network and limits tests: a scripted teacher behind the loopback server.

The teacher answers the real DSPy client's HTTP requests exactly (it reads the output field
names from the system message and the input fields from the last user message, the way
tests/scripted_lm.py does for in-process engines), so a test controls every reply while the
request still goes through DSPy, lm15 and a real socket.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

from scripted_lm import OUTPUTS_RE, batch_questions, parse_fields

from foveate_dspy.corpus.readers import Article
from loopback import _content_text

ARTICLES = [
    Article(
        f"a{i}",
        f"Alice Moreau{i} founded Acme Rockets in 19{90 + i} in Toulouse. Bob Chen joined the company in 1995 as chief "
        "engineer. Unlike its rivals, Acme built its engines from recycled steel. The first launch failed; however, "
        "the second reached orbit in 1999.",
    )
    for i in range(6)
]
KEYWORDS = ["Acme Rockets", "Toulouse", "Bob Chen", "recycled steel", "1999", "chief engineer"]


def signature_of(messages: list[dict[str, Any]]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """(output field names, parsed input fields of the final user message)."""
    system = _content_text(messages[0]["content"])
    outputs = tuple(re.findall(r"\d+\. `(\w+)`", OUTPUTS_RE.search(system).group(1)))
    return outputs, parse_fields(_content_text(messages[-1]["content"]))


def _keywords_of(article: str) -> list[str]:
    """Keywords that occur in the article (the rules drop any other): the fixed ones of ARTICLES,
    else the article's capitalised words (a SQuAD paragraph)."""
    found = [k for k in KEYWORDS if k in article]
    return found or list(dict.fromkeys(re.findall(r"\b[A-Z][a-z]{3,}\w*", article)))


def teacher_reply(outputs: tuple[str, ...], inputs: dict[str, Any]) -> dict[str, Any]:
    """A teacher that follows the format and whose every item is valid on the first attempt."""
    article = str(inputs.get("article", ""))
    if outputs == ("keywords",):
        return {"keywords": _keywords_of(article)[: max(1, int(inputs["count"]) // 2)]}  # at most n: no embedding needed
    if outputs == ("core_keywords", "major_keywords"):
        return {"core_keywords": list(inputs["keywords"])[:1], "major_keywords": list(inputs["keywords"])[1:2]}
    if outputs == ("key_sentences",):
        contrast = "Unlike its rivals, Acme built its engines from recycled steel."
        sentences = [contrast] if contrast in article else re.split(r"(?<=[.])\s+", article)[:1]
        return {"key_sentences": sentences[: int(inputs["count"])]}
    if outputs == ("questions",):
        # A micro question must not contain its answer (rules.py): it names the detail by position.
        return batch_questions(
            inputs,
            lambda i, x: f"Which detail number {i + 1} does the article give?" if "answers" in inputs else f"What does the article say about {json.dumps(x)}?",
        )
    if outputs == ("question",):
        if "keyword_group" in inputs:  # scatter: a question uses every keyword of its group
            return {"question": f"How does the article connect {json.dumps(inputs['keyword_group'])}?"}
        return {"question": "What does the article say about the launch?"}
    if outputs == ("answerable", "answer"):
        # An answer the article supports (the rules check it): its opening sentence.
        return {"answerable": True, "answer": re.split(r"(?<=[.])\s+", str(inputs["article"]))[0]}
    if outputs == ("answer",):
        return {"answer": inputs["draft_answer"] + " With more detail."}
    raise AssertionError(f"unexpected signature {outputs}")


def format_reply(outputs: tuple[str, ...], values: dict[str, Any]) -> str:
    parts = [f"[[ ## {name} ## ]]\n{json.dumps(values[name]) if isinstance(values[name], list) else values[name]}" for name in outputs]
    return "\n\n".join(parts) + "\n\n[[ ## completed ## ]]"


def scripted_teacher(body: dict[str, Any]) -> str:
    """The loopback responder for the scripted teacher."""
    outputs, inputs = signature_of(body["messages"])
    return format_reply(outputs, teacher_reply(outputs, inputs))


def closed_port_url() -> str:
    """An api_base on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
