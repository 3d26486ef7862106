"""A loopback OpenAI-compatible chat server, for the throughput benchmark and the fault tests.

It listens on 127.0.0.1 only, answers `POST /v1/chat/completions` after a fixed latency with a
reply produced by a `respond(request body) -> text` function (by default the offline teacher, so the
real DSPy client path can be exercised end to end without a provider), and can be told to
misbehave the way real providers do: 429 with or without Retry-After, 5xx, replies slower than
the client's timeout, truncated bodies, bytes that are not UTF-8, prose instead of the fields.

It counts requests in flight at the server, which is the honest place to check that a client's
concurrency bound holds and how well it is used. It always stops by itself: after
`max_requests` requests or `max_seconds`, whichever comes first, so a crashed benchmark or test
cannot leave it running.

Run it standalone (the benchmark does, so the teacher's CPU work stays out of the client's
process): `python tests/loopback.py --latency 0.5` prints `port N` and serves until it
stops; `GET /stats` returns the counters as JSON.

`--replies FILE` records every reply it makes in a JSONL file and answers a request it has seen
before from that file instead of running the teacher. A hosted model's compute is not on the
client's machine; the offline teacher's is (up to half a second of CPU for an article's keyword
extraction), and on a small machine it would compete with the client it is meant to measure. A
priming run fills the file, so the measured run's replies cost the server almost nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # `python tests/loopback.py`: the package of this checkout, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foveate_dspy.runtime.estimate import estimate_tokens  # noqa: E402

HOST = "127.0.0.1"
CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
PROSE = "Here are some thoughts about the article. It is an interesting text and covers several topics."

Responder = Callable[[dict[str, Any]], str]
"""The parsed request body (messages, temperature, ...) -> the assistant's reply text."""


@dataclass(frozen=True)
class Fault:
    """How to misbehave on one request instead of answering it.

    kind: "status" (reply `status` with an OpenAI-style error body, plus a Retry-After header when
    `retry_after` is set: seconds or an HTTP-date), "slow" (wait `delay` seconds before answering
    normally: a client with a shorter timeout gives up), "truncate" (announce the full length, send
    half the body, close), "non_utf8" (a 200 whose body is not UTF-8), "prose" (a normal reply
    whose text is prose without the [[ ## field ## ]] markers), "drop" (close without replying).
    """

    kind: str
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0


FaultPlan = Callable[[int, dict[str, Any]], Fault | None]
"""(0-based request number, parsed request body) -> the fault for it, or None to answer."""


def first_tries_of_every_nth(n: int, fault: Fault) -> FaultPlan:
    """Fail the first try of every n-th distinct request; its retry (same body) gets an answer.

    Unlike failing every n-th request, a call can never be unlucky enough to exhaust its
    retries, so a run's outcome does not depend on how concurrent requests interleave."""
    seen: set[str] = set()
    lock = threading.Lock()

    def plan(_number: int, body: dict[str, Any]) -> Fault | None:
        key = json.dumps([body.get("messages"), body.get("temperature")], sort_keys=True)
        with lock:
            if key in seen:
                return None
            seen.add(key)
            return fault if len(seen) % n == 0 else None

    return plan


class OfflineResponder:
    """Answers each request the way the offline teacher answers the same messages, at the
    request's temperature (its creative retries depend on it). A class rather than a closure so
    that it can be sent to a worker process."""

    def __init__(self, embedder: str = "minilm") -> None:
        self.embedder = embedder

    def warm_up(self) -> None:
        """Load the embedding model now rather than during the first request."""
        from foveate_dspy.teachers.offline.workbench import get_workbench

        get_workbench(self.embedder).embed(["warm-up"])

    def __call__(self, body: dict[str, Any]) -> str:
        from foveate_dspy.teachers.offline import respond_to_messages

        return respond_to_messages(body["messages"], embedder=self.embedder, temperature=body.get("temperature"))


_FIELD = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", re.S)
_OUTPUTS = re.compile(r"Your output fields are:\n(.*?)\nAll interactions", re.S)
_CAPITALISED = re.compile(r"\b[A-Z][\w]+")


class CannedResponder:
    """Cheap, valid replies for every Self-Foveate signature, from the request's own fields
    (`--canned`): keywords are the article's first names (capitalised words inside sentences, never more than micro keeps,
    so it ranks none), questions ask about each answer, group or sentence, answers restate the
    draft. Costs the server well under a millisecond a reply, so a benchmark of the client at
    scale (10^5 articles) measures the client, not a teacher's compute; the records are
    placeholders, not a dataset."""

    def __call__(self, body: dict[str, Any]) -> str:
        messages = body["messages"]
        found = _OUTPUTS.search(_content_text(messages[0]["content"]))
        outputs = tuple(re.findall(r"\d+\. `(\w+)`", found.group(1))) if found else ()
        inputs = {}
        for name, raw in _FIELD.findall(_content_text(messages[-1]["content"])):
            raw = raw.split("\n\nRespond with")[0].strip()
            try:
                inputs[name] = json.loads(raw)
            except json.JSONDecodeError:
                inputs[name] = raw
        values = self.values(outputs, inputs)
        parts = [f"[[ ## {name} ## ]]\n{json.dumps(value) if isinstance(value, list) else value}" for name, value in values.items()]
        return "\n\n".join(parts) + "\n\n[[ ## completed ## ]]"

    @staticmethod
    def values(outputs: tuple[str, ...], inputs: dict[str, Any]) -> dict[str, Any]:
        article = str(inputs.get("article", ""))
        # Capitalised words inside sentences (names), not a sentence's first word ("The").
        inside = [m.group() for m in _CAPITALISED.finditer(article) if m.start() > 1 and article[: m.start()].rstrip()[-1:] not in ".!?"]
        words = list(dict.fromkeys(inside)) or article.split()[:3] or ["text"]
        count = int(inputs.get("count", 2) or 2)
        if outputs == ("keywords",):
            return {"keywords": words[: max(1, count // 2)]}
        if outputs == ("core_keywords", "major_keywords"):
            keywords = list(inputs.get("keywords") or words)
            return {"core_keywords": keywords[:1], "major_keywords": keywords[1:2]}
        if outputs == ("key_sentences",):
            return {"key_sentences": re.split(r"(?<=[.;])\s+", article)[:count]}
        if outputs == ("questions",):  # batch synthesis: one entry per feature, the feature copied
            if "answers" in inputs:  # the answer must not be named in its question
                return {"questions": [{"answer": a, "question": f"Which term does the passage use at mark {i + 1}?"} for i, a in enumerate(inputs["answers"])]}
            if "keyword_groups" in inputs:  # every keyword of the group in its question
                return {"questions": [{"keywords": g, "question": f"How do {' and '.join(g)} relate in the passage?"} for g in inputs["keyword_groups"]]}
            return {"questions": [{"key_sentence": k, "question": f"What does the passage mean by {k[:60]!r}?"} for k in inputs.get("key_sentences") or []]}
        if outputs == ("question",):
            return {"question": f"Which other term does the passage use near mark {len(str(inputs.get('feedback', '')))}?"}
        if outputs == ("answerable", "answer"):  # an answer the article supports: its own first sentence
            return {"answerable": True, "answer": article.split(". ")[0].strip().rstrip(".") + "."}
        if outputs == ("answer",):
            return {"answer": str(inputs.get("draft_answer", ""))}
        return {name: "canned" for name in outputs}


def _timed(respond: Responder, body: dict[str, Any]) -> tuple[str, float]:
    """The reply and the CPU seconds it took, measured where it runs (thread or worker process)."""
    cpu = time.thread_time()
    return respond(body), time.thread_time() - cpu


def _warm_up(respond: Responder) -> None:
    if hasattr(respond, "warm_up"):
        respond.warm_up()


def _start_worker(respond: Responder) -> None:
    """Worker process set-up: warm up, and exit if the server process dies without stopping us
    (a SIGKILL gives the pool no chance to), so no worker outlives its server."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    _warm_up(respond)


class ReplyLog:
    """Replies by request (messages and temperature), kept in memory and appended to a JSONL file.

    The offline teacher is deterministic, so a recorded reply is the reply it would make again."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._replies: dict[str, str] = {}
        self._lock = threading.Lock()
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    try:
                        record = json.loads(line)
                        self._replies[record["key"]] = record["reply"]
                    except (ValueError, KeyError, TypeError) as exc:
                        raise ValueError(f"{self.path}, line {number}: not a reply record ({exc})") from exc
        # Unbuffered appends: each record is one write(2) with O_APPEND, so servers sharing a log
        # (the Ray benchmark's endpoints) never interleave half lines.
        self._file = open(self.path, "ab", buffering=0)

    @staticmethod
    def key(body: dict[str, Any]) -> str:
        request = json.dumps([body.get("messages"), body.get("temperature")], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(request.encode("utf-8")).hexdigest()

    def get(self, key: str) -> str | None:
        return self._replies.get(key)

    def put(self, key: str, reply: str) -> None:
        with self._lock:
            if key not in self._replies and not self._file.closed:  # a late reply after stop is not kept
                self._replies[key] = reply
                self._file.write((json.dumps({"key": key, "reply": reply}, ensure_ascii=False) + "\n").encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass
class ServerStats:
    """What the server saw. In-flight time is integrated only while at least one request runs."""

    requests: int = 0
    replies: Counter[str] = field(default_factory=Counter)  # "200", "429", "truncate", ...
    in_flight: int = 0
    max_in_flight: int = 0
    in_flight_seconds: float = 0.0  # integral of in_flight over time
    busy_seconds: float = 0.0  # time with at least one request in flight
    first_start: float | None = None
    last_end: float | None = None
    respond_cpu_seconds: float = 0.0  # thread CPU spent producing replies
    respond_seconds: float = 0.0  # wall time spent producing replies (absorbed by the latency)
    late_seconds: float = 0.0  # time replies went out after their latency was up
    replayed: int = 0  # replies taken from the reply log instead of the teacher
    first_request_at: float | None = None  # wall clock (time.time()) of the first request: a client's time to its first call
    _changed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        window = (self.last_end - self.first_start) if self.first_start is not None and self.last_end is not None else 0.0
        return {
            "requests": self.requests,
            "replies": dict(self.replies),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "mean_in_flight": self.in_flight_seconds / window if window > 0 else 0.0,
            "mean_request_seconds": self.in_flight_seconds / self.requests if self.requests else 0.0,
            "window_seconds": window,
            "busy_seconds": self.busy_seconds,
            "respond_cpu_seconds": self.respond_cpu_seconds,
            "respond_seconds": self.respond_seconds,
            "late_seconds": self.late_seconds,
            "replayed": self.replayed,
            "first_request_at": self.first_request_at,
            "server_process_cpu_seconds": time.process_time(),  # HTTP handling (and replies without workers)
        }


class LoopbackServer:
    """The server in a background thread; use as a context manager, or `start()`/`stop()`."""

    def __init__(
        self,
        respond: Responder | None = None,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        max_requests: int = 100_000,
        max_seconds: float = 600.0,
        port: int = 0,
        processes: int = 0,
        reply_log: ReplyLog | None = None,
    ) -> None:
        """`processes` > 0 runs `respond` in that many worker processes (it must then be
        picklable): a CPU-heavy teacher in the handler threads would hold the GIL and delay
        every other reply, so the server could not keep its latency under load. `reply_log`
        answers requests seen before from a reply log and records new replies in it."""
        self.respond = respond or OfflineResponder()
        self._pool = None
        if processes > 0:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            self._pool = ProcessPoolExecutor(processes, get_context("spawn"), initializer=_start_worker, initargs=(self.respond,))
            self._pool.submit(time.sleep, 0).result()  # start the workers (and warm them up) now
        else:
            _warm_up(self.respond)
        self.latency = latency
        self.reply_log = reply_log
        self.faults = faults
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.stats = ServerStats()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((HOST, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The api_base to give an OpenAI-compatible client."""
        return f"http://{HOST}:{self.port}/v1"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.max_seconds, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call from any thread, more than once."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._timer is not None and threading.current_thread() is not self._timer:
            self._timer.cancel()
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.reply_log is not None:
            self.reply_log.close()

    def wait(self) -> None:
        """Block until the server has stopped (by itself or through `stop`)."""
        self._stopping.wait()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- accounting, called from handler threads --------------------------------------------

    def _enter(self) -> int | None:
        """Count a request in; None when the request budget is spent (the server then stops)."""
        with self._lock:
            if self.stats.requests >= self.max_requests:
                return None
            number = self.stats.requests
            if number == 0:
                self.stats.first_request_at = time.time()
            self.stats.requests += 1
            self._account(+1)
            return number

    def _leave(self, reply: str) -> None:
        with self._lock:
            self._account(-1)
            self.stats.replies[reply] += 1
            done = self.stats.requests >= self.max_requests and self.stats.in_flight == 0
        if done:
            threading.Thread(target=self.stop, daemon=True).start()

    def _account(self, delta: int) -> None:
        now = time.monotonic()
        stats = self.stats
        if stats.in_flight:
            stats.in_flight_seconds += stats.in_flight * (now - stats._changed)
            stats.busy_seconds += now - stats._changed
        stats._changed = now
        stats.in_flight += delta
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        if stats.first_start is None:
            stats.first_start = now
        if delta < 0:
            stats.last_end = now

    def _reply(self, body: dict[str, Any]) -> tuple[str, float, bool]:
        """The reply text, the teacher CPU seconds it took, and whether it came from the reply log."""
        key = self.reply_log.key(body) if self.reply_log is not None else None
        if key is not None and (recorded := self.reply_log.get(key)) is not None:
            return recorded, 0.0, True
        if self._pool is not None:
            text, cpu = self._pool.submit(_timed, self.respond, body).result()
        else:
            text, cpu = _timed(self.respond, body)
        if key is not None:
            self.reply_log.put(key, text)
        return text, cpu, False

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.stats.as_dict()



class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    owner: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as providers do; clients pool connections
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without this, Nagle's algorithm holds the
        # body back until the client's delayed ACK (40 ms on Linux): latency no provider adds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/stats":
            self._send(200, json.dumps(self.server.owner.snapshot()).encode())
        else:
            self._send(404, _error_body("not found", "not_found"))

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path not in CHAT_PATHS:
            self._send(404, _error_body(f"no route {self.path}", "not_found"))
            return
        number = owner._enter()
        if number is None:
            self._send(503, _error_body("loopback server request budget spent", "server_stopping"))
            return
        reply = "dropped"
        try:
            reply = self._serve(owner, number, raw)
        except (BrokenPipeError, ConnectionResetError):
            reply = "client_gone"  # the client timed out or was cancelled
        finally:
            owner._leave(reply)

    def _serve(self, owner: LoopbackServer, number: int, raw: bytes) -> str:
        started = time.monotonic()
        try:
            body = json.loads(raw)
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            self._send(400, _error_body("request body is not an OpenAI chat request", "invalid_request"))
            return "400"
        fault = owner.faults(number, body) if owner.faults is not None else None
        if fault is not None and fault.kind == "status":
            if not self._wait(owner.latency):
                return "client_gone"
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send(fault.status, _error_body(f"injected {fault.status}", "loopback_fault"), headers)
            return str(fault.status)
        if fault is not None and fault.kind == "drop":
            self._wait(owner.latency)
            self.close_connection = True
            return "drop"
        wall = time.monotonic()
        dspy_call = _is_dspy_request(messages)
        if (fault is not None and fault.kind == "prose") or not dspy_call:
            # A request that is no DSPy call (the output-mode probe) gets prose: this server, like
            # many, ignores `response_format`, so a run against it settles on the chat format.
            text, cpu, replayed = PROSE, 0.0, False
        else:
            text, cpu, replayed = owner._reply(body)
        with owner._lock:
            owner.stats.respond_cpu_seconds += cpu
            owner.stats.respond_seconds += time.monotonic() - wall
            owner.stats.replayed += int(replayed)
        delay = fault.delay if fault is not None and fault.kind == "slow" else owner.latency
        if not self._wait(delay - (time.monotonic() - started)):
            self.close_connection = True
            return "client_gone"
        payload = _completion(body, messages, text, number)
        with owner._lock:
            owner.stats.late_seconds += max(0.0, time.monotonic() - started - delay)
        if fault is not None and fault.kind == "truncate":
            self._send(200, payload[: len(payload) // 2], declared_length=len(payload))
            self.close_connection = True
            return "truncate"
        if fault is not None and fault.kind == "non_utf8":
            self._send(200, b"\xff\xfe\xfa not utf-8 \xc3\x28 " + payload[:20])
            return "non_utf8"
        self._send(200, payload)
        if not dspy_call:
            return "not_dspy"
        return "prose" if fault is not None and fault.kind == "prose" else "200"

    def _wait(self, seconds: float) -> bool:
        """Wait before replying; False as soon as the client hangs up (a client-side timeout or
        cancellation closes the connection) or the server stops. Noticing the hang-up keeps the
        in-flight count honest: an abandoned request is no longer in flight."""
        owner = self.server.owner
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if owner._stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.1))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return False  # end of stream: the client closed the connection
                except OSError:
                    return False
                time.sleep(min(remaining, 0.1))  # bytes of a pipelined request: not a hang-up
        return not owner._stopping.is_set()

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None, declared_length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(declared_length if declared_length is not None else len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


def _is_dspy_request(messages: list[dict[str, Any]]) -> bool:
    """DSPy's adapters open the system message with the signature's fields."""
    system = next((_content_text(m.get("content")) for m in messages if m.get("role") == "system"), "")
    return "Your input fields are:" in system


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": code, "code": code}}).encode()


def _completion(body: dict[str, Any], messages: list[dict[str, Any]], text: str, number: int) -> bytes:
    prompt_chars = sum(len(_content_text(m.get("content"))) for m in messages)
    prompt_tokens = estimate_tokens(prompt_chars)
    completion_tokens = estimate_tokens(len(text))
    return json.dumps(
        {
            "id": f"chatcmpl-loopback-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "loopback"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def _content_text(content: Any) -> str:
    """OpenAI message content is a string or a list of typed parts; only text counts here."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _import_responder(spec: str) -> Responder:
    import importlib

    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"--responder must look like MODULE:FUNCTION, got {spec!r}")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/loopback.py",
        description="Serve the offline teacher as an OpenAI-compatible endpoint on 127.0.0.1 (benchmarks, tests).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds before each reply (default 0.5)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop after this long at most")
    parser.add_argument("--embedder", default="minilm", help="the offline teacher's embedder (name or path)")
    parser.add_argument(
        "--responder", help="MODULE:FUNCTION taking the request body and returning the reply text (default: the offline teacher)"
    )
    parser.add_argument("--canned", action="store_true", help="answer with cheap canned valid replies (scale benchmarks), not the offline teacher")
    parser.add_argument(
        "--processes", type=int, default=1, help="worker processes that produce replies (default 1; 0: in the handler threads)"
    )
    parser.add_argument(
        "--replies", help="JSONL reply log: requests seen before are answered from it, new replies are added to it"
    )
    args = parser.parse_args(argv)
    reply_log = ReplyLog(args.replies) if args.replies else None
    if args.canned:
        respond: Responder = CannedResponder()
    else:
        respond = _import_responder(args.responder) if args.responder else OfflineResponder(args.embedder)
    server = LoopbackServer(
        respond, args.latency, max_requests=args.max_requests, max_seconds=args.max_seconds, port=args.port, processes=args.processes, reply_log=reply_log
    )
    signal.signal(signal.SIGTERM, lambda *_: server.stop())  # stop cleanly, worker processes included
    with server:
        print(f"port {server.port}", flush=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
    print(json.dumps(server.snapshot()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
