"""The local judge's server is watched: its death ends the run at once, and it never outlives judgekit.

These tests run ``judgekit score --judge local:FAKE.gguf`` for real, with ``JUDGEKIT_LOCAL_SERVER_CMD``
pointing at tests/fake_llama_server.py: an OpenAI-compatible stand-in for llama.cpp's server that answers
a few calls and then kills itself with SIGILL, as a llama.cpp build for another CPU does. No llama.cpp and
no model are needed, so they run in seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judgekit.judges.local import describe_exit
from tests.conftest import EXAMPLE_DATASET, REPO, assert_clean_error, run_cli
from tests.fake_llama_server import CRASH_LOG_LINE
from tests.proc_tools import popen
from tests.score_run import judgekit_cmd, score_args
from tests.test_local_judge import _pid_alive, _wait_gone

FAKE = Path(__file__).with_name("fake_llama_server.py")
N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))


def _fake_model(tmp_path: Path) -> Path:
    model = tmp_path / "fake-judge.gguf"
    model.write_bytes(b"GGUF" + bytes(64))  # passes judgekit's magic check; the fake never reads it
    return model


def _server_cmd(*args: str) -> dict[str, str]:
    return {"JUDGEKIT_LOCAL_SERVER_CMD": shlex.join([sys.executable, str(FAKE), *args])}


def _score_args(tmp_path: Path, model: Path) -> list[str]:
    return score_args(tmp_path, "--no-progress", judge=f"local:{model}", out=tmp_path / "out.json")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_exit_status_in_words() -> None:
    assert describe_exit(-4) == "killed by SIGILL (illegal instruction)"
    assert describe_exit(-9) == "killed by SIGKILL (killed)"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(None) == "still running"


def test_server_death_ends_the_run_at_once_and_keeps_what_was_judged(tmp_path: Path) -> None:
    assert N_ASPECTS > 6  # enough work left after the crash for retries to have shown
    model = _fake_model(tmp_path)
    calls = tmp_path / "calls.txt"
    began = time.monotonic()
    proc = run_cli(
        *_score_args(tmp_path, model),
        env=_server_cmd("--answers", "3", "--calls-file", str(calls)),
        timeout=120,
    )
    elapsed = time.monotonic() - began
    since_death = time.time() - calls.stat().st_mtime - 0.5  # the fake dies 0.5 s after its last answer
    assert_clean_error(proc, "the local judge server died", "SIGILL", "illegal instruction", code=3)
    error = next(ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:"))
    assert CRASH_LOG_LINE in error  # the end of the server's log, on the same line
    assert "judgekit doctor" in error
    # Seconds, not minutes of retries against a dead port: typically ~0.7 s to the error line, plus ~4 s of
    # interpreter shutdown after importing litellm on a busy 2-core machine.
    assert since_death < 20, since_death
    assert elapsed < 90, elapsed
    assert len(_lines(calls)) == 3
    assert not (tmp_path / "out.json").exists()  # no score file for a run that could not judge

    # The three answers were cached: a rerun against a working server asks only for the rest.
    calls_after = tmp_path / "calls_after.txt"
    rerun = run_cli(
        *_score_args(tmp_path, model), env=_server_cmd("--calls-file", str(calls_after)), timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert len(_lines(calls_after)) == N_ASPECTS - 3
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["totals"]["cache_hits"] == 3
    assert result["coverage"]["scored"] == N_ASPECTS


def test_server_death_during_startup_is_one_line(tmp_path: Path) -> None:
    model = _fake_model(tmp_path)
    proc = run_cli(*_score_args(tmp_path, model), env=_server_cmd("--answers", "three"), timeout=120)
    assert_clean_error(proc, "exited during startup: exit code 2", "invalid int value: 'three'")


def test_server_command_that_does_not_exist(tmp_path: Path) -> None:
    model = _fake_model(tmp_path)
    env = {"JUDGEKIT_LOCAL_SERVER_CMD": str(tmp_path / "no-such-llama-server")}
    proc = run_cli(*_score_args(tmp_path, model), env=env, timeout=120)
    assert_clean_error(proc, "cannot run the local judge server command", "no-such-llama-server")


def test_server_command_with_broken_quoting(tmp_path: Path) -> None:
    model = _fake_model(tmp_path)
    proc = run_cli(*_score_args(tmp_path, model), env={"JUDGEKIT_LOCAL_SERVER_CMD": "python 'unclosed"})
    assert_clean_error(proc, "JUDGEKIT_LOCAL_SERVER_CMD is not a valid command line")


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_server_dies_with_judgekit(tmp_path: Path, sig: signal.Signals) -> None:
    model = _fake_model(tmp_path)
    pid_file, calls = tmp_path / "server.pid", tmp_path / "calls.txt"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(_server_cmd("--delay", "0.5", "--pid-file", str(pid_file), "--calls-file", str(calls)))
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        judgekit = popen(
            judgekit_cmd(_score_args(tmp_path, model)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        assert _wait_for(lambda: len(_lines(calls)) >= 1, 60), "the run never reached the server"
        server_pid = int(pid_file.read_text())
        assert _pid_alive(server_pid)
        judgekit.send_signal(sig)
        judgekit.wait(timeout=30)
        assert _wait_gone(server_pid, 5.0), f"the local judge server {server_pid} outlived judgekit"
    finally:
        if judgekit.poll() is None:
            judgekit.kill()
            judgekit.wait()
