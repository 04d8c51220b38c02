"""`judgekit score --dry-run` and `judgekit.estimate()`: the bill of a run, with no judge call.

Every run here is real (the CLI in a subprocess, litellm over HTTP to the scripted server, a real SQLite
cache). Expected token counts and prices are computed in the test with litellm itself on the messages that
`judgekit rubrics render` prints; the server's own call log proves that no judge was called.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from judgekit import EstimateSettings, ScoreSettings, estimate, score
from judgekit.judges import Completion, JudgeParams
from judgekit.run.engine import EngineSettings
from tests import lazy
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.server import ScriptedServer

litellm = lazy.module("litellm")

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm's bundled price table, no fetch

DATASET = json.loads(EXAMPLE_DATASET.read_text())
N_ASPECTS = sum(len(q["rubric_aspects"]) for q in DATASET)
INPUTS = ("--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES))
# The longest answer lamp_qa's schema allows: its one field is an enum of one-digit numbers.
LONGEST_LAMP_QA_ANSWER = '{"match_score": 2}'


def rendered_messages(*extra: str) -> list[list[dict[str, str]]]:
    """Every call's messages, as `judgekit rubrics render` shows them, item by item."""
    out = []
    for item in DATASET:
        proc = run_cli("rubrics", "render", "lamp_qa", *INPUTS, "--id", item["id"], "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        out += [call["messages"] for call in json.loads(proc.stdout)]
    return out


@pytest.fixture(scope="module")
def messages() -> list[list[dict[str, str]]]:
    calls = rendered_messages()
    assert len(calls) == N_ASPECTS
    return calls


def dry_run(server: ScriptedServer, *args: str, judge: str = "openai/gpt-4o-mini") -> dict[str, Any]:
    proc = run_cli(
        "score", *INPUTS, "--judge", judge, "--api-base", server.base_url, "--dry-run", "--json", *args
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_dry_run_calls_no_judge_and_counts_what_the_cache_saves(
    scripted_server: ScriptedServer, messages: list[list[dict[str, str]]], tmp_path: Path
) -> None:
    out = tmp_path / "scores.json"
    before = dry_run(scripted_server, "--out", str(out))
    assert scripted_server.count() == 0  # not one judge call
    assert not out.exists() and not (tmp_path / "scores.log.jsonl").exists()
    assert (before["calls"], before["cached"], before["judgments"]) == (N_ASPECTS, 0, N_ASPECTS)

    # prompt tokens: litellm's counter with litellm's name for the model (openai/gpt-4o-mini -> gpt-4o-mini)
    assert litellm.get_llm_provider("openai/gpt-4o-mini")[0] == "gpt-4o-mini"
    prompts = [litellm.token_counter(model="gpt-4o-mini", messages=m) for m in messages]
    assert before["prompt_tokens"] == sum(prompts)
    output = litellm.token_counter(model="gpt-4o-mini", text=LONGEST_LAMP_QA_ANSWER)
    assert before["output_tokens"] == N_ASPECTS * output
    judge = before["judges"][0]
    assert judge["output_tokens_per_call"] == output
    assert "o200k_base" in judge["tokenizer"]
    # the price: litellm's table, per call
    cost = sum(sum(litellm.cost_per_token("openai/gpt-4o-mini", p, output)) for p in prompts)
    assert before["cost_usd"] == pytest.approx(cost, rel=1e-9) and before["cost_usd"] > 0
    assert judge["price_in_per_million"] == pytest.approx(
        litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"] * 1e6
    )
    assert before["unknown_price"] == []

    run = run_cli("score", *INPUTS, "--judge", "openai/gpt-4o-mini", "--api-base", scripted_server.base_url,
                  "--out", str(out), "--no-progress")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert scripted_server.count() == N_ASPECTS
    after = dry_run(scripted_server)
    assert (after["calls"], after["cached"], after["prompt_tokens"], after["cost_usd"]) == (
        0,
        N_ASPECTS,
        0,
        0,
    )
    # a second sample of each unit is a new request: only those are calls
    two = dry_run(scripted_server, "--samples", "2")
    assert (two["calls"], two["cached"], two["judgments"]) == (N_ASPECTS, N_ASPECTS, 2 * N_ASPECTS)
    assert two["prompt_tokens"] == sum(prompts)
    assert scripted_server.count() == N_ASPECTS  # the dry runs called nothing


def test_text_output_states_its_assumptions(scripted_server: ScriptedServer) -> None:
    proc = run_cli("score", *INPUTS, "--judge", "openai/gpt-4o-mini", "--api-base", scripted_server.base_url,
                   "--dry-run", "--latency", "0.5", "--concurrency", "4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert f"{N_ASPECTS} to make" in text and "no judge was called" in text
    assert "0.5 s per call (--latency)" in text and "re-ask" in text
    assert "litellm's price table" in text and "longest valid JSON answer" in text
    # 18 calls, 4 in flight, 0.5 s each: ceil(18 / 4) = 5 rounds = 2.5 s
    assert "~2.5 s at concurrency 4" in text
    assert scripted_server.count() == 0


def test_unknown_price_and_prices_given(
    scripted_server: ScriptedServer, messages: list[list[dict[str, str]]], tmp_path: Path
) -> None:
    proc = run_cli("score", *INPUTS, "--judge", "openai/judge", "--api-base", scripted_server.base_url,
                   "--dry-run")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "unknown price for openai/judge: pass --price-in and --price-out" in proc.stdout
    est = dry_run(scripted_server, judge="openai/judge")
    assert est["cost_usd"] is None and len(est["unknown_price"]) == 1
    assert "litellm's default" in est["judges"][0]["tokenizer"]

    target = tmp_path / "estimate.json"
    priced = dry_run(scripted_server, "--price-in", "3", "--price-out", "15", "--out-estimate", str(target),
                     judge="openai/judge")  # fmt: skip
    assert json.loads(target.read_text()) == priced
    expected = (priced["prompt_tokens"] * 3 + priced["output_tokens"] * 15) / 1e6
    assert priced["cost_usd"] == pytest.approx(expected) and priced["unknown_price"] == []
    # litellm has no tokenizer for 'judge': its default one, on the same messages
    prompts = [litellm.token_counter(model="judge", messages=m) for m in messages]
    assert priced["prompt_tokens"] == sum(prompts)
    assert scripted_server.count() == 0


def test_local_judge_is_estimated_without_starting_a_server(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF" + bytes(1000))  # a GGUF header only: a server started on it would fail
    started = time.monotonic()
    proc = run_cli("score", *INPUTS, "--judge", f"local:{model}", "--dry-run", "--json", timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 30  # the CLI's imports only; no model load, no server
    est = json.loads(proc.stdout)
    judge = est["judges"][0]
    assert judge["identity"] == "local:tiny.gguf:1004|structured=json_object"
    assert judge["kind"] == "local" and judge["concurrency"] == 2 and judge["cost_usd"] == 0
    assert est["calls"] == N_ASPECTS

    missing = run_cli("score", *INPUTS, "--judge", f"local:{tmp_path / 'nope.gguf'}", "--dry-run")
    assert_clean_error(missing, "local model not found")


def test_library_estimate_with_a_python_judge(tmp_path: Path) -> None:
    calls: list[int] = []

    class Judge:
        identity = "python:test-judge"

        async def complete(self, messages: list[dict[str, str]], params: JudgeParams) -> Completion:
            calls.append(1)
            return Completion(text='{"match_score": 1}')

    cache = tmp_path / "cache.sqlite"
    settings = ScoreSettings(engine=EngineSettings(concurrency=4))
    first = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=Judge(), settings=settings, cache=cache)
    assert calls == [] and not cache.exists()  # an estimate neither calls nor creates the cache
    assert first.calls == N_ASPECTS and first.cost_usd is None and first.judges[0].kind == "python"
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=Judge(), settings=settings, cache=cache)
    assert len(calls) == N_ASPECTS
    second = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=Judge(), settings=settings, cache=cache)
    assert (second.calls, second.cached) == (0, N_ASPECTS) and len(calls) == N_ASPECTS


def test_time_follows_concurrency_and_latency() -> None:
    class Judge:
        identity = "python:timed-judge"

        async def complete(self, messages: list[dict[str, str]], params: JudgeParams) -> Completion:
            raise AssertionError("an estimate calls no judge")

    def seconds(concurrency: int, latency: float, samples: int = 1) -> float:
        settings = ScoreSettings(samples=samples, engine=EngineSettings(concurrency=concurrency))
        est = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=Judge(), settings=settings, cache=False,
                       assume=EstimateSettings(latency=latency))  # fmt: skip
        assert est.calls == samples * N_ASPECTS and est.latency_s == latency
        return est.time_s

    # 18 calls, 4 in flight: ceil(18 / 4) = 5 rounds
    assert seconds(4, 0.5) == pytest.approx(math.ceil(N_ASPECTS / 4) * 0.5)
    # 72 calls at 64 in flight from the first call on: a round of 64, then the 8 left = 2 rounds
    assert seconds(64, 2.0, samples=4) == pytest.approx(2 * 2.0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--latency", "3"), "--latency is for --dry-run"),
        (("--json",), "--json is for --dry-run"),
        (("--dry-run", "--price-in", "1"), "give both --price-in and --price-out"),
        (("--dry-run", "--latency", "-1"), "--latency:"),
        (("--dry-run", "--output-tokens", "0"), "--output-tokens:"),
        (("--dry-run", "--json", "-q"), "--json and --quiet contradict"),
        ((), "--out is required"),
        (
            ("--dry-run", "--out", f"{EXAMPLE_DATASET}/scores.json"),
            "--out",
        ),  # the run would fail: so does this
    ],
)
def test_bad_flags(args: tuple[str, ...], needle: str) -> None:
    proc = run_cli("score", *INPUTS, "--judge", "openai/judge", "--api-base", "http://127.0.0.1:9/v1", *args)
    assert_clean_error(proc, needle)


def test_panel_judges_at_their_own_endpoints(make_server: Any) -> None:
    from judgekit.judges.panel_spec import PanelJudge

    servers = [make_server(), make_server()]
    panel = [
        PanelJudge(model="openai/gpt-4o-mini", api_base=s.base_url, name=f"j{n}")
        for n, s in enumerate(servers)
    ]
    settings = ScoreSettings(engine=EngineSettings(concurrency=4, backoff_base=0.01), bootstrap=0)
    first = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=panel, settings=settings)
    assert [j.calls for j in first.judges] == [N_ASPECTS, N_ASPECTS] and first.calls == 2 * N_ASPECTS
    assert [
        servers[0].base_url in first.judges[0].identity,
        servers[1].base_url in first.judges[1].identity,
    ] == [
        True,
        True,
    ]
    # only the first endpoint's judge has answered: the other one's calls are still to make
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=panel[0], settings=settings)
    second = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=panel, settings=settings)
    assert [j.calls for j in second.judges] == [0, N_ASPECTS]
    assert second.prompt_tokens == first.judges[1].prompt_tokens
    assert [s.count() for s in servers] == [N_ASPECTS, 0]


@pytest.mark.integration
def test_local_judge_after_a_real_run_needs_no_call(tmp_path: Path) -> None:
    from tests.test_local_judge import require_local

    require_local()
    item = dict(DATASET[0], rubric_aspects=DATASET[0]["rubric_aspects"][:1])
    dataset = tmp_path / "one.json"
    dataset.write_text(json.dumps([item]))
    responses = tmp_path / "one_responses.json"
    responses.write_text(json.dumps({item["id"]: json.loads(EXAMPLE_RESPONSES.read_text())[item["id"]]}))
    args = ("score", "--dataset", str(dataset), "--responses", str(responses), "--judge", "local")
    before = run_cli(*args, "--dry-run", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["calls"] == 1
    run = run_cli(*args, "--out", str(tmp_path / "s.json"), "--no-progress", timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    after = run_cli(*args, "--dry-run", "--json")
    assert after.returncode == 0, after.stderr
    est = json.loads(after.stdout)
    assert (est["calls"], est["cached"]) == (0, 1)
    assert (
        est["judges"][0]["identity"]
        == json.loads((tmp_path / "s.json").read_text())["meta"]["judge"]["identity"]
    )
