"""Array types, input checks and the memory bound shared by the statistics in ``judgekit.stats``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


#: Target number of array elements per chunk of resamples (bounds memory at ~40 MB per array).
CHUNK_ELEMENTS = 2_500_000


def as_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a 1-D float64 array; ``ValueError`` naming ``name`` if not 1-D or not all finite."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def finite_or_none(v: Any) -> Any:
    """``None`` for a non-finite float (JSON has no NaN), anything else unchanged."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
