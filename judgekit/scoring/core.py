"""``score()``: dataset + responses + rubric + judge -> a score file you can trust, and a run log beside it.

The steps, in order: load the inputs, plan the jobs, open the judges, run their engines, aggregate, build the
score file once, write it. What goes into ``meta`` is :mod:`judgekit.scoring.provenance`'s, redaction is
:mod:`judgekit.scoring.redact`'s, and the panel's and the lexical metrics' parts of the file come from
:mod:`judgekit.scoring.panel` and :mod:`judgekit.scoring.lexical`.

One owner for what a run opens: ``ascore``'s exit stack opens and closes the cache, the judges and the run
log, and however the run ends (finished, below --min-coverage, a judge that cannot judge, Ctrl-C, SIGTERM,
--deadline, a score file that cannot be built or written, a cache that cannot be closed), ``_ending`` writes
the log's one summary row.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
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
    Terminated,
)
from judgekit.io import atomic_write_text, check_no_overwrite, check_writable
from judgekit.judges.base import JudgeParams
from judgekit.judges.panel_spec import JudgeSpec, PanelJudge, judge_options
from judgekit.judges.panel_spec import check_distinct as _check_distinct
from judgekit.judges.registry import check_reasoning_effort, open_judge
from judgekit.results import Coverage, ScoreFile, Totals
from judgekit.rubric import Rubric
from judgekit.rubric.reasoning import truncation_note
from judgekit.run import interrupts
from judgekit.run._gc import collector_paused, run_scope
from judgekit.run.batch.api import batch_target
from judgekit.run.batch.run import BatchRun
from judgekit.run.cache import Cache
from judgekit.run.engine import Engine, EngineSettings
from judgekit.run.jobs import Job, JobResult
from judgekit.run.runlog import RunLog, default_log_path
from judgekit.scoring.aggregate import aggregate_details, aspect_results, file_summaries, merge_extras
from judgekit.scoring.inputs import RunInputs
from judgekit.scoring.lexical import (
    LexicalInputs,
    lexical_inputs,
    lexical_report,
    lexical_section,
    question_figures,
)
from judgekit.scoring.panel import ByItem, PanelPart, combine_judges, panel_section, self_consistency
from judgekit.scoring.provenance import finish_meta, start_meta
from judgekit.scoring.redact import run_secrets
from judgekit.scoring.settings import ScoreSettings
from judgekit.scrub import redact

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
    result: ScoreFile | None = None  # the score file, once written
    failure: str | None = None  # why it failed (below --min-coverage), if it did
    planned: int = field(init=False)  # judgments planned (the jobs are let go before the score file is built)

    def __post_init__(self) -> None:
        self.planned = len(self.jobs) * len(self.specs)

    def clean(self, text: str) -> str:
        return redact(text, self.secrets)

    def end_log(self, status: str, error: str | None = None, result: ScoreFile | None = None) -> None:
        """Close the run log with its summary row: how the run ended, and the totals so far. Only the first
        call writes one: a log has one summary row, however the run ended."""
        log, self.log = self.log, None
        if log is not None:
            log.end(status, result.totals if result else self.totals(), error, result)

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
    with interrupts.watching(), run_scope():  # the CLI's SIGTERM handler cancels every run going on
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
        run = _Run(rubric, settings, specs, jobs, input_files, secrets, None, started, started_at)
        del jobs  # the run holds them, until they are judged
        limit = _deadline(run)
        # The run's one owner: the cache, the judges and the run log are opened on this stack and closed by
        # it, and however the run ends (the score file written or not), the log gets its one summary row.
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(_ending(run, limit))
            judging = await stack.enter_async_context(contextlib.AsyncExitStack())
            if cache_path is not None:
                run.cache = Cache(cache_path)
                judging.callback(run.cache.close)  # last out: answers it could not save fail the run
                if target is not None and settings.batch is not None:
                    run.batch = BatchRun(target, settings.batch, run.cache)
            await judging.enter_async_context(limit)
            meta = await _judge(run, judging, log_file, progress, command)
            await judging.aclose()  # the judges stop and the cache closes before the score file is built
            with collector_paused():
                result, failure = _score_file(run, items, meta, lexical)
                return _write(run, result, failure, out_path)


def capped_settings(settings: EngineSettings, max_concurrency: int | None) -> EngineSettings:
    """The run's engine settings with the concurrency lowered to what the judge takes (never raised)."""
    if max_concurrency is None or settings.concurrency <= max_concurrency:
        return settings
    return settings.model_copy(update={"concurrency": max_concurrency})


async def _open_engine(stack: contextlib.AsyncExitStack, spec: JudgeSpec, run: _Run, bar: Any) -> _JudgeRun:
    """Open one judge (its backend closes all it opened with ``stack``) and the engine that runs it."""
    settings, jobs = run.settings, run.jobs
    wants_logprobs = any(job.params.logprobs for job in jobs)
    opened = await stack.enter_async_context(open_judge(spec, settings.judge, len(jobs), wants_logprobs))
    # each backend declares how many calls it takes at once (the local server: 2)
    judge_obj, engine_settings = opened.judge, capped_settings(settings.engine, opened.max_concurrency)

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


async def _judge(
    run: _Run, stack: contextlib.AsyncExitStack, log_file: Path | None, progress: bool, command: str | None
) -> dict[str, Any]:
    """Open the judges on ``stack`` (``ascore``'s, which closes them), write the run log's header and run every
    judge's engine; returns the run's meta."""
    bar = _progress_bar(len(run.jobs) * len(run.specs), progress)
    stack.callback(bar.close)
    for spec in run.specs:
        run.judges.append(await _open_engine(stack, spec, run, bar))
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
        run.log = RunLog(log_file, run.clean)  # ended by ascore's _ending, with its summary row
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
    return meta


@contextlib.contextmanager
def _ending(run: _Run, limit: asyncio.Timeout) -> Iterator[None]:
    """Every ending of a run, in one place: the run log gets exactly one summary row saying how the run
    ended, and a stop leaves as one line without secrets (a judge that cannot judge, Ctrl-C, SIGTERM,
    --deadline); a cancellation stays one (``asyncio.timeout()``, task groups), carrying that line."""
    try:
        yield
    except CoverageTooLow:  # the score file is written and says so
        run.end_log("failed", run.failure, run.result)
        raise
    except BaseException as err:
        stop = _stopped(run, err, limit)
        shown = interrupts.stop_of(stop) or stop
        if isinstance(shown, JudgeError):
            status = "stopped"
        else:
            status = "interrupted" if isinstance(shown, Interrupted) else "error"
        run.end_log(status, str(shown))
        if stop is err:
            raise
        raise stop from None
    run.end_log("ok", None, run.result)


def _stopped(run: _Run, err: BaseException, limit: asyncio.Timeout) -> BaseException:
    """What a run that ended on ``err`` raises: a judge's error without secrets; Ctrl-C, SIGTERM and the
    deadline as the stop that says how far the run got (kept on a CancelledError, which stays one)."""
    if isinstance(err, JudgeError):
        return type(err)(run.clean(str(err)))
    if isinstance(err, TimeoutError) and not limit.expired():
        return err  # a timeout of the caller's own, not --deadline
    if isinstance(err, (KeyboardInterrupt, asyncio.CancelledError, TimeoutError)):
        interrupted = _interrupted(run, isinstance(err, TimeoutError))
        if isinstance(err, asyncio.CancelledError):
            interrupts.attach_stop(err, interrupted)
            return err
        return interrupted
    return err


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
    return stop(f"{how} after {done} of {run.planned} judgments; {where}; rerun the same command to resume")


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
    """Every judge's results -> the score file, built once with all its parts; and why it failed, if it did.

    Data flows forward: the units (reasons and judge identities redacted as they are built), the panel's
    per-judge figures and the lexical ones come first; each question is then built once with all of them,
    and the file once from the questions. Nothing is patched afterwards (the result models are frozen)."""
    settings, spec = run.settings, run.rubric.spec
    single = len(run.judges) == 1
    per_judge = {r.identity: aspect_results(r.results, settings.combine, run.clean) for r in run.judges}
    methods = Counter(r.method for judge_run in run.judges for r in judge_run.results if r.ok)
    # The judgments and their rendered prompts are all in per_judge now: let them go before the file is
    # built (a third of a 100,000-judgment run's peak memory).
    run.jobs = []
    for judge_run in run.judges:
        judge_run.results = []
    if single:
        by_item = per_judge[run.judges[0].identity]
    else:
        by_item = combine_judges(per_judge, settings.combine, run.clean)
    panel = None if single else _panel_part(run, items, per_judge)
    report = lexical_report(lexical) if lexical is not None else None
    extras = merge_extras(
        panel.questions if panel is not None else {}, question_figures(report) if report is not None else {}
    )
    overall, questions, coverage, unscored = aggregate_details(spec, items, by_item, extras)
    summaries = file_summaries(spec, items, questions, settings.bootstrap, settings.bootstrap_seed)
    consistency = self_consistency(per_judge, settings.samples, run.clean) if settings.samples > 1 else None
    totals = run.totals()
    meta = finish_meta(
        meta,
        [(run.clean(r.identity), r.engine.stats) for r in run.judges],
        methods,
    )
    failure = _coverage_failure(coverage, settings.min_coverage)
    result = ScoreFile(
        score=overall,
        per_question_scores=questions,
        coverage=coverage,
        unscored=unscored,
        totals=totals,
        lexical=lexical_section(report, questions) if report is not None else None,
        meta=meta,
        panel=panel.section if panel is not None else None,
        consistency=consistency,
        status="failed" if failure else "ok",
        failure=failure,
        **summaries,
    )
    return result, failure


def _panel_part(run: _Run, items: Sequence[Item], per_judge: dict[str, ByItem]) -> PanelPart:
    """The panel's section of the score file and each question's per-judge scores."""
    settings = run.settings
    names = [s.name if isinstance(s, PanelJudge) else None for s in run.specs]
    return panel_section(
        run.rubric.spec,
        items,
        per_judge,
        names,
        settings.combine,
        settings.bootstrap,
        settings.bootstrap_seed,
        run.clean,
    )


def _coverage_failure(coverage: Coverage, min_coverage: float) -> str | None:
    if coverage.ratio < min_coverage:
        return f"coverage {coverage.scored}/{coverage.total} below --min-coverage {min_coverage:g}"
    return None


def _write(run: _Run, result: ScoreFile, failure: str | None, out_path: Path | None) -> ScoreFile:
    """Write the score file (``ascore``'s _ending then writes the run log's summary row from what it keeps on
    the run); a run below --min-coverage then fails (CoverageTooLow)."""
    if out_path is not None:
        # the same text as model_dump_json(indent=2), kept as bytes: no second copy of a large file
        atomic_write_text(out_path, result.__pydantic_serializer__.to_json(result, indent=2), b"\n")
    run.result, run.failure = result, failure
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
