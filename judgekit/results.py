"""The score file: LaMP-QA's shape (score, per_question_scores[id, score, details]) plus what makes it trustworthy.

Existing LaMP-QA consumers read ``score`` and ``per_question_scores[*].{id,score,details[*].{aspect,score}}``;
everything else is extra keys. ``score`` is ``None`` where nothing could be scored; it is never a silent 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict  # pydantic needs it, not typing's, before Python 3.12

from judgekit.errors import InputError
from judgekit.io import read_json_large, validation_line

Status = Literal["scored", "unscored"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Result(_Model):
    """A part of a score file: built once, from everything it holds, and never changed after (frozen).
    Unknown keys of a file read back stay readable (``model_extra``); judgekit itself sets only declared
    fields."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _absent(value: object) -> bool:
    """Fields that a score file carries only where they apply are left out, not written as null."""
    return value is None


class AspectResult(_Result):
    """One judged unit of a question (an aspect, a criterion, an order of a pair)."""

    aspect: str
    score: float | None = None
    status: Status = "scored"
    reason: str | None = None
    samples: list[float | None] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    # How the score was obtained: "value" (as written), "logprob_weighted" (G-Eval), or "mixed" over samples.
    method: str | None = None
    # Panels: each judge's score for this unit (None where that judge could not score it).
    judges: dict[str, float | None] | None = None


class PairVerdicts(TypedDict, total=False):
    """A pair judged in both orders: each order's verdict in the original numbering ("1", "2", "tie"), their
    combination (or "inconsistent"), and whether the orders agree; ``None`` where an order has no verdict.
    A dict, as it always was to readers (``q.pairwise["combined"]``); judgekit writes all four keys."""

    original: str | None
    swapped: str | None
    combined: str | None
    consistent: bool | None


class QuestionResult(_Result):
    id: str
    score: float | None
    details: list[AspectResult]
    scored: int = 0
    total: int = 0
    coverage: float = 0.0
    category: str | None = None
    lexical: dict[str, float] | None = None
    # Panels: each judge's score for this question.
    judges: dict[str, float | None] | None = None
    # Pair rubrics only (absent elsewhere): the pair's verdicts.
    pairwise: PairVerdicts | None = Field(default=None, exclude_if=_absent)


class Coverage(_Result):
    scored: int
    total: int
    ratio: float
    questions_scored: int = 0
    questions_total: int = 0


class Counts(_Model):
    """What judging cost: the engine counts these per judge as it runs, the score file sums them."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0  # of the completion tokens, those a reasoning judge spent thinking
    cost_usd: float = 0.0


class Totals(Counts):
    model_config = ConfigDict(extra="allow", frozen=True)  # the run's sum, unlike a judge's running Counts

    wall_time_s: float = 0.0

    @classmethod
    def of(cls, counts: Sequence[Counts], wall_time_s: float) -> Totals:
        """The sum of every judge's counts, and the run's wall time."""
        summed: dict[str, Any] = {name: sum(getattr(c, name) for c in counts) for name in Counts.model_fields}
        summed["cost_usd"] = round(summed["cost_usd"], 8)
        return cls(**summed, wall_time_s=round(wall_time_s, 3))


class Unscored(_Result):
    id: str
    aspect: str
    reason: str


class ScoreFile(_Result):
    score: float | None
    per_question_scores: list[QuestionResult]
    coverage: Coverage
    unscored: list[Unscored] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    meta: dict[str, Any] = Field(default_factory=dict)
    lexical: dict[str, Any] | None = None
    # Bootstrap CI of ``score``: {low, high, level, method, n, resamples} (None with --bootstrap 0). Per
    # category / recurring aspect title: {score, score_ci, questions_scored, questions_total}. Plain JSON, so
    # files written by hand or by other tools ({ci_low, ci_high}) still load.
    score_ci: dict[str, Any] | None = None
    by_category: dict[str, dict[str, Any]] | None = None
    by_aspect: dict[str, dict[str, Any]] | None = None
    # Pair rubrics: win/tie/loss rates with CIs, position consistency, accuracy against labels.
    pairwise: dict[str, Any] | None = None
    # Several judges: how they were combined, per-judge score and coverage, inter-judge alpha.
    panel: dict[str, Any] | None = None
    # Several samples per judgment: agreement of the samples with each other (self-consistency).
    consistency: dict[str, Any] | None = None
    # How the run ended ("failed": coverage below --min-coverage) and why; absent from files not written by
    # `judgekit score` (LaMP-QA's own), and ``failure`` from a run that did not fail.
    status: Literal["ok", "failed"] | None = Field(default=None, exclude_if=_absent)
    failure: str | None = Field(default=None, exclude_if=_absent)

    def by_id(self) -> dict[str, QuestionResult]:
        return {q.id: q for q in self.per_question_scores}


def load_score_file(path: str | Path) -> ScoreFile:
    """Read a judgekit (or plain LaMP-QA) score file with a one-line error on failure."""
    p = Path(path)
    raw = read_json_large(p, what="score file")
    if isinstance(raw, dict) and "coverage" not in raw and isinstance(raw.get("per_question_scores"), list):
        raw = _from_plain_lamp_qa(raw)
    try:
        return ScoreFile.model_validate(raw)
    except ValidationError as err:
        raise InputError(f"{p}: {validation_line(err)}") from None


def _from_plain_lamp_qa(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept LaMP-QA's own score files, which carry no coverage (every aspect was scored)."""
    questions = raw["per_question_scores"]
    total = 0
    for q in questions:
        if isinstance(q, dict):
            details = q.get("details") or []
            q.setdefault("scored", len(details))
            q.setdefault("total", len(details))
            q.setdefault("coverage", 1.0 if details else 0.0)
            total += len(details)
    raw = dict(raw)
    raw["coverage"] = {
        "scored": total,
        "total": total,
        "ratio": 1.0 if total else 0.0,
        "questions_scored": len(questions),
        "questions_total": len(questions),
    }
    return raw
