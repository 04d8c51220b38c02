"""A judge that ends the run the moment its local server is gone, instead of retrying a dead server."""

from __future__ import annotations

from judgekit.judges.base import Completion, Judge, JudgeParams, Message, TransientError
from judgekit.judges.local.server import LocalServer

_DEATH_GRACE_SECONDS = 1.0


class WatchedJudge:
    """A judge on a :class:`LocalServer` that stops the run the moment that server is gone.

    Without it a dead server looks like a flaky network: every call fails with "connection refused" and is
    retried until the retries run out, for minutes, and the run ends with nothing scored. Each call first
    checks the server process; a call that fails checks again (after a short wait, see
    :meth:`LocalServer.wait_dead`) and raises :class:`JudgeDown` naming the signal and quoting the log.
    """

    def __init__(self, inner: Judge, server: LocalServer) -> None:
        self.inner = inner
        self.server = server

    @property
    def identity(self) -> str:
        return self.inner.identity

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        self.server.check_alive()
        try:
            return await self.inner.complete(messages, params)
        except Exception as err:
            # A dropped connection may be seen a moment before the exit is; a refusal needs no wait.
            grace = _DEATH_GRACE_SECONDS if isinstance(err, TransientError) else 0.0
            if await self.server.wait_dead(grace):
                self.server.check_alive()
            raise
