"""The per-dimension analysis, one step per statistic.

A step reads a ``Sample`` and returns its block of the report. Alpha, kappa and the bias figures share one
pass over the same bootstrap resamples: their steps register point values and resample functions with a
``Joint`` and return a function that builds the block once the joint bootstrap has run. Adding a statistic
is one step here, its field in ``report.py``, and its line in ``analyse_dimension``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from judgekit import stats as ag
from judgekit.errors import InputError
from judgekit.validate import report
from judgekit.validate.judge_inputs import JudgeScores
from judgekit.validate.labels import HumanLabels
from judgekit.validate.matching import field_value
from judgekit.validate.ppi import ppi
from judgekit.validate.sample import FloatArray, Options, Sample, build_sample
from judgekit.validate.scales import num

_LENGTH_FIELDS = ("length", "response_length", "response", "output")


def analyse_dimension(
    dim: str, judge: JudgeScores, key: str | None, humans: HumanLabels, opts: Options
) -> report.DimensionReport:
    """One dimension's report: the steps in the order their notes and errors appear."""
    s = build_sample(dim, judge, key, humans, opts)
    ppi_block = ppi(s, judge, key, opts)
    corr = correlations(s, opts)
    ceiling_model = ceiling(s, opts)
    joint = Joint(s, opts)
    finish_alpha = alpha(s, joint)
    finish_kappa = kappa(s, joint)
    finish_bias = bias(s, opts, joint)
    joint.run()
    worst = disagreements(s, opts.top)
    return report.DimensionReport(
        dimension=dim,
        n_used=s.n,
        n_dropped=s.drops.total,
        dropped=s.drops.models(),
        n_annotators=len(s.annotators) if not s.averaged else 0,
        n_labels=len(s.values),
        scale=s.scales.human,
        judge_scale=s.scales.judge,
        judge_on_scale=s.scales.judge_on_scale,
        resampled="groups" if s.groups is not None else "items",
        correlations=corr,
        alpha=finish_alpha(),
        kappa=finish_kappa(),
        ceiling=ceiling_model,
        bias=finish_bias(),
        disagreements=worst,
        items=report.ItemPairs(ids=list(s.used), judge=s.j.tolist(), human=s.h_mean.tolist()),
        judge_samples=judge.samples.get(key),
        ppi=ppi_block,
        notes=s.notes,
    )


class Joint:
    """Statistics evaluated on the same bootstrap resamples, in one pass (``agreement.bootstrap``)."""

    def __init__(self, s: Sample, opts: Options) -> None:
        self.n, self.groups = s.n, s.group_codes
        self.n_boot, self.seed, self.confidence = opts.n_boot, opts.seed, opts.confidence
        self.points: dict[str, float] = {}
        self.fns: dict[str, ag.StatFn] = {}
        self.boot: dict[str, FloatArray] = {}

    def run(self) -> None:
        if self.n_boot and self.fns:
            self.boot = ag.bootstrap(self.fns, self.n, groups=self.groups, n_boot=self.n_boot, seed=self.seed)

    def interval_if(self, name: str, count: int) -> report.Interval | None:
        """The interval of ``name``, or ``None`` when no step registered it."""
        return self.interval(name, count) if name in self.points else None

    def interval(self, name: str, count: int) -> report.Interval:
        samples = self.boot.get(name) if self.n_boot else None
        return report.Interval.of(ag.make_estimate(self.points[name], samples, count, self.confidence))


def correlations(s: Sample, opts: Options) -> report.CorrelationLevels:
    """Pearson, Spearman and Kendall tau-b pooled, averaged over groups, and of per-system means."""
    summary = ag.correlation_summary(
        s.j, s.h_mean, groups=s.groups, systems=s.systems, n_boot=opts.n_boot, seed=opts.seed,
        level=opts.confidence,
    )  # fmt: skip
    grouped = s.groups is not None
    return report.CorrelationLevels(
        pooled=report.Correlations.of(summary.pooled),
        per_group=report.Correlations.of(summary.per_group) if summary.per_group else None,
        n_groups=summary.n_groups if grouped else None,
        groups_used={str(k): v for k, v in summary.groups_used.items()} if grouped else None,
        system=report.Correlations.of(summary.system) if summary.system else None,
        n_systems=summary.n_systems if s.systems is not None else None,
    )


def ceiling(s: Sample, opts: Options) -> report.Ceiling | None:
    """Each annotator against the mean of the others, and the judge in the same place."""
    if opts.ceiling and not s.multi:
        who = (
            "an already-averaged label column" if s.averaged else f"a single annotator ({s.annotators[0]!r})"
        )
        raise InputError(
            f"dimension {s.dim!r}: the human ceiling needs two or more annotators, but the labels have {who}"
        )
    if not s.multi or opts.ceiling is False:
        return None
    try:
        c = ag.leave_one_out_ceiling(
            s.matrix, s.j, annotators=s.annotators, groups=s.group_codes, n_boot=opts.n_boot, seed=opts.seed,
            level=opts.confidence,
        )  # fmt: skip
    except ValueError as err:
        if opts.ceiling:
            raise InputError(f"dimension {s.dim!r}: {err}") from None
        s.notes.append(f"no human ceiling: {err}")
        return None
    assert c.judge is not None
    rows = [
        report.AnnotatorRow(
            annotator=p.annotator,
            n=p.n,
            human={m: _finite(v) for m, v in p.human.items()},
            judge={m: _finite(v) for m, v in p.judge.items()} if p.judge else None,
        )
        for p in c.per_annotator
    ]
    return report.Ceiling(
        human=report.Correlations.of(c.human),
        judge=report.Correlations.of(c.judge),
        n_annotators=c.n_annotators,
        per_annotator=rows,
    )


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _add_alpha(joint: Joint, name: str, rows: list[list[float]]) -> None:
    for lv in ag.ALPHA_LEVELS:
        joint.points[f"{name}.{lv}"] = ag.krippendorff_alpha(rows, lv)
    weighted = ag.WeightedAlpha(rows, ag.ALPHA_LEVELS)
    if weighted.available:
        joint.fns[name] = lambda r: {str(k): v for k, v in weighted(r.items).items()}


def alpha(s: Sample, joint: Joint) -> Callable[[], report.Alpha | None]:
    """Krippendorff's alpha at four levels among the annotators, and with the judge as one more coder."""
    if s.averaged:
        return lambda: None
    human_rows = s.matrix.tolist()
    if s.multi:
        _add_alpha(joint, "alpha_h", human_rows)
    if s.j_round is not None:
        _add_alpha(joint, "alpha_j", [*human_rows, s.j_round.tolist()])

    def finish() -> report.Alpha | None:
        n_pairable = int((np.isfinite(s.matrix).sum(axis=0) >= 2).sum())
        humans = (
            {lv: joint.interval(f"alpha_h.{lv}", n_pairable) for lv in ag.ALPHA_LEVELS} if s.multi else None
        )
        with_judge = (
            {lv: joint.interval(f"alpha_j.{lv}", s.n) for lv in ag.ALPHA_LEVELS}
            if s.j_round is not None
            else None
        )
        if humans is None and with_judge is None:
            return None
        return report.Alpha(humans=humans, humans_and_judge=with_judge)

    return finish


def _add_kappa(
    joint: Joint,
    name: str,
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    n_cats: int,
    mask: npt.NDArray[np.bool_] | None = None,
) -> None:
    """Kappa of category codes ``a`` against ``b``; ``mask`` picks the items they cover."""
    for w in ag.KAPPA_WEIGHTS:
        joint.points[f"{name}.{w}"] = ag.cohen_kappa(a, b, weights=w, categories=list(range(n_cats))).kappa
    weighted = ag.WeightedKappa(a, b, n_cats)
    if mask is None:
        joint.fns[name] = lambda r: {str(k): v for k, v in weighted(r.items).items()}
    else:
        joint.fns[name] = lambda r: {str(k): v for k, v in weighted(r.items[:, mask]).items()}


def _majority(s: Sample) -> list[float | None]:
    """Each item's majority label, ``None`` where the top labels tie."""
    out: list[float | None] = []
    for i in s.used:
        counts = Counter(s.labels[i].values()).most_common()
        out.append(counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None)
    return out


def kappa(s: Sample, joint: Joint) -> Callable[[], report.Kappa | None]:
    """Cohen's kappa (unweighted, linear, quadratic) of the rounded judge against the rounded human mean and
    against the majority label."""
    points = s.scales.human
    if s.j_round is None or points is None:
        return lambda: None
    cats = {p: k for k, p in enumerate(points)}
    jc = np.array([cats[v] for v in s.j_round])
    mc = np.array([cats[v] for v in ag.round_to_scale(s.h_mean, points)])
    _add_kappa(joint, "kappa_mean", jc, mc, len(cats))
    n_no_majority = 0
    if not s.averaged:
        maj = _majority(s)
        has = np.array([m is not None for m in maj])
        n_no_majority = int((~has).sum())
        if has.sum() >= 2:
            majc = np.array([cats[float(ag.round_to_scale([m], points)[0])] for m in maj if m is not None])
            _add_kappa(joint, "kappa_maj", jc[has], majc, len(cats), has)

    def finish() -> report.Kappa:
        n_maj = s.n - n_no_majority
        return report.Kappa(
            vs_mean={w: joint.interval(f"kappa_mean.{w}", s.n) for w in ag.KAPPA_WEIGHTS},
            vs_majority={w: joint.interval(f"kappa_maj.{w}", n_maj) for w in ag.KAPPA_WEIGHTS}
            if "kappa_maj.unweighted" in joint.points
            else None,
            n_no_majority=n_no_majority,
        )

    return finish


def _length_values(s: Sample, opts: Options) -> tuple[str | None, dict[str, float]]:
    """Response lengths (``--responses`` words, or a length or text field) and where they came from."""
    if opts.lengths is not None:
        lengths = opts.lengths
        return "--responses (words)", {i: lengths[i] for i in s.used if i in lengths}
    for name in [opts.length_field] if opts.length_field else _LENGTH_FIELDS:
        found = {}
        for i in s.used:
            v = _length_of(field_value(i, name, s.judge_meta, s.human_meta))
            if v is not None:
                found[i] = v
        if found:
            return name, found
    if opts.length_field:
        raise InputError(f"no item has a value for the length field {opts.length_field!r}")
    return None, {}


def _length_of(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return float(len(text.split()))


def bias(s: Sample, opts: Options, joint: Joint) -> Callable[[], report.Bias]:
    """Mean judge-minus-human offset, Spearman of each side with response length, and score shares."""
    j, h_mean = s.j, s.h_mean
    if s.scales.judge_on_scale:
        joint.points["offset"] = float(np.mean(j - h_mean))
        joint.fns["offset"] = lambda r: ag.mean_offset(j, h_mean, r.items)
    length_name, lengths = _length_values(s, opts)
    has_len = np.array([i in lengths for i in s.used])
    n_len = int(has_len.sum())
    if n_len >= 3:
        lv = np.array([lengths[i] for i in s.used if i in lengths])
        jl, hl = j[has_len], h_mean[has_len]
        joint.points["len_j"] = ag.correlation(jl, lv, "spearman")
        joint.points["len_h"] = ag.correlation(hl, lv, "spearman")
        pj = ag.WeightedCorrelations(jl, lv, ("spearman",))
        ph = ag.WeightedCorrelations(hl, lv, ("spearman",))
        joint.fns["len_j"] = lambda r: pj(r.items[:, has_len])["spearman"]
        joint.fns["len_h"] = lambda r: ph(r.items[:, has_len])["spearman"]
        if n_len < s.n:
            s.notes.append(f"response length known for {n_len} of {s.n} items")
    points = s.scales.human

    def finish() -> report.Bias:
        return report.Bias(
            mean_offset=joint.interval_if("offset", s.n),
            length_field=length_name if "len_j" in joint.points else None,
            length_judge=joint.interval_if("len_j", n_len),
            length_human=joint.interval_if("len_h", n_len),
            judge_shares={num(k): v for k, v in ag.score_shares(j, points).items()}
            if s.j_round is not None and points
            else None,
            human_shares={num(k): v for k, v in ag.score_shares(s.values, points).items()}
            if points and not s.averaged
            else None,
        )

    return finish


def disagreements(s: Sample, top: int) -> list[report.Disagreement]:
    """The items where judge and humans differ most (by percentile rank when they share no scale)."""
    if s.scales.judge_on_scale:
        diff = s.j - s.h_mean
    else:
        from scipy.stats import rankdata

        diff = (rankdata(s.j) - rankdata(s.h_mean)) / s.n
        s.notes.append("disagreements ranked by the difference in percentile rank (no common scale)")
    order = np.argsort(-np.abs(diff), kind="stable")[: max(0, top)]
    return [
        report.Disagreement(
            id=s.used[k],
            judge=float(s.j[k]),
            human=float(s.h_mean[k]),
            labels=dict(s.labels[s.used[k]]),
            difference=float(diff[k]),
        )
        for k in order
    ]
