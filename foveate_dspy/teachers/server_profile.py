"""What an OpenAI-compatible server says about itself: which software it is, how many requests
it serves at once, and its context window.

Asked once at the start of a run (two short GETs, no completion), so that the run neither floods
a server that answers one request at a time (llama-cpp-python; llama.cpp's llama-server with
`-np 1`) until its queue runs into the request timeout, nor sends prompts longer than the
server's context, which servers cut from the front without a word (Ollama at 4,096 tokens by
default). Anything the server does not say stays None and the command line decides.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

OLLAMA_DEFAULT_CONTEXT = 4096  # Ollama's num_ctx unless the model file or request sets another
_OWNERS = {"llamacpp": "llama.cpp", "me": "llama-cpp-python", "vllm": "vllm", "sglang": "sglang", "library": "ollama", "ollama": "ollama"}


@dataclass(frozen=True)
class ServerProfile:
    kind: str | None = None  # llama.cpp, llama-cpp-python, vllm, sglang, ollama, or None (unknown)
    slots: int | None = None  # requests served at once, where the server says
    context_tokens: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "slots": self.slots, "context_tokens": self.context_tokens}


def _get_json(url: str, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.load(reply)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _root(api_base: str) -> str:
    """http://host:port/v1 → http://host:port (llama.cpp's /props and Ollama's /api live there)."""
    parts = urlsplit(api_base)
    path = parts.path.rstrip("/")
    path = path[: -len("/v1")] if path.endswith("/v1") else path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def probe_server(api_base: str, model: str | None = None, timeout: float = 3.0) -> ServerProfile:
    """The profile of the server at `api_base` (its OpenAI base URL, with or without /v1)."""
    base = api_base.rstrip("/")
    root = _root(base)
    models = _get_json(f"{base}/models", timeout) or _get_json(f"{root}/v1/models", timeout)
    entries = models.get("data") if isinstance(models, dict) else None
    entry = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    kind = _OWNERS.get(str(entry.get("owned_by", "")).lower())
    context = entry.get("max_model_len")  # vLLM and SGLang say it here
    slots = 1 if kind == "llama-cpp-python" else None  # one model, one request at a time
    props = _get_json(f"{root}/props", timeout)
    if isinstance(props, dict) and ("total_slots" in props or "default_generation_settings" in props):
        kind = "llama.cpp"
        slots = props.get("total_slots") or slots
        context = (props.get("default_generation_settings") or {}).get("n_ctx") or context
    if kind is None and _get_json(f"{root}/api/version", timeout) is not None:
        kind = "ollama"
    if kind == "ollama" and context is None:
        context = OLLAMA_DEFAULT_CONTEXT
    return ServerProfile(
        kind=kind,
        slots=int(slots) if isinstance(slots, int) and slots > 0 else None,
        context_tokens=int(context) if isinstance(context, int) and context > 0 else None,
    )
