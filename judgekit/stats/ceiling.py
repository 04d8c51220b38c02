"""The human ceiling: leave-one-annotator-out agreement, and the judge in the left-out annotator's place."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray, IntArray, as_vector
from judgekit.stats.correlate import METHODS, Method, correlations
from judgekit.stats.resampling import Estimate, Resample, bootstrap, make_estimate
from judgekit.stats.weighted import WeightedCorrelations


@dataclass(frozen=True)
class AnnotatorCeiling:
    annotator: str
    n: int
    human: dict[Method, float]
    judge: dict[Method, float] | None


@dataclass(frozen=True)
class CeilingResult:
    """Leave-one-annotator-out agreement.

    ``human[m]``: mean over annotators of corr(annotator, mean of the other annotators) on the items both
    cover; ``judge[m]``: the same with the judge in the left-out annotator's place (same items, same
    reference), so the two are directly comparable. Annotators with an undefined correlation are skipped.
    """

    human: dict[Method, Estimate]
    judge: dict[Method, Estimate] | None
    per_annotator: list[AnnotatorCeiling]
    n_annotators: int


def leave_one_out_ceiling(
    labels: npt.ArrayLike,
    judge: npt.ArrayLike | None = None,
    *,
    annotators: Sequence[str] | None = None,
    groups: npt.ArrayLike | None = None,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> CeilingResult:
    """The human ceiling: each annotator against the mean of the others, averaged over annotators.

    ``labels`` is annotators × items with ``NaN`` for missing labels; ``judge`` one score per item.
    Raises ``ValueError`` with fewer than two annotators or no item labelled by two of them.
    """
    L = np.array(labels, dtype=np.float64, ndmin=2)
    A, n = L.shape
    names = list(annotators) if annotators is not None else [str(i + 1) for i in range(A)]
    if A < 2:
        raise ValueError("the human ceiling needs at least two annotators")
    present = np.isfinite(L)
    count = present.sum(axis=0)
    total = np.where(present, L, 0.0).sum(axis=0)
    J = None if judge is None else as_vector(judge, "judge")
    plans: list[tuple[IntArray, WeightedCorrelations, WeightedCorrelations | None]] = []
    per: list[AnnotatorCeiling] = []
    for a in range(A):
        items = np.flatnonzero(present[a] & (count >= 2))
        if items.size < 2:
            continue
        mine = L[a, items]
        others = (total[items] - mine) / (count[items] - 1)
        h = correlations(mine, others)
        j = correlations(J[items], others) if J is not None else None
        per.append(AnnotatorCeiling(names[a], int(items.size), h, j))
        if n_boot > 0:
            jp = WeightedCorrelations(J[items], others) if J is not None else None
            plans.append((items, WeightedCorrelations(mine, others), jp))
    if not per:
        raise ValueError("no item has labels from two annotators, so there is no human ceiling")

    def avg(vals: list[float]) -> float:
        arr = np.asarray(vals)
        ok = np.isfinite(arr)
        return float(arr[ok].mean()) if ok.any() else math.nan

    def boot_fn(r: Resample) -> dict[str, FloatArray]:
        hs: dict[str, list[FloatArray]] = {}
        for items, hp, jp in plans:
            W = r.items[:, items]
            for m, v in hp(W).items():
                hs.setdefault(f"human.{m}", []).append(v)
            if jp is not None:
                for m, v in jp(W).items():
                    hs.setdefault(f"judge.{m}", []).append(v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {k: np.nanmean(np.stack(v), axis=0) for k, v in hs.items()}

    boot = bootstrap({"c": boot_fn}, n, groups=groups, n_boot=n_boot, seed=seed) if n_boot > 0 else {}
    human = {
        m: make_estimate(avg([p.human[m] for p in per]), boot.get(f"c.human.{m}"), len(per), level)
        for m in METHODS
    }
    judge_est = None
    if J is not None:
        judge_est = {
            m: make_estimate(
                avg([p.judge[m] for p in per if p.judge]), boot.get(f"c.judge.{m}"), len(per), level
            )
            for m in METHODS
        }
    return CeilingResult(human, judge_est, per, A)
