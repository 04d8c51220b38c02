"""The `pairwise` rubric: both orders per pair, swapped verdicts mapped back, ties, labels and input layouts.

Through litellm and real HTTP to the scripted server. Expected verdicts are read from the server's own log
(which response it was shown first, and what it answered), never from judgekit's output.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.data import load_pairs
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

EXAMPLES = REPO / "examples" / "pairwise"
DATASET = EXAMPLES / "dataset.json"
RESP_A = EXAMPLES / "responses_a.json"
RESP_B = EXAMPLES / "responses_b.json"
LLMBAR = EXAMPLES / "llmbar.json"
ITEMS = json.loads(DATASET.read_text())
A = json.loads(RESP_A.read_text())
B = json.loads(RESP_B.read_text())


def settings(server: ScriptedServer, **kw: Any) -> ScoreSettings:
    kw.setdefault("rubric", "pairwise")
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, concurrency=8),
        **kw,
    )


def shown_first(text: str, a: str, b: str) -> str:
    """Which side the judge saw first, from the rendered prompt."""
    ia, ib = text.index(a), text.index(b)
    return "a" if ia < ib else "b"


# A scripted judge per pair: what it prefers, whatever the order.
#   p1: always the response shown first (pure position bias) -> the orders disagree
#   p2: always A; p3: always B; p4: says tie in both orders
BEHAVIOUR = {"p1": "first", "p2": "a", "p3": "b", "p4": "tie"}


def judge_reply(pairs: dict[str, tuple[str, str, str]]) -> Callable[[dict[str, Any]], Reply]:
    """``pairs``: id -> (input, A text, B text). Answers according to BEHAVIOUR."""

    def reply(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        item_id, (_, a, b) = next((k, v) for k, v in pairs.items() if v[0] in text)
        want = BEHAVIOUR[item_id]
        first = shown_first(text, a, b)
        # "first" and "tie" are said as such; "a" / "b" mean the position where that side is shown
        winner = want if want in ("first", "tie") else ("first" if want == first else "second")
        return Reply(content=json.dumps({"winner": winner}))

    return reply


def verdicts_from_log(
    server: ScriptedServer, pairs: dict[str, tuple[str, str, str]]
) -> dict[str, dict[str, str]]:
    """Per pair and order, the winner in A/B terms, from the prompt order and the server's answer."""
    out: dict[str, dict[str, str]] = {}
    for call in server.calls:
        text = user_message(call["request"])
        item_id, (_, a, b) = next((k, v) for k, v in pairs.items() if v[0] in text)
        first = shown_first(text, a, b)
        said = json.loads(call["content"])["winner"]
        order = "original" if first == "a" else "swapped"
        if said == "tie":
            out.setdefault(item_id, {})[order] = "tie"
        else:
            picked = first if said == "first" else ("b" if first == "a" else "a")
            out.setdefault(item_id, {})[order] = "1" if picked == "a" else "2"
    return out


PAIRS = {it["id"]: (it["input"], A[it["id"]], B[it["id"]]) for it in ITEMS}


def test_both_orders_swap_mapped_back_and_combined(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, judge_reply(PAIRS))
    out = tmp_path / "pw.json"
    result = score(
        DATASET,
        responses_a=RESP_A,
        responses_b=RESP_B,
        judge="openai/judge",
        settings=settings(scripted_server),
        out=out,
    )
    assert scripted_server.count() == 2 * len(ITEMS)  # every pair in both orders
    seen = verdicts_from_log(scripted_server, PAIRS)
    written = json.loads(out.read_text())
    combined = {}
    for q in written["per_question_scores"]:
        o, s = seen[q["id"]]["original"], seen[q["id"]]["swapped"]
        expect = o if o == s else "tie"  # the rubric counts a disagreement as a tie
        combined[q["id"]] = expect
        assert q["pairwise"] == {"original": o, "swapped": s, "combined": expect, "consistent": o == s}
        assert q["score"] == {"1": 1.0, "tie": 0.5, "2": 0.0}[expect]
        assert [d["aspect"] for d in q["details"]] == ["original", "swapped"]
    # p1: position bias -> orders disagree -> tie; p2 A; p3 B; p4 tie in both orders
    assert combined == {"p1": "tie", "p2": "1", "p3": "2", "p4": "tie"}
    pw = written["pairwise"]
    assert pw["counts"] == {"win": 1, "tie": 2, "loss": 1, "inconsistent": 0}
    assert pw["rates"]["win"]["value"] == 0.25 and pw["rates"]["tie"]["value"] == 0.5
    assert pw["position_consistency"]["value"] == 0.75
    for est in (*pw["rates"].values(), pw["position_consistency"], pw["win_rate"]):
        assert est["n_boot"] == 2000 and est["ci_low"] <= est["value"] <= est["ci_high"]
    assert written["score"] == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert pw["win_rate"]["value"] == pytest.approx(written["score"])
    assert "labels" not in pw  # no gold labels in this data
    assert result.meta["inputs"]["responses_a"]["path"] == str(RESP_A)


def test_disagreement_as_inconsistent(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    folder = tmp_path / "strict_pairwise"
    shutil.copytree(REPO / "rubrics" / "pairwise", folder)
    spec = (
        (folder / "rubric.yaml").read_text().replace("on_disagreement: tie", "on_disagreement: inconsistent")
    )
    (folder / "rubric.yaml").write_text(spec)
    scripted_server.add_rule(None, judge_reply(PAIRS))
    result = score(
        DATASET,
        responses_a=RESP_A,
        responses_b=RESP_B,
        judge="openai/judge",
        settings=settings(scripted_server, rubric=str(folder)),
    )
    p1 = result.by_id()["p1"]
    assert p1.score is None and p1.pairwise["combined"] == "inconsistent"  # type: ignore[attr-defined]
    pw = result.pairwise
    assert pw is not None
    assert pw["counts"] == {"win": 1, "tie": 1, "loss": 1, "inconsistent": 1}
    # the win rate leaves the inconsistent pair out: (1 + 0.5 + 0) / 3
    assert result.score == pytest.approx(0.5) and pw["win_rate"]["value"] == pytest.approx(0.5)
    assert pw["decided"] == 3


def test_no_tie_rubric(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    folder = tmp_path / "forced_choice"
    shutil.copytree(REPO / "rubrics" / "pairwise", folder)
    spec = (folder / "rubric.yaml").read_text()
    spec = spec.replace("enum: [first, second, tie]", "enum: [first, second]")
    spec = spec.replace("score_map: {first: 1, second: 0, tie: 0.5}", "score_map: {first: 1, second: 0}")
    (folder / "rubric.yaml").write_text(spec)
    # the judge says "tie" once for p4's original order: not allowed, so it is re-asked
    scripted_server.add_rule(
        {"user_contains": ITEMS[3]["input"]}, Reply(content='{"winner": "tie"}'), times=1
    )
    scripted_server.add_rule(None, Reply(content='{"winner": "second"}'))
    result = score(
        DATASET,
        responses_a=RESP_A,
        responses_b=RESP_B,
        judge="openai/judge",
        settings=settings(scripted_server, rubric=str(folder)),
    )
    first = scripted_server.calls[0]["request"]
    assert first["response_format"]["json_schema"]["schema"]["properties"]["winner"]["enum"] == [
        "first",
        "second",
    ]
    assert "You must pick one" in first["messages"][0]["content"] and '"tie"' not in user_message(first)
    assert result.totals.reasks == 1 and result.coverage.ratio == 1.0
    # always "second": B in the original order, A in the swapped one -> inconsistent orders -> tie
    assert {q.pairwise["combined"] for q in result.per_question_scores} == {"tie"}  # type: ignore[attr-defined]
    assert result.pairwise is not None and result.pairwise["position_consistency"]["value"] == 0.0
    assert result.pairwise["first_position_share"] == 0.0


def test_llmbar_layout_with_labels(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    rows = json.loads(LLMBAR.read_text())
    pairs = {str(n): (r["input"], r["output_1"], r["output_2"]) for n, r in enumerate(rows, 1)}

    # the judge prefers the shorter response, wherever it is shown
    def shorter(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        _, a, b = next(v for v in pairs.values() if v[0] in text)
        first = shown_first(text, a, b)
        short = "a" if len(a) < len(b) else "b"
        return Reply(content=json.dumps({"winner": "first" if short == first else "second"}))

    scripted_server.add_rule(None, shorter)
    out = tmp_path / "llmbar.json"
    proc = run_cli(
        "score",
        "--rubric",
        "pairwise",
        "--dataset",
        str(LLMBAR),
        "--judge",
        "openai/judge",
        "--api-base",
        scripted_server.base_url,
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    seen = verdicts_from_log(scripted_server, pairs)
    labels = {str(n): str(r["label"]) for n, r in enumerate(rows, 1)}
    correct_o = sum(seen[k]["original"] == labels[k] for k in labels)
    correct_s = sum(seen[k]["swapped"] == labels[k] for k in labels)
    agree = sum(seen[k]["original"] == seen[k]["swapped"] for k in labels)
    written = json.loads(out.read_text())
    lab = written["pairwise"]["labels"]
    assert lab["n"] == 4 and lab["correct_original"] == correct_o and lab["correct_swapped"] == correct_s
    assert lab["accuracy"] == pytest.approx((correct_o + correct_s) / 8)
    assert lab["positional_agreement"] == pytest.approx(agree / 4)
    assert "labels    accuracy" in proc.stdout and "orders agree" in proc.stdout
    assert [q["id"] for q in written["per_question_scores"]] == ["1", "2", "3", "4"]  # row numbers as ids


def test_alpaca_eval_layout(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Name a colour.", "output_1": "Blue.", "output_2": "Red.", "preference": 1.5},
        {
            "instruction": "Add 2 and 2.",
            "input": "Answer with a digit.",
            "output_1": "4",
            "output_2": "5",
            "preference": 1,
        },
        {"instruction": "Say hi.", "output_1": "hi", "output_2": "Hello!", "preference": 1.8},
        {"instruction": "Say bye.", "output_1": "bye", "output_2": "Bye!", "preference": -1},
    ]
    ds = tmp_path / "alpaca.json"
    ds.write_text(json.dumps(rows))
    items, pairs = load_pairs(ds, required=["input"])
    assert [it.fields.get("label") for it in items] == ["tie", "1", "2", None]
    assert items[1].fields["input"] == "Add 2 and 2.\n\nAnswer with a digit."
    assert pairs["2"] == {"a": "4", "b": "5"}


def _mt_bench_rows() -> list[dict[str, Any]]:
    conv = lambda q1, a1, q2, a2: [  # noqa: E731
        {"role": "user", "content": q1},
        {"role": "assistant", "content": a1},
        {"role": "user", "content": q2},
        {"role": "assistant", "content": a2},
    ]
    a = conv(
        "Write a limerick about a cat.",
        "There once was a cat named Lou...",
        "Now make it rhyme with 'hat'.",
        "A cat in a hat, rather fat...",
    )
    b = conv("Write a limerick about a cat.", "Cats are nice.", "Now make it rhyme with 'hat'.", "Hat cat.")
    base = {
        "question_id": 81,
        "model_a": "alpha",
        "model_b": "beta",
        "conversation_a": a,
        "conversation_b": b,
    }
    return [
        {**base, "turn": 1, "judge": "expert_1", "winner": "model_a"},
        {**base, "turn": 2, "judge": "expert_1", "winner": "model_a"},
        {**base, "turn": 2, "judge": "expert_2", "winner": "tie"},
        {**base, "turn": 2, "judge": "expert_3", "winner": "model_a"},
    ]


def test_mt_bench_judgments_layout(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    ds = tmp_path / "mt_bench_human.jsonl"
    ds.write_text("".join(json.dumps(r) + "\n" for r in _mt_bench_rows()))
    items, pairs = load_pairs(ds, required=["input"])
    assert [it.id for it in items] == ["81:alpha:beta:turn1", "81:alpha:beta:turn2"]
    turn2 = items[1]
    assert (
        turn2.fields["input"] == "Now make it rhyme with 'hat'." and turn2.fields["label"] == "1"
    )  # 2 of 3 votes
    assert len(turn2.fields["votes"]) == 3
    assert pairs[turn2.id] == {"a": "A cat in a hat, rather fat...", "b": "Hat cat."}
    scripted_server.add_rule(None, Reply(content='{"winner": "first"}'))
    result = score(ds, judge="openai/judge", settings=settings(scripted_server))
    assert scripted_server.count() == 4
    second_turn = [c for c in scripted_server.calls if "rhyme with 'hat'" in user_message(c["request"])]
    text = user_message(second_turn[0]["request"])
    # the earlier turns are shown, fenced, for both assistants; the judged answers are the second turn's
    assert (
        text.count("<conversation>") == 2
        and "There once was a cat named Lou" in text
        and "Cats are nice." in text
    )
    assert result.pairwise is not None and result.pairwise["labels"]["n"] == 2


def test_mt_bench_question_and_answer_files(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    questions = tmp_path / "question.jsonl"
    questions.write_text(
        json.dumps({"question_id": 7, "category": "writing", "turns": ["Q one?", "Q two?"]}) + "\n"
    )
    ans = lambda model, t: {"question_id": 7, "model_id": model, "choices": [{"index": 0, "turns": t}]}  # noqa: E731
    fa, fb = tmp_path / "alpha.jsonl", tmp_path / "beta.jsonl"
    fa.write_text(json.dumps(ans("alpha", ["A1", "A2"])) + "\n")
    fb.write_text(json.dumps(ans("beta", ["B1", "B2"])) + "\n")
    scripted_server.add_rule(None, Reply(content='{"winner": "tie"}'))
    result = score(
        questions, responses_a=fa, responses_b=fb, judge="openai/judge", settings=settings(scripted_server)
    )
    assert [q.id for q in result.per_question_scores] == ["7:turn1", "7:turn2"]
    turn2 = [c for c in scripted_server.calls if "Q two?" in user_message(c["request"])]
    assert (
        len(turn2) == 2
        and "A1" in user_message(turn2[0]["request"])
        and "B1" in user_message(turn2[0]["request"])
    )
    assert result.score == 0.5


def test_render_shows_both_orders(tmp_path: Path) -> None:
    proc = run_cli(
        "rubrics",
        "render",
        "pairwise",
        "--dataset",
        str(DATASET),
        "--responses-a",
        str(RESP_A),
        "--responses-b",
        str(RESP_B),
        "--id",
        "p3",
    )
    assert proc.returncode == 0, proc.stderr
    original, swapped = proc.stdout.split("=== call 2/2: swapped")
    assert original.index(A["p3"]) < original.index(B["p3"])
    assert swapped.index(B["p3"]) < swapped.index(A["p3"])


BAD: list[tuple[str, list[str], Any, tuple[str, ...]]] = [
    ("llmbar_missing_output_2", [], [{"input": "x", "output_1": "a"}], ("'1'", "output_2", "missing")),
    (
        "llmbar_bad_label",
        [],
        [{"input": "x", "output_1": "a", "output_2": "b", "label": 3}],
        ("'1'", "label"),
    ),
    ("no_pair_layout", [], [{"id": "q", "input": "x"}], ("--responses-a", "LLMBar")),
    ("only_a", ["--responses-a", str(RESP_A)], None, ("--responses-b",)),
    ("single_responses", ["--responses", str(RESP_A)], None, ("compares two responses", "--responses-a")),
]


@pytest.mark.parametrize("name,extra,data,needles", BAD, ids=[b[0] for b in BAD])
def test_bad_pair_inputs(
    tmp_path: Path, name: str, extra: list[str], data: Any, needles: tuple[str, ...]
) -> None:
    ds = DATASET
    if data is not None:
        ds = tmp_path / "d.json"
        ds.write_text(json.dumps(data))
    out = tmp_path / "o.json"
    proc = run_cli(
        "score",
        "--rubric",
        "pairwise",
        "--dataset",
        str(ds),
        *extra,
        "--judge",
        "openai/judge",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--out",
        str(out),
    )
    assert_clean_error(proc, *needles)
    assert not out.exists()


def test_missing_id_in_responses_b(tmp_path: Path) -> None:
    rb = tmp_path / "b.json"
    rb.write_text(json.dumps({k: v for k, v in B.items() if k != "p2"}))
    proc = run_cli(
        "score",
        "--rubric",
        "pairwise",
        "--dataset",
        str(DATASET),
        "--responses-a",
        str(RESP_A),
        "--responses-b",
        str(rb),
        "--judge",
        "openai/judge",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--out",
        str(tmp_path / "o.json"),
    )
    assert_clean_error(proc, "p2", str(rb))


def test_a_failed_order_leaves_the_pair_unscored(scripted_server: ScriptedServer) -> None:
    rows = json.loads(LLMBAR.read_text())

    # the swapped order of pair 1 (output_2 shown first) fails; everything else picks the first response
    def fail_swapped_first(request: dict[str, Any]) -> bool:
        text = user_message(request)
        return rows[0]["input"] in text and text.index(rows[0]["output_2"]) < text.index(rows[0]["output_1"])

    scripted_server.add_rule(fail_swapped_first, Reply.error(500))
    scripted_server.add_rule(None, Reply(content='{"winner": "first"}'))
    s = settings(scripted_server)
    s.engine.max_retries = 0
    s.min_coverage = 0  # 7 of 8 orders: below the default floor, on purpose
    result = score(LLMBAR, judge="openai/judge", settings=s)
    pair = result.by_id()["1"]
    assert pair.score is None and (pair.scored, pair.total) == (1, 2)
    assert pair.pairwise == {"original": "1", "swapped": None, "combined": None, "consistent": None}  # type: ignore[attr-defined]
    assert [u.aspect for u in result.unscored] == ["swapped"]
    pw = result.pairwise
    assert pw is not None and pw["incomplete"] == 1 and pw["judged"] == 3
    # against the labels the missing verdict counts as wrong (label 1: original right, swapped wrong)
    assert pw["labels"]["invalid_swapped"] == 1 and pw["labels"]["n"] == 4
