"""One annotator's queue: the selected items in an order seeded per annotator, the overlap every annotator
labels, and which items are done, read from the shared labels file.

An item outside the overlap is labelled once: when another annotator has labelled it, it leaves this
annotator's queue. An item counts as labelled by an annotator when every one of its label ids has a
current (last, non-withdrawn) row from them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from judgekit.errors import InputError
from judgekit.label.store import LabelStore
from judgekit.label.task import LabelTask

#: With a design whose order matters (stratified: round-robin over bins; uncertain: most uncertain first),
#: annotators' orders differ only inside consecutive blocks of this many items.
BLOCK = 10


def annotator_order(ids: Sequence[str], seed: int, annotator: str, keep_design: bool = False) -> list[str]:
    """The selected ids in this annotator's own seeded order: a full shuffle of a random sample, or a shuffle
    inside blocks of ``BLOCK`` when the selection's order carries its design (stopping early stays close to
    the design, and two annotators still rarely meet on the same item)."""
    rng = random.Random(f"{seed}:{annotator}")
    order = list(ids)
    if not keep_design:
        rng.shuffle(order)
        return order
    out: list[str] = []
    for start in range(0, len(order), BLOCK):
        block = order[start : start + BLOCK]
        rng.shuffle(block)
        out += block
    return out


def overlap_set(ids: Sequence[str], share: float, seed: int) -> frozenset[str]:
    """The share of the selection every annotator labels: the same items whoever asks (seeded, not per
    annotator)."""
    shuffled = sorted(ids)
    random.Random(f"{seed}:overlap").shuffle(shuffled)
    return frozenset(shuffled[: round(share * len(shuffled))])


@dataclass
class Queue:
    """Positions are indexes into ``order``; the page moves between the positions this annotator may label."""

    annotator: str
    order: list[str]
    overlap: frozenset[str]
    task: LabelTask
    store: LabelStore
    _current: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (label id, annotator)
    _count: dict[tuple[str, str], int] = field(default_factory=dict)  # (item id, annotator) -> labels held
    _done: dict[str, set[str]] = field(default_factory=dict)  # item id -> annotators holding all its labels
    _seen: int = 0

    def __post_init__(self) -> None:
        self._take(self.store.rows)

    def _take(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            item = self.task.owner(row["id"])
            if item is None:
                raise InputError(
                    f"{self.store.path}: label id {row['id']!r} is not an item of this dataset and rubric "
                    "(a labels file from another dataset?)"
                )
            key = (row["id"], row["annotator"])
            held = (item, row["annotator"])
            had = key in self._current
            if row.get("label") is None:
                self._current.pop(key, None)
                self._count[held] = self._count.get(held, 0) - had
            else:
                self._current[key] = row
                self._count[held] = self._count.get(held, 0) + (not had)
            complete = self._done.setdefault(item, set())
            if self._count[held] >= self.task.n_labels(item):
                complete.add(row["annotator"])
            else:
                complete.discard(row["annotator"])
        self._seen = len(self.store.rows)

    def sync(self) -> None:
        """Take in the rows any process appended since the last look."""
        self.store.refresh()
        self._take(self.store.rows[self._seen :])

    def labelled(self, item: str, annotator: str | None = None) -> bool:
        return (annotator or self.annotator) in self._done.get(item, ())

    def saved(self, item: str) -> dict[str, Any] | None:
        """This annotator's current labels of an item (label id -> row), or None."""
        rows = {lid: self._current.get((lid, self.annotator)) for lid in self.task.label_ids(item)}
        return None if any(r is None for r in rows.values()) else rows

    def eligible(self, pos: int) -> bool:
        item = self.order[pos]
        if item in self.overlap or self.labelled(item):
            return True
        return not self._done.get(item)

    def resume(self) -> int | None:
        """The first position this annotator may label and has not."""
        return next(
            (p for p in range(len(self.order)) if not self.labelled(self.order[p]) and self.eligible(p)), None
        )

    def after(self, pos: int) -> int | None:
        return next((p for p in range(pos + 1, len(self.order)) if self.eligible(p)), None)

    def before(self, pos: int) -> int | None:
        return next((p for p in range(min(pos, len(self.order)) - 1, -1, -1) if self.eligible(p)), None)

    def progress(self) -> dict[str, int]:
        """Labelled by this annotator / the items in their queue now."""
        eligible = [p for p in range(len(self.order)) if self.eligible(p)]
        done = sum(1 for p in eligible if self.labelled(self.order[p]))
        return {"labelled": done, "target": len(eligible)}
