"""foveate_dspy: Self-Foveate instruction synthesis as a DSPy program.

Heavy modules (dspy, sentence-transformers, torch) are imported by the submodules that need them,
so `python -m foveate_dspy.compile --help` answers at once. The library API (`foveate_dspy.api`:
generate, agenerate, compile_corpus, self_foveate, baseline, make_program, teacher_lm) and the
program classes are importable from here too, loaded on first use for the same reason.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "generate": "foveate_dspy.api",
    "agenerate": "foveate_dspy.api",
    "compile_corpus": "foveate_dspy.api",
    "self_foveate": "foveate_dspy.api",
    "baseline": "foveate_dspy.api",
    "make_program": "foveate_dspy.api",
    "teacher_lm": "foveate_dspy.api",
    "SelfFoveate": "foveate_dspy.method.program",
    "SelfQA": "foveate_dspy.baselines.self_qa",
    "Wiki2023": "foveate_dspy.baselines.wiki2023",
    "RunSettings": "foveate_dspy.runtime.runner",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'foveate_dspy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
