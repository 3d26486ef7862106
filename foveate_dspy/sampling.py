"""The paper's two sampling modes (Table 8): normal for first synthesis, high-creativity for
re-synthesis, where a failed item needs the teacher to try something different."""

from __future__ import annotations

from typing import Any

NORMAL: dict[str, Any] = {"temperature": 0.5, "top_p": 1.0, "frequency_penalty": 0.5, "presence_penalty": 0.0}
CREATIVE: dict[str, Any] = {"temperature": 1.2, "top_p": 1.0, "frequency_penalty": 0.5, "presence_penalty": 0.0}


def current_temperature() -> float | None:
    """The temperature of the LM calls are going to, for the attempt log."""
    import dspy

    lm = dspy.settings.lm
    return None if lm is None else lm.kwargs.get("temperature")
