"""Correlation summary: pooled, per-group-averaged and system-level correlations with bootstrap CIs.

With groups the bootstrap resamples whole groups; otherwise items. Every level is computed on the same
resamples (one ``bootstrap`` call).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import F32Array, FloatArray, IntArray, as_vector
from judgekit.stats.correlate import (
    METHODS,
    Method,
    correlations,
    factorize,
    per_group_correlations,
    rowwise_correlations,
    system_correlations,
)
from judgekit.stats.resampling import Estimate, Resample, StatFn, bootstrap, make_estimate
from judgekit.stats.weighted import WeightedCorrelations


def _weighted_group_means(values: FloatArray, codes: IntArray, n_codes: int, W: F32Array) -> FloatArray:
    """(resamples × codes) weighted means of ``values`` per code; ``NaN`` where a code has no weight."""
    onehot = np.zeros((values.size, n_codes))
    onehot[np.arange(values.size), codes] = 1.0
    W64 = W.astype(np.float64)
    den = W64 @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return (W64 @ (onehot * values[:, None])) / np.where(den > 0, den, np.nan)


@dataclass(frozen=True)
class CorrelationSummary:
    """Correlations at the three levels, each an ``Estimate`` per method.

    ``per_group`` is ``None`` without groups, ``system`` ``None`` without systems.
    ``groups_used[method]`` counts groups where both sides vary (others are skipped, not scored 0).
    """

    pooled: dict[Method, Estimate]
    per_group: dict[Method, Estimate] | None = None
    system: dict[Method, Estimate] | None = None
    n_items: int = 0
    n_groups: int = 0
    groups_used: dict[Method, int] = field(default_factory=dict)
    n_systems: int = 0
    resampled: str = "items"


def _codes(values: Sequence[Hashable] | npt.ArrayLike, n: int, what: str) -> tuple[IntArray, int]:
    """Integer codes of ``values`` (one per item) and the number of distinct keys."""
    codes, keys = factorize(values)
    if codes.size != n:
        raise ValueError(f"{what} must have one entry per item")
    return codes, len(keys)


def _group_average(per_vals: dict[Method, FloatArray]) -> StatFn:
    """Per resample: the mean of the fixed per-group correlations, weighted by how often each group was drawn."""

    def per_group(r: Resample) -> dict[str, FloatArray]:
        res: dict[str, FloatArray] = {}
        for m, vals in per_vals.items():
            ok = np.isfinite(vals)
            with np.errstate(invalid="ignore", divide="ignore"):
                res[m] = (r.units[:, ok].astype(np.float64) @ vals[ok]) / r.units[:, ok].sum(axis=1)
        return res

    return per_group


def _system_level(xa: FloatArray, ya: FloatArray, codes: IntArray, n_sys: int) -> StatFn:
    """Per resample: the correlations of the resampled per-system means."""

    def system(r: Resample) -> dict[str, FloatArray]:
        mx = _weighted_group_means(xa, codes, n_sys, r.items)
        my = _weighted_group_means(ya, codes, n_sys, r.items)
        return {m: rowwise_correlations(mx, my, m) for m in METHODS}

    return system


def correlation_summary(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    groups: Sequence[Hashable] | npt.ArrayLike | None = None,
    systems: Sequence[Hashable] | npt.ArrayLike | None = None,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> CorrelationSummary:
    """Pooled, per-group-averaged and system-level correlations with percentile bootstrap CIs.

    With ``groups`` the bootstrap resamples whole groups (and the per-group average is the weighted mean
    of the fixed per-group correlations over the resampled groups); otherwise items are resampled.
    """
    xa, ya = as_vector(x, "x"), as_vector(y, "y")
    n = xa.size
    codes: IntArray | None = None
    per_vals: dict[Method, FloatArray] = {}
    if groups is not None:
        codes, _ = _codes(groups, n, "groups")
        _, per_vals = per_group_correlations(xa, ya, groups)
    sys_codes: IntArray | None = None
    n_sys = 0
    if systems is not None:
        sys_codes, n_sys = _codes(systems, n, "systems")
    pooled_point = correlations(xa, ya)
    plan = WeightedCorrelations(xa, ya)
    fns: dict[str, StatFn] = {"pooled": lambda r: {str(k): v for k, v in plan(r.items).items()}}
    if codes is not None:
        fns["group"] = _group_average(per_vals)
    if sys_codes is not None:
        fns["system"] = _system_level(xa, ya, sys_codes, n_sys)
    boot = bootstrap(fns, n, groups=codes, n_boot=n_boot, seed=seed)

    def est(prefix: str, m: Method, value: float, count: int) -> Estimate:
        return make_estimate(value, boot.get(f"{prefix}.{m}") if n_boot > 0 else None, count, level)

    pooled = {m: est("pooled", m, pooled_point[m], n) for m in METHODS}
    per_group_est: dict[Method, Estimate] | None = None
    used: dict[Method, int] = {}
    if codes is not None:
        per_group_est = {}
        for m in METHODS:
            ok = np.isfinite(per_vals[m])
            used[m] = int(ok.sum())
            per_group_est[m] = est(
                "group", m, float(per_vals[m][ok].mean()) if ok.any() else math.nan, used[m]
            )
    system_est: dict[Method, Estimate] | None = None
    if sys_codes is not None:
        sys_point = system_correlations(xa, ya, sys_codes)
        system_est = {m: est("system", m, sys_point[m], n_sys) for m in METHODS}
    return CorrelationSummary(
        pooled=pooled,
        per_group=per_group_est,
        system=system_est,
        n_items=n,
        n_groups=len(per_vals["pearson"]) if codes is not None else 0,
        groups_used=used,
        n_systems=n_sys,
        resampled="groups" if codes is not None else "items",
    )
