"""``judgekit score --batch`` against the scripted server's ``/v1/files`` and ``/v1/batches``, as a real process.

The server's own logs are the witnesses: its batch log (what was submitted, how often it was polled), the
input files it stored (the request lines) and its chat-call log (what went live).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.proc_tools import cli_env, popen
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer, ServerProcess

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18
POLL = "0.05"


def _args(base_url: str, cache: Path, out: Path, *extra: str) -> list[str]:
    return score_args(out.parent, "--no-progress", *extra, api_base=base_url, cache=cache, out=out)


def _batch(base_url: str, cache: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*_args(base_url, cache, out, "--batch", "--batch-poll", POLL, *extra), timeout=180)


def _start_batch_run(base_url: str, cache: Path, out: Path) -> subprocess.Popen[str]:
    """``score --batch`` as a background process, for tests that stop it (or its server) while it polls."""
    cmd = [sys.executable, "-m", "judgekit", *_args(base_url, cache, out, "--batch", "--batch-poll", POLL)]
    return popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_polled(batches: Any, proc: subprocess.Popen[str], polls: int = 3) -> None:
    """Wait until the server has seen the run's batch polled ``polls`` times (``batches()``: its batch log)."""
    deadline = time.monotonic() + 120
    while not ((log := batches()) and log[0]["retrievals"] >= polls):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the batch was never polled"
        time.sleep(0.05)


def _cache_keys(cache: Path) -> set[str]:
    with sqlite3.connect(cache) as db:
        return {k for (k,) in db.execute("SELECT key FROM completions")}


def _input_lines(server: ScriptedServer, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The request lines of a batch, as the server received them."""
    raw = server.batch_api.content(batch["input_file_id"])
    return [json.loads(line) for line in raw.decode().splitlines()]


def _scores(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {q["id"]: [(a["aspect"], a["score"]) for a in q["details"]] for q in data["per_question_scores"]}


def test_a_batch_that_completes_after_a_few_polls_scores_everything_without_a_live_call(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.batch.polls = 3
    cache, out = tmp_path / "cache.sqlite", tmp_path / "batch.json"
    proc = _batch(scripted_server.base_url, cache, out)
    assert proc.returncode == 0, proc.stderr
    assert scripted_server.count() == 0, "no chat completion went live"
    (batch,) = scripted_server.batch_api.log
    assert batch["status"] == "completed"
    assert batch["lines"] == N_ASPECTS
    assert batch["retrievals"] == 4, "polled while in progress, then once more to see it end"
    assert "submitted batch batch_scripted_1 (18 requests)" in proc.stderr
    result = json.loads(out.read_text())
    assert result["coverage"]["scored"] == N_ASPECTS
    assert result["meta"]["batch"]["answered"] == N_ASPECTS
    assert [b["status"] for b in result["meta"]["batch"]["batches"]] == ["completed"]
    assert result["totals"]["calls"] == 0 and result["totals"]["prompt_tokens"] > 0
    # each line's custom_id is its cache key: the cache holds exactly the batch's answers
    assert _cache_keys(cache) == set(batch["custom_ids"])

    # the same run live, on a fresh cache: the same requests (line bodies = live request bodies), same scores
    live_out = tmp_path / "live.json"
    live = run_cli(*_args(scripted_server.base_url, tmp_path / "fresh.sqlite", live_out))
    assert live.returncode == 0, live.stderr
    assert scripted_server.count() == N_ASPECTS
    live_bodies = sorted(json.dumps(c["request"], sort_keys=True) for c in scripted_server.calls)
    lines = _input_lines(scripted_server, batch)
    assert all(line["url"] == "/v1/chat/completions" and line["method"] == "POST" for line in lines)
    assert sorted(json.dumps(line["body"], sort_keys=True) for line in lines) == live_bodies
    assert _scores(live_out) == _scores(out)


def test_batch_and_live_answers_are_interchangeable_in_the_cache(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.batch.polls = 0
    cache = tmp_path / "cache.sqlite"
    first = _batch(scripted_server.base_url, cache, tmp_path / "a.json")
    assert first.returncode == 0, first.stderr
    # a live run after the batch run: every answer is a cache hit, no chat call
    live = run_cli(*_args(scripted_server.base_url, cache, tmp_path / "b.json"))
    assert live.returncode == 0, live.stderr
    assert scripted_server.count() == 0
    assert json.loads((tmp_path / "b.json").read_text())["totals"]["cache_hits"] == N_ASPECTS
    # and a batch run after a live run submits nothing
    other = tmp_path / "other.sqlite"
    assert run_cli(*_args(scripted_server.base_url, other, tmp_path / "c.json")).returncode == 0
    again = _batch(scripted_server.base_url, other, tmp_path / "d.json")
    assert again.returncode == 0, again.stderr
    assert len(scripted_server.batch_api.log) == 1, "the second batch run found everything in the cache"
    assert _scores(tmp_path / "d.json") == _scores(tmp_path / "a.json")


def test_failed_lines_go_live_and_the_run_completes(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.batch.fail_every = 2  # lines 2, 4, ... fail with HTTP 500
    out = tmp_path / "scores.json"
    proc = _batch(scripted_server.base_url, tmp_path / "cache.sqlite", out)
    assert proc.returncode == 0, proc.stderr
    (batch,) = scripted_server.batch_api.log
    assert (batch["completed"], batch["failed"]) == (N_ASPECTS - N_ASPECTS // 2, N_ASPECTS // 2)
    lines = _input_lines(scripted_server, batch)
    failed = [line["body"]["messages"] for i, line in enumerate(lines) if (i + 1) % 2 == 0]
    live = [c["messages"] for c in scripted_server.calls]
    assert sorted(map(json.dumps, live)) == sorted(map(json.dumps, failed)), (
        "exactly the failed lines went live"
    )
    result = json.loads(out.read_text())
    assert result["coverage"]["scored"] == N_ASPECTS and result["status"] == "ok"
    assert result["totals"]["calls"] == N_ASPECTS // 2
    assert "9 answered, 9 without an answer (judged live)" in proc.stderr


@pytest.mark.parametrize(("outcome", "answered"), [("expired", 5), ("failed", 0)])
def test_an_expired_or_failed_batch_falls_back_to_live_calls(
    scripted_server: ScriptedServer, tmp_path: Path, outcome: str, answered: int
) -> None:
    scripted_server.batch.outcome = outcome  # type: ignore[assignment]
    scripted_server.batch.done_before_end = 5
    out = tmp_path / "scores.json"
    proc = _batch(scripted_server.base_url, tmp_path / "cache.sqlite", out)
    assert proc.returncode == 0, proc.stderr
    assert scripted_server.batch_api.log[0]["status"] == outcome
    assert scripted_server.count() == N_ASPECTS - answered
    result = json.loads(out.read_text())
    assert result["coverage"]["scored"] == N_ASPECTS
    assert result["totals"]["cache_hits"] == answered


def test_unscored_fallback_leaves_the_failed_lines_unscored_with_their_reason(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.batch.fail_every = 2
    out = tmp_path / "scores.json"
    proc = _batch(scripted_server.base_url, tmp_path / "cache.sqlite", out, "--batch-fallback", "unscored")
    assert_clean_error(proc, "coverage 9/18 below --min-coverage 0.9", "batch line failed", code=4)
    assert scripted_server.count() == 0, "nothing went live"
    result = json.loads(out.read_text())
    assert result["status"] == "failed"
    assert len(result["unscored"]) == N_ASPECTS // 2
    assert {u["reason"] for u in result["unscored"]} == {
        "batch line failed: HTTP 500: scripted failure of line " + str(n) for n in range(2, 19, 2)
    }
    # a rerun submits only the requests still unanswered (9: 4 of them fail again); above the floor it succeeds
    ok = _batch(
        scripted_server.base_url, tmp_path / "cache.sqlite", out, "--batch-fallback", "unscored",
        "--min-coverage", "0.5",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert scripted_server.count() == 0
    assert len(scripted_server.batch_api.log) == 2, "a rerun submits only the lines still unanswered"
    assert scripted_server.batch_api.log[1]["lines"] == N_ASPECTS // 2


def test_an_unparseable_batch_answer_is_re_asked_live(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.add_rule(None, Reply(content="I think it is fine."), times=1)  # the batch's first line
    out = tmp_path / "scores.json"
    proc = _batch(scripted_server.base_url, tmp_path / "cache.sqlite", out)
    assert proc.returncode == 0, proc.stderr
    (call,) = scripted_server.calls
    assert call["messages"][-2] == {"role": "assistant", "content": "I think it is fine."}
    assert call["messages"][-1]["role"] == "user"
    result = json.loads(out.read_text())
    assert result["coverage"]["scored"] == N_ASPECTS
    assert result["totals"]["reasks"] == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_run_stopped_while_polling_resumes_the_same_batch(
    make_server_process: Any, tmp_path: Path, sig: int
) -> None:
    server: ServerProcess = make_server_process(script={"batch": {"polls": 1_000_000}})
    cache, out = tmp_path / "cache.sqlite", tmp_path / "scores.json"
    proc = _start_batch_run(server.base_url, cache, out)
    _wait_until_polled(lambda: server.control.batches, proc)
    proc.send_signal(sig)
    _stdout, stderr = proc.communicate(timeout=30)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, stderr
        assert "Traceback" not in stderr
        assert "batch(es) batch_scripted_1 still running at the provider" in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT batch_id, ended FROM batches").fetchall() == [("batch_scripted_1", None)]

    server.control.script({"batch": {"polls": 0}})  # the provider finishes the batch
    second = run_cli(*_args(server.base_url, cache, out, "--batch", "--batch-poll", POLL), timeout=180)
    assert second.returncode == 0, second.stderr
    assert "resuming batch batch_scripted_1 (18 requests)" in second.stderr
    batches = server.control.batches
    assert [b["id"] for b in batches] == ["batch_scripted_1"], "one batch created, not two"
    assert server.control.count() == 0, "no chat call"
    assert json.loads(out.read_text())["coverage"]["scored"] == N_ASPECTS
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT status FROM batches").fetchall() == [("completed",)]


@pytest.mark.parametrize(
    ("judges", "needle"),
    [
        (["local"], "the local judge has no batch API"),
        (["mypkg.judges:judge"], "a Python judge (mypkg.judges:judge) has no batch API"),
        (["openai/a", "openai/b"], "--batch takes one judge, not a panel of 2"),
        (["anthropic/claude-3-5-haiku-latest"], "provider 'anthropic' has no batch API judgekit can use"),
    ],
)
def test_a_judge_without_a_batch_api_is_refused_in_one_line(
    tmp_path: Path, judges: list[str], needle: str
) -> None:
    given = [x for j in judges for x in ("--judge", j)]
    proc = run_cli(
        "score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES), *given,
        "--batch", "--out", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert_clean_error(proc, needle, code=2)
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--batch", "--no-cache"], "--batch keeps its answers and batch ids in the cache"),
        (["--batch-poll", "5"], "--batch-poll is for --batch"),
        (["--batch-fallback", "unscored"], "--batch-fallback is for --batch"),
        (["--batch", "--batch-poll", "0"], "--batch-poll: 0 is not between 0 (excluded) and 3600"),
    ],
)
def test_batch_options_are_checked(
    scripted_server: ScriptedServer, tmp_path: Path, extra: list[str], needle: str
) -> None:
    proc = run_cli(
        "score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES),
        "--judge", "openai/judge", "--api-base", scripted_server.base_url, "--out", str(tmp_path / "s.json"), *extra,
    )  # fmt: skip
    assert_clean_error(proc, needle, code=2)
    assert scripted_server.count() == 0 and not scripted_server.batch_api.log


def test_an_endpoint_without_a_batch_api_stops_the_run_with_exit_3(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = _batch(scripted_server.url + "/nothing/v1", tmp_path / "cache.sqlite", tmp_path / "s.json")
    assert_clean_error(proc, "could not upload the batch input", "NotFoundError", code=3)
    assert not (tmp_path / "s.json").exists()


def test_dry_run_with_batch_prices_at_the_batch_rates_of_litellms_table(tmp_path: Path) -> None:
    import litellm

    base = ["score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES)]
    base += ["--judge", "openai/gpt-4o-mini", "--dry-run", "--json"]
    live, batch = (run_cli(*base, *extra) for extra in ([], ["--batch"]))
    assert live.returncode == 0 and batch.returncode == 0, (live.stderr, batch.stderr)
    est_live, est = json.loads(live.stdout), json.loads(batch.stdout)
    info = litellm.model_cost["gpt-4o-mini"]
    rate_in, rate_out = info["input_cost_per_token_batches"], info["output_cost_per_token_batches"]
    assert est["calls"] == est_live["calls"] == N_ASPECTS
    assert est["cost_usd"] == pytest.approx(est["prompt_tokens"] * rate_in + est["output_tokens"] * rate_out)
    assert est["cost_usd"] < est_live["cost_usd"]
    assert "batch rates" in est["judges"][0]["price_source"]
    assert est["batch"] is True and est["time_s"] == 24 * 3600
    assert any("--batch" in note for note in est["notes"])


def test_a_provider_that_stops_answering_polls_stops_the_run_with_exit_3(
    make_server_process: Any, tmp_path: Path
) -> None:
    server: ServerProcess = make_server_process(script={"batch": {"polls": 1_000_000}})
    proc = _start_batch_run(server.base_url, tmp_path / "cache.sqlite", tmp_path / "s.json")
    _wait_until_polled(lambda: server.control.batches, proc, polls=1)
    server.stop()
    stdout, stderr = proc.communicate(timeout=120)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert_clean_error(done, "cannot poll batch batch_scripted_1", "rerun to resume polling it", code=3)
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT ended FROM batches").fetchall() == [(None,)], "kept open for a rerun"


def test_a_batch_the_provider_no_longer_knows_falls_back_to_live_calls(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.load_script({"batch": {"polls": 1_000_000}})  # never ends by itself
    cache, out = tmp_path / "cache.sqlite", tmp_path / "scores.json"
    proc = _start_batch_run(scripted_server.base_url, cache, out)
    _wait_until_polled(lambda: scripted_server.batch_api.log, proc)
    proc.kill()
    proc.communicate(timeout=30)
    scripted_server.reset()  # the provider forgot the batch (deleted, or another account)
    second = _batch(scripted_server.base_url, cache, out)
    assert second.returncode == 0, second.stderr
    assert "batch lost: the provider no longer knows batch batch_scripted_1" in second.stderr
    assert not scripted_server.batch_api.log, "nothing new submitted: the lost batch's requests went live"
    assert scripted_server.count() == N_ASPECTS
    assert json.loads(out.read_text())["coverage"]["scored"] == N_ASPECTS


def test_progress_shows_the_batch_state_and_counts(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.batch.polls = 2
    scripted_server.batch.fail_every = 3
    args = _args(
        scripted_server.base_url, tmp_path / "c.sqlite", tmp_path / "s.json", "--batch", "--batch-poll", POLL
    )
    proc = run_cli(*[a for a in args if a != "--no-progress"], timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "batch batch_scripted_1 in_progress: 6/18 done, 0 failed" in proc.stderr
    assert "batch batch_scripted_1 in_progress: 12/18 done, 0 failed" in proc.stderr
    assert "batch batch_scripted_1 completed: 12/18 done, 6 failed" in proc.stderr


def test_a_large_run_is_split_into_several_batches_from_python(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    import judgekit

    scripted_server.batch.polls = 1
    settings = judgekit.ScoreSettings(batch=judgekit.BatchSettings(poll=0.05, max_lines=5))
    settings.judge.api_base = scripted_server.base_url
    result = judgekit.score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=settings,
        cache=tmp_path / "c.sqlite",
    )
    log = scripted_server.batch_api.log
    assert [b["lines"] for b in log] == [5, 5, 5, 3]
    assert len({k for b in log for k in b["custom_ids"]}) == N_ASPECTS
    assert scripted_server.count() == 0
    assert result.coverage.scored == N_ASPECTS
    assert len(result.meta["batch"]["batches"]) == 4


def test_a_run_stopped_while_the_batch_is_being_created_records_it_and_resumes_it(
    make_server_process: Any, tmp_path: Path
) -> None:
    server: ServerProcess = make_server_process(script={"batch": {"polls": 0, "create_delay": 2.0}})
    cache, out = tmp_path / "cache.sqlite", tmp_path / "scores.json"
    proc = _start_batch_run(server.base_url, cache, out)
    _wait_until_polled(lambda: server.control.batches, proc, polls=0)  # created, its id not yet answered
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT batch_id, ended FROM batches").fetchall() == [("batch_scripted_1", None)]
    second = run_cli(*_args(server.base_url, cache, out, "--batch", "--batch-poll", POLL), timeout=180)
    assert second.returncode == 0, second.stderr
    assert [b["id"] for b in server.control.batches] == ["batch_scripted_1"], "one batch created, not two"
    assert server.control.count() == 0
