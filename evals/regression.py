"""Regression check: compare a report's metrics with a baseline and fail on drops.

The baseline is another report.json or a flat ``{"metric": value}`` JSON. Directions come from
the current report's ``better`` map (default "higher"): a higher-is-better metric regresses
when it falls by more than its tolerance, a lower-is-better one when it rises by more. A metric
in the baseline that the current report lacks, or that became undefined, also fails: a silently
vanished number is how regressions hide.
"""

from __future__ import annotations

import fnmatch
import math
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import HIGHER, LOWER
from evals.inputs import InputError

OK, REGRESSED, MISSING, NEW = "ok", "REGRESSED", "MISSING", "new"


@dataclass(frozen=True)
class MetricCheck:
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None
    tolerance: float
    better: str
    status: str


def read_metrics(path: Path) -> tuple[dict[str, float | None], dict[str, str]]:
    """(metrics, better) of a report.json, or of a flat metrics JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    metrics = data.get("metrics", data)
    if not isinstance(metrics, dict):
        raise InputError(f"{path}: 'metrics' must be an object of name -> number")
    for name, value in metrics.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputError(f"{path}: metric '{name}' must be a number or null, got {value!r}")
    better = data.get("better", {}) if "metrics" in data else {}
    return metrics, better


def tolerance_for(metric: str, default: float, overrides: dict[str, float]) -> float:
    """The override whose name or glob matches ``metric`` (exact names win), else ``default``."""
    if metric in overrides:
        return overrides[metric]
    for pattern, value in overrides.items():
        if fnmatch.fnmatchcase(metric, pattern):
            return value
    return default


def compare_metrics(
    current: dict[str, float | None],
    baseline: dict[str, float | None],
    better: dict[str, str],
    *,
    tolerance: float = 0.01,
    overrides: dict[str, float] | None = None,
    relative: bool = False,
    only: list[str] | None = None,
) -> list[MetricCheck]:
    """One check per metric in either side (filtered by the ``only`` globs)."""
    overrides = overrides or {}
    names = sorted(set(current) | set(baseline))
    if only:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in only)]
    checks = []
    for name in names:
        direction = better.get(name, HIGHER)
        allowed = tolerance_for(name, tolerance, overrides)
        base, now = baseline.get(name), current.get(name)
        if name not in baseline:
            checks.append(MetricCheck(name, None, now, None, allowed, direction, NEW))
            continue
        if base is None:  # undefined in the baseline: nothing to hold the current value to
            checks.append(MetricCheck(name, None, now, None, allowed, direction, NEW if now is not None else OK))
            continue
        if now is None:
            checks.append(MetricCheck(name, base, None, None, allowed, direction, MISSING))
            continue
        delta = now - base
        limit = allowed * abs(base) if relative else allowed
        worse = -delta if direction == HIGHER else delta if direction == LOWER else 0.0
        status = REGRESSED if worse > limit + 1e-12 else OK
        checks.append(MetricCheck(name, base, now, delta, allowed, direction, status))
    return checks


def failed(checks: list[MetricCheck]) -> list[MetricCheck]:
    return [c for c in checks if c.status in (REGRESSED, MISSING)]


def parse_overrides(items: list[str]) -> dict[str, float]:
    """``NAME=TOL`` strings (NAME may be a glob) -> mapping; errors say which item is wrong."""
    overrides = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            overrides[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise InputError(f"--metric-tolerance expects NAME=NUMBER, got {item!r}")
        if not math.isfinite(overrides[name]) or overrides[name] < 0:
            # NaN compares false with everything: a NaN tolerance would pass every regression
            raise InputError(f"--metric-tolerance {item!r}: the tolerance must be a finite number >= 0")
    return overrides


def checks_as_rows(checks: list[MetricCheck]) -> list[dict[str, Any]]:
    return [c.__dict__ for c in checks]
