"""``judgekit.label.selection``: which items to offer for labelling, and each one's selection probability.

Expected orders, counts and probabilities are worked out by hand in each test; where a probability is a
design's inclusion probability, it is also checked against how often the item is drawn over many seeds
(within five binomial standard errors, so the check does not flake).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgekit.errors import ConfigError, InputError
from judgekit.label import JudgeView, Pick, judge_views, plan_selection
from judgekit.label.selection import allocate

IDS = [f"q{k:02d}" for k in range(20)]


def views(scores: list[float | None], uncertainty: list[float | None] | None = None) -> dict[str, JudgeView]:
    unc = uncertainty or [None] * len(scores)
    return {
        f"q{k:02d}": JudgeView(score=s, uncertainty=u)
        for k, (s, u) in enumerate(zip(scores, unc, strict=True))
    }


def test_random_offers_n_distinct_items_each_with_probability_n_over_big_n() -> None:
    picks = plan_selection(IDS, "random", 5, seed=3, judge=None)
    assert len(picks) == 5 and len({p.id for p in picks}) == 5 and {p.id for p in picks} <= set(IDS)
    assert all(p.probability == pytest.approx(5 / 20) for p in picks)
    assert picks == plan_selection(IDS, "random", 5, seed=3, judge=None)  # seeded
    assert [p.id for p in picks] != [p.id for p in plan_selection(IDS, "random", 5, seed=4, judge=None)]


def test_random_without_sample_is_every_item_in_a_shuffled_order() -> None:
    picks = plan_selection(IDS, "random", None, seed=0, judge=None)
    assert sorted(p.id for p in picks) == IDS and [p.id for p in picks] != IDS
    assert all(p.probability == 1.0 for p in picks)


def test_random_needs_no_scores_and_ignores_them() -> None:
    assert plan_selection(IDS, "random", 4, 9, None) == plan_selection(IDS, "random", 4, 9, views([1.0] * 20))


@pytest.mark.parametrize(
    ("sizes", "budget", "expected"),
    [
        ([4, 4, 4, 4, 4], 8, [2, 2, 2, 1, 1]),  # 1 each, then the 3 left go to the first (equal-size) bins
        ([1, 10, 10], 10, [1, 5, 4]),  # 3 each but bin 0 holds 1: [1, 3, 3]; 3 left: 1 each, then bin 1
        ([3, 3, 3], 4, [2, 1, 1]),
        ([0, 5], 3, [0, 3]),
        ([2, 2], 10, [2, 2]),  # budget above the items: everything
    ],
)
def test_allocate_equal_shares(sizes: list[int], budget: int, expected: list[int]) -> None:
    assert allocate(sizes, budget) == expected


def test_stratified_takes_equal_counts_per_score_bin_round_robin() -> None:
    # Judge scores 1..5, four items each (item k has score k % 5 + 1): five bins of four.
    judge = views([float(k % 5 + 1) for k in range(20)])
    picks = plan_selection(IDS, "stratified", 10, seed=1, judge=judge)
    score = {i: judge[i].score for i in IDS}
    assert [score[p.id] for p in picks] == [1.0, 2.0, 3.0, 4.0, 5.0] * 2  # two per bin, bins in turn
    assert all(p.probability == pytest.approx(2 / 4) for p in picks)


def test_stratified_probabilities_are_the_inclusion_probabilities() -> None:
    # 2 items scored 0, 6 scored 1, 12 scored 2; budget 9 -> 3 per bin, but bin 0 holds only 2: [2, 3, 3];
    # the one label left goes to the bin with most items left (bin 2): [2, 3, 4]. Probabilities 2/2, 3/6,
    # 4/12.
    scores = [0.0] * 2 + [1.0] * 6 + [2.0] * 12
    judge = views(scores)  # type: ignore[arg-type]
    expected = {0.0: 1.0, 1.0: 3 / 6, 2.0: 4 / 12}
    counts = dict.fromkeys(IDS, 0)
    rounds = 3000
    for seed in range(rounds):
        picks = plan_selection(IDS, "stratified", 9, seed=seed, judge=judge)
        assert len(picks) == 9
        for p in picks:
            assert p.probability == pytest.approx(expected[scores[IDS.index(p.id)]])
            counts[p.id] += 1
    for k, i in enumerate(IDS):
        pi = expected[scores[k]]
        assert abs(counts[i] / rounds - pi) <= 5 * math.sqrt(pi * (1 - pi) / rounds) + 1e-12


def test_stratified_uses_equal_width_bins_for_many_distinct_scores() -> None:
    # Scores 0.0 .. 0.95 in 0.05 steps, 2 bins -> [0, 0.475) and [0.475, 0.95]: ten items each.
    judge = views([k * 0.05 for k in range(20)])
    picks = plan_selection(IDS, "stratified", 4, seed=2, judge=judge, bins=2)
    low = [p for p in picks if (judge[p.id].score or 0) < 0.475]
    assert len(low) == 2 and all(p.probability == pytest.approx(2 / 10) for p in picks)


def test_stratified_and_active_leave_out_items_the_judge_did_not_score() -> None:
    scores: list[float | None] = [1.0, 2.0] * 9 + [None, None]
    judge = views(scores, [0.5] * 20)
    for strategy in ("stratified", "active"):
        picks = plan_selection(IDS, strategy, 18, seed=0, judge=judge)  # type: ignore[arg-type]
        assert {p.id for p in picks} <= set(IDS[:18])


def test_uncertain_puts_unscored_items_then_the_most_uncertain_first() -> None:
    unc = [0.1 * k for k in range(20)]
    scores: list[float | None] = [3.0] * 20
    scores[4] = None
    judge = views(scores, unc)  # type: ignore[arg-type]
    picks = plan_selection(IDS, "uncertain", 4, seed=0, judge=judge)
    assert [p.id for p in picks] == ["q04", "q19", "q18", "q17"]
    assert all(p.probability == 1.0 for p in picks)


def test_uncertain_fills_a_missing_uncertainty_with_the_median() -> None:
    # Uncertainties 0, 1, 2, 3 and one unknown: median 1.5 ranks it between 2 and 1.
    judge = {
        "a": JudgeView(score=1, uncertainty=0),
        "b": JudgeView(score=1, uncertainty=1),
        "c": JudgeView(score=1, uncertainty=2),
        "d": JudgeView(score=1, uncertainty=3),
        "e": JudgeView(score=1),
    }
    picks = plan_selection(list("abcde"), "uncertain", None, seed=0, judge=judge)
    assert [p.id for p in picks] == ["d", "c", "e", "b", "a"]


def test_active_probabilities_follow_uncertainty_mixed_with_uniform() -> None:
    # 4 items, uncertainty 1, 1, 2, 4 (sum 8), budget 2, mix 0.2:
    # pi = 2 * (0.2 / 4 + 0.8 * u / 8) = 0.1 + 0.2 u -> 0.3, 0.3, 0.5, 0.9 (sum 2).
    judge = {f"x{k}": JudgeView(score=1.0, uncertainty=u) for k, u in enumerate([1.0, 1.0, 2.0, 4.0])}
    expected = {"x0": 0.3, "x1": 0.3, "x2": 0.5, "x3": 0.9}
    counts = dict.fromkeys(expected, 0)
    rounds = 4000
    for seed in range(rounds):
        for p in plan_selection(list(judge), "active", 2, seed=seed, judge=judge, mix=0.2):
            assert p.probability == pytest.approx(expected[p.id])
            counts[p.id] += 1
    for i, pi in expected.items():
        assert abs(counts[i] / rounds - pi) <= 5 * math.sqrt(pi * (1 - pi) / rounds)


def test_active_clips_at_one_and_gives_the_excess_to_the_others() -> None:
    # Uncertainty 0, 0, 0, 10, budget 2, mix 0.2: unclipped 0.1, 0.1, 0.1, 1.7 -> item 3 gets 1; the
    # remaining budget 1 is shared by the three equal weights: 1/3 each.
    judge = {f"x{k}": JudgeView(score=1.0, uncertainty=u) for k, u in enumerate([0.0, 0.0, 0.0, 10.0])}
    probs: dict[str, float] = {}
    for seed in range(50):
        probs.update({p.id: p.probability for p in plan_selection(list(judge), "active", 2, seed, judge)})
    assert probs == pytest.approx({"x0": 1 / 3, "x1": 1 / 3, "x2": 1 / 3, "x3": 1.0})


def test_the_plan_is_the_same_for_the_same_seed() -> None:
    judge = views([float(k % 3) for k in range(20)], [float(k % 7) for k in range(20)])
    for strategy in ("random", "stratified", "uncertain", "active"):
        a = plan_selection(IDS, strategy, 6, seed=11, judge=judge)  # type: ignore[arg-type]
        assert a == plan_selection(IDS, strategy, 6, seed=11, judge=judge)  # type: ignore[arg-type]
        assert all(isinstance(p, Pick) for p in a)


@pytest.mark.parametrize("strategy", ["stratified", "uncertain", "active"])
def test_strategies_reading_the_judge_need_scores(strategy: str) -> None:
    with pytest.raises(InputError, match=f"--select {strategy} needs the judge's scores: pass --scores") as e:
        plan_selection(IDS, strategy, 5, seed=0, judge=None)  # type: ignore[arg-type]
    assert e.value.exit_code == 2 and "\n" not in str(e.value)


def test_errors() -> None:
    judge = views([1.0] * 20, [0.5] * 20)
    with pytest.raises(ConfigError, match="--select active needs --sample"):
        plan_selection(IDS, "active", None, 0, judge)
    with pytest.raises(ConfigError, match="--sample must be at least 1"):
        plan_selection(IDS, "random", 0, 0, None)
    with pytest.raises(ConfigError, match="--select must be one of"):
        plan_selection(IDS, "smart", 3, 0, judge)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no judge score for any of the items"):
        plan_selection(IDS, "stratified", 3, 0, {"other": JudgeView(score=1.0)})
    with pytest.raises(InputError, match="needs the judge's uncertainty"):
        plan_selection(IDS, "active", 3, 0, views([1.0] * 20))
    with pytest.raises(InputError, match="ids repeat"):
        plan_selection(["a", "a"], "random", 1, 0, None)


def _score_file(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "score": None,
        "per_question_scores": questions,
        "coverage": {"scored": 0, "total": 0, "ratio": 0.0},
    }


def test_judge_views_from_a_score_file(tmp_path: Path) -> None:
    questions = [
        # --samples 2: aspect samples 2 and 4 -> sd sqrt(2); one aspect -> sqrt(2) / 1
        {"id": "s", "score": 3.0, "details": [{"aspect": "a", "score": 3.0, "samples": [2.0, 4.0]}]},
        # two aspects with sds sqrt(2) and 0 -> sqrt(2 + 0) / 2
        {
            "id": "two",
            "score": 2.5,
            "details": [
                {"aspect": "a", "score": 3.0, "samples": [2.0, 4.0]},
                {"aspect": "b", "score": 2.0, "samples": [2.0, 2.0]},
            ],
        },
        # logprob-weighted 2.0 on 1-5: sqrt((2 - 1) * (5 - 2)) = sqrt(3)
        {"id": "lp", "score": 2.0, "details": [{"aspect": "a", "score": 2.0, "method": "logprob_weighted"}]},
        # a panel: the judges' scores are the unit's samples (one judge unscored)
        {
            "id": "panel",
            "score": 4.0,
            "details": [{"aspect": "a", "score": 4.0, "samples": [3.0, 5.0, None], "judges": {}}],
        },
        {"id": "plain", "score": 1.0, "details": [{"aspect": "a", "score": 1.0, "samples": [1.0]}]},
        {"id": "none", "score": None, "details": [{"aspect": "a", "score": None, "status": "unscored"}]},
    ]
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(_score_file(questions)))
    got = judge_views(path, scale=(1.0, 5.0))
    assert (got["s"].score, got["s"].uncertainty, got["s"].source) == (
        3.0,
        pytest.approx(math.sqrt(2)),
        "samples",
    )
    assert got["two"].uncertainty == pytest.approx(math.sqrt(2) / 2)
    assert (got["lp"].score, got["lp"].uncertainty, got["lp"].source) == (
        2.0,
        pytest.approx(math.sqrt(3)),
        "logprob",
    )
    assert got["panel"].uncertainty == pytest.approx(math.sqrt(2))
    assert got["plain"] == JudgeView(score=1.0)
    assert got["none"] == JudgeView(score=None)
    assert judge_views(path)["lp"].uncertainty is None  # no scale: no logprob bound


def test_judge_views_of_a_broken_score_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "scores.json"
    path.write_text("{not json")
    with pytest.raises(InputError) as e:
        judge_views(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_end_to_end_from_a_score_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    questions = [
        {
            "id": f"q{k}",
            "score": 3.0,
            "details": [{"aspect": "a", "score": 3.0, "samples": [3.0, 3.0 + (k % 4)]}],
        }
        for k in range(40)
    ]
    rng.shuffle(questions)  # type: ignore[arg-type]
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(_score_file(questions)))
    judge = judge_views(path)
    picks = plan_selection([f"q{k}" for k in range(40)], "uncertain", 10, seed=0, judge=judge)
    # samples [3, 6] (k % 4 == 3) have the largest spread: those ten come first
    assert sorted(int(p.id[1:]) % 4 for p in picks) == [3] * 10


def test_judge_views_of_pairs_use_the_two_orders(tmp_path: Path) -> None:
    # Verdict scores: "1" -> 1, "tie" -> 0.5, "2" -> 0. Orders 1 and tie: sd of (1, 0.5) = 0.5 / sqrt(2).
    def pair(pid: str, score: float | None, original: str | None, swapped: str | None) -> dict[str, Any]:
        return {
            "id": pid,
            "score": score,
            "details": [{"aspect": "original", "score": 4.0}, {"aspect": "swapped", "score": 2.0}],
            # where judgekit writes a pair's two verdicts (see tests/data/forward/pairwise.json)
            "pairwise": {
                "original": original,
                "swapped": swapped,
                "combined": None,
                "consistent": original == swapped,
            },
        }

    path = tmp_path / "pairs.json"
    questions = [
        pair("agree", 1.0, "1", "1"),
        pair("half", 0.5, "1", "tie"),
        pair("flip", None, "1", "2"),
        pair("missing", None, "1", None),
    ]
    path.write_text(json.dumps(_score_file(questions)))
    got = judge_views(path)
    assert (got["agree"].uncertainty, got["agree"].source) == (0.0, "orders")
    assert got["half"].uncertainty == pytest.approx(0.5 / math.sqrt(2))
    flip = got["flip"]
    assert (flip.score, flip.uncertainty, flip.source) == (None, pytest.approx(1 / math.sqrt(2)), "orders")
    assert got["missing"] == JudgeView(score=None)
    # uncertain: the pairs the judge could not settle first, then the half-consistent one
    picks = plan_selection(["agree", "half", "flip", "missing"], "uncertain", None, 0, got)
    assert [p.id for p in picks][2:] == ["half", "agree"]


def test_uncertain_reads_the_two_orders_of_a_pairwise_score_file_judgekit_wrote(tmp_path: Path) -> None:
    # A real pairwise run's score file (tests/data/forward/pairwise.json, written by `judgekit score`, its
    # run time blanked there): p1 was judged "1" then "2" (the orders disagree: sd of (1, 0) = 1 / sqrt(2));
    # p2, p3 and p4 agree (0).
    data = json.loads((Path(__file__).parent / "data" / "forward" / "pairwise.json").read_text())
    data["totals"]["wall_time_s"] = 1.0
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(data))
    views = judge_views(path)
    assert views["p1"].source == "orders"
    assert views["p1"].uncertainty == pytest.approx(1 / math.sqrt(2))
    assert [views[p].uncertainty for p in ("p2", "p3", "p4")] == [0.0, 0.0, 0.0]
    picks = plan_selection(["p2", "p3", "p1", "p4"], "uncertain", 1, 0, views)
    assert [p.id for p in picks] == ["p1"]
