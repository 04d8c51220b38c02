"""Prediction-powered inference (PPI++) for a mean: a judge's scores on every item, corrected by human labels.

A judge scores all ``n + N`` items; humans label a random subset of ``n``. The judge's mean is biased (its
scale, its leniency), the human mean is unbiased but wide. PPI uses the labelled items to measure the judge's
bias and the unlabelled ones to cut the variance:

    estimate = lam * mean(judge on the N unlabelled) + mean(human - lam * judge on the n labelled)

which is unbiased for the human-scale mean for any fixed ``lam``. ``lam = 1`` is the original PPI
(Angelopoulos, Bates, Fannjiang, Jordan, Zrnic, "Prediction-powered inference", Science 382, 2023);
``lam = 0`` the classical human-only mean. PPI++ (Angelopoulos, Duchi, Zrnic, "PPI++: Efficient
prediction-powered inference", arXiv:2311.01453, 2023) picks the ``lam`` that minimises the variance,
estimated from the data and clipped to [0, 1], so the interval is never meaningfully wider than the classical
one and is much narrower when the judge tracks the humans.

The figures reproduce the ``ppi-python`` package's ``ppi_mean_pointestimate`` and ``ppi_mean_ci`` (default
settings): ``lam`` is computed around the ``lam = 1`` estimate as ``cov(human, judge) / ((1 + n/N) *
var(judge on all items))`` (population covariance over the labelled items, sample variance over all), and the
interval is the normal one with population standard deviations. The labelled items must be a uniformly
random subset of the items, otherwise neither the estimate nor its interval is valid.

``effective_labels`` says what the judge is worth in human labels: the number of labels a classical interval
would need to be as narrow as the PPI one, ``n * (se_classical / se_ppi) ** 2`` = ``var(human) /
se_ppi ** 2``. Below ``n`` it cannot go by much (``lam`` can be 0); far above ``n`` means the judge saves
labelling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from judgekit.stats.arrays import as_vector

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MeanCI:
    """A mean with its normal (CLT) confidence interval; ``se`` is the standard error used."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PPIResult:
    """PPI++ estimate of the human-scale mean beside the judge-only and human-only means.

    ``judge_only`` is the mean judge score over all items (biased: it is on the judge's scale, with the
    judge's leniency); ``human_only`` the classical mean of the labels. ``lam`` is the power-tuning weight
    actually used.
    """

    ppi: MeanCI
    judge_only: MeanCI
    human_only: MeanCI
    lam: float
    n_labelled: int
    n_unlabelled: int
    effective_labels: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "ppi": {
                **self.ppi.to_dict(),
                "n_labelled": self.n_labelled,
                "n_unlabelled": self.n_unlabelled,
                "lam": self.lam,
            },
            "judge_only": self.judge_only.to_dict(),
            "human_only": self.human_only.to_dict(),
            "effective_labels": self.effective_labels,
            "level": self.level,
            "method": "PPI++ (power-tuned), normal interval",
        }


def _normal_ci(estimate: float, se: float, n: int, level: float) -> MeanCI:
    z = float(stats.norm.ppf(0.5 + level / 2))
    return MeanCI(float(estimate), float(estimate - z * se), float(estimate + z * se), float(se), n)


def ppi_lambda(human: npt.ArrayLike, judge_labelled: npt.ArrayLike, judge_unlabelled: npt.ArrayLike) -> float:
    """PPI++'s variance-minimising weight on the judge, clipped to [0, 1] (0 when the judge is constant)."""
    y = as_vector(human, "human")
    f = as_vector(judge_labelled, "judge_labelled")
    fu = as_vector(judge_unlabelled, "judge_unlabelled")
    n, big_n = y.size, fu.size
    cov = float(np.mean((y - y.mean()) * (f - f.mean())))
    var_all = float(np.var(np.concatenate([f, fu]), ddof=1))
    if var_all <= 0:
        return 0.0
    return float(np.clip(cov / ((1 + n / big_n) * var_all), 0.0, 1.0))


def ppi_mean(
    human: npt.ArrayLike,
    judge_labelled: npt.ArrayLike,
    judge_unlabelled: npt.ArrayLike,
    *,
    level: float = 0.95,
    lam: float | None = None,
) -> PPIResult:
    """PPI++ mean of the human-scale score with its interval, and the judge-only and human-only means.

    ``human[i]`` and ``judge_labelled[i]`` are the label and the judge's score of the i-th labelled item;
    ``judge_unlabelled`` the judge's scores of the items nobody labelled. ``lam=None`` tunes the weight
    (PPI++); ``lam=1`` is plain PPI, ``lam=0`` the classical mean. Raises ``ValueError`` on mismatched
    lengths, non-finite values, fewer than two labelled items or no unlabelled item.
    """
    y = as_vector(human, "human")
    f = as_vector(judge_labelled, "judge_labelled")
    fu = as_vector(judge_unlabelled, "judge_unlabelled")
    if y.size != f.size:
        raise ValueError(f"{y.size} human labels but {f.size} judge scores for the labelled items")
    if y.size < 2:
        raise ValueError("prediction-powered inference needs at least two labelled items")
    if fu.size == 0:
        raise ValueError("prediction-powered inference needs items the judge scored and nobody labelled")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    n, big_n = y.size, fu.size
    weight = ppi_lambda(y, f, fu) if lam is None else float(lam)
    rectifier = y - weight * f
    estimate = weight * fu.mean() + rectifier.mean()
    se = math.sqrt(np.var(weight * fu) / big_n + np.var(rectifier) / n)
    human_se = math.sqrt(np.var(y) / n)
    judge_all = np.concatenate([f, fu])
    judge_se = math.sqrt(np.var(judge_all) / judge_all.size)
    effective = float(np.var(y) / se**2) if se > 0 else math.inf
    return PPIResult(
        ppi=_normal_ci(float(estimate), se, n + big_n, level),
        judge_only=_normal_ci(float(judge_all.mean()), judge_se, int(judge_all.size), level),
        human_only=_normal_ci(float(y.mean()), human_se, n, level),
        lam=weight,
        n_labelled=n,
        n_unlabelled=big_n,
        effective_labels=effective,
        level=level,
    )


def ppi_mean_from_items(
    judge: npt.ArrayLike, human: npt.ArrayLike, *, level: float = 0.95, lam: float | None = None
) -> PPIResult:
    """:func:`ppi_mean` from one row per item: the judge's score and the label (``NaN`` = not labelled).

    Raises ``ValueError`` for an item with a label and no judge score (``NaN`` judge score on a labelled item):
    PPI needs the judge's score wherever there is a label.
    """
    j = np.asarray(judge, dtype=np.float64)
    h = np.asarray(human, dtype=np.float64)
    if j.shape != h.shape or j.ndim != 1:
        raise ValueError("judge and human must be one-dimensional and of the same length")
    labelled = np.isfinite(h)
    if np.any(labelled & ~np.isfinite(j)):
        bad = int(np.flatnonzero(labelled & ~np.isfinite(j))[0])
        raise ValueError(f"item {bad} has a human label but no judge score")
    unlabelled = ~labelled & np.isfinite(j)
    return ppi_mean(h[labelled], j[labelled], j[unlabelled], level=level, lam=lam)
