"""Free-text verdicts (``output.pattern``): load-time checks, scoring end to end against the scripted server
answering in prose, re-asks, unscored reasons, ``validate`` on raw completions, and MT-Bench's own rule.

Expected values come from what the server was scripted to answer, never from judgekit's output.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from judgekit import load_rubric
from judgekit.errors import RubricError
from judgekit.rubric.parse import parse_completion
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

CRITERIA = REPO / "examples" / "criteria"
PAIRWISE = REPO / "examples" / "pairwise"
ITEMS = {it["id"]: it["input"] for it in json.loads((CRITERIA / "dataset.json").read_text())}


# ---------------------------------------------------------------------------------------------------------
# Load-time validation: a bad pattern is one RubricError line naming rubric.yaml
# ---------------------------------------------------------------------------------------------------------


def write_rubric(folder: Path, pattern: str, **extra: str) -> Path:
    folder.mkdir()
    lines = [
        "name: custom",
        "description: test",
        "scale: {min: 1, max: 5}",
        f"mode: {extra.get('mode', 'per_item')}",
        extra.get("modes", "modes: {per_item: {user: user.j2}}"),
        "reask: reask.j2",
        "question_score: raw",
        extra.get("inputs", ""),
        extra.get("method", ""),
        "output:",
        "  fields: {score: {type: integer, enum: [1, 2, 3, 4, 5]}}",
        "  score: score",
        "  pattern: " + json.dumps(pattern),
    ]
    (folder / "rubric.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "user.j2").write_text("Rate {{ response }}. Answer 'Score: N'.", encoding="utf-8")
    (folder / "reask.j2").write_text("{{ error }}", encoding="utf-8")
    return folder


BAD_PATTERNS: list[tuple[str, dict[str, str], str]] = [
    (r"Score: (?P<score>\d", {}, "output.pattern does not compile: missing ), unterminated subpattern"),
    (r"Score: (\d)", {}, "output.pattern must have one named group per output field ['score'], it has []"),
    (r"(?P<score>\d) (?P<why>.+)", {}, "it has ['score', 'why']"),
    (r"(?P<score>\d*)", {}, "output.pattern matches empty text"),
    (
        r"Score: (?P<score>\d)",
        {
            "mode": "all_aspects",
            "modes": "modes: {all_aspects: {user: user.j2}}",
            "inputs": "inputs: {aspects: rubric_aspects}",
        },
        "mode all_aspects needs JSON",
    ),
    (r"Score: (?P<score>\d)", {"method": "score_method: logprob_weighted"}, "logprob_weighted needs JSON"),
]


@pytest.mark.parametrize("pattern,extra,message", BAD_PATTERNS)
def test_bad_patterns_fail_at_load(tmp_path: Path, pattern: str, extra: dict[str, str], message: str) -> None:
    folder = write_rubric(tmp_path / "bad", pattern, **extra)
    with pytest.raises(RubricError) as err:
        load_rubric(folder)
    text = str(err.value)
    assert "\n" not in text and str(folder / "rubric.yaml") in text and message in text


def test_bad_pattern_on_the_command_line(tmp_path: Path) -> None:
    folder = write_rubric(tmp_path / "bad", r"Score: (\d)")
    proc = run_cli("rubrics", "show", str(folder))
    assert_clean_error(proc, "rubric.yaml", "one named group per output field")
    show = run_cli("rubrics", "show", "geval")
    assert show.returncode == 0 and "free text read with the pattern" in show.stdout


def test_pattern_rubric_plans_no_schema() -> None:
    from judgekit.data import Item

    rubric = load_rubric("geval")
    (plan,) = rubric.plan(Item(id="x", fields={"input": "q"}), "an answer")
    assert plan.schema is None
    assert load_rubric("criteria").plan(Item(id="x", fields={"input": "q"}), "an answer")[0].schema


# ---------------------------------------------------------------------------------------------------------
# `judgekit score` end to end: the server answers in prose; re-asks that succeed and that end unscored
# ---------------------------------------------------------------------------------------------------------


def all_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in request["messages"])


def script_geval(server: ScriptedServer) -> None:
    def is_item(item: str, reask: bool | None = None) -> Any:
        def match(req: dict[str, Any]) -> bool:
            text = all_text(req)
            return ITEMS[item] in text and (reask is None or ("could not be read" in text) == reask)

        return match

    server.add_rule(is_item("c1"), Reply(content="The advice is in a sensible order.\n\nScore: 4"))
    server.add_rule(is_item("c2"), Reply(content="2\n\nThe points are only loosely connected."))
    server.add_rule(is_item("c3", reask=True), Reply(content="Score: 3"))  # the re-ask succeeds
    server.add_rule(is_item("c3"), Reply(content="Rating: 7"))  # out of range
    server.add_rule(is_item("c4"), Reply(content="Rating: 7 out of 5!"))  # every time: ends unscored
    server.add_rule(is_item("c5"), Reply(content="**Score:** 5"))


def test_geval_scores_free_text_with_reasks(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script_geval(scripted_server)
    out = tmp_path / "geval.json"
    args = ("score", "--rubric", "geval", "--dataset", str(CRITERIA / "dataset.json"))
    args += ("--responses", str(CRITERIA / "responses.json"), "--judge", "openai/judge")
    # c4 stays unscored on purpose (4/5 units): the coverage floor is not what this test is about
    args += ("--min-coverage", "0", "--api-base", scripted_server.base_url, "--out", str(out))
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    calls = scripted_server.calls
    # c1, c2, c5 answered at once; c3 once re-asked; c4 asked 3 times (2 re-asks, the default)
    assert len(calls) == 8
    assert all("response_format" not in c["request"] for c in calls)  # no JSON schema for a pattern rubric
    reasks = [c for c in calls if "could not be read" in user_message(c["request"])]
    assert len(reasks) == 3
    for c in reasks:
        said = user_message(c["request"])
        assert "score=7 is above the maximum 5" in said and 'written as "Score: N"' in said
        answered = c["request"]["messages"][-2]  # the unreadable answer stays in the conversation
        assert answered["role"] == "assistant" and answered["content"].startswith("Rating: 7")
    written = json.loads(out.read_text())
    scores = {q["id"]: q["score"] for q in written["per_question_scores"]}
    assert scores == {"c1": 4, "c2": 2, "c3": 3, "c4": None, "c5": 5}
    assert written["score"] == pytest.approx((4 + 2 + 3 + 5) / 4)
    (unscored,) = written["unscored"]
    assert unscored["id"] == "c4"
    assert (
        unscored["reason"] == "unparseable after 3 answers: invalid verdict: score=7 is above the maximum 5"
    )
    assert written["totals"]["reasks"] == 3
    # the cache serves the scored units again, with no call; c4 ended unscored, so its failed answers are
    # not reused: the rerun asks it again (3 calls: the first answer and 2 re-asks, answered as before)
    scripted_server.clear_calls()
    again = run_cli(*args[:-1], str(tmp_path / "again.json"))
    assert again.returncode == 0, again.stderr
    assert len(scripted_server.calls) == 3
    assert all(ITEMS["c4"] in all_text(c["request"]) for c in scripted_server.calls)
    assert (
        json.loads((tmp_path / "again.json").read_text())["per_question_scores"]
        == written["per_question_scores"]
    )


def test_mtbench_pairwise_both_orders(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    a = json.loads((PAIRWISE / "responses_a.json").read_text())
    b = json.loads((PAIRWISE / "responses_b.json").read_text())

    def judge(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        item = next(k for k in a if a[k] in text and b[k] in text)
        a_first = text.index(a[item]) < text.index(b[item])
        if item == "p2":
            return Reply(content="Both names work equally well.\n\n[[C]]")
        if item == "p3":  # position bias: always the first answer shown
            return Reply(content="Assistant A is better. [[A]]")
        # otherwise A's system wins, written the MT-Bench way with a repeated verdict
        verdict = "[[A]]" if a_first else "[[B]]"
        return Reply(content=f"Verdict: {verdict}\nExplanation: it answers the request.\nFinal: {verdict}")

    scripted_server.add_rule(None, judge)
    out = tmp_path / "mt.json"
    proc = run_cli(
        "score", "--rubric", "mtbench_pairwise", "--dataset", str(PAIRWISE / "dataset.json"),
        "--responses-a", str(PAIRWISE / "responses_a.json"), "--responses-b", str(PAIRWISE / "responses_b.json"),
        "--judge", "openai/judge", "--api-base", scripted_server.base_url, "--bootstrap", "100", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    calls = scripted_server.calls
    assert len(calls) == 8 and all("response_format" not in c["request"] for c in calls)
    written = json.loads(out.read_text())
    pairs = {q["id"]: q["pairwise"] for q in written["per_question_scores"]}
    assert pairs["p1"] == {"original": "1", "swapped": "1", "combined": "1", "consistent": True}
    assert pairs["p2"] == {"original": "tie", "swapped": "tie", "combined": "tie", "consistent": True}
    assert pairs["p3"] == {"original": "1", "swapped": "2", "combined": "tie", "consistent": False}
    assert pairs["p4"]["combined"] == "1"
    assert written["score"] == pytest.approx((1 + 0.5 + 0.5 + 1) / 4)


# ---------------------------------------------------------------------------------------------------------
# `judgekit validate --judge completions.jsonl --rubric rubrics/geval`
# ---------------------------------------------------------------------------------------------------------


def test_validate_reads_free_text_completions(tmp_path: Path) -> None:
    rows = [
        {"id": "i1", "system": "m1", "completions": ["4", "Score: 5", "I like it."]},
        {"id": "i2", "system": "m1", "completions": ["2\n\nLoosely connected.", "Rating: 2"]},
        {"id": "i3", "system": "m2", "completions": ["Score: 7", "nothing useful"]},  # no usable sample
        {"id": "i4", "system": "m2", "completions": ["**Score:** 1"]},
        {"id": "i5", "system": "m1", "completions": ["Score: 3", "Score: 2\nScore: 4"]},
        {"id": "i6", "system": "m2", "completions": ["5/5"]},
    ]
    judge = tmp_path / "completions.jsonl"
    judge.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "h1", "h2"])
        w.writerows([["i1", 4, 5], ["i2", 2, 3], ["i3", 3, 3], ["i4", 1, 2], ["i5", 3, 3], ["i6", 5, 4]])
    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--rubric", str(REPO / "rubrics" / "geval"), "--human", str(labels),
        "--scale", "1-5", "--system", "system", "--n-boot", "0", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (d,) = json.loads(out.read_text())["dimensions"]
    # 11 samples; unparseable: "I like it.", "Score: 7", "nothing useful"; "Score: 2 ... 4" reads 2 (the
    # geval rubric's output.match is first, G-Eval's rule)
    assert {k: d["judge_samples"][k] for k in ("rubric", "samples", "parsed", "unparseable")} == {
        "rubric": "geval",
        "samples": 11,
        "parsed": 8,
        "unparseable": 3,
    }
    assert d["n_used"] == 5 and d["dropped"][0]["examples"] == ["i3"]
    assert "11 read, 8 parsed, 3 unparseable" in proc.stdout
    # each item's judge score is the mean of its parsed samples (by hand from the rows above)
    assert {x["id"]: x["judge"] for x in d["disagreements"]} == {
        "i1": 4.5,
        "i2": 2,
        "i4": 1,
        "i5": 2.5,
        "i6": 5,
    }
    # the extra "system" field is kept for --system: two systems (m1: i1 i2 i5; m2: i4 i6)
    assert d["correlations"]["n_systems"] == 2


# ---------------------------------------------------------------------------------------------------------
# Outside reference: MT-Bench's published parsing rule for "[[A]]"/"[[B]]"/"[[C]]" verdicts
# ---------------------------------------------------------------------------------------------------------


def mt_bench_rule(judgment: str) -> str:
    """FastChat llm_judge (common.py, run_judge_pair, output format "[[A]]"), restated: the winner is A if the
    text contains "[[A]]" anywhere, else B if it contains "[[B]]", else a tie if it contains "[[C]]", else
    "error". Substring tests, case-sensitive, in that priority order."""
    for token, winner in (("[[A]]", "A"), ("[[B]]", "B"), ("[[C]]", "tie")):
        if token in judgment:
            return winner
    return "error"


JUDGMENTS = [
    "[[A]]",
    "[[B]]",
    "[[C]]",
    "Assistant A follows the instruction; Assistant B does not.\n\n[[A]]",
    "Both miss the point about kidney failure, but B at least warns the user.\nFinal verdict: [[B]]",
    "They are equally helpful, so my verdict is a tie: [[C]].",
    "[[A]]\n\nExplanation: A gives the exact command requested. Verdict again: [[A]]",
    "The assistants are close. Verdict:[[B]]",
    "Assistant A is better.",  # no verdict token
    "[[a]]",  # wrong case
    "[A]",  # single brackets are not the format
    "[[ A ]]",
    "",
    # several different tokens: MT-Bench takes the first in A > B > C priority, and so does the rubric
    # (output.match: priority)
    "At first I leaned to [[B]], but on reflection [[A]].",
    "Not [[C]]: Assistant B is clearly better. [[B]]",
    "[[C]] [[B]] [[A]]",
]

MTBENCH_VERDICT = {1.0: "A", 0.0: "B", 0.5: "tie"}


@pytest.mark.parametrize("judgment", JUDGMENTS)
def test_mtbench_rubric_agrees_with_the_published_rule(judgment: str) -> None:
    rubric = load_rubric("mtbench_pairwise")
    result = parse_completion(judgment, rubric)
    ours = MTBENCH_VERDICT[result.score] if result.ok and result.score is not None else "error"
    assert ours == mt_bench_rule(judgment)


def test_editing_only_the_pattern_rereads_the_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """The pattern is not part of the request: cached raw answers are parsed again with the new one."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(REPO / "rubrics" / "geval", folder)
    spec = folder / "rubric.yaml"
    spec.write_text(
        re.sub(r"(?m)^  pattern: .*$", "  pattern: 'First: (?P<score>\\\\d+)'", spec.read_text()),
        encoding="utf-8",
    )
    scripted_server.add_rule(None, Reply(content="First: 4\nSecond: 2"))
    args = ("score", "--rubric", str(folder), "--dataset", str(CRITERIA / "dataset.json"))
    args += ("--responses", str(CRITERIA / "responses.json"), "--judge", "openai/judge")
    args += ("--api-base", scripted_server.base_url, "--out")
    first = run_cli(*args, str(tmp_path / "first.json"))
    assert first.returncode == 0, first.stderr
    assert len(scripted_server.calls) == len(ITEMS)
    spec.write_text(spec.read_text().replace("First: ", "Second: "), encoding="utf-8")
    second = run_cli(*args, str(tmp_path / "second.json"))
    assert second.returncode == 0, second.stderr
    assert len(scripted_server.calls) == len(ITEMS)  # no new call
    one, two = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("first", "second"))
    assert one["score"] == 4 and two["score"] == 2
    assert one["meta"]["rubric"]["content_sha256"] != two["meta"]["rubric"]["content_sha256"]
