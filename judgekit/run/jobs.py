"""A judgment to make (Job), one request of its conversation (CallRecord) and its outcome (JobResult): what
the runner produces and the scorer, the run log and the batch driver read, without importing the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from judgekit.judges.base import JudgeParams
from judgekit.rubric import CallPlan


@dataclass(frozen=True, slots=True)
class Job:
    plan: CallPlan
    sample: int
    params: JudgeParams


@dataclass(slots=True)
class CallRecord:
    """One request of a conversation, as the run log shows it (slots: a large run holds 100,000 of them)."""

    key: str
    turn: int
    status: str  # "ok" | "cached" | "failed"
    text: str | None = None
    parse_error: str | None = None
    tries: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    reasoning: str | None = None  # the judge's thinking, set apart from ``text`` before parsing
    reasoning_tokens: int = 0


@dataclass(slots=True)
class JobResult:
    job: Job
    ok: bool
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    reason: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None
    method: str = "value"
