"""Kill a real `judgekit score` process part-way (SIGKILL, then SIGINT) and resume it.

The server's own call log is the witness: every judgment is answered exactly once across both runs,
and the resumed file equals an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLE_DATASET, REPO
from tests.proc_tools import popen
from tests.score_run import judgekit_cmd, score_args
from tests.server import Reply, ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
ANSWER_BEFORE_STOP = 7


def _cmd(server: ScriptedServer, cache: Path, out: Path) -> list[str]:
    args = score_args(
        out.parent, "--concurrency", "4", "--no-progress", api_base=server.base_url, cache=cache, out=out
    )
    return judgekit_cmd(args)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _request_id(call: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(call["request"]["messages"], sort_keys=True).encode()).hexdigest()


def _answered(server: ScriptedServer) -> list[dict[str, Any]]:
    return [c for c in server.calls if c["status"] == 200 and c["request"] is not None]


def _stall_after(server: ScriptedServer, n: int) -> None:
    """Answer the first n calls, then hang every later one (so nothing in flight at the kill is answered)."""
    lock = threading.Lock()
    seen = {"n": 0}

    def late(_request: dict[str, Any]) -> bool:
        with lock:
            seen["n"] += 1
            return seen["n"] > n

    server.hang_seconds = 120
    server.add_rule(late, Reply(fault="hang"))


def _wait_for(pred: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _interrupt_and_resume(
    server: ScriptedServer, tmp_path: Path, sig: int
) -> subprocess.CompletedProcess[str]:
    cache, out = tmp_path / "cache.sqlite", tmp_path / "scores.json"
    _stall_after(server, ANSWER_BEFORE_STOP)
    proc = popen(
        _cmd(server, cache, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for(lambda: len(_answered(server)) >= ANSWER_BEFORE_STOP and server.count() > ANSWER_BEFORE_STOP)
    time.sleep(0.3)  # let the client store what it received
    t0 = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    stopped_in = time.monotonic() - t0
    first = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert not out.exists(), "an interrupted run must not leave a score file"
    # but it leaves a readable run log: the header, then each judgment made before the stop
    rows = [json.loads(line) for line in (tmp_path / "scores.log.jsonl").read_text().splitlines()]
    assert rows[0]["type"] == "header"
    assert sum(r["type"] == "verdict" for r in rows) == ANSWER_BEFORE_STOP
    ends = [r["status"] for r in rows if r["type"] == "summary"]
    assert ends == ([] if sig == signal.SIGKILL else ["interrupted"]), ends
    assert len(_answered(server)) == ANSWER_BEFORE_STOP
    # resume: same command, the server now answers everything
    server.clear_script()
    second = subprocess.run(_cmd(server, cache, out), env=_env(), capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    answered = Counter(_request_id(c) for c in _answered(server))
    assert len(answered) == N_ASPECTS, "every judgment was made"
    assert set(answered.values()) == {1}, "no judgment was made twice"
    resumed = json.loads(out.read_text())
    assert resumed["totals"]["cache_hits"] == ANSWER_BEFORE_STOP
    assert resumed["totals"]["calls"] == N_ASPECTS - ANSWER_BEFORE_STOP
    # an uninterrupted run on a fresh cache gives the same file
    fresh_out = tmp_path / "fresh.json"
    fresh = subprocess.run(
        _cmd(server, tmp_path / "fresh.sqlite", fresh_out),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fresh.returncode == 0, fresh.stderr
    uninterrupted = json.loads(fresh_out.read_text())
    assert resumed["score"] == uninterrupted["score"]
    assert resumed["per_question_scores"] == uninterrupted["per_question_scores"]
    assert resumed["coverage"] == uninterrupted["coverage"]
    first.stopped_in = stopped_in  # type: ignore[attr-defined]
    return first


def test_sigkill_then_resume(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    first = _interrupt_and_resume(scripted_server, tmp_path, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL


def test_ctrl_c_exits_promptly_and_says_how_to_resume(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    first = _interrupt_and_resume(scripted_server, tmp_path, signal.SIGINT)
    assert first.returncode == 130, first.stderr
    assert first.stopped_in < 5  # type: ignore[attr-defined]
    assert "Traceback" not in first.stderr
    assert f"interrupted after {ANSWER_BEFORE_STOP} of {N_ASPECTS} judgments" in first.stderr
    assert "rerun the same command to resume" in first.stderr
