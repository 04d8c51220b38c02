"""One home for each setting and each counter (issue 19).

- The per-call timeout lives in ``JudgeOptions.timeout`` only: it is the timeout in effect for every judge
  (also a user's judge without a timeout of its own), the score file records it there and
  ``settings_from_meta`` restores it; ``EngineSettings`` refuses it with a line that says where it went.
- The adaptive limiter reports each change of the concurrency limit once, to the engine that counts it.
- A batch's answers are counted by the same function as live ones: the same answers give the same totals.

The scripted server (tests/server.py) is the witness: its call log, its batch output files and its own
definition of usage (one token per whitespace-separated word).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

import judgekit
from judgekit import BatchSettings, EngineSettings, JudgeOptions, ScoreSettings
from judgekit.judges import Completion, JudgeParams
from judgekit.judges.base import Message
from judgekit.results import ScoreFile
from judgekit.score_reader import settings_from_meta
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, request_text

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18
TARGET = "Aspect: Knee care\n"  # one aspect of the example set: the call the server keeps waiting


class PlainHttpJudge:
    """A user's judge that posts to an OpenAI-compatible server and sets no timeout of its own: the one it
    gets is judgekit's per-call timeout."""

    identity = "python:tests.test_settings_home:PlainHttpJudge"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        body = {"model": "judge", "messages": messages, "temperature": params.temperature}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session,
            session.post(f"{self.base_url}/chat/completions", json=body) as response,
        ):
            data = await response.json()
        return Completion(text=data["choices"][0]["message"]["content"])


def _score(judge: Any, settings: ScoreSettings, tmp_path: Path, guard: float = 40.0) -> ScoreFile:
    """``judgekit.ascore`` as a library caller runs it, given up after ``guard`` seconds (so a timeout that
    is not in effect fails the test instead of hanging it)."""

    async def go() -> ScoreFile:
        async with asyncio.timeout(guard):
            return await judgekit.ascore(
                EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=judge, settings=settings, out=tmp_path / "s.json",
                cache=False,
            )  # fmt: skip

    return asyncio.run(go())


def _knee(result: ScoreFile) -> Any:
    return next(d for d in result.by_id()["lqa-001"].details if d.aspect == "Knee care")


# ---- (a) the per-call timeout: one home, in effect, recorded and restored


def test_the_judge_options_timeout_is_the_timeout_in_effect_and_round_trips_through_meta(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.add_rule(TARGET, Reply(delay=60))  # this call's answer comes long after any timeout
    settings = ScoreSettings(
        judge=JudgeOptions(timeout=1.5),
        engine=EngineSettings(concurrency=4, max_retries=1, backoff_base=0.01),
        bootstrap=0,
    )
    t0 = time.monotonic()
    result = _score(PlainHttpJudge(scripted_server.base_url), settings, tmp_path)
    elapsed = time.monotonic() - t0
    # two tries of 1.5 s each, not 120 s (the old engine default a caller setting JudgeOptions still got)
    assert elapsed < 15, elapsed
    knee = _knee(result)
    assert knee.status == "unscored"
    assert knee.reason == "timeout: no answer within 1.5 s (gave up after 2 tries)"
    assert scripted_server.count(TARGET) == 2
    assert result.coverage.scored == N_ASPECTS - 1
    # each try was cut after about the set timeout (the server saw the client go away)
    tries = [c for c in scripted_server.calls if TARGET in request_text(c["request"] or {})]
    assert all(c["cancelled"] and 1.3 < c["t_end"] - c["t_start"] < 6 for c in tries), tries

    # recorded where it lives, once, and restored from there
    assert result.meta["judge"]["timeout"] == 1.5
    assert "timeout" not in result.meta["engine"]
    restored = settings_from_meta(result.meta)
    assert restored.judge.timeout == 1.5
    assert restored.engine == settings.engine
    on_disk = json.loads((tmp_path / "s.json").read_text())["meta"]
    assert settings_from_meta(on_disk).judge.timeout == 1.5


def test_a_panel_entry_with_its_own_timeout_gets_it_not_the_runs(scripted_server: ScriptedServer) -> None:
    """A panel entry's ``timeout`` is that judge's per-call timeout, above the run's as well as below it."""
    from judgekit.judges.panel_spec import PanelJudge

    scripted_server.add_rule({"model": "slow"}, Reply(delay=2.5))  # every call of one judge takes 2.5 s
    settings = ScoreSettings(
        judge=JudgeOptions(api_base=scripted_server.base_url, api_key="x", timeout=1.0),
        engine=EngineSettings(max_retries=0),
        bootstrap=0,
    )
    panel = [PanelJudge(model="openai/fast"), PanelJudge(model="openai/slow", timeout=6.0)]
    result = judgekit.score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=panel, settings=settings, cache=False)
    assert result.coverage.scored == N_ASPECTS, result.unscored  # no call of the slow judge was cut at 1 s
    slow = [c for c in scripted_server.calls if c["model"] == "slow"]
    assert len(slow) == N_ASPECTS and all(c["status"] == 200 and not c["cancelled"] for c in slow)


def test_a_score_file_that_recorded_the_timeout_under_engine_restores_it_as_the_judges() -> None:
    """Score files written before the timeout had one home kept it in ``meta.engine``."""
    meta = {
        "rubric": {"name": "lamp_qa"},
        "judge": {"identity": "litellm:openai/judge", "structured": "auto"},
        "engine": {"concurrency": 3, "max_retries": 2, "timeout": 7.0},
    }
    restored = settings_from_meta(meta)
    assert restored.judge.timeout == 7.0
    assert (restored.engine.concurrency, restored.engine.max_retries) == (3, 2)  # the rest still restored


def test_engine_settings_refuse_a_timeout_and_say_where_it_lives() -> None:
    with pytest.raises(ValidationError) as err:
        EngineSettings(timeout=5.0)  # type: ignore[call-arg]
    assert "timeout is a judge option: ScoreSettings(judge=JudgeOptions(timeout=...))" in str(err.value)
    with pytest.raises(ValidationError, match="greater than 0"):
        JudgeOptions(timeout=0)


def test_the_cli_timeout_sets_the_one_home(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(TARGET, Reply(delay=60))
    out = tmp_path / "s.json"
    args = ["score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES)]
    args += ["--judge", "openai/judge", "--api-base", scripted_server.base_url, "--no-cache", "--no-progress"]
    args += ["--max-retries", "0", "--bootstrap", "0", "--out", str(out)]
    proc = run_cli(*args, "--timeout", "1", timeout=120)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.read_text())["meta"]
    assert meta["judge"]["timeout"] == 1.0 and "timeout" not in meta["engine"]
    bad = run_cli(*args, "--timeout", "0", timeout=120)
    assert_clean_error(bad, "--timeout", "greater than 0")


# ---- (b) the limiter's events: reported once, counted once, by the engine


def test_each_limiter_event_is_counted_once(
    make_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two calls in flight at most; the first call and the sixth get a 429. Worked out by hand: each 429
    comes from a call started after the previous cut, so each halves the limit (2 -> 1), and the next
    success raises it again (1 -> 1 + 1): four changes, two of them for the server's two 429s."""
    server = make_server(latency=0.3)
    retry = Reply.rate_limited(retry_after=0.05)
    server.queue([retry, Reply(), Reply(), Reply(), Reply(), retry])
    settings = ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="x"),
        engine=EngineSettings(concurrency=2, max_retries=2, backoff_base=0.01),
        bootstrap=0,
    )
    with caplog.at_level(logging.WARNING, logger="judgekit"):
        result = judgekit.score(
            EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings,
            out=tmp_path / "s.json", cache=False,
        )  # fmt: skip
    rejected = [c for c in server.calls if c["status"] == 429]
    assert len(rejected) == 2
    changes = [(c["from"], c["to"], c["why"]) for c in result.meta["concurrency_changes"]]
    cut, grow = "rate limited (429)", "calls succeeding"
    assert changes == [(2, 1, cut), (1, 2, grow), (2, 1, cut), (1, 2, grow)]
    # the same four, once each, in the terminal's warnings and the run log's summary row
    warned = [r.getMessage() for r in caplog.records if "judgekit: concurrency" in r.getMessage()]
    assert warned == [f"judgekit: concurrency {a} -> {b} ({why})" for a, b, why in changes]
    rows = [json.loads(line) for line in (tmp_path / "s.log.jsonl").read_text().splitlines()]
    (summary,) = [r for r in rows if r["type"] == "summary"]
    assert summary["concurrency_changes"] == result.meta["concurrency_changes"]
    # the engine's call counters agree with the server's log: every call once, every 429 one retry
    assert result.totals.calls == len(server.calls) == N_ASPECTS + 2
    assert result.totals.retries == 2
    assert result.coverage.scored == N_ASPECTS


def test_the_limiter_reports_each_change_once_to_its_owner() -> None:
    """The limiter keeps no record: it reports to whoever owns the counts (the engine, in a run)."""
    from judgekit.run.limiter import AdaptiveLimiter

    reported: list[tuple[int, int, str]] = []
    limiter = AdaptiveLimiter(4, on_change=lambda old, new, why: reported.append((old, new, why)))
    limiter.on_rate_limit(0)  # 4 -> 2, generation 1
    limiter.on_rate_limit(0)  # a 429 from a call started before the cut: no second cut
    limiter.on_rate_limit(1)  # 2 -> 1, generation 2
    limiter.on_success()  # 1 -> 2 after one success at a limit of 1
    limiter.on_success()
    limiter.on_success()  # 2 -> 3 after two successes at a limit of 2
    assert reported == [
        (4, 2, "rate limited (429)"),
        (2, 1, "rate limited (429)"),
        (1, 2, "calls succeeding"),
        (2, 3, "calls succeeding"),
    ]
    assert limiter.limit == 3


# ---- (c) a completion is accounted the same, from a batch or live


def _usage_by_hand(server: ScriptedServer, reasoning: str) -> tuple[int, int, int]:
    """The server's usage of its live calls, worked out from its log with its own rule (words)."""
    prompt = sum(len(request_text(c["request"]).split()) for c in server.calls)
    thinking = len(reasoning.split()) * len(server.calls)
    answers = sum(len(str(c["content"]).split()) for c in server.calls)
    return prompt, answers + thinking, thinking


def test_batch_and_live_answers_are_accounted_identically(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    reasoning = "First I read the aspect, then the response, twice."
    scripted_server.add_rule(None, Reply(reasoning=reasoning))  # batch lines and live calls alike
    scripted_server.batch.polls = 0
    base = ScoreSettings(judge=JudgeOptions(api_base=scripted_server.base_url, api_key="x"), bootstrap=0)

    def run(batch: BatchSettings | None, name: str) -> ScoreFile:
        return judgekit.score(
            EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge",
            settings=base.model_copy(update={"batch": batch}), cache=tmp_path / f"{name}.sqlite",
        )  # fmt: skip

    batched = run(BatchSettings(poll=0.05), "batch")
    assert scripted_server.count() == 0 and batched.meta["batch"]["answered"] == N_ASPECTS
    live = run(None, "live")
    assert scripted_server.count() == N_ASPECTS

    prompt, completion, thinking = _usage_by_hand(scripted_server, reasoning)
    assert thinking > 0
    for result in (batched, live):
        t = result.totals
        assert (t.prompt_tokens, t.completion_tokens, t.reasoning_tokens) == (prompt, completion, thinking)
    assert batched.totals.cost_usd == live.totals.cost_usd == 0.0  # no price known for openai/judge
    assert (batched.totals.calls, batched.totals.cache_hits) == (0, N_ASPECTS)
    assert (live.totals.calls, live.totals.cache_hits) == (N_ASPECTS, 0)
