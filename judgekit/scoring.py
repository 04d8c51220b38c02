"""``score()``: dataset + responses + rubric + judge -> a score file you can trust, and a run log beside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit._version import __version__
from judgekit.aggregate import aggregate
from judgekit.cache import Cache, default_cache_path
from judgekit.data import (
    DEFAULT_MAX_RESPONSE_CHARS,
    Item,
    file_sha256,
    load_dataset,
    load_responses,
    match_ids,
)
from judgekit.engine import Engine, EngineSettings, Job, JobResult
from judgekit.errors import ConfigError, Interrupted
from judgekit.io import atomic_write_jsonl, atomic_write_text, check_writable
from judgekit.judges.base import Judge, JudgeParams
from judgekit.judges.factory import (
    JudgeOptions,
    is_local_spec,
    is_python_object,
    local_model_path,
    resolve_judge,
)
from judgekit.results import ScoreFile, Totals
from judgekit.rubric import Mode, Rubric, load_rubric

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


def _default_log_path(out: Path) -> Path:
    return out.with_name(out.stem + ".log.jsonl")


@contextlib.contextmanager
def open_judge(spec: str | Judge, options: JudgeOptions, n_calls: int = 0) -> Iterator[Judge]:
    """Yield a ready judge; ``local`` starts (and afterwards stops) a llama.cpp server on loopback, and a
    litellm model with many calls ahead gets worker processes (litellm's per-call CPU then uses every core)."""
    if is_local_spec(spec):
        assert isinstance(spec, str)
        from judgekit.judges.litellm_judge import LiteLLMJudge
        from judgekit.judges.local import LocalServer

        with LocalServer(local_model_path(spec)) as server:
            path = Path(str(server.model_path))
            structured = "json_object" if options.structured == "auto" else options.structured
            yield LiteLLMJudge(
                server.model,
                api_base=server.api_base,
                api_key="no-key",
                structured=structured,
                timeout=options.timeout,
                identity=f"local:{path.name}:{path.stat().st_size}",
            )
    elif isinstance(spec, str) and not is_python_object(spec):
        from judgekit.judges.litellm_judge import LiteLLMJudge

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
        yield resolve_judge(spec, options)


def plan_jobs(
    rubric: Rubric, items: Sequence[Item], responses: dict[str, Any], settings: ScoreSettings
) -> list[Job]:
    jobs: list[Job] = []
    by_schema: dict[int, tuple[dict[str, Any], JudgeParams]] = {}  # one params object per schema object
    for item in items:
        for plan in rubric.plan(item, responses[item.id], settings.mode):
            known = by_schema.get(id(plan.schema))
            if known is not None and known[0] is plan.schema:
                params = known[1]
            else:
                params = JudgeParams(
                    temperature=settings.temperature,
                    max_tokens=settings.max_tokens,
                    seed=settings.seed,
                    schema=plan.schema,
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


def _secrets(options: JudgeOptions) -> list[str]:
    found = [options.api_key] if options.api_key else []
    found += [v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN", "_SECRET")) and v]
    return [s for s in found if s]


def _log_rows(
    header: dict[str, Any], results: Sequence[JobResult], secrets: Sequence[str]
) -> Iterator[dict[str, Any]]:
    yield {"type": "header", **header}
    for r in results:
        plan = r.job.plan
        for c in r.calls:
            yield {
                "type": "call",
                "id": plan.item_id,
                "targets": list(plan.targets),
                "sample": r.job.sample,
                "turn": c.turn,
                "key": c.key,
                "status": c.status,
                "completion": redact(c.text, secrets) if c.text is not None else None,
                "parse_error": c.parse_error,
                "tries": [redact(t, secrets) for t in c.tries],
                "latency_s": round(c.latency_s, 4),
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "cost_usd": c.cost_usd,
            }
        yield {
            "type": "verdict",
            "id": plan.item_id,
            "targets": list(plan.targets),
            "sample": r.job.sample,
            "status": "scored" if r.ok else "unscored",
            "verdicts": r.verdicts,
            "scores": r.scores,
            "reason": redact(r.reason, secrets) if r.reason else None,
        }


async def ascore(
    dataset: str | Path,
    responses: str | Path,
    *,
    judge: str | Judge = "local",
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
    settings = settings or ScoreSettings()
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    rubric = load_rubric(settings.rubric)
    items = load_dataset(
        dataset, required=rubric.spec.inputs.required, aspects_field=_aspects_field(rubric, settings)
    )
    answers = load_responses(responses, settings.max_response_chars)
    match_ids(items, answers, dataset, responses)
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_writable(out_path)
    jobs = plan_jobs(rubric, items, answers, settings)
    lexical_inputs = _lexical_inputs(references, reference_field, answers, metrics) if references else None

    cache_obj: Cache | None = None
    if cache is not False:
        cache_obj = Cache(default_cache_path() if cache is True else Path(cache))
    bar = _progress_bar(len(jobs), progress)
    engine: Engine | None = None
    try:
        with open_judge(judge, settings.judge, len(jobs)) as judge_obj:
            engine = Engine(judge_obj, rubric, settings.engine, cache_obj, on_done=lambda _r: bar.update(1))
            results = await engine.run(jobs)
            identity = judge_obj.identity
    except (KeyboardInterrupt, asyncio.CancelledError):
        done = engine.stats.finished if engine is not None else 0
        where = (
            f"saved in the cache ({cache_obj.path})" if cache_obj is not None else "lost (the cache is off)"
        )
        raise Interrupted(
            f"interrupted after {done} of {len(jobs)} judgments; finished ones are {where}; "
            "rerun the same command to resume"
        ) from None
    finally:
        bar.close()
        if cache_obj is not None:
            cache_obj.close()

    overall, questions, coverage, unscored = aggregate(rubric.spec, items, results)
    stats = engine.stats
    totals = Totals(
        calls=stats.calls,
        cache_hits=stats.cache_hits,
        retries=stats.retries,
        reasks=stats.reasks,
        prompt_tokens=stats.prompt_tokens,
        completion_tokens=stats.completion_tokens,
        cost_usd=round(stats.cost_usd, 8),
        wall_time_s=round(time.perf_counter() - started, 3),
    )
    secrets = _secrets(settings.judge)
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
            "identity": redact(identity, secrets),
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "samples": settings.samples,
            "seed": settings.seed,
            "api_base": settings.judge.api_base,
            "structured": settings.judge.structured,
        },
        "engine": settings.engine.model_dump(),
        "inputs": {
            "dataset": {"path": str(dataset), "sha256": file_sha256(dataset)},
            "responses": {"path": str(responses), "sha256": file_sha256(responses)},
        },
        "judgments": len(jobs),
        "concurrency_changes": stats.concurrency_changes,
        "cache": str(cache_obj.path) if cache_obj is not None else None,
        "versions": _package_versions(),
        "score_definition": _score_definition(rubric),
    }
    for u in unscored:
        u.reason = redact(u.reason, secrets)
    for q in questions:
        for a in q.details:
            if a.reason:
                a.reason = redact(a.reason, secrets)
    result = ScoreFile(
        score=overall,
        per_question_scores=questions,
        coverage=coverage,
        unscored=unscored,
        totals=totals,
        meta=meta,
    )
    if lexical_inputs is not None:
        _add_lexical(result, *lexical_inputs)
    if out_path is not None:
        log_file = Path(log_path) if log_path is not None else _default_log_path(out_path)
        result.meta["log"] = str(log_file)
        header = {"meta": result.meta, "totals": totals.model_dump()}
        atomic_write_jsonl(log_file, _log_rows(header, results, secrets))
        atomic_write_text(out_path, result.model_dump_json(indent=2) + "\n")
    return result


def _aspects_field(rubric: Rubric, settings: ScoreSettings) -> str | None:
    mode = settings.mode or rubric.spec.mode
    return rubric.spec.inputs.aspects if mode in ("per_aspect", "all_aspects") else None


def _score_definition(rubric: Rubric) -> str:
    s = rubric.spec
    if s.question_score == "normalized":
        return (
            f"question = mean over scored aspects of (score - {s.scale.min:g}) / ({s.scale.max:g} - "
            f"{s.scale.min:g}); file = mean over questions with at least one scored aspect; "
            "unscored aspects are excluded and counted in coverage"
        )
    return "question = mean of scored aspect scores; file = mean over questions; unscored aspects excluded"


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
    report = lexical.compute_lexical(predictions, refs, **kwargs)
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
    responses: str | Path,
    *,
    judge: str | Judge = "local",
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
    ``identity`` and ``async complete(messages, params)``.
    """
    box: list[ScoreFile] = []

    async def main() -> None:
        # The main task returns nothing: CPython 3.11's asyncio.run repr()s the finished task when it restores
        # the SIGINT handler, which would format the whole result (seconds for a large run).
        box.append(
            await ascore(
                dataset,
                responses,
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
