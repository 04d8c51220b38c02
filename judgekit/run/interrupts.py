"""SIGTERM handled like Ctrl-C: the running judge task is cancelled, finished work stays cached, exit 143.

Ctrl-C reaches a run through asyncio's own SIGINT handling (the main task is cancelled, the engine stops,
``ascore`` turns that into :class:`~judgekit.errors.Interrupted`). SIGTERM must take the same path, even
when SIGINT is ignored (a background job of a script), so the handler cancels the tasks that
:func:`watching` registered instead of relying on asyncio's SIGINT handler; outside a run it raises
``KeyboardInterrupt`` like Ctrl-C does. Every run going on is registered, for as long as it runs (two
``ascore`` calls gathered in one loop, a run started inside another): SIGTERM stops them all, and one run
ending never unregisters another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

from judgekit.errors import JudgekitError

_T = TypeVar("_T")

_state: dict[str, object] = {"terminated": False}
# The main task of every run going on, one entry per run (a task running two runs, one inside the other, is
# listed twice, so the inner one ending leaves the outer one watched); weak, so a task abandoned unfinished is
# not kept alive by this list.
_watched: list[weakref.ref[asyncio.Task[object]]] = []


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Handle SIGTERM like Ctrl-C while the block runs (the CLI's whole command); a no-op off the main
    thread, where Python cannot install signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.update(terminated=False)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _default_in_child() -> None:
    # A forked child (a worker of a pool) must die on SIGTERM as usual: multiprocessing.Pool.terminate()
    # stops its workers with it, and a KeyboardInterrupt there would print a worker's traceback.
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_default_in_child)


def terminated() -> bool:
    """Whether SIGTERM was received: the interrupted run then exits 143 instead of 130."""
    return bool(_state["terminated"])


@contextlib.contextmanager
def watching(task: asyncio.Task[Any] | None = None) -> Iterator[None]:
    """While the block runs, SIGTERM (under :func:`sigterm_as_interrupt`) cancels ``task`` (default: the
    current task, a run's main task), along with every other run's task registered the same way."""
    task = task if task is not None else asyncio.current_task()
    if task is None:  # not in a task: nothing to cancel, SIGTERM raises KeyboardInterrupt as outside a run
        yield
        return
    ref: weakref.ref[asyncio.Task[object]] = weakref.ref(task)
    _watched.append(ref)
    try:
        yield
    finally:
        _watched.remove(ref)  # this entry, not another run's entry for the same task


def _running() -> list[asyncio.Task[object]]:
    """The watched tasks still running, each once."""
    found: dict[int, asyncio.Task[object]] = {}
    for ref in list(_watched):  # a copy: the handler may run while a run registers or leaves
        task = ref()
        if task is not None and not task.done() and not task.get_loop().is_closed():
            found.setdefault(id(task), task)
    return list(found.values())


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _state["terminated"]:
        return  # the first SIGTERM is being handled; more of them change nothing
    _state["terminated"] = True
    tasks = _running()
    if not tasks:
        raise KeyboardInterrupt
    here = asyncio._get_running_loop()  # the main thread's loop, if the signal came while it runs
    for task in tasks:
        loop = task.get_loop()
        if loop is here:
            # As asyncio's own SIGINT handler does: cancel, then wake the loop from its selector.
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)
        else:  # a run in a loop of another thread: cancelled from that thread
            loop.call_soon_threadsafe(task.cancel)


def attach_stop(err: asyncio.CancelledError, stop: JudgekitError) -> None:
    """Keep on a cancelled run's CancelledError what the run would say (how far it got, where its work is):
    the library re-raises the cancellation itself, so ``asyncio.timeout()`` and task groups work as they do
    with any coroutine, and only a blocking entry point (:func:`run_blocking`) turns it into that error."""
    err.judgekit_stop = stop  # type: ignore[attr-defined]


def stop_of(err: BaseException) -> JudgekitError | None:
    """What :func:`attach_stop` kept on ``err``, if anything."""
    stop = getattr(err, "judgekit_stop", None)
    return stop if isinstance(stop, JudgekitError) else None


def run_blocking(fn: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``fn()`` in an event loop of its own, as the blocking API and the CLI do: a run cancelled by
    Ctrl-C or SIGTERM ends in the Interrupted / Terminated error it attached (exit 130 / 143 in the CLI)."""
    box: list[_T] = []

    async def main() -> None:
        # The main task returns nothing: CPython 3.11's asyncio.run repr()s the finished task when it restores
        # the SIGINT handler, which would format the whole result (seconds for a large run).
        try:
            box.append(await fn())
        except asyncio.CancelledError as err:
            stop = stop_of(err)
            if stop is None:
                raise
            raise stop from None

    asyncio.run(main())
    return box[0]
