"""Multiple comparisons: Holm's step-down adjustment of p-values.

Comparing k systems makes k(k-1)/2 pairwise tests; at alpha 0.05 each, some will come out "significant" by
chance. Holm (1979) controls the family-wise error rate like Bonferroni, under any dependence between the
tests, and is uniformly more powerful. An adjusted p-value is below alpha exactly when Holm's procedure
rejects that hypothesis at alpha.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def holm(pvalues: npt.ArrayLike) -> FloatArray:
    """Holm-adjusted p-values, in the input order. ``NaN`` entries (no test) stay ``NaN`` and are not counted.

    With the m finite p-values sorted ascending, ``adj_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j))``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p-values must be one-dimensional")
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size == 0:
        return out
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    order = finite[np.argsort(p[finite], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
