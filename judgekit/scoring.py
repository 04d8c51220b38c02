"""``score()``: dataset + responses + rubric + judge -> a score file you can trust, and a run log beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit import interrupts
from judgekit._version import __version__
from judgekit.aggregate import (
    COMBINE_METHODS,
    Combine,
    aggregate_details,
    aspect_results,
    file_summaries,
    score_definition,
)
from judgekit.cache import Cache, default_cache_path
from judgekit.data import (
    DEFAULT_MAX_RESPONSE_CHARS,
    Item,
    file_sha256,
    load_dataset,
    load_pairs,
    load_responses,
    match_ids,
)
from judgekit.engine import Engine, EngineSettings, Job, JobResult
from judgekit.errors import ConfigError, CoverageTooLow, Interrupted, JudgeError, Terminated
from judgekit.io import atomic_write_text, check_writable
from judgekit.judges.base import Judge, JudgeParams
from judgekit.judges.factory import (
    JudgeOptions,
    is_local_spec,
    is_python_object,
    local_model_path,
    resolve_judge,
)
from judgekit.judges.openai_compat import OpenAICompatJudge, is_openai_compatible, lean_judge
from judgekit.panel import PanelJudge
from judgekit.results import AspectResult, QuestionResult, ScoreFile, Totals
from judgekit.rubric import Mode, Rubric, load_rubric
from judgekit.runlog import RunLog

LOCAL_CONCURRENCY = 2  # calls in flight at most for --judge local (llama.cpp serves one at a time)
POOL_THRESHOLD = 200  # calls from which a litellm judge runs in one worker process per core


class ScoreSettings(BaseModel):
    """Everything that shapes a scoring run, validated before any work starts."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    rubric: str = "lamp_qa"
    mode: Mode | None = None
    samples: int = Field(1, ge=1, le=100)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    max_response_chars: int | None = Field(DEFAULT_MAX_RESPONSE_CHARS, ge=1)
    judge: JudgeOptions = Field(default_factory=JudgeOptions)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    combine: Combine = Field(
        "mean",
        description="how repeated judgments of a unit combine: the samples of a judge, then the judges of "
        "a panel (" + ", ".join(COMBINE_METHODS) + ")",
    )
    bootstrap: int = Field(2000, ge=0, le=100_000, description="bootstrap resamples for CIs (0 = none)")
    bootstrap_seed: int = 0
    min_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="a finished run that scores a smaller fraction of its units fails (CoverageTooLow, exit 4); "
        "its score file is still written, with status 'failed'",
    )


def _default_log_path(out: Path) -> Path:
    return out.with_name(out.stem + ".log.jsonl")


@contextlib.contextmanager
def open_judge(
    spec: JudgeSpec, options: JudgeOptions, n_calls: int = 0, logprobs: bool = False, concurrency: int = 64
) -> Iterator[Judge]:
    """Yield a ready judge; ``local`` starts (and afterwards stops) a llama.cpp server on loopback, and a
    litellm model with many calls ahead gets worker processes (litellm's per-call CPU then uses every core)."""
    if is_local_spec(spec):
        assert isinstance(spec, str)
        from judgekit.judges.litellm_judge import LiteLLMJudge
        from judgekit.judges.local import LocalServer, WatchedJudge

        # llama.cpp only returns log-probabilities when started for them (and is slower then).
        with LocalServer(local_model_path(spec), logprobs=logprobs) as server:
            path = Path(str(server.model_path))
            structured = "json_object" if options.structured == "auto" else options.structured
            judge = LiteLLMJudge(
                server.model,
                api_base=server.api_base,
                api_key="no-key",
                structured=structured,
                timeout=options.timeout,
                identity=f"local:{path.name}:{path.stat().st_size}",
            )
            yield WatchedJudge(judge, server)  # a dead server stops the run at once (JudgeDown)
    elif isinstance(spec, PanelJudge) or (isinstance(spec, str) and not is_python_object(spec)):
        from judgekit.judges.litellm_judge import LiteLLMJudge

        if isinstance(spec, PanelJudge):  # a judge of a panel with its own endpoint and key
            options, spec = spec.options(options), spec.model
        if options.client != "litellm" and is_openai_compatible(spec, options.api_base):
            yield lean_judge(spec, options, concurrency)  # one process keeps up: no worker pool
            return
        judge = LiteLLMJudge(
            spec,
            api_base=options.api_base,
            api_key=options.api_key,
            structured=options.structured,
            timeout=options.timeout,
        )
        workers = options.workers or (min(os.cpu_count() or 1, 4) if n_calls >= POOL_THRESHOLD else 1)
        if workers <= 1:
            yield judge
            return
        from judgekit.judges.pool import ProcessPoolJudge

        pool_spec = {
            "model": spec,
            "api_base": options.api_base,
            "api_key": options.api_key,
            "structured": judge.structured,
            "timeout": options.timeout,
            "identity": judge.base_identity,
        }
        with ProcessPoolJudge(pool_spec, judge.identity, workers) as pool:
            yield pool
    else:
        assert not isinstance(spec, PanelJudge)
        yield resolve_judge(spec, options)


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
                )
                by_schema[id(plan.schema)] = (plan.schema, params)
            jobs.extend(Job(plan, sample, params) for sample in range(settings.samples))
    return jobs


def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("litellm", "pydantic", "jinja2"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[A-Za-z0-9_\-.]{8,})")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove API keys from text bound for a file or the terminal."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _SECRET.sub("[redacted]", text)


def _secrets(options: JudgeOptions, specs: Sequence[JudgeSpec] = ()) -> list[str]:
    found = [options.api_key] if options.api_key else []
    found += [key for s in specs if isinstance(s, PanelJudge) for key in [s.secret()] if key]
    found += [v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN", "_SECRET")) and v]
    return [s for s in found if s]


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
) -> ScoreFile:
    """Async form of :func:`score`, for callers that already run an event loop."""
    interrupts.watch(asyncio.current_task())  # SIGTERM (with the CLI's handler) cancels this run like Ctrl-C
    settings = settings or ScoreSettings()
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    rubric = load_rubric(settings.rubric)
    specs = judge_list(judge)
    items, answers, input_files = load_inputs(rubric, settings, dataset, responses, responses_a, responses_b)
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_writable(out_path)
    jobs = plan_jobs(rubric, items, answers, settings)
    if references and rubric.pairwise:
        raise ConfigError("--references (lexical metrics) needs a rubric that judges one response per item")
    lexical_inputs = _lexical_inputs(references, reference_field, answers, metrics) if references else None
    secrets = _secrets(settings.judge, specs)

    def clean(text: str) -> str:
        return redact(text, secrets)

    cache_obj: Cache | None = None
    if cache is not False:
        cache_obj = Cache(default_cache_path() if cache is True else Path(cache))
    bar = _progress_bar(len(jobs) * len(specs), progress)
    runs: list[_JudgeRun] = []
    run_log: RunLog | None = None
    meta: dict[str, Any] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            for spec in specs:
                wants_logprobs = any(job.params.logprobs for job in jobs)
                judge_obj = stack.enter_context(
                    open_judge(spec, settings.judge, len(jobs), wants_logprobs, settings.engine.concurrency)
                )
                if isinstance(judge_obj, OpenAICompatJudge):
                    stack.push_async_callback(judge_obj.aclose)  # its session closes with the run
                engine_settings = settings.engine
                if is_local_spec(spec) and engine_settings.concurrency > LOCAL_CONCURRENCY:
                    # the local server answers one request at a time: more in flight only queue into timeouts
                    engine_settings = engine_settings.model_copy(update={"concurrency": LOCAL_CONCURRENCY})

                def on_done(result: JobResult, who: str = judge_obj.identity) -> None:
                    bar.update(1)
                    if run_log is not None:
                        run_log.judgment(who, result)

                engine = Engine(
                    judge_obj,
                    rubric,
                    engine_settings,
                    cache_obj,
                    on_done=on_done,
                    on_state=lambda state: bar.set_postfix_str(state or "", refresh=True),
                )
                runs.append(_JudgeRun(judge_obj.identity, engine))
            _check_distinct([r.identity for r in runs])
            meta = _start_meta(rubric, settings, runs, input_files, len(jobs), cache_obj, started_at, secrets)
            if out_path is not None:
                log_file = Path(log_path) if log_path is not None else _default_log_path(out_path)
                run_log = RunLog(log_file, clean)
                meta["log"] = str(log_file)
                run_log.header(meta)
            outcomes = await _run_engines([r.engine for r in runs], jobs)
            for run, run_results in zip(runs, outcomes, strict=True):
                run.results = run_results
    except JudgeError as err:  # the engine gave up on a judge that cannot answer: say why, without secrets
        stopped = type(err)(clean(str(err)))
        _end_log(run_log, "stopped", runs, started, error=str(stopped))
        raise stopped from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        done = sum(r.engine.stats.finished for r in runs)
        where = (
            f"saved in the cache ({cache_obj.path})" if cache_obj is not None else "lost (the cache is off)"
        )
        stop, how = (
            (Terminated, "terminated (SIGTERM)") if interrupts.terminated() else (Interrupted, "interrupted")
        )
        interrupted = stop(
            f"{how} after {done} of {len(jobs) * len(specs)} judgments; finished ones are {where}; "
            "rerun the same command to resume"
        )
        _end_log(run_log, "interrupted", runs, started, error=str(interrupted))
        raise interrupted from None
    except BaseException as err:
        _end_log(run_log, "interrupted" if isinstance(err, Interrupted) else "error", runs, started, str(err))
        raise
    finally:
        bar.close()
        if cache_obj is not None:
            cache_obj.close()

    per_judge = {r.identity: aspect_results(r.results, settings.combine) for r in runs}
    if len(runs) == 1:
        by_item = per_judge[runs[0].identity]
    else:
        from judgekit.panel import combine_judges

        by_item = combine_judges(per_judge, settings.combine)
    overall, questions, coverage, unscored = aggregate_details(rubric.spec, items, by_item)
    summaries = file_summaries(rubric.spec, items, questions, settings.bootstrap, settings.bootstrap_seed)
    panel = _panel(rubric, items, questions, per_judge, settings, secrets, specs) if len(runs) > 1 else None
    consistency = _self_consistency(per_judge, settings, secrets) if settings.samples > 1 else None
    totals = _totals(runs, started)
    identities = [clean(r.identity) for r in runs]
    meta["concurrency_changes"] = [
        {**change, "judge": who} if len(runs) > 1 else change
        for who, run in zip(identities, runs, strict=True)
        for change in run.engine.stats.concurrency_changes
    ]
    meta["score_method"]["used"] = dict(Counter(r.method for run in runs for r in run.results if r.ok))
    for u in unscored:
        u.reason = clean(u.reason)
    for q in questions:
        for a in q.details:
            if a.reason:
                a.reason = clean(a.reason)
    failure = None
    if coverage.ratio < settings.min_coverage:
        failure = (
            f"coverage {coverage.scored}/{coverage.total} below --min-coverage {settings.min_coverage:g}"
        )
    result = ScoreFile(
        score=overall,
        per_question_scores=questions,
        coverage=coverage,
        unscored=unscored,
        totals=totals,
        meta=meta,
        panel=panel,
        consistency=consistency,
        status="failed" if failure else "ok",
        **({"failure": failure} if failure else {}),
        **summaries,
    )
    if lexical_inputs is not None:
        _add_lexical(result, *lexical_inputs)
    if out_path is not None:
        atomic_write_text(out_path, result.model_dump_json(indent=2) + "\n")
    _end_log(run_log, "failed" if failure else "ok", runs, started, failure, result)
    if failure:
        why = Counter(u.reason.split(":")[0] for u in unscored).most_common(3)
        raise CoverageTooLow(
            failure
            + (" (unscored: " + ", ".join(f"{n} x {r}" for r, n in why) + ")" if why else "")
            + (f"; the score file says so: {out_path}" if out_path is not None else ""),
            score_file=result,
        )
    return result


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
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
    return [task.result() for task in tasks]


def _totals(runs: Sequence[_JudgeRun], started: float) -> Totals:
    stats = [r.engine.stats for r in runs]
    return Totals(
        calls=sum(s.calls for s in stats),
        cache_hits=sum(s.cache_hits for s in stats),
        retries=sum(s.retries for s in stats),
        reasks=sum(s.reasks for s in stats),
        prompt_tokens=sum(s.prompt_tokens for s in stats),
        completion_tokens=sum(s.completion_tokens for s in stats),
        cost_usd=round(sum(s.cost_usd for s in stats), 8),
        wall_time_s=round(time.perf_counter() - started, 3),
    )


def _end_log(
    run_log: RunLog | None,
    status: str,
    runs: Sequence[_JudgeRun],
    started: float,
    error: str | None = None,
    result: ScoreFile | None = None,
) -> None:
    """Close the run log with its summary row: how the run ended, and the totals so far."""
    if run_log is None:
        return
    fields: dict[str, Any] = {"totals": (result.totals if result else _totals(runs, started)).model_dump()}
    if result is not None:
        fields.update(
            score=result.score,
            coverage=result.coverage.model_dump(),
            concurrency_changes=result.meta.get("concurrency_changes", []),
            score_method=result.meta.get("score_method"),
        )
    if error:
        fields["error"] = error
    run_log.summary(status, **fields)
    run_log.close()


def _start_meta(
    rubric: Rubric,
    settings: ScoreSettings,
    runs: Sequence[_JudgeRun],
    input_files: dict[str, str | Path],
    judgments: int,
    cache_obj: Cache | None,
    started_at: str,
    secrets: Sequence[str],
) -> dict[str, Any]:
    """Provenance known before the first call: the run log's header, and the score file's meta."""
    identities = [redact(r.identity, secrets) for r in runs]
    meta: dict[str, Any] = {
        "judgekit_version": __version__,
        "started_at": started_at,
        "rubric": {
            "name": rubric.name,
            "version": rubric.spec.version,
            "content_sha256": rubric.content_hash,
            "mode": settings.mode or rubric.spec.mode,
            "folder": str(rubric.folder),
        },
        "judge": {
            "identity": identities[0] if len(identities) == 1 else "panel(" + ", ".join(identities) + ")",
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "samples": settings.samples,
            "seed": settings.seed,
            "api_base": settings.judge.api_base,
            "structured": settings.judge.structured,
        },
        "engine": settings.engine.model_dump(),
        "min_coverage": settings.min_coverage,
        "inputs": {
            name: {"path": str(path), "sha256": file_sha256(path)} for name, path in input_files.items()
        },
        "judgments": judgments,
        "cache": str(cache_obj.path) if cache_obj is not None else None,
        "versions": _package_versions(),
        "score_definition": _score_definition(rubric),
        "score_method": {"requested": rubric.spec.score_method},
        "combine": settings.combine,
    }
    if len(runs) > 1:
        meta["judges"] = identities
    return meta


def _aspects_field(rubric: Rubric, settings: ScoreSettings) -> str | None:
    mode = settings.mode or rubric.spec.mode
    return rubric.spec.inputs.aspects if mode in ("per_aspect", "all_aspects") else None


def _score_definition(rubric: Rubric) -> str:
    text = score_definition(rubric.spec)
    if rubric.spec.score_method == "logprob_weighted":
        text += (
            "; each unit score is the probability-weighted mean over the score field's values from the "
            "judge's token log-probabilities (G-Eval) where the backend returned them, else the written value"
        )
    return text


JudgeSpec = str | Judge | PanelJudge


@dataclass
class _JudgeRun:
    identity: str
    engine: Engine
    results: list[JobResult] = field(default_factory=list)


def judge_list(judge: JudgeSpec | Sequence[JudgeSpec]) -> list[JudgeSpec]:
    """One judge or a panel: a list of distinct judges (the same judge twice would only replay its cache).

    The same model at two endpoints (:class:`~judgekit.panel.PanelJudge` entries) is two judges."""
    specs: list[JudgeSpec] = (
        [judge] if isinstance(judge, str | PanelJudge) or not isinstance(judge, Sequence) else list(judge)
    )
    if not specs:
        raise ConfigError("--judge: give at least one judge")
    names = [s.strip() for s in specs if isinstance(s, str)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"--judge {twice[0]!r} is given twice; a panel needs distinct judges "
            "(for one judge's self-consistency use --samples with --temperature above 0)"
        )
    entries = [s for s in specs if isinstance(s, PanelJudge)]
    keys = [e.key for e in entries]
    for e in entries:
        if keys.count(e.key) > 1:
            where = f" at {e.api_base}" if e.api_base else ""
            raise ConfigError(
                f"panel: judge {e.model!r}{where} is given twice; a panel needs distinct judges"
            )
        if e.name is not None and [x.name for x in entries].count(e.name) > 1:
            raise ConfigError(f"panel: two judges are named {e.name!r}; give each judge its own name")
        e.secret()  # an unset key variable is an error before any judge is called
    return specs


def _check_distinct(identities: Sequence[str]) -> None:
    twice = sorted({i for i in identities if identities.count(i) > 1})
    if twice:
        raise ConfigError(f"two judges of the panel are the same judge ({twice[0]}); give distinct judges")


def load_inputs(
    rubric: Rubric,
    settings: ScoreSettings,
    dataset: str | Path,
    responses: str | Path | None,
    responses_a: str | Path | None,
    responses_b: str | Path | None,
) -> tuple[list[Item], dict[str, Any], dict[str, str | Path]]:
    """Items, each item's response (a text, or ``{"a", "b"}`` texts for pair rubrics), and the input files."""
    files: dict[str, str | Path] = {"dataset": dataset}
    if rubric.pairwise:
        if responses is not None:
            raise ConfigError(
                f"rubric {rubric.name!r} compares two responses per item: give --responses-a and "
                "--responses-b (or a dataset holding both), not --responses"
            )
        items, pairs = load_pairs(
            dataset,
            responses_a,
            responses_b,
            required=rubric.spec.inputs.required,
            max_chars=settings.max_response_chars,
        )
        if responses_a is not None and responses_b is not None:
            files.update(responses_a=responses_a, responses_b=responses_b)
        return items, dict(pairs), files
    if responses_a is not None or responses_b is not None:
        raise ConfigError(
            f"--responses-a/--responses-b are for pairwise rubrics; rubric {rubric.name!r} judges one "
            "response per item (give --responses)"
        )
    if responses is None:
        raise ConfigError(f"rubric {rubric.name!r} needs responses to judge: give --responses")
    items = load_dataset(
        dataset, required=rubric.spec.inputs.required, aspects_field=_aspects_field(rubric, settings)
    )
    answers = load_responses(responses, settings.max_response_chars)
    match_ids(items, answers, dataset, responses)
    files["responses"] = responses
    return items, dict(answers), files


def _panel(
    rubric: Rubric,
    items: Sequence[Item],
    questions: list[QuestionResult],
    per_judge: dict[str, dict[str, dict[str, AspectResult]]],
    settings: ScoreSettings,
    secrets: Sequence[str],
    specs: Sequence[JudgeSpec] = (),
) -> dict[str, Any]:
    """Per-judge figures and inter-judge agreement; adds each judge's question score to ``questions``."""
    from judgekit.panel import alpha_table, judges_alpha, panel_coverage

    judges: list[dict[str, Any]] = []
    question_rows: list[list[float | None]] = []
    names = [s.name if isinstance(s, PanelJudge) else None for s in specs] or [None] * len(per_judge)
    for (who, by_item), name in zip(per_judge.items(), names, strict=True):
        score, judge_questions, coverage, _ = aggregate_details(rubric.spec, items, by_item)
        entry: dict[str, Any] = {
            "identity": redact(who, secrets),
            **({"name": name} if name else {}),
            "score": score,
            "coverage": coverage.model_dump(),
        }
        entry.update(
            file_summaries(rubric.spec, items, judge_questions, settings.bootstrap, settings.bootstrap_seed)
        )
        judges.append(entry)
        question_rows.append([q.score for q in judge_questions])
    for k, q in enumerate(questions):
        q.judges = {j["identity"]: row[k] for j, row in zip(judges, question_rows, strict=True)}
    for q in questions:
        for unit in q.details:
            raw = getattr(unit, "judges", None)
            if isinstance(raw, dict):
                unit.judges = {redact(k, secrets): v for k, v in raw.items()}
    return {
        "method": settings.combine,
        "coverage": panel_coverage(per_judge),
        "judges": judges,
        "alpha": {"units": judges_alpha(per_judge), "questions": alpha_table(question_rows)},
    }


def _self_consistency(
    per_judge: dict[str, dict[str, dict[str, AspectResult]]], settings: ScoreSettings, secrets: Sequence[str]
) -> dict[str, Any]:
    """How far each judge's samples agree with each other (Krippendorff's alpha, samples as raters)."""
    from judgekit.panel import samples_alpha

    return {
        "samples": settings.samples,
        "judges": [
            {"identity": redact(who, secrets), "alpha": samples_alpha(by_item, settings.samples)}
            for who, by_item in per_judge.items()
        ],
    }


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


def _lexical_inputs(
    references: str | Path,
    reference_field: str | None,
    answers: dict[str, str],
    metrics: Sequence[str] | None,
) -> tuple[Any, ...]:
    from judgekit import lexical

    refs = lexical.load_references(references, reference_field)
    missing = sorted(set(answers) - set(refs))
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise ConfigError(f"{references}: no reference for {len(missing)} id(s): {shown}")
    return (answers, {k: refs[k] for k in answers}, list(metrics) if metrics else None)


def _add_lexical(
    result: ScoreFile, predictions: dict[str, str], refs: dict[str, list[str]], metrics: list[str] | None
) -> None:
    from judgekit import lexical

    kwargs: dict[str, Any] = {} if metrics is None else {"metrics": metrics}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lexical.WordNetMissingWarning)
        report = lexical.compute_lexical(predictions, refs, **kwargs)
    for w in caught:  # one line, not Python's two-line warning
        if issubclass(w.category, lexical.WordNetMissingWarning):
            logging.getLogger("judgekit").warning("judgekit: warning: %s", str(w.message).splitlines()[0])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    per_item = report.items
    for q in result.per_question_scores:
        q.lexical = per_item.get(q.id)
    judge_scores = {q.id: q.score for q in result.per_question_scores}
    result.lexical = {
        "overall": report.overall,
        "aggregation": report.aggregation,
        "meteor_mode": report.meteor_mode,
        "correlation_with_judge": lexical.correlate_with_judge(report, judge_scores),
    }


def score(
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
) -> ScoreFile:
    """Score ``responses`` to ``dataset`` with ``judge`` and a rubric; write ``out`` (and its run log) if given.

    ``judge`` is a litellm model string (``openai/gpt-4o-mini``), ``local`` / ``local:/path/model.gguf``
    (a llama.cpp server started for the run), ``module:attribute``, or any object with
    ``identity`` and ``async complete(messages, params)``; a list of them is a panel: each judge scores every
    unit independently and ``settings.combine`` (mean, median, majority) combines them.

    Pair rubrics (``pairwise``) take ``responses_a`` and ``responses_b`` instead of ``responses``, or a
    dataset that holds both responses (LLMBar, AlpacaEval or MT-Bench layout).
    """
    box: list[ScoreFile] = []

    async def main() -> None:
        # The main task returns nothing: CPython 3.11's asyncio.run repr()s the finished task when it restores
        # the SIGINT handler, which would format the whole result (seconds for a large run).
        box.append(
            await ascore(
                dataset,
                responses,
                responses_a=responses_a,
                responses_b=responses_b,
                judge=judge,
                settings=settings,
                out=out,
                log_path=log_path,
                cache=cache,
                references=references,
                reference_field=reference_field,
                metrics=metrics,
                progress=progress,
            )
        )

    asyncio.run(main())
    return box[0]
