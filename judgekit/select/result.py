"""select.json: the split, every candidate's dev figures and price, the paired differences, and the choice
with its held-out test agreement."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit._version import __version__


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figure(_Model):
    """An agreement figure with its percentile bootstrap CI, on ``n`` items."""

    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class Split(_Model):
    dev: list[str]
    test: list[str]
    seed: int
    group: str | None = None


class CandidateResult(_Model):
    name: str
    spec: dict[str, Any] = Field(description="judge, api_base, rubric, settings, price (no key)")
    dev: Figure | None = Field(description="None when the candidate scored too few items to measure")
    cost_per_1k: float | None = Field(description="dollars per 1,000 judgments, as score --dry-run prices")
    parse_rate: float = Field(description="share of the dev units the judge left unscored")
    stopped_after: int | None = Field(None, description="--race: dev items seen when it stopped (None: all)")
    on_frontier: bool = False
    calls: int = 0
    calls_saved: int = Field(0, description="--race: judgments not made against scoring all of dev")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float | None = Field(None, description="wall time per call of its dev runs")
    score_file: str | None = None
    position_consistency: Figure | None = Field(
        None, description="pairwise rubrics: share of dev pairs whose two orders agree, with its CI"
    )


class Pair(_Model):
    """``a - b`` in the metric on the items both scored, with a paired bootstrap CI and two-sided p."""

    a: str
    b: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    p_adjusted: float | None
    n: int = 0


class Chosen(_Model):
    name: str
    reason: str
    test: Figure
    score_file: str | None = None


class SelectResult(_Model):
    version: str = __version__
    metric: str
    split: Split
    candidates: list[CandidateResult]
    pairs: list[Pair]
    chosen: Chosen
    settings: dict[str, Any] = Field(default_factory=dict)
    race: dict[str, Any] | None = None
    variants: list[Variant] = Field(default_factory=list)


class Variant(_Model):
    """A rubric variant written by ``--propose``: its folder, whether it loaded, and its diff to the parent."""

    name: str
    parent: str
    folder: str
    valid: bool
    reason: str | None = None
    summary: str = ""
    diff: str = ""


SelectResult.model_rebuild()
