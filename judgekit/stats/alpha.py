"""Krippendorff's alpha: the point value (``krippendorff`` package), its parts, and a vectorised form.

The package computes the point value so the textbook figures reproduce; ``WeightedAlpha`` recomputes alpha
from the coincidence matrix for many unit weightings at once (the bootstrap over units).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray

AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]
ALPHA_LEVELS: tuple[AlphaLevel, ...] = ("nominal", "ordinal", "interval", "ratio")


def _reliability_matrix(
    data: Sequence[Sequence[Any]] | npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """Encode a coders × units table (``None``/``NaN`` = missing) as value codes (-1 = missing) + domain."""
    rows = [list(r) for r in cast(Iterable[Iterable[Any]], data)]
    if not rows:
        raise ValueError("no coders")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError("every coder row must cover the same units")
    present = [v for r in rows for v in r if not _missing(v)]
    numeric = all(isinstance(v, int | float | np.integer | np.floating) for v in present)
    domain = sorted(set(present), key=float if numeric else str)
    index = {v: i for i, v in enumerate(domain)}
    codes = np.array([[(-1 if _missing(v) else index[v]) for v in r] for r in rows], dtype=np.int64)
    return codes, domain


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float | np.floating) and math.isnan(v))


def _value_counts(codes: npt.NDArray[np.int64], n_values: int) -> FloatArray:
    """(units × values) number of coders giving each value to each unit."""
    n_units = codes.shape[1]
    counts = np.zeros((n_units, n_values))
    for row in codes:
        ok = row >= 0
        np.add.at(counts, (np.flatnonzero(ok), row[ok]), 1.0)
    return counts


def krippendorff_alpha(data: Sequence[Sequence[Any]] | npt.ArrayLike, level: AlphaLevel) -> float:
    """Krippendorff's alpha of a coders × units table via the ``krippendorff`` package.

    ``None``/``NaN`` mark missing values; units with fewer than two values are not pairable and drop out.
    String categories are allowed for the nominal level. The package's ordinal metric is Krippendorff's
    rank-based one (built from the pooled value frequencies), so the textbook values reproduce.
    """
    import krippendorff

    codes, domain = _reliability_matrix(data)
    if level not in ALPHA_LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if level != "nominal" and not all(isinstance(v, int | float | np.integer | np.floating) for v in domain):
        raise ValueError(f"{level} alpha needs numeric values")
    counts = _value_counts(codes, len(domain))
    pairable = counts.sum(axis=1) >= 2
    if len(domain) < 2 or pairable.sum() == 0:
        return math.nan
    counts = counts[pairable]
    if np.count_nonzero(counts.sum(axis=0)) < 2:
        return math.nan  # every pairable value identical: no variation to agree about
    domain_arr = np.arange(len(domain)) if level == "nominal" else np.asarray(domain, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = krippendorff.alpha(value_counts=counts, value_domain=domain_arr, level_of_measurement=level)
    return float(value)


@dataclass(frozen=True)
class AlphaDetails:
    """Krippendorff's alpha with its parts: observed and expected disagreement and observed agreement.

    ``percent_agreement`` is the share of pairable value pairs that match (the diagonal of the coincidence
    matrix), which for two coders without missing values is the share of units coded identically.
    """

    alpha: float
    d_o: float
    d_e: float
    percent_agreement: float
    n_pairable: int


def alpha_details(data: Sequence[Sequence[Any]] | npt.ArrayLike, level: AlphaLevel) -> AlphaDetails:
    """``krippendorff_alpha`` plus D_o, D_e and the observed agreement, from the coincidence matrix."""
    alpha = krippendorff_alpha(data, level)
    plan = WeightedAlpha(data, (level,), max_cells=2**62)
    coinc = plan.coinc.sum(axis=0).reshape(plan.V, plan.V)
    n_c = coinc.sum(axis=1)
    n = float(n_c.sum())
    d = _delta2(level, plan.values, n_c[None, :])[0]
    d_o = float((coinc * d).sum() / n) if n else math.nan
    d_e = float((np.outer(n_c, n_c) * d).sum() / (n * (n - 1))) if n > 1 else math.nan
    agree = float(np.trace(coinc) / n) if n else math.nan
    return AlphaDetails(alpha, d_o, d_e, agree, round(n))


def _delta2(level: AlphaLevel, values: FloatArray, n_c: FloatArray) -> FloatArray:
    """Squared distance matrices (resamples × V × V) for the four metrics; ``n_c`` is (resamples × V)."""
    V = values.size
    if level == "nominal":
        d = 1.0 - np.eye(V)
        return np.broadcast_to(d, (n_c.shape[0], V, V))
    if level == "interval":
        d = (values[:, None] - values[None, :]) ** 2
        return np.broadcast_to(d, (n_c.shape[0], V, V))
    if level == "ratio":
        total = values[:, None] + values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(total != 0, ((values[:, None] - values[None, :]) / total) ** 2, 0.0)
        return np.broadcast_to(d, (n_c.shape[0], V, V))
    # ordinal: (sum of n_g for g between c and k, minus half of n_c and n_k) squared
    cs = np.cumsum(n_c, axis=1)
    lo = np.minimum(np.arange(V)[:, None], np.arange(V)[None, :])
    hi = np.maximum(np.arange(V)[:, None], np.arange(V)[None, :])
    between = cs[:, hi] - cs[:, lo] + n_c[:, lo]
    return (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2


class WeightedAlpha:
    """Krippendorff's alpha under many unit-weight vectors at once (for the bootstrap over units).

    The coincidence matrix is a sum of per-unit contributions, so for a weight matrix ``W`` (resamples ×
    units) it is one matrix product; alpha then follows per resample. Usable when the per-unit coincidence
    table (units × values²) stays within ``max_cells`` entries; otherwise ``available`` is False (and the
    caller reports alpha without an interval).
    """

    def __init__(
        self,
        data: Sequence[Sequence[Any]] | npt.ArrayLike,
        levels: Sequence[AlphaLevel],
        max_cells: int = 20_000_000,
    ) -> None:
        codes, domain = _reliability_matrix(data)
        self.levels = tuple(levels)
        self.V = len(domain)
        self.n_units = codes.shape[1]
        self.available = self.V >= 2 and self.n_units * self.V * self.V <= max_cells
        numeric = all(isinstance(v, int | float | np.integer | np.floating) for v in domain)
        self.values = np.asarray(domain, dtype=np.float64) if numeric else np.arange(self.V, dtype=np.float64)
        if not self.available:
            self.coinc = np.zeros((self.n_units, 0))
            return
        counts = _value_counts(codes, self.V)
        m = counts.sum(axis=1)
        pairable = m >= 2
        outer = counts[:, :, None] * counts[:, None, :]
        outer[:, np.arange(self.V), np.arange(self.V)] -= counts
        with np.errstate(invalid="ignore", divide="ignore"):
            per_unit = outer / np.where(pairable, m - 1, 1.0)[:, None, None]
        per_unit[~pairable] = 0.0
        self.coinc = per_unit.reshape(self.n_units, self.V * self.V)

    def __call__(self, unit_weights: npt.ArrayLike) -> dict[AlphaLevel, FloatArray]:
        W = np.asarray(unit_weights, dtype=np.float64)
        if W.ndim == 1:
            W = W[None, :]
        if not self.available:
            return {lv: np.full(W.shape[0], np.nan) for lv in self.levels}
        coinc = (W @ self.coinc).reshape(-1, self.V, self.V)
        n_c = coinc.sum(axis=2)
        n = n_c.sum(axis=1)
        out: dict[AlphaLevel, FloatArray] = {}
        for lv in self.levels:
            d = _delta2(lv, self.values, n_c)
            observed = (coinc * d).sum(axis=(1, 2))
            expected = np.einsum("bc,bk,bck->b", n_c, n_c, d)
            with np.errstate(invalid="ignore", divide="ignore"):
                a = 1.0 - (n - 1) * observed / expected
            out[lv] = np.where((expected > 0) & ((n_c > 0).sum(axis=1) >= 2), a, np.nan)
        return out
