"""Serialise `ast.parse` across threads on CPython versions that race on it.

CPython 3.11/3.12 keep the AST constructor's recursion counter in interpreter-wide state, so two
threads building AST objects at once can fail with "SystemError: AST constructor recursion depth
mismatch" (python/cpython gh-106905). DSPy's output parsing calls `ast.literal_eval`, which goes
through `ast.parse`, so judge pools that run DSPy predictors in threads hit it now and then. The
lock costs microseconds per parse; single-threaded code never contends for it.
"""

from __future__ import annotations

import ast
import sys
import threading

_LOCK = threading.RLock()
_ORIGINAL_PARSE = ast.parse


def _locked_parse(*args, **kwargs):
    with _LOCK:
        return _ORIGINAL_PARSE(*args, **kwargs)


def install() -> None:
    """Wrap ast.parse in a lock (idempotent; a no-op on interpreters without the race)."""
    if sys.version_info >= (3, 13) or ast.parse is _locked_parse:
        return
    ast.parse = _locked_parse
