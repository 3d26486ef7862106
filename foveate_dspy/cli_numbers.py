"""Numeric command-line options must be finite.

`float("nan")` and `float("inf")` parse without complaint, and NaN compares false with
everything, so a range check written as `value < low` lets it through: `--tolerance nan` would
switch a CI gate off, `--tau nan` would put NaN into summary.json (not JSON). Every CLI checks
its parsed namespace with this before using it.
"""

from __future__ import annotations

import argparse
import math


def non_finite(args: argparse.Namespace) -> str | None:
    """A one-line complaint about the first option holding NaN or an infinity, or None."""
    for name, value in vars(args).items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"--{name.replace('_', '-')} must be a finite number, got {value}"
    return None


def finite_float(text: str) -> float:
    """An argparse `type` for floats that refuses nan and inf (for values parsed inside lists)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value
