"""Judge panels: several judges score the same units independently; the panel combines their scores.

Plain functions over per-judge unit results (``{item_id: {target: AspectResult}}``): :func:`combine_judges`
builds the panel's units (mean, median or majority of the judges; a unit is scored only when every judge
scored it) and :func:`alpha_table` measures how far the judges (or the samples of one judge) agree, with
Krippendorff's alpha at the nominal, ordinal and interval levels; :func:`panel_section` gives the score file's
``panel`` and each question's per-judge scores, before the questions are built. A panel's judges themselves
(:class:`PanelJudge`, ``--panel`` files) live in :mod:`judgekit.judges.panel_spec`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judgekit.results import AspectResult
from judgekit.scoring.aggregate import (
    Combine,
    QuestionExtras,
    aggregate_details,
    combine_values,
    file_summaries,
)

if TYPE_CHECKING:
    from judgekit.data import Item
    from judgekit.rubric import RubricSpec

ByItem = dict[str, dict[str, AspectResult]]
ALPHA_LEVELS = ("nominal", "ordinal", "interval")


def _same(text: str) -> str:
    return text


def combine_judges(
    per_judge: Mapping[str, ByItem], method: Combine = "mean", clean: Callable[[str], str] = _same
) -> ByItem:
    """One unit result per (item, target): ``method`` over the scores of every judge of the panel.

    A unit counts as scored by the panel only when every judge scored it, so a judge that failed shows in
    the panel's coverage instead of hiding behind the others; each judge's score stays under ``judges``
    (``None`` where that judge could not score it), and the reason names the judges that failed. ``clean``
    (the run's redaction) is applied to the judges' identities and the reasons as each unit is built.
    """
    identities = list(per_judge)
    labels = {who: clean(who) for who in identities}
    first = per_judge[identities[0]]
    out: ByItem = {}
    for item_id, targets in first.items():
        out[item_id] = {}
        for target in targets:
            units = {who: per_judge[who].get(item_id, {}).get(target) for who in identities}
            scores = {who: (u.score if u is not None else None) for who, u in units.items()}
            valid = [s for s in scores.values() if s is not None]
            methods = {u.method for u in units.values() if u is not None and u.method is not None}
            judges = {labels[who]: score for who, score in scores.items()}
            if len(valid) == len(identities):
                fields = next(u.fields for u in units.values() if u is not None and u.score is not None)
                unit = AspectResult(
                    aspect=target,
                    score=combine_values(valid, method),
                    status="scored",
                    samples=list(scores.values()),
                    fields=fields,
                    method=methods.pop() if len(methods) == 1 else ("mixed" if methods else None),
                    judges=judges,
                )
            else:
                unit = AspectResult(
                    aspect=target,
                    score=None,
                    status="unscored",
                    reason=clean(_incomplete_reason(units, len(valid))),
                    samples=list(scores.values()),
                    judges=judges,
                )
            out[item_id][target] = unit
    return out


def _incomplete_reason(units: Mapping[str, AspectResult | None], n_scored: int) -> str:
    """``KIND: scored by 1 of 2 judges; JUDGE: REASON``, KIND being the first failing judge's (so that
    summaries group panel failures by what went wrong)."""
    failed = [
        (who, u.reason if u is not None and u.reason else "no result")
        for who, u in units.items()
        if u is None or u.score is None
    ]
    kind = failed[0][1].split(":", 1)[0].strip() or "unscored"
    detail = "; ".join(f"{judge_label(who)}: {why}" for who, why in failed)
    return f"{kind}: scored by {n_scored} of {len(units)} judges of the panel; {detail}"


def judge_label(identity: str) -> str:
    """A judge's identity without its settings suffix (``litellm:openai/x@URL|structured=...``)."""
    return identity.split("|", 1)[0]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def alpha_table(
    rows: Sequence[Sequence[float | None]], levels: Sequence[str] = ALPHA_LEVELS
) -> dict[str, Any]:
    """Krippendorff's alpha of a raters x units table (``None`` = missing) at each level.

    ``None`` for a level where alpha is undefined (no unit rated twice, or no variation at all). Units rated
    by fewer than two raters do not count (``units`` is the number that do).
    """
    from judgekit.stats.alpha import krippendorff_alpha

    width = len(rows[0]) if rows else 0
    pairable = sum(1 for u in range(width) if sum(1 for r in rows if r[u] is not None) >= 2)
    out: dict[str, Any] = {"raters": len(rows), "units": pairable}
    for level in levels:
        try:
            value = krippendorff_alpha([list(r) for r in rows], level)  # type: ignore[arg-type]
        except ValueError:
            value = math.nan
        out[level] = _finite(float(value))
    return out


def unit_keys(by_item: ByItem) -> list[tuple[str, str]]:
    return [(item_id, target) for item_id, targets in by_item.items() for target in targets]


def _judge_scores(per_judge: Mapping[str, ByItem], item_id: str, target: str) -> list[float | None]:
    units = (by_item.get(item_id, {}).get(target) for by_item in per_judge.values())
    return [unit.score if unit is not None else None for unit in units]


def panel_coverage(per_judge: Mapping[str, ByItem]) -> dict[str, Any]:
    """How much of the panel's work was done: units scored by every judge (the panel's coverage), by some
    judges only, by none; and the (unit x judge) judgments scored."""
    keys = unit_keys(next(iter(per_judge.values())))
    counts = [sum(s is not None for s in _judge_scores(per_judge, *key)) for key in keys]
    n_judges = len(per_judge)
    return {
        "definition": "a unit is scored by the panel only when every judge scored it",
        "units": len(keys),
        "every_judge": sum(c == n_judges for c in counts),
        "some_judges": sum(0 < c < n_judges for c in counts),
        "no_judge": sum(c == 0 for c in counts),
        "judgments_scored": sum(counts),
        "judgments_total": len(keys) * n_judges,
    }


def judges_alpha(per_judge: Mapping[str, ByItem]) -> dict[str, Any]:
    """Inter-judge agreement on the unit scores (aspects, criteria, orders of a pair)."""
    keys = unit_keys(next(iter(per_judge.values())))
    columns = [_judge_scores(per_judge, *key) for key in keys]
    return alpha_table([list(row) for row in zip(*columns, strict=True)] or [[] for _ in per_judge])


def samples_alpha(by_item: ByItem, n_samples: int) -> dict[str, Any]:
    """Self-consistency: agreement of the samples of one judge, each sample index acting as a rater."""
    keys = unit_keys(by_item)
    rows: list[list[float | None]] = [[] for _ in range(n_samples)]
    for item_id, target in keys:
        unit = by_item[item_id][target]
        for k in range(n_samples):
            rows[k].append(unit.samples[k] if k < len(unit.samples) else None)
    return alpha_table(rows)


@dataclass(frozen=True)
class PanelPart:
    """What a panel adds to a score file: its ``panel`` section, and per item id the question's fields (each
    judge's score for it, under the judge's redacted identity), for the questions to be built with."""

    section: dict[str, Any]
    questions: dict[str, QuestionExtras]


def panel_section(
    spec: RubricSpec,
    items: Sequence[Item],
    per_judge: Mapping[str, ByItem],
    names: Sequence[str | None],
    combine: Combine,
    n_boot: int,
    seed: int | None,
    clean: Callable[[str], str],
) -> PanelPart:
    """The score file's ``panel`` (per-judge figures and inter-judge agreement) and each question's
    per-judge scores, computed from every judge's units before the panel's questions are built."""
    judges: list[dict[str, Any]] = []
    question_rows: list[list[float | None]] = []
    for (who, by_item), name in zip(per_judge.items(), names or [None] * len(per_judge), strict=True):
        score, judge_questions, coverage, _ = aggregate_details(spec, items, by_item)
        entry: dict[str, Any] = {
            "identity": clean(who),
            **({"name": name} if name else {}),
            "score": score,
            "coverage": coverage.model_dump(),
        }
        entry.update(file_summaries(spec, items, judge_questions, n_boot, seed))
        judges.append(entry)
        question_rows.append([q.score for q in judge_questions])
    per_question: dict[str, QuestionExtras] = {
        item.id: {"judges": {j["identity"]: row[k] for j, row in zip(judges, question_rows, strict=True)}}
        for k, item in enumerate(items)
    }
    section = {
        "method": combine,
        "coverage": panel_coverage(per_judge),
        "judges": judges,
        "alpha": {"units": judges_alpha(per_judge), "questions": alpha_table(question_rows)},
    }
    return PanelPart(section, per_question)


def self_consistency(
    per_judge: Mapping[str, ByItem], samples: int, clean: Callable[[str], str]
) -> dict[str, Any]:
    """The score file's ``consistency``: how far each judge's samples agree with each other (Krippendorff's
    alpha, samples as raters)."""
    return {
        "samples": samples,
        "judges": [
            {"identity": clean(who), "alpha": samples_alpha(by_item, samples)}
            for who, by_item in per_judge.items()
        ],
    }
