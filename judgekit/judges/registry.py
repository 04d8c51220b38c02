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
from judgekit.judges.backend import Backend, OpenedJudge, OpenRequest
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
            name = spec if isinstance(spec, str) else type(spec).__name__
            raise ConfigError(
                f"--reasoning-effort: the {backend.name} judge {name} cannot take it; only judges called "
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
