"""The bootstrap machinery every statistic shares: resamples as multiplicities, percentile intervals.

A bootstrap resample is a vector of multiplicities over the original items (or whole groups), so a statistic
is computed for a whole chunk of resamples at once. Resamples come from a seeded ``numpy.random.Generator``;
the stream does not depend on the chunk size, so statistics computed together see the same resamples.
Confidence intervals are percentile intervals; resamples in which a statistic is undefined are left out of
its interval and counted (``Estimate.n_boot``). ``single_blas_thread`` keeps the many small matrix products
of the vectorised statistics on one BLAS thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import CHUNK_ELEMENTS, F32Array, FloatArray, IntArray, finite_or_none


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
        return {k: finite_or_none(v) for k, v in asdict(self).items()}


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
        chunk = max(1, min(n_boot, CHUNK_ELEMENTS // max(n_items, n_units)))
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
