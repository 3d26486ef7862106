"""Teacher LMs from model strings.

`offline` is the embedded deterministic teacher; `local`, `gguf:PATH` or `PATH.gguf` a GGUF file
served by a private llama.cpp server (`local_server`, started by `serving.serve_teacher`, which
sets the API base); anything else is a DSPy/LiteLLM model string (`openai/gpt-4o-mini`,
`deepseek/deepseek-chat`, `hosted_vllm/NAME` with --api-base, ...).
Keys come only from the provider's usual environment variables and are never passed around here,
so they cannot end up in a summary, a log line or a saved program.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

OFFLINE = "offline"


class TeacherError(ValueError):
    """The teacher string or its settings are unusable; raised before any LM call."""


def public_api_base(api_base: str | None) -> str | None:
    """The API base with any user:password@ part removed, safe to write to outputs."""
    if not api_base:
        return api_base
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def check_teacher(model: str, api_base: str | None = None) -> None:
    """Refuse unknown providers and missing keys up front, with one readable sentence."""
    if model == OFFLINE:
        if api_base:
            raise TeacherError("--api-base does not apply to the offline teacher")
        return
    from foveate_dspy.teachers.local_server import LocalServerError, check_server_installed, gguf_path, is_local_teacher

    if is_local_teacher(model):  # its API base is the private server's (serving.serve_teacher)
        try:
            gguf_path(model)
            check_server_installed()
        except LocalServerError as exc:
            raise TeacherError(str(exc)) from exc
        return
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    try:
        _, provider, _, _ = litellm.get_llm_provider(model, api_base=api_base)
    except Exception as exc:
        raise TeacherError(
            f"unknown teacher {model!r}: give a provider-prefixed model such as openai/gpt-4o-mini, "
            "deepseek/deepseek-chat or hosted_vllm/NAME with --api-base, or 'offline'"
        ) from exc
    if not model.split("/", 1)[-1].strip() or model.endswith("/"):
        raise TeacherError(f"teacher {model!r} names no model after the provider {provider!r}: give e.g. {provider}/MODEL_NAME")
    if api_base is None:
        env = litellm.validate_environment(model=model)
        missing = env.get("missing_keys") or []
        if missing:
            raise TeacherError(f"teacher {model!r} ({provider}) needs {', '.join(missing)} in the environment")


def build_lm(
    model: str,
    sampling: dict[str, Any],
    api_base: str | None = None,
    cache: bool = False,
    max_tokens: int | None = None,
    num_retries: int = 0,
    embedder: str = "minilm",
):
    """A dspy.LM for the teacher, in the given sampling mode.

    No retries by default: calls.call_predictor owns them (backoff, Retry-After, the in-flight
    bound), and retries inside DSPy would resend requests the run's gate never admitted."""
    if model == OFFLINE:
        from foveate_dspy.teachers.offline import offline_lm

        from foveate_dspy.teachers.settings import KEYS

        return offline_lm(model="offline/teacher", embedder=embedder, **{k: v for k, v in sampling.items() if k in KEYS[:4]})
    import dspy
    import litellm

    from foveate_dspy.teachers.local_server import API_KEY, MODEL_ALIAS, is_local_teacher
    from foveate_dspy.teachers.settings import adapt

    # LiteLLM prints a "Provider List" banner to stdout whenever it cannot price a reply's model
    # (a local server's alias); the run reports its own errors.
    litellm.suppress_debug_info = True

    kwargs, max_tokens = adapt(model, dict(sampling), max_tokens)  # what this model accepts (notes what it drops)
    if is_local_teacher(model):
        if not api_base:
            raise TeacherError(f"{model!r} needs its local server started first (serving.serve_teacher)")
        from foveate_dspy.teachers.serving import LOCAL_MAX_TOKENS

        model, kwargs["api_key"] = f"openai/{MODEL_ALIAS}", API_KEY
        max_tokens = max_tokens or LOCAL_MAX_TOKENS
        kwargs.setdefault("seed", 0)  # llama.cpp samples reproducibly per request: a rerun writes the same data
    if api_base:
        kwargs["api_base"] = api_base
    return dspy.LM(model, cache=cache, max_tokens=max_tokens, num_retries=num_retries, **kwargs)
