"""Scale use and bias of a judge: rounding to the scale, share of each scale point, mean offset to humans."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray, as_vector


def round_to_scale(values: npt.ArrayLike, points: Sequence[float]) -> FloatArray:
    """Nearest scale point for each value (halfway values go to the higher point)."""
    v = np.asarray(values, dtype=np.float64)
    pts = np.asarray(sorted(points), dtype=np.float64)
    if pts.size == 0:
        raise ValueError("empty scale")
    hi = np.clip(np.searchsorted(pts, v, side="left"), 0, pts.size - 1)
    lo = np.clip(hi - 1, 0, pts.size - 1)
    choose_lo = (v - pts[lo]) < (pts[hi] - v)
    return np.where(choose_lo, pts[lo], pts[hi])


def score_shares(values: npt.ArrayLike, points: Sequence[float]) -> dict[float, float]:
    """Share of each scale point among ``values`` (values are rounded to the scale first)."""
    v = round_to_scale(values, points)
    if v.size == 0:
        return {float(p): math.nan for p in points}
    return {float(p): float(np.mean(v == p)) for p in sorted(points)}


def mean_offset(
    judge: npt.ArrayLike, human: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FloatArray:
    """Mean judge-minus-human offset; with a (resamples × items) weight matrix, one value per resample."""
    d = as_vector(judge, "judge") - as_vector(human, "human")
    if weights is None:
        return np.asarray([d.mean()])
    W = np.asarray(weights, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((W @ d) / W.sum(axis=1))
