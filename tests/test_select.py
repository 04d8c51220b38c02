"""``judgekit select`` on scripted judges of known quality against synthetic human labels.

Three judges answer through real HTTP from the scripted server: ``good`` writes the true label, ``ok`` is
one point off on every fourth item, ``bad`` has no relation to the truth. Expected choices follow from that
construction; expected statistics are computed here with numpy/scipy or read from ``judgekit validate``
run separately on the same files.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from tests.conftest import assert_clean_error, run_cli
from tests.select_fixtures import (
    KEY_ENV,
    candidates_yaml,
    exact,
    items_called,
    noise,
    off_by_one_every,
    script_judge,
    text_of,
    truth,
    write_inputs,
)
from tests.server import Reply, ScriptedServer, user_message

ENV = {KEY_ENV: "sk-test"}
N_BOOT = 300
LABELS = truth(60)


@pytest.fixture
def setup(tmp_path: Path, make_server: Callable[..., ScriptedServer]) -> dict[str, Any]:
    servers = {name: make_server() for name in ("good", "ok", "bad")}
    script_judge(servers["good"], LABELS, exact)
    script_judge(servers["ok"], LABELS, off_by_one_every(4))
    script_judge(servers["bad"], LABELS, noise)
    paths = write_inputs(tmp_path, LABELS)
    entries = [
        {"name": "good", "server": servers["good"], "price": 5.0},
        {"name": "ok", "server": servers["ok"], "price": 0.1},
        {"name": "bad", "server": servers["bad"], "price": 0.1},
    ]
    cands = candidates_yaml(tmp_path / "candidates.yaml", entries)
    return {
        "servers": servers,
        "paths": paths,
        "candidates": cands,
        "out": tmp_path / "select.json",
        "tmp": tmp_path,
    }


def select_args(s: dict[str, Any], *extra: str, candidates: Path | None = None) -> list[str]:
    p = s["paths"]
    return [
        "select", "--candidates", str(candidates or s["candidates"]), "--dataset", str(p["dataset"]),
        "--responses", str(p["responses"]), "--human", str(p["human"]), "--out", str(s["out"]),
        "--n-boot", str(N_BOOT), *extra,
    ]  # fmt: skip


def run_select(s: dict[str, Any], *extra: str) -> dict[str, Any]:
    proc = run_cli(*select_args(s, *extra), env=ENV)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(s["out"].read_text())
    return result


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result["candidates"]}


def test_best_is_chosen_and_only_it_sees_test(setup: dict[str, Any]) -> None:
    result = run_select(setup)
    split = result["split"]
    assert sorted(split["dev"] + split["test"]) == sorted(LABELS)
    assert not set(split["dev"]) & set(split["test"])
    assert len(split["test"]) == round(0.3 * 60)
    assert result["chosen"]["name"] == "good"
    assert result["chosen"]["test"]["n"] == len(split["test"])
    assert result["chosen"]["test"]["value"] == pytest.approx(1.0)
    rows = by_name(result)
    assert rows["good"]["dev"]["value"] == pytest.approx(1.0)
    assert rows["bad"]["dev"]["value"] < rows["ok"]["dev"]["value"] < 1.0
    # ok is cheaper than good and worse: both on the frontier; bad costs as much as ok and is worse
    assert rows["good"]["on_frontier"] and rows["ok"]["on_frontier"] and not rows["bad"]["on_frontier"]
    assert rows["ok"]["cost_per_1k"] < rows["good"]["cost_per_1k"]
    # at the servers: the chosen judge saw dev and test, the others dev only
    servers = setup["servers"]
    assert items_called(servers["good"]) == set(LABELS)
    for name in ("ok", "bad"):
        assert items_called(servers[name]) == set(split["dev"])
        for call in servers[name].calls:
            text = json.dumps(call["request"])
            assert not any(text_of(t) in text for t in split["test"])


def test_dev_figures_equal_validate_by_hand(setup: dict[str, Any]) -> None:
    result = run_select(setup)
    for cand in result["candidates"]:
        out = setup["tmp"] / f"agreement-{cand['name']}.json"
        proc = run_cli(
            "validate", "--judge", cand["score_file"], "--human", str(setup["paths"]["human"]),
            "--allow-missing", "--n-boot", str(N_BOOT), "--out", str(out),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        spearman = json.loads(out.read_text())["dimensions"][0]["correlations"]["pooled"]["spearman"]
        dev = cand["dev"]
        assert dev["n"] == spearman["n"] == len(result["split"]["dev"])
        for key in ("value", "ci_low", "ci_high"):
            assert dev[key] == pytest.approx(spearman[key], abs=1e-9)


def _judge_scores(path: str) -> dict[str, float]:
    return {q["id"]: q["score"] for q in json.loads(Path(path).read_text())["per_question_scores"]}


def test_paired_differences_equal_an_independent_bootstrap(setup: dict[str, Any]) -> None:
    result = run_select(setup)
    dev = [i for i in LABELS if i in set(result["split"]["dev"])]  # the label file's order
    human = np.array([LABELS[i] for i in dev], dtype=float)
    judges = {c["name"]: _judge_scores(c["score_file"]) for c in result["candidates"]}
    n = len(dev)
    rng = np.random.default_rng(0)  # --seed 0: one resample = counts of n draws with replacement
    draws = [
        np.repeat(np.arange(n), np.bincount(rng.integers(0, n, size=n), minlength=n)) for _ in range(N_BOOT)
    ]
    p_raw = []
    for pair in result["pairs"]:
        ja = np.array([judges[pair["a"]][i] for i in dev])
        jb = np.array([judges[pair["b"]][i] for i in dev])
        point = spearmanr(ja, human).statistic - spearmanr(jb, human).statistic
        boot = np.array(
            [spearmanr(ja[d], human[d]).statistic - spearmanr(jb[d], human[d]).statistic for d in draws]
        )
        lo, hi = np.quantile(boot, [0.025, 0.975])
        assert pair["difference"] == pytest.approx(point, abs=1e-9)
        assert pair["ci_low"] == pytest.approx(lo, abs=1e-6)  # Spearman under weights: float32 rank products
        assert pair["ci_high"] == pytest.approx(hi, abs=1e-6)
        p = min(1.0, 2 * min((1 + np.sum(boot <= 0)) / (N_BOOT + 1), (1 + np.sum(boot >= 0)) / (N_BOOT + 1)))
        assert pair["p"] == pytest.approx(p)
        p_raw.append(p)
    # Holm by hand: sorted p times (m, m-1, ...), running maximum, capped at 1
    order = np.argsort(p_raw, kind="stable")
    m, running, holm = len(p_raw), 0.0, [0.0] * len(p_raw)
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_raw[k]))
        holm[k] = running
    assert [pair["p_adjusted"] for pair in result["pairs"]] == pytest.approx(holm)


def test_margin_chooses_the_cheaper_non_inferior_candidate(setup: dict[str, Any]) -> None:
    full = run_select(setup)
    assert full["chosen"]["name"] == "good"
    result = run_select(setup, "--margin", "0.2")
    assert result["chosen"]["name"] == "ok"
    assert "non-inferior" in result["chosen"]["reason"] and "good" in result["chosen"]["reason"]
    # a margin smaller than the dev gap (about 0.05) keeps the best
    tight = run_select(setup, "--margin", "0.001")
    assert tight["chosen"]["name"] == "good"


def test_budget_limits_the_choice(setup: dict[str, Any]) -> None:
    report = setup["tmp"] / "budget.html"
    result = run_select(setup, "--budget", "0.5", "--report", str(report))
    assert "Select result" in report.read_text() and 'data-plot="select-frontier"' in report.read_text()
    rows = by_name(result)
    assert rows["good"]["cost_per_1k"] > 0.5 >= rows["ok"]["cost_per_1k"]
    assert result["chosen"]["name"] == "ok"
    assert "--budget" in result["chosen"]["reason"]


def test_rerun_makes_no_judge_call(setup: dict[str, Any]) -> None:
    first = run_select(setup)
    before = {n: len(s.calls) for n, s in setup["servers"].items()}
    second = run_select(setup)
    assert {n: len(s.calls) for n, s in setup["servers"].items()} == before
    assert all(c["calls"] == 0 for c in second["candidates"])
    assert second["chosen"] == first["chosen"]


def test_race_stops_the_clearly_worse_and_saves_calls(setup: dict[str, Any]) -> None:
    result = run_select(setup, "--race")
    rows = by_name(result)
    n_dev = len(result["split"]["dev"])
    assert result["chosen"]["name"] == "good"
    stopped = rows["bad"]["stopped_after"]
    assert stopped is not None and stopped < n_dev
    assert rows["bad"]["calls_saved"] == n_dev - stopped
    assert len(items_called(setup["servers"]["bad"])) == stopped == rows["bad"]["calls"]
    assert rows["good"]["stopped_after"] is None and rows["good"]["calls_saved"] == 0
    assert result["race"]["rounds"][-1] == n_dev
    # with a margin wider than ok's gap to good, ok is not stopped (its CI is not below -M) and is chosen
    wide = run_select(setup, "--race", "--margin", "0.2")
    rows = by_name(wide)
    assert rows["ok"]["stopped_after"] is None and rows["bad"]["stopped_after"] is not None
    assert wide["chosen"]["name"] == "ok"


def test_split_by_group_keeps_groups_whole(
    tmp_path: Path, make_server: Callable[..., ScriptedServer]
) -> None:
    server = make_server()
    script_judge(server, LABELS, exact)
    paths = write_inputs(tmp_path, LABELS, groups=12)
    cands = candidates_yaml(tmp_path / "c.yaml", [{"name": "one", "server": server, "price": 1.0}])
    s = {"paths": paths, "candidates": cands, "out": tmp_path / "s.json"}
    result = run_select(s, "--group", "doc", "--metric", "spearman_per_group")
    doc = {i: f"d{k % 12}" for k, i in enumerate(LABELS)}
    dev_docs = {doc[i] for i in result["split"]["dev"]}
    test_docs = {doc[i] for i in result["split"]["test"]}
    assert not dev_docs & test_docs and len(test_docs) == round(0.3 * 12)
    assert result["chosen"]["name"] == "one" and result["split"]["group"] == "doc"


def test_dry_run_prices_without_calls_or_files(setup: dict[str, Any]) -> None:
    proc = run_cli(*select_args(setup, "--dry-run"), env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "good" in proc.stdout and "$" in proc.stdout
    assert all(len(s.calls) == 0 for s in setup["servers"].values())
    assert not setup["out"].exists() and not (setup["tmp"] / "select.work").exists()


BAD_CANDIDATES = [
    ("unknown key", "candidates:\n  - name: a\n    judge: openai/judge\n    colour: red\n", "unknown key"),
    ("duplicate name", "candidates:\n  - {name: a, judge: x}\n  - {name: a, judge: y}\n", "used twice"),
    ("bad rubric", "candidates:\n  - {name: a, judge: x, rubric: no_such_rubric}\n", "no_such_rubric"),
    ("unset key", "candidates:\n  - {name: a, judge: x, api_key_env: JK_UNSET_VAR_X, rubric: criteria}\n", "JK_UNSET_VAR_X"),
    ("bad setting", "candidates:\n  - {name: a, judge: x, rubric: criteria, settings: {samples: 0}}\n", "samples"),
    ("effort for a local judge", "candidates:\n  - {name: a, judge: local, rubric: criteria, settings: {reasoning_effort: low}}\n", "cannot take it"),
    ("bad effort", "candidates:\n  - {name: a, judge: x, rubric: criteria, settings: {reasoning_effort: max}}\n", "reasoning_effort"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "needle"), [c[1:] for c in BAD_CANDIDATES], ids=[c[0] for c in BAD_CANDIDATES]
)
def test_bad_candidates_file_fails_before_any_call(setup: dict[str, Any], text: str, needle: str) -> None:
    bad = setup["tmp"] / "bad.yaml"
    bad.write_text(text)
    proc = run_cli(*select_args(setup, candidates=bad), env=ENV)
    assert_clean_error(proc, needle)
    assert not setup["out"].exists() and not (setup["tmp"] / "select.work").exists()
    assert all(len(s.calls) == 0 for s in setup["servers"].values())


def test_bad_options_fail_before_any_call(setup: dict[str, Any]) -> None:
    cases = [
        (["--metric", "kendall_per_group"], "--group"),
        (["--metric", "cosine"], "unknown metric"),
        (["--test-share", "1.5"], "--test-share"),
        (["--margin", "-1"], "--margin"),
        (["--report", str(setup["paths"]["human"])], "one of the inputs"),
        (["--report", str(setup["out"])], "same file"),
    ]
    for extra, needle in cases:
        assert_clean_error(run_cli(*select_args(setup, *extra), env=ENV), needle)
    args = select_args(setup)
    args[args.index("--out") + 1] = str(setup["paths"]["dataset"])
    assert_clean_error(run_cli(*args, env=ENV), "one of the inputs")
    labels = setup["paths"]["human"]
    labels.write_text(labels.read_text() + "zz9,3\n")
    assert_clean_error(run_cli(*select_args(setup), env=ENV), "zz9")
    assert all(len(s.calls) == 0 for s in setup["servers"].values())
    assert not setup["out"].exists()


VALID_USER_J2 = """# Criterion: {{ criterion.name }}
{{ criterion.description }}
Humans reward answers that name the exact item; rate strictly.

# Input
{{ input | fence("input") }}

# Response to rate
{{ response | fence("response") }}

Answer with JSON of the form {"score": N}, where N is a whole number from 1 to 5.
"""


def proposer_reply(request: dict[str, Any]) -> Reply:
    """Variant 1: a valid user.j2; variant 2: a template that does not compile; variant 3: a file the
    parent rubric does not have."""
    text = user_message(request)
    if "variant 1 of" in text:
        files = {"user.j2": VALID_USER_J2}
    elif "variant 2 of" in text:
        files = {"user.j2": "{% if %}broken"}
    else:
        files = {"extra.py": "print('no')"}
    return Reply(content=json.dumps({"summary": "stricter", "files": files}))


def test_propose_writes_valid_variants_and_drops_invalid_ones(
    setup: dict[str, Any], make_server: Callable[..., ScriptedServer]
) -> None:
    from judgekit.rubric import load_rubric

    proposer = make_server()
    proposer.add_rule(None, proposer_reply)
    result = run_select(
        setup, "--propose", "3", "--proposer", "openai/proposer", "--proposer-api-base", proposer.base_url,
        "--proposer-api-key-env", KEY_ENV,
    )  # fmt: skip
    variants = {v["name"]: v for v in result["variants"]}
    assert list(variants) == ["good-v1", "good-v2", "good-v3"]
    assert all(v["parent"] == "good" for v in variants.values())
    v1, v2, v3 = variants.values()
    assert v1["valid"] and v1["reason"] is None
    assert load_rubric(v1["folder"]).name == "criteria"  # a rubric folder like any other
    assert (Path(v1["folder"]) / "user.j2").read_text() == VALID_USER_J2
    assert "+Humans reward answers" in v1["diff"]
    assert not v2["valid"] and "user.j2" in v2["reason"]
    assert not v3["valid"] and "extra.py" in v3["reason"]
    rows = by_name(result)
    assert "good-v1" in rows and rows["good-v1"]["dev"]["n"] == len(result["split"]["dev"])
    assert "good-v2" not in rows and "good-v3" not in rows
    # the proposer saw dev disagreements, never a test item
    calls = proposer.calls
    assert len(calls) == 3
    test_texts = [text_of(t) for t in result["split"]["test"]]
    dev_texts = [text_of(t) for t in result["split"]["dev"]]
    for call in calls:
        body = json.dumps(call["request"])
        assert not any(t in body for t in test_texts)
        assert any(t in body for t in dev_texts)
    # v1 ties with good on agreement (the same scripted judge) and its shorter prompt costs less: chosen
    assert rows["good-v1"]["dev"]["value"] == rows["good"]["dev"]["value"]
    assert rows["good-v1"]["cost_per_1k"] < rows["good"]["cost_per_1k"]
    assert result["chosen"]["name"] == "good-v1"
    # the HTML report: the frontier plot, the candidate table, the chosen one's test result, the rubric diffs
    html_path = setup["tmp"] / "select.html"
    proc = run_cli("report", str(setup["out"]), "--out", str(html_path))
    assert proc.returncode == 0, proc.stderr
    page = html.unescape(html_path.read_text())
    assert 'data-plot="select-frontier"' in page and "<svg" in page
    for name in ("good", "ok", "bad", "good-v1"):
        assert f"<td>{name}</td>" in page
    test = result["chosen"]["test"]
    assert f"chosen good-v1: test spearman {test['value']:.3f}" in page
    assert "+Humans reward answers" in page and "dropped: " in page


def test_propose_needs_a_proposer(setup: dict[str, Any]) -> None:
    assert_clean_error(run_cli(*select_args(setup, "--propose", "2"), env=ENV), "--proposer")
    assert all(len(s.calls) == 0 for s in setup["servers"].values())


def test_frontier_and_choice_worked_by_hand() -> None:
    from judgekit.select.choose import Point, choose, frontier
    from judgekit.select.paired import Difference

    points = {
        "a": Point(0.90, 2.0),  # best
        "b": Point(0.85, 0.5),  # cheaper, a little worse: on the frontier
        "c": Point(0.80, 1.0),  # worse and dearer than b: dominated
        "d": Point(0.95, None),  # unknown price: best agreement, never cheapest
    }
    assert frontier(points) == {"a", "b", "d"}
    # a bootstrap of b - d: 100 values -0.140, -0.139, ..., -0.041
    boot = np.arange(100) / 1000 - 0.14
    diffs = {("b", "d"): Difference(-0.1, boot, 30)}

    def diff(x: str, y: str) -> Difference | None:
        return diffs.get((x, y))

    assert choose(points, None, None, diff)[0] == "d"
    assert choose(points, 1.5, None, diff)[0] == "b"  # a costs 2.0 > budget
    # margin 0.1365: 4 values at or below -0.1365, p = (1 + 4) / 101 < 0.05: b is non-inferior and cheaper
    name, reason = choose(points, None, 0.1365, diff)
    assert name == "b" and "(one-sided p = 0.0495" in reason
    # margin 0.1305: 10 values at or below -0.1305, p = 11 / 101 > 0.05: the best stays
    assert choose(points, None, 0.1305, diff)[0] == "d"


def test_a_candidate_can_be_a_panel_file(tmp_path: Path, make_server: Callable[..., ScriptedServer]) -> None:
    one, two = make_server(), make_server()
    script_judge(one, LABELS, exact)
    script_judge(two, LABELS, off_by_one_every(4))
    paths = write_inputs(tmp_path, LABELS)
    (tmp_path / "panel.yaml").write_text(
        "judges:\n"
        f"  - {{model: openai/judge, api_base: '{one.base_url}', api_key_env: {KEY_ENV}, name: one}}\n"
        f"  - {{model: openai/judge, api_base: '{two.base_url}', api_key_env: {KEY_ENV}, name: two}}\n"
    )
    cands = tmp_path / "c.yaml"
    cands.write_text(
        "candidates:\n"
        "  - {name: panel, judge: panel.yaml, rubric: criteria, price: {input: 1, output: 1}}\n"  # beside c.yaml
        f"  - {{name: single, judge: openai/judge, api_base: '{two.base_url}', api_key_env: {KEY_ENV}, "
        "rubric: criteria, price: {input: 1, output: 1}}\n"
    )
    s = {"paths": paths, "candidates": cands, "out": tmp_path / "s.json"}
    result = run_select(s)
    dev = set(result["split"]["dev"])
    rows = by_name(result)
    assert rows["panel"]["dev"]["n"] == len(dev)
    assert items_called(one) >= dev and items_called(two) >= dev  # both panel judges judged dev
    # a panel of two judges makes two calls per dev item
    assert rows["panel"]["calls"] == 2 * len(dev)
    # an unset key variable in the panel file fails before any call
    (tmp_path / "panel.yaml").write_text(
        "judges:\n  - {model: openai/judge, api_key_env: JK_UNSET_PANEL_VAR}\n"
    )
    before = len(one.calls) + len(two.calls)
    assert_clean_error(run_cli(*select_args(s), env=ENV), "JK_UNSET_PANEL_VAR")
    assert len(one.calls) + len(two.calls) == before


def test_a_judge_that_cannot_judge_stops_the_run(
    tmp_path: Path, make_server: Callable[..., ScriptedServer]
) -> None:
    good, dead = make_server(), make_server()
    script_judge(good, LABELS, exact)
    dead.add_rule(None, Reply.error(401))
    paths = write_inputs(tmp_path, LABELS)
    entries = [{"name": "good", "server": good, "price": 1.0}, {"name": "dead", "server": dead, "price": 1.0}]
    s = {
        "paths": paths,
        "candidates": candidates_yaml(tmp_path / "c.yaml", entries),
        "out": tmp_path / "s.json",
    }
    proc = run_cli(*select_args(s), env=ENV)
    assert_clean_error(proc, "candidate 'dead'", "401", code=3)
    assert not s["out"].exists()
    # the run stopped on dev: no judge got to the test split (good judged its dev items only)
    assert len(items_called(good)) == 60 - round(0.3 * 60)
