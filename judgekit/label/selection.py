"""Which items to label, in which order, and with which probability (``judgekit label --select``).

Every pick carries ``probability``: the probability the design gave that item of being in the labelled set.
The labeller writes it into each label row, and ``validate --ppi`` weights by its inverse (active inference,
``judgekit.stats.active``), so the corrected mean stays unbiased however unequal the probabilities are.

- ``random``: a seeded uniformly random order; with ``--sample n`` of ``N`` items the first ``n``.
  ``probability = n / N`` (1 without ``--sample``: any prefix of a random order is a uniform sample, and
  for uniform probabilities ``validate --ppi`` is plain PPI++, which does not use the value).
- ``stratified``: the items the judge scored, in bins of the judge's score (one bin per distinct score when
  there are at most ``bins``, else ``bins`` equal-width bins); the budget is split equally over the bins
  (a bin smaller than its share gives the rest to the others; the remainder goes to the largest bins),
  drawn without replacement inside each bin and offered round-robin across bins.
  ``probability = n_b / N_b`` for an item in bin ``b`` (its exact inclusion probability).
- ``uncertain``: highest judge uncertainty first (items the judge could not score before all others),
  ties in seeded random order; the first ``n``. Deterministic, so ``probability = 1`` for every pick and 0
  for every other item: not a probability sample. Use it to find where the judge fails, not to estimate a
  mean (``validate --ppi`` on such labels would be biased).
- ``active``: ``pi_i`` from :func:`judgekit.stats.active.active_probabilities` (proportional to the judge's
  uncertainty, mixed with uniform, clipped to 1, summing to ``n``); each item the judge scored is drawn by an
  independent seeded Bernoulli(``pi_i``) and the drawn ones are offered in a seeded random order.
  ``probability = pi_i``. The number drawn is random, about ``n``; label all of them (stopping early keeps
  the estimate close to unbiased only because the order is random).

``stratified`` and ``active`` leave out items the judge did not score: without a judge score an item cannot
enter the judge-corrected estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError, InputError
from judgekit.results import AspectResult, QuestionResult, ScoreFile, load_score_file
from judgekit.stats.arrays import FloatArray

Strategy = Literal["random", "stratified", "uncertain", "active"]
STRATEGIES: tuple[Strategy, ...] = ("random", "stratified", "uncertain", "active")
#: Strategies that read the judge's scores (``--scores``).
NEEDS_SCORES: tuple[Strategy, ...] = ("stratified", "uncertain", "active")
DEFAULT_BINS = 5
UncertaintySource = Literal["samples", "logprob", "orders", "none"]


class JudgeView(BaseModel):
    """What selection knows of the judge on one item.

    ``uncertainty`` is the judge's standard deviation on the item, on the rubric's scale: the spread of a
    panel's judges or of the ``--samples`` answers, or for a logprob-weighted score ``m`` on ``[lo, hi]`` the
    largest standard deviation a distribution with mean ``m`` can have there, ``sqrt((m - lo)(hi - m))``
    (largest mid-scale, 0 at the ends); for a pair, the spread of its two presentation orders' verdicts
    (position inconsistency). ``None`` when the score file holds no such signal. Selection uses only its
    order and ratios."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    uncertainty: float | None = None
    source: UncertaintySource = "none"


class Pick(BaseModel):
    """One item to offer for labelling, in offering order; ``probability`` is the probability the design
    gave this item of being selected (see the module docstring for each strategy)."""

    model_config = ConfigDict(frozen=True)

    id: str
    probability: float = Field(gt=0, le=1)


def judge_views(
    scores: ScoreFile | str | Path, *, scale: tuple[float, float] | None = None
) -> dict[str, JudgeView]:
    """Per question id, the judge's question score and its uncertainty from a judgekit score file.

    A question's uncertainty combines its aspects' as the standard deviation of their mean under independent
    errors, ``sqrt(sum of variances) / k``. ``scale`` is the rubric's (min, max), needed only to turn a
    logprob-weighted score into an uncertainty. Raises ``InputError`` for an unreadable score file.
    """
    sf = scores if isinstance(scores, ScoreFile) else load_score_file(scores)
    return {q.id: _question_view(q, scale) for q in sf.per_question_scores}


def _question_view(q: QuestionResult, scale: tuple[float, float] | None) -> JudgeView:
    pair = q.pairwise  # a pair judged in both orders (the pairwise rubrics' score files)
    if pair is not None and "original" in pair and "swapped" in pair:
        return _pair_view(q.score, pair["original"], pair["swapped"])
    parts = [_aspect_sd(a, scale) for a in q.details if a.score is not None]
    known = [p for p in parts if p is not None]
    if q.score is None or not known:
        return JudgeView(score=q.score)
    sources = {src for _, src in known}
    variance = sum(sd**2 for sd, _ in known)
    source: UncertaintySource = "samples" if "samples" in sources else "logprob"
    return JudgeView(score=q.score, uncertainty=math.sqrt(variance) / len(known), source=source)


def _pair_view(score: float | None, original: object, swapped: object) -> JudgeView:
    """A pair's uncertainty: the standard deviation of its two orders' verdicts (1 / 0.5 / 0), 0 when they
    agree; an inconsistent pair may have no score at all (then it is an unscored item)."""
    from judgekit.scoring.pairwise import VERDICT_SCORE

    a, b = VERDICT_SCORE.get(str(original)), VERDICT_SCORE.get(str(swapped))
    if a is None or b is None:
        return JudgeView(score=score)
    return JudgeView(score=score, uncertainty=abs(a - b) / math.sqrt(2), source="orders")


def _aspect_sd(a: AspectResult, scale: tuple[float, float] | None) -> tuple[float, UncertaintySource] | None:
    """The larger of the samples' (or panel judges') standard deviation and the logprob bound."""
    found: list[tuple[float, UncertaintySource]] = []
    values = [s for s in a.samples if s is not None]
    if len(values) >= 2:
        mean = sum(values) / len(values)  # plain Python: np.std costs ~50x more on a handful of values
        found.append((math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)), "samples"))
    if a.method == "logprob_weighted" and scale is not None and a.score is not None:
        lo, hi = scale
        m = min(max(a.score, lo), hi)
        found.append((math.sqrt((m - lo) * (hi - m)), "logprob"))
    return max(found, key=lambda t: t[0]) if found else None


def plan_selection(
    ids: Sequence[str],
    strategy: Strategy,
    sample: int | None,
    seed: int,
    judge: Mapping[str, JudgeView] | None,
    *,
    bins: int = DEFAULT_BINS,
    mix: float | None = None,
) -> list[Pick]:
    """The items to offer, in order, each with its selection probability (see the module docstring).

    ``ids`` are the dataset's item ids; ``sample`` the label budget (``None``: every eligible item; required
    for ``active``); ``judge`` the views from :func:`judge_views` (required for all but ``random``). Raises
    ``InputError`` when the judge is needed and missing or scores none of the items, ``ConfigError`` for a bad
    strategy, budget, ``bins`` or ``mix``.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"--select must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if sample is not None and sample < 1:
        raise ConfigError(f"--sample must be at least 1, got {sample}")
    if len(set(ids)) != len(ids):
        raise InputError("item ids repeat; selection needs one entry per item")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return _random(list(ids), sample, rng)
    if judge is None:
        raise InputError(f"--select {strategy} needs the judge's scores: pass --scores SCORES.json")
    scored = [i for i in ids if i in judge and judge[i].score is not None]
    if not scored:
        raise InputError(f"--select {strategy}: the score file has no judge score for any of the items")
    if strategy == "stratified":
        if bins < 1:
            raise ConfigError(f"bins must be at least 1, got {bins}")
        return _stratified(scored, [float(judge[i].score or 0.0) for i in scored], sample, bins, rng)
    uncertainty = _uncertainties(scored, judge, strategy)
    if strategy == "uncertain":
        have = set(scored)
        unscored = [i for i in ids if i not in have]
        return _uncertain(unscored, scored, uncertainty, sample, rng)
    if sample is None:
        raise ConfigError("--select active needs --sample N: the label budget the probabilities add up to")
    return _active(scored, uncertainty, sample, mix, rng)


def _random(ids: list[str], sample: int | None, rng: np.random.Generator) -> list[Pick]:
    n = len(ids) if sample is None else min(sample, len(ids))
    order = rng.permutation(len(ids))[:n]
    return [Pick(id=ids[k], probability=n / len(ids)) for k in order]


def _uncertainties(scored: list[str], judge: Mapping[str, JudgeView], strategy: str) -> FloatArray:
    """The judge's uncertainty per scored item; an item without a signal gets the median of the others."""
    raw = [judge[i].uncertainty for i in scored]
    known = [u for u in raw if u is not None]
    if not known:
        raise InputError(
            f"--select {strategy} needs the judge's uncertainty, and the score file has none: score with a "
            "panel of judges, with --samples 2 or more, or with a logprob-weighted rubric"
        )
    fill = float(np.median(known))
    return np.array([fill if u is None else u for u in raw], dtype=np.float64)


def _uncertain(
    unscored: list[str],
    scored: list[str],
    uncertainty: FloatArray,
    sample: int | None,
    rng: np.random.Generator,
) -> list[Pick]:
    tie_break = rng.permutation(len(scored))
    order = np.lexsort((tie_break, -uncertainty))
    ranked = [unscored[k] for k in rng.permutation(len(unscored))] + [scored[k] for k in order]
    n = len(ranked) if sample is None else min(sample, len(ranked))
    return [Pick(id=i, probability=1.0) for i in ranked[:n]]


def _bins_of(values: list[float], bins: int) -> npt.NDArray[np.intp]:
    """A bin index per value: one bin per distinct value when there are at most ``bins``, else equal width."""
    arr = np.asarray(values, dtype=np.float64)
    distinct = np.unique(arr)
    if distinct.size <= bins:
        return np.searchsorted(distinct, arr)
    edges = np.linspace(arr.min(), arr.max(), bins + 1)[1:-1]
    return np.searchsorted(edges, arr, side="right")


def allocate(sizes: Sequence[int], budget: int) -> list[int]:
    """Equal shares of ``budget`` over bins of ``sizes``, none above its bin's size; what a small bin cannot
    take is shared by the rest, and the indivisible remainder goes to the largest bins (ties: lower index)."""
    take = [0] * len(sizes)
    left = min(budget, sum(sizes))
    open_bins = [b for b, s in enumerate(sizes) if s > 0]
    while left > 0 and open_bins:
        share = left // len(open_bins)
        if share == 0:
            for b in sorted(open_bins, key=lambda b: (-(sizes[b] - take[b]), b))[:left]:
                take[b] += 1
            break
        for b in open_bins:
            step = min(share, sizes[b] - take[b])
            take[b] += step
            left -= step
        open_bins = [b for b in open_bins if take[b] < sizes[b]]
    return take


def _stratified(
    ids: list[str], scores: list[float], sample: int | None, bins: int, rng: np.random.Generator
) -> list[Pick]:
    which = _bins_of(scores, bins)
    members = [[ids[k] for k in np.flatnonzero(which == b)] for b in range(int(which.max()) + 1)]
    sizes = [len(m) for m in members]
    take = allocate(sizes, len(ids) if sample is None else sample)
    drawn = [
        [Pick(id=m[k], probability=t / len(m)) for k in rng.permutation(len(m))[:t]]
        for m, t in zip(members, take, strict=True)
        if t > 0
    ]
    return [picks[r] for r in range(max(len(d) for d in drawn)) for picks in drawn if r < len(picks)]


def _active(
    ids: list[str], uncertainty: FloatArray, sample: int, mix: float | None, rng: np.random.Generator
) -> list[Pick]:
    from judgekit.stats.active import DEFAULT_MIX, active_probabilities

    try:
        pi = active_probabilities(uncertainty, min(sample, len(ids)), DEFAULT_MIX if mix is None else mix)
    except ValueError as err:
        raise ConfigError(f"--select active: {err}") from None
    drawn = np.flatnonzero(rng.random(len(ids)) < pi)
    return [Pick(id=ids[k], probability=float(pi[k])) for k in rng.permutation(drawn)]
