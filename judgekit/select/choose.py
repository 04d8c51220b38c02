"""The choice: the Pareto frontier of agreement against cost, the best within a budget, or with a margin the
cheapest candidate not worse than the best by more than the margin (a one-sided paired bootstrap test)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from judgekit.errors import InputError
from judgekit.select.paired import Difference, non_inferior_p

ALPHA = 0.05  # the one-sided non-inferiority test's level


@dataclass(frozen=True)
class Point:
    value: float
    cost: float | None  # dollars per 1,000 judgments; None = unknown (never cheapest)


def _cost(p: Point) -> float:
    return math.inf if p.cost is None else p.cost


def frontier(points: Mapping[str, Point]) -> set[str]:
    """Names no other candidate beats on both agreement and cost (at least as good on both, better on one)."""
    out = set()
    for name, p in points.items():
        dominated = any(
            q.value >= p.value and _cost(q) <= _cost(p) and (q.value > p.value or _cost(q) < _cost(p))
            for other, q in points.items()
            if other != name
        )
        if not dominated:
            out.add(name)
    return out


def choose(
    points: Mapping[str, Point],
    budget: float | None,
    margin: float | None,
    diff: Callable[[str, str], Difference | None],
) -> tuple[str, str]:
    """``(name, reason)``. ``diff(a, b)`` is the paired difference ``a - b`` on dev."""
    eligible = {n: p for n, p in points.items() if math.isfinite(p.value)}
    if budget is not None:
        eligible = {n: p for n, p in eligible.items() if p.cost is not None and p.cost <= budget}
        if not eligible:
            raise InputError(f"no measured candidate has a known cost within --budget {budget:g} per 1,000")
    if not eligible:
        raise InputError("no candidate could be measured on dev (see the notes)")
    best = max(eligible, key=lambda n: (eligible[n].value, -_cost(eligible[n])))
    within = f" within --budget {budget:g}" if budget is not None else ""
    if margin is None:
        return best, f"best dev agreement{within} ({eligible[best].value:.4f})"
    passing: list[tuple[float, str, float]] = []
    for name, p in eligible.items():
        if name == best:
            continue
        d = diff(name, best)
        pv = non_inferior_p(d.boot, margin) if d is not None else None
        if pv is not None and pv < ALPHA and _cost(p) < _cost(eligible[best]):
            passing.append((_cost(p), name, pv))
    if not passing:
        return best, f"best dev agreement{within}; no cheaper candidate is non-inferior at margin {margin:g}"
    _, name, pv = min(passing)
    return name, (
        f"cheapest candidate non-inferior to the best ({best}) at margin {margin:g}{within} "
        f"(one-sided p = {pv:.4f} < {ALPHA:g})"
    )
