"""What the run learns from a teacher's server before its first call: which software it is, its
slots and context window, and whether it enforces a JSON schema. Stub servers on 127.0.0.1
answer with the JSON each real server sends (read from their sources); expected values by hand."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from foveate_dspy.compile import main as compile_main
from foveate_dspy.teachers.output_mode import OutputModeError, resolve
from foveate_dspy.teachers.serving import ContextError, article_word_limit
from foveate_dspy.teachers.server_profile import probe_server


class _Stub:
    def __init__(self, routes: dict[str, Any]) -> None:
        routes_ = routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = routes_.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> _Stub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def _models(owner: str, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owner, **extra}]}


def test_llama_cpp_python_serves_one_request_at_a_time() -> None:
    with _Stub({"/v1/models": _models("me")}) as stub:
        profile = probe_server(stub.url)
    assert (profile.kind, profile.slots, profile.context_tokens) == ("llama-cpp-python", 1, None)


def test_llama_server_says_its_slots_and_context() -> None:
    routes = {"/v1/models": _models("llamacpp"), "/props": {"total_slots": 4, "default_generation_settings": {"n_ctx": 16384}}}
    with _Stub(routes) as stub:
        profile = probe_server(stub.url)
    assert (profile.kind, profile.slots, profile.context_tokens) == ("llama.cpp", 4, 16384)


def test_vllm_says_its_context() -> None:
    with _Stub({"/v1/models": _models("vllm", max_model_len=32768)}) as stub:
        profile = probe_server(stub.url)
    assert (profile.kind, profile.slots, profile.context_tokens) == ("vllm", None, 32768)


def test_ollama_is_taken_at_its_default_context() -> None:
    with _Stub({"/v1/models": _models("library"), "/api/version": {"version": "0.6.0"}}) as stub:
        profile = probe_server(stub.url)
    assert (profile.kind, profile.context_tokens) == ("ollama", 4096)


def test_a_server_that_says_nothing() -> None:
    with _Stub({}) as stub:
        profile = probe_server(stub.url)
    assert (profile.kind, profile.slots, profile.context_tokens) == (None, None, None)


def test_article_word_limit_by_hand() -> None:
    # (4096 - 1200 reserved for the prompt - 2 x 768 for reply and reread draft) / 1.5 tokens a word
    assert article_word_limit(4096, 768) == 906
    assert article_word_limit(8192, None) == 3637  # (8192 - 1200 - 1536) / 1.5 = 3637.3
    with pytest.raises(ContextError, match="cannot hold an article"):
        article_word_limit(2048, 768)


def test_an_article_longer_than_the_context_is_refused_before_any_call(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "long.jsonl"
    corpus.write_text(json.dumps({"id": "long", "content": "word " * 1000}) + "\n", encoding="utf-8")
    with _Stub({"/v1/models": _models("library"), "/api/version": {"version": "0.6.0"}}) as stub:
        code = compile_main([
            "--corpus", str(corpus), "--chunk-tokens", "0", "--out", str(tmp_path / "run"),
            "--teacher", "ollama_chat/llama3.1", "--api-base", stub.url.removesuffix("/v1"), "--n-per-level", "1",
            "--levels", "scatter", "--quiet",
        ])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "long (1000 words)" in err and "context of 4096 tokens" in err and "--chunk-tokens 906" in err
    assert not (tmp_path / "run").exists()


class _ProbeLM:
    """Answers probe requests the way a server that does or does not enforce schemas would."""

    def __init__(self, enforce: str | None) -> None:
        self.enforce = enforce
        self.requests: list[dict[str, Any]] = []

    def __call__(self, prompt: str, response_format: dict, **kwargs: Any) -> list[str]:
        self.requests.append(response_format)
        form = "openai" if response_format["type"] == "json_schema" else "llamacpp"
        if form == self.enforce:
            return ['{"probe": "kestrel-7341"}']
        return ['{"greeting": "hello"}']


def test_auto_mode_takes_the_form_the_server_enforces() -> None:
    lm = _ProbeLM("llamacpp")
    chosen = resolve("auto", lm, offline=False)
    assert (chosen.mode, chosen.form) == ("schema", "llamacpp")
    assert [r["type"] for r in lm.requests] == ["json_schema", "json_object"]


def test_auto_mode_falls_back_to_chat_and_says_why() -> None:
    chosen = resolve("auto", _ProbeLM(None), offline=False)
    assert chosen.mode == "chat" and "did not enforce" in chosen.fallback


def test_schema_mode_refuses_a_server_that_enforces_nothing() -> None:
    with pytest.raises(OutputModeError, match="use --output-mode auto, json or chat"):
        resolve("schema", _ProbeLM(None), offline=False)


def test_the_offline_teacher_is_never_probed() -> None:
    lm = _ProbeLM("openai")
    assert resolve("auto", lm, offline=True).mode == "chat" and lm.requests == []


_CRASHING_SERVER = '''
import argparse, json, os, signal
from http.server import BaseHTTPRequestHandler, HTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": "local-gguf"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # what a llama.cpp built with AMX does on a CPU that may not use it
        os.kill(os.getpid(), signal.SIGSEGV)


HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
'''


def test_a_local_server_that_crashes_on_its_first_token_says_how_to_rebuild(tmp_path: Path, monkeypatch) -> None:
    """A llama.cpp built for instructions the CPU cannot run answers /v1/models, then dies on
    the first generation: the start fails with one message naming the signal and the rebuild."""
    from foveate_dspy.teachers.local_server import PORTABLE_BUILD, LocalServer, LocalServerError

    (tmp_path / "crashing_server.py").write_text(_CRASHING_SERVER, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    server = LocalServer(model, server_module="crashing_server")
    with pytest.raises(LocalServerError) as error:
        server.start(timeout=30)
    assert "crashed on its first token (signal SIGSEGV)" in str(error.value)
    assert PORTABLE_BUILD in str(error.value)
    assert server.process.poll() is not None
