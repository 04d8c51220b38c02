"""The report's view of a labels file (``judgekit label``): progress per annotator, agreement on the overlap,
and, with the judge's score file, the judge beside the humans."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.label.status import JudgeHuman, LabelSummary, judge_vs_human, summarize
from judgekit.label.store import read_rows
from judgekit.report.page import esc, kv, note, num, section, table


@dataclass
class LabelsInput:
    """A labels file summarised, and the judge-vs-human pairs when a score file came with it."""

    summary: LabelSummary
    pairs: list[JudgeHuman] | None
    scores: str | None


def is_labels_file(path: Path) -> bool:
    """A JSON Lines file whose first row has ``id``, ``annotator`` and ``label``: what judgekit label writes."""
    import json

    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    try:
        row = json.loads(first)
    except ValueError:
        return False
    return isinstance(row, dict) and {"id", "annotator", "label"} <= row.keys()


def load_labels(path: Path, scores: str | Path | None) -> LabelsInput:
    pairs = None
    if scores is not None:
        from judgekit.results import load_score_file
        from judgekit.score_reader import check_score_values

        score_file = load_score_file(scores)
        check_score_values(score_file, str(scores))  # as every command that reads score files
        pairs = judge_vs_human(read_rows(path), score_file)
    return LabelsInput(summarize(path), pairs, None if scores is None else str(scores))


def labels_verdict(d: LabelsInput) -> str:
    s = d.summary
    text = f"{s.labels} labels on {s.items} items by {len(s.annotators)} annotator(s)"
    if s.agreement is not None:
        level = "nominal" if s.pairwise else "ordinal"
        text += f"; alpha ({level}) {num(s.agreement.alpha.get(level))} on the overlap"
    if d.pairs:
        text += f"; judge within 0.5 of the humans on {_share_close(d.pairs):.0%} of {len(d.pairs)} labels"
    return esc(text)


def _share_close(pairs: list[JudgeHuman]) -> float:
    return sum(abs(p.judge - p.human) <= 0.5 for p in pairs) / len(pairs)


def _pearson(pairs: list[JudgeHuman]) -> float | None:
    n = len(pairs)
    if n < 3:
        return None
    mj, mh = sum(p.judge for p in pairs) / n, sum(p.human for p in pairs) / n
    sj = sum((p.judge - mj) ** 2 for p in pairs)
    sh = sum((p.human - mh) ** 2 for p in pairs)
    if sj == 0 or sh == 0:
        return None
    return sum((p.judge - mj) * (p.human - mh) for p in pairs) / math.sqrt(sj * sh)


def labels_sections(d: LabelsInput, salt: str) -> str:
    s = d.summary
    parts = [
        section(f"{salt}-prov", "Verdict", kv([("verdict", labels_verdict(d)), ("file", esc(s.path))]), 3)
    ]
    progress = table(
        ["annotator", "items", "labels", "rows written", "last label"],
        [
            (esc(a.annotator), num(a.items), num(a.labels), num(a.rows), esc(a.last or "-"))
            for a in s.annotators
        ],
    )
    parts.append(section(f"{salt}-progress", "Progress per annotator", progress, 3))
    g = s.agreement
    if g is None:
        body = note("No label has two annotators yet: label with --overlap for agreement.")
    else:
        body = kv(
            [
                ("overlap", esc(f"{g.units} labels on {g.items} items, {g.annotators} annotators")),
                *((f"Krippendorff's alpha, {k}", num(v)) for k, v in g.alpha.items()),
            ]
        )
    parts.append(section(f"{salt}-agreement", "Agreement on the overlap", body, 3))
    if d.pairs is not None:
        parts.append(section(f"{salt}-judge", "Judge and humans", _judge_body(d), 3))
    return "".join(parts)


def _judge_body(d: LabelsInput) -> str:
    pairs = d.pairs or []
    if not pairs:
        return note(f"No labelled id is scored in {d.scores}.")
    n = len(pairs)
    head = kv(
        [
            ("score file", esc(d.scores)),
            ("labels with a judge score", num(n)),
            ("mean judge / mean human", esc(f"{num(sum(p.judge for p in pairs) / n)} / "
                                            f"{num(sum(p.human for p in pairs) / n)}")),
            ("mean |judge - human|", num(sum(abs(p.judge - p.human) for p in pairs) / n)),
            ("judge within 0.5 of the humans", esc(f"{_share_close(pairs):.1%}")),
            ("Pearson r", num(_pearson(pairs))),
        ]
    )  # fmt: skip
    worst = sorted(pairs, key=lambda p: (-abs(p.judge - p.human), p.id))[:20]
    rows: list[tuple[Any, ...]] = [
        (esc(p.id), num(p.judge), num(p.human), num(p.labels), num(p.judge - p.human)) for p in worst
    ]
    return (
        head
        + "<h4>Largest disagreements</h4>"
        + table(["id", "judge", "human mean", "labels", "difference"], rows)
    )
