"""sigterm_like_ctrl_c restores what it found, including an ignored SIGINT (hand-checked states)."""

from __future__ import annotations

import signal

from foveate_dspy.runtime.signals import sigterm_like_ctrl_c


def test_ignored_sigint_is_lifted_inside_and_restored_after() -> None:
    before_int, before_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigterm_like_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, before_term)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) == before_term
    finally:
        signal.signal(signal.SIGINT, before_int)


def test_a_handled_sigint_is_left_alone() -> None:
    before_int = signal.getsignal(signal.SIGINT)

    def mine(signum, frame) -> None:  # a caller's own Ctrl-C handler
        raise RuntimeError("mine")

    signal.signal(signal.SIGINT, mine)
    try:
        with sigterm_like_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is mine
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, before_int)
