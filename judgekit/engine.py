"""Runs judge conversations concurrently: cache first, bounded retries, bounded re-asks, adaptive limit.

A job is one judgment: a rendered conversation plus a sample index. The engine knows nothing about which
rubric it runs: it renders nothing itself, parses with the rubric's schema, and re-asks with the rubric's
own re-ask template.

A judge that cannot judge stops the run (JudgeUnavailable) instead of failing every unit slowly: a circuit
breaker counts transient failures across all units (connection refused or reset, timeouts, 5xx) and trips
when enough of them follow each other with no answer for ``breaker_window`` seconds; a judge that raises
JudgeDown, or whose first calls all fail permanently (bad key, unknown model), stops the run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit.cache import Cache, request_key
from judgekit.errors import JudgeUnavailable
from judgekit.judges.base import (
    CallFailed,
    Completion,
    Judge,
    JudgeDown,
    JudgeParams,
    Message,
    TransientError,
)
from judgekit.parse import ParseResult, parse_completion
from judgekit.rubric import CallPlan, Rubric

log = logging.getLogger("judgekit")

ABORT_AFTER = 8  # permanent failures (bad key, unknown model) with no answer at all before a run stops
SLOW_START = 8  # calls in flight at the start of a run; doubles per window of successes until a 429
BREAKER_FAILURES = 8  # consecutive transient failures (fewer when fewer calls fit in flight) to trip
STOP_GRACE_S = 2.0  # on a stop, calls in flight this long may still land (and be counted) before cancelling
_TICK_S = 0.25  # how often the run checks the breaker while every worker waits


class EngineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(16, ge=1, le=1024)
    max_retries: int = Field(
        6, ge=0, le=50, description="retries per call on 429/5xx/timeouts/connection errors"
    )
    max_reasks: int = Field(2, ge=0, le=10, description="follow-ups after an unparseable answer")
    timeout: float = Field(120.0, gt=0, description="seconds per call")
    backoff_base: float = Field(1.0, ge=0, description="first retry waits about this long, then doubles")
    backoff_max: float = Field(60.0, ge=0)
    max_retry_after: float = Field(300.0, ge=0, description="longest Retry-After honoured")
    adaptive: bool = True
    breaker_window: float = Field(
        15.0,
        gt=0,
        description="seconds with consecutive transient failures (connection, timeout, 5xx) and no answer "
        "after which the judge counts as unavailable and the run stops",
    )


@dataclass(frozen=True)
class Job:
    plan: CallPlan
    sample: int
    params: JudgeParams


@dataclass
class CallRecord:
    """One request of a conversation, as the run log shows it."""

    key: str
    turn: int
    status: str  # "ok" | "cached" | "failed"
    text: str | None = None
    parse_error: str | None = None
    tries: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None


@dataclass
class JobResult:
    job: Job
    ok: bool
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    reason: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None
    method: str = "value"


@dataclass
class RunStats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    finished: int = 0
    concurrency_changes: list[dict[str, Any]] = field(default_factory=list)


class AdaptiveLimiter:
    """A FIFO semaphore whose size adapts to the backend's rate limit (TCP-style AIMD with slow start).

    It starts small and doubles per window of successes until the first 429 (slow start), then grows by one
    per window of successes and halves on a 429. A 429 from a call that started before the last cut does
    not cut again: one burst, one halving.
    """

    def __init__(
        self,
        maximum: int,
        *,
        adaptive: bool = True,
        initial: int | None = None,
        stats: RunStats | None = None,
    ) -> None:
        self.maximum = maximum
        self.adaptive = adaptive
        self.limit = maximum if not adaptive else max(1, min(maximum, initial or SLOW_START))
        self.in_flight = 0
        self.generation = 0
        self._slow_start = adaptive and self.limit < maximum
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._stats = stats

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

    def _change(self, new: int, why: str, quiet: bool = False) -> None:
        (log.info if quiet else log.warning)("judgekit: concurrency %d -> %d (%s)", self.limit, new, why)
        if self._stats is not None:
            self._stats.concurrency_changes.append(
                {"t": time.time(), "from": self.limit, "to": new, "why": why}
            )
        self.limit = new

    def on_rate_limit(self, generation: int) -> None:
        if not self.adaptive or generation < self.generation:
            return
        self.generation += 1
        self._successes = 0
        self._slow_start = False
        new = max(1, self.limit // 2)
        if new != self.limit:
            self._change(new, "rate limited (429)")

    def on_success(self) -> None:
        if not self.adaptive or self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            if self._slow_start:
                self._change(min(self.maximum, self.limit * 2), "slow start", quiet=True)
            else:
                self._change(self.limit + 1, "calls succeeding")
            self._wake()


@dataclass
class _Failure:
    kind: str
    message: str
    tries: list[str]


class _Halted(Exception):
    """Unwinds a worker once the run is stopping (never leaves the engine)."""


@dataclass
class _Outage:
    """The current streak of transient failures with no answer in between, across all units."""

    started: float  # when the first failure of the streak arrived
    since: float  # from when the failures prove the judge silent (a timeout counts from its call's start)
    failures: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # by TransientError kind
    details: Counter[str] = field(default_factory=Counter)  # by description, for the message
    state: str = ""


_OUTAGE_STATE = {"server_error": "server errors, retrying"}  # else: "judge unreachable, retrying"
_OUTAGE_VERB = {
    "connection": "is unreachable",
    "timeout": "does not answer",
    "server_error": "returns server errors",
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
    return "server error (" + str(err).split(":", 1)[0] + ")"


class Engine:
    """Runs jobs for one judge and one rubric."""

    def __init__(
        self,
        judge: Judge,
        rubric: Rubric,
        settings: EngineSettings,
        cache: Cache | None = None,
        on_done: Callable[[JobResult], None] | None = None,
        on_state: Callable[[str | None], None] | None = None,
    ) -> None:
        self.judge = judge
        self.rubric = rubric
        self.settings = settings
        self.cache = cache
        self.stats = RunStats()
        self._on_done = on_done
        self._on_state = on_state
        self._identity = judge.identity
        self._limiter: AdaptiveLimiter | None = None
        self._answered = 0
        self._permanent = 0
        self._abort_after = ABORT_AFTER
        self._last_error = ""
        self._sent = 0  # calls handed to the judge, including ones cut off by a stop
        self._kept = 0  # judgments finished with a score (each is in the cache, if there is one)
        self._last_answer = time.monotonic()
        self._outage: _Outage | None = None
        self._stop: str | None = None  # why the run is stopping: "permanent" | "breaker" | "down"
        # Set when the run is being cancelled (Ctrl-C, SIGTERM): Python 3.11's wait_for can swallow a
        # cancellation that lands as a call completes, so workers also check this before each next job.
        self._closing = False
        self._down = ""
        self._trip: _Outage | None = None

    @property
    def _breaker_failures(self) -> int:
        """With few calls in flight a hung judge yields few failures per window: need at most that many."""
        return max(2, min(BREAKER_FAILURES, self.settings.concurrency))

    def _permanent_failure(self, reason: str) -> None:
        """Stop a run whose judge cannot work at all (no key, unknown model) instead of failing every unit."""
        self._permanent += 1
        self._last_error = reason.splitlines()[0] if reason else "?"
        if self._answered == 0 and self._permanent >= self._abort_after:
            self._halt("permanent")

    def _halt(self, why: str) -> None:
        if self._stop is None:
            self._stop = why
            self._trip = self._outage

    def _answer_arrived(self) -> None:
        self._answered += 1
        self._last_answer = time.monotonic()
        outage, self._outage = self._outage, None
        if outage is not None:
            log.warning(
                "judgekit: %s answers again (after %d failed call(s) in %.1f s)",
                describe_judge(self._identity),
                outage.failures,
                self._last_answer - outage.started,
            )
            if self._on_state is not None:
                self._on_state(None)

    def _transient_failure(self, err: TransientError, started: float) -> None:
        """Count a failure toward the breaker; announce the first of a streak (not every retry)."""
        if err.kind == "rate_limit":  # the server is there and answering; the limiter handles it
            return
        now = time.monotonic()
        evidence = max(self._last_answer, started if err.kind == "timeout" else now)
        outage = self._outage
        if outage is None:
            outage = self._outage = _Outage(started=now, since=evidence)
            log.warning(
                "judgekit: %s %s (%s); retrying, the run stops after %g s without an answer",
                describe_judge(self._identity),
                _OUTAGE_VERB.get(err.kind, "fails"),
                _describe_failure(err),
                self.settings.breaker_window,
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
        self._check_breaker(now)

    def _check_breaker(self, now: float) -> None:
        outage = self._outage
        if (
            outage is not None
            and outage.failures >= self._breaker_failures
            and now - outage.since >= self.settings.breaker_window
        ):
            self._halt("breaker")

    def unavailable(self) -> JudgeUnavailable:
        """The one line that says why the run stopped, what was made and what is kept."""
        who = describe_judge(self._identity)
        if self._stop == "permanent":
            return JudgeUnavailable(
                f"{who} failed on all {self._sent} call(s) made without one answer, so the run stopped; "
                f"last error: {self._last_error}"
            )
        kept = (
            f"{self._kept} judgment(s) made are cached; rerun to resume"
            if self.cache is not None
            else f"{self._kept} judgment(s) made are lost (the cache is off)"
        )
        if self._stop == "down":
            return JudgeUnavailable(f"{self._down}; {kept}")
        outage = self._trip or self._outage
        assert outage is not None
        what = ", ".join(
            d if len(outage.details) == 1 else f"{n} {d}" for d, n in outage.details.most_common()
        )
        verb = _OUTAGE_VERB.get(outage.kinds.most_common(1)[0][0], "fails")
        return JudgeUnavailable(
            f"{who} {verb}: {outage.failures} call(s) in {time.monotonic() - outage.since:.0f} s failed "
            f"with {what} and none succeeded; {kept}"
        )

    def key(self, messages: Sequence[Message], job: Job) -> str:
        return request_key(self._identity, messages, job.params, job.sample)

    def _parse(self, job: Job, text: str | None) -> ParseResult:
        return parse_completion(text, self.rubric, job.plan.slots, job.plan.untrusted)

    def _account(self, c: Completion) -> None:
        self.stats.prompt_tokens += c.prompt_tokens
        self.stats.completion_tokens += c.completion_tokens
        if c.cost_usd is not None:
            self.stats.cost_usd += c.cost_usd

    def _finish(self, result: JobResult) -> JobResult:
        self.stats.finished += 1
        if result.ok:
            self._kept += 1
        if self._on_done is not None:
            self._on_done(result)
        return result

    async def run(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Judge every job; returns results in job order. Cached, parseable answers cost no task at all.

        Raises JudgeUnavailable when the judge cannot judge; the workers are cancelled and awaited first, so
        nothing keeps calling and no task is left with an unretrieved exception."""
        results: list[JobResult | None] = [None] * len(jobs)
        first_keys = [self.key(job.plan.messages, job) for job in jobs]
        cached = self.cache.get_many(first_keys) if self.cache is not None else {}
        pending: deque[int] = deque()
        for i, job in enumerate(jobs):
            hit = cached.get(first_keys[i])
            if hit is not None:
                parsed = self._parse(job, hit.text)
                if parsed.ok:
                    scores, method = self.rubric.final_scores(parsed.scores, hit.logprobs)
                    self.stats.cache_hits += 1
                    record = CallRecord(
                        first_keys[i],
                        0,
                        "cached",
                        hit.text,
                        latency_s=hit.latency_s,
                        prompt_tokens=hit.prompt_tokens,
                        completion_tokens=hit.completion_tokens,
                        cost_usd=hit.cost_usd,
                    )
                    results[i] = self._finish(
                        JobResult(
                            job,
                            True,
                            parsed.verdicts,
                            scores,
                            calls=[record],
                            logprobs=hit.logprobs,
                            method=method,
                        )
                    )
                    continue
            pending.append(i)
        if pending:
            self._limiter = AdaptiveLimiter(
                self.settings.concurrency, adaptive=self.settings.adaptive, stats=self.stats
            )

            async def worker() -> None:
                with contextlib.suppress(_Halted):
                    while pending and self._stop is None and not self._closing:
                        i = pending.popleft()
                        result = await self._run_job(jobs[i], first_keys[i], cached.get(first_keys[i]))
                        results[i] = self._finish(result)

            self._abort_after = min(ABORT_AFTER, len(pending))
            self._last_answer = time.monotonic()
            n_workers = min(self.settings.concurrency, len(pending))
            tasks = [asyncio.create_task(worker()) for _ in range(n_workers)]
            try:
                await self._supervise(tasks)
            finally:
                self._closing = True
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in tasks:  # a bug in a worker surfaces as itself, after the others stopped
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    raise error
            outage = self._outage
            if self._answered == 0 and outage is not None and outage.failures >= self._breaker_failures:
                self._halt("breaker")  # every call failed, with retries quicker than the window: same verdict
            if self._stop is not None:
                raise self.unavailable()
        return [r for r in results if r is not None]

    async def _supervise(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the workers; check the breaker while they all wait; on a stop, let the calls in flight
        land for a moment (so they are counted and cached), then return so the caller cancels the rest."""
        limiter = self._limiter
        assert limiter is not None
        while True:
            _done, running = await asyncio.wait(tasks, timeout=_TICK_S)
            if any(not t.cancelled() and t.exception() is not None for t in _done):
                return
            if not running:
                return
            if self._stop is None:
                self._check_breaker(time.monotonic())
            if self._stop is not None:
                deadline = time.monotonic() + STOP_GRACE_S
                while limiter.in_flight > 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                return

    async def _run_job(self, job: Job, first_key: str, first_hit: Completion | None) -> JobResult:
        messages: list[Message] = list(job.plan.messages)
        calls: list[CallRecord] = []
        parsed: ParseResult | None = None
        for turn in range(self.settings.max_reasks + 1):
            key = first_key if turn == 0 else self.key(messages, job)
            completion = first_hit if turn == 0 else (self.cache.get(key) if self.cache is not None else None)
            status = "cached"
            if completion is None:
                outcome = await self._call(messages, job.params)
                if isinstance(outcome, _Failure):
                    calls.append(CallRecord(key, turn, "failed", tries=outcome.tries))
                    reason = f"{outcome.kind}: {outcome.message} (gave up after {len(outcome.tries)} tries)"
                    return JobResult(job, False, reason=reason, calls=calls)
                completion, tries = outcome
                status = "ok"
                if self.cache is not None:
                    self.cache.put(key, self._identity, completion)
            else:
                self.stats.cache_hits += 1
                tries = []
            parsed = self._parse(job, completion.text)
            calls.append(
                CallRecord(
                    key,
                    turn,
                    status,
                    completion.text,
                    None if parsed.ok else parsed.reason,
                    tries,
                    completion.latency_s,
                    completion.prompt_tokens,
                    completion.completion_tokens,
                    completion.cost_usd,
                )
            )
            if parsed.ok:
                scores, method = self.rubric.final_scores(parsed.scores, completion.logprobs)
                return JobResult(
                    job,
                    True,
                    parsed.verdicts,
                    scores,
                    calls=calls,
                    logprobs=completion.logprobs,
                    method=method,
                )
            if turn < self.settings.max_reasks:
                self.stats.reasks += 1
                messages = [
                    *messages,
                    {"role": "assistant", "content": completion.text or ""},
                    self.rubric.reask_message(parsed.reason or "unparseable"),
                ]
        assert parsed is not None
        answers = self.settings.max_reasks + 1
        return JobResult(
            job, False, reason=f"unparseable after {answers} answers: {parsed.reason}", calls=calls
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * (2**attempt))
        return float(ceiling * (0.5 + random.random() / 2))

    async def _call(
        self, messages: list[Message], params: JudgeParams
    ) -> tuple[Completion, list[str]] | _Failure:
        limiter = self._limiter
        assert limiter is not None
        tries: list[str] = []
        error = TransientError("server_error", "no attempt made")
        for attempt in range(self.settings.max_retries + 1):
            if self._stop is not None:
                raise _Halted
            generation = await limiter.acquire()
            started = time.monotonic()
            try:
                if self._stop is not None:
                    raise _Halted
                self._sent += 1
                completion = await asyncio.wait_for(
                    self.judge.complete(messages, params), self.settings.timeout
                )
            except TransientError as err:
                error = err
            except TimeoutError:
                error = TransientError("timeout", f"no answer within {self.settings.timeout:g} s")
            except CallFailed as err:
                self.stats.calls += 1
                tries.append(f"call_failed: {err}")
                self._permanent_failure(str(err))
                return _Failure("call_failed", str(err), tries)
            except JudgeDown as err:
                self.stats.calls += 1
                lines = [line.strip() for line in str(err).splitlines() if line.strip()]
                self._down = " / ".join(lines) or f"{describe_judge(self._identity)} went down"
                self._halt("down")
                raise _Halted from None
            except _Halted:
                raise
            except Exception as err:  # a user's judge raising anything else: not retried, not hidden
                self.stats.calls += 1
                tries.append(f"judge_error: {type(err).__name__}: {err}")
                self._permanent_failure(f"{type(err).__name__}: {err}")
                return _Failure("judge_error", f"{type(err).__name__}: {err}", tries)
            else:
                self.stats.calls += 1
                self._answer_arrived()
                limiter.on_success()
                self._account(completion)
                return completion, tries
            finally:
                limiter.release()
            self.stats.calls += 1
            tries.append(f"{error.kind}: {error}")
            self._transient_failure(error, started)
            if error.kind == "rate_limit":
                limiter.on_rate_limit(generation)
            if attempt == self.settings.max_retries:
                break
            if self._stop is not None:
                raise _Halted
            if error.retry_after is not None:
                delay = min(error.retry_after, self.settings.max_retry_after)
            else:
                delay = self._backoff(attempt)
                if error.kind == "connection":  # nothing there to overload: probe often enough that a
                    delay = min(delay, self.settings.breaker_window / 4)  # judge back in time is seen
            self.stats.retries += 1
            log.info(
                "judgekit: %s; retry %d/%d in %.2f s",
                error.kind,
                attempt + 1,
                self.settings.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
        return _Failure(error.kind, str(error), tries)
