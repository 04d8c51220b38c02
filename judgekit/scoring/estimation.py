"""``estimate()`` / ``score --dry-run``: what a run would cost before it runs, with no judge call.

The estimate makes the run's own plan (inputs, rubric calls per mode, samples, every judge of a panel), looks
the requests up in the cache with the keys the engine would use, and prices the calls left: prompt tokens
from litellm's token counter, output tokens from the rubric's output schema, USD from litellm's price table,
and time from the concurrency and an assumed latency. Nothing is started: no local server, no worker pool.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgekit.judges.panel_spec import JudgeSpec, check_distinct
from judgekit.judges.registry import (
    check_reasoning_effort,
    judge_identity,
    judge_max_concurrency,
    judge_pricing,
)
from judgekit.rubric import Rubric
from judgekit.rubric.reasoning import read_completion
from judgekit.run.cache import Cache, request_key
from judgekit.run.jobs import Job
from judgekit.scoring.core import plan_jobs
from judgekit.scoring.inputs import RunInputs
from judgekit.scoring.settings import ScoreSettings

DEFAULT_LATENCY_S = 2.0
BATCH_WINDOW_S = 24 * 3600.0  # --batch: a batch API answers within its completion window (24 h)
STRING_FIELD_TOKENS = 100  # a free-text field of the answer (a reason): no schema bounds its length
FREE_TEXT_TOKENS = 256  # a pattern rubric's whole answer is free text
UNBOUNDED_NUMBER = 100_000  # a number field without bounds, written out at this length

Kind = Literal["litellm", "local", "python"]


class EstimateSettings(BaseModel):
    """The assumptions of an estimate that the run itself cannot tell."""

    model_config = ConfigDict(extra="forbid")

    latency: float = Field(DEFAULT_LATENCY_S, ge=0, le=3600, description="assumed seconds per judge call")
    price_in: float | None = Field(None, ge=0, description="USD per million prompt tokens (every judge)")
    price_out: float | None = Field(None, ge=0, description="USD per million output tokens (every judge)")
    output_tokens: int | None = Field(
        None, ge=1, le=1_000_000, description="output tokens per call, instead of the schema's estimate"
    )

    @model_validator(mode="after")
    def _both_prices(self) -> EstimateSettings:
        if (self.price_in is None) != (self.price_out is None):
            raise ValueError("give both --price-in and --price-out (USD per million tokens), or neither")
        return self


class JudgeEstimate(BaseModel):
    """One judge's share of the run."""

    identity: str
    kind: Kind
    judgments: int
    prompt_tokens: int
    output_tokens: int
    output_basis: str
    tokenizer: str
    model: str | None = Field(description="the litellm model priced and tokenized, None for a Python judge")
    cached: int = Field(description="judgments answered by the cache (a parseable answer is stored)")
    calls: int = Field(description="first calls to make; re-asks after unparseable answers are not counted")
    output_tokens_per_call: int | None = Field(description="None when calls differ (several schemas)")
    price_source: str | None = Field(description="where the price comes from; None: unknown price")
    price_in_per_million: float | None
    price_out_per_million: float | None
    cost_usd: float | None
    concurrency: int
    time_s: float


class Estimate(BaseModel):
    """What ``score`` would do with the same arguments, without a single judge call."""

    rubric: str
    mode: str
    items: int
    samples: int
    judgments: int = Field(description="units x samples x judges")
    cached: int
    calls: int
    prompt_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(description="None when any judge's price is unknown")
    unknown_price: list[str] = Field(description="judges without a price (pass --price-in/--price-out)")
    latency_s: float
    time_s: float = Field(description="the slowest judge's time; the judges of a panel run at once")
    cache: str | None
    judges: list[JudgeEstimate]
    notes: list[str]
    batch: bool = Field(False, description="priced and timed for --batch (the provider's batch API)")


@dataclass
class _Target:
    """A judge as the run would build it, with nothing started."""

    identity: str
    kind: Kind
    model: str | None
    concurrency: int


def estimate(
    dataset: str | Path,
    responses: str | Path | None = None,
    *,
    judge: JudgeSpec | Sequence[JudgeSpec] = "local",
    settings: ScoreSettings | None = None,
    cache: str | Path | bool = True,
    responses_a: str | Path | None = None,
    responses_b: str | Path | None = None,
    assume: EstimateSettings | None = None,
) -> Estimate:
    """Calls, tokens, price and time of :func:`judgekit.score` with the same arguments; calls no judge.

    ``assume`` holds what the run cannot tell: the latency per call, a price for judges litellm does not
    know (or to override its table), and an output size per call."""
    inputs = RunInputs.of(
        dataset=dataset, responses=responses, responses_a=responses_a, responses_b=responses_b,
        judge=judge, settings=settings, cache=cache,
    )  # fmt: skip
    settings = inputs.settings
    assume = assume or EstimateSettings()
    rubric = inputs.rubric()
    specs = inputs.specs()
    check_reasoning_effort(specs, settings.reasoning_effort)
    if settings.batch is not None:
        from judgekit.run.batch.api import batch_target

        batch_target(specs, settings.judge)  # the run's own refusal of a judge without a batch API
    items, answers, _ = inputs.load(rubric)
    jobs = plan_jobs(rubric, items, answers, settings)
    targets = [_target(spec, settings) for spec in specs]
    check_distinct([t.identity for t in targets])
    cache_path = inputs.cache_path()
    keys = [
        [request_key(t.identity, job.plan.messages, job.params, job.sample) for job in jobs] for t in targets
    ]
    found = _cached(cache_path, [k for per_judge in keys for k in per_judge])
    counter = _Tokens()
    judges = [
        _judge_estimate(t, rubric, jobs, judge_keys, found, counter, settings, assume)
        for t, judge_keys in zip(targets, keys, strict=True)
    ]
    costs = [j.cost_usd for j in judges]
    notes = _notes(settings, assume, cache_path)
    return Estimate(
        rubric=rubric.name,
        mode=settings.mode or rubric.spec.mode,
        items=len(items),
        samples=settings.samples,
        judgments=len(jobs) * len(targets),
        cached=sum(j.cached for j in judges),
        calls=sum(j.calls for j in judges),
        prompt_tokens=sum(j.prompt_tokens for j in judges),
        output_tokens=sum(j.output_tokens for j in judges),
        cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
        unknown_price=[j.identity for j in judges if j.cost_usd is None],
        latency_s=assume.latency,
        time_s=max((j.time_s for j in judges), default=0.0),
        cache=str(cache_path) if cache_path is not None else None,
        judges=judges,
        notes=notes,
        batch=settings.batch is not None,
    )


def _notes(settings: ScoreSettings, assume: EstimateSettings, cache_path: Path | None) -> list[str]:
    """What the estimate leaves out, for the reader of its figures."""
    notes = ["calls are first calls only: a re-ask after an unparseable answer, and retries, add calls"]
    if settings.batch is None:
        notes.append(
            f"time assumes {assume.latency:g} s per call (--latency), no 429s, and --concurrency calls in flight"
        )
    else:
        notes.append(
            "--batch: priced at the batch rates where litellm's table lists them; time is the batch's 24 h "
            "completion window at most (often much less); requests the batch does not answer are judged live "
            "(--batch-fallback live), at list price, and are not counted here"
        )
    if settings.reasoning_effort is not None and assume.output_tokens is None:
        notes.append(
            "--reasoning-effort: output tokens leave out the judge's reasoning, which is billed as output; "
            "pass --output-tokens with a typical answer's length, reasoning included, to price it"
        )
    if cache_path is None:
        notes.append("the cache is off (--no-cache): every judgment is a call")
    elif not cache_path.exists():
        notes.append(f"no cache file yet at {cache_path}: every judgment is a call")
    return notes


def _target(spec: JudgeSpec, settings: ScoreSettings) -> _Target:
    """The judge's identity (what its cache keys hold), what prices it and its concurrency, as its backend
    says the run would open it, with nothing started."""
    concurrency = settings.engine.concurrency
    cap = judge_max_concurrency(spec)
    pricing = judge_pricing(spec)
    return _Target(
        judge_identity(spec, settings.judge),
        pricing.kind,
        pricing.model,
        concurrency if cap is None else min(concurrency, cap),
    )


def _cached(path: Path | None, keys: list[str]) -> dict[str, Any]:
    """One batched read of every request key; a missing cache file is not created by an estimate."""
    if path is None or not path.exists():
        return {}
    store = Cache(path)
    try:
        return store.get_many(keys)
    finally:
        store.close()


class _Tokens:
    """litellm's token counter, once per distinct conversation and tokenizer."""

    def __init__(self) -> None:
        from judgekit.judges.litellm_judge import import_litellm

        self._litellm = import_litellm()
        self._prompts: dict[tuple[str, int], int] = {}
        self._outputs: dict[tuple[str, int], tuple[int, str]] = {}

    def tokenizer_model(self, target: _Target) -> str:
        """The model name litellm picks a tokenizer by: the provider's own name (gpt-4o-mini for
        openai/gpt-4o-mini, which selects o200k_base); '' (litellm's default) for local and Python judges."""
        if target.model is None:
            return ""
        try:
            return str(self._litellm.get_llm_provider(target.model)[0])
        except Exception:
            return target.model

    def describe(self, model: str) -> str:
        """Which tokenizer litellm's counter uses for ``model`` (internals, so best effort)."""
        try:
            from litellm.litellm_core_utils.token_counter import openai_tokenizer_encoding_name
            from litellm.utils import huggingface_tokenizer_kind, select_tokenizer

            if select_tokenizer(model)["type"] == "huggingface_tokenizer":
                return f"Hugging Face {huggingface_tokenizer_kind(model)}, litellm's for {model}"
            name = openai_tokenizer_encoding_name(model)
            known = model in self._litellm.open_ai_chat_completion_models or model in self._litellm.azure_llms
        except Exception:
            return f"litellm's token counter for {model or 'an unnamed model'}"
        if known:
            return f"tiktoken {name}, litellm's for {model}"
        what = f"{model}" if model else "this judge"
        return (
            f"tiktoken {name}, litellm's default: it has no tokenizer for {what}, so counts are approximate"
        )

    def prompt(self, model: str, job: Job) -> int:
        key = (model, id(job.plan))  # the samples of a unit share their plan, so count it once
        if key not in self._prompts:
            self._prompts[key] = int(
                self._litellm.token_counter(model=model, messages=list(job.plan.messages))
            )
        return self._prompts[key]

    def output(
        self, model: str, job: Job, settings: ScoreSettings, assume: EstimateSettings
    ) -> tuple[int, str]:
        """Output tokens of one call, and what the figure is."""
        if assume.output_tokens is not None:
            return assume.output_tokens, "--output-tokens"
        if settings.max_tokens is not None:
            return settings.max_tokens, "--max-tokens, the most a call can use"
        schema = job.params.schema_
        if schema is None:
            return FREE_TEXT_TOKENS, (
                "assumed, as the rubric's answers are free text; bound them with --max-tokens or set "
                "--output-tokens"
            )
        key = (model, id(schema))
        if key not in self._outputs:
            answer, strings = longest_answer(schema)
            text = json.dumps(answer, ensure_ascii=False)
            n = int(self._litellm.token_counter(model=model, text=text)) + strings * STRING_FIELD_TOKENS
            basis = "the longest valid JSON answer for the rubric's schema"
            if strings:
                basis += f", counting {STRING_FIELD_TOKENS} tokens per free-text field"
            self._outputs[key] = (n, basis)
        return self._outputs[key]


def longest_answer(schema: dict[str, Any]) -> tuple[Any, int]:
    """The longest JSON value the schema allows, and how many unbounded strings it has (written empty)."""
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v))), 0
    kind = schema.get("type")
    if kind == "object":
        out: dict[str, Any] = {}
        strings = 0
        for name, sub in schema.get("properties", {}).items():
            out[name], n = longest_answer(sub)
            strings += n
        return out, strings
    if kind == "string":
        return "", 1
    if kind == "boolean":
        return False, 0
    bounds = [schema[b] for b in ("minimum", "maximum") if schema.get(b) is not None]
    value = max(bounds, key=lambda v: len(json.dumps(v))) if bounds else UNBOUNDED_NUMBER
    return (int(value) if kind == "integer" else value), 0


def _judge_estimate(
    target: _Target,
    rubric: Rubric,
    jobs: Sequence[Job],
    keys: Sequence[str],
    found: dict[str, Any],
    counter: _Tokens,
    settings: ScoreSettings,
    assume: EstimateSettings,
) -> JudgeEstimate:
    model = counter.tokenizer_model(target)
    usage: Counter[tuple[int, int]] = Counter()  # (prompt, output) tokens -> calls: tiered prices per call
    bases: set[str] = set()
    cached = 0
    for job, key in zip(jobs, keys, strict=True):
        hit = found.get(key)
        if hit is not None and _parses(hit, rubric, job, settings):
            cached += 1
            continue
        out, basis = counter.output(model, job, settings, assume)
        bases.add(basis)
        usage[(counter.prompt(model, job), out)] += 1
    calls = sum(usage.values())
    per_call = sorted({out for _, out in usage})
    batch = settings.batch is not None
    source, price_in, price_out, cost = _price(target, usage, assume, batch)
    return JudgeEstimate(
        identity=target.identity, kind=target.kind, model=target.model, judgments=len(jobs), cached=cached,
        calls=calls, prompt_tokens=sum(p * n for (p, _), n in usage.items()),
        output_tokens=sum(o * n for (_, o), n in usage.items()),
        output_tokens_per_call=per_call[0] if len(per_call) == 1 else None,
        output_basis=_basis(per_call, bases), tokenizer=counter.describe(model), price_source=source,
        price_in_per_million=price_in, price_out_per_million=price_out, cost_usd=cost,
        concurrency=target.concurrency,
        time_s=(BATCH_WINDOW_S if calls else 0.0) if batch else run_time(calls, target.concurrency, assume.latency),
    )  # fmt: skip


def _parses(hit: Any, rubric: Rubric, job: Job, settings: ScoreSettings) -> bool:
    """Whether a cached answer parses as the run would read it (its reasoning set apart first)."""
    tags = settings.engine.reasoning_tags or rubric.reasoning_tags
    plan = job.plan
    return read_completion(hit, rubric, plan.slots, plan.untrusted, tags, job.params.max_tokens).parsed.ok


def _basis(per_call: list[int], bases: set[str]) -> str:
    if not per_call:
        return "no calls to make"
    size = f"{per_call[0]}" if len(per_call) == 1 else f"{per_call[0]}-{per_call[-1]}"
    return f"{size} per call: " + "; ".join(sorted(bases))


def _price(
    target: _Target, usage: Counter[tuple[int, int]], assume: EstimateSettings, batch: bool = False
) -> tuple[str | None, float | None, float | None, float | None]:
    """(source, USD per million in, out, total USD); all None but the source when the price is unknown.
    ``batch``: at the batch rates of litellm's table where it lists them (else at its list price)."""
    if assume.price_in is not None and assume.price_out is not None:
        cost = sum(n * (p * assume.price_in + o * assume.price_out) / 1e6 for (p, o), n in usage.items())
        return "--price-in/--price-out", assume.price_in, assume.price_out, cost
    if target.kind == "local":
        return "a local model: no charge", 0.0, 0.0, 0.0
    if target.model is None:
        return None, None, None, None
    from judgekit.judges.litellm_judge import import_litellm

    if batch:
        from judgekit.run.batch.api import batch_rates

        rates = batch_rates(target.model)
        if rates is not None:
            cost = sum(n * (p * rates[0] + o * rates[1]) for (p, o), n in usage.items())
            return "litellm's price table, batch rates", rates[0] * 1e6, rates[1] * 1e6, cost
    litellm = import_litellm()
    try:
        info = litellm.get_model_info(target.model)
        cost = 0.0
        for (p, o), n in usage.items():
            cost_in, cost_out = litellm.cost_per_token(
                model=target.model, prompt_tokens=p, completion_tokens=o
            )
            cost += n * (cost_in + cost_out)
    except Exception:  # litellm raises for a model missing from its table
        return None, None, None, None
    per_million = [
        None if info.get(k) is None else float(info[k]) * 1e6
        for k in ("input_cost_per_token", "output_cost_per_token")
    ]
    source = "litellm's price table" + (", list price: it lists no batch rate" if batch else "")
    return source, per_million[0], per_million[1], cost


def run_time(calls: int, concurrency: int, latency: float) -> float:
    """Seconds for ``calls`` calls of ``latency`` each: waves of ``concurrency`` calls (the limiter starts
    at the requested concurrency and only lowers it on a 429)."""
    return math.ceil(calls / concurrency) * latency


def _money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}" if usd >= 0.0001 else f"${usd:.2g}"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def format_estimate(est: Estimate) -> str:
    """The estimate as a person reads it in a terminal."""
    lines = [
        "dry run: no judge was called and no file was written",
        f"rubric    {est.rubric} ({est.mode}): {est.items} items, {est.judgments} judgments "
        f"({len(est.judges)} judge(s) x {est.samples} sample(s))",
    ]
    for j in est.judges:
        lines.append(f"judge     {j.identity}")
        lines.append(f"  calls   {j.calls:,} to make, {j.cached:,} of {j.judgments:,} judgments in the cache")
        lines.append(f"  prompt  {j.prompt_tokens:,} tokens; tokenizer: {j.tokenizer}")
        lines.append(f"  output  ~{j.output_tokens:,} tokens ({j.output_basis})")
        if j.cost_usd is None:
            lines.append(
                f"  price   unknown price for {j.model or j.identity}: pass --price-in and --price-out "
                "(USD per million tokens)"
            )
        else:
            rates = (
                f": ${j.price_in_per_million:g} in, ${j.price_out_per_million:g} out per million tokens"
                if j.kind != "local"
                and j.price_in_per_million is not None
                and j.price_out_per_million is not None
                else ""
            )
            lines.append(f"  price   {_money(j.cost_usd)} ({j.price_source}{rates})")
        pace = "at most (the batch's completion window)" if est.batch else f"at concurrency {j.concurrency}"
        lines.append(f"  time    ~{_duration(j.time_s)} {pace}")
    cost = "unknown price" if est.cost_usd is None else _money(est.cost_usd)
    if est.cost_usd is None and len(est.judges) > len(est.unknown_price):
        known = sum(j.cost_usd or 0.0 for j in est.judges)
        cost += f" ({_money(known)} for the judges with a price)"
    lines.append(
        f"total     {est.calls:,} calls, {est.prompt_tokens:,} prompt + ~{est.output_tokens:,} output tokens, "
        f"{cost}, ~{_duration(est.time_s)}"
    )
    lines.extend(f"note      {n}" for n in est.notes)
    return "\n".join(lines)
