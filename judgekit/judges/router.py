"""One judge on several deployments (``--router router.yaml``): litellm's Router picks the deployment of each call.

The file is litellm's model list (``model_list:`` entries with ``model_name`` and ``litellm_params``) plus a few
``router_settings``; it is checked here, before any call, so that a field litellm would silently ignore (a
typo such as ``rmp``) is an error instead. A ``model_name`` group is one logical judge: its identity, and so
every cache key, names the group and the models behind it, never a deployment's endpoint or key, so a
rerun with deployments reordered, removed or added (of the same models) replays the cache.

Who does what: the engine retries (``--max-retries``, backoff, Retry-After), lowers its concurrency on 429s
and stops a run whose judge is down (the breaker); the Router only chooses the deployment of each attempt,
skips deployments cooling down after failures, keeps each deployment under its rpm/tpm, and falls back to
other groups if the file says so. Its own retries are off, so retries never multiply. The Router lives in
the run's process (no worker pool), so its rpm/tpm counts cover the whole run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from judgekit.errors import ConfigError
from judgekit.judges.backend import Backend, OpenedJudge, OpenRequest, Pricing
from judgekit.judges.base import CallFailed, TransientError
from judgekit.judges.factory import JudgeOptions
from judgekit.judges.litellm_judge import (
    LiteLLMJudge,
    check_api_base,
    classify_error,
    connection_detail,
    import_litellm,
    public_url,
)
from judgekit.scrub import url_secrets

log = logging.getLogger("judgekit")

IDENTITY_PREFIX = "router:"  # identity: router:GROUP=MODEL[,MODEL...][>FALLBACK=MODEL...]|structured=MODE
SPEC_PREFIX = "router/"  # --judge router/GROUP (or just GROUP) names a group of the --router file
ENV_PREFIX = "os.environ/"  # litellm's way to name an environment variable in its config
LIMITED_STRATEGY = "usage-based-routing-v2"  # the strategy that counts rpm before each call
Strategy = Literal[
    "simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2", "cost-based-routing"
]
# litellm_params that would make one deployment answer differently from its group: the run sets them
_SAMPLING = frozenset(
    {"temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "n", "response_format",
     "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "stream", "tools", "extra_body"}
)  # fmt: skip
_NOT_JUDGEKITS = {
    "num_retries": "judgekit's engine retries (--max-retries), so the Router's retries are off",
    "retry_policy": "judgekit's engine retries (--max-retries), so the Router's retries are off",
    "litellm_settings": "judgekit reads only model_list and router_settings from a litellm config",
    "general_settings": "judgekit reads only model_list and router_settings from a litellm config",
    "environment_variables": "judgekit reads only model_list and router_settings from a litellm config",
}
_SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key")


def _refuse(raw: Any, where: str) -> Any:
    if isinstance(raw, dict):
        for key in raw:
            if key in _NOT_JUDGEKITS:
                raise ValueError(f"{key} is not supported here: {_NOT_JUDGEKITS[key]}")
            if where == "litellm_params" and key in _SAMPLING:
                raise ValueError(
                    f"{key} is not a deployment setting: the run sets it for every deployment alike "
                    "(the rubric, --temperature, --max-tokens, --seed), so answers do not depend on the deployment"
                )
    return raw


class _Strict(BaseModel):
    """A part of the file: unknown keys refused, and the keys litellm knows but judgekit does not take."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _where: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _supported(cls, raw: Any) -> Any:
        return _refuse(raw, cls._where)


class DeploymentParams(_Strict):
    """A deployment's ``litellm_params``: where and how to call its model (never how to sample)."""

    _where = "litellm_params"

    model: str = Field(min_length=1, description="litellm model string, e.g. openai/gpt-4o-mini")
    api_base: str | None = None
    api_key: SecretStr | None = Field(None, description="the key, or os.environ/VAR (never written anywhere)")
    api_version: str | None = None
    organization: str | None = None
    aws_region_name: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    vertex_project: str | None = None
    vertex_location: str | None = None
    rpm: int | None = Field(None, ge=1, description="requests per minute this deployment takes at most")
    tpm: int | None = Field(None, ge=1, description="tokens per minute this deployment takes at most")
    timeout: float | None = Field(None, gt=0, description="seconds per call to this deployment")
    max_parallel_requests: int | None = Field(None, ge=1)
    weight: float | None = Field(None, gt=0, description="simple-shuffle: share of calls, relative")

    @field_validator("model")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


class DeploymentInfo(BaseModel):
    """``model_info``: the deployment's id, and the model it is priced as (an Azure deployment's base model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(None, min_length=1)
    base_model: str | None = Field(None, min_length=1)


class Deployment(BaseModel):
    """One entry of ``model_list``: a group name and how to reach one deployment of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str = Field(min_length=1, description="the group: the judge's name (--judge NAME)")
    litellm_params: DeploymentParams
    model_info: DeploymentInfo | None = None


class RouterSettings(_Strict):
    """The ``router_settings`` judgekit passes on to litellm's Router."""

    routing_strategy: Strategy | None = Field(
        None,
        description=f"default: {LIMITED_STRATEGY} when a deployment sets rpm or tpm, else simple-shuffle",
    )
    fallbacks: list[dict[str, list[str]]] = Field(
        default_factory=list, description="[{GROUP: [OTHER_GROUP, ...]}]: groups tried when GROUP fails"
    )
    allowed_fails: int | None = Field(None, ge=0, description="failures per minute before a cooldown")
    cooldown_time: float | None = Field(None, ge=0, description="seconds a failing deployment is skipped")
    disable_cooldowns: bool | None = None
    timeout: float | None = Field(None, gt=0, description="seconds per call (default: --timeout)")


class RouterFile(_Strict):
    """A ``--router`` file: litellm's ``model_list`` and optional ``router_settings``."""

    model_list: list[Deployment]
    router_settings: RouterSettings = Field(default_factory=RouterSettings)

    @field_validator("model_list")
    @classmethod
    def _some(cls, v: list[Deployment]) -> list[Deployment]:
        if not v:
            raise ValueError("no deployments: give at least one {model_name, litellm_params: {model, ...}}")
        return v

    @model_validator(mode="after")
    def _known_groups(self) -> RouterFile:
        names = {d.model_name for d in self.model_list}
        for k, rule in enumerate(self.router_settings.fallbacks):
            for group in [*rule, *(g for targets in rule.values() for g in targets)]:
                if group not in names:
                    raise ValueError(
                        f"router_settings.fallbacks.{k}: {group!r} is not a model_name of model_list"
                    )
        limited = any(d.litellm_params.rpm or d.litellm_params.tpm for d in self.model_list)
        strategy = self.router_settings.routing_strategy
        if limited and strategy not in (None, LIMITED_STRATEGY):
            raise ValueError(
                f"router_settings.routing_strategy {strategy} does not hold rpm/tpm limits (litellm only "
                f"weighs by them); use {LIMITED_STRATEGY} (the default when a deployment sets rpm or tpm)"
            )
        return self

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(d.model_name for d in self.model_list))


def _resolve(value: str, where: str) -> str:
    """litellm's ``os.environ/VAR`` -> the variable's value (which must be set); anything else as given."""
    if not value.startswith(ENV_PREFIX):
        return value
    name = value[len(ENV_PREFIX) :]
    found = os.environ.get(name)
    if not found:
        raise ConfigError(f"{where}: environment variable {name} ({value}) is not set")
    return found


class RouterJudge(BaseModel):
    """A ``model_name`` group of a router file: the judge a run names with ``--router FILE --judge GROUP``."""

    model_config = ConfigDict(frozen=True)

    path: str
    name: str
    config: RouterFile

    @property
    def fallbacks(self) -> list[str]:
        """The groups litellm tries, in order, when a call to this one fails."""
        found = [g for rule in self.config.router_settings.fallbacks for g in rule.get(self.name, [])]
        return list(dict.fromkeys(g for g in found if g != self.name))

    def deployments(self, group: str | None = None) -> list[Deployment]:
        return [d for d in self.config.model_list if d.model_name == (group or self.name)]

    def _used(self) -> list[Deployment]:
        """This group's deployments and its fallbacks' (the Router is given nothing else)."""
        return [d for g in [self.name, *self.fallbacks] for d in self.deployments(g)]

    def model_list(self) -> list[dict[str, Any]]:
        """litellm's model_list for the Router, with every ``os.environ/VAR`` read (ConfigError if unset)."""
        out = []
        for d in self._used():
            where = f"{self.path}: {d.model_name} ({d.litellm_params.model})"
            params: dict[str, Any] = {}
            for key, value in d.litellm_params.model_dump(exclude_none=True).items():
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                params[key] = _resolve(value, f"{where} {key}") if isinstance(value, str) else value
            if "api_base" in params:
                check_api_base(params["api_base"], f"{where} api_base")
            entry: dict[str, Any] = {"model_name": d.model_name, "litellm_params": params}
            if d.model_info is not None:
                entry["model_info"] = d.model_info.model_dump(exclude_none=True)
            out.append(entry)
        return out

    def secrets(self) -> list[str]:
        """The keys this judge sends (to redact from everything the run writes or prints)."""
        return [
            str(p[f])
            for p in (e["litellm_params"] for e in self.model_list())
            for f in _SECRET_FIELDS
            if p.get(f)
        ]

    def structured(self, options: JudgeOptions) -> Literal["json_schema", "json_object", "none"]:
        """``--structured``, or for auto: OpenAI's json_schema when every deployment takes it (a server at an
        api_base is taken to, as for a plain litellm judge), else the prompt alone."""
        if options.structured != "auto":
            return options.structured
        litellm = import_litellm()
        for d in self._used():
            if d.litellm_params.api_base:
                continue
            try:
                if not litellm.supports_response_schema(model=d.litellm_params.model):
                    return "none"
            except Exception:
                return "none"
        return "json_schema"

    def base_identity(self) -> str:
        """The logical judge: each group with the sorted models behind it; no endpoint, key or order."""
        return IDENTITY_PREFIX + ">".join(
            f"{g}=" + ",".join(sorted({_canonical(d.litellm_params.model) for d in self.deployments(g)}))
            for g in [self.name, *self.fallbacks]
        )

    def identity(self, options: JudgeOptions) -> str:
        return f"{self.base_identity()}|structured={self.structured(options)}"

    def price_model(self) -> str | None:
        """The model litellm's price table prices this group's calls by: its deployments' (base) model when
        they all cost the same per token; None (unknown price) when they differ or are not in the table."""
        litellm = import_litellm()
        models = sorted(
            {(d.model_info and d.model_info.base_model) or d.litellm_params.model for d in self.deployments()}
        )
        prices = set()
        for m in models:
            try:
                info = litellm.get_model_info(m)
            except Exception:
                return None
            prices.add((info.get("input_cost_per_token"), info.get("output_cost_per_token")))
        return models[0] if len(prices) == 1 else None

    @property
    def limited(self) -> bool:
        """Some deployment it may call has an rpm or tpm limit."""
        return any(d.litellm_params.rpm or d.litellm_params.tpm for d in self._used())

    def router_kwargs(self, options: JudgeOptions) -> dict[str, Any]:
        """The Router's arguments: its deployments, settings, and no retries of its own."""
        settings = self.config.router_settings
        strategy = settings.routing_strategy or (LIMITED_STRATEGY if self.limited else "simple-shuffle")
        kwargs: dict[str, Any] = {
            "model_list": self.model_list(),
            "routing_strategy": strategy,
            "num_retries": 0,
            "timeout": settings.timeout or options.timeout,
        }
        if self.fallbacks:
            kwargs["fallbacks"] = [{self.name: self.fallbacks}]
        for key in ("allowed_fails", "cooldown_time", "disable_cooldowns"):
            if getattr(settings, key) is not None:
                kwargs[key] = getattr(settings, key)
        return kwargs


def _canonical(model: str) -> str:
    """``gpt-4o`` and ``openai/gpt-4o`` are one model: litellm's provider/model form."""
    try:
        name, provider, *_ = import_litellm().get_llm_provider(model)
        return f"{provider}/{name}"
    except Exception:
        return model


def load_router(path: str | Path) -> RouterFile:
    """A router file, checked: one-line :class:`ConfigError` on bad YAML, a key twice, an unknown field."""
    from judgekit.yamlfile import read_mapping, validate

    return validate(path, RouterFile, read_mapping(path, "a litellm router file (model_list: [...])"))


def router_judges(path: str | Path, names: Sequence[str] | None) -> list[RouterJudge]:
    """The judges ``--router FILE --judge NAME ...`` names (``NAME`` or ``router/NAME``: a model_name group);
    without a name, the file's only group. Every key variable they use must be set."""
    config = load_router(path)
    groups = config.groups
    wanted = [n.strip().removeprefix(SPEC_PREFIX) for n in names or []]
    if not wanted:
        if len(groups) > 1:
            raise ConfigError(
                f"{path} has {len(groups)} model_name groups ({', '.join(groups)}): "
                "name the judge with --judge GROUP (or --judge router/GROUP)"
            )
        wanted = groups
    judges = []
    for name in wanted:
        if name not in groups:
            raise ConfigError(
                f"--judge {name!r} is not a model_name of {path} (its groups: {', '.join(groups)}); with "
                "--router every --judge names a group of the file"
            )
        judge = RouterJudge(path=str(path), name=name, config=config)
        judge.model_list()  # an unset os.environ/VAR or a bad api_base is an error now
        judges.append(judge)
    return judges


class RoutedJudge(LiteLLMJudge):
    """A litellm judge whose calls go through a litellm Router over the group's deployments."""

    def __init__(self, spec: RouterJudge, options: JudgeOptions) -> None:
        super().__init__(
            spec.name,
            structured=spec.structured(options),
            timeout=options.timeout,
            identity=spec.base_identity(),
        )
        from litellm.router import Router

        self.router: Any = Router(**spec.router_kwargs(options))
        self._last_error: TransientError | CallFailed | None = None
        # deployment id -> where it is (no key, no credentials), to say which deployment is unreachable
        self._where = {
            str(d["model_info"]["id"]): public_url(d["litellm_params"].get("api_base") or "")
            or d["litellm_params"]["model"]
            for d in self.router.get_model_list() or []
        }

    async def _send(self, kwargs: dict[str, Any]) -> Any:
        from litellm.types.router import RouterRateLimitError

        kwargs.pop("timeout", None)  # the deployment's own timeout, else the Router's (--timeout)
        try:
            return await self.router.acompletion(**kwargs)
        except RouterRateLimitError as err:
            raise self._nothing_to_call(err) from None
        except Exception as err:
            found = self._over_limit(err) or classify_error(err)
            where = self._where.get(str(getattr(err, "failed_deployment_id", "")))
            if isinstance(found, TransientError) and found.kind == "connection" and where:
                found = TransientError(
                    "connection", f"{connection_detail(err)} at {where} ({type(err).__name__})"
                )
            if isinstance(found, TransientError | CallFailed):
                self._last_error = found
            raise found from None

    def _nothing_to_call(self, err: Any) -> TransientError | CallFailed:
        """Every deployment cools down after failing: the run sees the failure that put them there, so the
        breaker stops a run whose deployments are all down, and the limiter backs off from 429s."""
        last = self._last_error
        why = f"every deployment of {self.model!r} is cooling down"
        if isinstance(last, CallFailed):
            return CallFailed(f"{last}; {why}")
        kind = last.kind if last is not None else "rate_limit"
        detail = str(last) if last is not None else "rpm/tpm limits reached"
        return TransientError(kind, f"{detail}; {why}", float(getattr(err, "cooldown_time", 1.0) or 1.0))

    def _over_limit(self, err: Exception) -> TransientError | None:
        """litellm's own refusal of a call over rpm/tpm (not a provider's 429): when every deployment is at
        its limit, wait for litellm's next minute; when one lost a race for the last slot, ask again now."""
        request = getattr(getattr(err, "response", None), "request", None)
        if getattr(request, "method", None) != "tpm_rpm_limits":
            return None
        if "No deployments available" in str(err):
            why = f"every deployment of {self.model!r} is at its rpm/tpm limit this minute"
            return TransientError("rate_limit", why, _next_minute())
        return TransientError("rate_limit", f"a deployment of {self.model!r} reached its rpm/tpm limit", 0.0)

    def close(self) -> None:
        """Unhook the Router's callbacks from litellm's global lists (a later run starts clean)."""
        self.router.discard()


def _next_minute() -> float:
    """Seconds until litellm's per-minute rpm/tpm counters start again (they count per UTC clock minute)."""
    now = dt.datetime.now(dt.UTC)
    return 60.0 - now.second - now.microsecond / 1e6 + 0.05


def _is_router_spec(spec: object) -> bool:
    return isinstance(spec, RouterJudge) or (isinstance(spec, str) and spec.startswith(SPEC_PREFIX))


def router_backend(pool_workers: Callable[[JudgeOptions, int], int]) -> Backend:
    """The registry's entry: claims a :class:`RouterJudge` (and ``router/NAME``, to say the file is missing).
    ``pool_workers(options, n_calls)``: the worker processes a litellm judge gets for that many calls."""

    @contextlib.asynccontextmanager
    async def open_router(spec: RouterJudge | str, request: OpenRequest) -> AsyncIterator[OpenedJudge]:
        """With rpm/tpm limits, one Router in this process (its counts must see every call of the run);
        without, a Router in each worker process of the pool, as a plain litellm judge gets."""
        spec = _group(spec)
        workers = pool_workers(request.options, request.n_calls)
        if spec.limited and workers > 1:
            if request.options.workers:
                log.warning(
                    "judgekit: --workers does not apply to %s: its rpm/tpm limits need one process", spec.name
                )
            workers = 1
        if workers > 1:
            import litellm.router  # noqa: F401 (imported once here, inherited by the forked workers)

            from judgekit.judges.pool import ProcessPoolJudge

            pool_spec = {"make": RoutedJudge, "spec": spec, "options": request.options}
            async with ProcessPoolJudge(pool_spec, spec.identity(request.options), workers) as pool:
                yield OpenedJudge(pool)
            return
        judge = RoutedJudge(spec, request.options)
        try:
            yield OpenedJudge(judge)
        finally:
            judge.close()

    return Backend(
        "router", _is_router_spec, open_router, 45, IDENTITY_PREFIX, lambda _rest, _meta: None, True,
        identity=lambda spec, options: _group(spec).identity(options), secrets=_secrets,
        pricing=lambda spec: Pricing("litellm", _group(spec).price_model()),
    )  # fmt: skip


def _group(spec: RouterJudge | str) -> RouterJudge:
    """The router group a spec names; ``router/NAME`` without ``--router FILE`` is a one-line error."""
    if isinstance(spec, str):
        raise ConfigError(f"--judge {spec} names a group of a router file: give the file with --router FILE")
    return spec


def _secrets(spec: RouterJudge | str) -> list[str]:
    """The keys of the group's deployments (its fallbacks' too) and the credentials in their endpoints' URLs."""
    group = _group(spec)
    urls = [u for e in group.model_list() for u in url_secrets(e["litellm_params"].get("api_base"))]
    return group.secrets() + urls
