"""The two ways the program asks a teacher for its output fields, both forgiving in what they read.

`chat` mode is DSPy's ChatAdapter (`[[ ## field ## ]]` blocks), which every chat model can follow
more or less. `schema` and `json` modes are DSPy's JSONAdapter, with the signature's JSON schema
sent as `response_format` in the form the server accepts (`schema`), or JSON mode alone (`json`).
DSPy decides by itself whether to send a schema from LiteLLM's capability table, which does not
know local servers (vLLM, llama.cpp, Ollama): so the form is decided once per run by
`output_mode.resolve` and set here explicitly.

Both adapters first read the reply the strict DSPy way, and only when that fails apply the
coercions of `foveate_dspy.teachers.replies` (reasoning blocks, misspelt or missing field markers,
numbered lists, "False.", lenient JSON). A coerced reply is counted (`PARSE_NOTES`), so a run
reports how often it needed them.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from contextvars import ContextVar
from typing import Any, get_origin

import dspy
from dspy.adapters.json_adapter import _get_structured_outputs_response_format
from dspy.utils.exceptions import AdapterParseError

from foveate_dspy.teachers.replies import coerce, lenient_json, strip_reasoning

SCHEMA_FORMS = ("openai", "llamacpp")
"""How a server takes a JSON schema: OpenAI's `{"type": "json_schema", "json_schema": {...}}`
(OpenAI, vLLM, SGLang, Ollama ≥ 0.5, llama.cpp's llama-server) or llama-cpp-python's
`{"type": "json_object", "schema": {...}}`."""

PARSE_NOTES: ContextVar[list[str] | None] = ContextVar("foveate_parse_notes", default=None)
"""Per request: "coerced" when a reply parsed only after coercion (set by `calls`)."""


def _note(event: str) -> None:
    notes = PARSE_NOTES.get()
    if notes is not None:
        notes.append(event)


def _header(names: set[str]) -> re.Pattern[str]:
    """A line that opens a field, in the forms models write: `[[ ## name ## ]]` with any spacing
    or hashes, `**name**:`, `### name`, or `name:` (known names only, so prose is not split)."""
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(
        rf"^\s*(?:\[\[?\s*#*\s*(?P<a>\w+)\s*#*\s*\]?\]|\*\*(?P<b>{alternatives})\*\*\s*:?|#+\s*(?P<c>{alternatives})\s*:?\s*$"
        rf"|(?P<d>{alternatives})\s*:)",
        re.IGNORECASE,
    )


def split_sections(completion: str, names: set[str]) -> list[tuple[str | None, str]]:
    """(field name or None, text) for each block of a chat reply, tolerant of marker spelling."""
    pattern = _header(names)
    lower = {n.lower(): n for n in names}
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in completion.splitlines():
        match = pattern.match(line)
        name = next((g for g in match.groups() if g), None) if match else None
        if name is not None:
            rest = line[match.end() :].strip()
            sections.append((lower.get(name.lower(), name), [rest] if rest else []))
        else:
            sections[-1][1].append(line)
    return [(name, "\n".join(lines).strip()) for name, lines in sections]


def recover_chat_fields(signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
    """The output fields of a chat reply that DSPy's parser refused, or raise AdapterParseError.

    A reply for a single output field that opens with the wrong marker (SmolLM2 echoes
    `[[ ## article ## ]]`) is read as that field; a reply with no marker at all is not (prose
    such as "Sure! Here are some questions" must not become a question)."""
    outputs = signature.output_fields
    names = set(outputs) | set(signature.input_fields) | {"completed"}
    sections = split_sections(completion, names)
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in sections:
        if name in outputs and name not in fields and text:
            try:
                fields[name] = coerce(text, outputs[name].annotation)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    missing = [name for name in outputs if name not in fields]
    marked = any(name is not None for name, _ in sections)  # prose with no marker at all stays refused
    if len(outputs) == 1 and missing and marked:
        (name,) = outputs
        body = "\n\n".join(text for key, text in sections if key not in outputs and key != "completed" and text)
        try:
            fields[name] = coerce(body, outputs[name].annotation)
            missing = []
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if missing:
        detail = "; ".join(problems) or "no text under their markers"
        raise AdapterParseError(
            adapter_name="RecoveringChatAdapter",
            signature=signature,
            lm_response=completion,
            message=f"missing or unreadable field(s) {', '.join(missing)} ({detail})",
            parsed_result=fields,
        )
    return fields


def recover_json_fields(signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
    """The output fields of a JSON reply that DSPy's parser refused, or raise AdapterParseError."""
    outputs = signature.output_fields
    try:
        value = lenient_json(completion)
    except ValueError:
        # Not JSON at all: a server that ignored JSON mode may still have written chat blocks.
        return recover_chat_fields(signature, completion)
    if not isinstance(value, dict):
        value = {next(iter(outputs)): value} if len(outputs) == 1 else {}
    lowered = {str(k).lower(): v for k, v in value.items()}
    fields: dict[str, Any] = {}
    problems = []
    for name, info in outputs.items():
        if name.lower() not in lowered:
            continue
        raw = lowered[name.lower()]
        try:
            fields[name] = coerce(raw if isinstance(raw, str) else json.dumps(raw), info.annotation)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    missing = [name for name in outputs if name not in fields]
    if missing:
        raise AdapterParseError(
            adapter_name="SchemaAdapter",
            signature=signature,
            lm_response=completion,
            message=f"missing or unreadable field(s) {', '.join(missing)}" + (f" ({'; '.join(problems)})" if problems else ""),
            parsed_result=fields,
        )
    return fields


def _read(strict: Any, recover: Any, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
    """A reply without its reasoning block, read the strict DSPy way, else by `recover` (counted)."""
    text = strip_reasoning(completion)
    try:
        return strict(signature, text)
    except AdapterParseError:
        fields = recover(signature, text)
        _note("coerced")
        return fields


class RecoveringChatAdapter(dspy.ChatAdapter):
    """DSPy's ChatAdapter (no JSON fallback call) that coerces before it gives up on a reply."""

    def __init__(self) -> None:
        super().__init__(use_json_adapter_fallback=False)

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        return _read(super().parse, recover_chat_fields, signature, completion)


@functools.lru_cache(maxsize=256)
def output_schema(signature: type[dspy.Signature]) -> dict[str, Any]:
    """The JSON schema of the signature's output fields, in OpenAI's strict form (every property
    required, no additional properties), which llama.cpp's grammar converter also reads."""
    return _get_structured_outputs_response_format(signature, use_native_function_calling=False).model_json_schema()


def list_bounds(signature: type[dspy.Signature], inputs: dict[str, Any]) -> dict[str, tuple[int | None, int]]:
    """How many items each list output may hold, read from the call's inputs: a `count` (or
    `core_count` for `core_keywords`) caps it (and at least one item), and a batch call's `questions` hold exactly one
    entry per listed feature. Small models otherwise write lists of any length, and a reply cut
    off at --max-tokens in the middle of its list is lost."""
    bounds: dict[str, tuple[int | None, int]] = {}
    list_inputs = [k for k, f in signature.input_fields.items() if get_origin(f.annotation) is list and isinstance(inputs.get(k), list)]
    for name, info in signature.output_fields.items():
        if get_origin(info.annotation) is not list:
            continue
        count = next((inputs[c] for c in (f"{name.split('_')[0]}_count", "count") if isinstance(inputs.get(c), int)), None)
        if count is not None and count > 0:
            bounds[name] = (1, count)  # an empty list is never an answer to "give me `count`"
        elif name == "questions" and len(list_inputs) == 1:
            n = len(inputs[list_inputs[0]])
            bounds[name] = (n, n)
    return bounds


COPIED_SENTENCES = {"key_sentences": "article"}
"""Output lists whose items are sentences copied from an input field. In schema mode each item
must be one of that input's sentences (an `enum`), so a model can neither paraphrase a key
sentence nor invent one: the method's rule, enforced while decoding. Measured with SmolLM2-135M,
unconstrained lists came back empty or as "#1", "#2" (README, Real teachers)."""

MAX_CHOICES = 200
"""An input with more sentences than this leaves its list unconstrained (a grammar of thousands
of alternatives slows a server down more than a rejected sentence costs)."""

_OPENING_QUOTE = re.compile(r'(^|(?<=[\s(\[]))"')


def _offered(sentence: str) -> str:
    """A sentence as the schema offers it: straight double quotes as curly ones. llama-cpp-python
    0.3.36's server dies (SIGSEGV) on an enum value holding a `"`; the reply is mapped back."""
    return _OPENING_QUOTE.sub("\u201c", sentence).replace('"', "\u201d")


def list_choices(signature: type[dspy.Signature], inputs: dict[str, Any]) -> dict[str, dict[str, str]]:
    """For each `COPIED_SENTENCES` list, the sentences it may hold, read from the call's inputs:
    {as offered in the schema: as written in the input}. A sentence holding a backslash is left
    out (the same servers mishandle it)."""
    from foveate_dspy.corpus.text import split_sentences

    choices: dict[str, dict[str, str]] = {}
    for name, source in COPIED_SENTENCES.items():
        info = signature.output_fields.get(name)
        if info is None or get_origin(info.annotation) is not list or not isinstance(inputs.get(source), str):
            continue
        sentences = dict.fromkeys(s.text.strip() for s in split_sentences(inputs[source]) if s.text.strip() and "\\" not in s.text)
        if 0 < len(sentences) <= MAX_CHOICES:
            choices[name] = {_offered(sentence): sentence for sentence in sentences}
    return choices


def restore_choices(outputs: list[Any], choices: dict[str, dict[str, str]]) -> list[Any]:
    """The parsed outputs with each chosen sentence as the input wrote it (see `_offered`)."""
    for output in outputs:
        for name, offered in choices.items():
            if isinstance(output, dict) and isinstance(output.get(name), list):
                output[name] = [offered.get(value, value) if isinstance(value, str) else value for value in output[name]]
    return outputs


def response_format(
    signature: type[dspy.Signature],
    form: str | None,
    bounds: dict[str, tuple[int | None, int]] | None = None,
    choices: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The request's `response_format` for `form` (one of SCHEMA_FORMS, or None for JSON mode),
    with `list_bounds` as minItems/maxItems and `list_choices` as each item's enum."""
    if form is None:
        return {"type": "json_object"}
    schema = copy.deepcopy(output_schema(signature))
    for name, allowed in (choices or {}).items():
        schema["properties"][name]["items"] = {"type": "string", "enum": list(allowed)}
    for name, (low, high) in (bounds or {}).items():
        prop = schema["properties"][name]
        if name in (choices or {}):  # never ask for more items than there are to choose from
            high = min(high, len(choices[name]))
            low = None if low is None else min(low, high)
        prop["maxItems"] = high
        if low is not None:
            prop["minItems"] = low
    if form == "openai":
        return {"type": "json_schema", "json_schema": {"name": signature.__name__, "schema": schema, "strict": True}}
    if form == "llamacpp":
        return {"type": "json_object", "schema": schema}
    raise ValueError(f"unknown schema form {form!r}; expected one of {', '.join(SCHEMA_FORMS)}")


class SchemaAdapter(dspy.JSONAdapter):
    """DSPy's JSONAdapter with the response format chosen by the run, not by LiteLLM's table."""

    def __init__(self, form: str | None) -> None:
        super().__init__(use_native_function_calling=False)
        self.form = form

    def __call__(self, lm: Any, lm_kwargs: dict[str, Any], signature: type[dspy.Signature], demos: list, inputs: dict[str, Any]):
        choices = self._choices(signature, inputs)
        outputs = super().__call__(lm, self._with_format(lm_kwargs, signature, inputs, choices), signature, demos, inputs)
        return restore_choices(outputs, choices)

    async def acall(self, lm: Any, lm_kwargs: dict[str, Any], signature: type[dspy.Signature], demos: list, inputs: dict[str, Any]):
        choices = self._choices(signature, inputs)
        outputs = await super().acall(lm, self._with_format(lm_kwargs, signature, inputs, choices), signature, demos, inputs)
        return restore_choices(outputs, choices)

    def _choices(self, signature: type[dspy.Signature], inputs: dict[str, Any]) -> dict[str, dict[str, str]]:
        return list_choices(signature, inputs) if self.form is not None else {}

    def _with_format(
        self, lm_kwargs: dict[str, Any], signature: type[dspy.Signature], inputs: dict[str, Any], choices: dict[str, dict[str, str]]
    ) -> dict[str, Any]:
        """The call's response format, shaped by its inputs (list sizes, sentences to copy)."""
        return {**lm_kwargs, "response_format": response_format(signature, self.form, list_bounds(signature, inputs), choices)}

    def _prepare_response_format(self, lm: Any, lm_kwargs: dict[str, Any], signature: type[dspy.Signature]) -> None:
        if "response_format" not in lm_kwargs:  # __call__ sets it; DSPy's own choice never applies
            lm_kwargs["response_format"] = response_format(signature, self.form)

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        return _read(super().parse, recover_json_fields, signature, completion)


def build_adapter(mode: str, form: str | None = None) -> dspy.Adapter:
    """The adapter for an output mode that `output_mode.resolve` settled: chat, json or schema."""
    if mode == "chat":
        return RecoveringChatAdapter()
    if mode == "json":
        return SchemaAdapter(None)
    if mode == "schema":
        if form not in SCHEMA_FORMS:
            raise ValueError(f"schema mode needs a form ({', '.join(SCHEMA_FORMS)}), got {form!r}")
        return SchemaAdapter(form)
    raise ValueError(f"unknown output mode {mode!r}")
