"""The paper's two sampling modes (Table 8): normal for first synthesis, high-creativity for
re-synthesis, where a failed item needs the teacher to try something different."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

NORMAL: dict[str, Any] = {"temperature": 0.5, "top_p": 1.0, "frequency_penalty": 0.5, "presence_penalty": 0.0}
CREATIVE: dict[str, Any] = {"temperature": 1.2, "top_p": 1.0, "frequency_penalty": 0.5, "presence_penalty": 0.0}


# Re-synthesis's per-call settings, adapted to the model that serves them (set by the runner from
# --sampling and the teacher; teacher_settings.per_call). None: the paper's CREATIVE as is.
CREATIVE_CONFIG: ContextVar[dict[str, Any] | None] = ContextVar("foveate_creative_config", default=None)


def creative_config() -> dict[str, Any]:
    config = CREATIVE_CONFIG.get()
    return dict(CREATIVE if config is None else config)


def current_temperature() -> float | None:
    """The temperature of the LM calls are going to, for the attempt log."""
    import dspy

    lm = dspy.settings.lm
    return None if lm is None else lm.kwargs.get("temperature")
