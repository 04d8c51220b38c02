"""Candidate against baseline over the questions both hold: the paired test, what went missing, what fell.

Questions pair by id; only questions scored in both files enter the paired test. The per-question list shows
the questions that fell (or became unscored), worst first, with the aspects that changed in each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from judgekit.errors import InputError
from judgekit.gate.checks import missing_check, no_pairs_check, per_question_check, regression_check
from judgekit.gate.config import GateConfig, Regression
from judgekit.gate.result import AspectChange, Check, QuestionChange
from judgekit.gate.text import ids_text
from judgekit.results import QuestionResult, ScoreFile
from judgekit.stats.paired import PairedStats, paired_test


def compare(
    candidate: ScoreFile, baseline: ScoreFile, config: GateConfig
) -> tuple[list[Check], PairedStats | None, list[QuestionChange], dict[str, list[str]]]:
    """The regression and per-question checks; raises :class:`InputError` when no question is shared."""
    cand = candidate.by_id()
    base = baseline.by_id()
    shared = [qid for qid in base if qid in cand]
    if not shared:
        raise InputError(
            "baseline and candidate share no question id; were they scored on the same dataset? "
            f"(baseline: {ids_text(list(base))}; candidate: {ids_text(list(cand))})"
        )
    missing = missing_ids(shared, base, cand)
    checks: list[Check] = []
    stats: PairedStats | None = None
    if config.regression is not None:
        checks, stats = regression_checks(shared, base, cand, missing, config.regression)
    changes = question_changes(shared, base, cand)
    pq = config.per_question
    regressed = [
        c
        for c in changes
        if (c.diff is not None and c.diff < -pq.drop and c.diff < 0)
        or (c.candidate is None and c.baseline is not None)
    ]
    if pq.max_regressed is not None or pq.top > 0:
        checks.append(per_question_check(regressed, len(shared), pq))
    return checks, stats, regressed[: pq.top], missing


def missing_ids(
    shared: Sequence[str], base: Mapping[str, QuestionResult], cand: Mapping[str, QuestionResult]
) -> dict[str, list[str]]:
    """Ids in one file only, and shared ids unscored on one side."""
    return {
        "baseline_only": [qid for qid in base if qid not in cand],
        "candidate_only": [qid for qid in cand if qid not in base],
        "unscored_in_candidate": [
            qid for qid in shared if cand[qid].score is None and base[qid].score is not None
        ],
        "unscored_in_baseline": [qid for qid in shared if base[qid].score is None],
    }


def regression_checks(
    shared: Sequence[str],
    base: Mapping[str, QuestionResult],
    cand: Mapping[str, QuestionResult],
    missing: Mapping[str, list[str]],
    reg: Regression,
) -> tuple[list[Check], PairedStats | None]:
    """The paired test over the questions scored in both files, and the missing-questions check."""
    paired = [qid for qid in shared if cand[qid].score is not None and base[qid].score is not None]
    checks: list[Check] = []
    stats: PairedStats | None = None
    if not paired:
        checks.append(no_pairs_check(len(shared)))
    else:
        stats = paired_test(
            [base[q].score for q in paired],  # type: ignore[misc]
            [cand[q].score for q in paired],  # type: ignore[misc]
            test=reg.test,
            null_diff=-reg.tolerance if reg.null == "tolerance" else 0.0,
            resamples=reg.resamples,
            seed=reg.seed,
            confidence=reg.confidence,
        )
        checks.append(regression_check(stats, reg))
    lost = missing["baseline_only"] + missing["unscored_in_candidate"]
    if lost:
        checks.append(missing_check(lost, missing, reg))
    return checks, stats


def question_changes(
    shared: Sequence[str], base: Mapping[str, QuestionResult], cand: Mapping[str, QuestionResult]
) -> list[QuestionChange]:
    """Each shared question's change, those that became unscored first, then by drop (ties by id)."""
    out = []
    for qid in shared:
        b, c = base[qid], cand[qid]
        diff = c.score - b.score if c.score is not None and b.score is not None else None
        out.append(
            QuestionChange(
                id=qid,
                baseline=b.score,
                candidate=c.score,
                diff=diff,
                category=c.category or b.category,
                aspects=aspect_changes(b, c),
            )
        )
    out.sort(key=lambda q: (q.diff if q.diff is not None else -math.inf, q.id))
    return out


def aspect_changes(base: QuestionResult | None, cand: QuestionResult | None) -> list[AspectChange]:
    """The aspects of one question whose score or status changed, largest drop first."""
    b = {a.aspect: a for a in base.details} if base else {}
    c = {a.aspect: a for a in cand.details} if cand else {}
    out = []
    for name in list(dict.fromkeys([*b, *c])):
        ba, ca = b.get(name), c.get(name)
        bs = ba.score if ba is not None else None
        cs = ca.score if ca is not None else None
        diff = cs - bs if bs is not None and cs is not None else None
        b_status = ba.status if ba is not None else "absent"
        c_status = ca.status if ca is not None else "absent"
        if (diff is not None and diff != 0) or b_status != c_status:
            change = AspectChange(
                aspect=name, baseline=bs, candidate=cs, diff=diff,
                baseline_status=b_status, candidate_status=c_status,
            )  # fmt: skip
            out.append(change)
    out.sort(key=lambda a: a.diff if a.diff is not None else -math.inf)
    return out
