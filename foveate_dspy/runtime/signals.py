"""SIGTERM stops a run the way Ctrl-C does.

Without this, SIGTERM (what `kill`, `timeout`, systemd, Docker and Kubernetes send) ends the
process at once, like `kill -9`: no message, no exports, and the session is left "running" in the
store. Here it is turned into SIGINT, so it takes exactly Ctrl-C's path: inside `asyncio.run` the
runner's SIGINT handler cancels the run's main task (requests in flight are waited for, finished
articles are committed, the session is marked interrupted and the exports are written), and
anywhere else Python raises KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def sigterm_like_ctrl_c() -> Iterator[None]:
    """Within this block, SIGTERM behaves like Ctrl-C (main thread only: signal handlers can only
    be installed there).

    A command started in the background by a shell script (`compile ... &`) inherits SIGINT
    ignored, and asyncio then installs no Ctrl-C handler: SIGTERM turned into an ignored SIGINT
    would be lost and the run would go on spending. So within the block SIGINT gets Python's
    default handler back, which means Ctrl-C stops such a run the same graceful way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _as_interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
