"""Active statistical inference for a mean: labels drawn with known, unequal probabilities.

Zrnic and Candès, "Active Statistical Inference", ICML 2024. The judge scores all ``N`` items; item ``i`` is
labelled with a known probability ``pi_i`` (``xi_i = 1`` when it was; ``w_i = xi_i / pi_i``, so
``E[w_i] = 1``). For any fixed ``m`` and ``lam``

    z_i = m + lam * f_i + (Y_i - m - lam * f_i) * w_i

has ``E[z_i | f_i, Y_i] = Y_i``, so ``mean(z)`` is unbiased for the mean label whatever the probabilities,
and its standard error is ``sd(z) / sqrt(N)`` (the ``z_i`` are independent). ``m = 0, lam = 1`` is the
paper's estimator ``mean(f_i + (Y_i - f_i) w_i)``; ``lam = 0`` an inverse-probability mean of the labels.

Tuning (the paper's power tuning, Section 3, extended by the shift ``m``): with ``a = Y w``, ``d1 = w - 1``
and ``d2 = f (w - 1)``, ``z = a - m d1 - lam d2``, so the ``(m, lam)`` that make ``Var(z)`` smallest are the
least-squares coefficients of ``a`` on ``d1`` and ``d2``. They are estimated from the ``N`` per-item terms
(``lam`` clipped to [0, 1] as PPI++ does, ``m`` refitted for a clipped ``lam``). Estimated coefficients move
the estimate by ``O(1/N)`` only (both multiply terms of mean zero), so the interval stays valid. The shift
matters when the judge is biased: without it the bias ``E[Y - f]`` would be weighted by ``w`` too.

The variance of ``z`` is ``Var(Y) + E[(Y - m - lam f)^2 (1 - pi) / pi]``: for a budget of ``n`` labels it
is smallest with ``pi_i`` proportional to the judge's root expected squared error on item ``i``
(:func:`active_probabilities`), which is what makes the active interval narrower than a uniform one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray, as_vector

if TYPE_CHECKING:
    from judgekit.stats.ppi import MeanCI

#: Share of the budget spread uniformly over all items before the error-proportional part: keeps every
#: probability away from 0, so a judge that is confidently wrong on an item cannot blow up the variance.
DEFAULT_MIX = 0.2


def active_probabilities(uncertainty: npt.ArrayLike, budget: float, mix: float = DEFAULT_MIX) -> FloatArray:
    """Labelling probabilities summing to ``budget``: ``mix`` of it uniform, the rest proportional to
    ``uncertainty`` (the judge's root expected squared error), each clipped to 1 (water-filling: what a
    clipped item cannot take goes to the others in the same proportions).

    Raises ``ValueError`` for negative uncertainties, a budget outside (0, N] or ``mix`` outside [0, 1].
    """
    u = as_vector(uncertainty, "uncertainty")
    n_items = u.size
    if n_items == 0:
        raise ValueError("no items")
    if np.any(u < 0):
        raise ValueError("uncertainty must not be negative")
    if not 0 < budget <= n_items:
        raise ValueError(f"budget must be in (0, {n_items}], got {budget:g}")
    if not 0 <= mix <= 1:
        raise ValueError("mix must be between 0 and 1")
    share = u / u.sum() if u.sum() > 0 else np.full(n_items, 1.0 / n_items)
    weight = mix / n_items + (1 - mix) * share
    pi = np.zeros(n_items)
    full = np.zeros(n_items, dtype=bool)
    while True:
        left = budget - full.sum()
        free = ~full
        pi[free] = left * weight[free] / weight[free].sum() if weight[free].sum() > 0 else left / free.sum()
        over = free & (pi >= 1)
        if not over.any():
            break
        full |= over
        pi[full] = 1.0
        if full.all():
            break
    return pi


@dataclass(frozen=True)
class ActiveResult:
    """The inverse-probability-weighted estimate (``active``), its human-only counterpart (``lam = 0``) and
    the judge's plain mean, with the tuned weight ``lam`` and shift ``shift``."""

    active: MeanCI
    judge_only: MeanCI
    human_only: MeanCI
    lam: float
    shift: float
    n_labelled: int
    n_unlabelled: int
    effective_labels: float
    level: float


def _terms(f: FloatArray, y: FloatArray, w: FloatArray, m: float, lam: float) -> FloatArray:
    return m + lam * f + (y - m - lam * f) * w


def active_tuning(
    f: FloatArray, y: FloatArray, w: FloatArray, lam: float | None = None
) -> tuple[float, float]:
    """The shift ``m`` and weight ``lam`` that minimise the variance of the per-item terms (``lam`` clipped
    to [0, 1]; a given ``lam`` is kept and only ``m`` fitted). ``w = xi / pi`` (0 for an unlabelled item)."""
    a = y * w
    d1 = w - 1
    d2 = f * (w - 1)
    if lam is None:
        design = np.column_stack([d1 - d1.mean(), d2 - d2.mean()])
        coef = np.linalg.lstsq(design, a - a.mean(), rcond=None)[0]
        if 0 <= coef[1] <= 1:
            return float(coef[0]), float(coef[1])
        lam = float(np.clip(coef[1], 0.0, 1.0))
    rest = a - lam * d2
    var_d1 = float(np.var(d1))
    m = float(np.mean((rest - rest.mean()) * (d1 - d1.mean())) / var_d1) if var_d1 > 0 else 0.0
    return m, float(lam)


def active_mean(
    judge: npt.ArrayLike,
    human: npt.ArrayLike,
    probability: npt.ArrayLike,
    *,
    level: float = 0.95,
    lam: float | None = None,
) -> ActiveResult:
    """Active-inference mean of the labels over all items, with its normal interval.

    One entry per item: ``judge`` the judge's score (all finite), ``human`` the label (``NaN`` = not
    labelled), ``probability`` the probability the item had of being labelled (read only where labelled;
    in (0, 1]). ``lam=None`` tunes the weight (and the shift ``m`` always); ``lam=1`` with its tuned shift
    is the paper's estimator applied to the judge plus a constant. Raises ``ValueError``
    on mismatched lengths, non-finite judge scores, missing or out-of-range probabilities on labelled items,
    or fewer than two labelled items.
    """
    from judgekit.stats.ppi import _normal_ci  # scipy: only when estimating, not when drawing probabilities

    f = as_vector(judge, "judge")
    y_raw = np.asarray(human, dtype=np.float64)
    p_raw = np.asarray(probability, dtype=np.float64)
    if y_raw.shape != f.shape or p_raw.shape != f.shape:
        raise ValueError("judge, human and probability must have one entry per item")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    labelled = np.isfinite(y_raw)
    n = int(labelled.sum())
    if n < 2:
        raise ValueError("active inference needs at least two labelled items")
    p_lab = p_raw[labelled]
    if not np.all(np.isfinite(p_lab)) or np.any(p_lab <= 0) or np.any(p_lab > 1):
        raise ValueError("every labelled item needs a selection probability in (0, 1]")
    w = np.zeros_like(f)
    w[labelled] = 1.0 / p_lab
    y = np.where(labelled, y_raw, 0.0)
    m, weight = active_tuning(f, y, w, lam)
    big_n = f.size
    z = _terms(f, y, w, m, weight)
    se = float(np.std(z, ddof=1) / math.sqrt(big_n))
    human_z = _terms(f, y, w, active_tuning(f, y, w, 0.0)[0], 0.0)
    human_se = float(np.std(human_z, ddof=1) / math.sqrt(big_n))
    # Var(Y) by inverse-probability weighting over the labelled items (a ratio estimate).
    wy = w[labelled]
    mean_y = float(np.sum(wy * y_raw[labelled]) / wy.sum())
    var_y = float(np.sum(wy * (y_raw[labelled] - mean_y) ** 2) / wy.sum())
    judge_se = float(np.std(f, ddof=0) / math.sqrt(big_n))
    return ActiveResult(
        active=_normal_ci(float(z.mean()), se, big_n, level),
        judge_only=_normal_ci(float(f.mean()), judge_se, big_n, level),
        human_only=_normal_ci(float(human_z.mean()), human_se, n, level),
        lam=weight,
        shift=m,
        n_labelled=n,
        n_unlabelled=big_n - n,
        effective_labels=var_y / se**2 if se > 0 else math.inf,
        level=level,
    )
