"""Memoise two lookups DSPy 3.4 repeats on every LM call although their answers never change.

Measured with 32 requests in flight against the loopback server (2 cores), before these caches
DSPy spent most of the client's CPU on them:

- **Model metadata.** DSPy looks the model up in LiteLLM's price and capability table to plan the
  request (`capabilities`) and to price the reply (`costs`, up to twice). For a model the table
  names that is a dictionary hit; for one it does not (a local vLLM or Ollama model, the loopback
  server's `openai/loopback`) `model_info` scans all ~2,500 entries each time: about 2 ms a
  lookup, a third of the client's CPU. The table is loaded once per process and never changes
  afterwards, so neither does the answer; callers get a deep copy, as from the original.
- **pydantic TypeAdapters.** The chat adapter builds a new `TypeAdapter(type(value))` for every
  input value it formats and every output it parses (~85 µs each). An adapter depends only on
  its type and is safe to share between threads.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

import dspy.adapters.utils
import dspy.clients.capabilities
import dspy.clients.costs
import pydantic
from dspy.clients import model_metadata

_MODEL_INFO = model_metadata.model_info
_MODEL_INFO_CALLERS = (model_metadata, dspy.clients.capabilities, dspy.clients.costs)  # imported it by name


@functools.lru_cache(maxsize=256)
def _model_info(provider: str | None, model: str | None, namespaces: tuple[str, ...] | None) -> dict[str, Any]:
    return _MODEL_INFO(provider, model, namespaces=namespaces)


def cached_model_info(provider: str | None, model: str | None, *, namespaces: Iterable[str] | None = None) -> dict[str, Any]:
    """`model_metadata.model_info`, answered from a cache after the first lookup of each model."""
    return copy.deepcopy(_model_info(provider, model, tuple(namespaces) if namespaces is not None else None))


@functools.lru_cache(maxsize=512)
def _type_adapter(annotation: Any) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(annotation)


def cached_type_adapter(annotation: Any, *args: Any, **kwargs: Any) -> pydantic.TypeAdapter:
    """`pydantic.TypeAdapter(annotation)`, one per type; options or an unhashable type bypass the cache."""
    if args or kwargs:
        return pydantic.TypeAdapter(annotation, *args, **kwargs)
    try:
        return _type_adapter(annotation)
    except TypeError:  # unhashable annotation (or a type pydantic refuses: it refuses it again here)
        return pydantic.TypeAdapter(annotation)


def install() -> None:
    """Route DSPy's lookups through the caches (idempotent)."""
    for module in _MODEL_INFO_CALLERS:
        module.model_info = cached_model_info
    dspy.adapters.utils.TypeAdapter = cached_type_adapter
