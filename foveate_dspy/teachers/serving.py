"""Where a run's teacher (or a judge) is reached, opened once per command.

A GGUF teacher (`local`, `gguf:PATH`, `PATH.gguf`) gets a private llama.cpp server for the
length of the command; any other model with `--api-base` has its server asked what it is
(`server_profile`). Either way the command learns how many requests the server serves at once
and its context window, and sizes its in-flight bound and its chunks to them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foveate_dspy.teachers.local_server import DEFAULT_CONTEXT, LocalServer, gguf_path, is_local_teacher
from foveate_dspy.teachers.server_profile import ServerProfile, probe_server

if TYPE_CHECKING:
    from foveate_dspy.corpus.readers import Article

TOKENS_PER_WORD = 1.5  # conservative for English; the model's tokenizer is not at hand
PROMPT_RESERVE = 1200  # tokens of instructions, field labels, demos and list inputs beside the article
LOCAL_MAX_TOKENS = 768  # a GGUF teacher's reply cap unless --max-tokens says otherwise


class ContextError(ValueError):
    """The teacher's context window cannot hold an article with its prompt and reply."""


@dataclass(frozen=True)
class TeacherServer:
    api_base: str | None
    profile: ServerProfile

    @property
    def slots(self) -> int | None:
        return self.profile.slots

    @property
    def context_tokens(self) -> int | None:
        return self.profile.context_tokens


@contextlib.contextmanager
def serve_teacher(model: str, api_base: str | None, context_tokens: int | None = None) -> Iterator[TeacherServer]:
    """Where `model` is served: a private server for a GGUF file (stopped on exit), else
    `api_base` as given, profiled when there is one. `context_tokens` overrides what the server
    says about its context (and sizes a private server's)."""
    if is_local_teacher(model):
        with LocalServer(gguf_path(model), context_tokens or DEFAULT_CONTEXT) as server:
            yield TeacherServer(server.url, ServerProfile("llama-cpp-python", 1, server.context_tokens))
        return
    profile = probe_server(api_base) if api_base else ServerProfile()
    if context_tokens:
        profile = ServerProfile(profile.kind, profile.slots, context_tokens)
    yield TeacherServer(api_base, profile)


def article_word_limit(context_tokens: int, max_tokens: int | None) -> int:
    """The most words an article may have so that the longest prompt of the method (the article,
    the instructions, a draft answer to reread) and a reply of `max_tokens` fit the context."""
    reply = max_tokens or LOCAL_MAX_TOKENS
    words = int((context_tokens - PROMPT_RESERVE - 2 * reply) / TOKENS_PER_WORD)
    if words < 50:
        raise ContextError(
            f"a context of {context_tokens} tokens cannot hold an article with the method's prompt and a "
            f"{reply}-token reply; use a model or server with a longer context, or a smaller --max-tokens"
        )
    return words


def fit_to_context(served: TeacherServer, articles: Iterable[Article], max_tokens: int | None) -> str | None:
    """Why the articles cannot be sent to this teacher (one is longer than its context holds),
    or None. A server would otherwise cut the start of the prompt without a word."""
    from foveate_dspy.corpus.words import word_count

    if served.context_tokens is None:
        return None
    try:
        limit = article_word_limit(served.context_tokens, max_tokens)
    except ContextError as exc:
        return str(exc)
    too_long, shown = 0, []  # one streaming pass; the first three are named
    for article in articles:
        words = word_count(article.text)
        if words > limit:
            too_long += 1
            if len(shown) < 3:
                shown.append(f"{article.id} ({words} words)")
    if not too_long:
        return None
    return (
        f"{too_long} article(s) are longer than the teacher's context of {served.context_tokens} tokens holds with "
        f"the method's prompt and reply (at most {limit} words): {', '.join(shown)}; pass --chunk-tokens {limit} or less"
    )


def request_concurrency(requested: int | None, slots: int | None) -> int:
    """The in-flight bound: what was asked, else the server's slots, else 16. More than a server
    serves at once only queue there and run into the request timeout, so that is a note."""
    if requested is None:
        return slots or 16
    if slots is not None and requested > slots:
        print(
            f"note: the server serves {slots} request(s) at a time; the other {requested - slots} of --max-concurrency "
            f"{requested} will wait in its queue (count that wait in --request-timeout)",
            file=sys.stderr,
        )
    return requested
