"""A judge that only answers 429 stops the run, and so does --deadline: real `judgekit score` processes
against the scripted server, with small values for the flags.

- a spent quota (OpenAI's insufficient_quota 429) stops the run at once: no retry, no wait;
- rate limiting that never lets a call through stops the run --max-stall seconds after the first 429,
  whatever the run's size, with or without Retry-After;
- rate limiting that lets calls through now and then never trips it;
- --deadline stops the run like Ctrl-C (exit 124), keeps what it finished, and a rerun resumes.

Times: the part the flags control is measured from the line the run prints when it starts waiting to its
exit, and asserted near the flag's value; start-up (imports) gets wide margins on the shared machine.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._common import synthetic_lamp_qa
from tests.conftest import EXAMPLE_DATASET, assert_clean_error, run_cli
from tests.score_run import cache_rows, log_rows, score_args, timed
from tests.server import Reply, ScriptedServer

N_EXAMPLE = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18 units
QUOTA_BODY = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}
THROTTLED = "rate-limits the calls (429)"  # printed once, when the first 429 of a streak arrives


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    return next(ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:"))


@pytest.mark.parametrize(
    "client", [["--client", "aiohttp"], ["--client", "litellm"], ["--client", "litellm", "--workers", "2"]]
)
def test_spent_quota_stops_the_run_at_once(make_server: Any, tmp_path: Path, client: list[str]) -> None:
    """The lean client, litellm in process, and litellm in worker processes all stop the run at once."""
    server: ScriptedServer = make_server()
    server.add_rule(None, Reply(status=429, error_body=QUOTA_BODY))
    args = score_args(tmp_path, "--no-progress", *client, api_base=server.base_url)
    proc, elapsed, _ = timed(args, "never printed")
    assert_clean_error(
        proc, "quota is spent", "insufficient_quota", "You exceeded your current quota", code=3
    )
    line = error_line(proc)
    assert f"the judge at {server.base_url} (openai/judge)" in line
    assert "0 judgment(s) made are cached" in line
    assert "retry" not in proc.stderr.lower()  # not one retry was announced or made
    # only the first wave of calls (the default concurrency, 16) went out; none was retried
    calls = server.calls
    assert 1 <= len(calls) <= 16, len(calls)
    assert len({c["messages"][-1]["content"] for c in calls}) == len(calls)
    assert all(c["status"] == 429 for c in calls)
    assert elapsed < 60, elapsed  # start-up only: ~3 s idle; no backoff of 1+2+4+... s per unit
    assert not (tmp_path / "s.json").exists()
    rows = log_rows(tmp_path)
    assert rows[-1]["type"] == "summary" and rows[-1]["status"] == "stopped"
    assert "insufficient_quota" in rows[-1]["error"]


@pytest.mark.parametrize("retry_after", [None, 0.5])
def test_rate_limit_that_never_lets_a_call_through_stops_after_max_stall(
    make_server: Any, tmp_path: Path, retry_after: float | None
) -> None:
    """300 units, 429 on every call: the run stops ~--max-stall seconds after the first 429, not after
    every unit spent its 7 tries (which took ~16 minutes before this)."""
    ds, _ = synthetic_lamp_qa(tmp_path, 75, 4)
    server: ScriptedServer = make_server()
    server.add_rule(None, Reply.rate_limited(retry_after=retry_after))
    args = score_args(tmp_path, "--no-progress", "--max-stall", "3", api_base=server.base_url, dataset=ds)
    proc, elapsed, after_first = timed(args, THROTTLED)
    assert_clean_error(proc, "rate-limits every call", "none got through", "(--max-stall 3)", code=3)
    line = error_line(proc)
    assert "0 judgment(s) made are cached; rerun to resume" in line
    refused = int(re.search(r"(\d+) call\(s\) in \d+ s answered 429", line).group(1))  # type: ignore[union-attr]
    calls = server.calls
    assert refused == len(calls) and all(c["status"] == 429 for c in calls)
    assert after_first is not None and 2.5 < after_first < 3 + 8, after_first  # 3 s, plus a tick and exit
    assert elapsed < 60, elapsed
    assert len(calls) < 300, len(calls)  # far from 300 units x 7 tries
    assert proc.stderr.count(THROTTLED) == 1, proc.stderr  # announced once, not per retry
    assert cache_rows(tmp_path) == 0 and not (tmp_path / "s.json").exists()
    assert log_rows(tmp_path)[-1]["status"] == "stopped"


def test_every_call_refused_with_429_is_exit_3_even_before_max_stall(
    make_server: Any, tmp_path: Path
) -> None:
    """No retries: every unit gives up at its first 429 long before --max-stall; a run with not one answer
    is still a judge that could not judge (exit 3), not a coverage failure (exit 4)."""
    server: ScriptedServer = make_server()
    server.add_rule(None, Reply.rate_limited(retry_after=None))
    args = score_args(tmp_path, "--no-progress", "--max-retries", "0", api_base=server.base_url)
    proc = run_cli(*args)
    assert_clean_error(proc, "rate-limits every call", f"{N_EXAMPLE} call(s)", code=3)
    assert len(server.calls) == N_EXAMPLE


def test_rate_limit_that_lets_calls_through_never_trips(make_server: Any, tmp_path: Path) -> None:
    """Every other call is refused for the whole run, which lasts several times --max-stall: an answer
    between the 429s restarts the clock, and every unit ends scored."""
    ds, _ = synthetic_lamp_qa(tmp_path, 20, 4)
    server: ScriptedServer = make_server(latency=0.03)
    turn = itertools.count()
    server.add_rule(None, lambda _req: Reply.rate_limited(0.05) if next(turn) % 2 == 0 else Reply())
    args = score_args(
        tmp_path,
        "--no-progress",
        "--max-stall",
        "1",
        "--concurrency",
        "2",
        api_base=server.base_url,
        dataset=ds,
    )
    t0 = time.monotonic()
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    calls = server.calls
    refused = sum(c["status"] == 429 for c in calls)
    assert refused >= 79 and sum(c["status"] == 200 for c in calls) == 80, refused
    assert calls[-1]["t_end"] - calls[0]["t_start"] > 2, "the run must outlast --max-stall to prove a thing"
    assert time.monotonic() - t0 > 1
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["coverage"]["scored"] == 80 == result["coverage"]["total"]


def test_deadline_stops_like_ctrl_c_and_a_rerun_resumes(make_server: Any, tmp_path: Path) -> None:
    """Each call takes 1 s and one is in flight at a time: 18 units take 18 s; --deadline 5 stops the run
    after a few of them, with exit 124, what it finished cached, and no score file."""
    server: ScriptedServer = make_server(latency=1.0)
    args = score_args(tmp_path, "--no-progress", "--concurrency", "1", api_base=server.base_url)
    t0 = time.monotonic()
    proc = run_cli(*args, "--deadline", "5")
    elapsed = time.monotonic() - t0
    assert_clean_error(proc, "stopped at --deadline 5 s after", "rerun the same command to resume", code=124)
    done = int(re.search(r"after (\d+) of 18 judgments", error_line(proc)).group(1))  # type: ignore[union-attr]
    answered = server.count(lambda c: c["status"] == 200 and not c["cancelled"])
    assert 1 <= done <= 5 and done == cache_rows(tmp_path) and answered in (done, done + 1), (done, answered)
    assert elapsed < 5 + 30, elapsed  # the deadline, plus start-up on a loaded machine; never the 18 s run
    assert not (tmp_path / "s.json").exists()
    summary = log_rows(tmp_path)[-1]
    assert summary["status"] == "interrupted" and "--deadline 5 s" in summary["error"]
    server.latency = 0.0
    server.clear_calls()
    again = run_cli(*args, "--deadline", "30m")
    assert again.returncode == 0, again.stderr
    assert len(server.calls) == 18 - done  # the finished units came from the cache


def test_deadline_and_max_stall_values(tmp_path: Path) -> None:
    for flag, value in (
        ("--deadline", "soon"),
        ("--deadline", "0"),
        ("--max-stall", "-5"),
        ("--max-stall", "2x"),
    ):
        proc = run_cli(*score_args(tmp_path, flag, value, api_base="http://127.0.0.1:9/v1"))
        assert proc.returncode == 2, (flag, value, proc.stderr)
        assert "Traceback" not in proc.stderr and f"argument {flag}" in proc.stderr, proc.stderr
        assert not (tmp_path / "cache.sqlite").exists() and not (tmp_path / "s.json").exists()
    help_text = run_cli("score", "--help").stdout
    assert "exit 124" in help_text and "--max-stall" in help_text and "exit 5" in help_text
