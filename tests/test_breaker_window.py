"""When a judge that cannot judge stops the run: a hung server at the first round of timeouts (as the README
says: "when its calls time out"), an unreachable one after --breaker-window seconds, and a server restart
shorter than the window ridden out. Real `judgekit score` processes against scripted servers.

The times asserted are the parts the breaker controls, measured from the first call the server saw (or the
warning the run printed) to the exit; start-up (imports) is left out, as it varies with the machine's load.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DATASET, assert_clean_error, run_cli
from tests.score_run import cache_rows, finish, score_args, start
from tests.server import Reply, ScriptedServer, ServerProcess
from tests.test_outage import ANNOUNCED, free_port, stamped_cli

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18
N_QUESTIONS = len(json.loads(EXAMPLE_DATASET.read_text()))  # 6
WARNING = ANNOUNCED  # the warning printed when a streak of failures starts


def timed(args: list[str]) -> tuple[str, int, float | None, float]:
    """Run the CLI; its stderr, exit code, when it printed the breaker's warning (if it did) and its end."""
    done, _, after_warning = stamped_cli(*args)
    ended = time.monotonic()
    warned = ended - after_warning if WARNING in done.stderr else None
    return done.stderr, done.returncode, warned, ended


def error_line(stderr: str) -> str:
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("judgekit: error:")]
    return line


# -- a server that accepts every call and never answers ---------------------------------------------------

TIMEOUT = 4.0


@pytest.mark.parametrize(
    ("extra", "calls"),
    [(["--mode", "all_aspects"], N_QUESTIONS), (["--concurrency", "1"], 1)],
    ids=["6-calls-in-flight", "concurrency-1"],
)
def test_a_hung_server_stops_the_run_when_its_calls_time_out(
    scripted_server: ScriptedServer, tmp_path: Path, extra: list[str], calls: int
) -> None:
    """Fewer calls in flight than the breaker's 8 failures: their one round of timeouts is enough (a second
    round doubled the time: 241 s with the default 120 s timeout)."""
    scripted_server.hang_seconds = 600
    scripted_server.add_rule(None, Reply(fault="hang"))
    # the default window (15 s) is shorter than the default timeout (120 s): keep it so with a short timeout
    flags = ["--no-progress", "--timeout", f"{TIMEOUT:g}", "--breaker-window", "2", *extra]
    args = score_args(tmp_path, *flags, api_base=scripted_server.base_url)
    stderr, code, warned, ended = timed(args)
    assert code == 3, stderr
    first_call = min(c["t_start"] for c in scripted_server.calls)
    took = ended - first_call
    # the client starts its clock a moment before the server logs the call
    assert TIMEOUT - 0.3 <= took < TIMEOUT * 1.5, f"{took:.2f} s from the first call to the exit"
    assert scripted_server.count() == calls, "one round of calls, no retry after the timeouts"
    line = error_line(stderr)
    assert "does not answer" in line and f"{calls} call(s) in" in line and "timeout" in line
    # while the calls wait: one line once the window passes with no answer, saying what happens next
    (silent,) = [ln for ln in stderr.splitlines() if "has not answered" in ln]
    assert f"has not answered for 2 s ({calls} call(s) waiting)" in silent, silent
    assert f"if they time out (--timeout {TIMEOUT:g} s) with none answered, the run stops" in silent
    # then the first failure (the timeouts) starts the streak: one warning, before the stop
    assert warned is not None and warned - first_call >= TIMEOUT - 0.3, stderr
    assert len([ln for ln in stderr.splitlines() if WARNING in ln]) == 1, stderr
    assert stderr.index("has not answered") < stderr.index(WARNING) < stderr.index("judgekit: error:")
    assert not (tmp_path / "s.json").exists()
    print(f"hung server, --timeout {TIMEOUT:g}: stopped {took:.2f} s after the first call")


# -- nothing listening: the run stops after --breaker-window ---------------------------------------------


@pytest.mark.parametrize("window", [3.0, 8.0])
def test_the_breaker_window_is_a_flag(tmp_path: Path, window: float) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    args = score_args(tmp_path, "--no-progress", "--breaker-window", f"{window:g}", api_base=url)
    stderr, code, warned, ended = timed(args)
    assert code == 3, stderr
    assert warned is not None, stderr
    assert f"{WARNING} {window:g} s without an answer" in stderr
    took = ended - warned
    assert window <= took < window + 3, f"stopped {took:.1f} s after the first failure (window {window:g} s)"
    line = error_line(stderr)
    assert "is unreachable" in line and "connection refused" in line and "none succeeded" in line
    assert "0 judgment(s) made are cached" in line and cache_rows(tmp_path) == 0
    print(f"--breaker-window {window:g}: stopped {took:.2f} s after the first failure")


def test_a_restart_shorter_than_the_window_is_ridden_out(tmp_path: Path) -> None:
    """The server comes up 5 s after the run's first failure; --breaker-window 12 waits for it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    proc = start(score_args(tmp_path, "--no-progress", "--breaker-window", "12", api_base=url))
    assert proc.stderr is not None
    server: ServerProcess | None = None
    try:
        first = proc.stderr.readline()
        assert WARNING in first and "12 s without an answer" in first, first
        time.sleep(5)
        server = ServerProcess(port=port).start()
        done = finish(proc, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if server is not None:
            server.stop()
    assert done.returncode == 0, first + done.stderr
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["coverage"]["scored"] == written["coverage"]["total"] == N_ASPECTS
    assert "answers again" in done.stderr


def test_a_window_that_is_not_positive_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(*score_args(tmp_path, "--breaker-window", "0", api_base="http://127.0.0.1:9/v1"))
    assert_clean_error(proc, "--breaker-window", code=2)
    assert not (tmp_path / "s.json").exists() and not (tmp_path / "s.log.jsonl").exists()
