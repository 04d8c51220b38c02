"""Simulated label budgets for the ``--select`` strategies, shared by the tests and benchmarks/bench_active.py.

A population of ``N`` items: the judge's score ``f ~ N(3, 1)``; a share ``HARD`` of the items is hard for
the judge, the rest easy: the human label is ``Y = f + bias + e`` with ``e ~ N(0, sigma^2)``, ``bias`` and
``sigma`` being ``BIAS_HARD, SIGMA_HARD`` or ``BIAS_EASY, SIGMA_EASY``: judge error that varies across
items, in size and in direction. The judge's uncertainty on an item is its ``sigma`` times log-normal noise
(a noisy signal, as a panel's spread is; it does not see the bias). The true mean is
``E[Y] = 3 + HARD * BIAS_HARD + (1 - HARD) * BIAS_EASY``. Each replicate draws a new population and a new labelled set with the same budget,
and asks the library for the interval (``ppi_mean`` for uniform draws, ``active_mean`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from judgekit.label.selection import JudgeView, allocate, plan_selection
from judgekit.stats.active import active_mean, active_probabilities
from judgekit.stats.ppi import ppi_mean

HARD = 0.3
BIAS_EASY, SIGMA_EASY = 0.4, 0.2
BIAS_HARD, SIGMA_HARD = -0.3, 1.5
TRUE_MEAN = 3.0 + HARD * BIAS_HARD + (1 - HARD) * BIAS_EASY
STRATEGIES = ("random", "stratified", "uncertain", "active")


@dataclass(frozen=True)
class Outcome:
    """One strategy over all replicates: share of intervals covering the true mean, mean width, mean labels."""

    strategy: str
    coverage: float
    width: float
    labels: float
    replicates: int


def populations(rng: np.random.Generator, reps: int, n_items: int) -> tuple[np.ndarray, ...]:
    """Judge scores, labels and the judge's uncertainty signal, one row per replicate."""
    f = rng.normal(3.0, 1.0, size=(reps, n_items))
    hard = rng.random((reps, n_items)) < HARD
    sigma = np.where(hard, SIGMA_HARD, SIGMA_EASY)
    y = f + np.where(hard, BIAS_HARD, BIAS_EASY) + sigma * rng.normal(size=(reps, n_items))
    signal = sigma * rng.lognormal(0.0, 0.3, size=(reps, n_items))
    return f, y, signal


def labelled_sets(
    strategy: str, f: np.ndarray, signal: np.ndarray, budget: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Which items each replicate labels (bool) and their selection probabilities, per strategy.

    Mirrors ``judgekit.label.selection`` on whole matrices (it draws one plan at a time); the probabilities
    are each design's inclusion probabilities."""
    reps, n_items = f.shape
    if strategy == "random":
        order = np.argsort(rng.random((reps, n_items)), axis=1)
        chosen = np.zeros((reps, n_items), dtype=bool)
        np.put_along_axis(chosen, order[:, :budget], True, axis=1)
        return chosen, np.full((reps, n_items), budget / n_items)
    if strategy == "uncertain":
        order = np.argsort(-signal, axis=1)
        chosen = np.zeros((reps, n_items), dtype=bool)
        np.put_along_axis(chosen, order[:, :budget], True, axis=1)
        return chosen, np.ones((reps, n_items))
    if strategy == "active":
        pi = np.vstack([active_probabilities(row, budget) for row in signal])
        return rng.random((reps, n_items)) < pi, pi
    return _stratified(f, budget, rng)


def _stratified(
    f: np.ndarray, budget: int, rng: np.random.Generator, bins: int = 5
) -> tuple[np.ndarray, ...]:
    reps, n_items = f.shape
    chosen = np.zeros((reps, n_items), dtype=bool)
    prob = np.zeros((reps, n_items))
    for r in range(reps):
        edges = np.linspace(f[r].min(), f[r].max(), bins + 1)[1:-1]
        which = np.searchsorted(edges, f[r], side="right")
        members = [np.flatnonzero(which == b) for b in range(bins)]
        take = allocate([m.size for m in members], budget)
        for m, t in zip(members, take, strict=True):
            if t:
                chosen[r, rng.permutation(m)[:t]] = True
                prob[r, m] = t / m.size
    return chosen, prob


def interval(f: np.ndarray, y: np.ndarray, chosen: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """The library's 95% interval for one replicate: PPI++ when the probabilities are equal, else active."""
    p = prob[chosen]
    if np.ptp(p) <= 1e-12 * p.max():
        res = ppi_mean(y[chosen], f[chosen], f[~chosen]).ppi
    else:
        res = active_mean(f, np.where(chosen, y, np.nan), np.where(chosen, prob, np.nan)).active
    return res.ci_low, res.ci_high


def planned_sets(
    strategy: str, f: np.ndarray, signal: np.ndarray, budget: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`labelled_sets`, but each replicate's plan comes from ``plan_selection`` (what ``judgekit
    label`` offers), one call per replicate."""
    reps, n_items = f.shape
    ids = [f"i{k}" for k in range(n_items)]
    index = {i: k for k, i in enumerate(ids)}
    chosen = np.zeros((reps, n_items), dtype=bool)
    prob = np.zeros((reps, n_items))
    for r in range(reps):
        judge = {
            i: JudgeView(score=float(f[r, k]), uncertainty=float(signal[r, k]), source="samples")
            for k, i in enumerate(ids)
        }
        for pick in plan_selection(ids, strategy, budget, seed + r, judge):  # type: ignore[arg-type]
            chosen[r, index[pick.id]] = True
            prob[r, index[pick.id]] = pick.probability
    return chosen, prob


def simulate(
    strategy: str, reps: int, n_items: int, budget: int, seed: int, *, via_plan: bool = False
) -> Outcome:
    """Coverage of the true mean and mean width of the 95% intervals over ``reps`` budgets."""
    rng = np.random.default_rng(seed)
    f, y, signal = populations(rng, reps, n_items)
    if via_plan:
        chosen, prob = planned_sets(strategy, f, signal, budget, seed)
    else:
        chosen, prob = labelled_sets(strategy, f, signal, budget, rng)
    bounds = np.array([interval(f[r], y[r], chosen[r], prob[r]) for r in range(reps)])
    covered = (bounds[:, 0] <= TRUE_MEAN) & (bounds[:, 1] >= TRUE_MEAN)
    return Outcome(
        strategy=strategy,
        coverage=float(covered.mean()),
        width=float(np.mean(bounds[:, 1] - bounds[:, 0])),
        labels=float(chosen.sum(axis=1).mean()),
        replicates=reps,
    )
