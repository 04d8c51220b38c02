"""The settings of a scoring run (:class:`ScoreSettings`), apart from ``score()`` itself.

Kept in their own module so that provenance (which writes them into a score file's ``meta`` and reads them
back) and scoring can both import them without importing each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.data import DEFAULT_MAX_RESPONSE_CHARS
from judgekit.judges.factory import JudgeOptions
from judgekit.rubric import Mode
from judgekit.run.batch.settings import BatchSettings
from judgekit.run.engine import EngineSettings
from judgekit.scoring.aggregate import COMBINE_METHODS, Combine


class ScoreSettings(BaseModel):
    """Everything that shapes a scoring run, validated before any work starts."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    rubric: str = "lamp_qa"
    mode: Mode | None = None
    samples: int = Field(1, ge=1, le=100)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = Field(
        None, description="how hard a reasoning judge thinks, passed to providers that take it"
    )
    max_response_chars: int | None = Field(DEFAULT_MAX_RESPONSE_CHARS, ge=1)
    judge: JudgeOptions = Field(default_factory=JudgeOptions)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    combine: Combine = Field(
        "mean",
        description="how repeated judgments of a unit combine: the samples of a judge, then the judges of "
        "a panel (" + ", ".join(COMBINE_METHODS) + ")",
    )
    bootstrap: int = Field(2000, ge=0, le=100_000, description="bootstrap resamples for CIs (0 = none)")
    bootstrap_seed: int = 0
    batch: BatchSettings | None = Field(
        None, description="judge through the provider's batch API (None: live calls); see judgekit.run.batch"
    )
    deadline: float | None = Field(
        None,
        gt=0,
        description="seconds of wall time from the start of the run after which the judging stops like "
        "Ctrl-C (DeadlineReached, exit 124); finished judgments stay cached (None: no deadline)",
    )
    min_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="a finished run that scores a smaller fraction of its units fails (CoverageTooLow, exit 4); "
        "its score file is still written, with status 'failed'",
    )
