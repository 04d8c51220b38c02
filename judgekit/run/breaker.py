"""When a judge cannot judge: the circuit breaker and the outage it watches.

A judge that cannot judge stops the run (JudgeUnavailable) instead of failing every unit slowly: the breaker
counts transient failures across all units (connection refused or reset, timeouts, 5xx) and trips when enough
of them follow each other with no answer for ``breaker_window`` seconds; a judge that raises JudgeDown (a
spent quota is one), or whose first calls all fail permanently (bad key, unknown model), stops the run at once.
Rate limits (429) are the limiter's business, but a judge that rate-limits every call for ``max_stall``
seconds without letting one through stops the run too: waiting longer would only burn the user's time.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from judgekit.errors import JudgeUnavailable
from judgekit.judges.base import JudgeDown, QuotaExhausted, TransientError

log = logging.getLogger("judgekit")

ABORT_AFTER = 8  # permanent failures (bad key, unknown model) with no answer at all before a run stops
BREAKER_FAILURES = 8  # consecutive transient failures (fewer when fewer calls fit in flight) to trip


@dataclass
class Outage:
    """The current streak of transient failures with no answer in between, across all units."""

    started: float  # when the first failure of the streak arrived
    since: float  # from when the failures prove the judge silent (a timeout counts from its call's start)
    failures: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # by TransientError kind
    details: Counter[str] = field(default_factory=Counter)  # by description, for the message
    state: str = ""


_OUTAGE_STATE = {  # else: "judge unreachable, retrying"
    "server_error": "server errors, retrying",
    "malformed": "malformed answers, retrying",
}
_OUTAGE_VERB = {
    "connection": "is unreachable",
    "timeout": "does not answer",
    "server_error": "returns server errors",
    "malformed": "returns malformed responses",
}
_ENDPOINT = re.compile(r"^(?:litellm:)?(?P<model>.*?)@(?P<url>https?://\S+)$")


def describe_judge(identity: str) -> str:
    """'the judge at URL (model)' or 'the judge NAME', from a judge identity (which never holds a key)."""
    base = identity.split("|", 1)[0]
    m = _ENDPOINT.match(base)
    if m:
        return f"the judge at {m['url']} ({m['model']})"
    return f"the judge {base.removeprefix('litellm:')}"


def _describe_failure(err: TransientError) -> str:
    """A short, secret-free description of a transient failure (type names only, never a server's text)."""
    if err.kind == "timeout":
        return "timeout"
    if err.kind == "connection":
        return str(err).split(" (", 1)[0] if " (" in str(err) else "connection error"
    if err.kind == "malformed":
        return "a malformed response body"
    return "server error (" + str(err).split(":", 1)[0] + ")"


class Breaker:
    """Watches one judge's answers and failures; ``stop`` says why the run must stop (or ``None``)."""

    def __init__(
        self,
        identity: str,
        window: float,
        concurrency: int,
        on_state: Callable[[str | None], None] | None = None,
        stall: float = 120.0,
    ) -> None:
        self.identity = identity
        self.window = window
        self.stall = stall  # seconds of 429s with no answer in between after which the run stops
        # with few calls in flight a hung judge yields few failures per window: need at most that many
        self._concurrency = concurrency
        self.failures_to_trip = max(1, min(BREAKER_FAILURES, concurrency))
        self.stop: str | None = None  # why the run is stopping: "permanent" | "breaker" | "down"
        self.answered = 0
        self._on_state = on_state
        self._permanent = 0
        self._abort_after = ABORT_AFTER
        self._last_error = ""
        self._last_answer = time.monotonic()
        self._outage: Outage | None = None
        self._throttle: Outage | None = None  # the current streak of 429s with no answer in between
        self._down = ""
        self._trip: Outage | None = None
        self._silence_told = False
        self._last_heard = time.monotonic()  # the last answer, or 429 (a server that says it is busy)

    def arm(self, calls_ahead: int) -> None:
        """Start watching a run of ``calls_ahead`` judgments (fewer than ABORT_AFTER need fewer to abort)."""
        self._abort_after = min(ABORT_AFTER, calls_ahead)
        # no more calls are in flight at once than there are judgments: a hung judge with 5 of them to make
        # must trip on their 5 timeouts, not wait for a second round of them
        self.failures_to_trip = max(1, min(BREAKER_FAILURES, self._concurrency, calls_ahead))
        self._last_answer = time.monotonic()

    def _halt(self, why: str, streak: Outage | None = None) -> None:
        if self.stop is None:
            self.stop = why
            self._trip = streak or self._outage

    def permanent_failure(self, reason: str) -> None:
        """Stop a run whose judge cannot work at all (no key, unknown model) instead of failing every unit."""
        self._permanent += 1
        self._last_error = reason.splitlines()[0] if reason else "?"
        if self.answered == 0 and self._permanent >= self._abort_after:
            self._halt("permanent")

    def went_down(self, err: JudgeDown) -> None:
        """The judge said it can no longer answer: stop at once, with its own words."""
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        self._down = " / ".join(lines) or f"{describe_judge(self.identity)} went down"
        if isinstance(err, QuotaExhausted):
            self._down = (
                f"{describe_judge(self.identity)} refuses every call, its quota is spent ({self._down})"
            )
        self._halt("down")

    def answer_arrived(self) -> None:
        self.answered += 1
        self._last_answer = time.monotonic()
        outage, self._outage = self._outage, None
        self._throttle = None
        if outage is not None:
            log.warning(
                "judgekit: %s answers again (after %d failed call(s) in %.1f s)",
                describe_judge(self.identity),
                outage.failures,
                self._last_answer - outage.started,
            )
            if self._on_state is not None:
                self._on_state(None)

    def transient_failure(self, err: TransientError, started: float) -> None:
        """Count a failure toward the breaker; announce the first of a streak (not every retry)."""
        now = time.monotonic()
        if err.kind == "rate_limit":  # the server is there and answering; the limiter handles it, unless
            self._last_heard = now
            self._throttled(now)  # it never lets a call through
            return
        evidence = max(self._last_answer, started if err.kind == "timeout" else now)
        outage = self._outage
        if outage is None:
            outage = self._outage = Outage(started=now, since=evidence)
            log.warning(
                "judgekit: %s %s (%s); retrying, the run stops after %g s without an answer",
                describe_judge(self.identity),
                _OUTAGE_VERB.get(err.kind, "fails"),
                _describe_failure(err),
                self.window,
            )
        outage.failures += 1
        outage.kinds[err.kind] += 1
        outage.details[_describe_failure(err)] += 1
        outage.since = min(outage.since, evidence)
        state = _OUTAGE_STATE.get(err.kind, "judge unreachable, retrying")
        if state != outage.state:
            outage.state = state
            if self._on_state is not None:
                self._on_state(state)
        self.check(now)

    def _throttled(self, now: float) -> None:
        throttle = self._throttle
        if throttle is None:
            throttle = self._throttle = Outage(started=now, since=now)
            log.warning(
                "judgekit: %s rate-limits the calls (429); the run stops if none gets through in %g s",
                describe_judge(self.identity),
                self.stall,
            )
        throttle.failures += 1
        self.check(now)

    def waiting(self, now: float, in_flight: int, timeout: float) -> None:
        """Calls in flight and neither an answer nor a failure for the window: the breaker counts from those
        calls' start, so say so (once a run) instead of staying silent until they time out."""
        if self._silence_told or self._outage is not None or self.stop is not None or in_flight == 0:
            return
        if now - max(self._last_answer, self._last_heard) >= self.window:
            self._silence_told = True
            log.warning(
                "judgekit: %s has not answered for %g s (%d call(s) waiting); if they time out "
                "(--timeout %g s) with none answered, the run stops",
                describe_judge(self.identity),
                self.window,
                in_flight,
                timeout,
            )

    def check(self, now: float) -> None:
        throttle = self._throttle
        if throttle is not None and now - throttle.since >= self.stall:
            self._halt("stalled", throttle)
        outage = self._outage
        if (
            outage is not None
            and outage.failures >= self.failures_to_trip
            and now - outage.since >= self.window
        ):
            self._halt("breaker")

    def settle(self) -> None:
        """At the end of a run: every call failed, with retries quicker than the window, is the same verdict."""
        outage = self._outage
        if self.answered == 0 and outage is not None and outage.failures >= self.failures_to_trip:
            self._halt("breaker")
        throttle = self._throttle
        if self.answered == 0 and throttle is not None and throttle.failures >= self.failures_to_trip:
            self._halt("stalled", throttle)

    def unavailable(self, sent: int, kept: int, cached: bool) -> JudgeUnavailable:
        """The one line that says why the run stopped, what was made (``sent`` calls, ``kept`` judgments) and
        what is kept."""
        who = describe_judge(self.identity)
        if self.stop == "permanent":
            return JudgeUnavailable(
                f"{who} failed on all {sent} call(s) made without one answer, so the run stopped; "
                f"last error: {self._last_error}"
            )
        kept_text = (
            f"{kept} judgment(s) made are cached; rerun to resume"
            if cached
            else f"{kept} judgment(s) made are lost (the cache is off)"
        )
        if self.stop == "down":
            return JudgeUnavailable(f"{self._down}; {kept_text}")
        if self.stop == "stalled":
            throttle = self._trip
            assert throttle is not None
            return JudgeUnavailable(
                f"{who} rate-limits every call: {throttle.failures} call(s) in "
                f"{time.monotonic() - throttle.since:.0f} s answered 429 and none got through "
                f"(--max-stall {self.stall:g}); {kept_text}"
            )
        outage = self._trip or self._outage
        assert outage is not None
        what = ", ".join(
            d if len(outage.details) == 1 else f"{n} {d}" for d, n in outage.details.most_common()
        )
        verb = _OUTAGE_VERB.get(outage.kinds.most_common(1)[0][0], "fails")
        return JudgeUnavailable(
            f"{who} {verb}: {outage.failures} call(s) in {time.monotonic() - outage.since:.0f} s failed "
            f"with {what} and none succeeded; {kept_text}"
        )
