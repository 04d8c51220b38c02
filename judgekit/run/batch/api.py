"""The provider's batch API, through litellm: upload a JSONL of chat requests, create the batch, poll it,
download its output and error files.

Each request line is exactly the body the live call would post (the lean client's :meth:`body`, which
matches litellm's), so a batch answer and a live answer of the same request are interchangeable; its
``custom_id`` is the request's cache key. Only OpenAI-style batch APIs are used (an ``openai/`` model, at
OpenAI or at any OpenAI-compatible ``--api-base`` that serves ``/v1/files`` and ``/v1/batches``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from judgekit.errors import ConfigError, JudgeUnavailable
from judgekit.judges.base import Completion, JudgeParams, Message, QuotaExhausted, TransientError
from judgekit.judges.factory import JudgeOptions, litellm_judge
from judgekit.judges.litellm_judge import classify_error, import_litellm
from judgekit.judges.openai_compat import OpenAICompatJudge

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
_PROVIDERS = ("openai",)  # batch APIs whose lines are OpenAI chat requests (litellm's custom_llm_provider)
_OPENAI = "https://api.openai.com/v1"
_TRANSFER_TIMEOUT_S = 600.0  # uploading or downloading up to 200 MB takes longer than one chat call
_HOW = (
    "--batch needs one litellm model of a provider with an OpenAI-style batch API (openai/MODEL, at OpenAI "
    "or at an OpenAI-compatible --api-base that serves /v1/batches)"
)


class BatchState(BaseModel):
    """What a poll says about a batch: its status, its request counts and where its results are."""

    id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def batch_target(specs: Sequence[object], options: JudgeOptions) -> BatchTarget:
    """The batch API of the run's one judge; a one-line ConfigError (exit 2) for a judge that has none."""
    from judgekit.judges.registry import backend_for, normalise

    if len(specs) != 1:
        raise ConfigError(f"--batch takes one judge, not a panel of {len(specs)}; {_HOW}")
    spec = normalise(specs[0])
    backend = backend_for(spec).name
    if backend != "litellm" or not isinstance(spec, str):
        names = {
            "local": "the local judge",
            "python": f"a Python judge ({spec})",
            "object": "a Python judge object",
            "panel-entry": "a judge of a --panel file",
        }
        what = names.get(backend, f"the {backend} judge")
        raise ConfigError(f"{what} has no batch API; {_HOW}")
    try:
        provider = str(import_litellm().get_llm_provider(spec)[1])
    except Exception:
        provider = spec.split("/", 1)[0]
    if provider not in _PROVIDERS:
        raise ConfigError(f"judge {spec}: provider {provider!r} has no batch API judgekit can use; {_HOW}")
    return BatchTarget(spec, options)


class BatchTarget:
    """One judge's batch API: the request lines it takes and the litellm calls that submit and fetch them."""

    def __init__(self, model: str, options: JudgeOptions) -> None:
        live = litellm_judge(model, options)  # the live judge's identity and structured-output mode
        self.model = model
        self.identity = live.identity
        self.endpoint = live.endpoint
        self._lines = OpenAICompatJudge(model, api_base=live.endpoint or _OPENAI, structured=live.structured)
        key = options.api_key or os.environ.get("OPENAI_API_KEY") or ("no-key" if live.endpoint else None)
        self._kwargs: dict[str, Any] = {"custom_llm_provider": "openai", "timeout": options.timeout}
        self._transfer = max(options.timeout, _TRANSFER_TIMEOUT_S)
        if live.endpoint:
            self._kwargs["api_base"] = live.endpoint
        if key:
            self._kwargs["api_key"] = key
        self._rates = batch_rates(model)
        # litellm's afile_content builds a second coroutine that it never awaits (harmless; not ours to print)
        warnings.filterwarnings(
            "ignore", "coroutine 'OpenAIFilesAPI.afile_content' was never awaited", RuntimeWarning
        )

    def line(self, key: str, messages: list[Message], params: JudgeParams) -> bytes:
        """One JSONL line of the batch's input file (with its newline)."""
        body = self._lines.body(messages, params)
        return (
            json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}) + "\n"
        ).encode()

    async def upload(self, data: bytes) -> str:
        """Upload the input file; its id."""
        found = await self._call(
            "acreate_file", file=("judgekit-batch.jsonl", data), purpose="batch", timeout=self._transfer
        )
        return str(found.id)

    async def create(self, input_file_id: str, metadata: dict[str, str]) -> BatchState:
        created = await self._call(
            "acreate_batch",
            completion_window="24h",
            endpoint=ENDPOINT,
            input_file_id=input_file_id,
            metadata=metadata,
        )
        return _state(created)

    async def retrieve(self, batch_id: str) -> BatchState:
        return _state(await self._call("aretrieve_batch", batch_id=batch_id))

    async def content(self, file_id: str) -> bytes:
        found = await self._call("afile_content", file_id=file_id, timeout=self._transfer)
        return bytes(found.content)

    async def _call(self, name: str, **kwargs: Any) -> Any:
        """A litellm batch/file call; its failure as TransientError (retry) or CallFailed (don't)."""
        litellm = import_litellm()
        try:
            return await getattr(litellm, name)(**{**self._kwargs, **kwargs})
        except Exception as err:
            found = classify_error(err)
            if isinstance(found, QuotaExhausted):  # no retry or fallback helps: stop the run (exit 3)
                raise JudgeUnavailable(
                    f"the batch API refuses every call, its quota is spent ({found})"
                ) from None
            raise found from None

    async def results(
        self, state: BatchState, keys: Sequence[str]
    ) -> tuple[dict[str, Completion], dict[str, str]]:
        """A finished batch's answers by cache key, and why each other request of ``keys`` got none."""
        if state.status == "failed":
            why = f"batch failed: {state.errors or 'the provider gave no reason'} ({state.id})"
            return {}, dict.fromkeys(keys, why)
        answers: dict[str, Completion] = {}
        failures: dict[str, str] = {}
        for file_id in (state.output_file_id, state.error_file_id):
            if file_id:
                self._read(await self.content(file_id), answers, failures)
        missing = f"batch {state.status}: no result for this request ({state.id})"
        for key in keys:
            if key not in answers and key not in failures:
                failures[key] = missing
        wanted = set(keys)
        return (
            {k: c for k, c in answers.items() if k in wanted},
            {k: r for k, r in failures.items() if k in wanted and k not in answers},
        )

    def _read(self, data: bytes, answers: dict[str, Completion], failures: dict[str, str]) -> None:
        """Sort the lines of an output or error file into answers and failures."""
        for raw in data.splitlines():
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                key = str(row["custom_id"])
            except (ValueError, KeyError, TypeError):
                continue  # a line without its request's key answers nothing we can place
            response = row.get("response") or {}
            body = response.get("body") if isinstance(response, dict) else None
            if isinstance(response, dict) and response.get("status_code") == 200 and isinstance(body, dict):
                try:
                    answers[key] = self._priced(self._lines.completion(json.dumps(body).encode()))
                except TransientError as err:
                    failures[key] = f"batch line failed: {err}"
                continue
            failures[key] = "batch line failed: " + _line_error(row, response, body)

    def _priced(self, completion: Completion) -> Completion:
        """The completion with its cost at the batch rates of litellm's price table (None if unknown)."""
        if self._rates is None:
            return completion
        rate_in, rate_out = self._rates
        cost = completion.prompt_tokens * rate_in + completion.completion_tokens * rate_out
        return completion.model_copy(update={"cost_usd": cost})


def batch_rates(model: str) -> tuple[float, float] | None:
    """USD per prompt and per output token at the provider's batch rates, from litellm's price table."""
    try:
        info = import_litellm().get_model_info(model)
    except Exception:
        return None
    rate_in, rate_out = info.get("input_cost_per_token_batches"), info.get("output_cost_per_token_batches")
    if rate_in is None or rate_out is None:
        return None
    return float(rate_in), float(rate_out)


def _line_error(row: dict[str, Any], response: Any, body: Any) -> str:
    """A failed line's reason: the error object's code and message, or the HTTP status and message."""
    error = row.get("error")
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return f"{error.get('code') or 'error'}: {error.get('message') or 'no message'}"
    status = response.get("status_code") if isinstance(response, dict) else None
    detail = body.get("error") if isinstance(body, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else detail
    return f"HTTP {status}: {message or 'no message'}"


def _state(batch: Any) -> BatchState:
    counts = getattr(batch, "request_counts", None)
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    reason = "; ".join(f"{getattr(e, 'code', None) or 'error'}: {getattr(e, 'message', '')}" for e in data)
    return BatchState(
        id=str(batch.id),
        status=str(batch.status),
        total=int(getattr(counts, "total", 0) or 0),
        completed=int(getattr(counts, "completed", 0) or 0),
        failed=int(getattr(counts, "failed", 0) or 0),
        output_file_id=getattr(batch, "output_file_id", None),
        error_file_id=getattr(batch, "error_file_id", None),
        errors=reason or None,
    )
