"""Choosing how a run asks the teacher for structured output, with one probe at its start.

`--output-mode auto` (the default) sends each signature's JSON schema for constrained decoding
when the server honours it, in the request form that server accepts, and the chat format
otherwise. Whether a server honours a schema cannot be read from a table (LiteLLM's does not know
local servers, and a server may accept the field and ignore it), so it is tried: one small request
whose schema forces a value no model would write unprompted. If the reply holds that value, the
schema was enforced. The OpenAI form is tried first (OpenAI, vLLM, SGLang, Ollama, llama.cpp's
llama-server), then llama-cpp-python's. `schema`, `json` and `chat` force a mode; `schema` still
probes, to pick the form, and fails the run before any article if no form is honoured.

The offline teacher reads and writes the chat format itself: it always runs in chat mode.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foveate_dspy.teachers.adapters import SCHEMA_FORMS

OUTPUT_MODES = ("auto", "schema", "json", "chat")
_PROBE_VALUE = "kestrel-7341"
_PROBE_SCHEMA = {
    "type": "object",
    "properties": {"probe": {"type": "string", "enum": [_PROBE_VALUE]}},
    "required": ["probe"],
    "additionalProperties": False,
}
_PROBE_PROMPT = "Reply with a JSON object that has one field."


ProbeRecorder = Callable[[dict[str, dict[str, Any]], bool], None]
"""Told about each probe request: its usage per model (DSPy's tracker) and whether it failed."""


class OutputModeError(RuntimeError):
    """`--output-mode schema` was asked for and the server honours no schema form."""


@dataclass
class OutputMode:
    requested: str
    mode: str  # schema, json or chat
    form: str | None = None  # for schema mode: one of adapters.SCHEMA_FORMS
    probe: list[dict[str, Any]] = field(default_factory=list)  # what each probe request showed
    fallback: str | None = None  # why auto mode ended up in chat mode

    def as_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "mode": self.mode, "form": self.form, "probe": self.probe, "fallback": self.fallback}


def _schema_format(form: str) -> dict[str, Any]:
    if form == "openai":
        return {"type": "json_schema", "json_schema": {"name": "probe", "schema": _PROBE_SCHEMA, "strict": True}}
    return {"type": "json_object", "schema": _PROBE_SCHEMA}


def _honoured(text: str) -> bool:
    try:
        value = json.loads(text.strip(), strict=False)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("probe") == _PROBE_VALUE


def probe_form(
    lm: Any,
    form: str,
    on_request: ProbeRecorder | None = None,
    timeout: float | None = None,
    admit: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Send one probe request in `form`; what came back and whether the schema held.
    `on_request(usage_by_model, failed)` is told about the request, for the run's ledger."""
    import dspy

    if admit is not None:
        admit()  # the run's call limit counts the probe like any request (may raise calls.RunStopped)
    options: dict[str, Any] = {"response_format": _schema_format(form), "max_tokens": 32, "temperature": 0.0}
    if timeout is not None:
        options["timeout"] = timeout
    with dspy.track_usage() as tracker:
        try:
            outputs = lm(_PROBE_PROMPT, **options)
        except Exception as exc:  # the server refused the field, or the request failed: not honoured
            if on_request is not None:
                on_request(tracker.get_total_tokens(), True)
            return {"form": form, "honoured": False, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
    if on_request is not None:
        on_request(tracker.get_total_tokens(), False)
    first = outputs[0] if outputs else ""
    text = first.get("text", "") if isinstance(first, dict) else str(first)
    return {"form": form, "honoured": _honoured(text), "reply": text[:120]}


def resolve(
    requested: str,
    lm: Any,
    offline: bool,
    on_request: ProbeRecorder | None = None,
    timeout: float | None = None,
    admit: Callable[[], None] | None = None,
) -> OutputMode:
    """Settle `requested` (one of OUTPUT_MODES) into the mode the run will use; each probe
    request gives up after `timeout` seconds (the run's --request-timeout)."""
    if requested not in OUTPUT_MODES:
        raise ValueError(f"--output-mode takes one of {', '.join(OUTPUT_MODES)}, got {requested!r}")
    if offline:
        return OutputMode(requested, "chat", fallback=None if requested in ("auto", "chat") else "the offline teacher writes the chat format")
    if requested in ("chat", "json"):
        return OutputMode(requested, requested)
    probes = []
    for form in SCHEMA_FORMS:
        result = probe_form(lm, form, on_request, timeout, admit)
        probes.append(result)
        if result["honoured"]:
            return OutputMode(requested, "schema", form, probes)
    why = "the server did not enforce a JSON schema in either request form"
    if requested == "schema":
        details = "; ".join(f"{p['form']}: {p.get('error') or repr(p.get('reply', ''))}" for p in probes)
        raise OutputModeError(f"--output-mode schema: {why} ({details}); use --output-mode auto, json or chat")
    return OutputMode(requested, "chat", None, probes, fallback=why)


class JudgeAdapter:
    """The adapter for a judge LM: its JSON schema when a probe shows the server enforces it (a
    small local judge then always answers inside the choices), else the forgiving chat format.

    Settled on the first `get()` (judges run in thread pools, hence the lock), so that building a
    judge sends nothing."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self._adapter: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        from foveate_dspy.teachers.adapters import build_adapter

        with self._lock:
            if self._adapter is None:
                # Only an LM that DSPy sends over HTTP can be probed; a custom engine (the offline
                # teacher, a test's scripted one) or a DummyLM answers in the chat format.
                served = isinstance(getattr(self.lm, "engine", None), str)
                chosen = resolve("auto", self.lm, offline=not served)
                self._adapter = build_adapter(chosen.mode, chosen.form)
            return self._adapter
