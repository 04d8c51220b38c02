"""Verdicts -> aspect, question and file scores. Unscored aspects are excluded from every mean and counted
in coverage; a question with nothing scored has score ``None``, never 0."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence

from judgekit.data import Item
from judgekit.engine import JobResult
from judgekit.results import AspectResult, Coverage, QuestionResult, Unscored
from judgekit.rubric import RubricSpec

QuestionScorer = Callable[[RubricSpec, list[AspectResult]], float | None]


def _normalized(spec: RubricSpec, aspects: list[AspectResult]) -> float | None:
    """LaMP-QA: sum of aspect scores over (max x number of scored aspects), generalised to any scale."""
    lo, hi = spec.scale.min, spec.scale.max
    values = [(a.score - lo) / (hi - lo) for a in aspects if a.score is not None]
    return sum(values) / len(values) if values else None


def _raw(spec: RubricSpec, aspects: list[AspectResult]) -> float | None:
    values = [a.score for a in aspects if a.score is not None]
    return statistics.fmean(values) if values else None


QUESTION_SCORERS: dict[str, QuestionScorer] = {"normalized": _normalized, "raw": _raw}


def aspect_results(results: Sequence[JobResult]) -> dict[str, dict[str, AspectResult]]:
    """Group job results (several samples, several targets per call) into one result per (item, target)."""
    samples: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    fields: dict[tuple[str, str], dict[str, object]] = {}
    order: dict[str, list[str]] = defaultdict(list)
    for r in sorted(results, key=lambda r: r.job.sample):
        plan = r.job.plan
        for k, target in enumerate(plan.targets):
            key = (plan.item_id, target)
            if key not in samples:
                order[plan.item_id].append(target)
            if r.ok:
                samples[key].append(r.scores[k])
                fields[key] = dict(r.verdicts[k])
            else:
                samples[key].append(None)
                reasons[key].append(r.reason or "unknown failure")
    out: dict[str, dict[str, AspectResult]] = {}
    for item_id, targets in order.items():
        out[item_id] = {}
        for target in targets:
            key = (item_id, target)
            valid = [s for s in samples[key] if s is not None]
            if valid:
                out[item_id][target] = AspectResult(
                    aspect=target,
                    score=statistics.fmean(valid),
                    status="scored",
                    samples=samples[key],
                    fields=fields.get(key, {}),
                )
            else:
                unique = list(dict.fromkeys(reasons[key]))
                out[item_id][target] = AspectResult(
                    aspect=target,
                    score=None,
                    status="unscored",
                    reason="; ".join(unique),
                    samples=samples[key],
                )
    return out


def aggregate(
    spec: RubricSpec, items: Sequence[Item], results: Sequence[JobResult]
) -> tuple[float | None, list[QuestionResult], Coverage, list[Unscored]]:
    scorer = QUESTION_SCORERS[spec.question_score]
    by_item = aspect_results(results)
    questions: list[QuestionResult] = []
    unscored: list[Unscored] = []
    for item in items:
        details = list(by_item.get(item.id, {}).values())
        scored = sum(1 for a in details if a.status == "scored")
        category = item.fields.get("category")
        questions.append(
            QuestionResult(
                id=item.id,
                score=scorer(spec, details),
                details=details,
                scored=scored,
                total=len(details),
                coverage=scored / len(details) if details else 0.0,
                category=category if isinstance(category, str) else None,
            )
        )
        unscored.extend(
            Unscored(id=item.id, aspect=a.aspect, reason=a.reason or "")
            for a in details
            if a.status == "unscored"
        )
    question_scores = [q.score for q in questions if q.score is not None]
    overall = statistics.fmean(question_scores) if question_scores else None
    total = sum(q.total for q in questions)
    scored_total = sum(q.scored for q in questions)
    coverage = Coverage(
        scored=scored_total,
        total=total,
        ratio=scored_total / total if total else 0.0,
        questions_scored=len(question_scores),
        questions_total=len(questions),
    )
    return overall, questions, coverage, unscored
