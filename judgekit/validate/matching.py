"""Matching judge rows to labelled items: which ids are used, which are dropped and why, and the per-item
fields (group, system, length) read from either file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from judgekit.errors import InputError
from judgekit.validate.report import Dropped
from judgekit.validate.rows import is_missing, listing


@dataclass
class Drops:
    """Items left out of the analysis, by reason (reported, never silently lost)."""

    reasons: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, item: str) -> None:
        self.reasons.setdefault(reason, []).append(item)

    def models(self) -> list[Dropped]:
        return [
            Dropped(reason=r, count=len(ids), examples=sorted(ids)[:5])
            for r, ids in sorted(self.reasons.items(), key=lambda kv: -len(kv[1]))
        ]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.reasons.values())


def match(
    judge_ids: set[str], unscored: Mapping[str, str], human_order: Sequence[str], judge_name: str,
    dim: str, allow_missing: bool, drops: Drops,
) -> list[str]:  # fmt: skip
    """The ids to analyse; extra judge ids are dropped, human ids without a judge row are errors."""
    known = judge_ids | set(unscored)
    human_ids = set(human_order)
    common = human_ids & known
    if not common:
        raise InputError(
            f"no ids in common for dimension {dim!r}: the judge file has {len(known)} id(s) "
            f"(e.g. {listing(sorted(known))}), the labels {len(human_ids)} (e.g. {listing(sorted(human_ids))})"
        )
    missing = sorted(human_ids - known)
    if missing and not allow_missing:
        raise InputError(
            f"{len(missing)} labelled id(s) have no judge score in {judge_name} (e.g. {listing(missing)}); "
            "check the ids, or pass --allow-missing to drop them"
        )
    for item in missing:
        drops.add("no judge score for this id", item)
    for item in sorted(known - human_ids):
        drops.add("no human label", item)
    used = []
    for item in human_order:  # the label file's order (system means are summed in this order)
        if item not in common:
            continue
        if item in unscored:
            drops.add(f"judge could not score: {unscored[item]}", item)
        else:
            used.append(item)
    return used


def field_value(
    item: str,
    name: str,
    judge_meta: Mapping[str, Mapping[str, Any]],
    human_meta: Mapping[str, Mapping[str, Any]],
) -> Any:
    """An item's field from the judge rows or the labels (``None`` if neither has it); they must agree."""
    a = judge_meta.get(item, {}).get(name)
    b = human_meta.get(item, {}).get(name)
    if is_missing(a):
        return None if is_missing(b) else b
    if not is_missing(b) and str(a) != str(b):
        raise InputError(f"id {item!r}: field {name!r} is {a!r} in the judge file but {b!r} in the labels")
    return a


def field_values(
    used: Sequence[str],
    name: str,
    what: str,
    judge_meta: Mapping[str, Mapping[str, Any]],
    human_meta: Mapping[str, Mapping[str, Any]],
    drops: Drops,
) -> dict[str, str]:
    """Each used item's ``name`` field as text; items without one are dropped."""
    vals: dict[str, str] = {}
    for item in used:
        v = field_value(item, name, judge_meta, human_meta)
        if v is None:
            drops.add(f"no value for {what} field {name!r}", item)
        else:
            vals[item] = str(v)
    return vals
