"""A scripted OpenAI-compatible judge server for tests: real HTTP on 127.0.0.1, scripted answers, faults.

Every judgekit test talks to this server through litellm instead of mocking anything. It speaks the
non-streaming ``POST /v1/chat/completions`` format, plus ``GET /v1/models`` and three control endpoints
(``GET /_calls``, ``POST /_reset``, ``POST /_script``) so a test can drive a server in another process.

What answers a call, in order:

1. overload: more than ``max_in_flight`` requests handled at once -> 429 (``Retry-After`` if ``retry_after``);
2. the queue (``server.queue([...])``): the next call takes the next :class:`Reply`;
3. rules (``server.add_rule(match, reply, times)``): the first matching rule that still has ``times`` left;
4. the default responder: a deterministic, valid answer for the JSON schema in ``response_format``.

A :class:`Reply` with ``content=None`` and status 200 answers with the default responder's content, so
``Reply(delay=1.0)`` or ``Reply(logprobs={...})`` only changes timing or log-probabilities.

The default responder's integers come from :func:`expected_choice`; a ``match_score`` limited to 0..2 (or
with no bounds) is :func:`expected_score` of the last user message (``path`` locates nested objects).

Run standalone: ``python -m tests.server [--port 0] [--latency 0.2] [--max-in-flight N] [--script F.json]``;
the first stdout line is the base URL (``http://127.0.0.1:PORT/v1``); it serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import logging
import math
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

from aiohttp import web

from tests.batch_api import BatchAPI, BatchScript

__all__ = [
    "REPO_ROOT",
    "RemoteControl",
    "Reply",
    "Rule",
    "ScriptedServer",
    "ServerProcess",
    "default_content",
    "default_value",
    "error_body",
    "expected_choice",
    "expected_score",
    "find_schema",
    "main",
    "parse_script",
    "request_text",
    "user_message",
]

Fault = Literal["drop", "truncate", "hang"]
FAULTS: tuple[str, ...] = ("drop", "truncate", "hang")
Request = dict[str, Any]
"""The parsed JSON body of a chat completion request."""
Matcher = str | Mapping[str, Any] | Callable[[Request], bool] | None

REPO_ROOT = Path(__file__).resolve().parent.parent
_MAX_HANG_S = 600.0

# ----------------------------------------------------------------------------------------------------
# Deterministic choices
# ----------------------------------------------------------------------------------------------------


def _norm_path(path: str | int | None) -> str:
    return "" if path is None else str(path)


def _hash_int(user_message: str, path: str) -> int:
    key = f"{user_message}\x1f{path}" if path else user_message
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def expected_choice(user_message: str, choices: Sequence[Any], path: str | int | None = None) -> Any:
    """The value the default responder picks among ``choices`` for a field of this user message.

    Rule: ``choices[int.from_bytes(sha256(key)[:8], "big") % len(choices)]``. ``key`` is the user message
    for a field of the root object, else ``f"{user_message}\x1f{path}"`` where ``path`` locates the object
    holding the field: property names and array positions from the root joined by ``/``, e.g.
    ``"aspects/2"`` for ``{"aspects": [.., .., {"match_score": N}]}`` (an int ``i`` means ``"i"``).
    An integer range ``lo..hi`` acts as ``choices = range(lo, hi + 1)``; no bounds means ``(0, 1, 2)``.
    """
    if not choices:
        raise ValueError("choices must not be empty")
    return choices[_hash_int(user_message, _norm_path(path)) % len(choices)]


def expected_score(user_message: str, path: str | int | None = None) -> int:
    """The ``match_score`` (0, 1 or 2) the default responder gives for this user message.

    ``path`` (see :func:`expected_choice`) is None for ``{"match_score": N}``, ``"aspects/2"`` for the
    third item of an ``aspects`` array.
    """
    return int(expected_choice(user_message, (0, 1, 2), path))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def user_message(request: Request) -> str:
    """Text of the last ``role: user`` message (list-of-parts content joined by newlines); ``""`` if none."""
    messages = request.get("messages")
    if isinstance(messages, list):
        for msg in reversed(messages):
            if isinstance(msg, dict) and msg.get("role") == "user":
                return _content_text(msg.get("content"))
    return ""


def request_text(request: Request) -> str:
    """All message texts joined with newlines: what a string rule ``match`` is searched in."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(_content_text(m.get("content")) for m in messages if isinstance(m, dict))


# ----------------------------------------------------------------------------------------------------
# Default responder: a valid value for any (reasonable) JSON schema, compiled once per schema
# ----------------------------------------------------------------------------------------------------

_ID_FIELDS = frozenset(
    {"aspect", "aspect_id", "aspect_index", "aspect_title", "index", "idx", "id", "criterion"}
)
_MAX_DEPTH = 16


class _Ctx:
    """Where a generated value lives: the user message, the containing object's path, the array position."""

    __slots__ = ("_h", "path", "pos", "user")

    def __init__(self, user: str, path: str = "", pos: int | None = None) -> None:
        self.user = user
        self.path = path
        self.pos = pos
        self._h: int | None = None

    def pick(self, n: int) -> int:
        if self._h is None:
            self._h = _hash_int(self.user, self.path)
        return self._h % n

    def child(self, segment: str | int) -> _Ctx:
        path = f"{self.path}/{segment}" if self.path else str(segment)
        return _Ctx(self.user, path, segment if isinstance(segment, int) else self.pos)


_Gen = Callable[[_Ctx], Any]


def find_schema(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema a ``response_format`` asks for, or None.

    Accepts ``{"type": "json_schema", "json_schema": {"schema": ...}}`` and
    ``{"type": "json_object", "schema": ...}``.
    """
    if not isinstance(response_format, dict):
        return None
    js = response_format.get("json_schema")
    if isinstance(js, dict) and isinstance(js.get("schema"), dict):
        return cast(dict[str, Any], js["schema"])
    schema = response_format.get("schema")
    if isinstance(schema, dict):
        return cast(dict[str, Any], schema)
    return None


def _resolve_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, dict) else {}


def _num(node: Mapping[str, Any], key: str) -> float | None:
    v = node.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _bounds(node: Mapping[str, Any]) -> tuple[int | None, int | None]:
    lo: int | None = None
    hi: int | None = None
    if (v := _num(node, "minimum")) is not None:
        lo = math.ceil(v)
    if (v := _num(node, "exclusiveMinimum")) is not None:
        lo = math.floor(v) + 1
    if (v := _num(node, "maximum")) is not None:
        hi = math.floor(v)
    if (v := _num(node, "exclusiveMaximum")) is not None:
        hi = math.ceil(v) - 1
    return lo, hi


def _int_range(node: Mapping[str, Any]) -> tuple[int, int]:
    """Integers to pick from: ``lo..hi`` (both inclusive); three values when a bound is missing."""
    lo, hi = _bounds(node)
    if lo is None and hi is None:
        return 0, 2
    if lo is None:
        assert hi is not None
        return hi - 2, hi
    if hi is None or hi < lo:
        return lo, lo + 2
    return lo, hi


def _schema_type(node: Mapping[str, Any]) -> str | None:
    t = node.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        return cast(str, non_null[0]) if non_null else "null"
    if isinstance(t, str):
        return t
    if "properties" in node or "required" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    if any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "integer"
    return None


def _none(ctx: _Ctx) -> Any:
    return None


def _compile(
    node: Any, root: dict[str, Any], name: str | None, depth: int, in_item: bool
) -> tuple[_Gen, bool]:
    """A generator for ``node`` and whether it makes a container (object/array: it gets its own path)."""
    if depth > _MAX_DEPTH or not isinstance(node, dict):
        return _none, False
    if isinstance(node.get("$ref"), str):
        target = dict(_resolve_ref(node["$ref"], root))
        target.update({k: v for k, v in node.items() if k != "$ref"})
        return _compile(target, root, name, depth + 1, in_item)
    if "const" in node:
        const = node["const"]
        return (lambda ctx: const), False
    is_id = in_item and name in _ID_FIELDS
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        values = list(enum)
        if is_id:
            return (lambda ctx: values[(ctx.pos or 0) % len(values)]), False
        return (lambda ctx: values[ctx.pick(len(values))]), False
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list) and branches:
            chosen = next(
                (b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")), branches[0]
            )
            merged = {k: v for k, v in node.items() if k != key}
            if isinstance(chosen, dict):
                merged.update(chosen)
            return _compile(merged, root, name, depth + 1, in_item)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged = {k: v for k, v in node.items() if k != "allOf"}
        for part in all_of:
            if isinstance(part, dict) and "$ref" in part:
                part = _resolve_ref(part["$ref"], root)
            if isinstance(part, dict):
                for k, v in part.items():
                    if k == "properties" and isinstance(v, dict):
                        merged["properties"] = {**merged.get("properties", {}), **v}
                    elif k == "required" and isinstance(v, list):
                        merged["required"] = [*merged.get("required", []), *v]
                    else:
                        merged.setdefault(k, v)
        return _compile(merged, root, name, depth + 1, in_item)

    kind = _schema_type(node)
    if kind == "object":
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        assert isinstance(props, dict)
        required = node.get("required")
        keys = [k for k in required if isinstance(k, str)] if isinstance(required, list) else list(props)
        gens = [(k, *_compile(props.get(k, {}), root, k, depth + 1, in_item)) for k in keys]

        def make_object(ctx: _Ctx) -> dict[str, Any]:
            return {k: g(ctx.child(k)) if nested else g(ctx) for k, g, nested in gens}

        return make_object, True
    if kind == "array":
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            item_gens = [_compile(p, root, name, depth + 1, True)[0] for p in prefix]
        else:
            min_items = node.get("minItems")
            max_items = node.get("maxItems")
            if isinstance(max_items, int):
                count = max_items
            elif isinstance(min_items, int):
                count = min_items
            else:
                count = 1
            count = max(0, min(count, 1000))
            gen = _compile(node.get("items", {}), root, name, depth + 1, True)[0]
            item_gens = [gen] * count
        return (lambda ctx: [g(ctx.child(i)) for i, g in enumerate(item_gens)]), True
    if kind in ("integer", "number"):
        lo, hi = _int_range(node)
        as_float = kind == "number"
        if is_id:
            first, last = _bounds(node)
            start = 1 if first is None else first
            span = None if last is None else max(1, last - start + 1)

            def id_value(ctx: _Ctx) -> Any:
                i = ctx.pos or 0
                v = start + (i if span is None else i % span)
                return float(v) if as_float else v

            return id_value, False
        n = hi - lo + 1
        if as_float:
            return (lambda ctx: float(lo + ctx.pick(n))), False
        return (lambda ctx: lo + ctx.pick(n)), False
    if kind == "boolean":
        return (lambda ctx: ctx.pick(2) == 0), False
    if kind == "null":
        return _none, False
    # string (or untyped): a short deterministic text
    if is_id:
        return (lambda ctx: str((ctx.pos or 0) + 1)), False
    min_len = int(node["minLength"]) if isinstance(node.get("minLength"), int) else 0
    max_len = int(node["maxLength"]) if isinstance(node.get("maxLength"), int) else None
    text = f"scripted {name}" if name else "scripted"
    if len(text) < min_len:
        text = text + "." * (min_len - len(text))
    if max_len is not None:
        text = text[:max_len]
    return (lambda ctx: text), False


_TEMPLATES: dict[str, _Gen] = {}
_TEMPLATES_LOCK = threading.Lock()


def _template(schema: dict[str, Any]) -> _Gen:
    key = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    gen = _TEMPLATES.get(key)
    if gen is None:
        gen = _compile(schema, schema, None, 0, False)[0]
        with _TEMPLATES_LOCK:
            if len(_TEMPLATES) > 512:
                _TEMPLATES.clear()
            _TEMPLATES[key] = gen
    return gen


def default_value(request: Request) -> Any:
    """The object the default responder answers (before JSON encoding)."""
    user = user_message(request)
    schema = find_schema(request.get("response_format"))
    if schema is None:
        return {"match_score": expected_score(user)}
    return _template(schema)(_Ctx(user))


def default_content(request: Request) -> str:
    """The message content the default responder answers for this request."""
    return json.dumps(default_value(request))


# ----------------------------------------------------------------------------------------------------
# Script: Reply, Rule
# ----------------------------------------------------------------------------------------------------

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    413: ("invalid_request_error", "context_length_exceeded"),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error JSON for ``status``."""
    fallback = ("server_error" if status >= 500 else "invalid_request_error", None)
    etype, code = _ERROR_TYPES.get(status, fallback)
    return {
        "error": {
            "message": message or f"scripted error {status}",
            "type": etype,
            "param": None,
            "code": code,
        }
    }


@dataclass
class Reply:
    """How to answer one call.

    ``content`` None (with status 200) = the default responder's content. ``status`` >= 400 answers
    ``error_body`` (default: OpenAI error JSON). ``delay`` adds to the server ``latency``. ``fault``:
    ``"drop"`` closes the connection without a response, ``"truncate"`` sends half of the body with the full
    Content-Length then closes, ``"hang"`` waits ``hang_seconds`` (server setting, default 60) then closes.
    ``logprobs``: ``{token: logprob}`` for the first content token that is one of its keys (a list of such
    dicts applies to successive matching tokens); used only when the request asks for ``logprobs``.
    ``samples``: contents for ``n > 1`` choices (cycled); ``finish_reason`` goes in every choice.
    ``reasoning``: a reasoning model's thinking, sent apart from the content as the message's
    ``reasoning_content`` and counted (in words) as ``usage.completion_tokens_details.reasoning_tokens``,
    which are part of ``completion_tokens`` as OpenAI counts them.
    """

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fault: Fault | None = None
    logprobs: dict[str, float] | list[dict[str, float]] | None = None
    error_body: dict[str, Any] | str | None = None
    finish_reason: str = "stop"
    samples: list[str] | None = None
    reasoning: str | None = None
    body: str | None = None  # sent as it is, with ``status``, instead of a completion or an error JSON

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if not 100 <= int(self.status) <= 599:
            raise ValueError(f"bad HTTP status {self.status}")

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0, **kw: Any) -> Reply:
        """A 429, with a ``Retry-After`` header (seconds) unless ``retry_after`` is None."""
        headers = dict(kw.pop("headers", {}))
        if retry_after is not None:
            headers["Retry-After"] = _fmt_seconds(retry_after)
        return cls(status=429, headers=headers, **kw)

    @classmethod
    def error(cls, status: int = 500, message: str | None = None, **kw: Any) -> Reply:
        """An HTTP error with an OpenAI-style error body."""
        return cls(status=status, error_body=error_body(status, message), **kw)

    @classmethod
    def verdict(cls, obj: Any = None, /, **values: Any) -> Reply:
        """A 200 whose content is ``json.dumps(obj)``, e.g. ``Reply.verdict(match_score=2)``."""
        return cls(content=json.dumps(values if obj is None else obj))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Reply field(s): {sorted(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


@dataclass
class Rule:
    """A scripted answer for matching calls.

    ``match``: a substring of the messages' text; a dict (``contains``/``user_contains``/``model``, all must
    hold); a predicate on the request JSON; or None (every call). ``reply``: a Reply, or a function of the
    request returning one. ``times``: fire at most this often (None = always). ``fired`` counts firings.
    """

    match: Matcher
    reply: Reply | Callable[[Request], Reply]
    times: int | None = None
    name: str | None = None
    fired: int = 0

    def matches(self, request: Request) -> bool:
        m = self.match
        if m is None:
            return True
        if isinstance(m, str):
            return m in request_text(request)
        if isinstance(m, Mapping):
            if "contains" in m and str(m["contains"]) not in request_text(request):
                return False
            if "user_contains" in m and str(m["user_contains"]) not in user_message(request):
                return False
            return not ("model" in m and request.get("model") != m["model"])
        return bool(m(request))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def make_reply(self, request: Request) -> Reply:
        return self.reply(request) if callable(self.reply) else self.reply

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        unknown = set(data) - {"match", "reply", "times", "name"}
        if unknown:
            raise ValueError(f"unknown rule field(s): {sorted(unknown)}")
        match = data.get("match")
        if match is not None and not isinstance(match, (str, Mapping)):
            raise ValueError("rule 'match' must be a string, an object or null")
        reply = data.get("reply", {})
        if not isinstance(reply, Mapping):
            raise ValueError("rule 'reply' must be an object")
        times = data.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError("rule 'times' must be a non-negative integer or null")
        return cls(match=match, reply=Reply.from_dict(reply), times=times, name=data.get("name"))


# ----------------------------------------------------------------------------------------------------
# Response building
# ----------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[A-Za-z_]+|\d|\s+|[^\sA-Za-z_\d]")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _logprob_entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def build_logprobs(
    content: str, top_k: int, scripted: dict[str, float] | list[dict[str, float]] | None
) -> dict[str, Any]:
    """OpenAI ``choices[i].logprobs`` for ``content``: each token certain (logprob 0.0) unless scripted."""
    dists = [scripted] if isinstance(scripted, dict) else list(scripted or [])
    entries: list[dict[str, Any]] = []
    for tok in _tokens(content):
        dist: dict[str, float] | None = None
        if dists and (tok in dists[0] or tok.strip() in dists[0]):
            dist = dists.pop(0)
        if dist is None:
            entry = _logprob_entry(tok, 0.0)
            entry["top_logprobs"] = [_logprob_entry(tok, 0.0)][:top_k]
        else:
            own = dist.get(tok, dist.get(tok.strip(), 0.0))
            entry = _logprob_entry(tok, float(own))
            ranked = sorted(dist.items(), key=lambda kv: kv[1], reverse=True)[:top_k]
            entry["top_logprobs"] = [_logprob_entry(t, float(lp)) for t, lp in ranked]
        entries.append(entry)
    return {"content": entries, "refusal": None}


def _n_words(text: str) -> int:
    return len(text.split())


def build_completion(
    request: Request, reply: Reply, index: int, default: Callable[[Request], str] = default_content
) -> tuple[dict[str, Any], str]:
    """The chat.completion JSON for a 200 reply, and the first choice's content."""
    n = request.get("n")
    n = n if isinstance(n, int) and 1 <= n <= 128 else 1
    if reply.samples:
        contents = [reply.samples[i % len(reply.samples)] for i in range(n)]
    else:
        content = reply.content if reply.content is not None else default(request)
        contents = [content] * n
    want_lp = request.get("logprobs") is True
    top_k = request.get("top_logprobs")
    top_k = top_k if isinstance(top_k, int) and top_k > 0 else 0
    choices = []
    message_extra = {} if reply.reasoning is None else {"reasoning_content": reply.reasoning}
    for i, c in enumerate(contents):
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": c, **message_extra},
                "logprobs": build_logprobs(c, top_k, reply.logprobs) if want_lp else None,
                "finish_reason": reply.finish_reason,
            }
        )
    prompt_tokens = _n_words(request_text(request))
    reasoning_tokens = _n_words(reply.reasoning or "") * len(contents)
    completion_tokens = sum(_n_words(c or "") for c in contents) + reasoning_tokens  # samples=[None]: null
    body = {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model") or "judge"),
        "system_fingerprint": "fp_scripted",
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            **(
                {"completion_tokens_details": {"reasoning_tokens": reasoning_tokens}}
                if reasoning_tokens
                else {}
            ),
        },
    }
    return body, contents[0]


# ----------------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------------


class ScriptedServer:
    """An OpenAI-compatible chat completion server on 127.0.0.1, run in a background thread with its own loop.

    Settings (``latency``, ``max_in_flight``, ``retry_after``, ``hang_seconds``) are plain attributes and can
    be changed while it runs. ``calls`` is the call log; ``add_rule``/``queue``/``load_script`` script it.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        max_in_flight: int | None = None,
        retry_after: float | None = None,
        hang_seconds: float = 60.0,
        models: Sequence[str] = ("judge",),
        script: Mapping[str, Any] | str | Path | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.latency = float(latency)
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.hang_seconds = float(hang_seconds)
        self.models = list(models)
        self._initial = (self.latency, self.max_in_flight, self.retry_after, self.hang_seconds)
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self._rules: list[Rule] = []
        self._queue: collections.deque[Reply] = collections.deque()
        self._in_flight = 0
        self.peak_in_flight = 0
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = threading.Event()
        self.batch = BatchScript()  # how batches end (/v1/batches); a setting like latency
        self.batch_api = BatchAPI(self)
        if script is not None:
            self.load_script(script)

    # ---- lifecycle

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what to pass as litellm's ``api_base``."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("server already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._stopped.clear()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._astart())
            except BaseException as err:  # reported to the starting thread
                failure.append(err)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                try:
                    loop.run_until_complete(self._astop())
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()
                    self._stopped.set()

        self._thread = threading.Thread(target=run, name=f"scripted-server-{id(self):x}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("scripted server did not start in time")
        if failure:
            self._thread = None
            raise RuntimeError(f"scripted server failed to start: {failure[0]!r}") from failure[0]
        return self

    async def _astart(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_post("/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/models", self._handle_models)
        app.router.add_get("/_calls", self._handle_calls)
        app.router.add_post("/_reset", self._handle_reset)
        app.router.add_post("/_script", self._handle_script)
        self.batch_api.add_routes(app)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, backlog=1024, reuse_address=True)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (idempotent). Calls still hanging are cut off."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- script

    def add_rule(
        self,
        match: Matcher = None,
        reply: Reply | Callable[[Request], Reply] | None = None,
        times: int | None = None,
        name: str | None = None,
    ) -> Rule:
        """Answer calls that match with ``reply`` (first matching rule wins, at most ``times`` times)."""
        rule = Rule(match=match, reply=reply if reply is not None else Reply(), times=times, name=name)
        with self._lock:
            self._rules.append(rule)
        return rule

    def queue(self, replies: Iterable[Reply] | Reply) -> None:
        """Answer the next calls with these replies, in order (before any rule)."""
        items = [replies] if isinstance(replies, Reply) else list(replies)
        with self._lock:
            self._queue.extend(items)

    @property
    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def clear_script(self) -> None:
        with self._lock:
            self._rules.clear()
            self._queue.clear()

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()
        self.peak_in_flight = self._in_flight

    def reset(self) -> None:
        """Forget calls, rules and queue; restore the settings given at construction."""
        with self._lock:
            self._rules.clear()
            self._queue.clear()
            self._calls.clear()
        self.latency, self.max_in_flight, self.retry_after, self.hang_seconds = self._initial
        self.batch = BatchScript()
        self.batch_api.clear()
        self.peak_in_flight = self._in_flight

    def load_script(self, script: Mapping[str, Any] | str | Path) -> None:
        """Apply a JSON script (a dict, or a path to a JSON file); see :func:`parse_script` for the format."""
        if isinstance(script, (str, Path)):
            script = cast(dict[str, Any], json.loads(Path(script).read_text(encoding="utf-8")))
        rules, queue, settings, append = parse_script(script)
        with self._lock:
            if not append:
                self._rules.clear()
                self._queue.clear()
            self._rules.extend(rules)
            self._queue.extend(queue)
        for key, value in settings.items():
            setattr(self, key, value)

    # ---- call log

    @property
    def calls(self) -> list[dict[str, Any]]:
        """A copy of the call log (chat completion requests only), oldest first."""
        with self._lock:
            return [dict(c) for c in self._calls]

    def count(self, pred: Callable[[dict[str, Any]], bool] | str | None = None) -> int:
        """Number of logged calls; ``pred`` is a predicate on a call, or a substring of its messages' text."""
        calls = self.calls
        if pred is None:
            return len(calls)
        if isinstance(pred, str):
            needle = pred
            return sum(1 for c in calls if needle in request_text(c["request"]))
        return sum(1 for c in calls if pred(c))

    def wait_for_calls(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` calls have arrived; returns the log."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls
            if len(calls) >= n:
                return calls
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {n} calls, got {len(calls)}")
            time.sleep(0.005)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # ---- HTTP handlers

    def _next_reply(self, request: Request) -> tuple[Reply, str, str | None]:
        with self._lock:
            if self._queue:
                return self._queue.popleft(), "queue", None
            for rule in self._rules:
                if rule.exhausted:
                    continue
                if rule.matches(request):
                    rule.fired += 1
                    return rule.make_reply(request), "rule", rule.name
        return Reply(), "default", None

    async def _handle_chat(self, http: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        in_flight = self._in_flight
        self.peak_in_flight = max(self.peak_in_flight, in_flight)
        entry: dict[str, Any] = {
            "index": -1,
            "t_start": time.monotonic(),
            "t_end": None,
            "path": http.path,
            "query": http.query_string,
            "model": None,
            "messages": None,
            "request": None,
            "status": None,
            "fault": None,
            "source": None,
            "rule": None,
            "content": None,
            "in_flight": in_flight,
            "authorization": http.headers.get("Authorization"),
            "headers": dict(http.headers),
            "cancelled": False,
        }
        with self._lock:
            entry["index"] = len(self._calls)
            self._calls.append(entry)
        try:
            return await self._answer(http, entry)
        except asyncio.CancelledError:
            entry["cancelled"] = True
            raise
        finally:
            entry["t_end"] = time.monotonic()
            self._in_flight -= 1

    async def _answer(self, http: web.Request, entry: dict[str, Any]) -> web.StreamResponse:
        raw = await http.read()
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("request body must be a JSON object")
        except (ValueError, UnicodeDecodeError) as err:
            return self._error(entry, 400, f"invalid JSON body: {err}")
        entry["request"] = request
        entry["model"] = request.get("model")
        entry["messages"] = request.get("messages")
        if not isinstance(request.get("messages"), list):
            return self._error(entry, 400, "'messages' must be a list")
        if request.get("stream") is True:
            return self._error(entry, 400, "stream=true is not supported by the scripted server")

        limit = self.max_in_flight
        if limit is not None and entry["in_flight"] > limit:
            entry["fault"] = "overload"
            entry["source"] = "overload"
            headers = {} if self.retry_after is None else {"Retry-After": _fmt_seconds(self.retry_after)}
            return self._error(entry, 429, "too many requests in flight", headers)

        try:
            reply, source, rule_name = self._next_reply(request)
        except Exception as err:  # a broken rule -> a 500, not a hung test
            entry["source"] = "rule-error"
            return self._error(entry, 500, f"script error: {err!r}")
        entry["source"] = source
        entry["rule"] = rule_name

        wait = self.latency + reply.delay
        if wait > 0:
            await asyncio.sleep(wait)

        if reply.fault == "hang":
            entry["fault"] = "hang"
            await asyncio.sleep(min(self.hang_seconds, _MAX_HANG_S))
            return await self._drop(http)
        if reply.fault == "drop":
            entry["fault"] = "drop"
            return await self._drop(http)

        if reply.body is not None:
            body = reply.body.encode()
            entry["content"] = reply.body
        elif reply.status >= 400:
            body_obj: Any = reply.error_body if reply.error_body is not None else error_body(reply.status)
            body = body_obj.encode() if isinstance(body_obj, str) else json.dumps(body_obj).encode()
            entry["content"] = body_obj
        else:
            try:
                completion, first = build_completion(request, reply, entry["index"])
            except Exception as err:
                return self._error(entry, 500, f"could not build a response: {err!r}")
            body = json.dumps(completion).encode()
            entry["content"] = first
        entry["status"] = reply.status

        if reply.fault == "truncate":
            entry["fault"] = "truncate"
            resp = web.StreamResponse(status=reply.status, headers=reply.headers)
            resp.content_type = "application/json"
            resp.content_length = len(body)
            await resp.prepare(http)
            await resp.write(body[: len(body) // 2])
            return await self._drop(http)

        return web.Response(
            body=body, status=reply.status, headers=reply.headers, content_type="application/json"
        )

    def _error(
        self, entry: dict[str, Any], status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        entry["status"] = status
        body = error_body(status, message)
        entry["content"] = body
        return web.Response(
            body=json.dumps(body).encode(),
            status=status,
            headers=dict(headers or {}),
            content_type="application/json",
        )

    async def _drop(self, http: web.Request) -> web.StreamResponse:
        """Close the connection with no (further) response; the handler is then cancelled by aiohttp."""
        transport = http.transport
        if transport is not None:
            transport.close()
        # connection_lost cancels this handler (handler_cancellation=True); the sleep is only a fallback.
        await asyncio.sleep(5.0)
        return web.Response(status=500)

    async def _handle_models(self, http: web.Request) -> web.Response:
        created = int(time.time())
        data = [
            {"id": m, "object": "model", "created": created, "owned_by": "judgekit-tests"}
            for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _handle_calls(self, http: web.Request) -> web.Response:
        since = int(http.query.get("since", "0") or 0)
        return web.json_response(self.calls[since:])

    async def _handle_reset(self, http: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _handle_script(self, http: web.Request) -> web.Response:
        try:
            script = await http.json()
            if not isinstance(script, dict):
                raise ValueError("script must be a JSON object")
            self.load_script(script)
        except (ValueError, TypeError) as err:
            return web.json_response(error_body(400, f"bad script: {err}"), status=400)
        return web.json_response({"ok": True, "rules": len(self.rules), "queued": self.queued})


def parse_script(
    script: Mapping[str, Any],
) -> tuple[list[Rule], list[Reply], dict[str, Any], bool]:
    """Parse a JSON script::

        {"rules": [{"match": "substring" | {"contains": ..., "model": ..., "user_contains": ...} | null,
                    "reply": {<Reply fields>}, "times": 2, "name": "..."}],
         "queue": [{<Reply fields>}, ...],
         "latency": 0.2, "max_in_flight": 8, "retry_after": 1, "hang_seconds": 60,
         "append": false}

    Rules and queue replace the current ones unless ``append`` is true; settings change only when present.
    """
    known = {"rules", "queue", "latency", "max_in_flight", "retry_after", "hang_seconds", "append", "batch"}
    unknown = set(script) - known
    if unknown:
        raise ValueError(f"unknown script key(s): {sorted(unknown)}")
    rules_raw = script.get("rules") or []
    queue_raw = script.get("queue") or []
    if not isinstance(rules_raw, list) or not isinstance(queue_raw, list):
        raise ValueError("'rules' and 'queue' must be lists")
    rules = [Rule.from_dict(r) for r in rules_raw]
    queue = [Reply.from_dict(q) for q in queue_raw]
    settings: dict[str, Any] = {}
    if "latency" in script:
        settings["latency"] = float(script["latency"] or 0.0)
    if "max_in_flight" in script:
        v = script["max_in_flight"]
        settings["max_in_flight"] = None if v is None else int(v)
    if "retry_after" in script:
        v = script["retry_after"]
        settings["retry_after"] = None if v is None else float(v)
    if "hang_seconds" in script:
        settings["hang_seconds"] = float(script["hang_seconds"])
    if "batch" in script:
        settings["batch"] = BatchScript.from_dict(script["batch"])
    return rules, queue, settings, bool(script.get("append", False))


# ----------------------------------------------------------------------------------------------------
# Driving a server in another process
# ----------------------------------------------------------------------------------------------------


class RemoteControl:
    """Control a scripted server in another process through its underscore endpoints (stdlib HTTP only)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.root = base_url.rstrip("/").removesuffix("/v1")
        self.timeout = timeout

    def _req(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.root + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    @property
    def calls(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._req("GET", "/_calls"))

    def count(self, pred: Callable[[dict[str, Any]], bool] | None = None) -> int:
        calls = self.calls
        return len(calls) if pred is None else sum(1 for c in calls if pred(c))

    def reset(self) -> None:
        self._req("POST", "/_reset", {})

    @property
    def batches(self) -> list[dict[str, Any]]:
        """The server's batch log (see tests/batch_api.py)."""
        return cast(list[dict[str, Any]], self._req("GET", "/_batches"))

    def script(self, script: Mapping[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], self._req("POST", "/_script", dict(script)))


class ServerProcess:
    """Run ``python -m tests.server`` as a subprocess (for kill/resume tests and benchmarks)."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        max_in_flight: int | None = None,
        retry_after: float | None = None,
        hang_seconds: float | None = None,
        script: Mapping[str, Any] | str | Path | None = None,
        port: int = 0,
        start_timeout: float = 20.0,
    ) -> None:
        self.args = ["--port", str(port), "--latency", str(latency)]
        if max_in_flight is not None:
            self.args += ["--max-in-flight", str(max_in_flight)]
        if retry_after is not None:
            self.args += ["--retry-after", str(retry_after)]
        if hang_seconds is not None:
            self.args += ["--hang-seconds", str(hang_seconds)]
        self._script = script
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> Self:
        args = [sys.executable, "-m", "tests.server", *self.args]
        if isinstance(self._script, (str, Path)):
            args += ["--script", str(self._script)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.start_timeout)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"scripted server process did not start (first line {line!r})")
        self.base_url = line
        if isinstance(self._script, Mapping):
            self.control.script(self._script)
        return self

    @property
    def control(self) -> RemoteControl:
        return RemoteControl(self.base_url)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.control.calls

    def stop(self, timeout: float = 5.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stdout is not None:
            proc.stdout.close()
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# ----------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every call waits (default 0)")
    parser.add_argument(
        "--max-in-flight", type=int, default=None, help="429 above this many concurrent calls"
    )
    parser.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds on overload 429")
    parser.add_argument("--hang-seconds", type=float, default=60.0, help="how long a 'hang' fault waits")
    parser.add_argument("--script", type=Path, default=None, help="JSON script file (rules, queue, settings)")
    args = parser.parse_args(argv)
    logging.getLogger("aiohttp.access").disabled = True

    server = ScriptedServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        max_in_flight=args.max_in_flight,
        retry_after=args.retry_after,
        hang_seconds=args.hang_seconds,
        script=args.script,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(server.base_url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
