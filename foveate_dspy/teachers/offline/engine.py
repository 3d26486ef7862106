"""The offline teacher as a DSPy LM engine: requests in, adapter-formatted replies out.

Plugged in with `dspy.LM(..., engine=OfflineEngine(), async_engine=AsyncOfflineEngine(...))`
(see `offline_lm`), the whole program runs for real: adapters format prompts, parse replies,
count usage and raise parse errors exactly as they would for a hosted model.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dspy
from dspy.clients.engines.base import validate_request
from dspy.lm15 import (
    InvalidRequestError,
    Message,
    Request,
    Response,
    TextPart,
    Usage,
    response_to_events,
)

from foveate_dspy.teachers.offline.protocol import RequestFormatError, count_tokens
from foveate_dspy.teachers.offline.registry import UnknownSignatureError
from foveate_dspy.teachers.offline.respond import reply

DEFAULT_MODEL = "offline/teacher"


class OfflineEngine:
    """Synchronous engine: parse the adapter request, dispatch on the signature's field names,
    format the handler's values as the adapter expects, and report word-piece token usage."""

    def __init__(self, embedder: str = "minilm") -> None:
        self.embedder = embedder

    def complete(self, request: Request) -> Response:
        validate_request(request)
        system = (
            request.system
            if isinstance(request.system, str)
            else "".join(getattr(part, "text", "") or "" for part in (request.system or ()))
        )
        messages = [(m.role, m.text or "") for m in request.messages]
        try:
            text, parsed = reply(system, messages, request.config.temperature, self.embedder)
        except (RequestFormatError, UnknownSignatureError) as exc:
            raise InvalidRequestError(str(exc), provider="offline") from exc
        input_tokens, output_tokens = count_tokens(parsed.text), count_tokens(text)
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=Usage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
            ),
        )

    def stream(self, request: Request):
        return response_to_events(self.complete(request))

    def close(self) -> None:
        """Nothing to release: caches are process-wide and bounded."""

    def dump_state(self) -> dict[str, Any]:
        return {"embedder": self.embedder}

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> OfflineEngine:
        return cls(embedder=state.get("embedder", "minilm"))


class AsyncOfflineEngine:
    """Async engine: runs the (CPU-bound) synchronous engine in a worker thread so the event
    loop stays free while a request is being answered."""

    def __init__(self, sync: OfflineEngine) -> None:
        self.sync = sync

    async def complete(self, request: Request) -> Response:
        return await asyncio.to_thread(self.sync.complete, request)

    async def stream(self, request: Request):
        response = await self.complete(request)
        for event in response_to_events(response):
            yield event

    async def aclose(self) -> None:
        """Nothing to release."""

    def dump_state(self) -> dict[str, Any]:
        return self.sync.dump_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> AsyncOfflineEngine:
        return cls(OfflineEngine.load_state(state))


def offline_lm(
    model: str = DEFAULT_MODEL, embedder: str = "minilm", temperature: float = 0.5, **sampling: Any
) -> dspy.LM:
    """A dspy.LM backed by the offline teacher. `sampling` (top_p, frequency_penalty, ...) is
    recorded on the LM like any provider's; only temperature changes the teacher's behaviour.
    The LM cache is off: the engine is deterministic and cheap, and DSPy's cache would hide
    its token usage."""
    engine = OfflineEngine(embedder=embedder)
    return dspy.LM(
        model,
        engine=engine,
        async_engine=AsyncOfflineEngine(engine),
        cache=False,
        temperature=temperature,
        **sampling,
    )
