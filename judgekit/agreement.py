"""Agreement statistics between judge scores and human labels: plain functions over numpy arrays.

Everything here is independent of file formats (``judgekit.validate`` does the loading). Point estimates come
from the field's libraries (``scipy.stats`` for Pearson / Spearman / Kendall tau-b, the ``krippendorff``
package for alpha) so published figures reproduce exactly; the bootstrap re-implements the same statistics
in a vectorised, weighted form: a bootstrap resample is a vector of multiplicities over the original items,
and every statistic is computed for a whole chunk of resamples at once.

Conventions
  * Correlations are ``NaN`` when either side is constant or fewer than two items remain (scipy's behaviour);
    per-group averages skip such groups (the G-Eval / SummEval / HANNA convention).
  * Kendall's tau is tau-b (ties corrected), Spearman uses average ranks for ties.
  * Bootstrap confidence intervals are percentile intervals over ``n_boot`` resamples drawn from a seeded
    ``numpy.random.Generator``; with groups, whole groups are resampled. Resamples in which a statistic is
    undefined are left out of its interval and counted (``Estimate.n_boot``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

Method = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[Method, ...] = ("pearson", "spearman", "kendall")
AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]
ALPHA_LEVELS: tuple[AlphaLevel, ...] = ("nominal", "ordinal", "interval", "ratio")
KappaWeights = Literal["unweighted", "linear", "quadratic"]
KAPPA_WEIGHTS: tuple[KappaWeights, ...] = ("unweighted", "linear", "quadratic")

#: Items per diagonal block in the vectorised Kendall tau-b (see ``WeightedCorrelations``).
KENDALL_BLOCK = 128
#: Target number of array elements per chunk of resamples (bounds memory at ~40 MB per array).
_CHUNK_ELEMENTS = 2_500_000


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile bootstrap interval.

    ``n`` is the number of items (or units) the point estimate used; ``n_boot`` the number of resamples in
    which the statistic was defined (``ci_low``/``ci_high`` are ``None`` when no resample was usable or the
    bootstrap was switched off).
    """

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    n_boot: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def percentile_ci(samples: npt.ArrayLike, level: float = 0.95) -> tuple[float | None, float | None, int]:
    """Percentile interval of the finite values in ``samples``: ``(low, high, n_finite)``."""
    arr = np.asarray(samples, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None, None, 0
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(arr, [alpha, 1.0 - alpha])
    return float(lo), float(hi), int(arr.size)


def make_estimate(value: float, samples: npt.ArrayLike | None, n: int, level: float = 0.95) -> Estimate:
    """Bundle a point value with the percentile interval of its bootstrap ``samples``."""
    if samples is None or not math.isfinite(value):
        return Estimate(float(value), None, None, n, 0)
    lo, hi, nb = percentile_ci(samples, level)
    return Estimate(float(value), lo, hi, n, nb)


# --------------------------------------------------------------------------------------------------------
# Point correlations (scipy)
# --------------------------------------------------------------------------------------------------------


def _as_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _constant(arr: FloatArray) -> bool:
    return bool(arr.size == 0 or np.all(arr == arr[0]))


def correlation(x: npt.ArrayLike, y: npt.ArrayLike, method: Method) -> float:
    """Pearson, Spearman or Kendall tau-b of two equal-length vectors (scipy); ``NaN`` if undefined."""
    xa, ya = _as_vector(x, "x"), _as_vector(y, "y")
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
    step = max(1, _CHUNK_ELEMENTS // max(1, iu.size))
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
    xa, ya = _as_vector(x, "x"), _as_vector(y, "y")
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
    va = _as_vector(values, "values")
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


# --------------------------------------------------------------------------------------------------------
# Bootstrap machinery
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resample:
    """A chunk of bootstrap resamples as multiplicities.

    ``units``: (resamples × units) counts of each resampled unit (a group, or an item when there are no
    groups); ``items``: (resamples × items) the same counts spread to the items (an item's weight is its
    group's count). Both float32 (small integers, exact).
    """

    items: F32Array
    units: F32Array


def resamples(
    n_items: int,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = 2000,
    seed: int | None = 0,
    chunk: int | None = None,
) -> Iterator[Resample]:
    """Yield bootstrap resamples in chunks, deterministically for a given ``seed``.

    ``groups`` are integer group codes per item (``factorize``); when given, whole groups are drawn with
    replacement. The random stream does not depend on the chunk size, so every statistic computed from the
    same ``(n_items, groups, n_boot, seed)`` sees the same resamples.
    """
    if groups is None:
        unit_of_item: IntArray | None = None
        n_units = n_items
    else:
        unit_of_item = np.asarray(groups, dtype=np.int64)
        if unit_of_item.shape != (n_items,):
            raise ValueError("groups must give one code per item")
        n_units = int(unit_of_item.max()) + 1 if n_items else 0
    if n_units == 0 or n_boot <= 0:
        return
    rng = np.random.default_rng(seed)
    if chunk is None:
        chunk = max(1, min(n_boot, _CHUNK_ELEMENTS // max(n_items, n_units)))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        units = np.empty((size, n_units), dtype=np.float32)
        for b in range(size):
            units[b] = np.bincount(rng.integers(0, n_units, size=n_units), minlength=n_units)
        items = units if unit_of_item is None else units[:, unit_of_item]
        yield Resample(items=items, units=units)
        done += size


StatFn = Callable[[Resample], FloatArray | Mapping[str, FloatArray]]


def bootstrap(
    statistics: Mapping[str, StatFn],
    n_items: int,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> dict[str, FloatArray]:
    """Evaluate several statistics on the same resamples: ``{name: values over resamples}``.

    Each function receives a ``Resample`` chunk and returns one value per resample, or a mapping of
    sub-names to such arrays (stored as ``"name.sub"``).
    """
    parts: dict[str, list[FloatArray]] = {}
    for res in resamples(n_items, groups=groups, n_boot=n_boot, seed=seed):
        for name, fn in statistics.items():
            out = fn(res)
            if isinstance(out, Mapping):
                for sub, vals in out.items():
                    parts.setdefault(f"{name}.{sub}", []).append(np.asarray(vals, dtype=np.float64))
            else:
                parts.setdefault(name, []).append(np.asarray(out, dtype=np.float64))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _value_blocks(dense_sorted: IntArray, max_block: int) -> list[tuple[int, int, bool]]:
    """Split a sorted run of value codes into blocks of at most ``max_block`` entries, never splitting a value.

    Returns ``(start, end, several_values)``; a value with more entries than ``max_block`` gets a block of its
    own (within it every pair is tied, so it needs no pair matrix).
    """
    if dense_sorted.size == 0:
        return []
    change = np.flatnonzero(np.diff(dense_sorted)) + 1
    starts = np.concatenate([[0], change]).tolist()
    ends = [*change.tolist(), int(dense_sorted.size)]
    blocks: list[tuple[int, int, bool]] = []
    block_start, size, n_values = 0, 0, 0
    for a, b in zip(starts, ends, strict=True):
        if size and size + (b - a) > max_block:
            blocks.append((block_start, a, n_values > 1))
            block_start, size, n_values = a, 0, 0
        size += b - a
        n_values += 1
    blocks.append((block_start, int(dense_sorted.size), n_values > 1))
    return blocks


def _run_starts(sorted_codes: IntArray) -> IntArray:
    if sorted_codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], sorted_codes[1:] != sorted_codes[:-1]])).astype(np.int64)


_PREFIX_BLOCK = 32


def _prefix_sums(A: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``np.cumsum(A, axis=0)`` by blocks: a triangular BLAS product inside each block of rows plus the running
    block totals. Same (exact, for integer weights) result, about three times faster than cumsum."""
    rows, cols = A.shape
    m = _PREFIX_BLOCK
    if rows <= m:
        return np.cumsum(A, axis=0)
    nb = -(-rows // m)
    padded = np.concatenate([A, np.zeros((nb * m - rows, cols), dtype=A.dtype)]) if nb * m > rows else A
    P = np.matmul(np.tril(np.ones((m, m), dtype=A.dtype)), padded.reshape(nb, m, cols))
    totals = P[:, -1, :]
    P += (np.cumsum(totals, axis=0) - totals)[:, None, :]
    out: npt.NDArray[Any] = P.reshape(nb * m, cols)[:rows]
    return out


def _segment_cumsums(A: npt.NDArray[Any], starts: IntArray) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Row-segment sums of ``A`` and their running totals, via one cumulative sum (segments start at ``starts``).

    Returns ``(sums, cumulative)``, each (segments × columns). Exact for integer weights below 2**24.
    """
    cs = _prefix_sums(A)
    if starts.size == A.shape[0]:  # every segment is one row
        return A, cs
    cum = cs[np.append(starts[1:] - 1, A.shape[0] - 1)]
    sums = np.diff(cum, axis=0, prepend=np.zeros((1, A.shape[1]), dtype=cum.dtype))
    return sums, cum


_BLAS_CONTROL: tuple[Callable[[], int], Callable[[int], None]] | bool | None = False


def _blas_thread_control() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """Getter/setter for the thread count of numpy's bundled OpenBLAS, if it can be found (else ``None``)."""
    global _BLAS_CONTROL
    if _BLAS_CONTROL is not False:
        return _BLAS_CONTROL  # type: ignore[return-value]
    _BLAS_CONTROL = None
    try:
        import ctypes
        import glob
        import os

        base = os.path.dirname(np.__file__)
        paths = glob.glob(base + ".libs/*openblas*") + glob.glob(os.path.join(base, ".dylibs", "*openblas*"))
        for path in paths:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    if getter is not None and setter is not None:
                        getter.restype = ctypes.c_int
                        setter.argtypes = [ctypes.c_int]
                        _BLAS_CONTROL = (getter, setter)
                        return _BLAS_CONTROL
    except (OSError, AttributeError):  # pragma: no cover - platform dependent
        _BLAS_CONTROL = None
    return None


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run BLAS single-threaded inside the block (many small products: threads cost more than they give,
    and badly so on a busy machine). A no-op where numpy's OpenBLAS cannot be reached."""
    control = _blas_thread_control()
    if control is None:
        yield
        return
    get, set_ = control
    old = get()
    set_(1)
    try:
        yield
    finally:
        set_(old)


class WeightedCorrelations:
    """Pearson, Spearman and Kendall tau-b of fixed ``x``, ``y`` under many weight vectors at once.

    A bootstrap resample is a vector of integer multiplicities ``w`` over the items; the statistic of the
    resample equals the weighted statistic with those multiplicities (duplicated items are tied pairs, as
    in scipy). Calling the object with a (resamples × items) weight matrix returns one value per resample
    for each method; results equal scipy on the explicitly expanded resample to rounding (about 1e-7 for
    Spearman, whose rank products are formed in float32; Pearson and Kendall are exact to ~1e-13).

    Algorithm. Items are first merged into cells of identical ``(x, y)``. Pearson uses weighted sums (one
    matrix product). Spearman gets the average rank of every distinct value from cumulative weights, and the
    tie-corrected rank variance from ``(N^3 - N - sum(t^3 - t)) / 12``. Kendall's numerator
    ``S = sum_{i<j} w_i w_j sgn(x_j-x_i) sgn(y_j-y_i)`` is split into three disjoint sets of pairs, using
    blocks of about ``block`` cells that never split a tied value: pairs in the same x-block (a dense sign
    matrix per block, one BLAS product for all resamples), pairs in different x-blocks but the same y-block
    (same idea along y), and pairs in different blocks on both axes, whose signs depend only on the block
    indices, so a cumulative sum over the block table and one product with a sign matrix give them. The cost
    is about ``4 * n * block`` multiply-adds per resample plus a few passes over ``(n / block)^2`` entries.
    """

    def __init__(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        methods: Sequence[Method] = METHODS,
        block: int = KENDALL_BLOCK,
    ) -> None:
        xa, ya = _as_vector(x, "x"), _as_vector(y, "y")
        if xa.shape != ya.shape:
            raise ValueError("x and y must have the same length")
        self.methods = tuple(methods)
        self.n = int(xa.size)
        # float32 holds integer weights and their running sums exactly below 2**24.
        self.dtype: type[np.floating[Any]] = np.float32 if self.n < 2**22 else np.float64
        ux, rx = np.unique(xa, return_inverse=True)
        uy, ry = np.unique(ya, return_inverse=True)
        self.kx, self.ky = int(ux.size), int(uy.size)
        ky = max(self.ky, 1)
        cell = rx.astype(np.int64) * ky + ry
        uc, cinv = np.unique(cell, return_inverse=True)
        self.u = int(uc.size)
        self.cell_order = np.argsort(cinv, kind="stable")
        self.cell_starts = _run_starts(cinv[self.cell_order])
        cx = (uc // ky).astype(np.int64)
        cy = (uc % ky).astype(np.int64)
        self.cx, self.cy = cx, cy
        self.x_starts = _run_starts(cx)  # cells are sorted by (cx, cy)
        self.py = np.lexsort((cx, cy))  # cells sorted by (cy, cx)
        self.y_starts = _run_starts(cy[self.py])
        self.inv_py = np.empty_like(self.py)
        self.inv_py[self.py] = np.arange(self.u)
        # Pearson features per cell, centred for numerical stability.
        vx = ux[cx] - xa.mean()
        vy = uy[cy] - ya.mean()
        vx = vx / (np.abs(vx).max() or 1.0)  # scale-free; avoids underflow of tiny values when squared
        vy = vy / (np.abs(vy).max() or 1.0)
        self.features = np.stack([vx, vy, vx * vx, vy * vy, vx * vy])
        if "kendall" in self.methods:
            self._plan_kendall(block)

    def _plan_kendall(self, block: int) -> None:
        cx, cy, py = self.cx, self.cy, self.py
        xblocks = _value_blocks(cx, block)
        xb = np.empty(self.u, dtype=np.int64)
        self.a_terms: list[tuple[int, int, npt.NDArray[Any]]] = []
        for k, (s, e, several) in enumerate(xblocks):
            xb[s:e] = k
            if several:
                sgn = np.sign(cx[s:e][None, :] - cx[s:e][:, None]) * np.sign(
                    cy[s:e][None, :] - cy[s:e][:, None]
                )
                self.a_terms.append((s, e, np.ascontiguousarray(np.triu(sgn, 1).T, dtype=self.dtype)))
        cyy, xby = cy[py], xb[py]
        yblocks = _value_blocks(cyy, block)
        yb = np.empty(self.u, dtype=np.int64)
        self.b_terms: list[tuple[int, int, npt.NDArray[Any]]] = []
        for k, (s, e, several) in enumerate(yblocks):
            yb[py[s:e]] = k
            if several:
                sgn = np.sign(xby[s:e][None, :] - xby[s:e][:, None]) * np.sign(
                    cyy[s:e][None, :] - cyy[s:e][:, None]
                )
                self.b_terms.append((s, e, np.ascontiguousarray(np.triu(sgn, 1).T, dtype=self.dtype)))
        self.nbx, self.nby = len(xblocks), len(yblocks)
        # Sparse cell -> (x-block, y-block) indicator, to build the block table with one product.
        from scipy import sparse

        bid = xb * self.nby + yb
        self.block_matrix = sparse.csr_matrix(
            (np.ones(self.u, dtype=self.dtype), (bid, np.arange(self.u))), shape=(self.nbx * self.nby, self.u)
        )
        # strictly lower triangle: row x sums the earlier x-blocks
        self.before_x = np.tril(np.ones((self.nbx, self.nbx)), -1)
        idx = np.arange(self.nby)
        # sign_y[j, i] = sgn(j - i): a pair (earlier x-block, y-block i) -> (later x-block, y-block j)
        self.sign_y = np.sign(idx[:, None] - idx[None, :]).astype(np.float64)

    def __call__(self, weights: npt.ArrayLike) -> dict[Method, FloatArray]:
        W = np.asarray(weights, dtype=self.dtype)
        if W.ndim == 1:
            W = W[None, :]
        if W.shape[1] != self.n:
            raise ValueError(f"weights have {W.shape[1]} columns, expected {self.n}")
        with single_blas_thread():
            return self._compute(W)

    def _compute(self, W: npt.NDArray[Any]) -> dict[Method, FloatArray]:
        f64 = np.float64
        Wc = np.ascontiguousarray(W.T)[self.cell_order]  # cells × resamples
        if self.u < self.n:
            Wc = _segment_cumsums(Wc, self.cell_starts)[0]
        N = Wc.sum(axis=0, dtype=f64)
        Gx, cum_x = _segment_cumsums(Wc, self.x_starts)
        Wy = Wc[self.py]
        Gy, cum_y = _segment_cumsums(Wy, self.y_starts)
        defined = (N >= 2) & (Gx.max(axis=0) < N) & (Gy.max(axis=0) < N)
        sq_x, cube_x = _power_sums(Gx)
        sq_y, cube_y = _power_sums(Gy)
        out: dict[Method, FloatArray] = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            if "pearson" in self.methods:
                sums = self.features @ Wc.astype(f64)
                mx, my = sums[0] / N, sums[1] / N
                cov = sums[4] / N - mx * my
                var_x = sums[2] / N - mx * mx
                var_y = sums[3] / N - my * my
                out["pearson"] = np.where(defined, np.clip(cov / np.sqrt(var_x * var_y), -1, 1), np.nan)
            if "spearman" in self.methods:
                rho = self._spearman(Wc, N, Gx, cum_x, Gy, cum_y, cube_x - N, cube_y - N)
                out["spearman"] = np.where(defined, rho, np.nan)
            if "kendall" in self.methods:
                s = self._kendall_numerator(Wc, Wy)
                n0 = N * (N - 1) / 2
                n1 = (sq_x - N) / 2  # pairs tied on x
                n2 = (sq_y - N) / 2
                out["kendall"] = np.where(defined, np.clip(s / np.sqrt((n0 - n1) * (n0 - n2)), -1, 1), np.nan)
        return out

    def _spearman(
        self,
        Wc: npt.NDArray[Any],
        N: FloatArray,
        Gx: npt.NDArray[Any],
        cum_x: npt.NDArray[Any],
        Gy: npt.NDArray[Any],
        cum_y: npt.NDArray[Any],
        ties_x: FloatArray,
        ties_y: FloatArray,
    ) -> FloatArray:
        half_n = ((N + 1) / 2).astype(Wc.dtype)
        # centred average rank of each distinct value: cumulative weight - (tie weight - 1) / 2 - (N + 1) / 2
        rank_x = cum_x - (Gx - 1) / 2 - half_n
        rank_y = cum_y - (Gy - 1) / 2 - half_n
        if self.kx < self.u:
            rank_x = rank_x[self.cx]
        # y ranks are per distinct y value, or (no ties) per cell in y order: bring them to cell order
        rank_y = rank_y[self.cy] if self.ky < self.u else rank_y[self.inv_py]
        sxy = ((Wc * rank_x) * rank_y).sum(axis=0, dtype=np.float64)
        n3 = N**3 - N
        sxx = (n3 - ties_x) / 12
        syy = (n3 - ties_y) / 12
        return np.asarray(np.clip(sxy / np.sqrt(sxx * syy), -1, 1))

    def _kendall_numerator(self, Wc: npt.NDArray[Any], Wy: npt.NDArray[Any]) -> FloatArray:
        n_res = Wc.shape[1]
        s = np.zeros(n_res)
        # Pairs inside one x-block, and pairs in different x-blocks but one y-block: dense sign matrices.
        # Products of integer weights stay exact (partial sums far below 2**24).
        # Per-cell terms w_j * (M^T w)_j are at most max(w) * N, exact; summed once at the end in float64.
        terms = np.zeros_like(Wc)
        for a, b, Mt in self.a_terms:
            np.multiply(Wc[a:b], Mt @ Wc[a:b], out=terms[a:b])
        s += terms.sum(axis=0, dtype=np.float64)
        if self.b_terms:
            terms[:] = 0
            for a, b, Mt in self.b_terms:
                np.multiply(Wy[a:b], Mt @ Wy[a:b], out=terms[a:b])
            s += terms.sum(axis=0, dtype=np.float64)
        # Pairs in different blocks on both axes: the signs follow the block indices.
        T = np.asarray(self.block_matrix @ Wc, dtype=np.float64)  # (x-block * y-block) × resamples
        before = (self.before_x @ T.reshape(self.nbx, -1)).reshape(self.nbx, self.nby, n_res)
        D = np.matmul(self.sign_y, before)  # signed weight of earlier-x-block pairs ending in (x, j)
        s += np.einsum("xjb,xjb->b", T.reshape(self.nbx, self.nby, n_res), D)
        return s


def _power_sums(G: npt.NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    """Column sums of G**2 and G**3 (float32 arithmetic is exact while every entry is at most 255)."""
    g = G if (G.dtype == np.float32 and G.size and float(G.max()) <= 255) else G.astype(np.float64)
    g2 = g * g
    s2 = g2.sum(axis=0, dtype=np.float64)
    np.multiply(g2, g, out=g2)
    return s2, g2.sum(axis=0, dtype=np.float64)


def weighted_correlations(
    x: npt.ArrayLike, y: npt.ArrayLike, weights: npt.ArrayLike, methods: Sequence[Method] = METHODS
) -> dict[Method, FloatArray]:
    """Convenience wrapper: ``WeightedCorrelations(x, y, methods)(weights)``."""
    return WeightedCorrelations(x, y, methods)(weights)


def _weighted_group_means(values: FloatArray, codes: IntArray, n_codes: int, W: F32Array) -> FloatArray:
    """(resamples × codes) weighted means of ``values`` per code; ``NaN`` where a code has no weight."""
    onehot = np.zeros((values.size, n_codes))
    onehot[np.arange(values.size), codes] = 1.0
    W64 = W.astype(np.float64)
    den = W64 @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return (W64 @ (onehot * values[:, None])) / np.where(den > 0, den, np.nan)


# --------------------------------------------------------------------------------------------------------
# Correlation summary: pooled / per group / system level, with CIs
# --------------------------------------------------------------------------------------------------------


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
    xa, ya = _as_vector(x, "x"), _as_vector(y, "y")
    n = xa.size
    codes: IntArray | None = None
    per_vals: dict[Method, FloatArray] = {}
    if groups is not None:
        codes, _ = factorize(groups)
        if codes.size != n:
            raise ValueError("groups must have one entry per item")
        _, per_vals = per_group_correlations(xa, ya, groups)
    sys_codes: IntArray | None = None
    n_sys = 0
    if systems is not None:
        sys_codes, skeys = factorize(systems)
        if sys_codes.size != n:
            raise ValueError("systems must have one entry per item")
        n_sys = len(skeys)
    pooled_point = correlations(xa, ya)
    plan = WeightedCorrelations(xa, ya)
    fns: dict[str, StatFn] = {"pooled": lambda r: {str(k): v for k, v in plan(r.items).items()}}
    if codes is not None:

        def per_group(r: Resample) -> dict[str, FloatArray]:
            res: dict[str, FloatArray] = {}
            for m, vals in per_vals.items():
                ok = np.isfinite(vals)
                with np.errstate(invalid="ignore", divide="ignore"):
                    res[m] = (r.units[:, ok].astype(np.float64) @ vals[ok]) / r.units[:, ok].sum(axis=1)
            return res

        fns["group"] = per_group
    if sys_codes is not None:
        sc = sys_codes

        def system(r: Resample) -> dict[str, FloatArray]:
            mx = _weighted_group_means(xa, sc, n_sys, r.items)
            my = _weighted_group_means(ya, sc, n_sys, r.items)
            return {m: rowwise_correlations(mx, my, m) for m in METHODS}

        fns["system"] = system
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


# --------------------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Cohen's kappa (and Scott's pi)
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Scales, bias
# --------------------------------------------------------------------------------------------------------


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
    d = _as_vector(judge, "judge") - _as_vector(human, "human")
    if weights is None:
        return np.asarray([d.mean()])
    W = np.asarray(weights, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((W @ d) / W.sum(axis=1))


# --------------------------------------------------------------------------------------------------------
# Leave-one-annotator-out ceiling
# --------------------------------------------------------------------------------------------------------


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
    J = None if judge is None else _as_vector(judge, "judge")
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


# --------------------------------------------------------------------------------------------------------
# Pairwise preferences
# --------------------------------------------------------------------------------------------------------

PAIRWISE_CATEGORIES = ("1", "2", "tie")


def normalize_preference(value: Any) -> str | None:
    """Map a preference verdict to ``"1"``, ``"2"``, ``"tie"``, or ``None`` (missing / invalid).

    Accepted: 1, 2, "1", "2" (with surrounding spaces), and "tie" in any case. Anything else is invalid.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    return v if v in PAIRWISE_CATEGORIES else None


@dataclass(frozen=True)
class PairwiseAgreement:
    """Agreement of pairwise-preference verdicts with gold labels, judged in both presentation orders.

    Rates are fractions in [0, 1]. ``accuracy`` is the mean of the two per-order accuracies (LLMBar's
    "Acc."); ``positional_agreement`` the share of items where both orders pick the same verdict (LLMBar's
    "Agr.", see ``invalid_agree`` in ``pairwise_agreement``). Kappas use categories 1 / 2 / tie plus an
    "invalid" category that never matches a gold label.
    """

    n: int
    correct_original: int
    accuracy_original: float
    invalid_original: int
    kappa_original: float
    correct_swapped: int | None = None
    accuracy_swapped: float | None = None
    invalid_swapped: int | None = None
    kappa_swapped: float | None = None
    accuracy: float = math.nan
    correct_both: int | None = None
    accuracy_both: float | None = None
    agree: int | None = None
    positional_agreement: float | None = None
    both_invalid: int | None = None
    kappa_positional: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _pairwise_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    if not a:
        return math.nan
    return cohen_kappa(a, b, categories=sorted(set(a) | set(b))).kappa


def pairwise_agreement(
    winners_original: Sequence[Any],
    winners_swapped: Sequence[Any] | None,
    labels: Sequence[Any],
    *,
    invalid_agree: bool = False,
) -> PairwiseAgreement:
    """Accuracy and positional consistency of a pairwise judge against gold preference labels.

    Parameters
    ----------
    winners_original
        The judge's verdict per item with the outputs in their original order: ``1``/``"1"``, ``2``/``"2"``,
        ``"tie"``; anything else (``None``, unparseable text) is an invalid verdict.
    winners_swapped
        The verdict per item with the two outputs presented in swapped order, **already mapped back to the
        original numbering** (``"1"`` still means the original output 1). ``None`` if only one order was
        judged; the order-dependent figures are then ``None``.
    labels
        Gold labels per item, ``1``/``2``/``"tie"``; every label must be valid.
    invalid_agree
        Whether two invalid verdicts on the same item count as positional agreement. ``False`` (default):
        agreement means both orders picked the same output or both said tie. ``True`` reproduces LLMBar's
        published "equal" figure, which compares the raw verdicts and so counts two failures as agreeing.

    Returns
    -------
    PairwiseAgreement
        Counts and rates. An invalid verdict always counts as wrong (never dropped, never a tie). Kappas are
        Cohen's kappa with a correct categorical encoding (invalid is its own category, which for the
        positional kappa is distinct per order unless ``invalid_agree``), unlike LLMBar's ``kappa_*`` fields.
    """
    gold = [normalize_preference(v) for v in labels]
    bad = [labels[i] for i, g in enumerate(gold) if g is None]
    if bad:
        raise ValueError(f"{len(bad)} gold label(s) are not 1, 2 or tie, e.g. {bad[0]!r}")
    n = len(gold)
    if len(winners_original) != n or (winners_swapped is not None and len(winners_swapped) != n):
        raise ValueError("winners and labels must have the same length")
    if n == 0:
        raise ValueError("no items")
    wo = [normalize_preference(v) for v in winners_original]
    g = [str(v) for v in gold]
    wo_cat = [v if v is not None else "invalid" for v in wo]
    correct_o = sum(w == gl for w, gl in zip(wo, gold, strict=True))
    acc_o = correct_o / n
    res: dict[str, Any] = {
        "n": n,
        "correct_original": correct_o,
        "accuracy_original": acc_o,
        "invalid_original": sum(w is None for w in wo),
        "kappa_original": _pairwise_kappa(wo_cat, g),
        "accuracy": acc_o,
    }
    if winners_swapped is not None:
        ws = [normalize_preference(v) for v in winners_swapped]
        ws_cat = [v if v is not None else "invalid" for v in ws]
        correct_s = sum(w == gl for w, gl in zip(ws, gold, strict=True))
        both = sum(a == gl and b == gl for a, b, gl in zip(wo, ws, gold, strict=True))
        agree = sum(a == b and (a is not None or invalid_agree) for a, b in zip(wo, ws, strict=True))
        wo_pos = wo_cat if invalid_agree else [v if v is not None else "invalid (original)" for v in wo]
        ws_pos = ws_cat if invalid_agree else [v if v is not None else "invalid (swapped)" for v in ws]
        res.update(
            correct_swapped=correct_s,
            accuracy_swapped=correct_s / n,
            invalid_swapped=sum(w is None for w in ws),
            kappa_swapped=_pairwise_kappa(ws_cat, g),
            accuracy=(acc_o + correct_s / n) / 2,
            correct_both=both,
            accuracy_both=both / n,
            agree=agree,
            positional_agreement=agree / n,
            both_invalid=sum(a is None and b is None for a, b in zip(wo, ws, strict=True)),
            kappa_positional=_pairwise_kappa(wo_pos, ws_pos),
        )
    return PairwiseAgreement(**res)


def pairwise_bootstrap(
    winners_original: Sequence[Any],
    winners_swapped: Sequence[Any] | None,
    labels: Sequence[Any],
    *,
    groups: npt.ArrayLike | None = None,
    invalid_agree: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> dict[str, Estimate]:
    """Percentile bootstrap CIs for the rates of ``pairwise_agreement`` (items or whole groups resampled)."""
    point = pairwise_agreement(winners_original, winners_swapped, labels, invalid_agree=invalid_agree)
    gold = [normalize_preference(v) for v in labels]
    wo = [normalize_preference(v) for v in winners_original]
    ind: dict[str, FloatArray] = {
        "accuracy_original": np.array([a == b for a, b in zip(wo, gold, strict=True)], float)
    }
    kappa_pairs: dict[str, tuple[list[str], list[str]]] = {
        "kappa_original": ([v or "invalid" for v in wo], [str(v) for v in gold])
    }
    if winners_swapped is not None:
        ws = [normalize_preference(v) for v in winners_swapped]
        ind["accuracy_swapped"] = np.array([a == b for a, b in zip(ws, gold, strict=True)], float)
        ind["accuracy"] = (ind["accuracy_original"] + ind["accuracy_swapped"]) / 2
        ind["accuracy_both"] = ind["accuracy_original"] * ind["accuracy_swapped"]
        ind["positional_agreement"] = np.array(
            [a == b and (a is not None or invalid_agree) for a, b in zip(wo, ws, strict=True)], float
        )
        kappa_pairs["kappa_swapped"] = ([v or "invalid" for v in ws], [str(v) for v in gold])
        kappa_pairs["kappa_positional"] = (
            [v or ("invalid" if invalid_agree else "invalid (original)") for v in wo],
            [v or ("invalid" if invalid_agree else "invalid (swapped)") for v in ws],
        )
    else:
        ind["accuracy"] = ind["accuracy_original"]
    mat = np.stack(list(ind.values()), axis=1)
    kappa_plans: dict[str, WeightedKappa] = {}
    for name, (a, b) in kappa_pairs.items():
        cats = sorted(set(a) | set(b))
        idx = {c: i for i, c in enumerate(cats)}
        kappa_plans[name] = WeightedKappa([idx[v] for v in a], [idx[v] for v in b], len(cats))

    def fn(r: Resample) -> dict[str, FloatArray]:
        W = r.items.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = (W @ mat) / W.sum(axis=1)[:, None]
        out = {name: rates[:, i] for i, name in enumerate(ind)}
        for name, plan in kappa_plans.items():
            out[name] = plan(r.items)["unweighted"]
        return out

    boot = bootstrap({"p": fn}, len(gold), groups=groups, n_boot=n_boot, seed=seed) if n_boot > 0 else {}
    result: dict[str, Estimate] = {}
    for name in [*ind, *kappa_plans]:
        value = getattr(point, name)
        result[name] = make_estimate(
            float(value) if value is not None else math.nan, boot.get(f"p.{name}"), point.n, level
        )
    return result
