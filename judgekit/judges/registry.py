"""The one registry every judge backend goes through: which backend a ``--judge`` value names, opening it for
a run, and reading a recorded identity back into a spec.

Built-in backends (:mod:`judgekit.judges.providers`) register through :func:`register` on first use, exactly
as a user's backend does; registering one with the name of another replaces it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from judgekit.errors import ConfigError
from judgekit.judges.backend import Backend, OpenedJudge, OpenRequest, Pricing
from judgekit.judges.base import Judge
from judgekit.judges.factory import JudgeOptions
from judgekit.judges.opening import entered

_backends: dict[str, Backend] = {}
_builtins_loaded = False


def register(backend: Backend) -> Backend:
    """Add ``backend`` (or replace the one of the same name); returns it, so it can serve as a decorator's result."""
    _load_builtins()
    _backends[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    """Remove the backend called ``name`` (nothing happens if there is none)."""
    _load_builtins()
    _backends.pop(name, None)


def backends() -> list[Backend]:
    """The registered backends, in the order a spec is offered to them (highest priority first)."""
    _load_builtins()
    ordered = list(_backends.values())[::-1]  # among equal priorities, the latest registered first
    return sorted(ordered, key=lambda b: -b.priority)


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        from judgekit.judges.providers import register_builtins

        register_builtins(lambda backend: _backends.setdefault(backend.name, backend))


def normalise(spec: object) -> object:
    """A string spec without surrounding blanks; an empty one is an error."""
    if isinstance(spec, str):
        spec = spec.strip()
        if not spec:
            raise ConfigError("--judge is empty")
    return spec


def backend_for(spec: object) -> Backend:
    """The backend a (normalised) ``--judge`` value names; a one-line :class:`ConfigError` if none claims it."""
    for backend in backends():
        if backend.claims(spec):
            return backend
    raise ConfigError(f"judge must be a model string or an object with async complete(), got {spec!r}")


@contextlib.asynccontextmanager
async def open_judge(
    spec: object, options: JudgeOptions | None = None, n_calls: int = 0, logprobs: bool = False
) -> AsyncIterator[OpenedJudge]:
    """Open the judge ``spec`` names for a run of ``n_calls`` calls (``async with``); its backend stops what
    it started on exit, without stalling the event loop.

    ``logprobs``: the run asks for token log-probabilities (a local server must be started for them). A
    backend whose opener is a plain context manager is entered and exited in a worker thread."""
    spec = normalise(spec)
    request = OpenRequest(options or JudgeOptions(), n_calls, logprobs)
    async with entered(backend_for(spec).open(spec, request)) as opened:
        yield opened


def check_reasoning_effort(specs: Sequence[object], effort: str | None) -> None:
    """``--reasoning-effort`` goes only to judges whose backend passes it on to the model (litellm's); for any
    other (the local server, a Python judge) the run is refused before it starts, rather than the effort
    silently ignored."""
    if effort is None:
        return
    for spec in specs:
        spec = normalise(spec)
        backend = backend_for(spec)
        takes = backend.reasoning_effort
        if callable(takes) and not takes(spec):
            raise ConfigError(
                f"--reasoning-effort: the model of judge {getattr(spec, 'model', spec)} cannot take it "
                "(litellm lists no reasoning_effort for it): drop the option for this judge"
            )
        if not takes:
            raise ConfigError(
                f"--reasoning-effort: the {backend.name} judge {_name(spec)} cannot take it; only judges called "
                "through litellm (a model string, a panel entry, a router group) pass it on"
            )


def spec_from_meta(judge: Mapping[str, Any]) -> str | None:
    """The ``--judge`` spec that reproduces a score file's ``meta.judge`` (``None``: unknown, e.g. a panel)."""
    identity = judge.get("identity")
    if not isinstance(identity, str):
        return None
    identity = identity.split("|", 1)[0]
    for backend in backends():
        prefix = backend.identity_prefix
        if prefix and backend.spec_from_identity and identity.startswith(prefix):
            return backend.spec_from_identity(identity[len(prefix) :], judge)
    return None


def resolve_judge(spec: object, options: JudgeOptions | None = None) -> Judge:
    """The judge ``spec`` names, built by its backend when it needs nothing started (a litellm model, a Python
    judge, a judge object); a backend that starts something (``local``, a router group) is opened with
    :func:`open_judge` instead, and asking this of it is a one-line :class:`ConfigError`."""
    spec = normalise(spec)
    backend = backend_for(spec)
    if backend.build is None:
        raise ConfigError(
            f"judge {_name(spec)}: the {backend.name} backend starts what its judge needs; "
            "open it with judgekit.judges.open_judge"
        )
    return backend.build(spec, options or JudgeOptions())


def judge_identity(spec: object, options: JudgeOptions | None = None) -> str:
    """The identity (part of every cache key) the judge ``spec`` names would report once opened with
    ``options``, found without starting anything: no server, no worker pool, no call."""
    spec = normalise(spec)
    backend = backend_for(spec)
    options = options or JudgeOptions()
    if backend.identity is not None:
        return backend.identity(spec, options)
    if backend.build is not None:
        return backend.build(spec, options).identity
    if isinstance(spec, Judge):
        return spec.identity
    raise ConfigError(
        f"judge {_name(spec)}: the {backend.name} backend cannot tell its identity without opening its judge "
        "(give its Backend an identity function)"
    )


def judge_secrets(spec: object) -> list[str]:
    """The keys and endpoint credentials the judge ``spec`` names sends (the run's own are not included)."""
    spec = normalise(spec)
    found = backend_for(spec).secrets
    return [s for s in found(spec) if s] if found is not None else []


def judge_pricing(spec: object) -> Pricing:
    """How a dry run prices the calls of the judge ``spec`` names (a backend that says nothing: unknown)."""
    spec = normalise(spec)
    pricing = backend_for(spec).pricing
    return pricing(spec) if pricing is not None else Pricing()


def judge_max_concurrency(spec: object) -> int | None:
    """The most calls in flight the judge ``spec`` names takes, when its backend caps them up front."""
    return backend_for(normalise(spec)).max_concurrency


def endpoint_from_identity(identity: str) -> str | None:
    """The endpoint a recorded identity names (``litellm:MODEL@URL|...`` -> ``URL``), if its backend says."""
    identity = identity.split("|", 1)[0]
    for backend in backends():
        prefix, read = backend.identity_prefix, backend.endpoint_from_identity
        if prefix and read is not None and identity.startswith(prefix):
            return read(identity[len(prefix) :])
    return None


def _name(spec: object) -> str:
    return spec if isinstance(spec, str) else type(spec).__name__
