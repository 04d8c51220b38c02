"""Paired tests of a drop: ``candidate - baseline`` per shared question, one-sided, deterministic for a seed.

The gate's regression check uses :func:`paired_test`: a sign-flip randomisation test (exact for small ``n``) or a
shifted-null paired bootstrap, with a percentile bootstrap CI of the mean difference and Cohen's d_z. Resamples
are drawn in chunks so that memory stays bounded for large ``n`` and many resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

FloatArray = npt.NDArray[np.float64]


class PairedStats(BaseModel):
    """The paired comparison: ``diff = candidate - baseline`` per shared question."""

    n: int
    mean_baseline: float
    mean_candidate: float
    mean_diff: float
    ci_low: float | None
    ci_high: float | None
    confidence: float
    p_value: float
    test: str
    null_diff: float
    resamples: int
    exact: bool
    cohen_dz: float | None
    seed: int
    sd_diff: float | None = None


#: Target number of array elements per chunk of resamples.
_CHUNK = 2_000_000


def _chunks(total: int, width: int) -> list[int]:
    size = max(1, min(total, _CHUNK // max(width, 1)))
    return [min(size, total - start) for start in range(0, total, size)]


def bootstrap_means(diffs: FloatArray, resamples: int, seed: int) -> FloatArray:
    """Means of ``resamples`` bootstrap resamples of ``diffs`` (questions drawn with replacement)."""
    n = diffs.size
    rng = np.random.default_rng(seed)
    out = [diffs[rng.integers(0, n, size=(size, n))].mean(axis=1) for size in _chunks(resamples, n)]
    return np.concatenate(out) if out else np.empty(0)


def sign_flip_means(centred: FloatArray, resamples: int, seed: int) -> tuple[FloatArray, bool]:
    """Means of ``centred`` under random sign flips; every one of the ``2**n`` flips when that is at most
    ``resamples`` (an exact test). Returns ``(means, exact)``."""
    n = centred.size
    if n <= 20 and 2**n <= resamples:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        signs = 1.0 - 2.0 * ((codes >> np.arange(n, dtype=np.int64)) & 1)
        return (signs @ centred) / n, True
    rng = np.random.default_rng(seed)
    total = float(centred.sum())
    width = (n + 7) // 8
    out = []
    for size in _chunks(resamples, n):
        raw = np.frombuffer(rng.bytes(size * width), dtype=np.uint8).reshape(size, width)
        flipped = np.unpackbits(raw, axis=1, count=n).astype(np.float64)
        out.append((total - 2.0 * (flipped @ centred)) / n)
    return np.concatenate(out), False


def paired_test(
    baseline: Sequence[float] | FloatArray,
    candidate: Sequence[float] | FloatArray,
    *,
    test: Literal["permutation", "bootstrap"] = "permutation",
    null_diff: float = 0.0,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedStats:
    """One-sided paired test of ``H0: mean(candidate - baseline) >= null_diff`` against a drop.

    ``permutation``: sign-flip randomisation test of ``diff - null_diff`` (exact when ``2**n <= resamples``).
    ``bootstrap``: the shifted-null paired bootstrap, ``p = (1 + #{m* - m <= m - null_diff}) / (B + 1)``.
    The CI is always the percentile bootstrap interval of the mean difference. Deterministic for a seed.
    """
    base = np.asarray(baseline, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if base.shape != cand.shape or base.ndim != 1:
        raise ValueError("baseline and candidate must be paired vectors of the same length")
    if base.size == 0:
        raise ValueError("no paired values")
    diffs = cand - base
    n = diffs.size
    mean = float(diffs.mean())
    boot = bootstrap_means(diffs, resamples, seed)
    tail = (1.0 - confidence) / 2.0
    lo, hi = (float(v) for v in np.quantile(boot, [tail, 1.0 - tail]))
    eps = 1e-9 * max(1.0, float(np.abs(diffs).max()))
    exact = False
    if test == "permutation":
        centred = diffs - null_diff
        flipped, exact = sign_flip_means(centred, resamples, seed)
        hits = int(np.count_nonzero(flipped <= centred.mean() + eps))
        p = hits / flipped.size if exact else (1 + hits) / (flipped.size + 1)
        used = int(flipped.size)
    elif test == "bootstrap":
        hits = int(np.count_nonzero(boot - mean <= mean - null_diff + eps))
        p = (1 + hits) / (boot.size + 1)
        used = int(boot.size)
    else:
        raise ValueError(f"unknown test {test!r}")
    sd = float(diffs.std(ddof=1)) if n > 1 else 0.0
    dz = mean / sd if sd > 0 else None
    return PairedStats(
        n=n,
        mean_baseline=float(base.mean()),
        mean_candidate=float(cand.mean()),
        mean_diff=mean,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        p_value=min(1.0, p),
        test=test,
        null_diff=null_diff,
        resamples=used,
        exact=exact,
        cohen_dz=dz,
        seed=seed,
        sd_diff=sd if n > 1 else None,
    )
