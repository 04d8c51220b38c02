"""A judge that cannot judge stops the run, fast and loudly (exit 3), with default settings: nothing
listening, a server killed for good, a server that never answers, 500 on every call, a bad key, a judge
that reports itself down; while a short outage still ends with every unit scored. Real `judgekit score`
processes against real servers; the run log and the cache are read from disk.

Times: the part the breaker controls is asserted close to its window; totals get wide margins, because
start-up (mostly importing litellm) takes ~4 s on an idle machine and up to 20 s on the shared test one.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._common import synthetic_lamp_qa
from tests.conftest import EXAMPLE_DATASET, REPO, assert_clean_error, run_cli
from tests.score_run import cache_rows, finish, log_rows, score_args, start, timed, wait_until
from tests.server import Reply, ScriptedServer, ServerProcess

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
ANNOUNCED = "retrying, the run stops after"  # the one line printed when a streak of failures starts
HANG_ALL = {"rules": [{"match": None, "reply": {"fault": "hang"}}], "hang_seconds": 600}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stamped_cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run the CLI; return it, its total time, and the time from the first failure it announced to its exit
    (the part the breaker controls)."""
    done, elapsed, after = timed(list(args), ANNOUNCED)
    return done, elapsed, elapsed if after is None else after


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    return next(ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:"))


def assert_stopped(proc: subprocess.CompletedProcess[str], tmp_path: Path, *needles: str) -> str:
    """Exit 3 with one error line, no traceback, no score file, a readable log that says it stopped, and
    a count of cached judgments that matches the cache."""
    assert_clean_error(proc, *needles, code=3)
    for noise in ("Traceback", "never retrieved", "Task was destroyed"):
        assert noise not in proc.stderr, proc.stderr
    assert not (tmp_path / "s.json").exists()
    line = error_line(proc)
    rows = log_rows(tmp_path)
    assert rows[0]["type"] == "header" and rows[-1]["type"] == "summary"
    assert rows[-1]["status"] == "stopped" and rows[-1]["error"] in line
    kept = re.search(r"(\d+) judgment\(s\) made are cached; rerun to resume", line)
    if kept:
        assert int(kept.group(1)) == cache_rows(tmp_path), line
    return line


def test_nothing_listening_stops_in_seconds(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc, elapsed, after_failure = stamped_cli(*score_args(tmp_path, api_base=url))
    line = assert_stopped(
        proc, tmp_path, f"the judge at {url} (openai/judge) is unreachable", "none succeeded"
    )
    assert "connection refused" in line and "0 judgment(s) made are cached" in line
    assert after_failure < 20, after_failure  # 15.2 s: the breaker's window
    assert elapsed < 60, elapsed  # 19 s on an idle machine (the bound is 30 s); 34 s seen at load 9
    assert len([ln for ln in proc.stderr.splitlines() if ANNOUNCED in ln]) == 1, proc.stderr


def test_outage_shows_on_the_progress_bar(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = run_cli(*score_args(tmp_path, "--concurrency", "2", api_base=url))  # progress bar on
    assert proc.returncode == 3, proc.stderr
    assert "judge unreachable, retrying" in proc.stderr


def test_every_call_500_stops_fast(make_server_process: Any, tmp_path: Path) -> None:
    server = make_server_process(script={"rules": [{"match": None, "reply": {"status": 500}}]})
    proc, elapsed, after_failure = stamped_cli(*score_args(tmp_path, api_base=server.base_url))
    line = assert_stopped(proc, tmp_path, "returns server errors", "none succeeded")
    assert "server error (InternalServerError)" in line
    assert after_failure < 20 and elapsed < 60, (after_failure, elapsed)  # 15 s after the first 500
    assert server.control.count() < 200  # not 18 units x 7 tries


def test_server_killed_for_good_mid_run(make_server_process: Any, tmp_path: Path) -> None:
    """200 judgments (so the worker-process pool is used); the server dies after about 40 answers."""
    ds, _ = synthetic_lamp_qa(tmp_path, 50, 4)
    server = make_server_process(latency=0.2)
    proc = start(score_args(tmp_path, "--no-progress", api_base=server.base_url, dataset=ds))

    def answered() -> int:
        return int(server.control.count(lambda c: c["status"] == 200))

    wait_until(proc, lambda: answered() >= 40)
    before_death = answered()
    server.proc.kill()  # for good: nothing listens on the port any more
    died = time.monotonic()
    done = finish(proc, timeout=120)
    after_death = time.monotonic() - died
    assert_stopped(done, tmp_path, "is unreachable", "none succeeded", "rerun to resume")
    assert after_death < 60, after_death  # 16 s
    assert cache_rows(tmp_path) >= before_death  # what was answered before the death is kept


def test_short_outage_completes_with_every_unit_scored(tmp_path: Path) -> None:
    """The server is down for 5 s mid-run and comes back on the same port: nothing is lost."""
    ds, _ = synthetic_lamp_qa(tmp_path, 30, 4)
    port = free_port()
    first = ServerProcess(port=port, latency=0.2).start()
    second: ServerProcess | None = None
    try:
        proc = start(score_args(tmp_path, "--no-progress", api_base=first.base_url, dataset=ds))
        wait_until(proc, lambda: first.control.count(lambda c: c["status"] == 200) >= 20)
        assert first.proc is not None
        first.proc.kill()
        first.proc.wait()
        time.sleep(5)
        second = ServerProcess(port=port, latency=0.2).start()
        done = finish(proc)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["coverage"]["scored"] == written["coverage"]["total"] == 120
    assert written["status"] == "ok" and written["unscored"] == []
    assert written["totals"]["retries"] > 0  # the outage really hit the run
    assert len([ln for ln in done.stderr.splitlines() if ANNOUNCED in ln]) == 1, done.stderr
    assert "answers again" in done.stderr


@pytest.mark.runs_first  # waits out the 120 s default timeout
def test_hung_server_with_default_settings(make_server_process: Any, tmp_path: Path) -> None:
    """Accepts every connection and never answers: the calls in flight time out (120 s) and that is enough."""
    server = make_server_process(script=HANG_ALL)
    t0 = time.monotonic()
    proc = run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url), timeout=400)
    elapsed = time.monotonic() - t0
    assert_stopped(proc, tmp_path, "does not answer", "timeout", "none succeeded")
    assert elapsed < 300, elapsed  # 125 s: one round of timeouts
    assert server.control.count() <= 16


def test_hung_server_with_two_calls_in_flight(make_server_process: Any, tmp_path: Path) -> None:
    """With --concurrency 2 (the local judge's) two timed-out calls are enough to trip, not eight."""
    server = make_server_process(script=HANG_ALL)
    t0 = time.monotonic()
    args = score_args(
        tmp_path, "--no-progress", "--concurrency", "2", "--timeout", "16", api_base=server.base_url
    )
    proc = run_cli(*args)
    assert_stopped(proc, tmp_path, "does not answer", "2 call(s) in")
    assert time.monotonic() - t0 < 60  # 20 s: one 16 s round of timeouts
    assert server.control.count() == 2


@pytest.mark.parametrize("judgments", [18, 200])
def test_bad_key_stops_with_the_true_count_and_no_traceback(
    scripted_server: ScriptedServer, tmp_path: Path, judgments: int
) -> None:
    """A 401 on every call: exit 3, the count of calls the server really got, never an asyncio traceback
    (200 judgments use the worker-process pool). Three runs each, since the old race hit 1 run in 6."""
    key = "sk-fake-judgekit-0123456789abcdef"
    scripted_server.add_rule(None, Reply.error(401, f"Incorrect API key provided: {key}"))
    ds = EXAMPLE_DATASET if judgments == 18 else synthetic_lamp_qa(tmp_path, 50, 4)[0]
    for attempt in range(3):
        scripted_server.clear_calls()
        folder = tmp_path / str(attempt)
        folder.mkdir()
        args = score_args(
            folder, "--no-progress", "--api-key-env", "MY_KEY", api_base=scripted_server.base_url, dataset=ds
        )
        proc = run_cli(*args, env={"MY_KEY": key})
        line = assert_stopped(proc, folder, "without one answer", "Incorrect API key")
        made = int(re.search(r"failed on all (\d+) call\(s\) made", line).group(1))  # type: ignore[union-attr]
        assert made == scripted_server.count(), (line, scripted_server.count())
        # the 16 calls in flight at once (default --concurrency), plus at most one more per worker whose
        # call failed before the 8th failure (ABORT_AFTER) stopped the run
        assert 8 <= made <= min(judgments, 16 + 7) and key not in proc.stderr


def test_api_base_without_scheme_is_a_config_error(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    bare = scripted_server.base_url.removeprefix("http://")  # 127.0.0.1:PORT/v1
    t0 = time.monotonic()
    proc = run_cli(*score_args(tmp_path, api_base=bare))
    assert_clean_error(proc, "--api-base", bare, "http://", code=2)
    assert time.monotonic() - t0 < 20 and scripted_server.count() == 0
    assert not (tmp_path / "s.json").exists() and not (tmp_path / "s.log.jsonl").exists()


DYING_JUDGE = """
import asyncio
from judgekit.judges.base import Completion, JudgeDown

class Judge:
    identity = "python:dying"

    def __init__(self):
        self.calls = 0

    async def complete(self, messages, params):
        self.calls += 1
        if self.calls > 5:
            raise JudgeDown("the local judge server died (illegal instruction)")
        await asyncio.sleep(0.01)
        return Completion(text='{"match_score": 1}')
"""


def test_judge_down_stops_at_once(tmp_path: Path) -> None:
    """A judge raising JudgeDown (as the local judge does when its server dies) ends the run at once."""
    (tmp_path / "dying_judge.py").write_text(textwrap.dedent(DYING_JUDGE))
    args = score_args(tmp_path, "--no-progress")
    args[args.index("--judge") + 1] = "dying_judge:Judge"
    t0 = time.monotonic()
    proc = run_cli(*args, env={"PYTHONPATH": f"{tmp_path}:{REPO}"})
    assert_stopped(proc, tmp_path, "illegal instruction", "5 judgment(s) made are cached; rerun to resume")
    assert time.monotonic() - t0 < 20
    assert cache_rows(tmp_path) == 5


def test_a_dead_judge_stops_its_whole_panel(make_server: Any, tmp_path: Path) -> None:
    """One judge of a panel goes down while the other is still judging: the run stops (exit 3), and the
    working judge's calls are cancelled cleanly (no task left running or with an unretrieved error)."""
    server = make_server(latency=0.3)
    (tmp_path / "dying_judge.py").write_text(textwrap.dedent(DYING_JUDGE))
    args = score_args(tmp_path, "--no-progress", "--judge", "dying_judge:Judge", api_base=server.base_url)
    t0 = time.monotonic()
    proc = run_cli(*args, env={"PYTHONPATH": f"{tmp_path}:{REPO}"})
    assert_stopped(proc, tmp_path, "illegal instruction")
    assert time.monotonic() - t0 < 30
    assert server.count() < N_ASPECTS  # the working judge was stopped too, not left to finish


def test_killed_run_leaves_a_readable_log(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """The log is appended as judgments finish: after SIGKILL it holds the header and what was judged."""
    answered = 5
    seen = {"n": 0}

    def later_calls_hang(_request: dict[str, Any]) -> bool:
        seen["n"] += 1
        return seen["n"] > answered

    scripted_server.hang_seconds = 120
    scripted_server.add_rule(later_calls_hang, Reply(fault="hang"))
    proc = start(score_args(tmp_path, "--no-progress", api_base=scripted_server.base_url))
    wait_until(proc, lambda: scripted_server.count() > answered, timeout=60)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    finish(proc, timeout=30)
    rows = log_rows(tmp_path)  # every line parses
    assert rows[0]["type"] == "header" and rows[0]["meta"]["judgments"] == N_ASPECTS
    verdicts = [r for r in rows if r["type"] == "verdict"]
    assert len(verdicts) == answered and all(r["status"] == "scored" for r in verdicts)
    assert not any(r["type"] == "summary" for r in rows)  # killed: no summary, and nothing claims one


def test_finished_run_log_ends_with_its_summary(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    proc = run_cli(*score_args(tmp_path, "--no-progress", api_base=scripted_server.base_url))
    assert proc.returncode == 0, proc.stderr
    rows = log_rows(tmp_path)
    written = json.loads((tmp_path / "s.json").read_text())
    assert [r["type"] for r in rows[:1] + rows[-1:]] == ["header", "summary"]
    assert rows[-1]["status"] == "ok" and rows[-1]["totals"] == written["totals"]
    assert rows[-1]["coverage"] == written["coverage"]
    assert len([r for r in rows if r["type"] == "verdict"]) == N_ASPECTS
