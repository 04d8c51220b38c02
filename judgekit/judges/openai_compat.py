"""A lean judge for OpenAI-compatible servers (vLLM, llama.cpp, TGI, SGLang) on one aiohttp session.

litellm costs 4-6 ms of CPU per call; a fast local server answers in less, so with litellm the client, not
the server, sets the pace. This client posts the same request body litellm would (same ``response_format``),
classifies failures the same way (same TransientError kinds, the same exception names in messages) and has
the same identity as :class:`~judgekit.judges.litellm_judge.LiteLLMJudge` for the same model and endpoint,
so both clients share cache entries and their results are interchangeable.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import TYPE_CHECKING, Any, Literal

from judgekit.judges.base import (
    CallFailed,
    Completion,
    JudgeParams,
    Message,
    QuotaExhausted,
    TransientError,
    quota_code,
)
from judgekit.judges.litellm_judge import (
    EndpointIdentity,
    StructuredMode,
    base_identity,
    check_api_base,
    connection_detail,
    reasoning_text,
    response_format,
    retry_after_seconds,
)

if TYPE_CHECKING:
    from judgekit.judges.factory import JudgeOptions

# The exception names litellm reports for each status, so messages read the same whichever client called.
_STATUS_NAMES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    408: "Timeout",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    502: "BadGatewayError",
    503: "ServiceUnavailableError",
    504: "Timeout",
}


def is_openai_compatible(model: str, api_base: str | None) -> bool:
    """``openai/<name>`` at an explicit endpoint: a request this client makes exactly as litellm would."""
    return bool(api_base) and model.startswith("openai/") and len(model) > len("openai/")


def _server_message(body: bytes) -> str:
    """The server's own error message (OpenAI error JSON), else the start of its body."""
    try:
        data = json.loads(body)
        err = data.get("error") if isinstance(data, dict) else None
        message = err.get("message") if isinstance(err, dict) else (err or data.get("message"))
        if message:
            return str(message)
    except (ValueError, AttributeError):
        pass
    return body.decode("utf-8", "replace").strip()[:200] or "no message"


def http_error(status: int, body: bytes, retry_after: str | None) -> Exception:
    """An HTTP error status as TransientError (429, 5xx; 504 is a timeout as litellm reports it),
    QuotaExhausted (a 429 that says the quota is spent) or CallFailed (any other 4xx: retrying a bad request,
    key or model name will not help)."""
    name = _STATUS_NAMES.get(status, "InternalServerError" if status >= 500 else "APIError")
    message = _server_message(body).splitlines()[0]
    text = f"{name}: HTTP {status}: {message}"[:300]
    code = quota_code(body.decode("utf-8", "replace")) if status in (402, 403, 429) else None
    if code is not None:  # a spent quota is no rate limit: waiting does not bring the next answer
        return QuotaExhausted(f"{code}: {message}"[:300])
    if status == 429:
        return TransientError("rate_limit", text, retry_after_seconds(retry_after))
    if status in (408, 504):
        return TransientError("timeout", text)
    if status >= 500:
        return TransientError("server_error", text, retry_after_seconds(retry_after))
    return CallFailed(text)


def connection_error(err: BaseException) -> TransientError:
    """A failure below HTTP (refused, reset, closed mid-answer) in the words litellm's path uses."""
    return TransientError("connection", f"{connection_detail(err)} ({type(err).__name__})")


def chat_url(api_base: str) -> tuple[str, str | None]:
    """The chat endpoint under ``api_base`` (its query string, e.g. ``?api-version=``, kept at the end) without
    the URL's ``user:password@``, and those credentials as HTTP Basic (aiohttp refuses them in the URL beside
    an Authorization header)."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(api_base.strip())
    userinfo, _, host = parts.netloc.rpartition("@")
    url = urlunsplit((parts.scheme, host, parts.path.rstrip("/") + "/chat/completions", parts.query, ""))
    if not userinfo:
        return url, None
    user, _, password = userinfo.partition(":")
    return url, base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")


class OpenAICompatJudge(EndpointIdentity):
    """Posts ``/chat/completions`` with aiohttp: one session per event loop whose connector keeps as many
    connections alive as calls were in flight (at most ``concurrency`` if given); :meth:`aclose` closes it at
    the end of the run."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str,
        api_key: str | None = None,
        structured: StructuredMode = "auto",
        timeout: float = 120.0,
        identity: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.model = model
        self.api_base = check_api_base(api_base)
        self.endpoint = self.api_base
        self._url, basic = chat_url(self.api_base)
        key = api_key or os.environ.get("OPENAI_API_KEY") or "no-key"
        auth = f"Basic {basic}" if basic else f"Bearer {key}"
        self._headers = {"Authorization": auth, "Content-Type": "application/json"}
        # An OpenAI-compatible server of unknown ability: the OpenAI form is the common denominator.
        self.structured: Literal["json_schema", "json_object", "none"] = (
            "json_schema" if structured == "auto" else structured
        )
        self.timeout = timeout
        self.concurrency = concurrency
        self._identity = identity or base_identity(model, self.api_base)
        self._wire_model = model.split("/", 1)[1] if model.startswith("openai/") else model
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tails: dict[str, str] = {}

    def body(self, messages: list[Message], params: JudgeParams) -> dict[str, Any]:
        """The request body: the fields litellm sends for the same call, in its order, nothing else."""
        body: dict[str, Any] = {"messages": messages, "model": self._wire_model}
        if params.max_tokens is not None:
            body["max_tokens"] = params.max_tokens
        fmt = response_format(self.structured, params.schema_)
        if fmt is not None:
            body["response_format"] = fmt
        if params.seed is not None:
            body["seed"] = params.seed
        body["temperature"] = params.temperature
        if params.reasoning_effort is not None:
            body["reasoning_effort"] = params.reasoning_effort
        if params.logprobs:
            body["logprobs"] = True
            if params.top_logprobs:
                body["top_logprobs"] = params.top_logprobs
        return body

    def encoded(self, messages: list[Message], params: JudgeParams) -> bytes:
        """:meth:`body` as JSON bytes. Everything but the messages (the schema above all) is encoded once
        per parameter set, not once per call."""
        tail = self._tails.get(params.cache_json)
        if tail is None:
            rest = self.body([], params)
            del rest["messages"]
            tail = self._tails[params.cache_json] = json.dumps(rest, ensure_ascii=False)[1:]
        sep = ", " if len(tail) > 1 else ""
        return f'{{"messages": {json.dumps(messages, ensure_ascii=False)}{sep}{tail}'.encode()

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> Any:
        import aiohttp

        if self._session is None or self._loop is not loop or self._session.closed:
            # The engine's adaptive limiter decides how many calls are in flight; a fixed pool below it
            # (aiohttp's default is 100) would silently cap --concurrency, so by default there is none.
            size = self.concurrency or 0
            connector = aiohttp.TCPConnector(limit=size, limit_per_host=size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers=self._headers,
                json_serialize=json.dumps,
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        """Close the session (and its connections); the next call, if any, opens a new one."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        import aiohttp

        session = self._session_for(asyncio.get_running_loop())
        data = self.encoded(messages, params)
        start = time.perf_counter()
        try:
            async with session.post(self._url, data=data) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise http_error(resp.status, raw, resp.headers.get("Retry-After"))
        except (TransientError, CallFailed):
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TransientError("timeout", f"Timeout: no answer within {self.timeout:g} s") from err
        except (aiohttp.ClientError, OSError) as err:
            raise connection_error(err) from None
        latency = time.perf_counter() - start
        return self._to_completion(raw, latency)

    def completion(self, raw: bytes) -> Completion:
        """A chat completion's JSON (e.g. a batch result line's body) as this client reads an answer."""
        return self._to_completion(raw, 0.0)

    def _to_completion(self, raw: bytes, latency: float) -> Completion:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise TransientError(
                "malformed", "MalformedResponse: a malformed response body (HTTP 200, not a chat completion)"
            ) from None
        usage = data.get("usage") or {}
        raw_lp = choice.get("logprobs")
        content = raw_lp.get("content") if isinstance(raw_lp, dict) else None
        text = message.get("content")
        details = usage.get("completion_tokens_details")
        return Completion(  # validating these few fields costs half of model_construct's Python loop
            text=text if isinstance(text, str) else None,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=None,
            latency_s=latency,
            model=str(data.get("model") or self._wire_model),
            finish_reason=choice.get("finish_reason"),
            logprobs=list(content) if content else None,
            reasoning=reasoning_text(message),
            reasoning_tokens=int((details.get("reasoning_tokens") if isinstance(details, dict) else 0) or 0),
        )


def lean_judge(model: str, options: JudgeOptions) -> OpenAICompatJudge:
    """The lean client for ``model`` at ``options.api_base`` (see :func:`is_openai_compatible`), opened for a
    run: aiohttp loads now, before the run starts its calls and, beside them, the imports it needs later."""
    import aiohttp  # noqa: F401

    assert options.api_base is not None
    return OpenAICompatJudge(
        model, api_base=options.api_base, api_key=options.api_key, structured=options.structured,
        timeout=options.timeout,
    )  # fmt: skip
