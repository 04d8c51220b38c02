"""Judge panels: several judges score the same units independently; the panel combines their scores.

Plain functions over per-judge unit results (``{item_id: {target: AspectResult}}``): :func:`combine_judges`
builds the panel's units (mean, median or majority of the judges that scored each unit) and
:func:`alpha_table` measures how far the judges (or the samples of one judge) agree, with Krippendorff's
alpha at the nominal, ordinal and interval levels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.aggregate import Combine, combine_values
from judgekit.results import AspectResult

ByItem = dict[str, dict[str, AspectResult]]
ALPHA_LEVELS = ("nominal", "ordinal", "interval")


def combine_judges(per_judge: Mapping[str, ByItem], method: Combine = "mean") -> ByItem:
    """One unit result per (item, target): ``method`` over the judges that scored it.

    The unit keeps each judge's score under ``judges`` (``None`` where that judge could not score it); it is
    unscored only when no judge scored it, with every judge's reason.
    """
    identities = list(per_judge)
    first = per_judge[identities[0]]
    out: ByItem = {}
    for item_id, targets in first.items():
        out[item_id] = {}
        for target in targets:
            units = {who: per_judge[who].get(item_id, {}).get(target) for who in identities}
            scores = {who: (u.score if u is not None else None) for who, u in units.items()}
            valid = [s for s in scores.values() if s is not None]
            methods = {u.method for u in units.values() if u is not None and u.method is not None}
            if valid:
                fields = next(u.fields for u in units.values() if u is not None and u.score is not None)
                unit = AspectResult(
                    aspect=target,
                    score=combine_values(valid, method),
                    status="scored",
                    samples=list(scores.values()),
                    fields=fields,
                    method=methods.pop() if len(methods) == 1 else ("mixed" if methods else None),
                )
            else:
                reasons = [f"{who}: {u.reason}" for who, u in units.items() if u is not None and u.reason]
                unit = AspectResult(
                    aspect=target,
                    score=None,
                    status="unscored",
                    reason="; ".join(reasons) or "no judge scored this unit",
                    samples=list(scores.values()),
                )
            unit.judges = scores
            out[item_id][target] = unit
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def alpha_table(
    rows: Sequence[Sequence[float | None]], levels: Sequence[str] = ALPHA_LEVELS
) -> dict[str, Any]:
    """Krippendorff's alpha of a raters x units table (``None`` = missing) at each level.

    ``None`` for a level where alpha is undefined (no unit rated twice, or no variation at all). Units rated
    by fewer than two raters do not count (``units`` is the number that do).
    """
    from judgekit.agreement import krippendorff_alpha

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


def judges_alpha(per_judge: Mapping[str, ByItem]) -> dict[str, Any]:
    """Inter-judge agreement on the unit scores (aspects, criteria, orders of a pair)."""
    keys = unit_keys(next(iter(per_judge.values())))
    rows = []
    for by_item in per_judge.values():
        row: list[float | None] = []
        for item_id, target in keys:
            unit = by_item.get(item_id, {}).get(target)
            row.append(unit.score if unit is not None else None)
        rows.append(row)
    return alpha_table(rows)


def samples_alpha(by_item: ByItem, n_samples: int) -> dict[str, Any]:
    """Self-consistency: agreement of the samples of one judge, each sample index acting as a rater."""
    keys = unit_keys(by_item)
    rows: list[list[float | None]] = [[] for _ in range(n_samples)]
    for item_id, target in keys:
        unit = by_item[item_id][target]
        for k in range(n_samples):
            rows[k].append(unit.samples[k] if k < len(unit.samples) else None)
    return alpha_table(rows)
