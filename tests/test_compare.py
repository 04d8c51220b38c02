"""``judgekit compare`` end to end on hand-built score files, and the Bradley-Terry fit it ranks pairwise
files by. Expected values are computed here with numpy / scipy / statsmodels, never by judgekit."""

from __future__ import annotations

import json
import math
import re
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from judgekit import ScoreSettings, score
from judgekit.compare import compare
from judgekit.errors import InputError
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from judgekit.stats import bradley_terry, fit_batch, win_matrix
from tests import lazy
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

sm = lazy.module("statsmodels.api")
multitest = lazy.module("statsmodels.stats.multitest")

PAIR_DATASET = REPO / "examples" / "pairwise" / "dataset.json"

# ----------------------------------------------------------------------------------------------------------
# Bradley-Terry
# ----------------------------------------------------------------------------------------------------------


def _bt_reference(wins: np.ndarray) -> np.ndarray:
    """Bradley-Terry as a logistic regression (statsmodels GLM, IRLS): one row per ordered pair of systems,
    x = e_i - e_j without system 0's column, y = 1 weighted by i's wins over j, y = 0 by j's wins over i."""
    k = wins.shape[0]
    rows, ys, weights = [], [], []
    for i, j in combinations(range(k), 2):
        x = np.zeros(k)
        x[i], x[j] = 1.0, -1.0
        for y, w in ((1.0, wins[i, j]), (0.0, wins[j, i])):
            if w > 0:
                rows.append(x[1:])
                ys.append(y)
                weights.append(w)
    fit = sm.GLM(np.array(ys), np.array(rows), family=sm.families.Binomial(), freq_weights=np.array(weights))
    theta = np.concatenate([[0.0], fit.fit(tol=1e-14, maxiter=200).params])
    return theta - theta.mean()


def test_bradley_terry_two_systems_by_hand() -> None:
    # A beat B 3 times and lost once: P(A beats B) = 3/4, so theta_A - theta_B = log 3
    theta = bradley_terry(win_matrix([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 0], 2))
    assert theta[0] - theta[1] == pytest.approx(math.log(3))
    assert theta.sum() == pytest.approx(0.0)
    # two wins and two ties are three wins and one loss when a tie is half a win to each side
    theta = bradley_terry(win_matrix([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0.5, 0.5], 2))
    assert theta[0] - theta[1] == pytest.approx(math.log(3))
    # a clean sweep has no finite fit; one virtual tie gives the Haldane-Anscombe log((5 + .5) / (0 + .5))
    sweep = win_matrix([0] * 5, [1] * 5, [1.0] * 5, 2)
    with pytest.raises(ValueError, match="infinite"):
        bradley_terry(sweep)
    theta = bradley_terry(sweep, prior=1.0)
    assert theta[0] - theta[1] == pytest.approx(math.log(11))


def test_bradley_terry_symmetric_cycle_is_flat() -> None:
    # A beats B, B beats C, C beats A, each 2-1: every system is as strong as the others
    wins = np.array([[0, 2, 1], [1, 0, 2], [2, 1, 0]], dtype=float)
    np.testing.assert_allclose(bradley_terry(wins), 0.0, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_bradley_terry_matches_a_logistic_regression(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 6
    strength = rng.normal(0, 1, k)
    a = rng.integers(0, k, 400)
    b = (a + rng.integers(1, k, 400)) % k
    p_a = 1 / (1 + np.exp(strength[b] - strength[a]))
    u = rng.uniform(size=400)
    scores = np.where(u < p_a * 0.85, 1.0, np.where(u < p_a * 0.85 + 0.15, 0.5, 0.0))  # ~15% ties
    wins = win_matrix(a, b, scores, k)
    np.testing.assert_allclose(bradley_terry(wins), _bt_reference(wins), atol=1e-6)
    # the batched fit gives each matrix its own fit; a matrix with a clean sweep comes back NaN
    swept = np.zeros((k, k))
    swept[0, 1:] = 3.0
    swept[1:, 1:] = wins[1:, 1:]
    batch = fit_batch(np.stack([wins, swept, wins.T]))
    np.testing.assert_allclose(batch[0], _bt_reference(wins), atol=1e-6)
    assert np.isnan(batch[1]).all()
    np.testing.assert_allclose(batch[2], _bt_reference(wins.T), atol=1e-6)


def test_bradley_terry_needs_connected_comparisons() -> None:
    wins = np.zeros((4, 4))
    wins[0, 1] = wins[1, 0] = 2.0
    wins[2, 3] = wins[3, 2] = 2.0
    with pytest.raises(ValueError, match="never compared"):
        bradley_terry(wins, prior=1.0)


# ----------------------------------------------------------------------------------------------------------
# judgekit compare: score files
# ----------------------------------------------------------------------------------------------------------


def _write_scores(path: Path, scores: dict[str, float | None], **extra: Any) -> str:
    """A judgekit score file with the given question scores (None = unscored)."""
    questions = [
        {
            "id": qid,
            "score": s,
            "details": [{"aspect": "a", "score": s, "status": "scored" if s is not None else "unscored"}],
        }
        for qid, s in scores.items()
    ]
    done = [s for s in scores.values() if s is not None]
    data = {
        "score": float(np.mean(done)) if done else None,
        "per_question_scores": questions,
        "coverage": {"scored": len(done), "total": len(scores), "ratio": len(done) / max(1, len(scores))},
        **extra,
    }
    path.write_text(json.dumps(data))
    return str(path)


def _run(tmp_path: Path, *files: str, extra: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    out = tmp_path / "compare.json"
    proc = run_cli("compare", *files, "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_three_systems_scores_differences_tests_and_missing(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids = [f"q{i:02d}" for i in range(60)]
    base = rng.integers(0, 5, 60) / 4  # 0, .25, ..., 1
    a = dict(zip(ids, base.tolist(), strict=True))
    b = dict(zip(ids, np.clip(base + rng.choice([0, 0.25, 0.5], 60), 0, 1).tolist(), strict=True))
    c_vals = np.clip(base + rng.choice([-0.25, 0, 0.25], 60), 0, 1)
    c: dict[str, float | None] = {q: float(v) for q, v in zip(ids[:55], c_vals[:55], strict=True)}
    c["q50"] = None  # unscored; q55..q59 absent
    paths = [
        _write_scores(tmp_path / "a.json", a),
        _write_scores(tmp_path / "b.json", b),
        _write_scores(tmp_path / "c.json", c),
    ]
    result, stdout = _run(tmp_path, *paths)

    table = np.full((60, 3), np.nan)
    for k, d in enumerate((a, b, c)):
        for q, s in d.items():
            if s is not None:
                table[ids.index(q), k] = s
    assert result["kind"] == "mean"
    assert result["questions"] == 60
    means = np.nanmean(table, axis=0)
    order = np.argsort(-means, kind="stable")
    assert [s["name"] for s in result["systems"]] == [paths[i] for i in order]
    for s in result["systems"]:
        k = paths.index(s["name"])
        col = table[:, k][np.isfinite(table[:, k])]
        assert s["score"] == pytest.approx(col.mean(), abs=1e-12)
        assert s["n_questions"] == col.size
        assert s["rank"] == 1 + int(np.sum(means > means[k]))
        # percentile bootstrap CI of a mean: close to the normal interval for 55-60 questions
        half = 1.96 * col.std(ddof=1) / math.sqrt(col.size)
        assert s["ci_low"] < s["score"] < s["ci_high"]
        assert (s["ci_high"] - s["ci_low"]) / (2 * half) == pytest.approx(1.0, abs=0.2)
        assert 1 <= s["rank_low"] <= s["rank"] <= s["rank_high"] <= 3

    pvals = []
    assert [(p["a"], p["b"]) for p in result["pairs"]] == [
        (paths[i], paths[j]) for i, j in combinations(range(3), 2)
    ]
    for p, (i, j) in zip(result["pairs"], combinations(range(3), 2), strict=True):
        both = np.isfinite(table[:, i]) & np.isfinite(table[:, j])
        d = table[both, i] - table[both, j]
        assert p["n"] == int(both.sum())
        assert p["difference"] == pytest.approx(d.mean(), abs=1e-12)
        assert p["p"] == pytest.approx(stats.ttest_rel(table[both, i], table[both, j]).pvalue, rel=1e-9)
        half = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
        assert p["ci_low"] < p["difference"] < p["ci_high"]
        assert (p["ci_high"] - p["ci_low"]) / (2 * half) == pytest.approx(1.0, abs=0.2)
        pvals.append(p["p"])
    expected_adj = multitest.multipletests(pvals, method="holm")[1]
    assert [p["p_adjusted"] for p in result["pairs"]] == pytest.approx(list(expected_adj), rel=1e-12)
    assert result["pairs"][1]["n"] == 54  # a vs c: 60 - 5 absent - 1 unscored

    assert result["missing"] == {paths[2]: {"absent": ids[55:], "unscored": ["q50"]}}
    assert "rank" in stdout and paths[0] in stdout and "missing:" in stdout and "Holm" in stdout


def test_rank_intervals_separate_clear_winners_from_near_ties(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    ids = [f"q{i:03d}" for i in range(200)]
    noise = rng.normal(0, 0.1, (200, 4))
    centres = [0.9, 0.5, 0.502, 0.1]
    paths = [
        _write_scores(
            # clipped: question scores of a LaMP-QA file lie in 0..1 (compare refuses others)
            tmp_path / f"s{k}.json",
            dict(zip(ids, np.clip(centres[k] + noise[:, k], 0, 1).tolist(), strict=True)),
        )
        for k in range(4)
    ]
    result, _ = _run(tmp_path, *paths)
    by_name = {s["name"]: s for s in result["systems"]}
    assert (by_name[paths[0]]["rank_low"], by_name[paths[0]]["rank_high"]) == (1, 1)
    assert (by_name[paths[3]]["rank_low"], by_name[paths[3]]["rank_high"]) == (4, 4)
    for middle in paths[1:3]:
        assert (by_name[middle]["rank_low"], by_name[middle]["rank_high"]) == (2, 3)


def test_seeded_and_switchable_bootstrap(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    ids = [f"q{i}" for i in range(40)]
    paths = [
        _write_scores(tmp_path / f"s{k}.json", dict(zip(ids, rng.uniform(0, 1, 40).tolist(), strict=True)))
        for k in range(2)
    ]
    first = compare(paths, seed=4).to_json()
    assert compare(paths, seed=4).to_json() == first
    other = compare(paths, seed=5).to_json()
    assert first["pairs"][0]["ci_low"] != other["pairs"][0]["ci_low"]
    assert first["pairs"][0]["difference"] == other["pairs"][0]["difference"]
    none, stdout = _run(tmp_path, *paths, extra=("--bootstrap", "0"))
    assert none["systems"][0]["ci_low"] is None and none["systems"][0]["rank_low"] is None
    assert none["pairs"][0]["ci_low"] is None and none["pairs"][0]["p"] is not None
    assert "no bootstrap" in stdout


# ----------------------------------------------------------------------------------------------------------
# judgekit compare: pairwise files (Bradley-Terry)
# ----------------------------------------------------------------------------------------------------------


def _write_pairwise(path: Path, a: str, b: str, verdicts: list[float | None]) -> str:
    """A pairwise-rubric score file: question score 1 = a won, 0.5 tie, 0 = b won, None = no verdict."""
    meta = {
        "rubric": {"name": "pairwise"},
        "inputs": {"responses_a": {"path": a, "sha256": "0"}, "responses_b": {"path": b, "sha256": "0"}},
    }
    scores = {f"p{i:03d}": v for i, v in enumerate(verdicts)}
    return _write_scores(path, scores, meta=meta, pairwise={"pairs": len(verdicts)})


def test_pairwise_files_rank_by_bradley_terry(tmp_path: Path) -> None:
    def verdicts(wins: int, ties: int, losses: int, none: int) -> list[float | None]:
        return [1.0] * wins + [0.5] * ties + [0.0] * losses + [None] * none

    files = [
        _write_pairwise(tmp_path / "ab.json", "sys/A.json", "sys/B.json", verdicts(30, 10, 10, 2)),
        _write_pairwise(tmp_path / "bc.json", "sys/B.json", "sys/C.json", verdicts(25, 10, 15, 0)),
        _write_pairwise(tmp_path / "ca.json", "sys/C.json", "sys/A.json", verdicts(12, 8, 30, 1)),
    ]
    result, stdout = _run(tmp_path, *files)
    assert result["kind"] == "bradley_terry"
    # wins with ties as halves, plus the documented one virtual tie per compared pair (half a win each way)
    wins = np.zeros((3, 3))
    wins[0, 1], wins[1, 0] = 30 + 5, 10 + 5
    wins[1, 2], wins[2, 1] = 25 + 5, 15 + 5
    wins[2, 0], wins[0, 2] = 12 + 4, 30 + 4
    wins += 0.5 * (1 - np.eye(3))
    theta = _bt_reference(wins)
    names = ["sys/A.json", "sys/B.json", "sys/C.json"]
    by_name = {s["name"]: s for s in result["systems"]}
    for k, name in enumerate(names):
        assert by_name[name]["score"] == pytest.approx(theta[k], abs=1e-6)
        assert by_name[name]["ci_low"] < by_name[name]["score"] < by_name[name]["ci_high"]
    assert [s["name"] for s in result["systems"]] == [names[i] for i in np.argsort(-theta)]
    assert by_name["sys/A.json"]["n_questions"] == 50 + 50  # scored verdicts in ab and ca
    for p in result["pairs"]:
        i, j = names.index(p["a"]), names.index(p["b"])
        assert p["difference"] == pytest.approx(theta[i] - theta[j], abs=1e-6)
        assert p["ci_low"] < p["difference"] < p["ci_high"]
        assert 0 < p["p"] <= p["p_adjusted"] <= 1
    assert {(p["a"], p["b"]): p["n"] for p in result["pairs"]} == {
        ("sys/A.json", "sys/B.json"): 50,
        ("sys/A.json", "sys/C.json"): 50,
        ("sys/B.json", "sys/C.json"): 50,
    }
    assert result["missing"][files[0]]["unscored"] == ["p050", "p051"]
    assert "Bradley-Terry" in stdout


def test_score_files_written_by_judgekit_score(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    """Three systems, each pair scored by ``judgekit score --rubric pairwise`` against the scripted judge."""
    items = [row["id"] for row in json.loads(PAIR_DATASET.read_text())]
    quality = {"A": [3, 3, 3, 0], "B": [2, 2, 2, 2], "C": [1, 1, 1, 1]}  # the judge prefers higher quality
    responses = {}
    for name in quality:
        responses[name] = tmp_path / f"{name}.json"
        responses[name].write_text(json.dumps({i: f"<<{name}:{i}>> an answer" for i in items}))

    def judge(request: Any) -> Reply:
        shown = re.findall(r"<<([ABC]):([^>]+)>>", user_message(request))
        (first, item), (second, _) = shown
        k = items.index(item)
        return Reply(
            content=json.dumps({"winner": "first" if quality[first][k] > quality[second][k] else "second"})
        )

    scripted_server.add_rule(None, judge)
    settings = ScoreSettings(
        rubric="pairwise",
        judge=JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01),
    )
    files = []
    for a, b in (("A", "B"), ("B", "C"), ("C", "A")):
        out = tmp_path / f"{a}{b}.scores.json"
        score(
            PAIR_DATASET,
            responses_a=responses[a],
            responses_b=responses[b],
            judge="openai/judge",
            settings=settings,
            out=out,
            cache=False,
        )
        files.append(str(out))
    result, _ = _run(tmp_path, *files)
    # A beat B on 3 of 4 items, B swept C, C beat A on item 4 only; plus one virtual tie per pair
    wins = np.array([[0, 3, 3], [1, 0, 4], [1, 0, 0]], dtype=float) + 0.5 * (1 - np.eye(3))
    theta = _bt_reference(wins)
    by_name = {s["name"]: s for s in result["systems"]}
    for k, name in enumerate("ABC"):
        assert by_name[str(responses[name])]["score"] == pytest.approx(theta[k], abs=1e-6)
        assert by_name[str(responses[name])]["rank"] == k + 1
    assert result["missing"] == {}


# ----------------------------------------------------------------------------------------------------------
# judgekit compare: bad input
# ----------------------------------------------------------------------------------------------------------


def _bad(tmp_path: Path, *files: str, needle: str) -> None:
    out = tmp_path / "compare.json"
    proc = run_cli("compare", *files, "--out", str(out))
    assert_clean_error(proc, needle)
    assert not out.exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    good = _write_scores(tmp_path / "good.json", {"q1": 0.5, "q2": 1.0})
    text = tmp_path / "notes.txt"
    text.write_text("not json")
    _bad(tmp_path, good, str(text), needle="not a valid JSON score file")
    _bad(tmp_path, good, needle="at least two score files")
    disjoint = _write_scores(tmp_path / "disjoint.json", {"x1": 0.5, "x2": 0.7})
    _bad(tmp_path, good, disjoint, needle="share no scored question")
    nan = tmp_path / "nan.json"
    nan.write_text(
        '{"score": 0.5, "per_question_scores": [{"id": "q1", "score": NaN, "details": []}, '
        '{"id": "q2", "score": 0.5, "details": []}], "coverage": {"scored": 2, "total": 2, "ratio": 1.0}}'
    )
    _bad(tmp_path, good, str(nan), needle="NaN is not a finite number")


def test_more_bad_input(tmp_path: Path) -> None:
    """The library raises InputError, which the CLI prints as one line with exit 2 (as above)."""
    good = _write_scores(tmp_path / "good.json", {"q1": 0.5, "q2": 1.0})
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    pair = _write_pairwise(tmp_path / "pw.json", "A", "B", [1.0, 0.0])
    unnamed = _write_scores(tmp_path / "unnamed.json", {"q1": 1.0}, meta={"rubric": {"name": "pairwise"}})
    apart = _write_pairwise(tmp_path / "cd.json", "C", "D", [1.0, 0.0])
    scale = _write_pairwise(tmp_path / "scale.json", "B", "C", [1.0, 2.0])
    twice = _write_scores(tmp_path / "twice.json", {"q1": 1.0})
    data = json.loads(Path(twice).read_text())
    data["per_question_scores"] *= 2
    Path(twice).write_text(json.dumps(data))
    cases = [
        ((good, str(listing)), str(listing)),
        ((good, good), "given twice"),
        ((good, str(tmp_path / "absent.json")), "file not found"),
        ((good, twice), "appears twice"),
        ((good, pair), "pairwise score file"),
        ((pair, unnamed), "name its two systems"),
        ((pair, apart), "Bradley-Terry"),
        ((pair, scale), "2.0 is outside the scale of rubric 'pairwise' (0..1)"),
    ]
    for files, needle in cases:
        with pytest.raises(InputError, match=re.escape(needle)):
            compare(files)
