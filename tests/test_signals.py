"""Real signals sent to a real `judgekit score` process that runs its calls in two worker processes.

SIGTERM is handled like Ctrl-C (one line, exit 143 instead of 130, no score file, a rerun resumes), and
whatever ends the parent (SIGTERM, SIGINT, SIGKILL) no worker outlives it, so `judgekit ... | cat` ends.
The scripted server (0.5 s per call) keeps the run going for about 25 s; its call log says how far it got.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proc_tools import (
    ASPECTS_PER_ITEM,
    alive,
    children,
    cli_env,
    popen,
    score_cmd,
    wait_for,
    write_inputs,
)
from tests.server import ScriptedServer

ITEMS = 80
TOTAL = ITEMS * ASPECTS_PER_ITEM  # 400 judgments; at 0.5 s each and 8 in flight: ~25 s
RUN_ARGS = ("--client", "litellm", "--workers", "2", "--concurrency", "8")  # litellm: its worker pool


class Run:
    """One `judgekit score` process against ``server``, with its worker processes once they started."""

    def __init__(self, server: ScriptedServer, tmp_path: Path, **options: Any) -> None:
        self.server = server
        self.dataset, self.responses = write_inputs(tmp_path, ITEMS)
        self.out, self.cache = tmp_path / "scores.json", tmp_path / "cache.sqlite"
        self.cmd = score_cmd(
            self.dataset, self.responses, server.base_url, self.out, *RUN_ARGS, "--cache", str(self.cache)
        )
        options.setdefault("stdout", subprocess.PIPE)
        options.setdefault("stderr", subprocess.PIPE)
        self.proc = popen(self.cmd, env=cli_env(), text=True, **options)
        self.seen: set[int] = set()  # every child process judgekit had, sampled from /proc while it ran
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self.proc.poll() is None:
            self.seen.update(children(self.proc.pid))
            time.sleep(0.01)

    @property
    def workers(self) -> list[int]:
        return sorted(self.seen)

    def wait_until_judging(self, calls: int = 10) -> None:
        wait_for(lambda: len(self.seen) >= 2, 60, "two worker processes")
        wait_for(lambda: self.server.count(_answered) >= calls, 60, f"{calls} answered calls")


def _answered(call: dict[str, Any]) -> bool:
    return call["status"] == 200


@pytest.fixture
def start(make_server: Callable[..., ScriptedServer], tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """Start runs; any process a test left behind (a worker that survived included) is killed after it."""
    runs: list[Run] = []

    def factory(**popen: Any) -> Run:
        run = Run(make_server(latency=0.5), tmp_path, **popen)
        runs.append(run)
        return run

    yield factory
    for run in runs:
        for pid in [run.proc.pid, *run.workers]:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        run.proc.wait(timeout=10)


def _stop(run: Run, sig: int) -> tuple[str, str, float]:
    t0 = time.monotonic()
    run.proc.send_signal(sig)
    stdout, stderr = run.proc.communicate(timeout=60)
    return stdout, stderr, time.monotonic() - t0


def _assert_workers_gone(run: Run, within: float) -> float:
    assert len(run.workers) == 2, run.workers
    return wait_for(lambda: not any(alive(p) for p in run.workers), within, f"workers {run.workers} to exit")


def _assert_one_line(stderr: str, word: str) -> int:
    """One line naming the signal and how many judgments are saved; returns that count."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    found = re.search(
        rf"{word} .*after (\d+) of {TOTAL} judgments; (\d+) scored and saved in the cache", lines[0]
    )
    assert found, lines[0]
    assert "rerun the same command to resume" in lines[0]
    assert found[1] == found[2], "every call of these runs is answered: each finished judgment is scored"
    return int(found[1])


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["shell", "background-job"])
def test_sigterm_is_handled_like_ctrl_c(start: Callable[..., Run], sigint_ignored: bool) -> None:
    # A background job of a script runs with SIGINT ignored: SIGTERM must not depend on asyncio's SIGINT.
    preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    run = start(preexec_fn=preexec)
    run.wait_until_judging()
    _, stderr, took = _stop(run, signal.SIGTERM)
    answered = run.server.count(_answered)
    assert run.proc.returncode == 143, stderr
    assert took < 20, f"SIGTERM -> exit took {took:.1f} s"
    saved = _assert_one_line(stderr, "terminated")
    assert 1 <= saved <= answered < TOTAL
    assert not run.out.exists(), "a terminated run must not leave a score file"
    gone = _assert_workers_gone(run, within=5)
    print(f"SIGTERM -> exit 143 in {took:.2f} s; workers gone {gone:.2f} s later")
    # the rerun resumes: it asks the judge exactly the judgments that were not saved
    run.server.latency = 0.0
    before = run.server.count()
    rerun = subprocess.run(run.cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert run.server.count() - before == TOTAL - saved
    assert run.out.exists()


def test_ctrl_c_exits_130_and_stops_the_workers(start: Callable[..., Run]) -> None:
    run = start()
    run.wait_until_judging()
    _, stderr, took = _stop(run, signal.SIGINT)
    assert run.proc.returncode == 130, stderr
    assert took < 20
    _assert_one_line(stderr, "interrupted")
    assert not run.out.exists()
    gone = _assert_workers_gone(run, within=5)
    print(f"SIGINT -> exit 130 in {took:.2f} s; workers gone {gone:.2f} s later")


def test_an_inherited_sigint_ignore_is_kept_and_sigterm_still_stops(start: Callable[..., Run]) -> None:
    """`judgekit score ... &` in a script: the job inherits SIGINT ignored and shares the script's process
    group, so the terminal's Ctrl-C reaches it; judgekit keeps the ignore (the job goes on, its workers too)
    and SIGTERM still stops it."""
    run = start(preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN), start_new_session=True)
    run.wait_until_judging()
    workers = run.workers
    os.killpg(run.proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    before = run.server.count(_answered)
    wait_for(lambda: run.server.count(_answered) >= before + 16, 30, "answers after the SIGINT")
    assert run.proc.poll() is None, run.proc.communicate()[1]
    assert all(alive(p) for p in workers), "a worker died of the ignored SIGINT"
    _, stderr, took = _stop(run, signal.SIGTERM)
    assert run.proc.returncode == 143, stderr
    assert took < 20, f"SIGTERM -> exit took {took:.1f} s"
    _assert_one_line(stderr, "terminated")
    assert not run.out.exists()
    _assert_workers_gone(run, within=5)


def test_sigterm_while_the_workers_start(start: Callable[..., Run]) -> None:
    run = start()
    wait_for(lambda: run.seen, 60, "the first worker process")
    _, stderr, _ = _stop(run, signal.SIGTERM)
    assert run.proc.returncode == 143, stderr
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "terminated" in lines[0], stderr
    assert not run.out.exists()
    wait_for(lambda: not any(alive(p) for p in run.workers), 5, "the workers to exit")


def test_sigkill_of_the_parent_kills_the_workers(start: Callable[..., Run]) -> None:
    run = start()
    run.wait_until_judging()
    _stop(run, signal.SIGKILL)
    assert run.proc.returncode == -signal.SIGKILL
    took = _assert_workers_gone(run, within=5)
    print(f"workers gone {took:.2f} s after SIGKILL of the parent")


def test_a_pipeline_ends_when_judgekit_is_killed(start: Callable[..., Run]) -> None:
    """`judgekit score ... | cat`: cat sees EOF once judgekit is gone, because no worker holds the pipe."""
    run = start(stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert run.proc.stdout is not None
    cat = subprocess.Popen(["cat"], stdin=run.proc.stdout, stdout=subprocess.PIPE)
    run.proc.stdout.close()
    try:
        run.wait_until_judging()
        t0 = time.monotonic()
        run.proc.kill()
        cat.communicate(timeout=10)
        took = time.monotonic() - t0
    finally:
        if cat.poll() is None:
            cat.kill()
            cat.wait()
    assert cat.returncode == 0
    print(f"cat saw EOF {took:.2f} s after SIGKILL of judgekit")
