"""A candidate's agreement with the humans, measured by :func:`judgekit.validate.validate` itself.

The score file of a subset and the full label file go to ``validate`` with ``allow_missing`` (the labels of
the other side of the split have no judge score and are dropped), so a figure here is exactly what
``judgekit validate --judge SCORES --human LABELS --allow-missing`` prints for the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from judgekit.errors import ConfigError, InputError
from judgekit.select.result import Figure

if TYPE_CHECKING:
    from judgekit.validate import DimensionReport, Interval

Metric = Literal[
    "pearson", "spearman", "kendall", "pearson_per_group", "spearman_per_group", "kendall_per_group", "kappa"
]
METRICS: tuple[str, ...] = (
    "pearson", "spearman", "kendall", "pearson_per_group", "spearman_per_group", "kendall_per_group", "kappa",
)  # fmt: skip
KAPPA_WEIGHTS: Final = "quadratic"  # ordinal scores: a miss by two points counts four times a miss by one


@dataclass(frozen=True)
class Agreement:
    """The figure, and the matched items it was computed on (for the paired differences)."""

    figure: Figure
    ids: list[str]
    judge: list[float]
    human: list[float]
    scale: list[float] | None


def check_metric(metric: str, group: str | None) -> None:
    if metric not in (*METRICS, "accuracy"):
        raise ConfigError(f"--metric: unknown metric {metric!r}; choose from {', '.join(METRICS)}, accuracy")
    if metric.endswith("_per_group") and group is None:
        raise ConfigError(f"--metric {metric} needs --group")


def _interval(dim: DimensionReport, metric: str) -> Interval | None:
    if metric == "kappa":
        return dim.kappa.vs_mean.get(KAPPA_WEIGHTS) if dim.kappa and dim.kappa.vs_mean else None
    if metric.endswith("_per_group"):
        per = dim.correlations.per_group
        return getattr(per, metric.removesuffix("_per_group")) if per else None
    interval: Interval = getattr(dim.correlations.pooled, metric)
    return interval


def agreement(
    scores: Path, human: str | Path, metric: str, group: str | None, n_boot: int, seed: int
) -> Agreement:
    """``validate`` of the score file ``scores`` against ``human``, read at ``metric``."""
    from judgekit.validate import validate

    if metric == "accuracy":
        return _pair_agreement(scores, human, group, n_boot, seed)

    report = validate(scores, human, group=group, allow_missing=True, n_boot=n_boot, seed=seed, ceiling=False)
    if len(report.dimensions) != 1:
        raise InputError(f"{human}: labels for several dimensions; select needs one")
    dim = report.dimensions[0]
    interval = _interval(dim, metric)
    if interval is None:
        raise InputError(f"{scores}: {metric} is not defined here (kappa needs the judge on the label scale)")
    figure = Figure(
        metric=metric, value=interval.value, ci_low=interval.ci_low, ci_high=interval.ci_high, n=interval.n
    )
    items = dim.items
    if items is None:
        raise InputError(f"{scores}: validate reported no matched items")
    return Agreement(figure, list(items.ids), list(items.judge), list(items.human), dim.scale)


def _pair_agreement(scores: Path, human: str | Path, group: str | None, n_boot: int, seed: int) -> Agreement:
    """Pairwise rubrics: ``validate --pairwise`` of the score file's verdicts; ``judge`` holds each pair's
    correctness and ``human`` the 1 it would be if the judge agreed in every order."""
    from judgekit.results import load_score_file
    from judgekit.select.pairwise import pair_agreement, write_verdicts

    verdicts = write_verdicts(scores, load_score_file(scores))
    figure, ids, correct = pair_agreement(verdicts, human, group, n_boot, seed)
    return Agreement(figure, ids, correct, [1.0] * len(ids), None)
