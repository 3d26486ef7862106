"""Confidence intervals for the rates the evals report."""

from __future__ import annotations

CI_METHOD = "Wilson score interval, 95%"


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a binomial proportion; None when there are no trials.

    Wilson rather than the normal approximation because head-to-head rates sit near 0 or 1
    (the paper reports 99.96% against Bonito) where the normal interval leaves [0, 1].
    """
    if trials == 0:
        return None
    from scipy.stats import binomtest

    interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)
