"""Opening a judge from async code without stalling the event loop.

A backend's opener is an async context manager. Whatever must block (stopping a server, joining worker
processes) runs in a thread through :func:`to_thread_to_end`, which finishes it even when the run is
cancelled, so a cancelled run still stops what it started. A user's backend written as a plain
(synchronous) context manager keeps working: :func:`entered` enters and exits it in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import TypeVar

_T = TypeVar("_T")


async def to_thread_to_end(fn: Callable[..., _T], *args: object) -> _T:
    """``fn(*args)`` in a worker thread, awaited to its end even if the caller is cancelled meanwhile (the
    cancellation is re-raised once it has finished): cleanup that blocks must not stall the loop, nor be
    left half done by Ctrl-C."""
    job = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        while not job.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({job})
        if not job.cancelled():
            job.exception()  # retrieved: the cancellation is what the caller sees
        raise


class _ThreadEntered(AbstractAsyncContextManager[_T]):
    """A synchronous context manager entered and exited in a worker thread, for async code."""

    def __init__(self, cm: AbstractContextManager[_T]) -> None:
        self._cm = cm
        self._entered = False

    def _enter(self) -> _T:
        value = self._cm.__enter__()
        self._entered = True
        return value

    async def __aenter__(self) -> _T:
        try:
            return await to_thread_to_end(self._enter)
        except asyncio.CancelledError as err:  # cancelled while it opened: close what it opened
            if self._entered:
                await to_thread_to_end(self._cm.__exit__, type(err), err, err.__traceback__)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await to_thread_to_end(self._cm.__exit__, exc_type, exc, tb)


def entered(
    cm: AbstractAsyncContextManager[_T] | AbstractContextManager[_T],
) -> AbstractAsyncContextManager[_T]:
    """``cm`` as an async context manager: itself if it is one; a synchronous one (a user's opener written
    with ``contextlib.contextmanager``) entered and exited in a worker thread, so a slow start or stop does
    not stall the loop."""
    if isinstance(cm, AbstractAsyncContextManager):
        return cm
    if isinstance(cm, AbstractContextManager):
        return _ThreadEntered(cm)
    raise TypeError(f"a judge backend's open() must return a context manager, got {type(cm).__name__}")
