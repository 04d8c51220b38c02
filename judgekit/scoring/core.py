"""``score()``: dataset + responses + rubric + judge -> a score file you can trust, and a run log beside it.

The steps, in order: load the inputs, plan the jobs, open the judges, run their engines, aggregate, build the
score file once, write it. What goes into ``meta`` is :mod:`judgekit.scoring.provenance`'s, redaction is
:mod:`judgekit.scoring.redact`'s, and the panel's and the lexical metrics' parts of the file come from
:mod:`judgekit.scoring.panel` and :mod:`judgekit.scoring.lexical`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from judgekit._lazy import warm_imports
from judgekit.data import Item
from judgekit.errors import (
    ConfigError,
    CoverageTooLow,
    DeadlineReached,
    Interrupted,
    JudgeError,
    JudgeUnavailable,
    SaveFailed,
    Terminated,
)
from judgekit.io import atomic_write_text, check_no_overwrite, check_writable
from judgekit.judges.base import JudgeParams
from judgekit.judges.panel_spec import JudgeSpec as JudgeSpec
from judgekit.judges.panel_spec import PanelJudge, judge_options
from judgekit.judges.panel_spec import check_distinct as _check_distinct
from judgekit.judges.panel_spec import judge_list as judge_list
from judgekit.judges.providers import LOCAL_CONCURRENCY as LOCAL_CONCURRENCY
from judgekit.judges.providers import POOL_THRESHOLD as POOL_THRESHOLD
from judgekit.judges.registry import check_reasoning_effort
from judgekit.judges.registry import open_judge as open_judge
from judgekit.results import Coverage, QuestionResult, ScoreFile, Totals, Unscored
from judgekit.rubric import Rubric
from judgekit.rubric.reasoning import truncation_note
from judgekit.run import interrupts
from judgekit.run._gc import collector_paused, run_scope
from judgekit.run.batch.api import batch_target
from judgekit.run.batch.run import BatchRun
from judgekit.run.cache import Cache
from judgekit.run.engine import Engine
from judgekit.run.jobs import Job, JobResult
from judgekit.run.runlog import RunLog, default_log_path
from judgekit.scoring.aggregate import aggregate_details, aspect_results, file_summaries
from judgekit.scoring.inputs import RunInputs
from judgekit.scoring.inputs import load_inputs as load_inputs
from judgekit.scoring.lexical import LexicalInputs, lexical_inputs, lexical_section
from judgekit.scoring.panel import combine_judges, panel_section, self_consistency
from judgekit.scoring.provenance import finish_meta, start_meta
from judgekit.scoring.redact import redact, run_secrets
from judgekit.scoring.settings import ScoreSettings as ScoreSettings

_default_log_path = default_log_path  # the CLI's name for it
_P = ParamSpec("_P")
_T = TypeVar("_T")


def plan_jobs(
    rubric: Rubric, items: Sequence[Item], responses: dict[str, Any], settings: ScoreSettings
) -> list[Job]:
    jobs: list[Job] = []
    by_schema: dict[
        int, tuple[dict[str, Any] | None, JudgeParams]
    ] = {}  # one params object per schema object
    for item in items:
        for plan in rubric.plan(item, responses[item.id], settings.mode):
            known = by_schema.get(id(plan.schema))
            if known is not None and known[0] is plan.schema:
                params = known[1]
            else:
                weighted = rubric.spec.score_method == "logprob_weighted"
                params = JudgeParams(
                    temperature=settings.temperature,
                    max_tokens=settings.max_tokens,
                    seed=settings.seed,
                    schema=plan.schema,
                    logprobs=weighted,
                    top_logprobs=rubric.spec.top_logprobs if weighted else None,
                    reasoning_effort=settings.reasoning_effort,
                )
                by_schema[id(plan.schema)] = (plan.schema, params)
            jobs.extend(Job(plan, sample, params) for sample in range(settings.samples))
    return jobs


@dataclass
class _JudgeRun:
    identity: str
    engine: Engine
    results: list[JobResult] = field(default_factory=list)


@dataclass
class _Run:
    """One scoring run in progress: what its steps share."""

    rubric: Rubric
    settings: ScoreSettings
    specs: list[JudgeSpec]
    jobs: list[Job]
    input_files: dict[str, str | Path]
    secrets: list[str]
    cache: Cache | None
    started: float  # time.perf_counter() at the start
    started_at: str
    judges: list[_JudgeRun] = field(default_factory=list)
    log: RunLog | None = None
    batch: BatchRun | None = None  # --batch: the judge's calls go through its batch API

    def clean(self, text: str) -> str:
        return redact(text, self.secrets)

    def end_log(self, status: str, error: str | None = None, result: ScoreFile | None = None) -> None:
        """Close the run log with its summary row: how the run ended, and the totals so far."""
        if self.log is not None:
            self.log.end(status, result.totals if result else self.totals(), error, result)

    def totals(self) -> Totals:
        return Totals.of([r.engine.stats for r in self.judges], time.perf_counter() - self.started)


async def ascore(
    dataset: str | Path,
    responses: str | Path | None = None,
    *,
    responses_a: str | Path | None = None,
    responses_b: str | Path | None = None,
    judge: JudgeSpec | Sequence[JudgeSpec] = "local",
    settings: ScoreSettings | None = None,
    out: str | Path | None = None,
    log_path: str | Path | None = None,
    cache: str | Path | bool = True,
    references: str | Path | None = None,
    reference_field: str | None = None,
    metrics: Sequence[str] | None = None,
    progress: bool = False,
    command: str | None = None,
) -> ScoreFile:
    """Async form of :func:`score`, for callers that already run an event loop. ``command`` is recorded in
    ``meta.command`` (the CLI passes the command line that reproduces the run)."""
    interrupts.watch(asyncio.current_task())  # SIGTERM (with the CLI's handler) cancels this run like Ctrl-C
    with run_scope():
        inputs = RunInputs.of(
            dataset=dataset, responses=responses, responses_a=responses_a, responses_b=responses_b,
            judge=judge, settings=settings, cache=cache,
        )  # fmt: skip
        settings = inputs.settings
        started = time.perf_counter()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        rubric = inputs.rubric()
        specs = inputs.specs()
        check_reasoning_effort(specs, settings.reasoning_effort)
        cache_path = inputs.cache_path()
        target = batch_target(specs, settings.judge) if settings.batch is not None else None
        if target is not None and cache_path is None:
            raise ConfigError("--batch keeps its answers and batch ids in the cache: drop --no-cache")
        with collector_paused():
            items, answers, input_files = inputs.load(rubric)
            out_path = Path(out) if out is not None else None
            if out_path is not None:
                check_writable(out_path)
            jobs = plan_jobs(rubric, items, answers, settings)
        lexical = lexical_inputs(rubric, references, reference_field, answers, metrics)
        secrets = run_secrets(settings.judge, specs)
        log_file = None
        if out_path is not None:
            log_file = Path(log_path) if log_path is not None else default_log_path(out_path)
        check_no_overwrite(input_files.items(), [("out", out_path), ("log", log_file), ("cache", cache_path)])
        cache_obj = Cache(cache_path) if cache_path is not None else None
        run = _Run(rubric, settings, specs, jobs, input_files, secrets, cache_obj, started, started_at)
        del jobs  # the run holds them, until they are judged
        if target is not None and settings.batch is not None and cache_obj is not None:
            run.batch = BatchRun(target, settings.batch, cache_obj)
        meta = await _judge(run, log_file, progress, command)
        with collector_paused():
            result, failure = _score_file(run, items, meta, lexical)
            return _write(run, result, failure, out_path)


def _open_engine(stack: contextlib.AsyncExitStack, spec: JudgeSpec, run: _Run, bar: Any) -> _JudgeRun:
    """Open one judge (its server or worker processes stop with ``stack``) and the engine that runs it."""
    settings, jobs = run.settings, run.jobs
    wants_logprobs = any(job.params.logprobs for job in jobs)
    opened = stack.enter_context(open_judge(spec, settings.judge, len(jobs), wants_logprobs))
    # each backend declares how many calls it takes at once (the local server: 2)
    judge_obj, engine_settings = opened.judge, opened.engine_settings(settings.engine)
    aclose = getattr(judge_obj, "aclose", None)
    if aclose is not None:  # a judge with an async resource (the lean client's HTTP session) closes it here
        stack.push_async_callback(aclose)

    def on_done(result: JobResult, who: str = judge_obj.identity) -> None:
        bar.update(1)
        if run.log is not None:
            run.log.judgment(who, result)

    engine = Engine(
        judge_obj,
        run.rubric,
        engine_settings,
        run.cache,
        on_done=on_done,
        on_state=lambda state: bar.set_postfix_str(state or "", refresh=True),
        timeout=judge_options(spec, settings.judge).timeout,
    )
    return _JudgeRun(judge_obj.identity, engine)


async def _judge(run: _Run, log_file: Path | None, progress: bool, command: str | None) -> dict[str, Any]:
    """Open the judges, write the run log's header and run every judge's engine; returns the run's meta.

    However this ends, the run log gets its summary row and the cache is closed; a judge that cannot judge,
    Ctrl-C and SIGTERM leave as one line without secrets."""
    bar = _progress_bar(len(run.jobs) * len(run.specs), progress)
    limit = _deadline(run)
    try:
        async with limit, contextlib.AsyncExitStack() as stack:
            for spec in run.specs:
                run.judges.append(_open_engine(stack, spec, run, bar))
            _check_distinct([r.identity for r in run.judges])
            identities = [run.clean(r.identity) for r in run.judges]
            cache_path = run.cache.path if run.cache is not None else None
            meta = start_meta(
                run.rubric,
                run.settings,
                identities,
                run.input_files,
                len(run.jobs),
                cache_path,
                run.started_at,
                log_file,
            )
            if command is not None:
                meta["command"] = run.clean(command)
            if log_file is not None:
                run.log = RunLog(log_file, run.clean)
                run.log.header(meta)
            # the score file's statistics (numpy) load while the calls are in flight, not after them
            warm_imports("judgekit.stats.paired", "judgekit.stats.resampling")
            if run.batch is not None:
                status = functools.partial(bar.set_postfix_str, refresh=True)
                outcomes = [await run.batch.run(run.judges[0].engine, run.jobs, status)]
                meta["batch"] = run.batch.summary
            else:
                outcomes = await _run_engines([r.engine for r in run.judges], run.jobs)
            for judge_run, results in zip(run.judges, outcomes, strict=True):
                judge_run.results = results
    except JudgeError as err:  # the engine gave up on a judge that cannot answer: say why, without secrets
        stopped = type(err)(run.clean(str(err)))
        run.end_log("stopped", error=str(stopped))
        raise stopped from None
    except (KeyboardInterrupt, asyncio.CancelledError, TimeoutError) as err:
        if isinstance(err, TimeoutError) and not limit.expired():
            run.end_log("error", str(err))
            raise
        interrupted = _interrupted(run, isinstance(err, TimeoutError))
        run.end_log("interrupted", error=str(interrupted))
        if isinstance(err, asyncio.CancelledError):  # a cancellation stays one (asyncio.timeout, task groups)
            interrupts.attach_stop(err, interrupted)
            raise
        raise interrupted from None
    except BaseException as err:
        run.end_log("interrupted" if isinstance(err, Interrupted) else "error", str(err))
        raise
    finally:
        bar.close()
        if run.cache is not None:
            _close_cache(run, run.cache)
    return meta


def _close_cache(run: _Run, cache: Cache) -> None:
    """Close the cache; answers it could not save fail the run (SaveFailed), whatever else ended it."""
    try:
        cache.close()
    except SaveFailed as err:
        with contextlib.suppress(SaveFailed):
            run.end_log("error", str(err))
        raise


def _deadline(run: _Run) -> asyncio.Timeout:
    """The judging's time limit: ``settings.deadline`` seconds from the start of the run (none without it)."""
    if run.settings.deadline is None:
        return asyncio.timeout_at(None)
    left = run.settings.deadline - (time.perf_counter() - run.started)
    return asyncio.timeout_at(asyncio.get_running_loop().time() + left)


def _interrupted(run: _Run, deadline: bool = False) -> Interrupted:
    """Ctrl-C, SIGTERM or the deadline: how far the run got and where its finished judgments are."""
    done = sum(r.engine.stats.finished for r in run.judges)
    kept = sum(r.engine.kept for r in run.judges)  # finished with a score: only those are cached
    if run.cache is None:
        where = f"{kept} scored judgment(s) lost (the cache is off)"
    elif kept:
        where = f"{kept} scored and saved in the cache ({run.cache.path})"
    else:
        where = f"none scored, so nothing is saved in the cache ({run.cache.path})"
    stop, how = (
        (Terminated, "terminated (SIGTERM)") if interrupts.terminated() else (Interrupted, "interrupted")
    )
    if deadline:
        stop, how = DeadlineReached, f"stopped at --deadline {run.settings.deadline:g} s"
    return stop(
        f"{how} after {done} of {len(run.jobs) * len(run.specs)} judgments; {where}; "
        "rerun the same command to resume"
    )


async def _run_engines(engines: Sequence[Engine], jobs: Sequence[Job]) -> list[list[JobResult]]:
    """Run every judge at once; when one judge cannot judge, stop the others and wait for them, so no task
    keeps calling or dies later with an exception nobody retrieves."""
    tasks = [asyncio.create_task(engine.run(jobs)) for engine in engines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for engine, task in zip(engines, tasks, strict=True):
        error = None if task.cancelled() else task.exception()
        if isinstance(error, JudgeUnavailable) and len(engines) > 1:  # what the whole panel made is kept
            raise engine.unavailable(sum(e.kept for e in engines)) from None
        if error is not None:
            raise error
    return [task.result() for task in tasks]


def _score_file(
    run: _Run, items: Sequence[Item], meta: dict[str, Any], lexical: LexicalInputs | None
) -> tuple[ScoreFile, str | None]:
    """Every judge's results -> the score file, built once with all its parts; and why it failed, if it did."""
    settings, spec = run.settings, run.rubric.spec
    per_judge = {r.identity: aspect_results(r.results, settings.combine) for r in run.judges}
    methods = Counter(r.method for judge_run in run.judges for r in judge_run.results if r.ok)
    # The judgments and their rendered prompts are all in per_judge now: let them go before the file is
    # built (a third of a 100,000-judgment run's peak memory).
    run.jobs = []
    for judge_run in run.judges:
        judge_run.results = []
    if len(run.judges) == 1:
        by_item = per_judge[run.judges[0].identity]
    else:
        by_item = combine_judges(per_judge, settings.combine)
    overall, questions, coverage, unscored = aggregate_details(spec, items, by_item)
    summaries = file_summaries(spec, items, questions, settings.bootstrap, settings.bootstrap_seed)
    panel = None
    if len(run.judges) > 1:
        names = [s.name if isinstance(s, PanelJudge) else None for s in run.specs]
        panel = panel_section(
            spec,
            items,
            questions,
            per_judge,
            names,
            settings.combine,
            settings.bootstrap,
            settings.bootstrap_seed,
            run.clean,
        )
    consistency = self_consistency(per_judge, settings.samples, run.clean) if settings.samples > 1 else None
    totals = run.totals()
    meta = finish_meta(
        meta,
        [(run.clean(r.identity), r.engine.stats) for r in run.judges],
        methods,
    )
    _redact_reasons(questions, unscored, run.clean)
    failure = _coverage_failure(coverage, settings.min_coverage)
    result = ScoreFile(
        score=overall,
        per_question_scores=questions,
        coverage=coverage,
        unscored=unscored,
        totals=totals,
        lexical=lexical_section(lexical, questions) if lexical is not None else None,
        meta=meta,
        panel=panel,
        consistency=consistency,
        status="failed" if failure else "ok",
        **({"failure": failure} if failure else {}),
        **summaries,
    )
    return result, failure


def _redact_reasons(
    questions: Sequence[QuestionResult], unscored: Sequence[Unscored], clean: Callable[[str], str]
) -> None:
    for u in unscored:
        u.reason = clean(u.reason)
    for q in questions:
        for a in q.details:
            if a.reason:
                a.reason = clean(a.reason)


def _coverage_failure(coverage: Coverage, min_coverage: float) -> str | None:
    if coverage.ratio < min_coverage:
        return f"coverage {coverage.scored}/{coverage.total} below --min-coverage {min_coverage:g}"
    return None


def _write(run: _Run, result: ScoreFile, failure: str | None, out_path: Path | None) -> ScoreFile:
    """Write the score file and end the run log; a run below --min-coverage then fails (CoverageTooLow)."""
    if out_path is not None:
        try:  # the same text as model_dump_json(indent=2), kept as bytes: no second copy of a large file
            atomic_write_text(out_path, result.__pydantic_serializer__.to_json(result, indent=2), b"\n")
        except BaseException as err:  # every ending closes the log with its summary row
            run.end_log("error", str(err))
            raise
    run.end_log("failed" if failure else "ok", failure, result)
    if failure:
        why = Counter(u.reason.split(":")[0] for u in result.unscored).most_common(3)
        raise CoverageTooLow(
            failure
            + (" (unscored: " + ", ".join(f"{n} x {r}" for r, n in why) + ")" if why else "")
            + (f"; {note}" if (note := truncation_note(u.reason for u in result.unscored)) else "")
            + (f"; the score file says so: {out_path}" if out_path is not None else ""),
            score_file=result,
        )
    return result


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="judging",
        unit="judgment",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.2,
    )


def _blocking(fn: Callable[_P, Coroutine[Any, Any, _T]], name: str, doc: str) -> Callable[_P, _T]:
    """The blocking form of the coroutine function ``fn``, with ``fn``'s parameters (one signature for both
    forms; ``help()`` and ``inspect.signature`` show them), run in an event loop of its own."""

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return interrupts.run_blocking(lambda: fn(*args, **kwargs))

    functools.update_wrapper(run, fn)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run


score = _blocking(
    ascore,
    "score",
    """Score ``responses`` to ``dataset`` with ``judge`` and a rubric; write ``out`` (and its run log) if given.

    ``judge`` is a litellm model string (``openai/gpt-4o-mini``), ``local`` / ``local:/path/model.gguf``
    (a llama.cpp server started for the run), ``module:attribute``, or any object with
    ``identity`` and ``async complete(messages, params)``; a list of them is a panel: each judge scores every
    unit independently and ``settings.combine`` (mean, median, majority) combines them.

    Pair rubrics (``pairwise``) take ``responses_a`` and ``responses_b`` instead of ``responses``, or a
    dataset that holds both responses (LLMBar, AlpacaEval or MT-Bench layout). :func:`ascore` is the same
    for callers that already run an event loop.
    """,
)
