"""The default judge: any litellm model string (OpenAI, Anthropic, a local OpenAI-compatible server, ...).

litellm is imported on first use, after setting LITELLM_LOCAL_MODEL_COST_MAP so an offline machine does
not spend ~10 s retrying a price-table download at import. Retries are judgekit's job (the engine honours
Retry-After and adapts concurrency), so litellm's and the OpenAI client's own retries are switched off.
litellm's module settings are left as the process had them: what judgekit wants of a call (parameters the
provider would refuse dropped, no retries) travels with that call, so a library user's own litellm calls in the
same process behave as they would without judgekit.

The judge's identity (part of every cache key) names the endpoint litellm will really call, whether it came
from ``--api-base``, ``litellm.api_base`` or the provider's environment variable (``OPENAI_BASE_URL``,
``OPENAI_API_BASE``, ``<PROVIDER>_API_BASE``, ...): re-pointing the environment at another server must not
replay the first server's answers.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from judgekit.errors import ConfigError
from judgekit.judges.base import (
    CallFailed,
    Completion,
    JudgeParams,
    Message,
    QuotaExhausted,
    TransientError,
    quota_code,
)

StructuredMode = Literal["auto", "json_schema", "json_object", "none"]
IDENTITY_PREFIX = "litellm:"  # identity: litellm:MODEL[@PUBLIC_ENDPOINT]|structured=MODE

_litellm: Any = None


def import_litellm() -> Any:
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        _litellm = litellm
    return _litellm


def _retry_after(err: Exception) -> float | None:
    """Seconds the server asked us to wait: litellm keeps the headers on the exception itself."""
    value = None
    for source in (
        getattr(err, "litellm_response_headers", None),
        getattr(getattr(err, "response", None), "headers", None),
    ):
        if source:
            value = source.get("retry-after") or source.get("Retry-After")
            if value is not None:
                break
    return retry_after_seconds(value)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds from now."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def check_api_base(url: str, source: str = "--api-base") -> str:
    """An endpoint must be an http(s) URL; without a scheme every call fails as a 'connection error'."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{source} {url!r} is not an http:// or https:// URL (for example http://127.0.0.1:8000/v1)"
        )
    return url


def public_url(url: str) -> str:
    """The URL without user:password or query string, so an identity or a message never carries a secret."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def split_endpoint(model: str) -> tuple[str, str | None]:
    """``MODEL@http://HOST/v1`` (an identity without its prefix) -> (MODEL, URL); a model name may itself
    hold '@' (``x/sonnet@20240620``)."""
    found = re.fullmatch(r"(.+?)@(https?://\S+)", model)
    return (found.group(1), found.group(2)) if found else (model, None)


def _provider(model: str) -> str:
    try:
        return str(import_litellm().get_llm_provider(model)[1])
    except Exception:
        return model.split("/", 1)[0] if "/" in model else "openai"


def env_endpoint(model: str) -> tuple[str, str] | None:
    """(where it was set, URL) of the endpoint litellm uses for ``model`` when no api_base is passed."""
    litellm = import_litellm()
    if isinstance(getattr(litellm, "api_base", None), str) and litellm.api_base:
        return "litellm.api_base", str(litellm.api_base)
    provider = _provider(model).upper().replace("-", "_")
    names = (
        ("OPENAI_BASE_URL", "OPENAI_API_BASE")
        if provider == "OPENAI"
        else (f"{provider}_API_BASE", f"{provider}_BASE_URL")
    )
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def connection_detail(err: BaseException) -> str:
    """What went wrong under litellm's 'Connection error.': refused, reset, closed, a bad URL."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = str(cause)
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if "Connect call failed" in text or "Connection refused" in text:
            return "connection refused"
        if isinstance(cause, ConnectionResetError) or "Connection reset" in text:
            return "connection reset"
        if type(cause).__name__ in (
            "RemoteProtocolError",
            "ReadError",
            "ServerDisconnectedError",  # aiohttp's words (the lean client)
            "ClientPayloadError",
        ):
            return "connection closed without an answer"
        if type(cause).__name__ == "UnsupportedProtocol":
            return "URL without http:// or https://"
        cause = cause.__cause__ or cause.__context__
    return "connection error"


def _malformed_answer(err: BaseException) -> bool:
    """litellm reports an answer it could not read (not JSON, or JSON that is no chat completion) as a 500
    the server never sent; the JSON error, or litellm's own complaint about the body, is in its causes."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, json.JSONDecodeError) or "provider returned" in str(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def classify_error(err: Exception) -> Exception:
    """Map a litellm/OpenAI exception to TransientError (retry), QuotaExhausted (stop the run) or
    CallFailed (don't retry)."""
    litellm = import_litellm()
    text = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
    status = getattr(err, "status_code", None)
    if status in (402, 403, 429):
        code = quota_code(getattr(err, "body", None), getattr(err, "code", None), err)
        if code is not None:  # a spent quota is no rate limit: waiting does not bring the next answer
            return QuotaExhausted(f"{code}: {_quota_message(err)}"[:300])
    if isinstance(err, litellm.RateLimitError):
        return TransientError("rate_limit", text, _retry_after(err))
    if isinstance(err, litellm.Timeout):
        return TransientError("timeout", text)
    if isinstance(err, litellm.APIConnectionError) or "Connection error" in str(err):
        # A dropped or truncated connection reaches us as a 500 whose message says so.
        return TransientError("connection", f"{connection_detail(err)} ({type(err).__name__})")
    if _malformed_answer(err):
        return TransientError("malformed", f"MalformedResponse: a malformed response body ({text})"[:300])
    if isinstance(
        err, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.BadGatewayError
    ):
        return TransientError("server_error", text, _retry_after(err))
    if isinstance(status, int) and (status >= 500 or status == 429):
        kind: Literal["rate_limit", "server_error"] = "rate_limit" if status == 429 else "server_error"
        return TransientError(kind, text, _retry_after(err))
    return CallFailed(text)


def _quota_message(err: Exception) -> str:
    """The provider's own words in a quota error (its error JSON's message), else litellm's first line."""
    body = getattr(err, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"]).splitlines()[0]
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def base_identity(model: str, endpoint: str | None) -> str:
    """The judge's name in cache keys; every client that calls ``model`` at ``endpoint`` shares it."""
    return f"{IDENTITY_PREFIX}{model}" + (f"@{public_url(endpoint)}" if endpoint else "")


def response_format(
    structured: Literal["json_schema", "json_object", "none"], schema: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The ``response_format`` that asks a backend for JSON following ``schema`` in the chosen form."""
    if schema is None or structured == "none":
        return None
    if structured == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}


def takes_reasoning_effort(model: str) -> bool:
    """Whether litellm passes ``reasoning_effort`` on for ``model`` (it drops it, silently, where it lists the
    model without it: gpt-4o-mini, claude-3-5-haiku). A model litellm does not know (a model on a local
    server) takes it: the server decides."""
    litellm = import_litellm()
    try:
        name, provider, _key, _base = litellm.get_llm_provider(model)
        params = litellm.get_supported_openai_params(model=name, custom_llm_provider=provider)
    except Exception:
        return True
    return params is None or "reasoning_effort" in params


def reasoning_text(message: Any) -> str | None:
    """The thinking a provider returns beside the content: ``reasoning_content`` (DeepSeek, vLLM, litellm)
    or ``reasoning`` (newer vLLM, Ollama); a dict or an object with those attributes."""
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name) if isinstance(message, dict) else getattr(message, name, None)
        if isinstance(value, str) and value.strip():
            return value
    return None


class EndpointIdentity:
    """The identity both OpenAI-style clients share (so they share the cache): the model and endpoint, and
    how structured output is asked for."""

    _identity: str
    structured: Literal["json_schema", "json_object", "none"]

    @property
    def identity(self) -> str:
        return f"{self._identity}|structured={self.structured}"

    @property
    def base_identity(self) -> str:
        return self._identity


class LiteLLMJudge(EndpointIdentity):
    """Calls ``litellm.acompletion``; asks for structured output the way the backend understands it."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        structured: StructuredMode = "auto",
        timeout: float = 120.0,
        identity: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        import_litellm()  # now, not in the first call: its seconds of import must not eat that call's timeout
        self.model = model
        self.api_base = check_api_base(api_base) if api_base else None
        self._api_key = api_key
        self.timeout = timeout
        self.extra = dict(extra or {})
        self._cost_known: bool | None = None
        found = None if api_base else env_endpoint(model)
        if found is not None:
            check_api_base(found[1], found[0])
        self.endpoint = api_base or (found[1] if found else None)
        self.structured = self._resolve_structured(structured)
        self._identity = identity or base_identity(model, self.endpoint)

    def _resolve_structured(self, mode: StructuredMode) -> Literal["json_schema", "json_object", "none"]:
        if mode != "auto":
            return mode
        if self.endpoint:  # from --api-base or the environment (OPENAI_API_BASE, ...): the same server
            # An OpenAI-compatible server of unknown ability: the OpenAI form is the common denominator.
            return "json_schema"
        try:
            if import_litellm().supports_response_schema(model=self.model):
                return "json_schema"
        except Exception:
            pass
        return "none"

    def response_format(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return response_format(self.structured, schema)

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "timeout": self.timeout,
            "num_retries": 0,
            "max_retries": 0,
            # a parameter the provider refuses (temperature 0 of an o-series model) is dropped for this call,
            # as litellm.drop_params would do for every call of the process
            "drop_params": True,
            **self.extra,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif self.api_base:
            kwargs["api_key"] = os.environ.get("OPENAI_API_KEY") or "no-key"
        if params.max_tokens is not None:
            kwargs["max_tokens"] = params.max_tokens
        if params.seed is not None:
            kwargs["seed"] = params.seed
        fmt = self.response_format(params.schema_)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if params.logprobs:
            kwargs["logprobs"] = True
            if params.top_logprobs:
                kwargs["top_logprobs"] = params.top_logprobs
        if params.reasoning_effort is not None:
            kwargs["reasoning_effort"] = params.reasoning_effort
        start = time.perf_counter()
        try:
            resp = await self._send(kwargs)
        except (TransientError, CallFailed):
            raise
        except Exception as err:
            raise classify_error(err) from None
        latency = time.perf_counter() - start
        return self._to_completion(resp, latency)

    async def _send(self, kwargs: dict[str, Any]) -> Any:
        """One request to litellm (the router judge sends it to a litellm Router instead)."""
        return await import_litellm().acompletion(**kwargs)

    def _to_completion(self, resp: Any, latency: float) -> Completion:
        choice = resp.choices[0]
        usage = getattr(resp, "usage", None)
        logprobs = None
        raw_lp = getattr(choice, "logprobs", None)
        if raw_lp is not None:
            content = raw_lp.get("content") if isinstance(raw_lp, dict) else getattr(raw_lp, "content", None)
            if content:
                logprobs = [c if isinstance(c, dict) else c.model_dump() for c in content]
        cost: float | None = None
        hidden = getattr(resp, "_hidden_params", None) or {}
        if isinstance(hidden, dict) and hidden.get("response_cost") is not None:
            cost = float(hidden["response_cost"])
        elif self._cost_known is not False:
            # litellm's price table; a model it does not know (a local server) has no cost, not cost 0.
            try:
                cost = float(import_litellm().completion_cost(completion_response=resp))
                self._cost_known = True
            except Exception:
                self._cost_known = False
        details = getattr(usage, "completion_tokens_details", None)
        thought = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return Completion(
            text=choice.message.content,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=cost,
            latency_s=latency,
            model=str(getattr(resp, "model", "") or self.model),
            finish_reason=getattr(choice, "finish_reason", None),
            logprobs=logprobs,
            reasoning=reasoning_text(choice.message),
            reasoning_tokens=int(thought or getattr(details, "reasoning_tokens", 0) or 0),
        )
