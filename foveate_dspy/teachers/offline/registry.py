"""Which handler answers which signature, keyed by its input and output field names.

Dispatch never reads the instruction text: teleprompters rewrite it, while the field names are
the signature's identity. Other modules (baseline methods, say) add signatures with
`register_handler`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from foveate_dspy.teachers.offline.workbench import Workbench

CREATIVE_TEMPERATURE = 1.0
"""At or above this temperature the teacher varies its choices (re-synthesis runs at 1.2)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One request, decoded: input values by field name, output field names in order, the
    sampling temperature, and a digest of the full request text that seeds creative choices."""

    inputs: Mapping[str, Any]
    outputs: tuple[str, ...]
    temperature: float | None
    digest: str
    workbench: Workbench

    @property
    def creative(self) -> bool:
        return self.temperature is not None and self.temperature >= CREATIVE_TEMPERATURE

    def choose(self, options: Sequence[T], salt: str, *, avoid_first: bool = True) -> T:
        """Normal mode: the best option (the first). Creative mode: an option picked by a hash
        of the request and `salt`, avoiding the first one when `avoid_first` and others exist,
        so a retry with new demos or feedback writes something new yet reproducible."""
        if not options:
            raise ValueError("no options to choose from")
        if not self.creative:
            return options[0]
        pool = options[1:] if avoid_first and len(options) > 1 else options
        seed = hashlib.sha256(f"{self.digest}:{salt}".encode()).digest()
        return pool[int.from_bytes(seed[:8], "big") % len(pool)]


Handler = Callable[[Call], dict[str, Any]]
"""A handler returns a value for every output field of its signature."""

_HANDLERS: dict[tuple[frozenset[str], frozenset[str]], Handler] = {}


class UnknownSignatureError(LookupError):
    """No handler is registered for a request's field names."""


def register_handler(
    inputs: frozenset[str], outputs: frozenset[str], fn: Handler, *, replace: bool = False
) -> None:
    """Answer requests whose signature has exactly these input and output field names."""
    key = (frozenset(inputs), frozenset(outputs))
    if key in _HANDLERS and not replace and _HANDLERS[key] is not fn:
        raise ValueError(
            f"a handler for inputs {sorted(inputs)} -> outputs {sorted(outputs)} is already "
            "registered; pass replace=True to override it"
        )
    _HANDLERS[key] = fn


REASONING_FIELD = "reasoning"
"""The output dspy.ChainOfThought adds; handlers answer without it and the engine fills it."""


LANGUAGE_FIELD = "language"
"""The input telling the teacher which language to write in; handlers write English templates
(around words copied from the article) whatever it says, so it is optional for every handler."""


def find_handler(inputs: frozenset[str], outputs: frozenset[str]) -> Handler:
    """The handler for these field names; a `reasoning` output (ChainOfThought) is allowed on
    top of any registered signature's outputs, and a `language` input on top of its inputs."""
    key = (frozenset(inputs), frozenset(outputs))
    plain = (key[0], key[1] - {REASONING_FIELD})
    for candidate in (key, plain, (key[0] - {LANGUAGE_FIELD}, key[1]), (plain[0] - {LANGUAGE_FIELD}, plain[1])):
        if candidate in _HANDLERS:
            return _HANDLERS[candidate]
    known = "; ".join(
        f"{sorted(i)} -> {sorted(o)}" for i, o in sorted(_HANDLERS, key=lambda k: sorted(k[0]))
    )
    raise UnknownSignatureError(
        f"the offline teacher has no handler for a signature with inputs {sorted(inputs)} "
        f"and outputs {sorted(outputs)}. Register one with "
        f"foveate_dspy.teachers.offline.register_handler, or use an LLM teacher. Known: {known}"
    )
