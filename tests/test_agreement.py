"""judgekit.stats (agreement statistics): published figures reproduced from external data, and the vectorised bootstrap.

Expected values are always read from the external files in tests/data/agreement/ (see its README), never
computed by our code: the Krippendorff / Cohen textbook cases, UniEval's pooled correlations, all 2,592
HANNA story- and system-level correlations, and LLMBar's accuracy / positional agreement for all 499
evaluator x strategy x subset configurations plus the paper's adversarial averages.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from judgekit import stats as ag

DATA = Path(__file__).parent / "data" / "agreement"


# ---------------------------------------------------------------------------------------------------------
# Textbook cases (agreement_reference/cases.json)
# ---------------------------------------------------------------------------------------------------------


def _cases(kind: str) -> list[dict[str, Any]]:
    cases = json.loads((DATA / "agreement_reference" / "cases.json").read_text())["cases"]
    return [c for c in cases if c["kind"] == kind]


@pytest.mark.parametrize("case", _cases("krippendorff_alpha"), ids=lambda c: c["name"])
def test_krippendorff_textbook(case: dict[str, Any]) -> None:
    exp = case["expected"]
    tol = exp["tol"]
    got = ag.alpha_details(case["data_coders_by_units"], case["level"])
    assert abs(got.alpha - exp["alpha"]) <= tol
    assert abs(ag.krippendorff_alpha(case["data_coders_by_units"], case["level"]) - exp["alpha"]) <= tol
    if "D_o" in exp:
        assert abs(got.d_o - exp["D_o"]) <= tol
    if "D_e" in exp:
        assert abs(got.d_e - exp["D_e"]) <= tol
    if "percent_agreement" in exp:
        assert abs(got.percent_agreement - exp["percent_agreement"]) <= tol
    # the vectorised bootstrap form agrees with the package when every unit has weight 1
    plan = ag.WeightedAlpha(case["data_coders_by_units"], ag.ALPHA_LEVELS)
    n_units = len(case["data_coders_by_units"][0])
    if plan.available:
        assert plan(np.ones(n_units))[case["level"]][0] == pytest.approx(got.alpha, abs=1e-12)


@pytest.mark.parametrize("case", _cases("cohen_kappa"), ids=lambda c: c["name"])
def test_cohen_textbook(case: dict[str, Any]) -> None:
    exp = case["expected"]
    tol = exp["tol"]
    a, b = case["data_coders_by_units"]
    got = ag.cohen_kappa(a, b)
    assert abs(got.kappa - exp["kappa"]) <= tol
    for key, value in (
        ("p_o", got.p_o),
        ("p_e", got.p_e),
        ("scott_pi", got.scott_pi),
        ("percent_agreement", got.p_o),
    ):
        if key in exp:
            assert abs(value - exp[key]) <= tol, key
    if "krippendorff_alpha_nominal" in exp:
        assert abs(ag.krippendorff_alpha([a, b], "nominal") - exp["krippendorff_alpha_nominal"]) <= tol


def test_weighted_kappa_matches_definition() -> None:
    # Weighted kappa from its definition on a small table (linear and quadratic disagreement weights).
    a = [1, 2, 3, 3, 2, 1, 4, 4, 2, 3]
    b = [1, 3, 3, 2, 2, 1, 4, 3, 1, 3]
    table = np.zeros((4, 4))
    for x, y in zip(a, b, strict=True):
        table[x - 1, y - 1] += 1
    p = table / table.sum()
    e = np.outer(p.sum(1), p.sum(0))
    idx = np.arange(4)
    for name, w in (("linear", np.abs(idx[:, None] - idx)), ("quadratic", (idx[:, None] - idx) ** 2)):
        expected = 1 - (w * p).sum() / (w * e).sum()
        assert ag.cohen_kappa(a, b, weights=name, categories=[1, 2, 3, 4]).kappa == pytest.approx(expected)
    # bootstrap form with unit weights equals the point value
    wk = ag.WeightedKappa(np.array(a) - 1, np.array(b) - 1, 4)(np.ones(len(a)))
    assert wk["quadratic"][0] == pytest.approx(
        ag.cohen_kappa(a, b, weights="quadratic", categories=[1, 2, 3, 4]).kappa
    )


# ---------------------------------------------------------------------------------------------------------
# UniEval pooled correlations (unieval_predictions/)
# ---------------------------------------------------------------------------------------------------------


def _unieval_cases() -> list[tuple[str, str, list[float]]]:
    expected = json.loads((DATA / "unieval_predictions" / "expected.json").read_text())
    return [
        (name, dim, vals)
        for name, dims in expected["published_pearson_spearman_kendall"].items()
        for dim, vals in dims.items()
    ]


@cache
def _unieval(name: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / "unieval_predictions" / f"{name}.gz", "rt", encoding="utf-8") as fh:
        data: list[dict[str, Any]] = json.load(fh)
    return data


@pytest.mark.parametrize(("name", "dim", "published"), _unieval_cases(), ids=lambda v: str(v)[:24])
def test_unieval_pooled(name: str, dim: str, published: list[float]) -> None:
    items = _unieval(name)
    judge = [it["predict_scores"][dim] for it in items]
    human = [it["scores"][dim] for it in items]
    got = ag.correlations(judge, human)
    # published as round(x, 6)
    for method, value in zip(ag.METHODS, published, strict=True):
        assert abs(got[method] - value) <= 5e-7 + 1e-12, method
    n_items = json.loads((DATA / "unieval_predictions" / "expected.json").read_text())["n_items"]
    assert len(items) == n_items[name.split("_result")[0]]


# ---------------------------------------------------------------------------------------------------------
# HANNA story-level (per prompt, averaged) and system-level correlations: all 2,592 published values
# ---------------------------------------------------------------------------------------------------------

CRITERIA = ("Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity")


@cache
def _hanna() -> dict[str, dict[str, list[float]]]:
    """column -> system -> 96 values (the Human row excluded, as the published rankings do)."""
    csv.field_size_limit(10**9)
    with gzip.open(
        DATA / "hanna_story_eval" / "hanna_metric_scores_llm.csv.gz", "rt", encoding="utf-8"
    ) as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        if row["Model"] == "Human":
            continue
        for col, cell in row.items():
            if col != "Model":
                out.setdefault(col, {})[row["Model"]] = json.loads(cell)
    return out


def _published(level: str, method: str) -> dict[tuple[str, str], float]:
    path = DATA / "hanna_story_eval" / "published_rankings" / f"{level}_{method}.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {(r["Model"], c.split("_")[0]): float(r[c]) for r in rows for c in r if c != "Model"}


def test_hanna_all_published_correlations() -> None:
    data = _hanna()
    systems = list(next(iter(data.values())))
    sys_labels = [s for s in systems for _ in range(96)]
    prompts = [p for _ in systems for p in range(96)]
    checked = 0
    for method in ag.METHODS:
        story = _published("story", method)
        system = _published("system", method)
        assert len(story) == len(system) == 72 * 6
        metrics = sorted({m for m, _ in story})
        for metric in metrics:
            x = np.concatenate([data[metric][s] for s in systems])
            for crit in CRITERIA:
                y = np.concatenate([data[crit][s] for s in systems])
                got_story = abs(ag.group_averaged_correlations(x, y, prompts)[method])
                got_system = abs(ag.system_correlations(x, y, sys_labels)[method])
                assert got_story == pytest.approx(story[(metric, crit)], abs=1e-9), (method, metric, crit)
                assert got_system == pytest.approx(system[(metric, crit)], abs=1e-9), (method, metric, crit)
                checked += 2
    assert checked == 2592


def test_hanna_readme_examples() -> None:
    expected = json.loads((DATA / "hanna_story_eval" / "expected.json").read_text())
    data = _hanna()
    systems = list(data["Relevance"])
    prompts = [p for _ in systems for p in range(96)]
    sys_labels = [s for s in systems for _ in range(96)]
    names = {c.split(" Ξ")[0].split(" ¤")[0]: c for c in data}
    for level, key in (("story", "examples_story_kendall"), ("system", "examples_system_kendall")):
        for pair, value in expected[key].items():
            metric, crit = pair.split("/")
            col = names[
                metric.replace("ROUGE-1 F", "ROUGE-1 F-Score").replace("ROUGE-L F", "ROUGE-L F-Score")
            ]
            x = np.concatenate([data[col][s] for s in systems])
            y = np.concatenate([data[crit][s] for s in systems])
            if level == "story":
                got = ag.group_averaged_correlations(x, y, prompts)["kendall"]
            else:
                got = ag.system_correlations(x, y, sys_labels)["kendall"]
            digits = len(str(value).split(".")[1])
            assert abs(abs(got) - value) <= 0.5 * 10**-digits + 1e-12, pair


# ---------------------------------------------------------------------------------------------------------
# LLMBar pairwise: accuracy per order, average, both-correct and positional agreement for all 499 configs
# ---------------------------------------------------------------------------------------------------------


@cache
def _llmbar() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    with gzip.open(DATA / "llmbar_pairwise" / "judgments_compact.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with gzip.open(DATA / "llmbar_pairwise" / "statistics_all.json.gz", "rt", encoding="utf-8") as fh:
        published = json.load(fh)
    return rows, published


def _count(text: str) -> tuple[int, int, float]:
    m = re.fullmatch(r"(\d+) / (\d+) = ([\d.]+)%", text)
    assert m, text
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def test_llmbar_all_configs() -> None:
    rows, published = _llmbar()
    assert len(rows) == len(published) == 499
    kappa_checked = 0
    for r in rows:
        pub = published[f"{r['subset']}|{r['evaluator']}|{r['strategy']}"]
        got = ag.pairwise_agreement(
            r["winner_swap_false"], r["winner_swap_true"], r["labels"], invalid_agree=True
        )
        for field, count, rate in (
            ("correct_False", got.correct_original, got.accuracy_original),
            ("correct_True", got.correct_swapped, got.accuracy_swapped),
            ("correct_both", got.correct_both, got.accuracy_both),
            ("equal", got.agree, got.positional_agreement),
        ):
            k, n, pct = _count(pub[field])
            assert (count, got.n) == (k, n), field
            assert rate is not None and 100 * rate == pytest.approx(pct, rel=1e-12), field
        assert 100 * got.accuracy == pytest.approx(float(pub["correct_average"].rstrip("%")), rel=1e-12)
        strict = ag.pairwise_agreement(r["winner_swap_false"], r["winner_swap_true"], r["labels"])
        assert strict.agree is not None and got.both_invalid is not None
        assert strict.agree == _count(pub["equal"])[0] - got.both_invalid
        # kappa_agreement (False- vs True-order winners) is a valid binary kappa when every verdict is valid;
        # the kappa_False / kappa_True fields are not (see the README) and are not reproduced.
        if None not in r["winner_swap_false"] and None not in r["winner_swap_true"]:
            assert got.kappa_positional == pytest.approx(pub["kappa_agreement"], abs=1e-9)
            kappa_checked += 1
    assert kappa_checked > 350  # the configurations with no invalid verdict


def _readme_table() -> list[tuple[str, str, list[float], float]]:
    text = (DATA / "llmbar_pairwise" / "README.txt").read_text(encoding="utf-8")
    out = []
    pattern = r"^\s+(\S+) (\w+)\s.*?([\d.]+) / ([\d.]+) / ([\d.]+) / ([\d.]+) / ([\d.]+)\s+adv ([\d.]+)"
    for m in re.finditer(pattern, text, re.M):
        out.append((m.group(1), m.group(2), [float(m.group(k)) for k in range(3, 8)], float(m.group(8))))
    assert len(out) == 3
    return out


SUBSETS = (
    "LLMBar/Natural",
    "LLMBar/Adversarial/Neighbor",
    "LLMBar/Adversarial/GPTInst",
    "LLMBar/Adversarial/GPTOut",
    "LLMBar/Adversarial/Manual",
)


@pytest.mark.parametrize(("evaluator", "strategy", "accuracies", "adversarial"), _readme_table())
def test_llmbar_paper_averages(
    evaluator: str, strategy: str, accuracies: list[float], adversarial: float
) -> None:
    rows, _ = _llmbar()
    by_key = {(r["subset"], r["evaluator"], r["strategy"]): r for r in rows}
    got = []
    for subset in SUBSETS:
        r = by_key[(subset, evaluator, strategy)]
        got.append(
            100 * ag.pairwise_agreement(r["winner_swap_false"], r["winner_swap_true"], r["labels"]).accuracy
        )
    for value, published in zip(got, accuracies, strict=True):
        assert abs(value - published) <= 0.05 + 1e-9
    # the paper's Adversarial column is the unweighted mean of the four adversarial subsets
    assert abs(float(np.mean(got[1:])) - adversarial) <= 0.05 + 1e-9


def test_llmbar_human_labelled_sets() -> None:
    text = (DATA / "llmbar_pairwise" / "README.txt").read_text(encoding="utf-8")
    line = re.search(r"GPT-4 Vanilla_NoRules acc\./agr\.: (.*)", text)
    assert line
    rows, _ = _llmbar()
    by_key = {(r["subset"], r["evaluator"], r["strategy"]): r for r in rows}
    found = re.findall(r"(FairEval|LLMEval\^2|MT-Bench) (\d+\.\d+)/(\d+\.\d+)", line.group(1))
    assert len(found) == 3
    for name, acc, agr in found:
        r = by_key[(f"Processed/{name}", "GPT-4", "Vanilla_NoRules")]
        got = ag.pairwise_agreement(
            r["winner_swap_false"], r["winner_swap_true"], r["labels"], invalid_agree=True
        )
        digits = len(acc.split(".")[1])
        assert abs(100 * got.accuracy - float(acc)) <= 0.5 * 10**-digits + 1e-9
        assert got.positional_agreement is not None
        assert abs(100 * got.positional_agreement - float(agr)) <= 0.5 * 10**-digits + 1e-9


def test_pairwise_kappa_uses_a_correct_encoding() -> None:
    # LLMBar's kappa_True is 0.27 at 95% accuracy (it encodes "2" as 0 but keeps gold labels 1/2);
    # a correct Cohen's kappa at 95% accuracy on balanced labels is near 0.9.
    rows, published = _llmbar()
    key = "LLMBar/Natural|GPT-4|Vanilla_NoRules"
    r = next(r for r in rows if f"{r['subset']}|{r['evaluator']}|{r['strategy']}" == key)
    got = ag.pairwise_agreement(r["winner_swap_false"], r["winner_swap_true"], r["labels"])
    assert published[key]["kappa_True"] < 0.3
    assert got.accuracy_swapped == 0.95
    assert got.kappa_swapped is not None and got.kappa_swapped > 0.85


def test_pairwise_semantics() -> None:
    res = ag.pairwise_agreement(
        ["1", None, "2", "tie", "x"], [1, None, "1", "TIE", None], [1, 2, "2", "tie", 1]
    )
    assert res.correct_original == 3  # items 1, 3, 4; invalid verdicts are wrong
    assert res.correct_swapped == 2
    assert res.accuracy == pytest.approx((3 / 5 + 2 / 5) / 2)
    assert res.correct_both == 2
    assert res.agree == 2 and res.both_invalid == 2
    assert res.invalid_original == 2 and res.invalid_swapped == 2
    lenient = ag.pairwise_agreement(["1", None], ["1", None], [1, 2], invalid_agree=True)
    assert lenient.agree == 2
    single = ag.pairwise_agreement(["1", "2"], None, ["1", "1"])
    assert single.positional_agreement is None and single.accuracy == 0.5
    with pytest.raises(ValueError, match="not 1, 2 or tie"):
        ag.pairwise_agreement(["1"], ["1"], ["3"])
    ci = ag.pairwise_bootstrap(
        ["1", "2", "1", "2"] * 10, ["1", "1", "1", "2"] * 10, ["1", "2", "2", "2"] * 10, n_boot=200
    )
    assert ci["accuracy"].value == pytest.approx(0.625)
    assert ci["accuracy"].ci_low is not None and ci["accuracy"].ci_low <= 0.625 <= (
        ci["accuracy"].ci_high or 0
    )


# ---------------------------------------------------------------------------------------------------------
# The vectorised bootstrap equals scipy on the explicit resamples
# ---------------------------------------------------------------------------------------------------------


def _data(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    if kind in ("ties", "likert"):
        x = np.round(x)
    if kind == "likert":
        y = np.clip(np.round(y), -2, 2)
    return x, y


@pytest.mark.parametrize("kind", ["continuous", "ties", "likert"])
@pytest.mark.parametrize("block", [3, 16, 128])
def test_weighted_correlations_equal_scipy(kind: str, block: int) -> None:
    rng = np.random.default_rng(7)
    n = 150
    x, y = _data(kind, n, rng)
    res = next(ag.resamples(n, n_boot=12, seed=3))
    got = ag.WeightedCorrelations(x, y, block=block)(res.items)
    for b in range(12):
        idx = np.repeat(np.arange(n), res.items[b].astype(int))
        assert got["pearson"][b] == pytest.approx(stats.pearsonr(x[idx], y[idx]).statistic, abs=1e-12)
        assert got["spearman"][b] == pytest.approx(stats.spearmanr(x[idx], y[idx]).statistic, abs=1e-6)
        assert got["kendall"][b] == pytest.approx(stats.kendalltau(x[idx], y[idx]).statistic, abs=1e-12)


def test_weighted_correlations_constant_resample_is_nan() -> None:
    x = np.array([1.0, 1.0, 2.0])
    y = np.array([3.0, 4.0, 5.0])
    got = ag.WeightedCorrelations(x, y)(np.array([[2, 1, 0], [1, 1, 1]]))
    assert all(math.isnan(got[m][0]) for m in ag.METHODS)
    assert got["kendall"][1] == pytest.approx(stats.kendalltau(x, y).statistic)


def test_resamples_are_seeded_and_group_aware() -> None:
    a = [r.items.copy() for r in ag.resamples(50, n_boot=30, seed=1)]
    b = [r.items.copy() for r in ag.resamples(50, n_boot=30, seed=1, chunk=7)]
    assert np.array_equal(np.concatenate(a), np.concatenate(b))
    groups = np.repeat(np.arange(10), 5)
    for r in ag.resamples(50, groups=groups, n_boot=20, seed=2):
        assert r.units.shape == (20, 10)
        assert np.all(r.units.sum(axis=1) == 10)
        # every item of a group carries its group's count
        assert np.array_equal(r.items, r.units[:, groups])


def test_per_group_correlations_skip_constant_groups() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 8)
    x = rng.normal(size=160)
    y = rng.integers(1, 4, size=160).astype(float)
    y[groups == 3] = 2.0  # constant human side: skipped
    keys, per = ag.per_group_correlations(x, y, groups)
    for g in keys:
        sel = groups == g
        for m in ag.METHODS:
            expected = ag.correlation(x[sel], y[sel], m)
            if math.isnan(expected):
                assert math.isnan(per[m][g])
            else:
                assert per[m][g] == pytest.approx(expected, abs=1e-12)
    assert math.isnan(per["kendall"][3])


def test_correlation_summary_levels_and_cis() -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(30), 6)
    systems = np.tile(np.arange(6), 30)
    x, y = _data("ties", 180, rng)
    s = ag.correlation_summary(x, y, groups=groups, systems=systems, n_boot=300, seed=0)
    assert s.resampled == "groups" and s.n_groups == 30 and s.n_systems == 6
    for block in (s.pooled, s.per_group, s.system):
        assert block is not None
        for m in ag.METHODS:
            e = block[m]
            assert e.ci_low is not None and e.ci_high is not None
            assert -1 <= e.ci_low <= e.ci_high <= 1
    assert s.pooled["kendall"].value == pytest.approx(stats.kendalltau(x, y).statistic)
    again = ag.correlation_summary(x, y, groups=groups, systems=systems, n_boot=300, seed=0)
    assert again.pooled["spearman"] == s.pooled["spearman"]


def test_weighted_alpha_equals_package_on_resamples() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(1, 6, size=40)
    data = np.clip(truth + rng.integers(-1, 2, size=(3, 40)), 1, 5).astype(float)
    data[0, :5] = np.nan
    plan = ag.WeightedAlpha(data.tolist(), ag.ALPHA_LEVELS)
    res = next(ag.resamples(40, n_boot=5, seed=0))
    got = plan(res.units)
    for b in range(5):
        idx = np.repeat(np.arange(40), res.units[b].astype(int))
        for lv in ag.ALPHA_LEVELS:
            assert got[lv][b] == pytest.approx(ag.krippendorff_alpha(data[:, idx].tolist(), lv), abs=1e-10)


def test_ceiling() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(size=200)
    labels = np.stack([truth + rng.normal(scale=0.5, size=200) for _ in range(3)])
    labels[2, :50] = np.nan
    judge = truth + rng.normal(scale=0.5, size=200)
    c = ag.leave_one_out_ceiling(labels, judge, annotators=["a", "b", "c"], n_boot=100)
    # annotator 'a' against the mean of b and c where available
    items = np.flatnonzero(np.isfinite(labels).sum(axis=0) >= 2)
    others = np.nanmean(labels[1:, items], axis=0)
    assert c.per_annotator[0].human["pearson"] == pytest.approx(
        stats.pearsonr(labels[0, items], others).statistic
    )
    assert c.human["pearson"].value == pytest.approx(np.mean([p.human["pearson"] for p in c.per_annotator]))
    assert c.judge is not None and c.judge["pearson"].ci_low is not None
    with pytest.raises(ValueError, match="at least two annotators"):
        ag.leave_one_out_ceiling(labels[:1])


def test_scale_helpers() -> None:
    assert ag.round_to_scale([1.2, 2.5, 4.49, 0.0, 9.0], [1, 2, 3, 4, 5]).tolist() == [1, 3, 4, 1, 5]
    assert ag.score_shares([2, 2, 2, 5], [1, 2, 3, 4, 5]) == {
        1.0: 0.0,
        2.0: 0.75,
        3.0: 0.0,
        4.0: 0.0,
        5.0: 0.25,
    }
    assert ag.mean_offset([3, 4], [2, 2])[0] == pytest.approx(1.5)
