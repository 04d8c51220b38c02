"""Power of the gate's paired regression check: the smallest drop it can detect, and questions needed.

The gate tests ``H0: mean(candidate - baseline) >= 0`` against a drop, one-sided at ``alpha``, on the paired
per-question differences. A "pass" only means something if the test could have seen a drop of the size that
matters. With ``n`` questions and a standard deviation ``sd`` of the paired differences:

* ``method="t"`` (default): the one-sided one-sample t-test, power from the noncentral t distribution with
  ``n - 1`` degrees of freedom and noncentrality ``(drop / sd) * sqrt(n)`` (statsmodels' ``TTestPower``).
* ``method="normal"``: the normal approximation, power ``Phi((drop / sd) * sqrt(n) - z_{1-alpha})``, so
  ``drop = (z_{1-alpha} + z_{power}) * sd / sqrt(n)`` (statsmodels' ``NormalIndPower`` with ``ratio=0``).

The gate's own test is a sign-flip permutation test (or a paired bootstrap), asymptotically the same test; in a
simulation it reached 77-81% power at the t-test's 80% drop for 30-200 questions (docs/statistics.md). So these
figures approximate the gate closely, and are exact for a paired t-test.
"""

from __future__ import annotations

import math
from typing import Literal

PowerMethod = Literal["t", "normal"]
POWER_METHODS: tuple[PowerMethod, ...] = ("t", "normal")


def _check(alpha: float, power: float, method: str) -> None:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if not 0 < power < 1:
        raise ValueError("power must be between 0 and 1")
    if method not in POWER_METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of {', '.join(POWER_METHODS)})")


def _min_n(method: PowerMethod) -> int:
    return 2 if method == "t" else 1


def power_of(drop: float, n: int, sd: float, alpha: float = 0.05, method: PowerMethod = "t") -> float:
    """Probability that the one-sided paired test at ``alpha`` flags a true mean drop of ``drop``."""
    _check(alpha, 0.5, method)
    if n < _min_n(method):
        raise ValueError(f"the {method} test needs at least {_min_n(method)} questions")
    if sd <= 0:
        raise ValueError("the standard deviation of the paired differences must be positive")
    shift = drop / sd * math.sqrt(n)
    from scipy import stats  # scipy loads on first use: a command that stops at an input error needs none

    if method == "t":
        crit = float(stats.t.isf(alpha, n - 1))
        return float(stats.nct.sf(crit, n - 1, shift))
    return float(stats.norm.cdf(shift - stats.norm.isf(alpha)))


def detectable_drop(
    n: int, sd: float, alpha: float = 0.05, power: float = 0.8, method: PowerMethod = "t"
) -> float:
    """The smallest true mean drop (score units) detected with probability ``power``; 0 when ``sd`` is 0."""
    _check(alpha, power, method)
    if n < _min_n(method):
        raise ValueError(f"the {method} test needs at least {_min_n(method)} questions")
    if sd < 0:
        raise ValueError("a standard deviation cannot be negative")
    if sd == 0:
        return 0.0
    from scipy import optimize, stats

    if method == "normal":
        return float((stats.norm.isf(alpha) + stats.norm.ppf(power)) * sd / math.sqrt(n))
    # Power grows with the drop; bracket the root between no drop and a drop the normal bound overshoots.
    hi = (stats.norm.isf(alpha) + stats.norm.ppf(power)) / math.sqrt(n)
    while power_of(hi, n, 1.0, alpha, "t") < power:
        hi *= 2
    effect = optimize.brentq(lambda d: power_of(d, n, 1.0, alpha, "t") - power, 0.0, hi, xtol=1e-14)
    return float(effect) * sd


def questions_needed(
    drop: float, sd: float, alpha: float = 0.05, power: float = 0.8, method: PowerMethod = "t"
) -> int:
    """The fewest questions with which a true mean drop of ``drop`` is detected with probability ``power``."""
    _check(alpha, power, method)
    if drop <= 0:
        raise ValueError("the drop to detect must be positive")
    if sd < 0:
        raise ValueError("a standard deviation cannot be negative")
    lowest = _min_n(method)
    if sd == 0:
        return lowest
    from scipy import stats

    z = float(stats.norm.isf(alpha) + stats.norm.ppf(power))
    # The normal closed form, ceil(((z_{1-alpha} + z_power) * sd / drop) ** 2), is where the search starts: the
    # t-test needs a few more questions, and the smallest n is settled on the power function itself.
    lo = lowest
    hi = max(lowest, math.ceil((z * sd / drop) ** 2))
    while power_of(drop, hi, sd, alpha, method) < power:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if power_of(drop, mid, sd, alpha, method) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi
