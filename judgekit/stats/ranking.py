"""Bradley-Terry strengths from pairwise verdicts (ties counted as half a win to each side).

The model: system ``i`` beats system ``j`` with probability ``1 / (1 + exp(theta_j - theta_i))``. The
maximum-likelihood strengths (Bradley & Terry 1952; Zermelo 1929) are fitted by Newton's method on the
concave log-likelihood, for a whole batch of win matrices at once (one per bootstrap resample). Strengths are
natural-log odds, centred so they average 0 over the systems; ``theta_a - theta_b`` is the log-odds that
``a`` beats ``b``.

The maximum-likelihood fit is finite only when every split of the systems into two groups has a win (or a
tie) each way (the "beats" graph is strongly connected). ``prior`` adds that many virtual ties to every pair
of systems that was compared at least once, which makes the fit finite whenever the comparison graph is
connected; with two systems and ``prior=1`` the log-odds is ``log((wins + 0.5) / (losses + 0.5))``, the
Haldane-Anscombe correction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Newton steps larger than this (in log-odds) are shortened, so a far-off start cannot overshoot.
_MAX_STEP = 2.0


def win_matrix(a: npt.ArrayLike, b: npt.ArrayLike, scores: npt.ArrayLike, n_systems: int) -> FloatArray:
    """``wins[i, j]``: total score of ``i`` against ``j`` from outcomes ``(a[k], b[k], scores[k])``.

    ``scores[k]`` is 1 when system ``a[k]`` won, 0 when ``b[k]`` won, 0.5 for a tie (any value in [0, 1]
    is split the same way: ``a`` gets ``s``, ``b`` gets ``1 - s``).
    """
    ai = np.asarray(a, dtype=np.int64)
    bi = np.asarray(b, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if not (ai.shape == bi.shape == s.shape) or ai.ndim != 1:
        raise ValueError("a, b and scores must be one-dimensional and of the same length")
    if np.any((s < 0) | (s > 1)) or not np.all(np.isfinite(s)):
        raise ValueError("scores must lie in [0, 1]")
    if np.any(ai == bi):
        raise ValueError("a system cannot be compared with itself")
    wins = np.zeros((n_systems, n_systems))
    np.add.at(wins, (ai, bi), s)
    np.add.at(wins, (bi, ai), 1.0 - s)
    return wins


def comparisons_connected(wins: npt.ArrayLike) -> bool:
    """Whether every system is linked to every other through compared pairs (needed for any fit)."""
    w = np.asarray(wins, dtype=np.float64)
    compared = (w + w.T) > 0
    from scipy.sparse import csgraph  # scipy loads on first use

    n, _ = csgraph.connected_components(compared, directed=False)
    return bool(n == 1)


def _finite_mle(wins: FloatArray) -> bool:
    from scipy.sparse import csgraph

    n, _ = csgraph.connected_components(wins > 0, directed=True, connection="strong")
    return bool(n == 1)


def fit_batch(
    wins: npt.ArrayLike, *, prior: float = 0.0, tol: float = 1e-10, max_iter: int = 100
) -> FloatArray:
    """Centred log-strengths for each win matrix of a ``(batch, k, k)`` stack: ``(batch, k)``.

    ``prior`` virtual ties are added to every pair compared in ANY matrix of the batch (so a bootstrap
    resample that happens to miss a pair keeps the same prior). Rows without a finite maximum-likelihood fit
    come back as ``NaN``.
    """
    W = np.array(wins, dtype=np.float64, ndmin=3)
    if W.shape[1] != W.shape[2]:
        raise ValueError("win matrices must be square")
    if np.any(W < 0) or not np.all(np.isfinite(W)):
        raise ValueError("wins must be finite and non-negative")
    batch, k = W.shape[0], W.shape[1]
    W = W * (1.0 - np.eye(k))
    if prior < 0:
        raise ValueError("prior must be non-negative")
    if prior > 0:
        compared = ((W + W.transpose(0, 2, 1)) > 0).any(axis=0)
        W = W + (prior / 2.0) * compared
    ok = np.array([_finite_mle(W[b]) for b in range(batch)], dtype=bool)
    theta = np.zeros((batch, k))
    if k < 2:
        return theta
    rows = np.flatnonzero(ok)
    Wr = W[rows]
    N = Wr + Wr.transpose(0, 2, 1)
    won = Wr.sum(axis=2)
    ones = np.ones((k, k))
    t = np.zeros((rows.size, k))
    active = np.arange(rows.size)
    for _ in range(max_iter):
        if active.size == 0:
            break
        ta = t[active]
        p = 1.0 / (1.0 + np.exp(ta[:, None, :] - ta[:, :, None]))  # p[i, j] = P(i beats j)
        grad = won[active] - (N[active] * p).sum(axis=2)
        h = N[active] * p * (1.0 - p)
        lap = -h
        idx = np.arange(k)
        lap[:, idx, idx] = h.sum(axis=2)
        # The likelihood is flat along theta + c; adding ones to the Laplacian fixes c at the centred solution.
        step = np.linalg.solve(lap + ones, grad[:, :, None])[:, :, 0]
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(size, 1e-300))[:, None]
        t[active] = ta + step
        active = active[size > tol]
    theta[rows] = t - t.mean(axis=1, keepdims=True)
    theta[~ok] = np.nan
    return theta


def bradley_terry(wins: npt.ArrayLike, *, prior: float = 0.0) -> FloatArray:
    """Centred log-strengths of one ``k x k`` win matrix (``wins[i, j]``: wins of ``i`` over ``j``).

    Raises ``ValueError`` when the systems are not all connected by comparisons, or (``prior=0``) when some
    group of systems never lost to the rest, so the maximum-likelihood strengths are infinite.
    """
    w = np.asarray(wins, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError("wins must be a square matrix")
    if not comparisons_connected(w):
        raise ValueError("some systems are never compared, directly or through others, with the rest")
    theta: FloatArray = fit_batch(w, prior=prior)[0]
    if not np.all(np.isfinite(theta)):
        raise ValueError(
            "some systems won (or lost) every comparison with the rest: the maximum-likelihood strengths are "
            "infinite (use a prior)"
        )
    return theta
