"""LLMBar's published accuracy and positional agreement, reproduced from its recorded verdicts through
judgekit's pairwise aggregation: the same code that turns the `pairwise` rubric's order units into a score
file (order scores -> verdicts mapped back -> pair outcome -> file summary with label agreement).

Data: the LLMBar copy in tests/data/agreement/llmbar_pairwise/ (shared with test_agreement.py; source and
MIT licence in its README.txt): per configuration the winners of both orders in the original numbering
(null = no valid verdict, counted as wrong), and the published statistics.json figures for all 499.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from typing import Any

import numpy as np
import pytest

from judgekit.data import Item
from judgekit.results import AspectResult
from judgekit.rubric import load_rubric
from judgekit.scoring.aggregate import aggregate_details, file_summaries
from judgekit.scoring.pairwise import summarize_pairs
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "agreement" / "llmbar_pairwise"


@cache
def llmbar() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    with gzip.open(DATA / "judgments_compact.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with gzip.open(DATA / "statistics_all.json.gz", "rt", encoding="utf-8") as fh:
        published = json.load(fh)
    return rows, published


def count(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+) / (\d+) = ([\d.]+)%", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def order_units(original: str | None, swapped: str | None) -> dict[str, AspectResult]:
    """The `pairwise` rubric's two order units for one pair, as the judge would have scored them.

    Scores are the preference for the response shown first (1 first, 0 second); the swapped order showed
    output 2 first, so a recorded swapped winner "1" (original numbering) is a 0 there. No verdict: unscored.
    """

    def unit(order: str, first_won: bool | None) -> AspectResult:
        if first_won is None:
            return AspectResult(aspect=order, score=None, status="unscored", reason="no valid verdict")
        return AspectResult(aspect=order, score=1.0 if first_won else 0.0)

    return {
        "original": unit("original", None if original is None else original == "1"),
        "swapped": unit("swapped", None if swapped is None else swapped == "2"),
    }


def through_judgekit(row: dict[str, Any]) -> dict[str, Any]:
    """A LLMBar configuration's recorded verdicts through judgekit's aggregation, as in a score file."""
    spec = load_rubric("pairwise").spec
    ids = [str(n) for n in range(1, len(row["labels"]) + 1)]
    items = [Item(id=i, fields={"label": label}) for i, label in zip(ids, row["labels"], strict=True)]
    by_item = {
        i: order_units(o, s)
        for i, o, s in zip(ids, row["winner_swap_false"], row["winner_swap_true"], strict=True)
    }
    _, questions, _, _ = aggregate_details(spec, items, by_item)
    summary: dict[str, Any] = file_summaries(spec, items, questions, n_boot=0)["pairwise"]
    return summary


def test_all_499_configurations() -> None:
    rows, published = llmbar()
    assert len(rows) == len(published) == 499
    for r in rows:
        pub = published[f"{r['subset']}|{r['evaluator']}|{r['strategy']}"]
        got = through_judgekit(r)["labels"]
        for field, correct, rate in (
            ("correct_False", "correct_original", "accuracy_original"),
            ("correct_True", "correct_swapped", "accuracy_swapped"),
            ("correct_both", "correct_both", "accuracy_both"),
        ):
            k, n = count(pub[field])
            assert (got[correct], got["n"]) == (k, n), (field, pub)
            assert 100 * got[rate] == pytest.approx(100 * k / n, rel=1e-12)
        assert 100 * got["accuracy"] == pytest.approx(
            float(pub["correct_average"].rstrip("%")), abs=0.05 + 1e-9
        )
        # LLMBar's "equal" compares the raw winners, so two invalid verdicts count as agreeing; judgekit's
        # positional agreement does not, and reports the both-invalid pairs beside it.
        equal, n = count(pub["equal"])
        assert got["agree"] + got["both_invalid"] == equal
        direct = summarize_pairs(
            r["winner_swap_false"], r["winner_swap_true"], r["labels"], invalid_agree=True, n_boot=0
        )["labels"]
        assert direct["agree"] == equal and 100 * direct["positional_agreement"] == pytest.approx(
            100 * equal / n
        )


PAPER = [  # from the data README: GPT-4 / ChatGPT accuracy on Natural, Neighbor, GPTInst, GPTOut, Manual
    ("GPT-4", "Vanilla_NoRules", [93.5, 64.2, 76.6, 76.6, 75.0], 73.1),
    ("GPT-4", "Metrics_Reference", [96.0, 85.4, 89.7, 72.3, 83.7], 82.8),
    ("ChatGPT", "Vanilla_NoRules", [79.0, 17.9, 29.3, 43.6, 37.0], 32.0),
]
SUBSETS = (
    "Natural",
    "Adversarial/Neighbor",
    "Adversarial/GPTInst",
    "Adversarial/GPTOut",
    "Adversarial/Manual",
)


@pytest.mark.parametrize(("evaluator", "strategy", "accuracies", "adversarial"), PAPER)
def test_paper_table(evaluator: str, strategy: str, accuracies: list[float], adversarial: float) -> None:
    rows, _ = llmbar()
    by_key = {(r["subset"], r["evaluator"], r["strategy"]): r for r in rows}
    got = [
        100 * through_judgekit(by_key[(f"LLMBar/{s}", evaluator, strategy)])["labels"]["accuracy"]
        for s in SUBSETS
    ]
    for value, paper in zip(got, accuracies, strict=True):
        assert abs(value - paper) <= 0.05 + 1e-9
    assert abs(float(np.mean(got[1:])) - adversarial) <= 0.05 + 1e-9  # unweighted mean of the 4 subsets


def test_human_labelled_sets_positional_agreement() -> None:
    # GPT-4 Vanilla_NoRules on FairEval / LLMEval^2 / MT-Bench: acc. 72.73 / 75.5 / 81.0, agr. 69.70 / 87.5 / 87.0
    rows, _ = llmbar()
    by_key = {(r["subset"], r["evaluator"], r["strategy"]): r for r in rows}
    for subset, acc, agr in (("FairEval", 72.73, 69.70), ("LLMEval^2", 75.5, 87.5), ("MT-Bench", 81.0, 87.0)):
        summary = through_judgekit(by_key[(f"Processed/{subset}", "GPT-4", "Vanilla_NoRules")])
        labels = summary["labels"]
        assert abs(100 * labels["accuracy"] - acc) <= 0.005 + 1e-9
        n = labels["n"]
        assert abs(100 * (labels["agree"] + labels["both_invalid"]) / n - agr) <= 0.005 + 1e-9
        # the score-file view of the same pairs: position consistency over the pairs with both verdicts
        assert summary["position_consistency"]["value"] == pytest.approx(labels["agree"] / summary["judged"])
