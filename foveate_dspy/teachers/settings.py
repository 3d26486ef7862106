"""Sampling settings for teachers of every kind: from the command line or a file, checked up front,
and adapted to what the model accepts.

Defaults are the paper's two modes (sampling.NORMAL for first synthesis, sampling.CREATIVE for
re-synthesis). `--sampling FILE` (JSON or YAML) may set either mode:

    {"normal": {"temperature": 0.3}, "creative": {"temperature": 1.0, "top_p": 0.95}}

(a flat mapping sets the normal mode); the command-line flags override the file's normal mode.

Models do not all accept the same parameters. OpenAI's reasoning models (o1, o3, o4, gpt-5*)
refuse any temperature but 1, top_p and the penalties, and DSPy refuses a max_tokens under 16000
for them (dspy/clients/lm.py), so those are dropped (max_tokens: raised to DSPy's minimum) with
a note, and `reasoning_effort` is passed instead. For other models, a parameter LiteLLM lists as
unsupported by the provider is dropped with a note, and `reasoning_effort` is dropped for models
that do not reason. A note is printed once per model and parameter.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from foveate_dspy.teachers.sampling import CREATIVE, NORMAL

KEYS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "max_tokens", "reasoning_effort")
RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "frequency_penalty": (-2.0, 2.0), "presence_penalty": (-2.0, 2.0)}
EFFORTS = ("minimal", "low", "medium", "high")
REASONING_MIN_MAX_TOKENS = 16000  # what DSPy requires of OpenAI reasoning models (dspy/clients/lm.py)
_REASONING = re.compile(r"^(?:o[1345](?:-(?:mini|nano|pro))?(?:-\d{4}-\d{2}-\d{2})?|gpt-5(?:\.\d+)*(?!-chat)(?:-.*)?)$")


class SamplingError(ValueError):
    """Unusable sampling settings; the message names the flag, or the file and key."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("teacher sampling (default: the paper's normal and high-creativity modes)")
    group.add_argument("--temperature", type=float, help=f"normal-mode temperature (default {NORMAL['temperature']})")
    group.add_argument("--top-p", type=float, help=f"normal-mode top_p (default {NORMAL['top_p']})")
    group.add_argument("--frequency-penalty", type=float, help=f"normal-mode frequency penalty (default {NORMAL['frequency_penalty']})")
    group.add_argument("--presence-penalty", type=float, help=f"normal-mode presence penalty (default {NORMAL['presence_penalty']})")
    group.add_argument("--reasoning-effort", choices=EFFORTS, help="for reasoning models (o1/o3/o4/gpt-5*): how hard they think")
    group.add_argument(
        "--sampling",
        metavar="FILE",
        help='a JSON or YAML file of {"normal": {...}, "creative": {...}} settings (temperature, top_p, frequency_penalty, '
        "presence_penalty, max_tokens, reasoning_effort); the flags above override its normal mode",
    )


def _check(mode: dict[str, Any], where: str) -> dict[str, Any]:
    for key, value in mode.items():
        if key not in KEYS:
            raise SamplingError(f"{where}: unknown sampling setting {key!r} (known: {', '.join(KEYS)})")
        if key == "reasoning_effort":
            if value not in EFFORTS:
                raise SamplingError(f"{where}: reasoning_effort must be one of {', '.join(EFFORTS)}, got {value!r}")
            continue
        if key == "max_tokens":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SamplingError(f"{where}: max_tokens must be a whole number >= 1, got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SamplingError(f"{where}: {key} must be a finite number, got {value!r}")
        low, high = RANGES[key]
        if not low <= value <= high:
            raise SamplingError(f"{where}: {key} must be in [{low:g}, {high:g}], got {value!r}")
    return mode


def read_file(path: str) -> dict[str, dict[str, Any]]:
    """The modes a --sampling file sets: {"normal": {...}, "creative": {...}} (either optional)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SamplingError(f"{path}: cannot read the sampling file: {exc.strerror or exc}") from exc
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, ImportError) as exc:
        raise SamplingError(f"{path}: not valid {'YAML' if file.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {' '.join(str(exc).split())[:200]}") from exc
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise SamplingError(f"{path}: not valid YAML: {' '.join(str(exc).split())[:200]}") from exc
    if not isinstance(data, dict):
        raise SamplingError(f"{path}: expected a mapping of sampling settings")
    if set(data) <= {"normal", "creative"}:
        modes = {name: data.get(name) or {} for name in ("normal", "creative")}
    else:
        modes = {"normal": data, "creative": {}}
    for name, mode in modes.items():
        if not isinstance(mode, dict):
            raise SamplingError(f"{path}: {name} must be a mapping of settings")
        _check(mode, f"{path}: {name}")
    return modes


def resolve(args: argparse.Namespace) -> dict[str, dict[str, Any]] | None:
    """The run's sampling modes, or None for the paper's defaults unchanged."""
    modes: dict[str, dict[str, Any]] = {"normal": {}, "creative": {}}
    if args.sampling:
        modes = read_file(args.sampling)
    flags = {
        "temperature": args.temperature,
        "top_p": args.top_p,
        "frequency_penalty": args.frequency_penalty,
        "presence_penalty": args.presence_penalty,
        "reasoning_effort": args.reasoning_effort,
    }
    given = {key: value for key, value in flags.items() if value is not None}
    for key, value in given.items():
        _check({key: value}, f"--{key.replace('_', '-')}")
    modes["normal"] = {**modes["normal"], **given}
    if not modes["normal"] and not modes["creative"]:
        return None
    return {"normal": {**NORMAL, **modes["normal"]}, "creative": {**CREATIVE, **modes["creative"]}}


def mode(sampling: dict[str, dict[str, Any]] | None, name: str) -> dict[str, Any]:
    """One mode's settings ("normal" or "creative"), the paper's when none were given."""
    if sampling is None:
        return dict(NORMAL if name == "normal" else CREATIVE)
    return dict(sampling[name])


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning families, by the rule DSPy applies (dspy/clients/lm.py)."""
    return _REASONING.match(model.split("/")[-1].lower()) is not None


_NOTED: set[tuple[str, str]] = set()


def _note(model: str, key: str, message: str) -> None:
    if (model, key) not in _NOTED:
        _NOTED.add((model, key))
        print(f"note: {model}: {message}", file=sys.stderr)


def _supported(model: str) -> frozenset[str] | None:
    """The OpenAI-style parameters LiteLLM says this model's provider takes (None: unknown)."""
    try:
        import litellm

        _, provider, _, _ = litellm.get_llm_provider(model)
        params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider)
        reasons = bool(litellm.supports_reasoning(model=model))
    except Exception:
        return None
    if not params:
        return None
    supported = set(params)
    if not reasons:
        supported.discard("reasoning_effort")
    return frozenset(supported)


def adapt(model: str, settings: dict[str, Any], max_tokens: int | None) -> tuple[dict[str, Any], int | None]:
    """(the settings the model accepts, max_tokens) for building or calling `model`; whatever is
    dropped or changed is said once on stderr. The offline teacher takes everything as is."""
    kwargs = {k: v for k, v in settings.items() if k != "max_tokens"}
    max_tokens = settings.get("max_tokens", max_tokens)
    if model.startswith("offline"):
        kwargs.pop("reasoning_effort", None)
        return kwargs, max_tokens
    if is_reasoning_model(model):
        dropped = [k for k in ("temperature", "top_p", "frequency_penalty", "presence_penalty") if k in kwargs]
        for key in dropped:
            kwargs.pop(key)
        if dropped:
            _note(model, "sampling", f"a reasoning model takes no {', '.join(dropped)}; sending none (the provider's defaults apply)")
        if max_tokens is not None and max_tokens < REASONING_MIN_MAX_TOKENS:
            _note(model, "max_tokens", f"max_tokens {max_tokens} is below the {REASONING_MIN_MAX_TOKENS} DSPy requires of reasoning models; using {REASONING_MIN_MAX_TOKENS}")
            max_tokens = REASONING_MIN_MAX_TOKENS
        return kwargs, max_tokens
    supported = _supported(model)
    if supported is not None:
        for key in [k for k in kwargs if k not in supported]:
            kwargs.pop(key)
            if key != "reasoning_effort" or settings.get(key) is not None:
                _note(model, key, f"the provider does not take {key}; dropped")
    else:
        kwargs.pop("reasoning_effort", None)
    return kwargs, max_tokens


def per_call(model: str | None, settings: dict[str, Any]) -> dict[str, Any]:
    """Per-call overrides (re-synthesis's creative mode) for `model`, adapted like `adapt`."""
    if model is None:
        return {k: v for k, v in settings.items() if k != "max_tokens"}
    kwargs, _ = adapt(model, settings, None)
    return kwargs


def build_teachers(settings: Any, teacher_lm: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    """(teacher LM, creative LM or None, re-synthesis's per-call settings) for a RunSettings.
    Raises whatever building an LM raises (DSPy refuses some settings for some models)."""
    from foveate_dspy.teachers.model_strings import build_lm

    options = {"cache": settings.cache, "max_tokens": settings.max_tokens, "embedder": settings.embedder}
    creative = mode(settings.sampling, "creative")
    teacher = teacher_lm or build_lm(settings.teacher, mode(settings.sampling, "normal"), settings.api_base, **options)
    creative_lm = None
    if settings.creative_teacher:
        creative_lm = build_lm(settings.creative_teacher, creative, settings.creative_api_base, **options)
    return teacher, creative_lm, per_call(settings.creative_teacher or settings.teacher, creative)
