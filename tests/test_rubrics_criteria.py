"""The `criteria` rubric (G-Eval): one criterion on a 1-5 scale, probability-weighted by token log-probabilities.

Everything goes through litellm and real HTTP to the scripted server. Expected scores come from what the
server answered and the log-probabilities the test scripted, never from judgekit's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.judges import Completion, JudgeOptions, JudgeParams
from judgekit.judges.litellm_judge import LiteLLMJudge
from judgekit.run.engine import EngineSettings
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

DATASET = REPO / "examples" / "criteria" / "dataset.json"
RESPONSES = REPO / "examples" / "criteria" / "responses.json"
ITEMS = json.loads(DATASET.read_text())

# Per item: the score the judge writes and the log-probabilities of the alternatives at that token.
SCRIPT: dict[str, tuple[int, dict[str, float]]] = {
    "c1": (4, {"3": math.log(0.2), "4": math.log(0.5), "5": math.log(0.3)}),
    "c2": (2, {"1": math.log(0.6), "2": math.log(0.35), "3": math.log(0.05)}),
    "c3": (5, {"5": math.log(0.9), "4": math.log(0.08), "Five": math.log(0.02)}),  # "Five" is no scale value
    "c4": (4, {"4": math.log(0.7), "5": math.log(0.3)}),
    "c5": (1, {"1": math.log(1.0)}),
}


def settings(server: ScriptedServer, **kw: Any) -> ScoreSettings:
    kw.setdefault("rubric", "criteria")
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, concurrency=8),
        **kw,
    )


def item_of(call: dict[str, Any]) -> str:
    text = user_message(call["request"])
    return next(it["id"] for it in ITEMS if it["input"] in text)


def script_logprobs(server: ScriptedServer) -> None:
    for item in ITEMS:
        written, dist = SCRIPT[item["id"]]
        server.add_rule(
            {"user_contains": item["input"]}, Reply(content=json.dumps({"score": written}), logprobs=dist)
        )


def weighted(dist: dict[str, float]) -> float:
    """G-Eval's expectation over the scale's tokens (1..5), renormalised over them."""
    probs = {int(t): math.exp(lp) for t, lp in dist.items() if t in {"1", "2", "3", "4", "5"}}
    return sum(p * v for v, p in probs.items()) / sum(probs.values())


def test_logprob_weighted_scores(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script_logprobs(scripted_server)
    out = tmp_path / "criteria.json"
    result = score(DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server), out=out)
    calls = scripted_server.calls
    assert len(calls) == len(ITEMS)
    for call in calls:
        # the rubric asked for log-probabilities, generically through JudgeParams
        assert call["request"]["logprobs"] is True and call["request"]["top_logprobs"] == 20
    written = json.loads(out.read_text())
    expected = {}
    for call in calls:
        item_id = item_of(call)
        said = json.loads(call["content"])["score"]
        assert said == SCRIPT[item_id][0]
        expected[item_id] = weighted(SCRIPT[item_id][1])
    for q in written["per_question_scores"]:
        assert q["score"] == pytest.approx(expected[q["id"]])
        (detail,) = q["details"]
        assert detail["aspect"] == "Helpfulness"  # the unit is named after the criterion
        assert detail["method"] == "logprob_weighted"
        assert detail["fields"] == {"score": SCRIPT[q["id"]][0]}  # the written value stays in the record
    assert written["score"] == pytest.approx(sum(expected.values()) / len(expected))
    assert written["meta"]["score_method"] == {
        "requested": "logprob_weighted",
        "used": {"logprob_weighted": 5},
    }
    assert "probability-weighted" in written["meta"]["score_definition"]
    assert result.score == pytest.approx(written["score"])
    rows = [json.loads(line) for line in (tmp_path / "criteria.log.jsonl").read_text().splitlines()]
    verdicts = [r for r in rows if r["type"] == "verdict"]
    assert {r["method"] for r in verdicts} == {"logprob_weighted"}


def test_weighted_scores_survive_the_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script_logprobs(scripted_server)
    cache = tmp_path / "c.sqlite"
    first = score(DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server), cache=cache)
    n = scripted_server.count()
    second = score(DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server), cache=cache)
    assert scripted_server.count() == n and second.totals.cache_hits == len(ITEMS)
    assert [q.score for q in second.per_question_scores] == [q.score for q in first.per_question_scores]
    assert all(q.details[0].method == "logprob_weighted" for q in second.per_question_scores)


class DropLogprobs:
    """A real judge (litellm over HTTP to the scripted server) behind a backend that returns no log-probabilities."""

    def __init__(self, inner: LiteLLMJudge) -> None:
        self.inner = inner

    @property
    def identity(self) -> str:
        return "no-logprobs:" + self.inner.identity

    async def complete(self, messages: list[dict[str, str]], params: JudgeParams) -> Completion:
        completion = await self.inner.complete(messages, params)
        return completion.model_copy(update={"logprobs": None})


def test_without_logprobs_the_samples_are_averaged(scripted_server: ScriptedServer) -> None:
    s = settings(scripted_server, samples=3, temperature=0.7)
    replies = {"c1": [3, 4, 5], "c2": [2, 2, 3], "c3": [5, 5, 5], "c4": [1, 4, 4], "c5": [1, 2, 3]}
    for item in ITEMS:
        for value in replies[item["id"]]:
            scripted_server.add_rule(
                {"user_contains": item["input"]}, Reply(content=json.dumps({"score": value})), times=1
            )
    judge = DropLogprobs(LiteLLMJudge("openai/judge", api_base=scripted_server.base_url, api_key="sk-test"))
    result = score(DATASET, RESPONSES, judge=judge, settings=s, cache=False)
    said: dict[str, list[int]] = {}
    for call in scripted_server.calls:
        said.setdefault(item_of(call), []).append(json.loads(call["content"])["score"])
    assert scripted_server.count() == 3 * len(ITEMS)
    for q in result.per_question_scores:
        assert q.score == pytest.approx(sum(said[q.id]) / 3)
        assert q.details[0].method == "value"
    assert result.meta["score_method"]["used"] == {"value": 15}
    assert result.consistency is not None and result.consistency["samples"] == 3
    assert result.consistency["judges"][0]["alpha"]["raters"] == 3


def test_value_spanning_two_tokens_falls_back_to_the_written_value(scripted_server: ScriptedServer) -> None:
    # The server splits digits into single tokens, so a 10-point scale's "10" is two tokens: no single
    # distribution to weight, and the written value is kept.
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ten"
        shutil.copytree(REPO / "rubrics" / "criteria", folder)
        spec = (folder / "rubric.yaml").read_text()
        spec = spec.replace("scale: {min: 1, max: 5}", "scale: {min: 1, max: 10}")
        spec = spec.replace("enum: [1, 2, 3, 4, 5]", "enum: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")
        (folder / "rubric.yaml").write_text(spec)
        scripted_server.add_rule(
            {"user_contains": "basil"}, Reply(content='{"score": 10}', logprobs={"1": -0.1, "9": -2.4})
        )
        scripted_server.add_rule(
            None, Reply(content='{"score": 7}', logprobs={"7": math.log(0.5), "8": math.log(0.5)})
        )
        result = score(
            DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server, rubric=str(folder))
        )
    by_id = result.by_id()
    assert by_id["c1"].score == 10 and by_id["c1"].details[0].method == "value"
    assert by_id["c2"].score == pytest.approx(7.5) and by_id["c2"].details[0].method == "logprob_weighted"


def test_cli_end_to_end(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script_logprobs(scripted_server)
    out = tmp_path / "s.json"
    proc = run_cli(
        "score",
        "--rubric",
        "criteria",
        "--dataset",
        str(DATASET),
        "--responses",
        str(RESPONSES),
        "--judge",
        "openai/judge",
        "--api-base",
        scripted_server.base_url,
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "5 logprob_weighted judgments" in proc.stdout
    written = json.loads(out.read_text())
    assert written["per_question_scores"][0]["score"] == pytest.approx(weighted(SCRIPT["c1"][1]))


def test_missing_input_field_is_one_clean_line(tmp_path: Path) -> None:
    data = json.loads(DATASET.read_text())
    data[2].pop("input")
    ds = tmp_path / "d.json"
    ds.write_text(json.dumps(data))
    out = tmp_path / "o.json"
    proc = run_cli(
        "score",
        "--rubric",
        "criteria",
        "--dataset",
        str(ds),
        "--responses",
        str(RESPONSES),
        "--judge",
        "openai/judge",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--out",
        str(out),
    )
    assert_clean_error(proc, str(ds), "c3", "'input'", "missing")
    assert not out.exists()
