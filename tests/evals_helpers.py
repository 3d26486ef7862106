"""Shared helpers for the evals tests: JSONL writers and a scripted LM engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def instruction_rows(method: str, articles: dict[str, list[str]], *, level: str = "micro",
                     output: str = "An answer.") -> list[dict[str, Any]]:
    """Instruction records in the compile format for {article_id: [instruction, ...]}."""
    return [
        {"id": f"{method}-{article_id}-{i}", "article_id": article_id, "level": level, "feature": "f",
         "instruction": text, "output": output, "attempts": 1, "teacher": "t", "method": method}
        for article_id, texts in articles.items()
        for i, text in enumerate(texts)
    ]


def chat_reply(**fields: str) -> str:
    """A reply in DSPy's ChatAdapter format."""
    return "".join(f"[[ ## {name} ## ]]\n{value}\n\n" for name, value in fields.items()) + "[[ ## completed ## ]]"


class ScriptedEngine:
    """A dspy.LM engine whose reply is computed from the request by ``respond``.

    ``respond`` gets the user message text and returns the reply text, or raises to simulate a
    failed call. Requests are recorded (thread-safely) for assertions about sampling settings.
    """

    def __init__(self, respond: Callable[[str], str]):
        self.respond = respond
        self.requests: list[Any] = []
        self._lock = threading.Lock()

    def complete(self, request: Any) -> Any:
        import dspy

        with self._lock:
            self.requests.append(request)
        user_text = "".join(part.text for message in request.messages for part in message.parts)
        text = self.respond(user_text)
        return dspy.lm15.Response(
            id=None, model="scripted", message=dspy.lm15.Message.assistant([dspy.lm15.TextPart(text)]),
            finish_reason="stop", usage=dspy.lm15.Usage(input_tokens=0, output_tokens=0, total_tokens=0),
        )

    def close(self) -> None:
        pass


class _NoAsync:
    async def complete(self, request: Any) -> Any:
        raise AssertionError("the evals call judges synchronously")

    async def aclose(self) -> None:
        pass


def scripted_lm(respond: Callable[[str], str], **kwargs: Any) -> tuple[Any, ScriptedEngine]:
    import dspy

    engine = ScriptedEngine(respond)
    return dspy.LM("offline/scripted", engine=engine, async_engine=_NoAsync(), cache=False, **kwargs), engine


def fake_embedder(texts: Sequence[str]) -> np.ndarray:
    """Deterministic bag-of-characters vectors: a stand-in model for orchestration tests."""
    vectors = np.zeros((len(texts), 64))
    for row, text in enumerate(texts):
        for char in text.lower():
            vectors[row, ord(char) % 64] += 1.0
    return vectors
