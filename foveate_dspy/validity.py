"""`python -m foveate_dspy.validity`: is an answer a refusal? One label a line.

    python -m foveate_dspy.validity "Not stated." "He was unable to finish."   # refusal / answer
    printf 'Unknown.\\nParis.\\n' | python -m foveate_dspy.validity            # one answer a line

The classifier is `foveate_dspy.method.refusal.is_refusal`, the pair rules
`foveate_dspy.method.validity.rejection_reason`; both are importable from here too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from foveate_dspy.method.refusal import is_refusal, normalise
from foveate_dspy.method.validity import rejection_reason

__all__ = ["classify", "is_refusal", "main", "normalise", "rejection_reason"]


def classify(answers: Iterable[str]) -> Iterable[str]:
    """'refusal' or 'answer' for each answer, in order."""
    return ("refusal" if is_refusal(answer) else "answer" for answer in answers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m foveate_dspy.validity",
        description="Print 'refusal' or 'answer' for each answer, one per line.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="answers to classify; none: read one answer per line from stdin")
    args = parser.parse_args(argv)
    answers = args.texts if args.texts else (line.rstrip("\r\n") for line in sys.stdin)
    for label in classify(answers):
        print(label, flush=not args.texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
