"""The ``--ppi`` step: the mean human-scale score corrected by prediction-powered inference (PPI++).

The judge scores every item; humans label a random subset. The labelled items (label averaged over the
annotators) measure the judge's bias, the unlabelled ones (judge score, no label) narrow the interval. The
statistics live in ``judgekit.stats.ppi``; this step picks the two sets, puts the judge on the human scale
and turns a broken input into a one-line error.

When the labels carry a ``probability`` column (``judgekit label`` writes each item's selection probability)
and the probabilities differ between items, the labelled set is not a uniform sample: the estimate is then
the inverse-probability-weighted one of active inference (``judgekit.stats.active``). Equal probabilities
(``--select random``) keep plain PPI++.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from judgekit.errors import InputError
from judgekit.stats.active import ActiveResult, active_mean
from judgekit.stats.ppi import MeanCI, PPIResult, ppi_mean
from judgekit.validate import report
from judgekit.validate.judge_inputs import JudgeScores
from judgekit.validate.rows import listing
from judgekit.validate.sample import FloatArray, Options, Sample
from judgekit.validate.scales import scale_text


def ppi(s: Sample, judge: JudgeScores, key: str | None, opts: Options) -> report.PPI | None:
    """PPI++ mean of the human-scale score over every judged item (the active-inference mean when the labels'
    selection probabilities differ), beside the judge-only and human-only means. Every labelled item needs
    a judge score (else the labelled set is not the sample PPI assumes); judged items without a label form
    the unlabelled set."""
    if not opts.ppi:
        return None
    scores = judge.scores.get(key, {})
    labelled = [i for i in s.labels if s.labels[i]]
    missing = [i for i in labelled if i not in scores]
    if missing:
        raise InputError(
            f"dimension {s.dim!r}: --ppi needs the judge's score on every labelled item, but "
            f"{len(missing)} labelled id(s) have none: {listing(missing, limit=10)}"
        )
    unlabelled = [i for i in scores if i not in s.labels]
    _check_declared_range(s, {i: scores[i] for i in unlabelled}, opts)
    to_human, mapped = _to_human_scale(s)
    human = np.array([float(np.mean(list(s.labels[i].values()))) for i in labelled])
    judge_l = to_human(np.array([scores[i] for i in labelled]))
    judge_u = to_human(np.array([scores[i] for i in unlabelled]))
    probability = _probabilities(s, labelled)
    result: PPIResult | ActiveResult
    try:
        if probability is None:
            result = ppi_mean(human, judge_l, judge_u, level=opts.confidence)
            estimate, method = result.ppi, PPI_METHOD
        else:
            result = _active_mean(human, judge_l, judge_u, probability, opts.confidence)
            estimate, method = result.active, ACTIVE_METHOD
    except ValueError as err:
        raise InputError(f"dimension {s.dim!r}: --ppi: {err}") from None
    n_left = len(judge.unscored.get(key, {}).keys() - s.labels.keys())
    return report.PPI(
        estimate=estimate.estimate,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        se=estimate.se,
        n_labelled=result.n_labelled,
        n_unlabelled=result.n_unlabelled,
        lam=result.lam,
        judge_only=_mean(result.judge_only),
        human_only=_mean(result.human_only),
        effective_labels=result.effective_labels if math.isfinite(result.effective_labels) else None,
        level=result.level,
        method=method,
        judge_mapped=mapped,
        n_judge_unscored=n_left,
    )


#: The labels' column holding each item's selection probability (written by ``judgekit label``).
PROBABILITY_FIELD = "probability"
PPI_METHOD = "PPI++ (Angelopoulos, Duchi, Zrnic 2023), power-tuned lambda, normal interval"
ACTIVE_METHOD = (
    "active inference (Zrnic, Candès 2024): weighted by the inverse of the labels' selection "
    "probabilities, power-tuned lambda, normal interval"
)


def _probabilities(s: Sample, labelled: list[str]) -> FloatArray | None:
    """The labelled items' selection probabilities, or ``None`` when there are none or all are equal (a
    uniform sample: plain PPI++). Some items with and some without, or a value outside (0, 1]: an error."""
    raw = [s.human_meta.get(i, {}).get(PROBABILITY_FIELD) for i in labelled]
    given = [v for v in raw if v is not None and v != ""]
    if not given:
        return None
    if len(given) < len(raw):
        raise InputError(
            f"dimension {s.dim!r}: --ppi: {len(raw) - len(given)} of {len(raw)} labelled items have no "
            f"{PROBABILITY_FIELD!r}; label rows need it on every item or on none"
        )
    p = np.array([_probability_value(v) for v in given])
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"dimension {s.dim!r}: --ppi: id {labelled[k]!r}: {PROBABILITY_FIELD} {given[k]!r} is not a "
            "probability in (0, 1]"
        )
    return None if float(p.max() - p.min()) <= 1e-12 * float(p.max()) else p


def _probability_value(v: object) -> float:
    if isinstance(v, bool):
        return math.nan
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _active_mean(
    human: FloatArray, judge_l: FloatArray, judge_u: FloatArray, probability: FloatArray, level: float
) -> ActiveResult:
    """The inverse-probability-weighted mean over every judged item (labelled first, then unlabelled)."""
    gap = np.full(judge_u.size, np.nan)
    return active_mean(
        np.concatenate([judge_l, judge_u]),
        np.concatenate([human, gap]),
        np.concatenate([probability, gap]),
        level=level,
    )


def _mean(m: MeanCI) -> report.MeanInterval:
    return report.MeanInterval(estimate=m.estimate, ci_low=m.ci_low, ci_high=m.ci_high, se=m.se, n=m.n)


def _check_declared_range(s: Sample, scores: Mapping[str, float], opts: Options) -> None:
    """Unlabelled judge scores against the judge's declared scale (the labelled ones were checked already)."""
    points = opts.judge_scale or (opts.scale if s.scales.judge_on_scale else None)
    if not points:
        return
    off = [(i, v) for i, v in scores.items() if not points[0] - 1e-9 <= v <= points[-1] + 1e-9]
    if off:
        raise InputError(
            f"dimension {s.dim!r}: {len(off)} judge score(s) of unlabelled items off the judge scale "
            f"{scale_text(points)}, e.g. {off[0][1]:g} for id {off[0][0]!r}"
        )


def _to_human_scale(s: Sample) -> tuple[Callable[[FloatArray], FloatArray], str | None]:
    """The judge's scores as they are when on the human scale, else mapped linearly from the judge's
    declared scale onto the labels' (PPI stays valid for any fixed map; the judge-only mean becomes
    comparable). No declared scale on either side: an input error."""
    fit = s.scales
    if fit.judge_on_scale:
        return _identity, None
    if fit.human is None or fit.judge is None:
        raise InputError(
            f"dimension {s.dim!r}: --ppi needs the judge on the human label scale; declare the labels' scale "
            "with --scale and the judge's with --judge-scale (its scores are then mapped linearly onto the "
            "labels' scale)"
        )
    (lo, hi), (jlo, jhi) = (fit.human[0], fit.human[-1]), (fit.judge[0], fit.judge[-1])
    text = f"judge scores mapped linearly from {scale_text(fit.judge)} onto {scale_text(fit.human)}"
    return (lambda x: lo + (x - jlo) * (hi - lo) / (jhi - jlo)), text


def _identity(x: FloatArray) -> FloatArray:
    return x
