"""Judges that think: reasoning blocks and ``reasoning_content`` are never read as the verdict, an answer cut
off inside its reasoning is unscored with its own reason, ``--reasoning-effort`` reaches the provider (or is
refused), and reasoning tokens are counted apart.

Every judge is the scripted server (tests/server.py) reached over HTTP; expected verdicts and token counts
come from what the server was scripted to answer (its usage counts whitespace-separated words).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judgekit import load_rubric
from judgekit.errors import RubricError
from judgekit.judges.base import JudgeParams
from judgekit.rubric.reasoning import check_tags, split_reasoning
from judgekit.score_reader import settings_from_meta
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message
from tests.test_rubrics_pairwise import shown_first

ASPECTS = 18  # the LaMP-QA example: 6 questions, 18 aspects
CRITERIA = REPO / "examples" / "criteria"
PAIRWISE = REPO / "examples" / "pairwise"
# The answer of the issue: a verdict tried out and dropped inside the reasoning, the real one after it.
R1_THINKING = 'The response covers the aspect... maybe {"match_score": 0}? ... no, it is all there. So 2.'
R1_ANSWER = f'<think>{R1_THINKING}</think>\n{{"match_score": 2}}'


def words(text: str) -> int:
    return len(text.split())


def score_args(server: ScriptedServer, out: Path, *extra: str) -> tuple[str, ...]:
    return (
        "score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES),
        "--judge", "openai/judge", "--api-base", server.base_url, "--bootstrap", "0", "--out", str(out), *extra,
    )  # fmt: skip


def log_rows(out: Path, kind: str) -> list[dict[str, Any]]:
    log = out.with_name(out.stem + ".log.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [r for r in rows if r["type"] == kind]


# ---------------------------------------------------------------------------------------------------------
# Splitting the reasoning from the answer (worked out by hand)
# ---------------------------------------------------------------------------------------------------------


SPLITS: list[tuple[str, tuple[str, ...], str, str | None, bool]] = [
    (R1_ANSWER, ("think",), '\n{"match_score": 2}', R1_THINKING, False),
    # R1 chat templates put the opening <think> in the prompt: the answer starts inside the block
    ('weighing {"a": 1}</think>\n\n{"a": 2}', ("think",), '\n\n{"a": 2}', 'weighing {"a": 1}', False),
    ("<Thinking> a </Thinking>x<reasoning>b</reasoning>y", ("thinking", "reasoning"), "xy", "a\n\nb", False),
    ("<think>a</thinking>b</think>c", ("think", "thinking"), "c", "a</thinking>b", False),
    ("<think>\n\n</think>\n\n{}", ("think",), "\n\n{}", None, False),  # Qwen3 with thinking switched off
    ('{"a": 1} <think>still going', ("think",), '{"a": 1} ', "still going", True),
    ("<scratchpad>x</scratchpad>y", ("think",), "<scratchpad>x</scratchpad>y", None, False),
    ("<scratchpad>x</scratchpad>y", ("scratchpad",), "y", "x", False),
    ("a < b and c > d", ("think",), "a < b and c > d", None, False),
]


@pytest.mark.parametrize("text,tags,answer,reasoning,unclosed", SPLITS)
def test_split_reasoning(
    text: str, tags: tuple[str, ...], answer: str, reasoning: str | None, unclosed: bool
) -> None:
    split = split_reasoning(text, tags)
    assert (split.answer, split.reasoning, split.unclosed) == (answer, reasoning, unclosed)


def test_check_tags() -> None:
    assert check_tags(["<think>", "Think", " scratchpad "]) == ("think", "scratchpad")
    for bad in (["bad tag"], ["1x"], [], ["<>"]):
        with pytest.raises(ValueError):
            check_tags(bad)


def test_params_without_effort_keep_their_cache_key() -> None:
    """Existing caches still answer: the parameters' canonical JSON is what it was before the effort existed."""
    assert JudgeParams().cache_json == (
        '{"logprobs":false,"max_tokens":null,"schema":null,"seed":null,"temperature":0.0,"top_logprobs":null}'
    )
    assert '"reasoning_effort":"low"' in JudgeParams(reasoning_effort="low").cache_json


# ---------------------------------------------------------------------------------------------------------
# The judge, end to end: inline <think> with a contradicting verdict inside, with both clients
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["aiohttp", "litellm"])
def test_inline_think_blocks_are_not_the_verdict(
    scripted_server: ScriptedServer, tmp_path: Path, client: str
) -> None:
    scripted_server.add_rule(None, Reply(content=R1_ANSWER))
    out = tmp_path / "r1.json"
    proc = run_cli(*score_args(scripted_server, out, "--client", client))
    assert proc.returncode == 0, proc.stderr
    assert len(scripted_server.calls) == ASPECTS  # one call per aspect: nothing re-asked
    written = json.loads(out.read_text())
    assert written["coverage"]["scored"] == ASPECTS and written["unscored"] == []
    assert written["score"] == 1.0  # every aspect 2 of 2, not the 0 the reasoning tried out
    assert written["totals"]["reasks"] == 0
    calls = log_rows(out, "call")
    assert len(calls) == ASPECTS
    for row in calls:
        assert row["reasoning"] == R1_THINKING  # in the run log, beside the raw answer
        assert row["completion"].endswith('{"match_score": 2}') and row["parse_error"] is None
    assert {r["status"] for r in log_rows(out, "verdict")} == {"scored"}


@pytest.mark.parametrize("client", ["aiohttp", "litellm"])
def test_reasoning_content_is_set_apart_and_counted(
    scripted_server: ScriptedServer, tmp_path: Path, client: str
) -> None:
    thinking = 'It mentions the point only in passing: {"match_score": 2} would be generous. So 1.'
    answer = '{"match_score": 1}'
    scripted_server.add_rule(None, Reply(content=answer, reasoning=thinking))
    out = tmp_path / "rc.json"
    proc = run_cli(*score_args(scripted_server, out, "--client", client))
    assert proc.returncode == 0, proc.stderr
    written = json.loads(out.read_text())
    assert written["score"] == 0.5 and written["coverage"]["scored"] == ASPECTS  # 1 of 2 on every aspect
    totals = written["totals"]
    assert totals["reasoning_tokens"] == ASPECTS * words(thinking)  # 14 words each
    assert totals["completion_tokens"] == ASPECTS * (words(thinking) + words(answer))
    for row in log_rows(out, "call"):
        assert row["reasoning"] == thinking and row["completion"] == answer
        assert row["reasoning_tokens"] == words(thinking)
    assert f"({ASPECTS * words(thinking)} reasoning)" in proc.stdout


def test_reask_quotes_the_answer_without_its_reasoning(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    def judge(request: dict[str, Any]) -> Reply:
        if "could not be used" in user_message(request):
            return Reply(content='<think>fine, JSON only</think>{"match_score": 2}')
        return Reply(content='<think>secret plan: {"match_score": 0}</think>I would say it is covered.')

    scripted_server.add_rule(None, judge)
    out = tmp_path / "reask.json"
    proc = run_cli(*score_args(scripted_server, out))
    assert proc.returncode == 0, proc.stderr
    calls = scripted_server.calls
    assert len(calls) == 2 * ASPECTS  # each aspect re-asked once
    reasks = [c for c in calls if "could not be used" in user_message(c["request"])]
    assert len(reasks) == ASPECTS
    for c in reasks:
        quoted = c["request"]["messages"][-2]
        assert quoted == {"role": "assistant", "content": "I would say it is covered."}
        assert "no JSON object in the answer" in user_message(c["request"])  # not the reasoning's {0}
    written = json.loads(out.read_text())
    assert written["score"] == 1.0 and written["totals"]["reasks"] == ASPECTS


# ---------------------------------------------------------------------------------------------------------
# Reasoning cut off at the token limit: its own reason, no re-ask at the same budget, said once
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(content='<think>Weighing it: {"match_score": 1} perhaps, but', finish_reason="length"),
        Reply(content="", reasoning='Weighing it: {"match_score": 1} perhaps, but', finish_reason="length"),
    ],
    ids=["inline", "reasoning_content"],
)
def test_unclosed_reasoning_at_max_tokens(
    scripted_server: ScriptedServer, tmp_path: Path, reply: Reply
) -> None:
    scripted_server.add_rule(None, reply)
    out = tmp_path / "cut.json"
    args = score_args(scripted_server, out, "--max-tokens", "64")
    proc = run_cli(*args)
    reason = "reasoning truncated at max_tokens=64: raise --max-tokens"
    assert_clean_error(proc, "coverage 0/18 below --min-coverage 0.9", "reasoning truncated", code=4)
    assert proc.stderr.count("raise --max-tokens") == 1
    assert len(scripted_server.calls) == ASPECTS  # not re-asked
    assert all(c["request"]["max_tokens"] == 64 for c in scripted_server.calls)
    written = json.loads(out.read_text())
    assert written["status"] == "failed" and written["totals"]["reasks"] == 0
    assert [u["reason"] for u in written["unscored"]] == [reason] * ASPECTS
    summary = [line for line in proc.stdout.splitlines() if "raise --max-tokens" in line]
    assert summary == [
        f"reasoning {ASPECTS} judgments ran out of tokens inside the judge's reasoning: raise --max-tokens"
    ]
    assert {r["parse_error"] for r in log_rows(out, "call")} == {reason}
    assert all(
        r["reasoning"] == 'Weighing it: {"match_score": 1} perhaps, but' for r in log_rows(out, "call")
    )
    # the same budget again: the cached answers are read, nothing is asked again
    scripted_server.clear_calls()
    again = run_cli(*args[:-3], str(tmp_path / "again.json"), "--max-tokens", "64")
    assert again.returncode == 4 and scripted_server.calls == []
    # a larger budget is a new request, and the judge now finishes its thought
    scripted_server.reset()
    scripted_server.add_rule(None, Reply(content=R1_ANSWER))
    more = run_cli(*args[:-3], str(tmp_path / "more.json"), "--max-tokens", "2048")
    assert more.returncode == 0, more.stderr
    assert len(scripted_server.calls) == ASPECTS
    assert json.loads((tmp_path / "more.json").read_text())["score"] == 1.0


# ---------------------------------------------------------------------------------------------------------
# Other tags: the rubric's reasoning_tags and --reasoning-tags
# ---------------------------------------------------------------------------------------------------------


def test_reasoning_tags_option(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, Reply(content='<analysis>{"match_score": 0}</analysis>{"match_score": 2}'))
    tagged = run_cli(*score_args(scripted_server, tmp_path / "tagged.json", "--reasoning-tags", "analysis"))
    assert tagged.returncode == 0, tagged.stderr
    written = json.loads((tmp_path / "tagged.json").read_text())
    assert written["score"] == 1.0
    assert settings_from_meta(written["meta"]).engine.reasoning_tags == ("analysis",)  # recorded, read back
    assert len(scripted_server.calls) == ASPECTS
    # without the tag, <analysis> is part of the answer: two verdicts that disagree, re-asked, unscored
    scripted_server.clear_calls()
    plain = run_cli(*score_args(scripted_server, tmp_path / "plain.json", "--no-cache"))
    assert plain.returncode == 4
    written = json.loads((tmp_path / "plain.json").read_text())
    assert {u["reason"] for u in written["unscored"]} == {
        "unparseable after 3 answers: conflicting verdicts in one answer: [[0.0], [2.0]]"
    }
    assert len(scripted_server.calls) == 3 * ASPECTS


def test_bad_reasoning_tags(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    proc = run_cli(*score_args(scripted_server, out, "--reasoning-tags", "think,not a tag"))
    assert_clean_error(proc, "--reasoning-tags:", "'not a tag' is not a tag name")
    assert not out.exists() and scripted_server.calls == []
    folder = write_pattern_rubric(tmp_path / "bad", "[think, '<x y>']")
    with pytest.raises(RubricError, match="is not a tag name"):
        load_rubric(folder)


def write_pattern_rubric(folder: Path, tags: str | None) -> Path:
    folder.mkdir()
    lines = [
        "name: thinking_pattern",
        "description: a free-text verdict after the judge's notes",
        "scale: {min: 1, max: 5}",
        "mode: per_item",
        "modes: {per_item: {user: user.j2}}",
        "reask: reask.j2",
        "question_score: raw",
        *([f"reasoning_tags: {tags}"] if tags is not None else []),
        "output:",
        "  fields: {score: {type: integer, minimum: 1, maximum: 5}}",
        "  score: score",
        "  pattern: 'Score: (?P<score>\\d)'",
    ]
    (folder / "rubric.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "user.j2").write_text("Rate {{ response }}. Answer 'Score: N'.", encoding="utf-8")
    (folder / "reask.j2").write_text("could not be read: {{ error }}", encoding="utf-8")
    return folder


def test_pattern_rubric_with_reasoning(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """A free-text verdict: matches inside the reasoning (default tags, and the rubric's own) are not read."""
    folder = write_pattern_rubric(tmp_path / "notes", "[notes]")
    items = json.loads((CRITERIA / "responses.json").read_text())  # the template shows the response only
    scripted_server.add_rule(
        items["c1"], Reply(content="<notes>Score: 1 at first sight</notes>Fine after all.\nScore: 4")
    )
    scripted_server.add_rule(items["c2"], Reply(content="Score: 2", reasoning="Score: 5? No, too generous."))
    scripted_server.add_rule(None, Reply(content="<notes>Score: 5? no</notes>\nScore: 3"))
    out = tmp_path / "pattern.json"
    args = ("score", "--rubric", str(folder), "--dataset", str(CRITERIA / "dataset.json"))
    args += ("--responses", str(CRITERIA / "responses.json"), "--judge", "openai/judge", "--bootstrap", "0")
    proc = run_cli(*args, "--api-base", scripted_server.base_url, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    written = json.loads(out.read_text())
    scores = {q["id"]: q["score"] for q in written["per_question_scores"]}
    assert scores == {"c1": 4, "c2": 2, "c3": 3, "c4": 3, "c5": 3}
    assert len(scripted_server.calls) == 5 and written["totals"]["reasks"] == 0
    # the rubric's tags replace the default ones
    assert load_rubric(folder).reasoning_tags == ("notes",)
    shown = run_cli("rubrics", "show", str(folder))
    assert shown.returncode == 0 and "reasoning    <notes> blocks are the judge's thinking" in shown.stdout
    assert load_rubric("geval").reasoning_tags == ("think", "thinking", "reasoning")


# ---------------------------------------------------------------------------------------------------------
# Pairs, judged in both orders
# ---------------------------------------------------------------------------------------------------------


def test_pairwise_both_orders_with_reasoning(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    a = json.loads((PAIRWISE / "responses_a.json").read_text())
    b = json.loads((PAIRWISE / "responses_b.json").read_text())

    def judge(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        item = next(k for k in a if a[k] in text and b[k] in text)
        # A is the better one: the verdict names A's position, the reasoning first tries the other
        shown, other = (
            ("first", "second") if shown_first(text, a[item], b[item]) == "a" else ("second", "first")
        )
        doubt = f'At first glance {{"winner": "{other}"}}, but the other one is right.'
        if item == "p2":  # thinking apart from the content, in both orders
            return Reply(content=f'{{"winner": "{shown}"}}', reasoning=doubt)
        return Reply(content=f'<think>{doubt}</think>\n{{"winner": "{shown}"}}')

    scripted_server.add_rule(None, judge)
    out = tmp_path / "pairs.json"
    inputs = {
        "--dataset": "dataset.json",
        "--responses-a": "responses_a.json",
        "--responses-b": "responses_b.json",
    }
    files = [part for flag, name in inputs.items() for part in (flag, str(PAIRWISE / name))]
    proc = run_cli(
        "score", "--rubric", "pairwise", *files, "--judge", "openai/judge", "--api-base", scripted_server.base_url,
        "--bootstrap", "0", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(scripted_server.calls) == 8  # 4 pairs x 2 orders, none re-asked
    written = json.loads(out.read_text())
    for q in written["per_question_scores"]:
        assert q["pairwise"] == {"original": "1", "swapped": "1", "combined": "1", "consistent": True}
    assert written["score"] == 1.0  # A wins every pair, in both orders
    assert written["totals"]["reasoning_tokens"] == 2 * words(
        'At first glance {"winner": "x"}, but the other one is right.'
    )


# ---------------------------------------------------------------------------------------------------------
# --reasoning-effort: passed on where the judge takes it, refused where it cannot
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["aiohttp", "litellm"])
def test_reasoning_effort_reaches_the_server(
    scripted_server: ScriptedServer, tmp_path: Path, client: str
) -> None:
    out = tmp_path / "effort.json"
    proc = run_cli(*score_args(scripted_server, out, "--client", client, "--reasoning-effort", "high"))
    assert proc.returncode == 0, proc.stderr
    assert len(scripted_server.calls) == ASPECTS
    assert {c["request"].get("reasoning_effort") for c in scripted_server.calls} == {"high"}
    meta = json.loads(out.read_text())["meta"]
    assert meta["judge"]["reasoning_effort"] == "high"
    assert settings_from_meta(meta).reasoning_effort == "high"  # a gate's drift check reruns with it
    # another effort is another request: nothing answered at "high" is reused
    scripted_server.clear_calls()
    low = run_cli(
        *score_args(scripted_server, tmp_path / "low.json", "--client", client, "--reasoning-effort", "low")
    )
    assert low.returncode == 0, low.stderr
    assert {c["request"].get("reasoning_effort") for c in scripted_server.calls} == {"low"}
    assert len(scripted_server.calls) == ASPECTS
    # without the option nothing is sent
    scripted_server.clear_calls()
    plain = run_cli(*score_args(scripted_server, tmp_path / "plain.json", "--client", client))
    assert plain.returncode == 0, plain.stderr
    assert all("reasoning_effort" not in c["request"] for c in scripted_server.calls)


@pytest.mark.parametrize(
    "judge,named",
    [
        ("local", "the local judge local"),
        ("my_module:judge", "the python judge my_module:judge"),
        # litellm would drop it without a word: its table lists no reasoning_effort for these models
        ("openai/gpt-4o-mini", "the model of judge openai/gpt-4o-mini cannot take it"),
        ("anthropic/claude-3-5-haiku-latest", "judge anthropic/claude-3-5-haiku-latest cannot take it"),
    ],
)
def test_reasoning_effort_refused(tmp_path: Path, judge: str, named: str) -> None:
    out = tmp_path / "x.json"
    args = ("score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES))
    proc = run_cli(*args, "--judge", judge, "--reasoning-effort", "medium", "--out", str(out))
    assert_clean_error(proc, "--reasoning-effort:", named, "cannot take it")
    assert not out.exists() and not out.with_name("x.log.jsonl").exists()
    dry = run_cli(*args, "--judge", judge, "--reasoning-effort", "medium", "--dry-run")
    assert_clean_error(dry, "--reasoning-effort:", named)


def test_reasoning_effort_accepted_for_a_reasoning_model(tmp_path: Path) -> None:
    """A model litellm lists with reasoning_effort (o3-mini) is planned, not refused (a dry run calls nothing)."""
    args = ("score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES), "--dry-run")
    proc = run_cli(*args, "--judge", "openai/o3-mini", "--reasoning-effort", "high")
    assert proc.returncode == 0, proc.stderr
    assert "--reasoning-effort: output tokens leave out the judge's reasoning" in proc.stdout


def test_validate_reads_completions_without_their_reasoning(tmp_path: Path) -> None:
    """Raw completions of a reasoning judge: the verdicts tried out inside <think> are not read."""
    rows = [
        {"id": "i1", "completions": ["<think>Score: 1? No.</think>Score: 4"]},
        {"id": "i2", "completions": ["<think>Score: 5</think>\nScore: 2", "Score: 3"]},
        {"id": "i3", "completions": ["Score: 5"]},
        {"id": "i4", "completions": ["<thinking>Rating: 5, or Score: 1</thinking>Score: 1"]},
        {"id": "i5", "completions": ["weighing Score: 2</think>Score: 3"]},
    ]
    judge = tmp_path / "completions.jsonl"
    judge.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    labels = tmp_path / "labels.csv"
    labels.write_text("id,h1\ni1,4\ni2,2\ni3,5\ni4,1\ni5,3\n", encoding="utf-8")
    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--rubric", str(REPO / "rubrics" / "geval"), "--human", str(labels),
        "--scale", "1-5", "--n-boot", "0", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (d,) = json.loads(out.read_text())["dimensions"]
    assert (d["judge_samples"]["parsed"], d["judge_samples"]["unparseable"]) == (6, 0)
    assert d["n_used"] == 5
    judged = {x["id"]: x["judge"] for x in d["disagreements"]}
    assert judged == {"i1": 4, "i2": 2.5, "i3": 5, "i4": 1, "i5": 3}  # i2: the mean of 2 and 3


def test_reasoning_tokens_are_priced(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Through litellm, a priced model's cost counts its reasoning tokens at the output rate (litellm's own
    table gives the rates; the server's usage gives the tokens)."""
    import litellm

    thinking = "Two of the three points are there, the third only hinted at."
    scripted_server.add_rule(None, Reply(content='{"match_score": 1}', reasoning=thinking))
    out = tmp_path / "priced.json"
    args = list(score_args(scripted_server, out, "--client", "litellm", "--reasoning-effort", "low"))
    args[args.index("openai/judge")] = "openai/o3-mini"
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    totals = json.loads(out.read_text())["totals"]
    assert totals["reasoning_tokens"] == ASPECTS * words(thinking)
    assert totals["completion_tokens"] == ASPECTS * (words(thinking) + 2)  # '{"match_score": 1}' is 2 words
    rates = litellm.model_cost["o3-mini"]
    expected = (
        totals["prompt_tokens"] * rates["input_cost_per_token"]
        + totals["completion_tokens"] * rates["output_cost_per_token"]
    )
    assert totals["cost_usd"] == pytest.approx(expected, rel=1e-6)
