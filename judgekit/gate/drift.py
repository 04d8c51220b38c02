"""The gate's judge-drift check: re-score a pinned human-labelled set and compare agreement with floors.

A judge model can change under the same name (a provider update, a new quantisation). The drift set is a
small, fixed set of responses with human labels; the gate scores it with the candidate's rubric and judge
settings (read back from its ``meta`` by :mod:`judgekit.score_reader`, scored through :func:`judgekit.score`, so
an unchanged judge is answered from the cache at no cost) and computes agreement with the labels through
:mod:`judgekit.validate` (see :mod:`judgekit.gate.agreement`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judgekit.errors import ConfigError, CoverageTooLow, InputError, JudgeUnavailable
from judgekit.gate.agreement import agreement_statistics, check_statistic_names
from judgekit.gate.config import Drift
from judgekit.gate.inputs import check_score_values
from judgekit.gate.result import Check, Status
from judgekit.io import validation_line
from judgekit.results import ScoreFile, load_score_file
from judgekit.score_reader import judge_spec_from_meta, meta_value, settings_from_meta


@dataclass
class DriftOutcome:
    """The drift checks, the score file of the drift set they judged, and what the JSON result reports."""

    checks: list[Check]
    scores: ScoreFile
    info: dict[str, Any] = field(default_factory=dict)


def rescore(
    drift: Drift,
    candidate: ScoreFile,
    judge: str | None,
    judge_options: Any,
    cache: str | Path | bool,
) -> ScoreFile:
    """The drift set scored with the candidate's rubric and judge settings (``judge`` overrides its judge)."""
    from judgekit.scoring.core import score

    spec = judge or judge_spec_from_meta(candidate.meta)
    if spec is None:
        raise ConfigError(
            "drift: cannot tell which judge scored the candidate (no meta.judge.identity); "
            "pass --judge (and --api-base), or a pre-computed --drift-scores file"
        )
    api_base = getattr(judge_options, "api_base", None)
    api_key = getattr(judge_options, "api_key", None)
    try:
        settings = settings_from_meta(candidate.meta, api_base, api_key)
    except ValidationError as err:
        raise InputError(
            f"candidate meta: cannot rebuild the judge settings for the drift set ({validation_line(err)})"
        ) from None
    assert drift.dataset is not None and drift.responses is not None
    try:
        return score(drift.dataset, drift.responses, judge=spec, settings=settings, cache=cache)
    except CoverageTooLow as err:
        # the drift checks judge the coverage themselves (nothing scored: the judge failed; some: noted)
        partial = getattr(err, "score_file", None)
        if not isinstance(partial, ScoreFile):
            raise
        return partial


def drift_checks(
    drift: Drift,
    candidate: ScoreFile,
    *,
    drift_scores: str | Path | ScoreFile | None = None,
    judge: str | None = None,
    judge_options: Any = None,
    cache: str | Path | bool = True,
    fresh: bool = False,
) -> DriftOutcome:
    """One check per statistic in ``drift.floors``, on ``drift_scores`` (or ``drift.scores``) if given,
    else on the drift set re-scored (``fresh``: without reading the cache)."""
    source = drift_scores if drift_scores is not None else drift.scores
    check_statistic_names(drift.floors)
    if not drift.labels.is_file():
        raise InputError(f"{drift.labels}: drift labels file not found")
    scores_path: Path | None = None
    calls: int | None = None
    if source is not None:
        scores, scores_path = given_scores(source)
        origin = "given" if scores_path is None else str(scores_path)
    else:
        scores = rescore(drift, candidate, judge, judge_options, False if fresh else cache)
        origin = "re-scored without the cache" if fresh else "re-scored"
        calls = scores.totals.calls
        if scores.coverage.scored == 0:
            # a judge that scored nothing failed; it is not an id-matching problem of the labels
            raise JudgeUnavailable(
                f"drift: the judge ({_judge_name(scores)}) scored none of the {scores.coverage.total} units "
                f"of the drift set{_first_reason(scores)}"
            )
    stats, notes = agreement_statistics(scores, scores_path, drift)
    checks = [
        statistic_check(drift, name, floor, stats[name], scores.coverage.ratio)
        for name, floor in drift.floors.items()
    ]
    info = {
        "source": origin,
        "judge_calls": calls,
        "cache_hits": scores.totals.cache_hits if calls is not None else None,
        "judge": meta_value(scores.meta, "judge", "identity"),
        "statistics": stats,
        "notes": notes,
        "coverage": scores.coverage.ratio,
    }
    return DriftOutcome(checks=checks, scores=scores, info=info)


def given_scores(source: str | Path | ScoreFile) -> tuple[ScoreFile, Path | None]:
    """A pre-computed score file of the drift set (and its path), refused when it has nothing scored."""
    scores = source if isinstance(source, ScoreFile) else load_score_file(source)
    scores_path = None if isinstance(source, ScoreFile) else Path(source)
    name = "drift scores" if scores_path is None else str(scores_path)
    check_score_values(scores, name)
    if scores.coverage.scored == 0:
        raise InputError(f"{name}: the drift score file has nothing scored{_first_reason(scores)}")
    return scores, scores_path


def statistic_check(drift: Drift, name: str, floor: float, est: dict[str, Any], coverage: float) -> Check:
    """One agreement statistic (its estimate, or its CI's lower end) against its floor."""
    conf = drift.options.confidence or 0.95
    value = est.get("value")
    if drift.use == "ci_low":
        value = est.get("ci_low")
    ci = ""
    if est.get("ci_low") is not None and est.get("ci_high") is not None:
        ci = f" ({conf:.0%} CI {est['ci_low']:.3f}..{est['ci_high']:.3f}, n={est.get('n')})"
    label = name if drift.use == "estimate" else f"{name} CI lower bound"
    if value is None or not math.isfinite(value):
        status: Status = "fail"
        why = f" ({est['why']})" if est.get("why") else ""
        message = f"{label} undefined on the drift set{why}; floor {floor:g}"
        value = None
    else:
        ok = value >= floor
        status = "pass" if ok else "fail"
        message = f"{label} {value:.3f} {'>=' if ok else '<'} {floor:g}{ci}"
        if not ok:
            message += ": the judge agrees less with the human labels than required"
    if coverage < 1:
        message += f" (the judge scored {coverage:.0%} of the drift set)"
    return Check(
        name=f"drift.{name}",
        kind="drift",
        status=status,
        message=message,
        value=value,
        threshold=floor,
        details=est,
    )


def _judge_name(scores: ScoreFile) -> str:
    identity = meta_value(scores.meta, "judge", "identity")
    return identity.split("|", 1)[0] if isinstance(identity, str) else "unknown judge"


def _first_reason(scores: ScoreFile) -> str:
    if not scores.unscored:
        return ""
    reason = " ".join(scores.unscored[0].reason.split())
    return f"; first failure: {reason[:300]}" if reason else ""
