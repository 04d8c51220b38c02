"""What a labeller sees and answers for each item: the rubric's inputs and response(s), and the label kind
(a checklist of aspects, one value on the rubric's scale, or a pair's winner)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from judgekit.data import Item
from judgekit.errors import ConfigError
from judgekit.rubric import Rubric
from judgekit.rubric.verdict import score_values

Kind = Literal["checklist", "scale", "pair"]
PAIR_CHOICES = ("1", "2", "tie")


@dataclass(frozen=True)
class Option:
    """One value a label can take: what is written to the labels file, and the key that picks it."""

    value: float
    text: str
    key: str


@dataclass
class LabelTask:
    """The items of one labelling run and how each is labelled."""

    rubric: Rubric
    kind: Kind
    items: dict[str, Item]
    responses: dict[str, Any]  # id -> text, or {"a", "b"} texts for pairs
    options: list[Option]

    def label_ids(self, item_id: str) -> list[str]:
        """The ids its labels are written under: ``{id}::{aspect}`` per aspect for a checklist, else the id."""
        if self.kind == "checklist":
            return [f"{item_id}::{a.aspect}" for a in self.items[item_id].aspects]
        return [item_id]

    def owner(self, label_id: str) -> str | None:
        """The item a label id belongs to, or None when it is none of this task's (ids may hold "::")."""
        if self.kind != "checklist":
            return label_id if label_id in self.items else None
        at = label_id.find("::")
        while at >= 0:
            item = self.items.get(label_id[:at])
            if item is not None and any(a.aspect == label_id[at + 2 :] for a in item.aspects):
                return item.id
            at = label_id.find("::", at + 1)
        return None

    def n_labels(self, item_id: str) -> int:
        return len(self.items[item_id].aspects) if self.kind == "checklist" else 1

    def value_of(self, text: Any) -> float | str | None:
        """The stored label for a submitted value, or None when the value is not one this task takes."""
        if self.kind == "pair":
            return text if text in PAIR_CHOICES else None
        for o in self.options:
            if isinstance(text, int | float | str) and not isinstance(text, bool) and str(text) == o.key:
                return int(o.value) if float(o.value).is_integer() else o.value
        return None

    def describe(self) -> dict[str, Any]:
        """The run-wide part of the page: rubric, kind, the options with their keys."""
        crit = self.rubric.spec.criterion
        return {
            "rubric": self.rubric.name,
            "kind": self.kind,
            "options": [{"key": o.key, "text": o.text, "value": o.value} for o in self.options],
            "criterion": None if crit is None else {"name": crit.name, "description": crit.description},
            "scale": self.rubric.spec.scale.model_dump(),
        }

    def view(self, item_id: str, first: str) -> dict[str, Any]:
        """One item as the page shows it; for a pair, ``first`` ("1" or "2") is the response shown first."""
        item = self.items[item_id]
        shown = [f for f in self.rubric.spec.inputs.required if isinstance(item.fields.get(f), str)]
        view: dict[str, Any] = {
            "id": item_id,
            "fields": [{"name": f, "text": item.fields[f]} for f in shown],
            "aspects": [a.model_dump() for a in item.aspects] if self.kind == "checklist" else [],
        }
        answer = self.responses[item_id]
        if self.kind == "pair":
            sides = ["a", "b"] if first == "1" else ["b", "a"]
            history = item.fields.get("history") or {}
            view["responses"] = [
                {"number": "1" if s == "a" else "2", "text": answer[s], "history": history.get(s) or []}
                for s in sides
            ]
        else:
            history = item.fields.get("history")
            view["responses"] = [
                {"number": "", "text": answer, "history": history if isinstance(history, list) else []}
            ]
        return view


def first_shown(seed: int, annotator: str, item_id: str) -> str:
    """Which response of a pair this annotator sees first: "1" or "2", seeded per annotator and item."""
    return "2" if random.Random(f"{seed}:{annotator}:{item_id}:order").random() < 0.5 else "1"


def _options(rubric: Rubric) -> list[Option]:
    """The score field's values, each with the key that picks it: the digit itself when every value is a
    whole number 0-9 (LaMP-QA's 0/1/2, a 1-5 scale), else 1, 2, ... in the rubric's order."""
    try:
        table = score_values(rubric.spec.output)
    except ValueError:
        scale = rubric.spec.scale
        lo, hi = scale.min, scale.max
        if not (float(lo).is_integer() and float(hi).is_integer() and hi - lo <= 9):
            raise ConfigError(
                f"rubric {rubric.name!r}: its score has no short list of values to label "
                "(needs an enum, or an integer scale of at most 10 values)"
            ) from None
        table = {str(v): float(v) for v in range(int(lo), int(hi) + 1)}
    digits = all(v.is_integer() and 0 <= v <= 9 for v in table.values()) and len(set(table.values())) == len(
        table
    )
    if digits:
        return [Option(v, text, str(int(v))) for text, v in sorted(table.items(), key=lambda kv: kv[1])]
    if len(table) > 9:
        raise ConfigError(f"rubric {rubric.name!r}: more than 9 label values; the keys 1-9 cannot pick them")
    return [Option(v, text, str(n)) for n, (text, v) in enumerate(table.items(), start=1)]


def build_task(rubric: Rubric, items: list[Item], responses: dict[str, Any]) -> LabelTask:
    """The task for items read as ``score`` reads them (``judgekit.scoring.inputs.load_inputs``)."""
    if rubric.pairwise:
        kind: Kind = "pair"
        options: list[Option] = []
    else:
        kind = "checklist" if any(it.aspects for it in items) else "scale"
        options = _options(rubric)
    return LabelTask(rubric, kind, {it.id: it for it in items}, responses, options)
