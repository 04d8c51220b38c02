"""Prediction-powered inference for a mean, checked against the ppi-python package and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from judgekit.stats import ppi_lambda, ppi_mean, ppi_mean_from_items
from tests import lazy

ppi_py = lazy.module("ppi_py")

Z95 = 1.959963984540054  # standard normal 97.5% quantile


def _dataset(seed: int, n: int, big_n: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Human labels on n items, the judge's scores on those n and on big_n unlabelled items."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(3.0, 1.0, size=n + big_n)
    if kind == "good":  # tracks the humans, on a shifted and stretched scale
        judge = 0.8 * truth + 1.2 + rng.normal(0, 0.4, size=truth.size)
    elif kind == "noise":  # unrelated to the humans
        judge = rng.normal(2.0, 1.0, size=truth.size)
    elif kind == "inverted":  # anti-correlated: PPI++ must clip lambda to 0
        judge = -truth + rng.normal(0, 0.3, size=truth.size)
    else:  # 1-5 integer labels and a judge that rounds
        truth = np.clip(np.round(truth), 1, 5)
        judge = np.clip(np.round(truth + rng.normal(0.4, 0.8, size=truth.size)), 1, 5)
    human = np.clip(truth[:n] + rng.normal(0, 0.3, size=n), 0, 6) if kind != "likert" else truth[:n]
    return human, judge[:n], judge[n:]


CASES = [
    (0, 50, 1000, "good"),
    (1, 200, 5000, "good"),
    (2, 30, 300, "noise"),
    (3, 80, 2000, "inverted"),
    (4, 120, 1500, "likert"),
    (5, 500, 500, "good"),
    (6, 10, 10_000, "likert"),
]


@pytest.mark.parametrize(("seed", "n", "big_n", "kind"), CASES)
def test_matches_ppi_python_ppi_plus_plus(seed: int, n: int, big_n: int, kind: str) -> None:
    human, judge_l, judge_u = _dataset(seed, n, big_n, kind)
    result = ppi_mean(human, judge_l, judge_u)
    expected = float(np.asarray(ppi_py.ppi_mean_pointestimate(human, judge_l, judge_u)).ravel()[0])
    lo, hi = (
        float(np.asarray(v).ravel()[0]) for v in ppi_py.ppi_mean_ci(human, judge_l, judge_u, alpha=0.05)
    )
    assert result.ppi.estimate == pytest.approx(expected, abs=1e-6)
    assert result.ppi.ci_low == pytest.approx(lo, abs=1e-6)
    assert result.ppi.ci_high == pytest.approx(hi, abs=1e-6)
    assert (result.n_labelled, result.n_unlabelled) == (n, big_n)
    # the human-only mean is ppi-python's classical CLT interval
    c_lo, c_hi = (float(np.asarray(v).ravel()[0]) for v in ppi_py.classical_mean_ci(human, alpha=0.05))
    assert result.human_only.estimate == pytest.approx(float(np.mean(human)), abs=1e-12)
    assert (result.human_only.ci_low, result.human_only.ci_high) == pytest.approx((c_lo, c_hi), abs=1e-9)
    # effective labels: labels a classical interval would need to be as narrow as ppi-python's PPI interval
    se_ppi = (hi - lo) / (2 * Z95)
    assert result.effective_labels == pytest.approx(float(np.var(human)) / se_ppi**2, rel=1e-6)


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_fixed_lambda_matches_ppi_python(lam: float) -> None:
    human, judge_l, judge_u = _dataset(11, 60, 800, "good")
    result = ppi_mean(human, judge_l, judge_u, lam=lam)
    lo, hi = (
        float(np.asarray(v).ravel()[0])
        for v in ppi_py.ppi_mean_ci(human, judge_l, judge_u, alpha=0.05, lam=lam)
    )
    est = float(np.asarray(ppi_py.ppi_mean_pointestimate(human, judge_l, judge_u, lam=lam)).ravel()[0])
    assert result.lam == lam
    assert (result.ppi.estimate, result.ppi.ci_low, result.ppi.ci_high) == pytest.approx(
        (est, lo, hi), abs=1e-6
    )


def test_hand_checked_small_case() -> None:
    # judge = human + 1 on the labelled items; four unlabelled judge scores 2, 4, 6, 8
    human, judge_l, judge_u = [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 6.0, 8.0]
    # lam = 1: estimate = mean(judge_u) + mean(human - judge_l) = 5 - 1 = 4; the rectifier is constant, so
    # se^2 = var(judge_u) / 4 = 5 / 4
    plain = ppi_mean(human, judge_l, judge_u, lam=1.0)
    assert plain.ppi.estimate == pytest.approx(4.0)
    assert plain.ppi.se == pytest.approx(math.sqrt(1.25))
    assert (plain.ppi.ci_low, plain.ppi.ci_high) == pytest.approx(
        (4 - Z95 * math.sqrt(1.25), 4 + Z95 * math.sqrt(1.25))
    )
    # PPI++: cov(human, judge_l) = 1.25 (population); var of all eight judge scores (n - 1) = 29.5 / 7;
    # lam = 1.25 / ((1 + 4/4) * 29.5/7) = 35/236; estimate = 5 lam + 2.5 - 3.5 lam = 2.5 + 1.5 lam
    lam = 35 / 236
    assert ppi_lambda(human, judge_l, judge_u) == pytest.approx(lam)
    tuned = ppi_mean(human, judge_l, judge_u)
    assert tuned.ppi.estimate == pytest.approx(2.5 + 1.5 * lam)
    # judge-only: mean of all eight judge scores, 34 / 8; human-only: 2.5 with se sqrt(1.25 / 4)
    assert tuned.judge_only.estimate == pytest.approx(4.25)
    assert tuned.human_only.estimate == pytest.approx(2.5)
    assert tuned.human_only.se == pytest.approx(math.sqrt(1.25 / 4))


def test_a_good_judge_is_worth_more_labels_than_were_collected() -> None:
    human, judge_l, judge_u = _dataset(21, 100, 20_000, "good")
    result = ppi_mean(human, judge_l, judge_u)
    assert result.effective_labels > 2 * result.n_labelled
    assert result.ppi.ci_high - result.ppi.ci_low < result.human_only.ci_high - result.human_only.ci_low
    noise = ppi_mean(*_dataset(22, 100, 20_000, "inverted"))
    assert noise.lam == 0.0
    assert noise.effective_labels == pytest.approx(noise.n_labelled)


def test_intervals_cover_the_human_mean_at_the_nominal_rate() -> None:
    # Finite population: 2,000 items, every one with a judge score and a (normally hidden) human label.
    rng = np.random.default_rng(7)
    truth = rng.normal(3.0, 1.0, size=2000)
    judge = 0.7 * truth + 1.5 + rng.normal(0, 0.5, size=truth.size)
    target = float(truth.mean())
    hits = 0
    reps = 600
    for _ in range(reps):
        labelled = np.zeros(truth.size, dtype=bool)
        labelled[rng.choice(truth.size, size=80, replace=False)] = True
        r = ppi_mean(truth[labelled], judge[labelled], judge[~labelled])
        hits += r.ppi.ci_low <= target <= r.ppi.ci_high
    assert 0.91 <= hits / reps <= 0.99


def test_from_items_splits_labelled_and_unlabelled() -> None:
    human, judge_l, judge_u = _dataset(31, 40, 400, "good")
    judge = np.concatenate([judge_l, judge_u])
    labels = np.concatenate([human, np.full(judge_u.size, np.nan)])
    order = np.random.default_rng(0).permutation(judge.size)
    result = ppi_mean_from_items(judge[order], labels[order])
    assert result.ppi.estimate == pytest.approx(ppi_mean(human, judge_l, judge_u).ppi.estimate, abs=1e-12)


def test_label_without_judge_score_is_an_error() -> None:
    with pytest.raises(ValueError, match="human label but no judge score"):
        ppi_mean_from_items([1.0, np.nan, 3.0, 2.0], [1.0, 2.0, np.nan, np.nan])


@pytest.mark.parametrize(
    ("human", "judge_l", "judge_u", "message"),
    [
        ([1.0], [1.0], [1.0, 2.0], "at least two labelled"),
        ([1.0, 2.0], [1.0, 2.0], [], "nobody labelled"),
        ([1.0, 2.0], [1.0], [1.0], "2 human labels but 1 judge"),
        ([1.0, np.nan], [1.0, 2.0], [1.0], "NaN"),
    ],
)
def test_bad_input(human: list[float], judge_l: list[float], judge_u: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ppi_mean(human, judge_l, judge_u)
