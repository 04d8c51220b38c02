"""The judge protocol and the factory that turns a ``--judge`` string into a judge.

A judge is anything with ``identity`` and ``async complete(messages, params) -> Completion``. litellm is one
implementation, imported only when used; a user's own Python object plugs in as ``module:attribute``.
"""

from __future__ import annotations

from judgekit.judges.base import (
    CallFailed,
    Completion,
    FunctionJudge,
    Judge,
    JudgeParams,
    TransientError,
)
from judgekit.judges.factory import JudgeOptions, resolve_judge

__all__ = [
    "CallFailed",
    "Completion",
    "FunctionJudge",
    "Judge",
    "JudgeOptions",
    "JudgeParams",
    "TransientError",
    "resolve_judge",
]
