"""What a judge backend declares to the registry: the specs it claims, how it opens, how it is read back.

A backend is data plus three small functions, so built-in backends and a user's own register the same way
(:func:`judgekit.judges.registry.register`). Opening is an async context manager: the backend owns whatever
lives as long as the run (a llama.cpp server, a pool of worker processes, an HTTP session), closes all of it on
exit, and says how many calls it takes at once. A plain context manager is accepted too (entered in a thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from judgekit.judges.base import Judge

if TYPE_CHECKING:
    from judgekit.judges.factory import JudgeOptions


@dataclass(frozen=True)
class OpenedJudge:
    """A ready judge and the most calls it takes in flight (``None``: the run's ``--concurrency``; the run
    lowers its own setting to this cap, never raises it)."""

    judge: Judge
    max_concurrency: int | None = None


@dataclass(frozen=True)
class OpenRequest:
    """What the run asks of the judge it opens: its options, how many calls lie ahead, log-probabilities."""

    options: JudgeOptions
    n_calls: int = 0
    logprobs: bool = False


@dataclass(frozen=True)
class Pricing:
    """How a dry run prices a judge's calls: ``litellm`` by ``model`` in litellm's price table (``None``: an
    unknown price), ``local`` at no charge, ``python`` at an unknown price (``--price-in``/``--price-out``)."""

    kind: Literal["litellm", "local", "python"] = "python"
    model: str | None = None


# an async context manager; a plain one (a user's backend) is entered and exited in a worker thread
Opener = Callable[
    [Any, OpenRequest], AbstractAsyncContextManager[OpenedJudge] | AbstractContextManager[OpenedJudge]
]
SpecFromIdentity = Callable[[str, Mapping[str, Any]], str | None]
IdentityOf = Callable[[Any, "JudgeOptions"], str]
Builder = Callable[[Any, "JudgeOptions"], Judge]


@dataclass(frozen=True)
class Backend:
    """A registered judge backend.

    ``claims(spec)`` says whether a ``--judge`` value (a stripped string, or an object) is this backend's;
    among the backends that claim a spec the highest ``priority`` wins (the litellm fallback, which claims
    every string, has the lowest). ``open(spec, request)`` yields an :class:`OpenedJudge` and stops what it
    started on exit. ``identity_prefix`` and ``spec_from_identity(rest, meta_judge)`` turn the identity a
    score file records (``meta.judge.identity`` without its ``|settings``) back into a ``--judge`` spec.
    ``reasoning_effort``: whether its judges take ``--reasoning-effort`` (a run refuses it for the others);
    a function of the spec when that depends on the model.

    What the rest of judgekit may ask of a spec without opening it (the dry run, redaction, provenance), so
    that nothing outside ``judges/`` rebuilds a backend's details: ``identity(spec, options)`` is the
    identity its opened judge reports, found without starting anything (no server, no pool, no call);
    ``build(spec, options)`` a judge that needs nothing started (``None``: it must be opened), which also
    gives the identity when ``identity`` is not set; ``secrets(spec)`` the keys and endpoint credentials its
    judge sends; ``endpoint_from_identity(rest)`` the endpoint an identity records; ``pricing(spec)`` how a
    dry run prices its calls; ``max_concurrency`` the most calls its judges take at once, if it caps them.
    """

    name: str
    claims: Callable[[object], bool]
    open: Opener
    priority: int = 50
    identity_prefix: str | None = None
    spec_from_identity: SpecFromIdentity | None = None
    reasoning_effort: bool | Callable[[object], bool] = False  # its judges pass --reasoning-effort on
    identity: IdentityOf | None = None
    build: Builder | None = None
    secrets: Callable[[Any], list[str]] | None = None
    endpoint_from_identity: Callable[[str], str | None] | None = None
    pricing: Callable[[Any], Pricing] | None = None
    max_concurrency: int | None = None
