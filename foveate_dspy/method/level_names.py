"""The names of the foveation levels, kept free of heavy imports so the CLI parses them fast."""

from __future__ import annotations

LEVELS = ("micro", "scatter", "macro")


def parse_levels(text: str) -> tuple[str, ...]:
    """'micro,scatter' → ('micro', 'scatter') in canonical order; unknown or empty names raise."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in LEVELS]
    if unknown or not names:
        raise ValueError(f"--levels takes a comma-separated subset of {','.join(LEVELS)}; got {text!r}")
    return tuple(n for n in LEVELS if n in names)
