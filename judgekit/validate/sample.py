"""One dimension's matched items as arrays (judge scores, human mean, annotator matrix), with the settings
the analysis steps read: everything a statistic needs, built once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from judgekit import stats as ag
from judgekit.errors import InputError
from judgekit.validate.judge_inputs import JudgeScores
from judgekit.validate.labels import HumanLabels
from judgekit.validate.matching import Drops, field_values, match
from judgekit.validate.rows import listing
from judgekit.validate.scales import ScaleFit, fit_scales

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Options:
    """The settings of one ``validate`` run that the per-dimension analysis reads."""

    judge_name: str
    human_name: str
    scale: list[float] | None
    judge_scale: list[float] | None
    group: str | None
    system: str | None
    length_field: str | None
    lengths: Mapping[str, float] | None
    allow_missing: bool
    ceiling: bool | None
    n_boot: int
    seed: int | None
    confidence: float
    top: int
    ppi: bool = False


@dataclass
class Sample:
    """The items of one dimension that judge and humans both scored, in the label file's order."""

    dim: str
    used: list[str]
    labels: Mapping[str, Mapping[str, float]]
    averaged: bool  # one already-averaged label column, not annotators
    j: FloatArray
    scales: ScaleFit
    judge_meta: Mapping[str, Mapping[str, Any]]
    human_meta: Mapping[str, Mapping[str, Any]]
    groups: list[str] | None
    systems: list[str] | None
    drops: Drops
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.used)

    @cached_property
    def annotators(self) -> list[str]:
        return sorted({a for i in self.used for a in self.labels[i]})

    @property
    def multi(self) -> bool:
        """Two or more annotators (each with their own labels): ceiling and alpha among humans."""
        return not self.averaged and len(self.annotators) >= 2

    @cached_property
    def values(self) -> list[float]:
        return [v for i in self.used for v in self.labels[i].values()]

    @cached_property
    def h_mean(self) -> FloatArray:
        return np.array([float(np.mean(list(self.labels[i].values()))) for i in self.used])

    @cached_property
    def matrix(self) -> FloatArray:
        """Annotators x items, ``NaN`` where an annotator did not label an item."""
        index = {a: k for k, a in enumerate(self.annotators)}
        out = np.full((len(self.annotators), self.n), np.nan)
        for col, i in enumerate(self.used):
            for a, v in self.labels[i].items():
                out[index[a], col] = v
        return out

    @cached_property
    def group_codes(self) -> npt.NDArray[np.int64] | None:
        return ag.factorize(self.groups)[0] if self.groups is not None else None

    @cached_property
    def j_round(self) -> FloatArray | None:
        """Judge scores rounded to the human scale, when the judge is on it (kappa, alpha, shares)."""
        points = self.scales.human
        return ag.round_to_scale(self.j, points) if (self.scales.judge_on_scale and points) else None


def build_sample(dim: str, judge: JudgeScores, key: str | None, humans: HumanLabels, opts: Options) -> Sample:
    """Match ids, read group and system fields, check scales: the items one dimension is measured on."""
    drops = Drops()
    notes: list[str] = []
    if humans.text_columns:
        notes.append(
            f"{opts.human_name}: column(s) {listing(humans.text_columns)} hold text, not labels, so they are "
            "not read as annotators (name one with --group or --system to use it)"
        )
    scores = judge.scores.get(key, {})
    labels = humans.labels[dim]
    used = match(
        set(scores),
        judge.unscored.get(key, {}),
        list(labels),
        opts.judge_name,
        dim,
        opts.allow_missing or opts.ppi,  # --ppi names labelled ids without a judge score itself
        drops,
    )
    fields: dict[str, dict[str, str]] = {}
    for name, what in ((opts.group, "group"), (opts.system, "system")):
        if name:
            fields[what] = field_values(used, name, what, judge.meta, humans.meta, drops)
    for name, what in ((opts.group, "group"), (opts.system, "system")):
        if name and not fields[what]:
            raise InputError(
                f"no item has a value for the {what} field {name!r} (in the judge rows or the labels)"
            )
    used = [i for i in used if all(i in vals for vals in fields.values())]
    if len(used) < 2:
        raise InputError(
            f"dimension {dim!r}: only {len(used)} item(s) left after matching ids; nothing to correlate"
        )
    j = np.array([scores[i] for i in used])
    averaged = humans.form == "mean"
    fit = fit_scales(
        dim,
        labels,
        used,
        averaged,
        j,
        scale=opts.scale,
        judge_scale=opts.judge_scale,
        rubric_scale=judge.scale,
    )
    note = fit.note()
    if note:
        notes.append(note)
    groups, systems = (
        [fields[what][i] for i in used] if what in fields else None for what in ("group", "system")
    )
    return Sample(dim, used, labels, averaged, j, fit, judge.meta, humans.meta, groups, systems, drops, notes)
