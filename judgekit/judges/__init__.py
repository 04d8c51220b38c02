"""Judges: the protocol, and the one registry every backend goes through.

A judge is anything with ``identity`` and ``async complete(messages, params) -> Completion``. A backend
(:class:`Backend`) claims the ``--judge`` values it serves, opens its judge for a run (owning any server or
worker pool) and declares how many calls it takes at once; litellm is one backend, imported only when used,
and a user's own Python object plugs in as ``module:attribute`` or through :func:`register`.
"""

from judgekit.judges.backend import Backend, OpenedJudge, OpenRequest, Pricing
from judgekit.judges.base import (
    CallFailed,
    Completion,
    FunctionJudge,
    Judge,
    JudgeDown,
    JudgeParams,
    QuotaExhausted,
    TransientError,
)
from judgekit.judges.factory import JudgeOptions
from judgekit.judges.registry import (
    backend_for,
    backends,
    judge_identity,
    judge_secrets,
    open_judge,
    register,
    resolve_judge,
    spec_from_meta,
    unregister,
)

__all__ = [
    "Backend",
    "CallFailed",
    "Completion",
    "FunctionJudge",
    "Judge",
    "JudgeDown",
    "JudgeOptions",
    "JudgeParams",
    "OpenRequest",
    "OpenedJudge",
    "Pricing",
    "QuotaExhausted",
    "TransientError",
    "backend_for",
    "backends",
    "judge_identity",
    "judge_secrets",
    "open_judge",
    "register",
    "resolve_judge",
    "spec_from_meta",
    "unregister",
]
