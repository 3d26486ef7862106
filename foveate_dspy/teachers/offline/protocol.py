"""Reading DSPy adapter requests and writing replies in the adapter's format.

ChatAdapter (and JSONAdapter) put the signature in the system message ("Your input fields
are: 1. `article` (str): ...", then the output fields) and the inputs in the last user message
as "[[ ## field ## ]]" blocks, lists as JSON. Earlier user/assistant pairs are few-shot demos;
only the last user message is the question. The reply repeats the block format for the outputs
and ends with "[[ ## completed ## ]]" (or is one JSON object for JSONAdapter).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

_FIELD_LINE = re.compile(r"^\s*\d+\.\s+`(?P<name>[^`]+)`\s+\((?P<type>.*?)\):", re.MULTILINE)
_INPUTS_HEADER = "Your input fields are:"
_OUTPUTS_HEADER = "Your output fields are:"
_OUTPUTS_END = re.compile(r"^All interactions will be structured", re.MULTILINE)
_CLOSING_PROMPT = re.compile(
    r"\n\s*Respond with (?:the corresponding output fields|a JSON object).*\Z", re.DOTALL
)
_JSON_REPLY = ("Outputs will be a JSON object", "Respond with a JSON object")
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Field:
    name: str
    type: str


@dataclass(frozen=True)
class ParsedRequest:
    """A request as the offline teacher sees it."""

    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    values: dict[str, Any]
    json_reply: bool
    text: str
    """The whole request (system, every message) as one string: hashed and token-counted."""

    def digest(self, temperature: float | None) -> str:
        material = f"{self.text}\n\x00temperature={temperature!r}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()


class RequestFormatError(ValueError):
    """The request is not in a format the offline teacher reads."""


def parse_request(system: str, messages: list[tuple[str, str]]) -> ParsedRequest:
    """Field names and types from `system`; input values from the last user message."""
    inputs = _fields(system, _INPUTS_HEADER, _OUTPUTS_HEADER)
    outputs = _fields(system, _OUTPUTS_HEADER, None)
    if not inputs or not outputs:
        raise RequestFormatError(
            "the offline teacher reads DSPy ChatAdapter or JSONAdapter requests: the system "
            "message must list 'Your input fields are:' and 'Your output fields are:'"
        )
    users = [text for role, text in messages if role == "user"]
    if not users:
        raise RequestFormatError("the request has no user message holding the inputs")
    raw = _blocks(users[-1], [f.name for f in inputs])
    values = {f.name: decode_value(raw.get(f.name, ""), f.type) for f in inputs}
    whole = "\n".join([system, *(f"{role}: {text}" for role, text in messages)])
    json_reply = any(marker in system or marker in users[-1] for marker in _JSON_REPLY)
    return ParsedRequest(inputs, outputs, values, json_reply, whole)


def _fields(system: str, header: str, until: str | None) -> tuple[Field, ...]:
    start = system.find(header)
    if start < 0:
        return ()
    start += len(header)
    if until is not None:
        stop = system.find(until, start)
    else:
        match = _OUTPUTS_END.search(system, start)
        stop = match.start() if match else -1
    section = system[start : stop if stop >= 0 else len(system)]
    return tuple(
        Field(m.group("name"), m.group("type").strip()) for m in _FIELD_LINE.finditer(section)
    )


def _blocks(message: str, names: list[str]) -> dict[str, str]:
    """Split "[[ ## name ## ]]\\nvalue" blocks of the known input names."""
    message = _CLOSING_PROMPT.sub("", message)
    marker = re.compile(r"\[\[ ## (" + "|".join(re.escape(n) for n in names) + r") ## \]\]\n?")
    found: dict[str, str] = {}
    matches = list(marker.finditer(message))
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        end = following.start() if following else len(message)
        found.setdefault(match.group(1), message[match.end() : end].strip())
    return found


def decode_value(raw: str, type_name: str) -> Any:
    """Turn a formatted input back into a value: JSON for lists and dicts, int/float/bool by
    type, the raw text otherwise."""
    base = type_name.split("[", 1)[0].strip().lower()
    if base in ("list", "dict", "tuple", "set"):
        # JSON only: adapters write containers as JSON, and ast.literal_eval is not safe in the
        # worker threads the async engine uses (CPython 3.11 raises "AST constructor recursion
        # depth mismatch" when two threads parse at once). Anything else stays text.
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if base == "int":
        try:
            return int(raw.strip())
        except ValueError:
            return raw
    if base == "float":
        try:
            return float(raw.strip())
        except ValueError:
            return raw
    if base == "bool":
        return raw.strip().lower() in ("true", "yes", "1")
    return raw


def format_reply(outputs: tuple[Field, ...], values: dict[str, Any], json_reply: bool) -> str:
    """The reply text: ChatAdapter blocks ending in [[ ## completed ## ]], or one JSON object."""
    if json_reply:
        return json.dumps({f.name: values[f.name] for f in outputs}, ensure_ascii=False)
    blocks = [f"[[ ## {f.name} ## ]]\n{encode_value(values[f.name])}" for f in outputs]
    return "\n\n".join([*blocks, "[[ ## completed ## ]]"])


def encode_value(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def count_tokens(text: str) -> int:
    """Approximate tokens: words and punctuation marks (a regex word-piece count). Real BPE
    tokenizers split rare words further, so provider counts run somewhat higher."""
    return len(_TOKEN.findall(text))
