"""``score --batch``: judge through the provider's batch API, then let the engine finish from the cache.

1. The run's requests that the cache cannot answer are the batch's lines (one per cache key).
2. Batches already submitted for those keys and still open in the cache's ``batches`` table (an earlier,
   interrupted run) are polled again; only the keys no open batch covers are submitted, in new batches.
3. Every batch is polled until it ends; its answers go into the cache as live answers do, and the batch
   is closed in the table only after that.
4. The engine then runs every job as usual: the batch's answers are cache hits, parsed and scored exactly
   as live ones; a re-ask after an unparseable answer is a live call. Lines the batch did not answer (failed
   lines, an expired, failed or cancelled batch) are judged live (``fallback="live"``: the engine's retries,
   limiter and breaker) or left unscored with their reason (``fallback="unscored"``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from judgekit.errors import JudgeError, JudgeUnavailable
from judgekit.judges.base import CallFailed, TransientError
from judgekit.run.batch.api import BatchState, BatchTarget
from judgekit.run.batch.settings import BatchSettings
from judgekit.run.batch.store import BatchRecord, BatchStore
from judgekit.run.cache import Cache
from judgekit.run.engine import Engine
from judgekit.run.jobs import Job, JobResult

log = logging.getLogger("judgekit")

Status = Callable[[str], None]
CREATE_GRACE_S = 10.0  # a stop during batch creation waits this long for the batch's id, to record it


class BatchRun:
    """Judges one engine's jobs through ``target``'s batch API; ``summary`` says what it did (for meta)."""

    def __init__(self, target: BatchTarget, settings: BatchSettings, cache: Cache) -> None:
        self.target = target
        self.settings = settings
        self.cache = cache
        self.summary: dict[str, Any] = {"fallback": settings.fallback, "batches": []}
        self._answered: set[str] = set()
        self._failures: dict[str, str] = {}

    async def run(self, engine: Engine, jobs: Sequence[Job], status: Status) -> list[JobResult]:
        """The engine's results for ``jobs``, the batch's answers among them; ``status`` gets the progress line."""
        identity = self.target.identity
        if engine.judge.identity != identity:  # the batch's answers must be this judge's cache hits
            raise JudgeError(f"--batch: judge {engine.judge.identity} is not {identity}")
        keys = [engine.key(job.plan.messages, job) for job in jobs]
        cached = self.cache.get_many(keys)
        wanted = {key: job for key, job in zip(keys, jobs, strict=True) if key not in cached}
        if wanted:
            store = BatchStore(self.cache.path)
            try:
                opened = store.open_batches(identity)
                records = [r for r in opened if not wanted.keys().isdisjoint(r.keys)]
                for r in records:
                    log.warning(
                        "judgekit: resuming batch %s (%d requests) submitted by an earlier run",
                        r.batch_id,
                        len(r.keys),
                    )
                covered = {k for r in records for k in r.keys}
                fresh = {k: job for k, job in wanted.items() if k not in covered}
                records += await self._submit(fresh, store, engine)
                await self._poll(records, store, engine, status)
            finally:
                store.close()
        return await self._finish(engine, jobs, keys)

    # ---- submitting

    async def _submit(self, fresh: dict[str, Job], store: BatchStore, engine: Engine) -> list[BatchRecord]:
        """Upload and create batches for ``fresh`` (split at the provider's size limits); each is recorded in
        the store the moment the provider accepts it."""
        records: list[BatchRecord] = []
        for chunk in self._chunks(fresh):
            data = b"".join(line for _key, line in chunk)
            file_id = await self._retrying(engine, "upload the batch input", self.target.upload, data)
            state, stopping = await self._create(engine, file_id)
            record = BatchRecord(
                batch_id=state.id,
                judge=self.target.identity,
                input_file_id=file_id,
                keys=[key for key, _line in chunk],
                created=time.time(),
            )
            store.add(record)
            records.append(record)
            log.warning(
                "judgekit: submitted batch %s (%d requests); polling every %g s (if stopped, rerun the same "
                "command: it resumes this batch, none is paid for twice)",
                state.id,
                len(record.keys),
                self.settings.poll,
            )
            if stopping:
                raise asyncio.CancelledError
        return records

    async def _create(self, engine: Engine, file_id: str) -> tuple[BatchState, bool]:
        """Create the batch; True if the run is stopping. A stop (Ctrl-C, SIGTERM) while the provider creates
        it waits a moment for the batch's id, so that it is recorded and resumed by a rerun, not paid twice."""
        meta = {"created_by": "judgekit"}
        task = asyncio.ensure_future(
            self._retrying(engine, "create the batch", self.target.create, file_id, meta)
        )
        try:
            return await asyncio.shield(task), False
        except asyncio.CancelledError:
            try:
                return await asyncio.wait_for(task, CREATE_GRACE_S), True
            except Exception:
                raise asyncio.CancelledError from None

    def _chunks(self, fresh: dict[str, Job]) -> list[list[tuple[str, bytes]]]:
        chunks: list[list[tuple[str, bytes]]] = []
        size = 0
        for key, job in fresh.items():
            line = self.target.line(key, list(job.plan.messages), job.params)
            if (
                not chunks
                or len(chunks[-1]) >= self.settings.max_lines
                or size + len(line) > self.settings.max_bytes
            ):
                chunks.append([])
                size = 0
            chunks[-1].append((key, line))
            size += len(line)
        return chunks

    async def _retrying(self, engine: Engine, what: str, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` with the engine's retries and backoff on transient failures; a refusal, or
        failures past the retries, stop the run (exit 3) before anything was paid for."""
        settings = engine.settings
        for attempt in range(settings.max_retries + 1):
            try:
                return await call(*args)
            except CallFailed as err:
                raise JudgeUnavailable(f"{self.target.identity}: could not {what}: {err}") from None
            except TransientError as err:
                if attempt == settings.max_retries:
                    raise JudgeUnavailable(
                        f"{self.target.identity}: could not {what} ({err}; gave up after {attempt + 1} tries)"
                    ) from None
                await asyncio.sleep(min(settings.backoff_max, settings.backoff_base * 2**attempt))
        raise AssertionError("unreachable")

    # ---- polling

    async def _poll(
        self, records: list[BatchRecord], store: BatchStore, engine: Engine, status: Status
    ) -> None:
        """Poll every batch until it ends, storing each one's answers as it ends; progress through ``status``."""
        pending = {r.batch_id: r for r in records}
        states: dict[str, BatchState] = {}
        misses = 0
        try:
            while pending:
                for batch_id, record in list(pending.items()):
                    try:
                        state = await self.target.retrieve(batch_id)
                        if state.done:
                            await self._collect(state, record, store, engine)
                    except TransientError as err:
                        misses += 1
                        if misses > engine.settings.max_retries:
                            raise JudgeUnavailable(
                                f"{self.target.identity}: cannot poll batch {batch_id} ({err}; gave up after "
                                f"{misses} tries); it stays recorded: rerun to resume polling it"
                            ) from None
                        continue
                    except CallFailed as err:  # the provider no longer knows it: its requests fall back
                        state = BatchState(id=batch_id, status="lost", errors=str(err))
                        self._lose(record, store, err)
                    misses = 0
                    states[batch_id] = state
                    if state.done or state.status == "lost":
                        del pending[batch_id]
                status(_progress(states))
                if pending:
                    await asyncio.sleep(self.settings.poll)
        except asyncio.CancelledError:
            log.warning(
                "judgekit: batch(es) %s still running at the provider; rerun the same command to resume "
                "polling (no batch is submitted twice)",
                ", ".join(pending),
            )
            raise
        finally:
            self.summary["batches"] = [s.model_dump(exclude_none=True) for s in states.values()]

    async def _collect(
        self, state: BatchState, record: BatchRecord, store: BatchStore, engine: Engine
    ) -> None:
        """An ended batch: its answers into the cache (committed), then the batch closed in the store."""
        answers, failures = await self.target.results(state, record.keys)
        for key, completion in list(answers.items()):
            engine.account(completion)  # the run's totals include what its batches answered
            over = engine.answer_over_cap(completion)
            if over is not None:  # never cached: the request counts as unanswered, with the cap as reason
                failures[key] = over
                del answers[key]
                continue
            self.cache.put(key, self.target.identity, completion)
        self.cache.flush()
        store.close_batch(record.batch_id, state.status)
        self._answered.update(answers)
        self._failures.update(failures)
        log.warning(
            "judgekit: batch %s %s: %d answered, %d without an answer%s",
            state.id,
            state.status,
            len(answers),
            len(failures),
            f" ({'judged live' if self.settings.fallback == 'live' else 'left unscored'})"
            if failures
            else "",
        )

    def _lose(self, record: BatchRecord, store: BatchStore, err: Exception) -> None:
        store.close_batch(record.batch_id, "lost")
        reason = f"batch lost: the provider no longer knows batch {record.batch_id} ({err})"
        self._failures.update(dict.fromkeys(record.keys, reason))
        log.warning("judgekit: %s", reason)

    # ---- finishing

    async def _finish(self, engine: Engine, jobs: Sequence[Job], keys: list[str]) -> list[JobResult]:
        """Run the engine over every job (the batch's answers are cache hits); with ``fallback="unscored"``,
        the requests the batch did not answer are given up with their reason instead of called live."""
        failed = {k: r for k, r in self._failures.items() if k not in self._answered}
        self.summary.update(answered=len(self._answered), unanswered=len(failed))
        if self.settings.fallback == "live" or not failed:
            return await engine.run(jobs)
        results: list[JobResult | None] = [None] * len(jobs)
        live = [i for i, key in enumerate(keys) if key not in failed]
        for i, key in enumerate(keys):
            if key in failed:
                results[i] = engine.unscored(jobs[i], failed[key])
        for i, result in zip(live, await engine.run([jobs[i] for i in live]), strict=True):
            results[i] = result
        return [r for r in results if r is not None]


def _progress(states: dict[str, BatchState]) -> str:
    """``batch ID in_progress: 40/100 done, 2 failed`` (several batches: their statuses and summed counts)."""
    if not states:
        return ""
    total = sum(s.total for s in states.values())
    done = sum(s.completed for s in states.values())
    failed = sum(s.failed for s in states.values())
    if len(states) == 1:
        (s,) = states.values()
        head = f"batch {s.id} {s.status}"
    else:
        counts: dict[str, int] = {}
        for s in states.values():
            counts[s.status] = counts.get(s.status, 0) + 1
        head = f"{len(states)} batches (" + ", ".join(f"{n} {st}" for st, n in counts.items()) + ")"
    return f"{head}: {done}/{total} done, {failed} failed"
