"""A scripted LM for exact-behaviour tests: a Python function answers each signature.

The function receives the output field names, the parsed input fields of the final user message,
the request (for temperature and demos) and returns a dict of output values. Every request is
recorded so tests can inspect temperatures, demos and feedback.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

FIELD_RE = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", re.S)
OUTPUTS_RE = re.compile(r"Your output fields are:\n(.*?)\nAll interactions", re.S)


def parse_fields(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, raw in FIELD_RE.findall(text):
        raw = raw.split("\n\nRespond with")[0].strip()
        try:
            fields[name] = json.loads(raw)
        except json.JSONDecodeError:
            fields[name] = raw
    return fields


ECHO_FIELDS = {"answers": "answer", "keyword_groups": "keywords", "key_sentences": "key_sentence"}
"""The batch-synthesis input that lists the features, and the entry field that copies one."""


def batch_questions(inputs: dict[str, Any], write: Callable[[int, Any], str]) -> dict[str, Any]:
    """A batch synthesis reply: one entry per feature, copying it (as the signatures ask) beside
    the question `write(position, feature)` makes."""
    key = next(k for k in ECHO_FIELDS if k in inputs)
    return {"questions": [{ECHO_FIELDS[key]: x, "question": write(i, x)} for i, x in enumerate(inputs[key])]}


@dataclass
class Call:
    outputs: tuple[str, ...]
    inputs: dict[str, Any]
    temperature: float | None
    demo_messages: int
    system: str


@dataclass
class ScriptedEngine:
    respond: Callable[[tuple[str, ...], dict[str, Any], Call], dict[str, Any] | str]
    calls: list[Call] = field(default_factory=list)

    def complete(self, request):
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        outputs = tuple(re.findall(r"\d+\. `(\w+)`", OUTPUTS_RE.search(system).group(1)))
        inputs = parse_fields(request.messages[-1].text)
        call = Call(outputs, inputs, request.config.temperature, len(request.messages) - 1, system)
        self.calls.append(call)
        reply = self.respond(outputs, inputs, call)
        if isinstance(reply, dict):
            parts = []
            for name in outputs:
                value = reply[name]
                parts.append(f"[[ ## {name} ## ]]\n{json.dumps(value) if isinstance(value, list) else value}")
            text = "\n\n".join(parts) + "\n\n[[ ## completed ## ]]"
        else:
            text = reply
        return Response(
            id=None,
            model="scripted",
            message=Message.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=Usage(input_tokens=len(system.split()), output_tokens=len(text.split()), total_tokens=0),
        )

    def close(self) -> None:
        pass


class AsyncScriptedEngine:
    def __init__(self, sync: ScriptedEngine) -> None:
        self.sync = sync

    async def complete(self, request):
        await asyncio.sleep(0)
        return self.sync.complete(request)

    async def aclose(self) -> None:
        pass


def scripted_lm(respond) -> tuple[dspy.LM, ScriptedEngine]:
    engine = ScriptedEngine(respond)
    return dspy.LM("scripted/teacher", engine=engine, async_engine=AsyncScriptedEngine(engine), cache=False, temperature=0.5), engine
