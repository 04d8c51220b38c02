"""The gate's YAML configuration: which checks run, with which floors and statistics.

Unknown keys are errors (each model forbids extras); paths in the drift section are relative to the file's
folder. Without a file, the gate runs a regression check with the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgekit.yamlfile import read_mapping, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Floors(_Strict):
    """Absolute floors on the candidate; each check passes when the value is ``>=`` its floor."""

    score: float | None = Field(None, description="overall score (LaMP-QA: 0..1)")
    coverage: float | None = Field(None, ge=0, le=1, description="share of aspects scored")
    aspects: dict[str, float] = Field(
        default_factory=dict, description="aspect name -> floor on its mean score (the rubric's scale)"
    )
    categories: dict[str, float] = Field(
        default_factory=dict, description="category -> floor on the mean question score"
    )
    lexical: dict[str, float] = Field(
        default_factory=dict, description="lexical metric (e.g. rougeL, meteor) -> floor on its overall value"
    )


class Regression(_Strict):
    """The paired comparison with the baseline."""

    tolerance: float = Field(0.02, ge=0, description="drops up to this size never fail (score units)")
    alpha: float = Field(0.05, gt=0, lt=1, description="one-sided significance level")
    test: Literal["permutation", "bootstrap"] = "permutation"
    null: Literal["no_change", "tolerance"] = Field(
        "no_change",
        description="no_change: test the drop against 0; tolerance: test that it exceeds the tolerance",
    )
    resamples: int = Field(10_000, ge=100, le=1_000_000)
    seed: int = 0
    confidence: float = Field(0.95, gt=0, lt=1, description="level of the bootstrap CI of the difference")
    missing: Literal["warn", "fail"] = Field(
        "warn", description="baseline questions absent from (or unscored in) the candidate: warn or fail"
    )

    @model_validator(mode="before")
    @classmethod
    def _null_key(cls, v: Any) -> Any:
        # YAML reads an unquoted key `null` as a null key: the documented `null: tolerance` must still work.
        if isinstance(v, dict) and None in v:
            return {("null" if k is None else k): val for k, val in v.items()}
        return v


class PerQuestion(_Strict):
    top: int = Field(5, ge=0, le=1000, description="how many of the most regressed questions to list")
    drop: float = Field(
        0.0, ge=0, description="a question counts as regressed when it fell by more than this"
    )
    max_regressed: int | None = Field(None, ge=0, description="fail when more questions regressed")


class ValidateOptions(_Strict):
    """How ``judgekit validate`` reads the drift set's human labels (its options of the same names)."""

    scale: str | list[float] | None = Field(None, description='human label scale, e.g. "0-2"')
    judge_scale: str | list[float] | None = None
    dimension: str | None = Field(None, description="which dimension of a multi-dimension label file")
    group: str | None = Field(None, description="field holding each unit's group (group_* statistics)")
    human_format: Literal["auto", "long", "wide", "mean"] | None = None
    id_field: str | None = None
    annotator_field: str | None = None
    label_field: str | None = None
    allow_missing: bool | None = Field(None, description="drop labelled ids the judge did not score")
    confidence: float | None = Field(None, gt=0, lt=1)


class Drift(_Strict):
    """A pinned, human-labelled set re-scored with the candidate's judge: does the judge still agree?"""

    dataset: Path | None = None
    responses: Path | None = None
    labels: Path = Field(description="human labels, in any format `judgekit validate` reads")
    scores: Path | None = Field(None, description="a pre-computed score file of the set (skips re-scoring)")
    level: Literal["question", "aspect"] = Field(
        "question", description="compare question scores, or aspect scores (label ids 'ID::ASPECT')"
    )
    floors: dict[str, float] = Field(description="agreement statistic -> minimum, e.g. {spearman: 0.5}")
    use: Literal["estimate", "ci_low"] = Field(
        "estimate", description="compare the point estimate, or the lower end of its bootstrap CI"
    )
    fresh: bool = Field(
        False,
        description="re-ask the judge instead of reading the score cache: catches a model changed under "
        "the same name, at one call per drift unit per run",
    )
    resamples: int = Field(1000, ge=0, le=100_000)
    seed: int = 0
    options: ValidateOptions = Field(
        default_factory=ValidateOptions, description="how `judgekit validate` reads the labels"
    )

    @model_validator(mode="after")
    def _inputs(self) -> Drift:
        if not self.floors:
            raise ValueError("drift.floors: name at least one statistic, e.g. {spearman: 0.5}")
        if self.scores is None and (self.dataset is None or self.responses is None):
            raise ValueError("drift needs 'dataset' and 'responses' (to re-score), or 'scores'")
        return self


class Provenance(_Strict):
    strict: bool = Field(False, description="fail (not just warn) when inputs were judged differently")


class GateConfig(_Strict):
    """The gate YAML file. Unknown keys are errors; paths are relative to the file's folder."""

    version: Literal[1] = 1
    floors: Floors = Field(default_factory=Floors)
    regression: Regression | None = Field(default_factory=Regression)
    per_question: PerQuestion = Field(default_factory=PerQuestion)
    drift: Drift | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("regression", mode="before")
    @classmethod
    def _regression_off(cls, v: Any) -> Any:
        return None if v is False else v

    def resolved(self, base: Path) -> GateConfig:
        """Drift paths made absolute against ``base`` (the config file's folder)."""
        if self.drift is None:
            return self
        updates = {
            k: (base / p if p is not None and not p.is_absolute() else p)
            for k in ("dataset", "responses", "labels", "scores")
            for p in [getattr(self.drift, k)]
        }
        return self.model_copy(update={"drift": self.drift.model_copy(update=updates)})


def load_config(path: str | Path | None) -> GateConfig:
    """Read and validate a gate YAML file (``None``: the defaults, a regression check only)."""
    if path is None:
        return GateConfig()
    p = Path(path)
    config = validate(p, GateConfig, read_mapping(p, "a gate YAML file"))
    return config.resolved(p.resolve().parent)
