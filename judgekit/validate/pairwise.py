"""Pairwise preferences: judge verdicts in both orders against the majority human label."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from judgekit import stats as ag
from judgekit.errors import ConfigError, InputError
from judgekit.io import validation_line
from judgekit.results import ScoreFile
from judgekit.validate.labels import HumanFormat, load_human
from judgekit.validate.matching import Drops, field_values, match
from judgekit.validate.report import Interval, PairwiseReport
from judgekit.validate.rows import PairwiseRow, extras, listing, read_rows

_COUNTS = (
    "n",
    "correct_original",
    "correct_swapped",
    "correct_both",
    "agree",
    "invalid_original",
    "invalid_swapped",
    "both_invalid",
)


@dataclass(frozen=True)
class PairwiseOptions:
    group: str | None
    id_field: str
    annotator_field: str
    label_field: str
    meta_fields: Sequence[str]
    human_format: HumanFormat
    annotators: Sequence[str] | None
    allow_missing: bool
    invalid_agree: bool
    n_boot: int
    seed: int | None
    confidence: float
    top: int


@dataclass(frozen=True)
class PairItems:
    """The items evaluated: ids, both verdicts (``swapped`` is ``None`` when judged in one order), gold labels."""

    ids: list[str]
    original: list[Any]
    swapped: list[Any] | None
    gold: list[str]
    groups: list[str] | None


def validate_pairwise(
    judge: str | Path | Mapping[str, Any] | ScoreFile, human: str | Path, o: PairwiseOptions
) -> PairwiseReport:
    items, drops = pairwise_items(judge, human, o)
    return _report(items, drops, o)


def pairwise_items(
    judge: str | Path | Mapping[str, Any] | ScoreFile, human: str | Path, o: PairwiseOptions
) -> tuple[PairItems, Drops]:
    """The evaluated items (verdicts matched with the majority human label) and what was dropped."""
    if isinstance(judge, Mapping | ScoreFile):
        raise ConfigError("pairwise validation reads the judge verdicts from a file")
    path = Path(judge)
    verdicts, swapped_seen = _read_verdicts(path)
    humans = load_human(
        human, human_format=o.human_format, annotators=o.annotators, id_field=o.id_field,
        annotator_field=o.annotator_field, label_field=o.label_field, meta_fields=o.meta_fields, pairwise=True,
    )  # fmt: skip
    if len(humans.labels) != 1:
        raise InputError(
            f"{human}: pairwise labels need one label per annotator (found dimensions {listing(sorted(humans.labels))})"
        )
    labels = next(iter(humans.labels.values()))
    drops = Drops()
    used = match(set(verdicts), {}, list(labels), str(path), "preference", o.allow_missing, drops)
    gold = _majority(used, labels, drops)
    groups: dict[str, str] = {}
    if o.group:
        judge_meta = {i: extras(v.model_dump()) for i, v in verdicts.items()}
        groups = field_values(list(gold), o.group, "group", judge_meta, humans.meta, drops)
        gold = {i: g for i, g in gold.items() if i in groups}
    ids = [i for i in used if i in gold]
    if not ids:
        raise InputError("no pairwise item left to evaluate after matching ids and labels")
    items = PairItems(
        ids,
        [verdicts[i].winner_original for i in ids],
        [verdicts[i].winner_swapped for i in ids] if swapped_seen else None,
        [gold[i] for i in ids],
        [groups[i] for i in ids] if o.group else None,
    )
    return items, drops


def _read_verdicts(path: Path) -> tuple[dict[str, PairwiseRow], bool]:
    """The verdict rows by id, and whether any row has a swapped-order verdict."""
    verdicts: dict[str, PairwiseRow] = {}
    swapped_seen = False
    for n, raw in enumerate(read_rows(path)):
        try:
            row = PairwiseRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {validation_line(err)}") from None
        if "winner_original" not in raw:
            raise InputError(
                f"{path}: id {row.id!r}: no 'winner_original' field (pairwise rows: id, winner_original, winner_swapped)"
            )
        if row.id in verdicts:
            raise InputError(f"{path}: id {row.id!r}: duplicate row")
        swapped_seen |= "winner_swapped" in raw
        verdicts[row.id] = row
    return verdicts, swapped_seen


def _majority(used: Sequence[str], labels: Mapping[str, Mapping[str, Any]], drops: Drops) -> dict[str, str]:
    gold: dict[str, str] = {}
    for i in used:
        counts = Counter(labels[i].values()).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            drops.add("human labels split evenly (no majority)", i)
        else:
            gold[i] = counts[0][0]
    return gold


def _report(it: PairItems, drops: Drops, o: PairwiseOptions) -> PairwiseReport:
    codes = ag.factorize(it.groups)[0] if it.groups is not None else None
    point = ag.pairwise_agreement(it.original, it.swapped, it.gold, invalid_agree=o.invalid_agree)
    est = ag.pairwise_bootstrap(
        it.original, it.swapped, it.gold, groups=codes, invalid_agree=o.invalid_agree, n_boot=o.n_boot,
        seed=o.seed, level=o.confidence,
    )  # fmt: skip
    per_group = _per_group(it, o.invalid_agree) if it.groups is not None else None
    return PairwiseReport(
        n_used=len(it.ids),
        n_dropped=drops.total,
        dropped=drops.models(),
        invalid_agree=o.invalid_agree,
        figures={k: Interval.of(v) for k, v in est.items()},
        counts={k: v for k, v in point.to_dict().items() if k in _COUNTS},
        per_group=per_group,
        macro_accuracy=float(np.mean([p["accuracy"] for p in per_group])) if per_group is not None else None,
        disagreements=_wrong(it)[: max(0, o.top)],
        resampled="groups" if it.groups is not None else "items",
        notes=[] if it.swapped is not None else ["judged in one order only: no positional agreement"],
    )


def _per_group(it: PairItems, invalid_agree: bool) -> list[dict[str, Any]]:
    assert it.groups is not None
    out = []
    for key in sorted(set(it.groups)):
        sel = [k for k, g in enumerate(it.groups) if g == key]
        pg = ag.pairwise_agreement(
            [it.original[k] for k in sel],
            [it.swapped[k] for k in sel] if it.swapped is not None else None,
            [it.gold[k] for k in sel],
            invalid_agree=invalid_agree,
        )
        out.append({"group": key, **pg.to_dict()})
    return out


def _wrong(it: PairItems) -> list[dict[str, Any]]:
    """Items the judge got wrong, those wrong in both orders first (then by id)."""
    worst = []
    for k, i in enumerate(it.ids):
        o = ag.normalize_preference(it.original[k])
        s = ag.normalize_preference(it.swapped[k]) if it.swapped is not None else None
        wrong = (o != it.gold[k]) + (it.swapped is not None and s != it.gold[k])
        if wrong:
            row = {
                "id": i,
                "label": it.gold[k],
                "winner_original": o,
                "winner_swapped": s,
                "wrong_orders": wrong,
            }
            worst.append((-wrong, i, row))
    worst.sort(key=lambda t: (t[0], t[1]))
    return [w[2] for w in worst]
