"""The offline teacher's core: chat messages in, adapter-formatted reply text out.

Shared by the DSPy engine and by anything that speaks plain chat messages (the loopback
OpenAI-compatible server). It imports no DSPy: the request is the system text plus the
(role, text) messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from foveate_dspy.teachers.offline import handlers as _builtin_handlers  # noqa: F401  (registers handlers)
from foveate_dspy.teachers.offline.protocol import ParsedRequest, format_reply, parse_request
from foveate_dspy.teachers.offline.registry import REASONING_FIELD, Call, find_handler
from foveate_dspy.teachers.offline.workbench import get_workbench

REASONING_NOTE = "The offline teacher applies fixed rules to the article; it does not reason."
"""What a `reasoning` output (dspy.ChainOfThought) receives: an honest statement, not a story."""


def reply(
    system: str, messages: Sequence[tuple[str, str]], temperature: float | None, embedder: str
) -> tuple[str, ParsedRequest]:
    """The reply text for a request, and the request as parsed.

    Raises `protocol.RequestFormatError` for a request that is not an adapter request and
    `registry.UnknownSignatureError` for a signature without a handler."""
    parsed = parse_request(system, list(messages))
    handler = find_handler(
        frozenset(f.name for f in parsed.inputs), frozenset(f.name for f in parsed.outputs)
    )
    call = Call(
        inputs=parsed.values,
        outputs=tuple(f.name for f in parsed.outputs),
        temperature=temperature,
        digest=parsed.digest(temperature),
        workbench=get_workbench(embedder),
    )
    values = handler(call)
    if REASONING_FIELD in call.outputs and REASONING_FIELD not in values:
        values[REASONING_FIELD] = REASONING_NOTE
    missing = [name for name in call.outputs if name not in values]
    if missing:
        raise RuntimeError(f"offline handler {handler.__name__} returned no value for {missing}")
    return format_reply(parsed.outputs, values, parsed.json_reply), parsed


def respond_to_messages(
    messages: Sequence[Mapping[str, Any]],
    *,
    embedder: str = "minilm",
    temperature: float | None = None,
) -> str:
    """The reply text for OpenAI-style chat messages ({"role", "content"}; content a string or
    a list of {"type": "text", "text": ...} parts). System (or developer) messages form the
    system text; the rest are the conversation."""
    system, conversation = [], []
    for message in messages:
        text = _text(message.get("content"))
        if message.get("role") in ("system", "developer"):
            system.append(text)
        else:
            conversation.append((str(message.get("role", "user")), text))
    return reply("\n".join(system), conversation, temperature, embedder)[0]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)
