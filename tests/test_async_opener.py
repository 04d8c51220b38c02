"""Opening a judge does not stall the event loop, and each backend's opener closes all it opened.

A ticker task on the test's loop notes the wall time every 50 ms; while a judge starts or stops, the longest
stretch without a tick says whether the loop was blocked (main entered the openers synchronously: a 3 s
server start or a 5 s pool stop was one 3 s or 5 s gap). Real servers on 127.0.0.1 throughout: the local
judge is tests/fake_llama_server.py (slow to load on request), the API is tests/server.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, ascore
from judgekit.judges import (
    Backend,
    JudgeOptions,
    JudgeParams,
    OpenedJudge,
    OpenRequest,
    open_judge,
    register,
    unregister,
)
from judgekit.judges.litellm_judge import LiteLLMJudge, import_litellm
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.proc_tools import alive, children
from tests.server import ScriptedServer

FAKE = Path(__file__).with_name("fake_llama_server.py")
N_UNITS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
TICK = 0.05
MAX_GAP = 0.5  # the loop may pause for a scheduling hiccup on a busy machine, never for a whole start
MESSAGES = [{"role": "user", "content": "Rate this answer."}]


class Ticker:
    """Notes the wall time every :data:`TICK` seconds while it runs on the loop."""

    def __init__(self) -> None:
        self.times: list[float] = []

    async def run(self) -> None:
        while True:
            self.times.append(time.time())
            await asyncio.sleep(TICK)

    def max_gap(self, start: float, end: float) -> float:
        """The longest stretch between ``start`` and ``end`` (wall clock) without a tick."""
        points = [start, *(t for t in self.times if start < t < end), end]
        return max(b - a for a, b in itertools.pairwise(points))


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[Ticker]:
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0)
    try:
        yield ticker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture(scope="module", autouse=True)
def _litellm_loaded() -> None:
    """litellm's first import takes seconds of one thread; loaded beforehand, it is not what a tick waits for."""
    import_litellm()


def _unclosed_sessions(*runs: Callable[[], Coroutine[Any, Any, object]]) -> tuple[list[str], list[str]]:
    """Run each coroutine in a loop of its own; how each ended (its exception's name) and the 'Unclosed client
    session' warnings aiohttp gave once everything was collected. Only names are kept: a kept exception
    would keep its frames, and with them a session, alive past the check."""
    endings: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for run in runs:
            try:
                asyncio.run(run())
                endings.append("returned")
            except Exception as err:
                endings.append(type(err).__name__)
        gc.collect()
    return endings, [str(w.message) for w in caught if "Unclosed client session" in str(w.message)]


def test_a_local_judge_starting_does_not_stall_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    startup = 3.0
    model = tmp_path / "fake-judge.gguf"
    model.write_bytes(b"GGUF" + bytes(64))  # passes judgekit's magic check; the fake never reads it
    listening = tmp_path / "server.pid"  # written by the fake once it listens, after its "model load"
    command = [sys.executable, str(FAKE), "--startup-delay", str(startup), "--pid-file", str(listening)]
    monkeypatch.setenv("JUDGEKIT_LOCAL_SERVER_CMD", shlex.join(command))

    async def run() -> tuple[float, Ticker, int]:
        async with ticking() as ticker:
            began = time.time()
            result = await ascore(
                EXAMPLE_DATASET,
                EXAMPLE_RESPONSES,
                judge=f"local:{model}",
                settings=ScoreSettings(bootstrap=0),
                cache=False,
            )
        return began, ticker, result.coverage.scored

    began, ticker, scored = asyncio.run(run())
    assert scored == N_UNITS
    ready = listening.stat().st_mtime
    assert ready - began >= startup  # the run did wait for the server to load
    # the last (startup - 0.5) s before the server listened all lie inside its start
    assert ticker.max_gap(ready - (startup - 0.5), ready) < MAX_GAP


def _servers_started() -> list[int]:
    """This process's children that run the fake llama.cpp server (the launcher execs it in place)."""
    found = []
    for pid in children(os.getpid()):
        with contextlib.suppress(OSError):
            if FAKE.name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def test_a_run_cancelled_while_its_local_judge_starts_stops_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``asyncio.timeout()`` reaches a run whose local judge is still loading at once (the loop is free, not
    blocked in the start), and the server is stopped before the cancellation reaches the caller."""
    model = tmp_path / "fake-judge.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    command = [sys.executable, str(FAKE), "--startup-delay", "6"]
    monkeypatch.setenv("JUDGEKIT_LOCAL_SERVER_CMD", shlex.join(command))
    servers: list[int] = []

    async def note_server() -> None:
        while not servers:
            servers.extend(_servers_started())
            await asyncio.sleep(0.05)

    async def run() -> None:
        watcher = asyncio.create_task(note_server())
        try:
            async with asyncio.timeout(1.5):
                await ascore(
                    EXAMPLE_DATASET,
                    EXAMPLE_RESPONSES,
                    judge=f"local:{model}",
                    settings=ScoreSettings(bootstrap=0),
                    cache=False,
                )
        finally:
            watcher.cancel()

    began = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(run())
    took = time.monotonic() - began
    assert took < 4.0  # cancelled mid-start, not after the 6 s load
    assert len(servers) == 1
    assert not alive(servers[0])  # stopped (and reaped) before the run gave up


def _pool_children(before: set[multiprocessing.Process]) -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p not in before]


def test_closing_a_worker_pool_does_not_stall_the_loop(scripted_server: ScriptedServer) -> None:
    """A worker that does not answer its stop (stopped here with SIGSTOP) is waited for 5 s, then killed:
    those 5 s pass in a thread while the loop runs on."""
    options = JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test", client="litellm", workers=2)
    before = set(multiprocessing.active_children())
    stopped: list[int] = []

    async def run() -> tuple[float, float, Ticker, str | None]:
        async with ticking() as ticker:
            async with open_judge("openai/judge", options, n_calls=500) as opened:
                completion = await opened.judge.complete(MESSAGES, JudgeParams())
                workers = _pool_children(before)
                assert len(workers) == 2
                stopped.append(workers[0].pid or 0)
                os.kill(stopped[0], signal.SIGSTOP)
                began = time.time()
            ended = time.time()
        return began, ended, ticker, completion.text

    try:
        began, ended, ticker, text = asyncio.run(run())
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert text  # the pool did judge through the server
    assert scripted_server.count() == 1
    assert ended - began >= 4.5  # the stopped worker had its 5 s before it was killed
    assert ticker.max_gap(began, ended) < MAX_GAP
    assert _pool_children(before) == []  # both workers reaped
    with pytest.raises(ProcessLookupError):
        os.kill(stopped[0], 0)


def test_the_lean_clients_session_is_closed_by_its_opener(make_server: Callable[..., ScriptedServer]) -> None:
    """Closed on every way out: a run that fails (its deadline passes with calls in flight) and a caller
    whose own code fails inside ``async with open_judge(...)``."""
    server = make_server(latency=3.0)
    # openai/ at an endpoint: the lean aiohttp client
    options = JudgeOptions(api_base=server.base_url, api_key="sk-test")
    settings = ScoreSettings(judge=options, deadline=0.5, bootstrap=0)
    clients: list[str] = []

    async def failed_run() -> None:
        await ascore(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings, cache=False)

    async def failing_caller() -> None:
        async with open_judge("openai/judge", options) as opened:
            clients.append(type(opened.judge).__name__)
            await asyncio.wait_for(opened.judge.complete(MESSAGES, JudgeParams()), 0.5)

    endings, unclosed = _unclosed_sessions(failed_run, failing_caller)
    assert endings == ["DeadlineReached", "TimeoutError"]
    assert clients == ["OpenAICompatJudge"]
    assert server.count() > 1  # both sessions had a connection open when their run stopped
    assert unclosed == []


def test_a_backend_with_a_sync_opener_still_works_off_the_loop(
    make_server: Callable[..., ScriptedServer],
) -> None:
    """A user's backend written as a plain context manager, as judgekit's docs showed before openers became
    async: it still runs end to end, and its slow start and stop run in a thread, not on the loop."""
    server = make_server(latency=0.02)
    slow = 1.5
    windows: list[tuple[float, float]] = []
    threads: list[bool] = []

    @contextlib.contextmanager
    def open_slow(spec: str, request: OpenRequest) -> Iterator[OpenedJudge]:
        began = time.time()
        time.sleep(slow)  # e.g. a batch session or a tunnel that takes a while to come up
        windows.append((began, time.time()))
        threads.append(threading.current_thread() is threading.main_thread())
        judge = LiteLLMJudge(
            "openai/judge", api_base=server.base_url, api_key="sk-test", identity="slow:" + spec
        )
        try:
            yield OpenedJudge(judge, max_concurrency=2)
        finally:
            began = time.time()
            time.sleep(slow)
            windows.append((began, time.time()))

    register(Backend("slow", lambda s: isinstance(s, str) and s.startswith("slow:"), open_slow))

    async def run() -> tuple[Ticker, int]:
        async with ticking() as ticker:
            settings = ScoreSettings(engine=EngineSettings(concurrency=8), bootstrap=0)
            result = await ascore(
                EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="slow:judge", settings=settings, cache=False
            )
        return ticker, result.coverage.scored

    try:
        ticker, scored = asyncio.run(run())
    finally:
        unregister("slow")
    assert scored == N_UNITS
    assert server.count() == N_UNITS
    assert server.peak_in_flight <= 2  # its declared concurrency still caps the run's 8
    assert threads == [False]  # opened off the loop's (main) thread
    assert len(windows) == 2  # started, and stopped after the run
    for began, ended in windows:
        assert ticker.max_gap(began, ended) < MAX_GAP
