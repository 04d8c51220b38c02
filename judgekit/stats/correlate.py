"""Point correlations (Pearson, Spearman, Kendall tau-b): pooled, row by row, per group, system level.

Point estimates come from ``scipy.stats`` so published figures reproduce exactly. Correlations are ``NaN``
when either side is constant or fewer than two items remain (scipy's behaviour); per-group averages skip such
groups (the G-Eval / SummEval / HANNA convention). Kendall's tau is tau-b (ties corrected), Spearman uses
average ranks for ties.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from judgekit.stats.arrays import CHUNK_ELEMENTS, FloatArray, IntArray, as_vector

Method = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[Method, ...] = ("pearson", "spearman", "kendall")


def _constant(arr: FloatArray) -> bool:
    return bool(arr.size == 0 or np.all(arr == arr[0]))


def correlation(x: npt.ArrayLike, y: npt.ArrayLike, method: Method) -> float:
    """Pearson, Spearman or Kendall tau-b of two equal-length vectors (scipy); ``NaN`` if undefined."""
    xa, ya = as_vector(x, "x"), as_vector(y, "y")
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in length ({xa.size} vs {ya.size})")
    if xa.size < 2 or _constant(xa) or _constant(ya):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "pearson":
            r = stats.pearsonr(xa, ya).statistic
        elif method == "spearman":
            r = stats.spearmanr(xa, ya).statistic
        elif method == "kendall":
            r = stats.kendalltau(xa, ya, variant="b").statistic
        else:
            raise ValueError(f"unknown correlation method {method!r}")
    return float(r)


def correlations(x: npt.ArrayLike, y: npt.ArrayLike) -> dict[Method, float]:
    """All three correlations of ``x`` and ``y`` (pooled over items)."""
    return {m: correlation(x, y, m) for m in METHODS}


def factorize(values: Sequence[Hashable] | npt.ArrayLike) -> tuple[IntArray, list[Any]]:
    """Integer codes (in order of first appearance) and the list of distinct keys."""
    index: dict[Any, int] = {}
    codes = np.empty(len(values), dtype=np.int64)  # type: ignore[arg-type]
    for i, v in enumerate(values):  # type: ignore[arg-type]
        key = v.item() if isinstance(v, np.generic) else v
        codes[i] = index.setdefault(key, len(index))
    return codes, list(index)


def rowwise_correlations(x: npt.ArrayLike, y: npt.ArrayLike, method: Method) -> FloatArray:
    """Correlation of each row of ``x`` with the same row of ``y`` (2-D, ``NaN`` = missing cell).

    Rows with fewer than two complete pairs or a constant side give ``NaN`` (as scipy does). Equal to
    scipy's figures row by row to floating-point rounding; vectorised over rows.
    """
    X = np.array(x, dtype=np.float64, ndmin=2)
    Y = np.array(y, dtype=np.float64, ndmin=2)
    if X.shape != Y.shape:
        raise ValueError("x and y must have the same shape")
    mask = np.isfinite(X) & np.isfinite(Y)
    X = np.where(mask, X, np.nan)
    Y = np.where(mask, Y, np.nan)
    n = mask.sum(axis=1)
    out = np.full(X.shape[0], np.nan)
    if X.shape[1] == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        varying = (n >= 2) & (np.nanmax(X, axis=1) > np.nanmin(X, axis=1))
        varying &= np.nanmax(Y, axis=1) > np.nanmin(Y, axis=1)
    if not varying.any():
        return out
    rows = np.flatnonzero(varying)
    Xv, Yv, Mv = X[rows], Y[rows], mask[rows]
    if method == "pearson":
        out[rows] = _masked_pearson(Xv, Yv, Mv)
    elif method == "spearman":
        rx = stats.rankdata(Xv, axis=1, nan_policy="omit")
        ry = stats.rankdata(Yv, axis=1, nan_policy="omit")
        out[rows] = _masked_pearson(rx, ry, Mv)
    elif method == "kendall":
        out[rows] = _masked_kendall(Xv, Yv)
    else:
        raise ValueError(f"unknown correlation method {method!r}")
    return out


def _masked_pearson(X: FloatArray, Y: FloatArray, M: npt.NDArray[np.bool_]) -> FloatArray:
    n = M.sum(axis=1)
    Xz = np.where(M, X, 0.0)
    Yz = np.where(M, Y, 0.0)
    dx = np.where(M, Xz - (Xz.sum(axis=1) / n)[:, None], 0.0)
    dy = np.where(M, Yz - (Yz.sum(axis=1) / n)[:, None], 0.0)
    # the same steps as scipy.stats.pearsonr (scaled norms), so that even values near the subnormal range
    # (1e-318 in HANNA's CIDEr column) give scipy's figures to the last digit
    mx = np.abs(dx).max(axis=1, keepdims=True)
    my = np.abs(dy).max(axis=1, keepdims=True)
    norm_x = mx * np.sqrt(((dx / mx) ** 2).sum(axis=1, keepdims=True))
    norm_y = my * np.sqrt(((dy / my) ** 2).sum(axis=1, keepdims=True))
    r: FloatArray = np.clip(((dx / norm_x) * (dy / norm_y)).sum(axis=1), -1.0, 1.0)
    return r


def _masked_kendall(X: FloatArray, Y: FloatArray) -> FloatArray:
    rows, width = X.shape
    out = np.empty(rows)
    if width > 400:  # pair matrices would be large: scipy per row
        for i in range(rows):
            m = np.isfinite(X[i])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[i] = stats.kendalltau(X[i, m], Y[i, m]).statistic
        return out
    iu, ju = np.triu_indices(width, 1)
    step = max(1, CHUNK_ELEMENTS // max(1, iu.size))
    for s in range(0, rows, step):
        dx = X[s : s + step, ju] - X[s : s + step, iu]
        dy = Y[s : s + step, ju] - Y[s : s + step, iu]
        valid = np.isfinite(dx)  # NaN in x <=> NaN in y (masked together)
        sx = np.sign(np.where(valid, dx, 0.0))
        sy = np.sign(np.where(valid, dy, 0.0))
        n0 = valid.sum(axis=1).astype(np.float64)
        n1 = (valid & (dx == 0)).sum(axis=1)
        n2 = (valid & (dy == 0)).sum(axis=1)
        out[s : s + step] = (sx * sy).sum(axis=1) / np.sqrt((n0 - n1) * (n0 - n2))
    return np.clip(out, -1.0, 1.0)


def _pad_groups(values: FloatArray, codes: IntArray, n_groups: int) -> FloatArray:
    """Lay items out as a (groups × max group size) matrix, ``NaN``-padded, keeping item order."""
    sizes = np.bincount(codes, minlength=n_groups)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(codes.size) - starts[codes[order]]
    out = np.full((n_groups, int(sizes.max()) if sizes.size else 0), np.nan)
    out[codes[order], pos] = values[order]
    return out


def per_group_correlations(
    x: npt.ArrayLike, y: npt.ArrayLike, groups: Sequence[Hashable] | npt.ArrayLike
) -> tuple[list[Any], dict[Method, FloatArray]]:
    """Correlation within each group: ``(group keys, {method: per-group values})``; ``NaN`` = skipped group."""
    xa, ya = as_vector(x, "x"), as_vector(y, "y")
    codes, keys = factorize(groups)
    if codes.size != xa.size or ya.size != xa.size:
        raise ValueError("x, y and groups must have the same length")
    X = _pad_groups(xa, codes, len(keys))
    Y = _pad_groups(ya, codes, len(keys))
    return keys, {m: rowwise_correlations(X, Y, m) for m in METHODS}


def group_averaged_correlations(
    x: npt.ArrayLike, y: npt.ArrayLike, groups: Sequence[Hashable] | npt.ArrayLike
) -> dict[Method, float]:
    """Correlate within each group, then average over groups where both sides vary (G-Eval / SummEval)."""
    _, per = per_group_correlations(x, y, groups)
    out: dict[Method, float] = {}
    for m, vals in per.items():
        ok = np.isfinite(vals)
        out[m] = float(vals[ok].mean()) if ok.any() else math.nan
    return out


def system_means(
    values: npt.ArrayLike, systems: Sequence[Hashable] | npt.ArrayLike
) -> tuple[list[Any], FloatArray]:
    """Mean of ``values`` per system: ``(system keys, means)``."""
    va = as_vector(values, "values")
    codes, keys = factorize(systems)
    if codes.size != va.size:
        raise ValueError("values and systems must have the same length")
    # np.mean per system (pairwise summation, in item order): ties between system means then come out
    # exactly as in the usual scripts, which matters for rank correlations over a handful of systems
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(keys)))[:-1]
    return keys, np.array([part.mean() for part in np.split(va[order], bounds)])


def system_correlations(
    x: npt.ArrayLike, y: npt.ArrayLike, systems: Sequence[Hashable] | npt.ArrayLike
) -> dict[Method, float]:
    """Correlation of per-system means (system-level agreement)."""
    _, mx = system_means(x, systems)
    _, my = system_means(y, systems)
    return correlations(mx, my)
