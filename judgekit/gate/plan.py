"""``judgekit gate --plan``: how many paired questions the regression check needs to detect a drop.

The spread is the SD of the paired differences ``candidate - baseline``: given (``--sd``), measured over the
questions a baseline and a candidate both score, or, from a baseline alone, stood in for by the SD of its
question scores. Two systems whose question scores (SD ``s`` each) correlate ``rho`` have paired differences
with SD ``sqrt(2 (1 - rho)) * s``: the stand-in is exact at ``rho = 0.5`` and conservative (too large) above.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from judgekit.errors import ConfigError
from judgekit.gate.inputs import check_score_values
from judgekit.gate.text import fixed
from judgekit.results import ScoreFile, load_score_file
from judgekit.stats.power import questions_needed

SdSource = Literal["given", "baseline", "paired"]

_ASSUMED = (
    "SD of the baseline's question scores, standing in for the SD of paired differences: "
    "exact if the two systems' question scores correlate at 0.5, conservative if more (SD of differences = "
    "sqrt(2(1-rho)) x SD); give --candidate too to measure it"
)


class Plan(BaseModel):
    """The answer: ``questions`` paired questions detect a true mean drop of ``drop`` with ``power``."""

    questions: int
    drop: float
    sd: float
    sd_source: SdSource
    sd_questions: int | None = Field(None, description="questions the SD was measured on")
    alpha: float
    power: float
    method: str = "t"
    assumption: str | None = None
    message: str

    def to_json(self) -> dict[str, object]:
        return {"judgekit_gate_plan": 1, **self.model_dump(mode="json")}


def plan(
    drop: float,
    *,
    sd: float | None = None,
    baseline: str | Path | None = None,
    candidate: str | Path | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Plan:
    """The fewest paired questions with which the one-sided paired t-test at ``alpha`` detects ``drop``."""
    if not (math.isfinite(drop) and drop > 0):
        raise ConfigError(f"--drop must be a positive number of score units, got {drop:g}")
    for name, value in (("--alpha", alpha), ("--power", power)):
        if not (0 < value < 1):
            raise ConfigError(f"{name} must be between 0 and 1 (exclusive), got {value:g}")
    if (sd is None) == (baseline is None):
        raise ConfigError("--plan needs the spread from exactly one of --sd SD or --baseline FILE")
    if candidate is not None and baseline is None:
        raise ConfigError(
            "--plan --candidate needs --baseline FILE (the SD comes from their paired differences)"
        )
    source: SdSource = "given"
    measured_on: int | None = None
    if sd is None:
        assert baseline is not None
        sd, measured_on, source = _sd_from_files(baseline, candidate)
    if not (math.isfinite(sd) and sd > 0):
        raise ConfigError(f"--sd must be a positive standard deviation, got {sd:g}")
    n = questions_needed(drop, sd, alpha, power)
    spread = {
        "given": "given",
        "baseline": f"from {measured_on} baseline question scores, see the assumption",
        "paired": f"measured over {measured_on} paired questions",
    }[source]
    message = (
        f"{n} paired questions detect a mean drop of {drop:g} with {power:.0%} power "
        f"(one-sided paired t-test, alpha {alpha:g}; SD of paired differences {fixed(sd, 4)}, {spread})"
    )
    return Plan(
        questions=n, drop=drop, sd=sd, sd_source=source, sd_questions=measured_on, alpha=alpha, power=power,
        assumption=_ASSUMED if source == "baseline" else None, message=message,
    )  # fmt: skip


def _sd_from_files(baseline: str | Path, candidate: str | Path | None) -> tuple[float, int, SdSource]:
    """The SD of the baseline's question scores, or of the paired differences when a candidate is given."""
    base = _load(baseline, "--baseline")
    if candidate is None:
        values = [q.score for q in base.per_question_scores if q.score is not None]
        source: SdSource = "baseline"
        what = f"--baseline {baseline}: "
    else:
        cand = _load(candidate, "--candidate").by_id()
        values = [
            c.score - q.score
            for q in base.per_question_scores
            if q.score is not None and (c := cand.get(q.id)) is not None and c.score is not None
        ]
        source = "paired"
        what = f"--baseline {baseline} and --candidate {candidate}: "
    if len(values) < 2:
        raise ConfigError(what + f"{len(values)} scored question(s); the SD needs at least 2")
    sd = float(np.std(values, ddof=1))
    if sd == 0:
        raise ConfigError(what + "every value is the same (SD 0): no spread to plan with; give --sd")
    return sd, len(values), source


def _load(path: str | Path, flag: str) -> ScoreFile:
    sf = load_score_file(path)
    check_score_values(sf, f"{flag} {path}")
    return sf
