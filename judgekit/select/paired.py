"""Paired differences in agreement between candidates on the same dev items.

Each resample draws the items (whole groups with ``--group``) once and both candidates are measured on it,
so what the two share (which items are hard) cancels in the difference. The resamples are
:func:`judgekit.stats.bootstrap`'s multiplicities and the statistics its weighted forms, as in ``validate``;
the p-values are Holm-adjusted over all pairs (:func:`judgekit.stats.multiple.holm`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from judgekit.select.agreement import KAPPA_WEIGHTS, Agreement
from judgekit.select.result import Pair

FloatArray = npt.NDArray[np.float64]
_Weighted = Callable[[npt.NDArray[np.float32]], FloatArray]


@dataclass(frozen=True)
class Difference:
    """``a - b`` on the shared items: the point value and its bootstrap values."""

    point: float
    boot: FloatArray
    n: int


def _statistic(metric: str, judge: FloatArray, human: FloatArray, groups: Sequence[str] | None,
               scale: list[float] | None) -> tuple[float, _Weighted]:  # fmt: skip
    """The metric's point value, and its value under a (resamples x items) weight matrix."""
    from judgekit import stats as ag

    if metric == "accuracy":  # judge = each pair's correctness: the accuracy is its (weighted) mean
        return float(judge.mean()), lambda w: np.asarray((w @ judge) / w.sum(axis=1), dtype=np.float64)
    if metric == "kappa":
        points = scale or sorted(set(human))
        cats = {p: k for k, p in enumerate(points)}
        a = np.array([cats[v] for v in ag.round_to_scale(judge, points)])
        b = np.array([cats[v] for v in ag.round_to_scale(human, points)])
        weighted = ag.WeightedKappa(a, b, len(points))
        point = ag.cohen_kappa(a, b, weights=KAPPA_WEIGHTS, categories=list(range(len(points)))).kappa
        return float(point), lambda w: np.asarray(weighted(w)[KAPPA_WEIGHTS], dtype=np.float64)
    if metric.endswith("_per_group"):
        method = metric.removesuffix("_per_group")
        assert groups is not None

        def per_group(w: npt.NDArray[np.float32]) -> FloatArray:
            out = np.empty(w.shape[0])
            for r, counts in enumerate(w.astype(np.int64)):
                idx = np.repeat(np.arange(judge.size), counts)
                g = [groups[int(i)] for i in idx]
                out[r] = ag.group_averaged_correlations(judge[idx], human[idx], g)[method]  # type: ignore[index]
            return out

        return ag.group_averaged_correlations(judge, human, list(groups))[method], per_group  # type: ignore[index]
    corr = ag.WeightedCorrelations(judge, human, (metric,))  # type: ignore[arg-type]
    return ag.correlation(judge, human, metric), lambda w: np.asarray(corr(w)[metric], dtype=np.float64)  # type: ignore[arg-type, index]


def difference(a: Agreement, b: Agreement, metric: str, groups: dict[str, str] | None, n_boot: int,
               seed: int) -> Difference | None:  # fmt: skip
    """``a - b`` on the items both scored (``None`` when fewer than 3 are shared)."""
    from judgekit import stats as ag

    b_at = {i: k for k, i in enumerate(b.ids)}
    shared = [k for k, i in enumerate(a.ids) if i in b_at]
    if len(shared) < 3:
        return None
    ids = [a.ids[k] for k in shared]
    human = np.array([a.human[k] for k in shared])
    ja = np.array([a.judge[k] for k in shared])
    jb = np.array([b.judge[b_at[i]] for i in ids])
    g = [groups[i] for i in ids] if groups is not None else None
    pa, fa = _statistic(metric, ja, human, g, a.scale)
    pb, fb = _statistic(metric, jb, human, g, b.scale)
    codes = ag.factorize(g)[0] if g is not None else None
    boot = ag.bootstrap(
        {"d": lambda r: fa(r.items) - fb(r.items)}, len(ids), groups=codes, n_boot=n_boot, seed=seed
    )
    return Difference(pa - pb, boot.get("d", np.empty(0)), len(ids))


def two_sided_p(boot: FloatArray) -> float | None:
    """The bootstrap p-value of ``difference == 0``: twice the smaller tail share at zero."""
    ok = boot[np.isfinite(boot)]
    if ok.size == 0:
        return None
    below = (1 + int(np.count_nonzero(ok <= 0))) / (ok.size + 1)
    above = (1 + int(np.count_nonzero(ok >= 0))) / (ok.size + 1)
    return min(1.0, 2 * min(below, above))


def non_inferior_p(boot: FloatArray, margin: float) -> float | None:
    """One-sided bootstrap p-value of ``H0: difference <= -margin`` (small: non-inferior at the margin)."""
    ok = boot[np.isfinite(boot)]
    if ok.size == 0:
        return None
    return (1 + int(np.count_nonzero(ok <= -margin))) / (ok.size + 1)


def ci(boot: FloatArray, confidence: float = 0.95) -> tuple[float | None, float | None]:
    from judgekit.stats.resampling import percentile_ci

    lo, hi, _ = percentile_ci(boot, confidence)
    return lo, hi


def all_pairs(found: dict[str, Agreement], metric: str, groups: dict[str, str] | None, n_boot: int,
              seed: int) -> list[Pair]:  # fmt: skip
    """Every pair of measured candidates (in candidate order), Holm-adjusted over the pairs."""
    from judgekit.stats.multiple import holm

    names = list(found)
    pairs: list[Pair] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = difference(found[a], found[b], metric, groups, n_boot, seed)
            if d is None:
                pairs.append(
                    Pair(a=a, b=b, difference=None, ci_low=None, ci_high=None, p=None, p_adjusted=None)
                )
                continue
            lo, hi = ci(d.boot)
            pairs.append(Pair(a=a, b=b, difference=d.point, ci_low=lo, ci_high=hi, p=two_sided_p(d.boot),
                              p_adjusted=None, n=d.n))  # fmt: skip
    adjusted: Sequence[float] = (
        holm([np.nan if p.p is None else p.p for p in pairs]).tolist() if pairs else []
    )
    for pair, adj in zip(pairs, adjusted, strict=True):
        pair.p_adjusted = None if not np.isfinite(adj) else float(adj)
    return pairs
