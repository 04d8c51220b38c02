"""How many judge calls may be in flight: a FIFO semaphore that adapts to the backend's rate limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger("judgekit")


class AdaptiveLimiter:
    """A FIFO semaphore whose size adapts to the backend's rate limit (TCP-style AIMD).

    It starts at the requested concurrency (``maximum``): a backend that can take that
    many calls gets them from the first call on; a slow start from 8 cost a 200 ms backend 0.4 s of every
    run. It halves on a 429 and grows back by one per window of successes. A 429 from a call that started
    before the last cut does not cut again: one burst, one halving. Each change is logged and reported once
    to ``on_change(old, new, why)``: the limiter keeps no record of its own, its owner does (the engine's
    stats, which become the score file's ``meta.concurrency_changes``).
    """

    def __init__(
        self,
        maximum: int,
        *,
        adaptive: bool = True,
        on_change: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.maximum = maximum
        self.adaptive = adaptive
        self.limit = maximum
        self.in_flight = 0
        self.generation = 0
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._on_change = on_change

    async def acquire(self) -> int:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self.generation
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            raise
        return self.generation

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    def _change(self, new: int, why: str) -> None:
        log.warning("judgekit: concurrency %d -> %d (%s)", self.limit, new, why)
        old, self.limit = self.limit, new
        if self._on_change is not None:
            self._on_change(old, new, why)

    def on_rate_limit(self, generation: int) -> None:
        if not self.adaptive or generation < self.generation:
            return
        self.generation += 1
        self._successes = 0
        new = max(1, self.limit // 2)
        if new != self.limit:
            self._change(new, "rate limited (429)")

    def on_success(self) -> None:
        if not self.adaptive or self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self._change(self.limit + 1, "calls succeeding")
            self._wake()
