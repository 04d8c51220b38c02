"""Verdicts -> aspect, question and file scores. Unscored aspects are excluded from every mean and counted
in coverage; a question with nothing scored has score ``None``, never 0.

How a question's units combine is data: ``rubric.yaml``'s ``question_score`` names an entry of
:data:`QUESTION_SCORERS`; an entry may also add per-question fields (:data:`QUESTION_EXTRAS`) and file-level
summaries (:data:`FILE_SUMMARIES`), and says what its score means (:data:`SCORE_DEFINITIONS`). Each question
is built once, with everything it carries (:class:`QuestionExtras`: the scorer's fields, and those the caller
computed first, e.g. a panel's per-judge scores or the lexical figures); nothing is attached afterwards.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

from judgekit.data import Item
from judgekit.results import AspectResult, Coverage, PairVerdicts, QuestionResult, Unscored
from judgekit.rubric import RubricSpec
from judgekit.run.jobs import JobResult

Combine = Literal["mean", "median", "majority"]
COMBINE_METHODS: tuple[Combine, ...] = ("mean", "median", "majority")


class QuestionExtras(TypedDict, total=False):
    """A question's declared fields beyond its units' scores, known before it is built."""

    lexical: dict[str, float] | None
    judges: dict[str, float | None] | None
    pairwise: PairVerdicts | None


QuestionScorer = Callable[[RubricSpec, list[AspectResult]], float | None]
QuestionExtrasRule = Callable[[RubricSpec, list[AspectResult]], QuestionExtras]
FileSummary = Callable[[RubricSpec, Sequence[Item], list[QuestionResult], int, int | None], dict[str, Any]]


def combine_values(values: Sequence[float], method: Combine = "mean") -> float:
    """Combine repeated judgments of one unit (samples of a judge, or judges of a panel).

    ``majority`` takes the most frequent value; when several values tie for most frequent it falls back to
    the median of all values (so two judges saying 0 and 1 give 0.5).
    """
    if not values:
        raise ValueError("nothing to combine")
    if method == "mean":
        return statistics.fmean(values)
    if method == "median":
        return float(statistics.median(values))
    if method == "majority":
        counts = Counter(values).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            return float(counts[0][0])
        return float(statistics.median(values))
    raise ValueError(f"unknown combine method {method!r} (expected one of {', '.join(COMBINE_METHODS)})")


def _normalized(spec: RubricSpec, aspects: list[AspectResult]) -> float | None:
    """LaMP-QA: sum of aspect scores over (max x number of scored aspects), generalised to any scale."""
    lo, hi = spec.scale.min, spec.scale.max
    values = [(a.score - lo) / (hi - lo) for a in aspects if a.score is not None]
    return sum(values) / len(values) if values else None


def _raw(spec: RubricSpec, aspects: list[AspectResult]) -> float | None:
    values = [a.score for a in aspects if a.score is not None]
    return statistics.fmean(values) if values else None


def _pair(spec: RubricSpec, aspects: list[AspectResult]) -> Any:
    """The pair's outcome from its two order units (the per_order planner's "original" and "swapped")."""
    from judgekit.scoring.pairwise import order_verdict, pair_outcome

    by_order = {a.aspect: a.score for a in aspects}
    lo, hi = spec.scale.min, spec.scale.max
    original = order_verdict(by_order.get("original"), lo, hi, swapped=False)
    swapped = order_verdict(by_order.get("swapped"), lo, hi, swapped=True)
    on_disagreement = spec.pairwise.on_disagreement if spec.pairwise is not None else "tie"
    return pair_outcome(original, swapped, on_disagreement)


def _pairwise(spec: RubricSpec, aspects: list[AspectResult]) -> float | None:
    """1 if the pair's combined verdict is A, 0.5 for a tie, 0 for B; None if inconsistent or incomplete."""
    score: float | None = _pair(spec, aspects).score
    return score


def _pairwise_extras(spec: RubricSpec, aspects: list[AspectResult]) -> QuestionExtras:
    return {"pairwise": _pair(spec, aspects).to_dict()}


def _pairwise_summary(
    spec: RubricSpec, items: Sequence[Item], questions: list[QuestionResult], n_boot: int, seed: int | None
) -> dict[str, Any]:
    from judgekit.scoring.pairwise import summarize_pairs

    verdicts = [q.pairwise or PairVerdicts() for q in questions]
    label_of = {it.id: it.fields.get("label") for it in items}
    labels = [label_of.get(q.id) for q in questions]
    on_disagreement = spec.pairwise.on_disagreement if spec.pairwise is not None else "tie"
    summary = summarize_pairs(
        [v.get("original") for v in verdicts],
        [v.get("swapped") for v in verdicts],
        labels if any(label is not None for label in labels) else None,
        on_disagreement=on_disagreement,
        n_boot=n_boot,
        seed=seed,
    )
    return {"pairwise": summary}


QUESTION_SCORERS: dict[str, QuestionScorer] = {
    "normalized": _normalized,
    "raw": _raw,
    "pairwise": _pairwise,
}
QUESTION_EXTRAS: dict[str, QuestionExtrasRule] = {"pairwise": _pairwise_extras}
FILE_SUMMARIES: dict[str, FileSummary] = {"pairwise": _pairwise_summary}
SCORE_DEFINITIONS: dict[str, Callable[[RubricSpec], str]] = {
    "normalized": lambda s: (
        f"question = mean over scored aspects of (score - {s.scale.min:g}) / ({s.scale.max:g} - "
        f"{s.scale.min:g}); file = mean over questions with at least one scored aspect; "
        "unscored aspects are excluded and counted in coverage"
    ),
    "raw": lambda s: (
        "question = mean of scored aspect scores; file = mean over questions; unscored aspects excluded"
    ),
    "pairwise": lambda s: (
        "each pair is judged in both orders (the swapped verdict mapped back to the original numbering); "
        "agreeing orders give the pair's verdict, disagreeing ones "
        + (
            "count as a tie"
            if s.pairwise is None or s.pairwise.on_disagreement == "tie"
            else "make it inconsistent (no score)"
        )
        + "; question = 1 if response A wins, 0.5 for a tie, 0 if B wins; file = mean over pairs with a "
        "verdict, i.e. A's win rate with ties counted as half; pairs missing an order are unscored"
    ),
}


def score_definition(spec: RubricSpec) -> str:
    return SCORE_DEFINITIONS[spec.question_score](spec)


def _method_of(methods: list[str]) -> str | None:
    unique = set(methods)
    if not unique:
        return None
    return unique.pop() if len(unique) == 1 else "mixed"


def aspect_results(
    results: Sequence[JobResult], combine: Combine = "mean", clean: Callable[[str], str] | None = None
) -> dict[str, dict[str, AspectResult]]:
    """Group job results (several samples, several targets per call) into one result per (item, target).

    ``clean`` (the run's redaction) is applied to each unscored unit's reason as the unit is built."""
    samples: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    methods: dict[tuple[str, str], list[str]] = defaultdict(list)
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
                methods[key].append(r.method)
                fields[key] = r.verdicts[k]  # AspectResult copies it
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
                    score=combine_values(valid, combine),
                    status="scored",
                    samples=samples[key],
                    fields=fields.get(key, {}),
                    method=_method_of(methods[key]),
                )
            else:
                reason = "; ".join(dict.fromkeys(reasons[key]))
                out[item_id][target] = AspectResult(
                    aspect=target,
                    score=None,
                    status="unscored",
                    reason=clean(reason) if clean is not None else reason,
                    samples=samples[key],
                )
    return out


def merge_extras(*parts: Mapping[str, QuestionExtras]) -> dict[str, QuestionExtras]:
    """Per item id, the fields of every part (a panel's, the lexical figures') together."""
    out: dict[str, QuestionExtras] = {}
    for part in parts:
        for item_id, fields in part.items():
            out.setdefault(item_id, QuestionExtras()).update(fields)
    return out


def aggregate_details(
    spec: RubricSpec,
    items: Sequence[Item],
    by_item: dict[str, dict[str, AspectResult]],
    extras: Mapping[str, QuestionExtras] | None = None,
) -> tuple[float | None, list[QuestionResult], Coverage, list[Unscored]]:
    """Per-unit results -> question scores (the rubric's ``question_score``), file score and coverage.

    ``extras``: per item id, fields computed before the questions (a panel's per-judge scores, the lexical
    figures); each question is built once with them and with its scorer's own (:data:`QUESTION_EXTRAS`)."""
    scorer = QUESTION_SCORERS[spec.question_score]
    rule = QUESTION_EXTRAS.get(spec.question_score)
    questions: list[QuestionResult] = []
    unscored: list[Unscored] = []
    for item in items:
        details = list(by_item.get(item.id, {}).values())
        scored = sum(1 for a in details if a.status == "scored")
        category = item.fields.get("category")
        fields = QuestionExtras()
        if rule is not None:
            fields.update(rule(spec, details))
        if extras is not None:
            fields.update(extras.get(item.id, {}))
        question = QuestionResult(
            id=item.id,
            score=scorer(spec, details),
            details=details,
            scored=scored,
            total=len(details),
            coverage=scored / len(details) if details else 0.0,
            category=category if isinstance(category, str) else None,
            **fields,
        )
        questions.append(question)
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


CI_LEVEL = 0.95
CI_METHOD = "percentile bootstrap of the mean over scored questions"


def score_ci(
    values: Sequence[float], n_boot: int, seed: int | None, level: float = CI_LEVEL
) -> dict[str, Any] | None:
    """Percentile bootstrap interval of the mean of ``values`` (the scored questions; unscored ones are left
    out by the caller, never counted as 0): ``{low, high, level, method, n, resamples}``, or ``None`` when
    the bootstrap is off or nothing was scored."""
    import numpy as np  # here, not at the top: a run loads it while its calls are in flight (scoring)

    from judgekit.stats.paired import bootstrap_means
    from judgekit.stats.resampling import percentile_ci

    if n_boot <= 0 or not values:
        return None
    means = bootstrap_means(np.asarray(values, dtype=np.float64), n_boot, 0 if seed is None else seed)
    low, high, _ = percentile_ci(means, level)
    return {
        "low": low,
        "high": high,
        "level": level,
        "method": CI_METHOD,
        "n": len(values),
        "resamples": n_boot,
    }


def _group_score(scores: list[float | None], n_boot: int, seed: int | None) -> dict[str, Any]:
    values = [s for s in scores if s is not None]
    return {
        "score": statistics.fmean(values) if values else None,
        "score_ci": score_ci(values, n_boot, seed),
        "questions_scored": len(values),
        "questions_total": len(scores),
    }


def _aspect_scores(spec: RubricSpec, questions: list[QuestionResult]) -> dict[str, list[float | None]]:
    """Per aspect title, one value per question that has it: the mean of its scored units with that title
    on the question score's scale (normalised where the question score is), ``None`` if none was scored.
    Empty unless every title recurs across questions (LaMP-QA's aspects are one question's own)."""
    questions_with = Counter(title for q in questions for title in {a.aspect for a in q.details})
    if not questions_with or min(questions_with.values()) < 2:
        return {}  # some title is one question's own (LaMP-QA's all are): no means to compute
    lo, hi = spec.scale.min, spec.scale.max
    normalise = spec.question_score == "normalized"
    out: dict[str, list[float | None]] = defaultdict(list)
    for q in questions:
        units: dict[str, list[float]] = {}
        for a in q.details:
            values = units.setdefault(a.aspect, [])
            if a.score is not None:
                values.append((a.score - lo) / (hi - lo) if normalise else a.score)
        for title, scored in units.items():
            out[title].append(statistics.fmean(scored) if scored else None)
    return dict(out)


def score_breakdowns(
    spec: RubricSpec, questions: list[QuestionResult], n_boot: int, seed: int | None
) -> dict[str, Any]:
    """The file score's CI, and the score with its CI per category and per recurring aspect title."""
    out: dict[str, Any] = {
        "score_ci": score_ci([q.score for q in questions if q.score is not None], n_boot, seed)
    }
    categories: dict[str, list[float | None]] = defaultdict(list)
    for q in questions:
        if q.category is not None:
            categories[q.category].append(q.score)
    if categories:
        out["by_category"] = {c: _group_score(s, n_boot, seed) for c, s in sorted(categories.items())}
    if spec.question_score != "pairwise":  # a pair's units are its two orders, not aspects
        aspects = _aspect_scores(spec, questions)
        if aspects:
            out["by_aspect"] = {a: _group_score(s, n_boot, seed) for a, s in aspects.items()}
    return out


def file_summaries(
    spec: RubricSpec,
    items: Sequence[Item],
    questions: list[QuestionResult],
    n_boot: int = 2000,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Extra top-level keys of the score file: the score's CI and breakdowns (``score_ci``, ``by_category``,
    ``by_aspect``) and what the rubric's question score defines (e.g. ``pairwise``)."""
    summary = FILE_SUMMARIES.get(spec.question_score)
    extra = summary(spec, items, questions, n_boot, seed) if summary is not None else {}
    return {**score_breakdowns(spec, questions, n_boot, seed), **extra}


def aggregate(
    spec: RubricSpec, items: Sequence[Item], results: Sequence[JobResult], combine: Combine = "mean"
) -> tuple[float | None, list[QuestionResult], Coverage, list[Unscored]]:
    return aggregate_details(spec, items, aspect_results(results, combine))
