"""What a labels file holds: progress per annotator and, on the labels several annotators gave, their
agreement (Krippendorff's alpha). Used by ``judgekit label --status`` and ``judgekit report``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from judgekit.label.store import latest, read_rows


class AnnotatorProgress(BaseModel):
    annotator: str
    items: int
    labels: int
    rows: int
    last: str | None


class Agreement(BaseModel):
    """Alpha over the label ids that two or more annotators labelled."""

    units: int
    items: int
    annotators: int
    alpha: dict[str, float | None]


class LabelSummary(BaseModel):
    path: str
    rows: int
    items: int
    labels: int
    annotators: list[AnnotatorProgress]
    agreement: Agreement | None
    pairwise: bool


def item_of(label_id: str) -> str:
    """The item an ``{id}::{aspect}`` label belongs to (the id itself for item labels)."""
    return label_id.split("::", 1)[0]


def current_labels(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """label id -> annotator -> the label that counts (last row; withdrawn ones dropped)."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for (lid, annotator, _dim), row in latest(rows).items():
        out[lid][annotator] = row["label"]
    return dict(out)


def _alpha(table: dict[str, dict[str, Any]], pairwise: bool) -> Agreement | None:
    from judgekit.stats.alpha import krippendorff_alpha

    shared = {lid: by for lid, by in table.items() if len(by) >= 2}
    if not shared:
        return None
    coders = sorted({a for by in shared.values() for a in by})
    units = sorted(shared)
    data = [[shared[u].get(c) for u in units] for c in coders]
    levels = ("nominal",) if pairwise else ("nominal", "ordinal", "interval")
    alpha: dict[str, float | None] = {}
    for level in levels:
        try:
            value = krippendorff_alpha(data, level)  # type: ignore[arg-type]
            alpha[level] = None if value != value else float(value)
        except (ValueError, ZeroDivisionError):
            alpha[level] = None  # e.g. every label the same value: alpha is undefined
    return Agreement(
        units=len(units), items=len({item_of(u) for u in units}), annotators=len(coders), alpha=alpha
    )


def summarize(path: str | Path) -> LabelSummary:
    rows = read_rows(path)
    table = current_labels(rows)
    pairwise = bool(table) and all(isinstance(v, str) for by in table.values() for v in by.values())
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"items": set(), "labels": 0, "rows": 0, "last": None}
    )
    for row in rows:
        p = per[row["annotator"]]
        p["rows"] += 1
        p["last"] = row.get("time") or p["last"]
    for lid, by in table.items():
        for annotator in by:
            per[annotator]["labels"] += 1
            per[annotator]["items"].add(item_of(lid))
    annotators = [
        AnnotatorProgress(
            annotator=a, items=len(p["items"]), labels=p["labels"], rows=p["rows"], last=p["last"]
        )
        for a, p in sorted(per.items())
    ]
    return LabelSummary(
        path=str(path),
        rows=len(rows),
        items=len({item_of(lid) for lid in table}),
        labels=len(table),
        annotators=annotators,
        agreement=_alpha(table, pairwise),
        pairwise=pairwise,
    )


def format_summary(s: LabelSummary) -> str:
    lines = [
        f"{s.path}: {s.rows} rows, {s.labels} labels on {s.items} items, {len(s.annotators)} annotator(s)"
    ]
    lines.append(f"  {'annotator':<20} {'items':>6} {'labels':>7} {'rows':>6}  last label")
    for a in s.annotators:
        lines.append(f"  {a.annotator:<20} {a.items:>6} {a.labels:>7} {a.rows:>6}  {a.last or '-'}")
    g = s.agreement
    if g is None:
        lines.append("overlap: no label has two annotators yet; no agreement to report")
    else:
        shown = ", ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}" for k, v in g.alpha.items())
        lines.append(
            f"overlap: {g.units} labels on {g.items} items by {g.annotators} annotators; "
            f"Krippendorff's alpha {shown}"
        )
    return "\n".join(lines)


class JudgeHuman(BaseModel):
    """One label id with the judge's score and the human labels' mean (pairs: "1" = 1, tie = 0.5, "2" = 0)."""

    id: str
    judge: float
    human: float
    labels: int


_PAIR_VALUE = {"1": 1.0, "tie": 0.5, "2": 0.0}


def judge_vs_human(rows: Sequence[dict[str, Any]], score_file: Any) -> list[JudgeHuman]:
    """Every labelled id the score file scores: question scores for item ids, aspect scores for
    ``{id}::{aspect}`` ids (a pairwise score file's question score is A's win share, as pair labels map)."""
    judge: dict[str, float] = {}
    for q in score_file.per_question_scores:
        if q.score is not None:
            judge[q.id] = float(q.score)
        for d in q.details:
            if d.score is not None:
                judge[f"{q.id}::{d.aspect}"] = float(d.score)
    out = []
    for lid, by in sorted(current_labels(rows).items()):
        values = [_PAIR_VALUE.get(v) if isinstance(v, str) else float(v) for v in by.values()]
        numbers = [v for v in values if v is not None]
        if lid in judge and numbers:
            out.append(
                JudgeHuman(id=lid, judge=judge[lid], human=sum(numbers) / len(numbers), labels=len(numbers))
            )
    return out
