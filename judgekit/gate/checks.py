"""The gate's checks, one function per check, each turning values and its config section into a :class:`Check`.

A floor passes when the value is ``>=`` its floor; the regression check fails only when the drop exceeds the
tolerance *and* the paired test is significant; provenance warns (or fails with ``strict``) when the inputs were
judged differently. Naming a floor the candidate does not have is a :class:`ConfigError`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from judgekit.errors import ConfigError
from judgekit.gate.config import Floors, PerQuestion, Regression
from judgekit.gate.result import Check, Power, QuestionChange, Status
from judgekit.gate.text import available, fixed, ids_text, p_text, short, signed
from judgekit.results import ScoreFile
from judgekit.score_reader import PROVENANCE_FIELDS, has_provenance, meta_value, unit_noun
from judgekit.stats.paired import PairedStats
from judgekit.stats.power import detectable_drop, power_of

#: The power at which the gate report states the smallest drop its regression check can detect.
POWER_TARGET = 0.8

# ---- floors --------------------------------------------------------------------------------------------


def floor_check(name: str, label: str, value: float | None, floor: float, extra: str = "") -> Check:
    """``value >= floor``; no value (nothing scored) fails."""
    if value is None or not math.isfinite(value):
        return Check(
            name=name,
            kind="floor",
            status="fail",
            message=f"{label}: nothing scored{extra}, floor {floor:g}",
            threshold=floor,
        )
    ok = value >= floor
    return Check(
        name=name,
        kind="floor",
        status="pass" if ok else "fail",
        message=f"{label} {fixed(value)} {'>=' if ok else '<'} {floor:g}{extra}",
        value=value,
        threshold=floor,
    )


def floor_checks(candidate: ScoreFile, floors: Floors, where: str = "candidate") -> list[Check]:
    """Every floor of the config, in the order score, coverage, aspects, categories, lexical."""
    checks: list[Check] = []
    if floors.score is not None:
        checks.append(floor_check("floor.score", "overall score", candidate.score, floors.score))
    if floors.coverage is not None:
        cov = candidate.coverage
        extra = f" ({cov.scored}/{cov.total} {unit_noun(candidate)} scored)"
        checks.append(floor_check("floor.coverage", "coverage", cov.ratio, floors.coverage, extra))
    if floors.aspects:
        checks += aspect_floor_checks(candidate, floors.aspects, where)
    if floors.categories:
        checks += category_floor_checks(candidate, floors.categories, where)
    if floors.lexical:
        checks += lexical_floor_checks(candidate, floors.lexical, where)
    return checks


def _mean_floor_checks(
    kind: tuple[str, str],
    values: Mapping[str, list[float]],
    seen: set[str],
    floors: Mapping[str, float],
    where: str,
) -> list[Check]:
    """Floors on the mean of each named aspect / category; a name the file lacks is a config error."""
    section, kind_name = kind
    checks = []
    for name, floor in floors.items():
        if name not in seen:
            raise ConfigError(
                f"floors.{section}: no {kind_name} {name!r} in the {where} score file" + available(seen)
            )
        vals = values.get(name, [])
        mean = float(np.mean(vals)) if vals else None
        label = f"{kind_name} {name!r}"
        checks.append(floor_check(f"floor.{kind_name}[{name}]", label, mean, floor, f" (n={len(vals)})"))
    return checks


def aspect_floor_checks(candidate: ScoreFile, floors: Mapping[str, float], where: str) -> list[Check]:
    """The mean score of each named aspect over the units where it was scored."""
    values: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for q in candidate.per_question_scores:
        for a in q.details:
            seen.add(a.aspect)
            if a.score is not None and a.status == "scored":
                values[a.aspect].append(a.score)
    return _mean_floor_checks(("aspects", "aspect"), values, seen, floors, where)


def category_floor_checks(candidate: ScoreFile, floors: Mapping[str, float], where: str) -> list[Check]:
    """The mean question score of each named category."""
    values: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for q in candidate.per_question_scores:
        if q.category is not None:
            seen.add(q.category)
            if q.score is not None:
                values[q.category].append(q.score)
    return _mean_floor_checks(("categories", "category"), values, seen, floors, where)


def lexical_floor_checks(candidate: ScoreFile, floors: Mapping[str, float], where: str) -> list[Check]:
    """The overall value of each named lexical metric (the file must hold lexical metrics)."""
    overall = (candidate.lexical or {}).get("overall") or {}
    if not isinstance(overall, Mapping) or not overall:
        raise ConfigError(
            f"floors.lexical: the {where} score file has no lexical metrics "
            "(score with --references to add them)"
        )
    checks = []
    for metric, floor in floors.items():
        if metric not in overall:
            raise ConfigError(f"floors.lexical: no metric {metric!r} in the {where}" + available(overall))
        raw = overall[metric]
        value = float(raw) if isinstance(raw, int | float) else None
        checks.append(floor_check(f"floor.lexical[{metric}]", metric, value, floor))
    return checks


# ---- regression against the baseline -------------------------------------------------------------------


def regression_check(s: PairedStats, reg: Regression) -> Check:
    """Fails when the mean drop exceeds the tolerance and the one-sided paired test is significant."""
    drop = -s.mean_diff
    significant = s.p_value < reg.alpha
    too_big = drop > reg.tolerance
    ci = f"{round(s.confidence * 100)}% CI [{signed(s.ci_low)}, {signed(s.ci_high)}]"
    effect = (
        f"Δ {signed(s.mean_diff)} ({ci}) over {s.n} paired question(s), "
        f"{p_text(s.p_value)} ({s.test}{', exact' if s.exact else ''})"
    )
    if too_big and significant:
        status: Status = "fail"
        why = f"dropped {fixed(drop)} > tolerance {reg.tolerance:g} and p < {reg.alpha:g}"
    elif too_big:
        status = "pass"
        why = (
            f"drop {fixed(drop)} > tolerance {reg.tolerance:g} but not significant (p ≥ {reg.alpha:g}): noise"
        )
    elif drop > 0:
        status = "pass"
        why = f"drop {fixed(drop)} within tolerance {reg.tolerance:g}"
    else:
        status = "pass"
        why = "no drop"
    return Check(
        name="regression",
        kind="regression",
        status=status,
        message=f"{why}; {effect}",
        value=s.mean_diff,
        threshold=-reg.tolerance,
        details={**s.model_dump(), "power": regression_power(s, reg).model_dump()},
    )


def regression_power(s: PairedStats, reg: Regression, power: float = POWER_TARGET) -> Power:
    """The smallest drop the check's one-sided test detects with probability ``power`` at its own alpha,
    given the paired questions and the observed SD of their differences (t-test approximation)."""
    tol = reg.tolerance
    shift = tol if reg.null == "tolerance" else 0.0
    base = {"n": s.n, "sd": s.sd_diff, "alpha": reg.alpha, "power": power, "method": "t", "null": reg.null}
    base["tolerance"] = tol
    if s.sd_diff is None or s.n < 2:
        message = f"with {s.n} paired question the power of the test cannot be estimated (needs 2 or more)"
        return Power(**base, detectable_drop=None, power_at_tolerance=None, adequate=None, message=message)
    sd = s.sd_diff
    effect = detectable_drop(s.n, sd, reg.alpha, power) if sd > 0 else 0.0
    drop = shift + effect
    at_tol: float | None = None
    if reg.null == "no_change" and tol > 0:
        at_tol = power_of(tol, s.n, sd, reg.alpha) if sd > 0 else 1.0
    adequate = drop <= tol
    return Power(
        **base,
        detectable_drop=drop,
        power_at_tolerance=at_tol,
        adequate=adequate,
        message=_power_message(s.n, sd, reg, (power, drop, effect), at_tol),
    )


def _power_message(
    n: int, sd: float, reg: Regression, target: tuple[float, float, float], at_tol: float | None
) -> str:
    power, drop, effect = target
    pct, tol = f"{power:.0%}", reg.tolerance
    if sd == 0:
        head = f"every paired difference is the same (SD 0) over {n} questions: the test sees any steady drop"
    elif drop > tol and reg.null == "no_change" and tol > 0:
        head = f"this gate cannot reliably see a drop of {tol:g} with {n} questions ({pct} power needs {fixed(drop)})"
    elif drop > tol:
        head = f"this gate cannot reliably see a drop smaller than {fixed(drop)} with {n} questions ({pct} power)"
    else:
        head = f"{pct} power to detect a drop of {fixed(drop)} with {n} questions (tolerance {tol:g})"
    if reg.null == "tolerance" and sd > 0:
        head += f"; null: tolerance, so the drop must exceed the tolerance {tol:g} by {fixed(effect)}"
    if at_tol is not None:
        head += f"; power at a drop of {tol:g}: {at_tol:.0%}"
    return head + f"; SD of paired differences {fixed(sd)}, one-sided alpha {reg.alpha:g}"


def no_pairs_check(n_shared: int) -> Check:
    """The regression check when no shared question is scored in both files."""
    return Check(
        name="regression",
        kind="regression",
        status="fail",
        message=f"no question is scored in both files ({n_shared} shared ids)",
    )


def no_baseline_check() -> Check:
    """The regression check without a baseline: skipped."""
    return Check(
        name="regression",
        kind="regression",
        status="skip",
        message="no baseline given (--baseline): regression checks skipped",
    )


def missing_check(lost: list[str], missing: Mapping[str, list[str]], reg: Regression) -> Check:
    """Baseline questions absent from (or unscored in) the candidate: warn, or fail with ``missing: fail``."""
    status: Status = "fail" if reg.missing == "fail" else "warn"
    return Check(
        name="regression.missing",
        kind="regression",
        status=status,
        message=f"{len(lost)} baseline question(s) missing or unscored in the candidate: " + ids_text(lost),
        value=float(len(lost)),
        details={k: v for k, v in missing.items() if v},
    )


def per_question_check(regressed: list[QuestionChange], n_shared: int, pq: PerQuestion) -> Check:
    """How many questions fell (the worst three named); fails only above ``max_regressed``."""
    n = len(regressed)
    worst = ", ".join(
        f"{q.id} ({signed(q.diff, 2) if q.diff is not None else 'unscored'})" for q in regressed[:3]
    )
    text = f"{n} of {n_shared} question(s) fell" + (f" by more than {pq.drop:g}" if pq.drop else "")
    if worst:
        text += f"; worst: {worst}"
    if pq.max_regressed is not None and n > pq.max_regressed:
        return Check(
            name="per_question",
            kind="per_question",
            status="fail",
            message=f"{text}; more than the {pq.max_regressed} allowed",
            value=float(n),
            threshold=float(pq.max_regressed),
        )
    return Check(
        name="per_question",
        kind="per_question",
        status="pass",
        message=text,
        value=float(n),
        threshold=None if pq.max_regressed is None else float(pq.max_regressed),
    )


# ---- provenance ----------------------------------------------------------------------------------------


def provenance_mismatches(a: ScoreFile, b: ScoreFile, a_name: str, b_name: str) -> list[str]:
    """Human-readable differences in rubric / judge settings between two score files."""
    out = []
    for section, key in PROVENANCE_FIELDS:
        va, vb = meta_value(a.meta, section, key), meta_value(b.meta, section, key)
        if va != vb:
            out.append(f"{section}.{key}: {a_name} {short(va)} vs {b_name} {short(vb)}")
    return out


def _provenance_status(
    mismatches: list[str], notes: list[str], compared: tuple[bool, bool], strict: bool
) -> tuple[Status, str]:
    has_baseline, has_drift = compared
    if not has_baseline and not has_drift:
        return "skip", "no baseline or drift scores to compare the candidate's rubric and judge with"
    if mismatches:
        message = "inputs were judged differently: " + "; ".join(mismatches)
        return ("fail", message) if strict else ("warn", message + " (use --strict to fail on this)")
    if notes:
        return "warn", "; ".join(notes)
    which = "baseline and candidate" if has_baseline else "candidate"
    return "pass", f"same rubric and judge settings ({which}" + (" and drift set)" if has_drift else ")")


def provenance_check(
    candidate: ScoreFile,
    baseline: ScoreFile | None,
    drift_scores: ScoreFile | None,
    strict: bool,
) -> tuple[Check, list[str]]:
    """Baseline, candidate (and drift scores) judged with the same rubric and judge settings; also returns
    the mismatches and notes for the result."""
    mismatches: list[str] = []
    unknown: list[str] = []
    if not has_provenance(candidate.meta):
        unknown.append("candidate")
    if baseline is not None:
        if not has_provenance(baseline.meta):
            unknown.append("baseline")
        elif "candidate" not in unknown:
            mismatches += provenance_mismatches(baseline, candidate, "baseline", "candidate")
    if drift_scores is not None and "candidate" not in unknown:
        mismatches += [
            "drift " + m for m in provenance_mismatches(drift_scores, candidate, "drift set", "candidate")
        ]
    notes = [f"unknown provenance: the {w} score file has no rubric/judge metadata" for w in unknown]
    compared = (baseline is not None, drift_scores is not None)
    status, message = _provenance_status(mismatches, notes, compared, strict)
    if mismatches and unknown:
        message += "; " + "; ".join(notes)
    details = {"mismatches": mismatches, "unknown": unknown, "strict": strict}
    check = Check(name="provenance", kind="provenance", status=status, message=message, details=details)
    return check, mismatches + notes
