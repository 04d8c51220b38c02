"""Pearson, Spearman and Kendall tau-b under many weight vectors at once (the vectorised bootstrap).

A bootstrap resample is a vector of integer multiplicities over the items; ``WeightedCorrelations`` computes
the three correlations for a whole (resamples × items) weight matrix with a few matrix products, equal to scipy
on the expanded resamples to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray, IntArray, as_vector
from judgekit.stats.correlate import METHODS, Method
from judgekit.stats.resampling import single_blas_thread

#: Items per diagonal block in the vectorised Kendall tau-b (see ``WeightedCorrelations``).
KENDALL_BLOCK = 128


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
        xa, ya = as_vector(x, "x"), as_vector(y, "y")
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
