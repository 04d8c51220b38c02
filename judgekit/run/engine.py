"""Runs judge conversations concurrently: cache first, bounded retries, bounded re-asks, adaptive limit.

A job is one judgment: a rendered conversation plus a sample index. The engine knows nothing about which
rubric it runs: it renders nothing itself, parses with the rubric's schema, and re-asks with the rubric's
own re-ask template. How many calls are in flight is :mod:`judgekit.run.limiter`'s business; when a judge that
cannot judge stops the run (JudgeUnavailable) is :mod:`judgekit.run.breaker`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
from judgekit.results import Counts
from judgekit.rubric import Rubric
from judgekit.rubric.parse import ParseResult
from judgekit.rubric.reasoning import Reading, check_tags, read_completion
from judgekit.run._gc import collector_paused
from judgekit.run.breaker import Breaker
from judgekit.run.cache import Cache, request_key
from judgekit.run.jobs import CallRecord, Job, JobResult
from judgekit.run.limiter import AdaptiveLimiter

log = logging.getLogger("judgekit")

STOP_GRACE_S = 2.0  # on a stop, calls in flight this long may still land (and be counted) before cancelling
_TICK_S = 0.25  # how often the run checks the breaker while every worker waits
_READ_CHUNK = 5000  # judgments looked up in the cache at a time
DEFAULT_MAX_ANSWER_CHARS = 100_000  # a judge's answer longer than this is unscored (--max-answer-chars)
ANSWER_PREVIEW_CHARS = 2000  # of an answer over the cap, the run log keeps this much (or the cap, if less)


class EngineSettings(BaseModel):
    """How the engine runs one judge's calls; the per-call timeout is the judge's (``JudgeOptions.timeout``)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(16, ge=1, le=1024)
    max_retries: int = Field(
        6, ge=0, le=50, description="retries per call on 429/5xx/timeouts/connection errors"
    )
    max_reasks: int = Field(2, ge=0, le=10, description="follow-ups after an unparseable answer")
    backoff_base: float = Field(1.0, ge=0, description="first retry waits about this long, then doubles")
    backoff_max: float = Field(60.0, ge=0)
    max_retry_after: float = Field(300.0, ge=0, description="longest Retry-After honoured")
    adaptive: bool = True
    max_answer_chars: int = Field(
        DEFAULT_MAX_ANSWER_CHARS,
        ge=1,
        description="a longer answer is unscored at once (never parsed, re-asked or cached; the run log "
        "keeps its start): a runaway judge must not fill the disk",
    )
    reasoning_tags: tuple[str, ...] | None = Field(
        None,
        description="tags whose blocks hold a judge's reasoning, not its verdict (None: the rubric's, "
        "else think, thinking, reasoning)",
    )
    breaker_window: float = Field(
        15.0,
        gt=0,
        description="seconds with consecutive transient failures (connection, timeout, 5xx) and no answer "
        "after which the judge counts as unavailable and the run stops",
    )
    max_stall: float = Field(
        120.0,
        gt=0,
        description="seconds of rate limiting (429) on every call, with no answer getting through, after "
        "which the run stops (JudgeUnavailable) instead of waiting on",
    )

    @model_validator(mode="before")
    @classmethod
    def _timeout_moved(cls, data: Any) -> Any:
        """The per-call timeout has one home, the judge's options: say so, rather than 'extra input'."""
        if isinstance(data, dict) and "timeout" in data:
            raise ValueError(
                "timeout is a judge option: ScoreSettings(judge=JudgeOptions(timeout=...)), "
                "not EngineSettings (the CLI's --timeout is unchanged)"
            )
        return data


class RunStats(Counts):
    """One judge's counts so far (the score file's totals sum them), finished judgments and limit changes."""

    finished: int = 0
    concurrency_changes: list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class _Failure:
    kind: str
    message: str
    tries: list[str]


class _Halted(Exception):
    """Unwinds a worker once the run is stopping (never leaves the engine)."""


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
        *,
        timeout: float,
    ) -> None:
        self.judge = judge
        self.timeout = timeout  # seconds per call: the judge's (JudgeOptions.timeout), never a second setting
        self.rubric = rubric
        self.settings = settings
        self.cache = cache
        self.stats = RunStats()
        self._on_done = on_done
        self._identity = judge.identity
        self._tags = check_tags(settings.reasoning_tags or rubric.reasoning_tags)
        self._limiter: AdaptiveLimiter | None = None
        self._breaker = Breaker(
            judge.identity, settings.breaker_window, settings.concurrency, on_state, stall=settings.max_stall
        )
        self._sent = 0  # calls handed to the judge, including ones cut off by a stop
        self._kept = 0  # judgments finished with a score (each is in the cache, if there is one)
        # Set when the run is being cancelled (Ctrl-C, SIGTERM): workers check it before each next job, so
        # one that missed a cancellation (Python 3.11's wait_for could swallow one) still stops.
        self._closing = False

    @property
    def kept(self) -> int:
        """Judgments finished with a score (each is in the cache, if there is one)."""
        return self._kept

    def unavailable(self, kept: int | None = None) -> JudgeUnavailable:
        """The one line that says why the run stopped, what was made and what is kept (``kept``: a panel's
        judgments, all judges together; by default this judge's)."""
        return self._breaker.unavailable(
            self._sent, self._kept if kept is None else kept, self.cache is not None
        )

    def key(self, messages: Sequence[Message], job: Job) -> str:
        return request_key(self._identity, messages, job.params, job.sample)

    def _read(self, job: Job, completion: Completion) -> Reading:
        """The completion parsed with its reasoning set apart (see :mod:`judgekit.rubric.reasoning`)."""
        plan = job.plan
        return read_completion(
            completion, self.rubric, plan.slots, plan.untrusted, self._tags, job.params.max_tokens
        )

    def account(self, c: Completion) -> None:
        """Add what an answer cost to this judge's totals: every answer, live or from a batch, comes here."""
        self.stats.prompt_tokens += c.prompt_tokens
        self.stats.completion_tokens += c.completion_tokens
        self.stats.reasoning_tokens += c.reasoning_tokens
        if c.cost_usd is not None:
            self.stats.cost_usd += c.cost_usd

    def _limit_changed(self, old: int, new: int, why: str) -> None:
        """The limiter's report of one change of the concurrency limit: counted here, once."""
        self.stats.concurrency_changes.append({"t": time.time(), "from": old, "to": new, "why": why})

    def _finish(self, result: JobResult) -> JobResult:
        self.stats.finished += 1
        if result.ok:
            self._kept += 1
        if self._on_done is not None:
            self._on_done(result)
        return result

    def unscored(self, job: Job, reason: str) -> JobResult:
        """A judgment given up without a call (a request a batch did not answer, with no live fallback)."""
        return self._finish(JobResult(job, False, reason=reason))

    async def run(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Judge every job; returns results in job order. Cached, parseable answers cost no task at all.

        Raises JudgeUnavailable when the judge cannot judge; the workers are cancelled and awaited first, so
        nothing keeps calling and no task is left with an unretrieved exception."""
        results: list[JobResult | None] = [None] * len(jobs)
        first_keys = [self.key(job.plan.messages, job) for job in jobs]
        pending, stale = self._from_cache_all(jobs, first_keys, results)
        if pending:
            self._limiter = AdaptiveLimiter(
                self.settings.concurrency, adaptive=self.settings.adaptive, on_change=self._limit_changed
            )

            async def worker() -> None:
                with contextlib.suppress(_Halted):
                    while pending and self._breaker.stop is None and not self._closing:
                        i = pending.popleft()
                        result = await self._run_job(jobs[i], first_keys[i], stale.pop(i, None))
                        results[i] = self._finish(result)

            self._breaker.arm(len(pending))
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
            self._breaker.settle()
            if self._breaker.stop is not None:
                raise self.unavailable()
        return [r for r in results if r is not None]

    def _from_cache_all(
        self, jobs: Sequence[Job], keys: list[str], results: list[JobResult | None]
    ) -> tuple[deque[int], dict[int, Completion]]:
        """Fill ``results`` with every judgment the cache answers, reading it in chunks (so a 100,000-judgment
        rerun never holds all its cached completions at once). Returns the jobs left to run, and the cached
        answers among them that no longer parse (the first turn of their conversation, to re-ask from)."""
        pending: deque[int] = deque()
        stale: dict[int, Completion] = {}
        with collector_paused():
            for start in range(0, len(jobs), _READ_CHUNK):
                chunk = range(start, min(start + _READ_CHUNK, len(jobs)))
                cached = self.cache.get_many(keys[i] for i in chunk) if self.cache is not None else {}
                for i in chunk:
                    hit = cached.get(keys[i])
                    result = self._from_cache(jobs[i], keys[i], hit) if hit is not None else None
                    if result is not None:
                        results[i] = self._finish(result)
                        continue
                    pending.append(i)
                    if hit is not None:
                        stale[i] = hit
        return pending, stale

    def _from_cache(self, job: Job, key: str, hit: Completion) -> JobResult | None:
        """A judgment straight from the cache, or ``None`` when the cached answer does not parse (or is over
        the answer cap: the run then gives it up with its reason, see :meth:`_over_cap`)."""
        if self.answer_over_cap(hit) is not None:
            return None
        reading = self._read(job, hit)
        parsed = reading.parsed
        if not parsed.ok:
            return None
        scores, method = self.rubric.final_scores(parsed.scores, hit.logprobs)
        self.stats.cache_hits += 1
        record = CallRecord(
            key,
            0,
            "cached",
            hit.text,
            latency_s=hit.latency_s,
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
            cost_usd=hit.cost_usd,
            reasoning=reading.reasoning,
            reasoning_tokens=hit.reasoning_tokens,
        )
        return JobResult(
            job, True, parsed.verdicts, scores, calls=[record], logprobs=hit.logprobs, method=method
        )

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
            if self._breaker.stop is None:
                self._breaker.check(time.monotonic())
                self._breaker.waiting(time.monotonic(), limiter.in_flight, self.timeout)
            if self._breaker.stop is not None:
                deadline = time.monotonic() + STOP_GRACE_S
                while limiter.in_flight > 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                return

    async def _run_job(
        self, job: Job, first_key: str, first_hit: Completion | None, fresh: bool = False
    ) -> JobResult:
        """One conversation: the cached answers, then calls from the first turn the cache lacks. A cached
        conversation that ends unparseable is a failed outcome, never reused: the unit is asked again
        (``fresh``: every turn a call)."""
        messages: list[Message] = list(job.plan.messages)
        calls: list[CallRecord] = []
        parsed: ParseResult | None = None
        for turn in range(self.settings.max_reasks + 1):
            key = first_key if turn == 0 else self.key(messages, job)
            completion = first_hit if turn == 0 else self._cached(key, fresh)
            status = "cached"
            if completion is None:
                outcome = await self._call(messages, job.params)
                if isinstance(outcome, _Failure):
                    self._failed(calls)
                    calls.append(CallRecord(key, turn, "failed", tries=outcome.tries))
                    reason = f"{outcome.kind}: {outcome.message} (gave up after {len(outcome.tries)} tries)"
                    return JobResult(job, False, reason=reason, calls=calls)
                fresh = True  # from here on, answers come from calls
                completion, tries = outcome
                status = "ok"
            else:
                self.stats.cache_hits += 1
                tries = []
            over = self._over_cap(job, calls, (key, turn, status, tries), completion)
            if over is not None:  # neither parsed, re-asked nor cached
                return over
            if status == "ok" and self.cache is not None:
                self.cache.put(key, self._identity, completion)
            reading = self._read(job, completion)
            parsed = reading.parsed
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
                    reading.reasoning,
                    completion.reasoning_tokens,
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
            if reading.truncated:  # asking again with the same budget would end the same way
                return JobResult(job, False, reason=parsed.reason, calls=calls)
            if turn < self.settings.max_reasks:
                self.stats.reasks += 1
                messages = [
                    *messages,
                    {"role": "assistant", "content": reading.answer or ""},  # the answer, not the reasoning
                    self.rubric.reask_message(parsed.reason or "unparseable"),
                ]
        assert parsed is not None
        if not fresh and self.cache is not None:  # every answer replayed from the cache: ask again
            self.stats.cache_hits -= len(calls)
            return await self._run_job(job, first_key, None, fresh=True)
        self._failed(calls)
        answers = self.settings.max_reasks + 1
        return JobResult(
            job, False, reason=f"unparseable after {answers} answers: {parsed.reason}", calls=calls
        )

    def answer_over_cap(self, completion: Completion) -> str | None:
        """Why an answer is refused for its length (over ``max_answer_chars``), or ``None`` when it is not."""
        text = completion.text
        cap = self.settings.max_answer_chars
        if text is None or len(text) <= cap:
            return None
        return (
            f"the judge's answer is {len(text):,} characters, over the limit of {cap:,} "
            "(raise it with --max-answer-chars)"
        )

    def _over_cap(
        self, job: Job, calls: list[CallRecord], call: tuple[str, int, str, list[str]], completion: Completion
    ) -> JobResult | None:
        """``None`` for an answer within the cap. Over it, the unit is unscored with the cap in its reason,
        and the call's record (the run log's copy) keeps only the answer's start, marked as cut."""
        reason = self.answer_over_cap(completion)
        if reason is None or completion.text is None:
            return None
        text = completion.text
        keep = min(self.settings.max_answer_chars, ANSWER_PREVIEW_CHARS)
        key, turn, status, tries = call
        record = CallRecord(
            key,
            turn,
            status,
            f"{text[:keep]}\n[judgekit: answer cut after {keep:,} of {len(text):,} characters]",
            reason,
            tries,
            completion.latency_s,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.cost_usd,
        )
        return JobResult(job, False, reason=reason, calls=[*calls, record])

    def _cached(self, key: str, fresh: bool) -> Completion | None:
        return self.cache.get(key) if self.cache is not None and not fresh else None

    def _failed(self, calls: list[CallRecord]) -> None:
        """Mark the answers of a unit that ends unscored as failed in the cache (they stay, for the record)."""
        if self.cache is not None and calls:
            self.cache.mark_failed(c.key for c in calls)

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
            if self._breaker.stop is not None:
                raise _Halted
            generation = await limiter.acquire()
            started = time.monotonic()
            try:
                if self._breaker.stop is not None:
                    raise _Halted
                self._sent += 1
                # asyncio.timeout, not wait_for: no task per call, and a cancellation is never swallowed
                async with asyncio.timeout(self.timeout):
                    completion = await self.judge.complete(messages, params)
            except TransientError as err:
                error = err
            except TimeoutError:
                error = TransientError("timeout", f"no answer within {self.timeout:g} s")
            except CallFailed as err:
                self.stats.calls += 1
                tries.append(f"call_failed: {err}")
                self._breaker.permanent_failure(str(err))
                return _Failure("call_failed", str(err), tries)
            except JudgeDown as err:
                self.stats.calls += 1
                self._breaker.went_down(err)
                raise _Halted from None
            except _Halted:
                raise
            except Exception as err:  # a user's judge raising anything else: not retried, not hidden
                self.stats.calls += 1
                tries.append(f"judge_error: {type(err).__name__}: {err}")
                self._breaker.permanent_failure(f"{type(err).__name__}: {err}")
                return _Failure("judge_error", f"{type(err).__name__}: {err}", tries)
            else:
                self.stats.calls += 1
                self._breaker.answer_arrived()
                limiter.on_success()
                self.account(completion)
                return completion, tries
            finally:
                limiter.release()
            self.stats.calls += 1
            tries.append(f"{error.kind}: {error}")
            self._breaker.transient_failure(error, started)
            if error.kind == "rate_limit":
                limiter.on_rate_limit(generation)
            if attempt == self.settings.max_retries:
                break
            if self._breaker.stop is not None:
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
