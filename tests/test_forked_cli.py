"""The fork server gives the tests the process a cold ``python -m judgekit`` would be (tests/forked_cli.py).

Each case runs the same command both ways and compares what a test can observe: exit status, stdout,
stderr, the files written, the process's own pid, and its answer to SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import forked_cli
from tests.conftest import REPO
from tests.proc_tools import cli_env, popen, wait_for
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer


def _both(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], ...]:
    full = {**cli_env(), **(env or {})}
    cold = subprocess.run(
        [sys.executable, "-m", "judgekit", *args], capture_output=True, text=True, env=full, timeout=120
    )
    forked = forked_cli.run(args, full, timeout=120)
    return cold, forked


def test_help_and_a_usage_error_are_the_same(tmp_path: Path) -> None:
    for args in (["score", "--help"], ["gate", "--baseline", str(tmp_path / "missing.json")], ["no-such"]):
        cold, forked = _both(args)
        assert (forked.returncode, forked.stdout, forked.stderr) == (
            cold.returncode,
            cold.stdout,
            cold.stderr,
        )
    assert cold.returncode == 2 and "Traceback" not in cold.stderr


def test_a_scoring_run_writes_the_same_score_file(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    files = {}
    for side in ("cold", "forked"):
        folder = tmp_path / side
        folder.mkdir()
        args = score_args(folder, "--no-progress", api_base=scripted_server.base_url)
        proc = _both(args)[0] if side == "cold" else forked_cli.run(args, cli_env(), timeout=120)
        assert proc.returncode == 0, proc.stderr
        written = json.loads((folder / "s.json").read_text())
        for key in ("meta", "totals"):
            written.pop(key)  # times, paths, the run's own id
        files[side] = written
    assert files["forked"] == files["cold"]
    assert files["cold"]["coverage"]["scored"] == 18


def test_the_child_is_its_own_process_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    if not forked_cli.enabled(os.environ):
        pytest.skip("JUDGEKIT_TEST_FORK=0: the CLI runs cold, there is no forked child to check")
    with ScriptedServer() as server:
        server.add_rule(None, Reply(content='{"match_score": 2}', delay=30.0))
        args = score_args(tmp_path, "--no-progress", api_base=server.base_url)
        proc = popen(
            [sys.executable, "-m", "judgekit", *args], env=cli_env(), stderr=subprocess.PIPE, text=True
        )
        assert isinstance(proc, forked_cli.ForkedProcess)
        assert proc.pid != os.getpid() and Path(f"/proc/{proc.pid}/cmdline").exists()
        wait_for(lambda: server.count() >= 1, 60, "the first judge call")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert time.monotonic() - t0 < 20
        assert "Traceback" not in stderr


def test_off_switch_runs_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGEKIT_TEST_FORK", "0")
    proc = popen(
        [sys.executable, "-m", "judgekit", "--help"], env=cli_env(), stdout=subprocess.PIPE, text=True
    )
    assert isinstance(proc, subprocess.Popen)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "judgekit" in out
    assert str(REPO) in cli_env()["PYTHONPATH"]


def test_an_unreachable_server_falls_back_to_cold(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fork server that is gone (or never bound its socket) costs the suite speed, not its results."""
    monkeypatch.setenv(forked_cli.SERVER_ENV, str(tmp_path / "gone" / "s"))
    monkeypatch.setattr(forked_cli, "_unavailable", [])  # this worker's own record, restored after the test
    t0 = time.monotonic()
    proc = forked_cli.completed([sys.executable, "-m", "judgekit", "--help"], env=cli_env(), timeout=60)
    assert proc.returncode == 0 and "judgekit" in proc.stdout, proc.stderr
    assert forked_cli._unavailable and "cannot be reached" in forked_cli._unavailable[0]
    assert time.monotonic() - t0 < 20  # no 120 s wait for a server whose folder does not exist
    assert (
        popen([sys.executable, "-m", "judgekit", "--help"], env=cli_env(), stdout=subprocess.PIPE).wait(60)
        == 0
    )
