"""The built-in judge backends, registered through the same hook as a user's (:func:`register_builtins`).

Each backend is a small factory that imports its SDK when a run opens it: a litellm model string (the
fallback: any string no other backend claims), ``local`` / ``local:PATH`` (a llama.cpp server started for the
run), ``module:attribute`` (a Python judge), a :class:`~judgekit.judges.panel_spec.PanelJudge` (a litellm
model with its own endpoint and key) and any object with the judge protocol.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from judgekit.judges.backend import Backend, OpenedJudge, OpenRequest, Pricing
from judgekit.judges.base import Judge
from judgekit.judges.factory import JudgeOptions, litellm_judge
from judgekit.judges.litellm_judge import IDENTITY_PREFIX as LITELLM_PREFIX
from judgekit.judges.litellm_judge import split_endpoint
from judgekit.judges.openai_compat import is_openai_compatible, lean_judge
from judgekit.judges.panel_spec import PanelJudge
from judgekit.judges.python_object import IDENTITY_PREFIX as PYTHON_PREFIX
from judgekit.judges.python_object import is_python_object, load_python_judge
from judgekit.judges.router import router_backend
from judgekit.scrub import url_secrets

LOCAL_CONCURRENCY = 2  # calls in flight at most for --judge local (llama.cpp serves one at a time)
POOL_THRESHOLD = 200  # calls from which a litellm judge runs in one worker process per core
LOCAL_PREFIX = "local:"


def register_builtins(register: Callable[[Backend], Any]) -> None:
    """The hook that registers judgekit's own backends (a user's backend calls the same ``register``)."""
    register(
        Backend(
            "litellm", _is_string, _open_litellm, 0, LITELLM_PREFIX, _litellm_spec, _takes_effort,
            identity=lambda model, options: litellm_judge(model, options).identity, build=litellm_judge,
            endpoint_from_identity=lambda rest: split_endpoint(rest)[1],
            pricing=lambda model: Pricing("litellm", model),
        )
    )  # fmt: skip
    register(
        Backend(
            "python", _is_python_spec, _open_python, 30, PYTHON_PREFIX, lambda rest, _: rest or None,
            identity=lambda spec, _options: load_python_judge(spec).identity,
            build=lambda spec, _options: load_python_judge(spec),
        )
    )  # fmt: skip
    register(
        Backend(
            "local", _is_local_spec, _open_local, 40, LOCAL_PREFIX, lambda _rest, _meta: "local",
            identity=_local_identity, pricing=lambda _spec: Pricing("local"), max_concurrency=LOCAL_CONCURRENCY,
        )
    )  # fmt: skip
    register(
        Backend(
            "panel-entry", _is_panel_entry, _open_panel_entry, 40, reasoning_effort=_takes_effort,
            identity=lambda entry, options: _build_panel_entry(entry, options).identity,
            build=_build_panel_entry, secrets=_panel_entry_secrets,
            pricing=lambda entry: Pricing("litellm", entry.model),
        )
    )  # fmt: skip
    register(
        Backend(
            "object", _is_judge_object, _open_object, 40,
            identity=lambda judge, _options: judge.identity, build=lambda judge, _options: judge,
        )
    )  # fmt: skip
    register(router_backend(pool_workers))  # --router FILE: a model_name group of litellm Router deployments


def _takes_effort(spec: object) -> bool:
    """Whether the model of a model string or panel entry takes ``reasoning_effort``, as litellm knows it."""
    from judgekit.judges.litellm_judge import takes_reasoning_effort

    model = spec.model if isinstance(spec, PanelJudge) else spec
    return not isinstance(model, str) or takes_reasoning_effort(model)


def _is_string(spec: object) -> bool:
    return isinstance(spec, str)


def _is_python_spec(spec: object) -> bool:
    return isinstance(spec, str) and is_python_object(spec)


def _is_local_spec(spec: object) -> bool:
    from judgekit.judges.local import is_local_spec

    return isinstance(spec, str) and is_local_spec(spec)


def _is_panel_entry(spec: object) -> bool:
    return isinstance(spec, PanelJudge)


def _is_judge_object(spec: object) -> bool:
    return not isinstance(spec, str) and isinstance(spec, Judge)


def pool_workers(options: JudgeOptions, n_calls: int) -> int:
    """Worker processes for a litellm judge: ``--workers``, else one per core (up to 4) for 200+ calls."""
    return options.workers or (min(os.cpu_count() or 1, 4) if n_calls >= POOL_THRESHOLD else 1)


@contextlib.asynccontextmanager
async def _open_litellm(model: str, request: OpenRequest) -> AsyncIterator[OpenedJudge]:
    """A litellm model; with many calls ahead its calls run in worker processes (litellm's per-call CPU then
    uses every core), stopped when the run ends. The lean client's HTTP session is closed here too."""
    options = request.options
    if options.client != "litellm" and is_openai_compatible(model, options.api_base):
        lean = lean_judge(model, options)  # one process keeps up with the server: no pool
        try:
            yield OpenedJudge(lean)
        finally:
            await lean.aclose()
        return
    judge = litellm_judge(model, options)
    workers = pool_workers(options, request.n_calls)
    if workers <= 1:
        yield OpenedJudge(judge)
        return
    from judgekit.judges.pool import ProcessPoolJudge

    pool_spec = {
        "model": model,
        "api_base": options.api_base,
        "api_key": options.api_key,
        "structured": judge.structured,
        "timeout": options.timeout,
        "identity": judge.base_identity,
    }
    async with ProcessPoolJudge(pool_spec, judge.identity, workers) as pool:
        yield OpenedJudge(pool)


def _litellm_spec(model: str, judge: Mapping[str, Any]) -> str | None:
    """``MODEL[@API_BASE]`` -> ``MODEL`` (the endpoint is read back on its own)."""
    api_base = judge.get("api_base")
    if isinstance(api_base, str) and model.endswith("@" + api_base):
        model = model[: -len(api_base) - 1]
    else:
        model = split_endpoint(model)[0]
    return model or None


@contextlib.asynccontextmanager
async def _open_panel_entry(entry: PanelJudge, request: OpenRequest) -> AsyncIterator[OpenedJudge]:
    """A judge of a panel with its own endpoint and key: the litellm backend with its options."""
    async with _open_litellm(
        entry.model, dataclasses.replace(request, options=entry.options(request.options))
    ) as o:
        yield o


def _build_panel_entry(entry: PanelJudge, options: JudgeOptions) -> Judge:
    """The litellm judge of a panel entry (the lean client, when a run picks it, reports the same identity)."""
    return litellm_judge(entry.model, entry.options(options))


def _panel_entry_secrets(entry: PanelJudge) -> list[str]:
    """A panel entry's own key and the credentials in its endpoint's URL."""
    return [key for key in [entry.secret()] if key] + url_secrets(entry.api_base)


def _local_structured(options: JudgeOptions) -> Literal["json_schema", "json_object", "none"]:
    """llama.cpp's server follows a JSON schema given as ``json_object`` (the OpenAI form it ignores)."""
    return "json_object" if options.structured == "auto" else options.structured


def _local_base_identity(name: str, size: int) -> str:
    return f"{LOCAL_PREFIX}{name}:{size}"


def _local_identity(spec: str, options: JudgeOptions) -> str:
    """The local judge's identity from its model file (name and size), without starting its server."""
    from judgekit.judges.local import check_gguf, default_model_target, parse_local_spec

    path = parse_local_spec(spec)
    if path is None:
        _, target, size = default_model_target()  # the default model, assembled or not yet
        name = check_gguf(target).name if target.exists() else target.name
    else:
        checked = check_gguf(path)
        name, size = checked.name, checked.stat().st_size
    return f"{_local_base_identity(name, size)}|structured={_local_structured(options)}"


@contextlib.asynccontextmanager
async def _open_local(spec: str, request: OpenRequest) -> AsyncIterator[OpenedJudge]:
    """Start (and afterwards stop) a llama.cpp server on loopback and judge through it with litellm; the
    event loop runs on while the model loads and while the server stops."""
    from judgekit.judges.litellm_judge import LiteLLMJudge
    from judgekit.judges.local import LocalServer, WatchedJudge, parse_local_spec

    options = request.options
    # llama.cpp only returns log-probabilities when started for them (and is slower then).
    async with LocalServer(parse_local_spec(spec), logprobs=request.logprobs) as server:
        path = Path(str(server.model_path))
        judge = LiteLLMJudge(
            server.model,
            api_base=server.api_base,
            api_key="no-key",
            structured=_local_structured(options),
            timeout=options.timeout,
            identity=_local_base_identity(path.name, path.stat().st_size),
        )
        # a dead server stops the run at once (JudgeDown); llama.cpp answers one request at a time
        yield OpenedJudge(WatchedJudge(judge, server), LOCAL_CONCURRENCY)


@contextlib.asynccontextmanager
async def _open_python(spec: str, _request: OpenRequest) -> AsyncIterator[OpenedJudge]:
    yield OpenedJudge(load_python_judge(spec))


@contextlib.asynccontextmanager
async def _open_object(judge: Judge, _request: OpenRequest) -> AsyncIterator[OpenedJudge]:
    yield OpenedJudge(judge)
