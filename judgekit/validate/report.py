"""The agreement report (``agreement.json``): pydantic models, one per block of the terminal table.

Adding a statistic means one step function in ``analysis.py`` and its field here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit import stats as ag
from judgekit._version import __version__


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_Model):
    """A figure with its 95% (or ``confidence``) percentile bootstrap interval."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    n_boot: int = Field(0, description="resamples in which the figure was defined")

    @classmethod
    def of(cls, est: ag.Estimate) -> Interval:
        return cls(**est.to_dict())


class Correlations(_Model):
    pearson: Interval
    spearman: Interval
    kendall: Interval

    @classmethod
    def of(cls, ests: Mapping[ag.Method, ag.Estimate]) -> Correlations:
        return cls(**{m: Interval.of(ests[m]) for m in ag.METHODS})


class CorrelationLevels(_Model):
    pooled: Correlations
    per_group: Correlations | None = None
    n_groups: int | None = None
    groups_used: dict[str, int] | None = Field(None, description="groups where both sides vary, per method")
    system: Correlations | None = None
    n_systems: int | None = None


class AnnotatorRow(_Model):
    annotator: str
    n: int
    human: dict[str, float | None]
    judge: dict[str, float | None] | None


class Ceiling(_Model):
    human: Correlations = Field(description="mean over annotators of corr(annotator, mean of the others)")
    judge: Correlations = Field(description="the judge in each left-out annotator's place (same items)")
    n_annotators: int
    per_annotator: list[AnnotatorRow]


class Alpha(_Model):
    humans: dict[str, Interval] | None = None
    humans_and_judge: dict[str, Interval] | None = None


class Kappa(_Model):
    vs_mean: dict[str, Interval] | None = Field(
        None, description="judge vs human mean, both rounded to scale"
    )
    vs_majority: dict[str, Interval] | None = Field(None, description="judge (rounded) vs majority label")
    n_no_majority: int = 0


class Bias(_Model):
    mean_offset: Interval | None = Field(None, description="mean of judge minus human mean")
    length_field: str | None = None
    length_judge: Interval | None = Field(None, description="Spearman of judge score with response length")
    length_human: Interval | None = Field(None, description="Spearman of human mean with response length")
    judge_shares: dict[str, float] | None = None
    human_shares: dict[str, float] | None = None


class Disagreement(_Model):
    id: str
    judge: float
    human: float
    labels: dict[str, float]
    difference: float


class ItemPairs(_Model):
    """Every used item's judge score and human mean, column by column (compact for large sets), so a
    report can draw the full scatter and confusion matrix."""

    ids: list[str]
    judge: list[float]
    human: list[float]


class Dropped(_Model):
    reason: str
    count: int
    examples: list[str]


class MeanInterval(_Model):
    """A mean with its normal (CLT) interval and the standard error used."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n: int


class PPI(_Model):
    """The mean human-scale score by prediction-powered inference (PPI++, power-tuned), beside the
    judge-only mean (biased) and the human-only mean of the labelled items."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n_labelled: int
    n_unlabelled: int
    lam: float = Field(description="weight on the judge (0: human-only mean, 1: plain PPI)")
    judge_only: MeanInterval = Field(description="mean judge score over every judged item (biased)")
    human_only: MeanInterval = Field(description="mean label over the labelled items (classical)")
    effective_labels: float | None = Field(
        description="labels a human-only interval would need to be as narrow as the PPI one"
    )
    level: float
    method: str = "PPI++ (Angelopoulos, Duchi, Zrnic 2023), power-tuned lambda, normal interval"
    judge_mapped: str | None = Field(None, description="how the judge's scores were put on the human scale")
    n_judge_unscored: int = Field(0, description="unlabelled items the judge could not score (left out)")


class DimensionReport(_Model):
    dimension: str
    n_used: int
    n_dropped: int
    dropped: list[Dropped]
    n_annotators: int
    n_labels: int
    scale: list[float] | None
    judge_scale: list[float] | None
    judge_on_scale: bool = Field(
        description="judge and humans share a scale (offset, kappa, score shares and alpha with the judge)"
    )
    resampled: str = Field(description="what the bootstrap resamples: 'items', or 'groups' with --group")
    correlations: CorrelationLevels
    alpha: Alpha | None = None
    kappa: Kappa | None = None
    ceiling: Ceiling | None = None
    bias: Bias
    disagreements: list[Disagreement]
    items: ItemPairs | None = None
    judge_samples: dict[str, Any] | None = None
    ppi: PPI | None = None
    notes: list[str] = Field(default_factory=list)


class PairwiseReport(_Model):
    n_used: int
    n_dropped: int
    dropped: list[Dropped]
    invalid_agree: bool
    figures: dict[str, Interval]
    counts: dict[str, int | None]
    per_group: list[dict[str, Any]] | None = None
    macro_accuracy: float | None = Field(None, description="unweighted mean of per-group accuracy")
    disagreements: list[dict[str, Any]] = Field(default_factory=list)
    resampled: str = "items"
    notes: list[str] = Field(default_factory=list)


class AgreementReport(_Model):
    judgekit_version: str = __version__
    inputs: dict[str, str]
    settings: dict[str, Any]
    dimensions: list[DimensionReport] = Field(default_factory=list)
    pairwise: PairwiseReport | None = None
