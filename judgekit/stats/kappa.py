"""Cohen's kappa (unweighted, linear, quadratic) and Scott's pi, and a vectorised form for the bootstrap."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray

KappaWeights = Literal["unweighted", "linear", "quadratic"]
KAPPA_WEIGHTS: tuple[KappaWeights, ...] = ("unweighted", "linear", "quadratic")


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa with its ingredients; ``p_o``/``p_e`` are (weighted) agreement proportions."""

    kappa: float
    p_o: float
    p_e: float
    scott_pi: float
    n: int
    weights: KappaWeights = "unweighted"


def disagreement_weights(n_categories: int, weights: KappaWeights) -> FloatArray:
    """Disagreement weights between category positions (0 on the diagonal)."""
    idx = np.arange(n_categories, dtype=np.float64)
    diff = np.abs(idx[:, None] - idx[None, :])
    if weights == "unweighted":
        return (diff > 0).astype(np.float64)
    if weights == "linear":
        return diff
    if weights == "quadratic":
        return diff**2
    raise ValueError(f"unknown kappa weights {weights!r}")


def _kappa_from_table(table: FloatArray, w: FloatArray) -> tuple[float, float, float, float]:
    total = table.sum()
    p = table / total
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    scale = float(w.max()) if w.max() > 0 else 1.0
    p_o = 1.0 - float((w * p).sum()) / scale
    p_e = 1.0 - float((w * np.outer(rows, cols)).sum()) / scale
    pooled = (rows + cols) / 2
    p_e_pi = 1.0 - float((w * np.outer(pooled, pooled)).sum()) / scale
    kappa = (p_o - p_e) / (1.0 - p_e) if p_e < 1.0 else math.nan
    pi = (p_o - p_e_pi) / (1.0 - p_e_pi) if p_e_pi < 1.0 else math.nan
    return kappa, p_o, p_e, pi


def cohen_kappa(
    a: Sequence[Hashable] | npt.ArrayLike,
    b: Sequence[Hashable] | npt.ArrayLike,
    *,
    weights: KappaWeights = "unweighted",
    categories: Sequence[Hashable] | None = None,
) -> KappaResult:
    """Cohen's kappa of two raters over the same items (also Scott's pi on the same table).

    ``categories`` fixes the category order (needed for linear / quadratic weights, which use the distance
    between category positions); by default the sorted union of observed values.
    """
    la, lb = list(np.asarray(a).tolist()), list(np.asarray(b).tolist())
    if len(la) != len(lb):
        raise ValueError("the two raters must label the same items")
    if not la:
        raise ValueError("no items")
    cats = list(categories) if categories is not None else sorted(set(la) | set(lb), key=_sort_key)
    index = {c: i for i, c in enumerate(cats)}
    missing = [v for v in (*la, *lb) if v not in index]
    if missing:
        raise ValueError(f"value {missing[0]!r} is not among the categories")
    K = len(cats)
    table = np.zeros((K, K))
    np.add.at(table, ([index[v] for v in la], [index[v] for v in lb]), 1.0)
    kappa, p_o, p_e, pi = _kappa_from_table(table, disagreement_weights(K, weights))
    return KappaResult(kappa, p_o, p_e, pi, len(la), weights)


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, int | float | np.integer | np.floating):
        return (0, float(v))
    return (1, str(v))


class WeightedKappa:
    """Cohen's kappa (all three weightings) under many item-weight vectors (bootstrap)."""

    def __init__(self, a_codes: npt.ArrayLike, b_codes: npt.ArrayLike, n_categories: int) -> None:
        ia = np.asarray(a_codes, dtype=np.int64)
        ib = np.asarray(b_codes, dtype=np.int64)
        self.K = n_categories
        self.onehot = np.zeros((ia.size, self.K * self.K), dtype=np.float32)
        self.onehot[np.arange(ia.size), ia * self.K + ib] = 1.0

    def __call__(self, item_weights: npt.ArrayLike) -> dict[KappaWeights, FloatArray]:
        W = np.asarray(item_weights, dtype=np.float32)
        tables = (W @ self.onehot).astype(np.float64).reshape(-1, self.K, self.K)
        tot = tables.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = tables / tot[:, None, None]
            expected = p.sum(axis=2)[:, :, None] * p.sum(axis=1)[:, None, :]
            out: dict[KappaWeights, FloatArray] = {}
            for name in KAPPA_WEIGHTS:
                w = disagreement_weights(self.K, name)
                do = (p * w).sum(axis=(1, 2))
                de = (expected * w).sum(axis=(1, 2))
                out[name] = np.where(de > 0, 1.0 - do / de, np.nan)
        return out
