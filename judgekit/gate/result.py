"""What a gate run returns: one :class:`Check` per check, the paired statistics and the questions that fell.

``GateResult.to_json()`` is the ``--json`` file; the writers in :mod:`judgekit.gate.report` render the rest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from judgekit.stats.paired import PairedStats

Status = Literal["pass", "fail", "warn", "skip"]
Kind = Literal["floor", "regression", "per_question", "drift", "provenance"]


class Check(BaseModel):
    """One check's outcome: a JUnit test case, a row of the Markdown table."""

    name: str
    kind: Kind
    status: Status
    message: str
    value: float | None = Field(None, description="the measured value (None: nothing to measure)")
    threshold: float | None = Field(None, description="the floor or limit it was held against")
    details: dict[str, Any] = Field(default_factory=dict)


class Power(BaseModel):
    """What the regression check could have seen: the smallest drop its one-sided test detects with
    probability ``power`` given ``n`` paired questions and the observed ``sd`` of their differences."""

    n: int
    sd: float | None = Field(description="SD of the paired differences (None: fewer than 2 questions)")
    alpha: float
    power: float = Field(description="the target power of detectable_drop")
    method: str = Field(description="t: one-sided paired t-test (noncentral t), the approximation used")
    null: str
    tolerance: float
    detectable_drop: float | None = Field(description="smallest true mean drop detected with `power`")
    power_at_tolerance: float | None = Field(
        description="probability that the test flags a true drop equal to the tolerance (null: no_change)"
    )
    adequate: bool | None = Field(description="detectable_drop <= tolerance (None: unknown)")
    message: str


class AspectChange(BaseModel):
    aspect: str
    baseline: float | None
    candidate: float | None
    diff: float | None
    baseline_status: str | None = None
    candidate_status: str | None = None


class QuestionChange(BaseModel):
    id: str
    baseline: float | None
    candidate: float | None
    diff: float | None
    category: str | None = None
    aspects: list[AspectChange] = Field(default_factory=list)


class GateResult(BaseModel):
    passed: bool
    checks: list[Check]
    regression: PairedStats | None = None
    power: Power | None = None
    regressed: list[QuestionChange] = Field(default_factory=list)
    missing: dict[str, list[str]] = Field(default_factory=dict)
    mismatches: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    drift: dict[str, Any] | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == "warn"]

    def to_json(self) -> dict[str, Any]:
        return {"judgekit_gate": 1, **self.model_dump(mode="json")}
