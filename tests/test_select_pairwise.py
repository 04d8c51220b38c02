"""``judgekit select`` with pairwise rubrics, on scripted judges of known quality against synthetic human
preferences.

Every pair ``pNNN`` has response A ("Alpha ...") and B ("Beta ..."); the human prefers A on even pairs and
B on odd ones. ``good`` names the preferred response in both orders, ``mid`` is wrong (in both orders) on
every third pair, ``biased`` always answers "first" (position bias: its two orders never agree, each pair
half right). Expected figures are worked out here by hand or read from ``judgekit validate --pairwise`` run
separately on the same items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import assert_clean_error, run_cli
from tests.select_fixtures import KEY_ENV, candidates_yaml
from tests.server import Reply, ScriptedServer, user_message

ENV = {KEY_ENV: "sk-test"}
N_BOOT = 400
N = 48
_PAIR = re.compile(r"Pair (p\d+) asks")


def gold(item: str) -> str:
    return "1" if int(item[1:]) % 2 == 0 else "2"


def as_json(winner: str) -> str:
    return json.dumps({"winner": winner})


def mtbench_text(winner: str) -> str:
    """The MT-Bench way: an explanation, then [[A]] (first shown), [[B]] (second) or [[C]] (tie)."""
    return "Both answers are short. Verdict: " + {"first": "[[A]]", "second": "[[B]]", "tie": "[[C]]"}[winner]


def script(
    server: ScriptedServer, judge: Callable[[str, bool], str], answer: Callable[[str], str] = as_json
) -> None:
    """``judge(item, a_first)`` -> "first" / "second" / "tie"; A is shown first in the original order."""

    def reply(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        m = _PAIR.search(text)
        if m is None:
            return Reply(content=answer("tie"))
        a_first = text.index("Alpha answer") < text.index("Beta answer")
        return Reply(content=answer(judge(m.group(1), a_first)))

    server.add_rule(None, reply)


def knows(wrong_every: int | None) -> Callable[[str, bool], str]:
    def judge(item: str, a_first: bool) -> str:
        better_a = gold(item) == "1"
        if wrong_every is not None and int(item[1:]) % wrong_every == 0:
            better_a = not better_a
        return "first" if better_a == a_first else "second"

    return judge


def always_first(item: str, a_first: bool) -> str:
    return "first"


def items_called(server: ScriptedServer) -> set[str]:
    return {m.group(1) for c in server.calls if (m := _PAIR.search(user_message(c["request"])))}


@pytest.fixture
def setup(tmp_path: Path, make_server: Callable[..., ScriptedServer]) -> dict[str, Any]:
    ids = [f"p{k:03d}" for k in range(N)]
    servers = {name: make_server() for name in ("good", "mid", "biased")}
    script(servers["good"], knows(None))
    script(servers["mid"], knows(3))
    script(servers["biased"], always_first)
    paths = {k: tmp_path / f"{k}.json" for k in ("dataset", "a", "b")}
    paths["dataset"].write_text(
        json.dumps([{"id": i, "input": f"Pair {i} asks which answer is right."} for i in ids])
    )
    paths["a"].write_text(json.dumps({i: f"Alpha answer to {i}." for i in ids}))
    paths["b"].write_text(json.dumps({i: f"Beta answer to {i}." for i in ids}))
    paths["human"] = tmp_path / "prefs.csv"
    paths["human"].write_text("id,label\n" + "".join(f"{i},{gold(i)}\n" for i in ids))
    entries = [
        {"name": "good", "server": servers["good"], "price": 5.0, "extra": {"rubric": "pairwise"}},
        {"name": "mid", "server": servers["mid"], "price": 0.1, "extra": {"rubric": "pairwise"}},
        {"name": "biased", "server": servers["biased"], "price": 0.1, "extra": {"rubric": "pairwise"}},
    ]
    cands = candidates_yaml(tmp_path / "candidates.yaml", entries)
    return {
        "servers": servers,
        "paths": paths,
        "candidates": cands,
        "out": tmp_path / "select.json",
        "tmp": tmp_path,
    }


def args(s: dict[str, Any], *extra: str) -> list[str]:
    p = s["paths"]
    return [
        "select", "--candidates", str(s["candidates"]), "--dataset", str(p["dataset"]), "--responses-a",
        str(p["a"]), "--responses-b", str(p["b"]), "--human", str(p["human"]), "--out", str(s["out"]),
        "--n-boot", str(N_BOOT), *extra,
    ]  # fmt: skip


def correctness(name: str, ids: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Each pair's share of orders judged right, known from the judge's construction."""
    if name == "biased":
        return np.full(len(ids), 0.5)
    if name in ("mid", "mt"):
        every = 3 if name == "mid" else 4
        return np.array([0.0 if int(i[1:]) % every == 0 else 1.0 for i in ids])
    return np.ones(len(ids))


def test_pairwise_select_chooses_the_accurate_judge(setup: dict[str, Any]) -> None:
    report = setup["tmp"] / "select.html"
    proc = run_cli(*args(setup, "--report", str(report)), env=ENV)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(setup["out"].read_text())
    dev, test = r["split"]["dev"], r["split"]["test"]
    assert "position consistency" in report.read_text()
    assert r["metric"] == "accuracy"
    assert r["chosen"]["name"] == "good"
    cands = {c["name"]: c for c in r["candidates"]}
    for name in ("good", "mid", "biased"):
        assert cands[name]["dev"]["value"] == pytest.approx(correctness(name, dev).mean(), abs=1e-12)
        assert cands[name]["dev"]["n"] == len(dev)
    assert r["chosen"]["test"]["value"] == pytest.approx(1.0) and r["chosen"]["test"]["n"] == len(test)
    # position bias: the "always first" judge's orders never agree; the others' always do
    assert cands["biased"]["position_consistency"]["value"] == 0.0
    assert cands["good"]["position_consistency"]["value"] == 1.0
    assert cands["mid"]["position_consistency"]["value"] == 1.0
    assert "position consistency 0.000" in proc.stdout and "position consistency 1.000" in proc.stdout
    # no test pair ever reaches a candidate that was not chosen; the chosen one sees every test pair
    for name in ("mid", "biased"):
        called = items_called(setup["servers"][name])
        assert called == set(dev) and not called & set(test)
    assert set(test) <= items_called(setup["servers"]["good"])


@pytest.mark.parametrize("group", [None, "doc"])
def test_dev_accuracy_equals_validate_pairwise_by_hand(setup: dict[str, Any], group: str | None) -> None:
    by_group: list[str] = []
    if group is not None:  # six documents of 8 pairs each: whole documents are resampled and split
        ids = [f"p{k:03d}" for k in range(N)]
        rows = "".join(f"{i},d{int(i[1:]) % 6},{gold(i)}\n" for i in ids)
        setup["paths"]["human"].write_text("id,doc,label\n" + rows)
        by_group = ["--group", group]
    assert run_cli(*args(setup, *by_group), env=ENV).returncode == 0
    r = json.loads(setup["out"].read_text())
    if group is not None:
        docs = {side: {int(i[1:]) % 6 for i in r["split"][side]} for side in ("dev", "test")}
        assert not docs["dev"] & docs["test"]
    for c in r["candidates"]:
        scores = json.loads(Path(c["score_file"]).read_text())
        rows = [
            {
                "id": q["id"],
                "winner_original": q["pairwise"]["original"],
                "winner_swapped": q["pairwise"]["swapped"],
            }
            for q in scores["per_question_scores"]
        ]
        verdicts = setup["tmp"] / f"{c['name']}.hand.jsonl"
        verdicts.write_text("".join(json.dumps(row) + "\n" for row in rows))
        out = setup["tmp"] / f"{c['name']}.validate.json"
        proc = run_cli(
            "validate", "--pairwise", "--judge", str(verdicts), "--human", str(setup["paths"]["human"]),
            "--allow-missing", "--n-boot", str(N_BOOT), "--seed", "0", "--out", str(out), *by_group,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        acc = json.loads(out.read_text())["pairwise"]["figures"]["accuracy"]
        for key in ("value", "ci_low", "ci_high"):
            assert c["dev"][key] == pytest.approx(acc[key], abs=1e-9), (c["name"], key)
        assert c["dev"]["n"] == acc["n"]


def test_paired_accuracy_difference_matches_an_independent_bootstrap(setup: dict[str, Any]) -> None:
    assert run_cli(*args(setup), env=ENV).returncode == 0
    r = json.loads(setup["out"].read_text())
    dev = r["split"]["dev"]
    pairs = {(p["a"], p["b"]): p for p in r["pairs"]}
    assert set(pairs) == {("good", "mid"), ("good", "biased"), ("mid", "biased")}
    rng = np.random.default_rng(12345)
    for (a, b), p in pairs.items():
        d = correctness(a, dev) - correctness(b, dev)
        assert p["difference"] == pytest.approx(d.mean(), abs=1e-12)
        assert p["n"] == len(dev)
        idx = rng.integers(0, len(dev), size=(4000, len(dev)))
        boot = d[idx].mean(axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        assert p["ci_low"] == pytest.approx(lo, abs=0.04) and p["ci_high"] == pytest.approx(hi, abs=0.04)
        assert p["ci_low"] <= p["difference"] <= p["ci_high"]
        assert p["p_adjusted"] >= p["p"]
    # Holm over three p-values: the smallest is multiplied by 3 (capped at 1)
    smallest = min(pairs.values(), key=lambda p: p["p"])
    assert smallest["p_adjusted"] == pytest.approx(min(1.0, 3 * smallest["p"]))


def test_pair_dataset_input_and_margin(setup: dict[str, Any]) -> None:
    """A pair dataset (LLMBar layout, both responses in the rows) works as for score; with --margin 0.5 the
    cheap ``mid`` is non-inferior to ``good`` (its accuracy is 1/3 lower at most)."""
    ids = [f"p{k:03d}" for k in range(N)]
    pairs = setup["tmp"] / "llmbar.json"
    pairs.write_text(json.dumps([
        {"id": i, "input": f"Pair {i} asks which answer is right.", "output_1": f"Alpha answer to {i}.",
         "output_2": f"Beta answer to {i}."} for i in ids
    ]))  # fmt: skip
    p = setup["paths"]
    proc = run_cli(
        "select", "--candidates", str(setup["candidates"]), "--dataset", str(pairs), "--human", str(p["human"]),
        "--out", str(setup["out"]), "--n-boot", str(N_BOOT), "--margin", "0.5", env=ENV,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(setup["out"].read_text())
    assert r["metric"] == "accuracy"
    assert r["chosen"]["name"] == "mid", r["chosen"]["reason"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--metric", "spearman"], "pairwise rubrics are measured by accuracy"),
        (["--responses", "X"], "not --responses"),
        (["--propose", "1", "--proposer", "openai/p"], "--propose is not available for pairwise"),
    ],
)
def test_bad_pairwise_usage_is_one_line_and_exit_2(
    setup: dict[str, Any], extra: list[str], needle: str
) -> None:
    a = args(setup, *extra)
    if "X" in extra:
        a[a.index("X")] = str(setup["paths"]["a"])
    proc = run_cli(*a, env=ENV)
    assert_clean_error(proc, needle)
    assert not setup["out"].exists() and not (setup["tmp"] / "select.work").exists()
    assert all(not s.calls for s in setup["servers"].values())


def test_mixed_pairwise_and_single_rubrics_are_refused(setup: dict[str, Any]) -> None:
    text = setup["candidates"].read_text().replace("rubric: pairwise", "rubric: criteria", 1)
    setup["candidates"].write_text(text)
    proc = run_cli(*args(setup), env=ENV)
    assert_clean_error(proc, "pairwise and single-response rubrics cannot be compared")
    assert not setup["out"].exists()


def test_pairwise_race_stops_the_position_biased_judge_and_rerun_is_free(setup: dict[str, Any]) -> None:
    proc = run_cli(*args(setup, "--race"), env=ENV)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(setup["out"].read_text())
    rows = {c["name"]: c for c in r["candidates"]}
    n_dev = len(r["split"]["dev"])
    first_round = r["race"]["rounds"][0]
    # biased is 0.5 on every pair, good 1.0: the difference is -0.5 in every resample, so it stops at once
    assert rows["biased"]["stopped_after"] == first_round < n_dev
    assert len(items_called(setup["servers"]["biased"])) == first_round
    assert rows["biased"]["calls"] == 2 * first_round  # both orders of each pair
    assert rows["biased"]["calls_saved"] == 2 * (n_dev - first_round)
    assert r["chosen"]["name"] == "good"
    before = {n: len(s.calls) for n, s in setup["servers"].items()}
    again = run_cli(*args(setup, "--race"), env=ENV)
    assert again.returncode == 0, again.stderr
    assert {n: len(s.calls) for n, s in setup["servers"].items()} == before
    assert json.loads(setup["out"].read_text())["chosen"] == r["chosen"]


def test_half_a_pair_of_response_files_and_later_turns_are_refused(setup: dict[str, Any]) -> None:
    a = args(setup)
    k = a.index("--responses-b")
    proc = run_cli(*(a[:k] + a[k + 2 :]), env=ENV)
    assert_clean_error(proc, "give both --responses-a and --responses-b")
    mt = setup["tmp"] / "mt.json"
    conv = [{"role": "user", "content": "Pair p000 asks one."}, {"role": "assistant", "content": "x"},
            {"role": "user", "content": "Then another."}, {"role": "assistant", "content": "y"}]  # fmt: skip
    mt.write_text(json.dumps([
        {"question_id": 1, "model_a": "m1", "model_b": "m2", "conversation_a": conv, "conversation_b": conv,
         "turn": t, "winner": "model_a"} for t in (1, 2)
    ]))  # fmt: skip
    p = setup["paths"]
    proc = run_cli(
        "select", "--candidates", str(setup["candidates"]), "--dataset", str(mt), "--human", str(p["human"]),
        "--out", str(setup["out"]), env=ENV,
    )  # fmt: skip
    assert_clean_error(proc, "single-turn pairs only")
    assert not setup["out"].exists() and not (setup["tmp"] / "select.work").exists()
    assert all(not s.calls for s in setup["servers"].values())


def test_mtbench_pairwise_rubric_is_a_candidate(
    setup: dict[str, Any], make_server: Callable[..., ScriptedServer]
) -> None:
    """A free-text MT-Bench judge ([[A]]/[[B]]) competes with JSON pairwise judges; its accuracy is known."""
    server = make_server()
    script(server, knows(4), mtbench_text)
    entries = [
        {"name": "mt", "server": server, "price": 0.1, "extra": {"rubric": "mtbench_pairwise"}},
        {
            "name": "biased",
            "server": setup["servers"]["biased"],
            "price": 0.1,
            "extra": {"rubric": "pairwise"},
        },
    ]
    candidates_yaml(setup["candidates"], entries)
    proc = run_cli(*args(setup), env=ENV)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(setup["out"].read_text())
    rows = {c["name"]: c for c in r["candidates"]}
    dev = r["split"]["dev"]
    assert rows["mt"]["dev"]["value"] == pytest.approx(correctness("mt", dev).mean(), abs=1e-12)
    assert rows["mt"]["position_consistency"]["value"] == 1.0
    assert r["chosen"]["name"] == "mt"


def test_pairwise_dry_run_prices_without_calls(setup: dict[str, Any]) -> None:
    proc = run_cli(*args(setup, "--dry-run"), env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "dev judgments priced per 1,000" in proc.stdout
    assert all(name in proc.stdout for name in ("good", "mid", "biased"))
    assert "unknown price" not in proc.stdout  # every candidate has a price in the candidates file
    assert not setup["out"].exists() and not (setup["tmp"] / "select.work").exists()
    assert all(not s.calls for s in setup["servers"].values())
