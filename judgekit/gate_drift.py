"""The gate's judge-drift check: re-score a pinned human-labelled set and compare agreement with floors.

A judge model can change under the same name (a provider update, a new quantisation). The drift set is a
small, fixed set of responses with human labels; the gate scores it with the candidate's rubric and judge
settings (through :func:`judgekit.score`, so an unchanged judge is answered from the cache at no cost) and
computes agreement with the labels through :mod:`judgekit.validate`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, CoverageTooLow, InputError, JudgeUnavailable
from judgekit.gate import Check, Drift, Status, check_score_values
from judgekit.results import ScoreFile, load_score_file


@dataclass
class DriftOutcome:
    checks: list[Check]
    scores: ScoreFile
    info: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# Re-scoring with the candidate's settings
# ----------------------------------------------------------------------------------------------------------


def judge_spec_from_meta(meta: dict[str, Any]) -> str | None:
    """The ``--judge`` string that produced a score file, recovered from its ``meta.judge.identity``.

    ``litellm:MODEL[@API_BASE]|structured=...`` -> ``MODEL``; ``local:FILE:SIZE`` -> ``local``;
    ``python:module:attr`` -> ``module:attr``. ``None`` when the identity is missing or unknown.
    """
    judge = meta.get("judge")
    if not isinstance(judge, dict) or not isinstance(judge.get("identity"), str):
        return None
    identity: str = judge["identity"].split("|", 1)[0]
    if identity.startswith("litellm:"):
        model = identity[len("litellm:") :]
        api_base = judge.get("api_base")
        if isinstance(api_base, str) and model.endswith("@" + api_base):
            model = model[: -len(api_base) - 1]
        else:
            model = _split_endpoint(model)[0]
        return model or None
    if identity.startswith("local:"):
        return "local"
    if identity.startswith("python:"):
        return identity[len("python:") :] or None
    return None


def _split_endpoint(model: str) -> tuple[str, str | None]:
    """``MODEL@http://HOST/v1`` -> (MODEL, URL); a model name may itself hold '@' (``x/sonnet@20240620``)."""
    found = re.fullmatch(r"(.+?)@(https?://\S+)", model)
    return (found.group(1), found.group(2)) if found else (model, None)


def _endpoint_from_meta(judge: dict[str, Any]) -> str | None:
    """The judge's endpoint: ``meta.judge.api_base``, else the one in its identity (a panel-file judge)."""
    if isinstance(judge.get("api_base"), str):
        return str(judge["api_base"])
    identity = judge.get("identity")
    if isinstance(identity, str) and identity.startswith("litellm:"):
        return _split_endpoint(identity.split("|", 1)[0][len("litellm:") :])[1]
    return None


def settings_from_meta(meta: dict[str, Any], api_base: str | None, api_key: str | None) -> Any:
    """:class:`~judgekit.scoring.ScoreSettings` equal to those recorded in a score file's ``meta``."""
    from pydantic import ValidationError

    from judgekit.engine import EngineSettings
    from judgekit.judges.factory import JudgeOptions
    from judgekit.scoring import ScoreSettings

    rubric = meta.get("rubric") if isinstance(meta.get("rubric"), dict) else {}
    judge = meta.get("judge") if isinstance(meta.get("judge"), dict) else {}
    assert isinstance(rubric, dict) and isinstance(judge, dict)
    folder = rubric.get("folder")
    name = rubric.get("name")
    rubric_ref = name if isinstance(name, str) else "lamp_qa"
    if isinstance(folder, str) and Path(folder).is_dir():
        from judgekit.rubric import load_rubric

        try:
            builtin = load_rubric(rubric_ref)
            same = builtin.content_hash == rubric.get("content_sha256")
        except Exception:
            same = False
        if not same:
            rubric_ref = folder
    engine_raw = meta.get("engine") if isinstance(meta.get("engine"), dict) else {}
    try:
        engine = EngineSettings.model_validate(engine_raw)
    except ValidationError:
        engine = EngineSettings()
    try:
        return ScoreSettings(
            rubric=rubric_ref,
            mode=rubric.get("mode"),
            samples=judge.get("samples") or 1,
            temperature=judge.get("temperature") or 0.0,
            max_tokens=judge.get("max_tokens"),
            seed=judge.get("seed"),
            judge=JudgeOptions(
                api_base=api_base if api_base is not None else _endpoint_from_meta(judge),
                api_key=api_key,
                structured=judge.get("structured") or "auto",
            ),
            engine=engine,
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise InputError(
            f"candidate meta: cannot rebuild the judge settings for the drift set "
            f"({'.'.join(str(x) for x in first['loc'])}: {first['msg']})"
        ) from None


def rescore(
    drift: Drift,
    candidate: ScoreFile,
    judge: str | None,
    judge_options: Any,
    cache: str | Path | bool,
) -> ScoreFile:
    from judgekit.scoring import score

    spec = judge or judge_spec_from_meta(candidate.meta)
    if spec is None:
        raise ConfigError(
            "drift: cannot tell which judge scored the candidate (no meta.judge.identity); "
            "pass --judge (and --api-base), or a pre-computed --drift-scores file"
        )
    api_base = getattr(judge_options, "api_base", None)
    api_key = getattr(judge_options, "api_key", None)
    settings = settings_from_meta(candidate.meta, api_base, api_key)
    assert drift.dataset is not None and drift.responses is not None
    try:
        return score(drift.dataset, drift.responses, judge=spec, settings=settings, cache=cache)
    except CoverageTooLow as err:
        # the drift checks judge the coverage themselves (nothing scored: the judge failed; some: noted)
        partial = getattr(err, "score_file", None)
        if not isinstance(partial, ScoreFile):
            raise
        return partial


# ----------------------------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------------------------


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
    source = drift_scores if drift_scores is not None else drift.scores
    from judgekit.gate_agreement import agreement_statistics, check_statistic_names

    check_statistic_names(drift.floors)
    if not drift.labels.is_file():
        raise InputError(f"{drift.labels}: drift labels file not found")
    scores_path: Path | None = None
    calls: int | None = None
    if source is not None:
        scores = source if isinstance(source, ScoreFile) else load_score_file(source)
        scores_path = None if isinstance(source, ScoreFile) else Path(source)
        origin = "given" if scores_path is None else str(scores_path)
        name = "drift scores" if scores_path is None else str(scores_path)
        check_score_values(scores, name)
        if scores.coverage.scored == 0:
            raise InputError(f"{name}: the drift score file has nothing scored{_first_reason(scores)}")
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
    conf = drift.options.confidence or 0.95
    checks = []
    for name, floor in drift.floors.items():
        est = stats[name]
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
        if scores.coverage.ratio < 1:
            message += f" (the judge scored {scores.coverage.ratio:.0%} of the drift set)"
        checks.append(
            Check(
                name=f"drift.{name}",
                kind="drift",
                status=status,
                message=message,
                value=value,
                threshold=floor,
                details=est,
            )
        )
    info = {
        "source": origin,
        "judge_calls": calls,
        "cache_hits": scores.totals.cache_hits if calls is not None else None,
        "judge": scores.meta.get("judge", {}).get("identity")
        if isinstance(scores.meta.get("judge"), dict)
        else None,
        "statistics": stats,
        "notes": notes,
        "coverage": scores.coverage.ratio,
    }
    return DriftOutcome(checks=checks, scores=scores, info=info)


def _judge_name(scores: ScoreFile) -> str:
    judge = scores.meta.get("judge")
    identity = judge.get("identity") if isinstance(judge, dict) else None
    return identity.split("|", 1)[0] if isinstance(identity, str) else "unknown judge"


def _first_reason(scores: ScoreFile) -> str:
    if not scores.unscored:
        return ""
    reason = " ".join(scores.unscored[0].reason.split())
    return f"; first failure: {reason[:300]}" if reason else ""
