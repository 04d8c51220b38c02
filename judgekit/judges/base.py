"""What a judge is: one async method from chat messages and parameters to a completion."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Message = dict[str, str]


class JudgeParams(BaseModel):
    """Sampling parameters of one call. ``schema`` is the JSON schema the answer must follow; each judge
    decides how to ask its backend for it (OpenAI json_schema, llama.cpp json_object+schema, or prompt only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    logprobs: bool = False
    top_logprobs: int | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None

    def cache_view(self) -> dict[str, Any]:
        # without an effort the view is what it was before there was one: existing cache entries still match
        return self.model_dump(by_alias=True, exclude=None if self.reasoning_effort else {"reasoning_effort"})

    @cached_property
    def cache_json(self) -> str:
        """Canonical JSON of the parameters, computed once per (frozen) object for cache keys."""
        return json.dumps(self.cache_view(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Completion(BaseModel):
    """A judge's answer with what it cost."""

    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    model: str = ""
    finish_reason: str | None = None
    logprobs: list[dict[str, Any]] | None = None
    # A reasoning model's thinking when the provider returns it apart from the content (reasoning_content),
    # and the completion tokens it spent thinking (part of completion_tokens, as OpenAI counts them).
    reasoning: str | None = None
    reasoning_tokens: int = 0


class TransientError(Exception):
    """A failure worth retrying (rate limit, 5xx, timeout, dropped connection, an answer that is not a chat
    completion: ``malformed``)."""

    def __init__(
        self,
        kind: Literal["rate_limit", "server_error", "timeout", "connection", "malformed"],
        message: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class CallFailed(Exception):
    """A failure that retrying will not fix (bad request, authentication, unknown model)."""


class JudgeDown(Exception):
    """The judge knows it can no longer answer anything (its server process died): stop the run at once."""


class QuotaExhausted(JudgeDown):
    """The provider refuses every call until the account is paid or raised (OpenAI's ``insufficient_quota``
    429): no wait fixes it, so it stops the run at once like a judge that went down."""


#: Error codes (OpenAI's error ``code`` or ``type``) that mean the account's quota is spent, not a rate limit.
QUOTA_CODES = ("insufficient_quota", "billing_hard_limit_reached", "billing_not_active")


def quota_code(*texts: object) -> str | None:
    """The quota error code named in any of ``texts`` (error fields or messages), or ``None``."""
    for text in texts:
        if text is None:
            continue
        for code in QUOTA_CODES:
            if code in str(text):
                return code
    return None


@runtime_checkable
class Judge(Protocol):
    """Anything with a stable, secret-free ``identity`` and an async ``complete`` is a judge."""

    @property
    def identity(self) -> str: ...

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion: ...


class FunctionJudge:
    """Adapts a user's function ``(messages, params) -> str | Completion`` (sync or async) to the protocol."""

    def __init__(self, fn: Callable[..., Any], identity: str) -> None:
        self._fn = fn
        self._identity = identity

    @property
    def identity(self) -> str:
        return self._identity

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        start = time.perf_counter()
        result = self._fn(messages, params)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Completion):
            return result
        if isinstance(result, str) or result is None:
            return Completion(text=result, latency_s=time.perf_counter() - start, model=self._identity)
        raise CallFailed(
            f"judge {self._identity} returned {type(result).__name__}, expected str or Completion"
        )


AsyncJudgeFn = Callable[[list[Message], JudgeParams], Awaitable[Completion | str]]
