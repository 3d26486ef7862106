"""Reading what a real teacher wrote: reasoning text, lenient JSON, and the list and boolean
forms small models use instead of the ones the prompt asked for.

DSPy's own parsers accept exactly one form per type: a JSON array for `list[str]`, `true` or
`false` for a bool. Models write "1. Paris\\n2. Lyon", "- Paris", "Paris, Lyon", `[1903, "Curie"]`,
"False." or "No, the article ...". Refusing those loses the whole batch call (every item of a
level) for a formatting slip, so the adapters (`foveate_dspy.teachers.adapters`) try these coercions
before calling a reply unparseable. Every function here is pure and works on the raw field
text, so each coercion is tested on its own.
"""

from __future__ import annotations

import json
import re
import types
from typing import Any, Literal, Union, get_args, get_origin

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"^\s*<(think|thinking|reasoning)>.*?(?=\[\[ ## |\{)", re.DOTALL | re.IGNORECASE)
_UNOPENED_THINK = re.compile(r"^.*?</(think|thinking|reasoning)>\s*", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•·+]|\(?\d{1,3}[.):]|\(?[a-zA-Z][.)])\s+")
_TRUE = {"true", "yes", "y", "1", "answerable", "correct"}
_FALSE = {"false", "no", "n", "0", "unanswerable", "not answerable", "incorrect", "none"}


def strip_reasoning(text: str) -> str:
    """The reply without `<think>…</think>` blocks (reasoning models such as DeepSeek-R1 or
    Qwen3 put them first), including a block whose opening tag the server already removed."""
    text = _THINK.sub("", text)
    if re.search(r"</(think|thinking|reasoning)>", text, re.IGNORECASE):
        text = _UNOPENED_THINK.sub("", text, count=1)
    return _OPEN_THINK.sub("", text)


def unfence(text: str) -> str:
    """The content of a reply wrapped whole in a Markdown code fence (```json … ```)."""
    match = _FENCE.match(text)
    return match.group(1) if match else text


def lenient_json(text: str) -> Any:
    """Parse JSON the way a forgiving reader would: raw control characters inside strings,
    single quotes, trailing commas, a fence or prose around the value. Raises ValueError when
    nothing JSON-like is there."""
    body = unfence(text.strip())
    try:
        return json.loads(body, strict=False)  # strict=False admits raw control characters in strings
    except ValueError:
        pass
    import json_repair  # DSPy's own dependency

    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON object or array in the reply")
    repaired = json_repair.loads(body[start:])
    if repaired == "" or repaired is None:
        raise ValueError("the reply's JSON could not be repaired")
    return repaired


def _strip_item(text: str) -> str:
    text = _LIST_MARKER.sub("", text, count=1).strip()
    text = re.sub(r"^\*\*(.*)\*\*$", r"\1", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text.rstrip(",;").strip()


def as_string_list(text: str) -> list[str] | None:
    """A list of strings from a JSON/Python array (numbers become strings), a numbered or
    bulleted list, one item per line, or a comma- or semicolon-separated line. None when the
    text is empty."""
    text = unfence(strip_reasoning(text)).strip()
    if not text:
        return None
    if text[0] in "[{":
        try:
            value = lenient_json(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and len(value) == 1:
            value = next(iter(value.values()))  # {"keywords": [...]} when only the list was asked for
        if isinstance(value, list):
            flat = [str(v).strip() for v in value if not isinstance(v, (list, dict)) and v is not None]
            return [v for v in flat if v]
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        items = [_strip_item(line) for line in lines]
        return [item for item in items if item]
    line = _strip_item(lines[0])
    separator = ";" if ";" in line else ","
    parts = [_strip_item(part) for part in line.split(separator)] if separator in line else [line]
    return [part for part in parts if part]


def as_bool(text: str) -> bool | None:
    """True/False from "False.", "no", "Yes, it ...", "**True**"; None when it says neither."""
    words = re.findall(r"[a-z]+", strip_reasoning(text).lower())
    if not words:
        return None
    first = words[0]
    if first == "not" and len(words) > 1 and words[1] == "answerable":
        return False
    if first in _TRUE:
        return True
    if first in _FALSE:
        return False
    return None


def as_literal(text: str, allowed: tuple[Any, ...]) -> Any:
    """The allowed value a reply names: "Set 1." for Literal["1", "2"], "HIGH" for "high";
    None when it names none or several."""
    cleaned = strip_reasoning(text).strip().strip("*`\"'").strip()
    for value in allowed:
        if cleaned.casefold() == str(value).casefold():
            return value
    found = {
        value
        for value in allowed
        if re.search(rf"(?<![\w]){re.escape(str(value))}(?![\w])", cleaned, re.IGNORECASE)
    }
    return found.pop() if len(found) == 1 else None


def _is_optional_str(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return origin in (Union, types.UnionType) and str in get_args(annotation)


def coerce(text: str, annotation: Any) -> Any:
    """The field text as `annotation`, by the forgiving readings above, or raise ValueError.

    Handles str, bool, int, float, Literal, list[str] and (through lenient JSON and pydantic)
    lists of models and other structured types."""
    from pydantic import TypeAdapter, ValidationError

    if annotation is str or _is_optional_str(annotation):
        return strip_reasoning(text).strip()
    if annotation is bool:
        value = as_bool(text)
        if value is None:
            raise ValueError(f"expected true or false, got {text[:60]!r}")
        return value
    if annotation in (int, float):
        match = re.search(r"-?\d+(?:\.\d+)?", text)
        if match is None:
            raise ValueError(f"expected a number, got {text[:60]!r}")
        return annotation(float(match.group(0))) if annotation is int else float(match.group(0))
    origin = get_origin(annotation)
    if origin is Literal:
        value = as_literal(text, get_args(annotation))
        if value is None:
            raise ValueError(f"expected one of {', '.join(map(str, get_args(annotation)))}, got {text[:60]!r}")
        return value
    if origin is list and get_args(annotation) in ((str,), ()):
        items = as_string_list(text)
        if items is None:
            raise ValueError("expected a list, got nothing")
        return items
    try:
        value = lenient_json(strip_reasoning(text))
    except ValueError as exc:
        raise ValueError(f"expected JSON for {annotation}, got {text[:60]!r}") from exc
    if origin is list and isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise ValueError(f"the value does not fit {annotation}: {exc.errors()[0].get('msg', exc)}") from exc
