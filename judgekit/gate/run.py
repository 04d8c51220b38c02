"""``gate()``: run the configured checks on a candidate score file and collect them into a :class:`GateResult`.

The order is fixed: input values refused first, then floors, the regression checks against the baseline, the
drift checks, provenance. The verdict is a pure function of the inputs and the configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError
from judgekit.gate.checks import floor_checks, no_baseline_check, provenance_check, regression_power
from judgekit.gate.config import GateConfig, load_config
from judgekit.gate.drift import drift_checks
from judgekit.gate.inputs import check_score_values
from judgekit.gate.probes import probe_checks
from judgekit.gate.regression import compare
from judgekit.gate.result import Check, GateResult, QuestionChange
from judgekit.results import ScoreFile, load_score_file
from judgekit.score_reader import meta_value
from judgekit.stats.paired import PairedStats


def gate(
    candidate: str | Path | ScoreFile,
    baseline: str | Path | ScoreFile | None = None,
    config: str | Path | GateConfig | None = None,
    *,
    strict: bool | None = None,
    drift_scores: str | Path | ScoreFile | None = None,
    drift_judge: str | None = None,
    drift_judge_options: Any = None,
    cache: str | Path | bool = True,
    drift_fresh: bool | None = None,
) -> GateResult:
    """Run the checks of ``config`` on ``candidate`` (against ``baseline`` if given); never writes files.

    ``drift_scores`` (a score file of the pinned set) overrides ``drift.scores`` in the config; otherwise the
    drift set is re-scored with :func:`judgekit.score`, using the candidate's rubric and judge settings (from
    its ``meta``) and ``drift_judge`` / ``drift_judge_options`` (a :class:`~judgekit.judges.JudgeOptions`) when
    given. With the score cache kept, an unchanged judge costs no judge call; ``drift_fresh`` (or
    ``drift.fresh``) bypasses the cache so that a model changed under the same name is caught.
    """
    cfg = config if isinstance(config, GateConfig) else load_config(config)
    cand = candidate if isinstance(candidate, ScoreFile) else load_score_file(candidate)
    base = baseline if isinstance(baseline, ScoreFile) or baseline is None else load_score_file(baseline)
    is_strict = cfg.provenance.strict if strict is None else strict
    check_score_values(cand, _name(candidate, "candidate"))
    if base is not None:
        check_score_values(base, _name(baseline, "baseline"))

    checks = floor_checks(cand, cfg.floors)
    stats: PairedStats | None = None
    regressed: list[QuestionChange] = []
    missing: dict[str, list[str]] = {}
    if base is not None:
        reg_checks, stats, regressed, missing = compare(cand, base, cfg)
        checks += reg_checks
    elif cfg.regression is not None:
        checks.append(no_baseline_check())
    drift_info: dict[str, Any] | None = None
    drift_file: ScoreFile | None = None
    if cfg.drift is not None:
        fresh = cfg.drift.fresh if drift_fresh is None else drift_fresh
        drift_result = drift_checks(
            cfg.drift,
            cand,
            drift_scores=drift_scores,
            judge=drift_judge,
            judge_options=drift_judge_options,
            cache=cache,
            fresh=fresh,
        )
        checks += drift_result.checks
        drift_info, drift_file = drift_result.info, drift_result.scores
    checks += probe_checks(cfg.probes)
    prov, mismatches = provenance_check(cand, base, drift_file, is_strict)
    checks.append(prov)
    nothing = _nothing_checked(checks, config is not None, base is not None)
    if nothing is not None:
        raise ConfigError(nothing)
    return GateResult(
        passed=not any(c.status == "fail" for c in checks),
        checks=checks,
        regression=stats,
        power=regression_power(stats, cfg.regression) if stats and cfg.regression else None,
        regressed=regressed,
        missing={k: v for k, v in missing.items() if v},
        mismatches=mismatches,
        inputs={
            "candidate": _describe(candidate, cand),
            "baseline": _describe(baseline, base) if base is not None else None,
        },
        config=cfg.model_dump(mode="json"),
        drift=drift_info,
    )


def _nothing_checked(checks: Sequence[Check], config_given: bool, baseline_given: bool) -> str | None:
    """Why no check judged anything (every one skipped), or ``None`` when something was checked."""
    if any(c.status != "skip" for c in checks):
        return None
    if not config_given and not baseline_given:
        return (
            "nothing to check: give --baseline FILE (a paired regression test against a stored score file) "
            "and/or --config FILE with floors or a drift set"
        )
    skipped = "; ".join(f"{c.name}: {c.message}" for c in checks)
    return (
        f"nothing to check, every check was skipped ({skipped}); give --baseline FILE, "
        "or floors or a drift set in the config"
    )


def _name(source: Any, role: str) -> str:
    """How error messages name an input: its path, or its role when given as an object."""
    return role if isinstance(source, ScoreFile) else str(source)


def _describe(source: Any, sf: ScoreFile) -> dict[str, Any]:
    return {
        "path": None if isinstance(source, ScoreFile) else str(source),
        "score": sf.score,
        "questions": len(sf.per_question_scores),
        "coverage": sf.coverage.ratio,
        "rubric": meta_value(sf.meta, "rubric", "name"),
        "judge": meta_value(sf.meta, "judge", "identity"),
    }
