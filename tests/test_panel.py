"""Judge panels: several judges (different models on the scripted server) score independently and combine.

Expected figures come from the server's log (which model answered what for which item); Krippendorff's
alpha is computed here with the ``krippendorff`` package on that table.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest

from judgekit import ScoreSettings, score
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

DATASET = REPO / "examples" / "reference" / "dataset.json"
RESPONSES = REPO / "examples" / "reference" / "responses.json"
ITEMS = json.loads(DATASET.read_text())
IDS = [it["id"] for it in ITEMS]
VALUE = {"correct": 1.0, "partially_correct": 0.5, "incorrect": 0.0}
JUDGES = ["judge-a", "judge-b", "judge-c"]
# per item: what each model answers; None = that model fails on the item (HTTP 500)
PLAN: dict[str, tuple[str | None, ...]] = {
    "r1": ("correct", "correct", "incorrect"),
    "r2": ("partially_correct", "incorrect", "correct"),
    "r3": ("correct", "correct", "correct"),
    "r4": ("incorrect", "incorrect", "partially_correct"),
    "r5": ("correct", "partially_correct", None),
}


def script(server: ScriptedServer) -> None:
    for item in ITEMS:
        for model, verdict in zip(JUDGES, PLAN[item["id"]], strict=True):
            match = {"model": model, "user_contains": item["input"]}
            if verdict is None:
                server.add_rule(match, Reply.error(500))
            else:
                server.add_rule(match, Reply(content=json.dumps({"reason": "r", "verdict": verdict})))


def settings(server: ScriptedServer, **kw: Any) -> ScoreSettings:
    kw.setdefault("rubric", "reference")
    kw.setdefault("min_coverage", 0)  # panels here test coverage figures themselves, not the floor
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, max_retries=0),
        **kw,
    )


def table_from_log(server: ScriptedServer) -> dict[str, dict[str, float | None]]:
    """model -> item -> the value of its answer (None when the call failed)."""
    out: dict[str, dict[str, float | None]] = {m: {} for m in JUDGES}
    for call in server.calls:
        text = user_message(call["request"])
        item = next(it["id"] for it in ITEMS if it["input"] in text)
        value = VALUE[json.loads(call["content"])["verdict"]] if call["status"] == 200 else None
        out[call["model"]][item] = value
    return out


def combine(values: list[float], method: str) -> float:
    if method == "mean":
        return statistics.fmean(values)
    if method == "median":
        return statistics.median(values)
    counts = {v: values.count(v) for v in values}
    top = max(counts.values())
    winners = [v for v, c in counts.items() if c == top]
    return winners[0] if len(winners) == 1 else statistics.median(values)


@pytest.mark.parametrize("method", ["mean", "median", "majority"])
def test_panel_combines_judges(scripted_server: ScriptedServer, tmp_path: Path, method: str) -> None:
    script(scripted_server)
    judges = [f"openai/{m}" for m in JUDGES]
    out = tmp_path / "panel.json"
    score(DATASET, RESPONSES, judge=judges, settings=settings(scripted_server, combine=method), out=out)
    assert scripted_server.count() == 3 * len(ITEMS)  # each judge scored every item
    table = table_from_log(scripted_server)
    written = json.loads(out.read_text())
    panel = written["panel"]
    expected: dict[str, float | None] = {}
    for q in written["per_question_scores"]:
        values = [table[m][q["id"]] for m in JUDGES]
        # a unit is the panel's only when every judge scored it (judge-c failed on r5)
        expected[q["id"]] = None if None in values else combine(values, method)  # type: ignore[arg-type]
        assert q["score"] == (None if expected[q["id"]] is None else pytest.approx(expected[q["id"]]))
        per_judge = {k.split("openai/")[1].split("@")[0]: v for k, v in q["judges"].items()}
        assert per_judge == {m: table[m][q["id"]] for m in JUDGES}
    assert expected["r5"] is None
    assert written["score"] == pytest.approx(statistics.fmean(v for v in expected.values() if v is not None))
    assert panel["method"] == method
    for entry, model in zip(panel["judges"], JUDGES, strict=True):
        assert f"openai/{model}@" in entry["identity"]
        scored = [v for v in table[model].values() if v is not None]
        assert entry["score"] == pytest.approx(statistics.fmean(scored))
        assert entry["coverage"]["scored"] == len(scored)
    # the panel's unit is scored when every judge scored it: r5 (judge-c failed) is unscored, and says why
    assert written["coverage"]["scored"] == 4 and written["coverage"]["total"] == 5
    assert [(u["id"], u["aspect"]) for u in written["unscored"]] == [("r5", "overall")]
    reason = written["unscored"][0]["reason"]
    assert "scored by 2 of 3 judges" in reason and "judge-c" in reason and "judge-a" not in reason
    assert panel["coverage"] == {
        "definition": "a unit is scored by the panel only when every judge scored it",
        "units": 5,
        "every_judge": 4,
        "some_judges": 1,
        "no_judge": 0,
        "judgments_scored": 14,
        "judgments_total": 15,
    }
    # Krippendorff's alpha on the judges x items table from the server's log
    rel = np.array([[np.nan if table[m][i] is None else table[m][i] for i in IDS] for m in JUDGES])
    alpha = panel["alpha"]["units"]
    assert alpha["raters"] == 3 and alpha["units"] == 5
    assert alpha["interval"] == pytest.approx(krippendorff.alpha(rel, level_of_measurement="interval"))
    assert alpha["nominal"] == pytest.approx(krippendorff.alpha(rel, level_of_measurement="nominal"))
    assert written["meta"]["judges"] == [e["identity"] for e in panel["judges"]]
    rows = [json.loads(line) for line in (tmp_path / "panel.log.jsonl").read_text().splitlines()]
    assert {r["judge"] for r in rows if r["type"] == "verdict"} == set(written["meta"]["judges"])


def test_each_judge_is_cached_separately(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script(scripted_server)
    cache = tmp_path / "c.sqlite"
    judges = ["openai/judge-a", "openai/judge-b"]
    first = score(DATASET, RESPONSES, judge=judges, settings=settings(scripted_server), cache=cache)
    assert scripted_server.count() == 10
    second = score(DATASET, RESPONSES, judge=judges, settings=settings(scripted_server), cache=cache)
    assert scripted_server.count() == 10 and second.totals.cache_hits == 10
    assert second.model_dump()["per_question_scores"] == first.model_dump()["per_question_scores"]
    db = sqlite3.connect(cache)
    assert db.execute("SELECT COUNT(DISTINCT judge) FROM completions").fetchone()[0] == 2
    # adding a third judge judges only for that judge
    score(
        DATASET, RESPONSES, judge=[*judges, "openai/judge-c"], settings=settings(scripted_server), cache=cache
    )
    assert scripted_server.count() == 15
    assert {c["model"] for c in scripted_server.calls[10:]} == {"judge-c"}


def test_pairwise_panel_by_majority(scripted_server: ScriptedServer) -> None:
    # judge-a and judge-b always pick the response shown first (position bias); judge-c always picks A.
    ds = REPO / "examples" / "pairwise" / "dataset.json"
    ra = REPO / "examples" / "pairwise" / "responses_a.json"
    rb = REPO / "examples" / "pairwise" / "responses_b.json"
    a_texts = json.loads(ra.read_text())

    def pick_a(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        first_is_a = any(
            text.index("# First response") < text.find(t) < text.index("# Second response")
            for t in a_texts.values()
            if t in text
        )
        return Reply(content=json.dumps({"winner": "first" if first_is_a else "second"}))

    scripted_server.add_rule({"model": "judge-c"}, pick_a)
    scripted_server.add_rule(None, Reply(content='{"winner": "first"}'))
    s = settings(scripted_server, rubric="pairwise", combine="majority")
    result = score(
        ds,
        responses_a=ra,
        responses_b=rb,
        judge=["openai/judge-a", "openai/judge-b", "openai/judge-c"],
        settings=s,
    )
    assert scripted_server.count() == 3 * 2 * 4
    # per order, the majority is "first" (2 of 3): the orders disagree -> every pair is a tie
    assert {q.pairwise["combined"] for q in result.per_question_scores} == {"tie"}  # type: ignore[attr-defined]
    assert result.panel is not None
    by_model = {e["identity"].split("openai/")[1].split("@")[0]: e for e in result.panel["judges"]}
    assert by_model["judge-c"]["score"] == 1.0 and by_model["judge-c"]["pairwise"]["counts"]["win"] == 4
    assert by_model["judge-a"]["pairwise"]["position_consistency"]["value"] == 0.0
    # nominal alpha over the order units: judge-c disagrees with a and b on every swapped order
    assert result.panel["alpha"]["units"]["units"] == 8


def score_args(out: Path, *extra: str) -> list[str]:
    """``judgekit score`` of the reference example into ``out``, without retries."""
    files = ["--dataset", str(DATASET), "--responses", str(RESPONSES), "--out", str(out)]
    return ["score", "--rubric", "reference", "--max-retries", "0", *files, *extra]


def test_cli_panel_and_duplicate_judge(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script(scripted_server)
    out = tmp_path / "p.json"
    judges = [
        "--judge",
        "openai/judge-a",
        "--judge",
        "openai/judge-b",
        "--api-base",
        scripted_server.base_url,
    ]
    proc = run_cli(*score_args(out, *judges, "--combine", "median"))
    assert proc.returncode == 0, proc.stderr
    assert "panel     2 judges combined by median" in proc.stdout and "Krippendorff" in proc.stdout
    assert len(json.loads(out.read_text())["panel"]["judges"]) == 2
    out2 = tmp_path / "dup.json"
    judges = [
        "--judge",
        "openai/judge-a",
        "--judge",
        "openai/judge-a",
        "--api-base",
        scripted_server.base_url,
    ]
    proc = run_cli(*score_args(out2, *judges))
    assert_clean_error(proc, "openai/judge-a", "twice")
    assert not out2.exists()


def test_self_consistency_of_samples(scripted_server: ScriptedServer) -> None:
    # three samples per item; the judge wavers on r2 only
    for item in ITEMS:
        replies = ["correct", "incorrect", "correct"] if item["id"] == "r2" else ["correct"] * 3
        for verdict in replies:
            scripted_server.add_rule(
                {"user_contains": item["input"]},
                Reply(content=json.dumps({"reason": "", "verdict": verdict})),
                times=1,
            )
    result = score(
        DATASET,
        RESPONSES,
        judge="openai/judge-a",
        settings=settings(scripted_server, samples=3, temperature=1.0, combine="majority"),
    )
    assert result.by_id()["r2"].score == 1.0  # majority of correct, incorrect, correct
    assert result.consistency is not None
    alpha = result.consistency["judges"][0]["alpha"]
    samples = {it["id"]: [] for it in ITEMS}  # type: dict[str, list[float]]
    for call in scripted_server.calls:
        item = next(it["id"] for it in ITEMS if it["input"] in user_message(call["request"]))
        samples[item].append(VALUE[json.loads(call["content"])["verdict"]])
    # sample k of every item is one "rater"; the order of an item's samples does not change alpha
    rel = np.array([[samples[i][k] for i in IDS] for k in range(3)])
    assert alpha["nominal"] == pytest.approx(krippendorff.alpha(rel, level_of_measurement="nominal"))


def test_a_judge_that_fails_completely_shows_in_the_panel_coverage(
    scripted_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # judge-a answers every item; judge-b answers only prose (never parseable), so the run still completes
    scripted_server.add_rule({"model": "judge-b"}, Reply(content="I find this answer quite convincing."))
    scripted_server.add_rule(None, Reply(content=json.dumps({"reason": "r", "verdict": "correct"})))
    out = tmp_path / "panel.json"
    result = score(
        DATASET,
        RESPONSES,
        judge=["openai/judge-a", "openai/judge-b"],
        settings=settings(scripted_server),
        out=out,
    )
    assert scripted_server.count(lambda c: c["model"] == "judge-b") >= len(
        ITEMS
    )  # it was asked, and answered
    written = json.loads(out.read_text())
    # not one unit was scored by the whole panel: coverage 0, no score, each unit saying which judge failed
    assert written["coverage"]["scored"] == 0 and written["coverage"]["total"] == len(ITEMS)
    assert written["score"] is None
    assert written["panel"]["coverage"]["every_judge"] == 0
    assert written["panel"]["coverage"]["judgments_scored"] == len(ITEMS)
    assert written["panel"]["coverage"]["judgments_total"] == 2 * len(ITEMS)
    for u in written["unscored"]:
        assert u["reason"].startswith("unparseable") and "judge-b" in u["reason"]
    for q in written["per_question_scores"]:
        assert q["score"] is None
        judges = {k.split("openai/")[1].split("@")[0]: v for k, v in q["details"][0]["judges"].items()}
        assert judges == {"judge-a": 1.0, "judge-b": None}
    by_model = {e["identity"].split("openai/")[1].split("@")[0]: e for e in written["panel"]["judges"]}
    assert by_model["judge-a"]["coverage"]["scored"] == len(ITEMS) and by_model["judge-a"]["score"] == 1.0
    assert by_model["judge-b"]["coverage"]["scored"] == 0 and by_model["judge-b"]["score"] is None
    # the terminal summary's headline shows the failure too
    from judgekit.scoring.summary import print_score_summary

    print_score_summary(result, out)
    lines = capsys.readouterr().out.splitlines()
    coverage = next(ln for ln in lines if ln.startswith("coverage"))
    assert f"0/{len(ITEMS)} units scored by every judge of the panel (0.0%)" in coverage
    assert f"judge-b@{scripted_server.base_url} scored 0/{len(ITEMS)}" in coverage
    assert "judge-a" not in coverage
    unscored = next(ln for ln in lines if ln.startswith("unscored"))
    assert f"{len(ITEMS)} x unparseable" in unscored
