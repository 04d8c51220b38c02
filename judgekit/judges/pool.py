"""Spread a litellm judge's calls over worker processes.

litellm costs several milliseconds of CPU per call, so one asyncio process saturates a core at a few
hundred calls per second. Worker processes (forked after litellm is imported, so they start at once) each
run their own event loop and judge; the engine stays in the parent, so caching, parsing, retries and the
adaptive limit are unchanged. The pool has the wrapped judge's identity: cache keys do not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from judgekit.judges.base import CallFailed, Completion, JudgeParams, Message, QuotaExhausted, TransientError
from judgekit.judges.opening import to_thread_to_end

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _worker_main(conn: Connection, spec: dict[str, Any], parent: int, inherited: list[Connection]) -> None:
    try:
        _die_with_parent(parent)
        _detach(inherited)
        # A forked child inherits the parent's "running loop" marker; clear it before starting our own loop.
        asyncio.events._set_running_loop(None)
        asyncio.run(_serve(conn, spec))
    finally:
        os._exit(0)  # never run the parent's inherited finalisers (SQLite handles, progress bars)


def _die_with_parent(parent: int) -> None:
    """A worker must never outlive the run (kill -9 or SIGTERM of the parent included): it would hold the
    cache and the terminal's pipes forever. Linux kills it with the parent; elsewhere a thread watches."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="judgekit-parent-watch").start()


def _detach(inherited: list[Connection]) -> None:
    """Drop what a forked worker inherited but must not hold: the parent's signal handlers (Ctrl-C and
    SIGTERM are the parent's to handle; it stops its workers), other workers' pipe ends (held open here,
    a dead parent's pipes would never reach EOF) and the terminal (``judgekit ... | cat`` must end when
    judgekit does). Failures travel back through the pipe, never through stderr."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for c in inherited:
        with contextlib.suppress(OSError):
            c.close()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


async def _serve(conn: Connection, spec: dict[str, Any]) -> None:
    from judgekit.judges.litellm_judge import LiteLLMJudge

    spec = dict(spec)
    judge = spec.pop("make", LiteLLMJudge)(**spec)  # "make": another litellm judge class (the router's)
    loop = asyncio.get_running_loop()
    outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done = asyncio.Event()

    def sender() -> None:  # a thread, so a full pipe never blocks the event loop (and never deadlocks)
        while True:
            item = outbox.get()
            if item is None:
                return
            try:
                conn.send(item)
            except (BrokenPipeError, OSError):
                return

    threading.Thread(target=sender, daemon=True).start()
    tasks: set[asyncio.Task[None]] = set()

    params_by_json: dict[str, JudgeParams] = {}  # a run has few distinct parameter sets: validate each once

    async def handle(rid: int, messages: list[Message], params_json: str) -> None:
        try:
            params = params_by_json.get(params_json)
            if params is None:
                params = params_by_json[params_json] = JudgeParams.model_validate_json(params_json)
            c = await judge.complete(messages, params)
            outbox.put((rid, "ok", c.__dict__))
        except TransientError as err:
            outbox.put((rid, "transient", (err.kind, str(err), err.retry_after)))
        except CallFailed as err:
            outbox.put((rid, "failed", str(err)))
        except QuotaExhausted as err:  # stops the run at once, in the parent as in a single process
            outbox.put((rid, "quota", str(err)))
        except Exception as err:  # anything else reaches the engine as a failed call, with its name
            outbox.put((rid, "failed", f"{type(err).__name__}: {err}"))

    def on_readable() -> None:
        try:
            while conn.poll():
                msg = conn.recv()
                if msg is None:
                    done.set()
                    return
                task = loop.create_task(handle(*msg))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (EOFError, OSError):
            done.set()

    loop.add_reader(conn.fileno(), on_readable)
    await done.wait()
    loop.remove_reader(conn.fileno())
    for task in tasks:
        task.cancel()
    outbox.put(None)


class _Worker:
    def __init__(self, ctx: Any, spec: dict[str, Any], siblings: list[_Worker]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        # A forked child closes the parent's ends (its own and earlier workers'); a spawned one has none.
        inherited = [self.conn, *(w.conn for w in siblings)] if ctx.get_start_method() == "fork" else []
        self.process = ctx.Process(
            target=_worker_main, args=(child, spec, os.getpid(), inherited), daemon=True
        )
        self.process.start()
        child.close()
        self.in_flight = 0


class ProcessPoolJudge:
    """A litellm judge whose calls run in ``workers`` processes. Use as a context manager: ``async with``
    from a running loop (the workers are stopped without stalling it), or ``with``."""

    def __init__(self, spec: dict[str, Any], identity: str, workers: int) -> None:
        self._spec = spec
        self._identity = identity
        self.workers = workers
        self._pool: list[_Worker] = []
        self._pending: dict[int, tuple[asyncio.Future[Any], _Worker]] = {}
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def identity(self) -> str:
        return self._identity

    def __enter__(self) -> ProcessPoolJudge:
        from judgekit.judges.litellm_judge import import_litellm

        import_litellm()  # imported once here, inherited by forked workers
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        # Frozen objects are skipped by the collector, so children don't copy-on-write the inherited heap.
        gc.freeze()
        try:
            for _ in range(self.workers):
                self._pool.append(_Worker(ctx, self._spec, self._pool))
        except BaseException:  # e.g. Ctrl-C between two forks: stop the workers already started
            self.__exit__()
            raise
        finally:
            gc.unfreeze()
        return self

    def __exit__(self, *exc: object) -> None:
        for w in self._pool:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        for w in self._pool:
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=5)
            with contextlib.suppress(OSError):
                w.conn.close()
        self._pool = []

    async def __aenter__(self) -> ProcessPoolJudge:
        return self.__enter__()  # forks from the loop's thread, as the sync form does

    async def __aexit__(self, *exc: object) -> None:
        """Stop the workers in a thread (waiting for each, up to 5 s, and a blocked pipe must not stall the
        loop); the loop's readers of their pipes go first, on the loop's own thread."""
        self._detach_loop()
        await to_thread_to_end(self.__exit__)

    def _detach_loop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            for w in self._pool:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(w.conn.fileno())
        self._loop = None

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        self._detach_loop()
        self._loop = loop
        for w in self._pool:
            loop.add_reader(w.conn.fileno(), self._on_readable, w)

    def _on_readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                rid, kind, payload = worker.conn.recv()
                entry = self._pending.pop(rid, None)
                if entry is None:  # the caller gave up (timeout, cancel)
                    continue
                fut, w = entry
                w.in_flight -= 1
                if fut.done():
                    continue
                if kind == "ok":  # built by our own worker from a validated Completion
                    fut.set_result(Completion.model_construct(**payload))
                elif kind == "transient":
                    fut.set_exception(TransientError(payload[0], payload[1], payload[2]))
                elif kind == "quota":
                    fut.set_exception(QuotaExhausted(payload))
                else:
                    fut.set_exception(CallFailed(payload))
        except (EOFError, OSError):
            self._fail_worker(worker)

    def _fail_worker(self, worker: _Worker) -> None:
        assert self._loop is not None
        with contextlib.suppress(Exception):
            self._loop.remove_reader(worker.conn.fileno())
        for rid, (fut, w) in list(self._pending.items()):
            if w is worker:
                self._pending.pop(rid, None)
                if not fut.done():
                    fut.set_exception(TransientError("connection", "judge worker process exited"))
        if worker in self._pool:
            self._pool.remove(worker)

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        loop = asyncio.get_running_loop()
        self._attach(loop)
        if not self._pool:
            raise CallFailed("no judge worker process is running")
        worker = min(self._pool, key=lambda w: w.in_flight)
        rid = next(self._ids)
        fut: asyncio.Future[Completion] = loop.create_future()
        self._pending[rid] = (fut, worker)
        worker.in_flight += 1
        try:
            worker.conn.send((rid, messages, params.cache_json))
        except (OSError, ValueError):
            self._pending.pop(rid, None)
            self._fail_worker(worker)
            raise TransientError("connection", "judge worker process exited") from None
        try:
            return await fut
        finally:
            if self._pending.pop(rid, None) is not None:
                worker.in_flight -= 1
