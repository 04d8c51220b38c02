"""Tests of the scripted judge server itself: raw HTTP (urllib, aiohttp) and litellm as the client."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal

import aiohttp
import jsonschema
import pytest
from pydantic import BaseModel, Field

from tests import lazy
from tests.proc_tools import popen
from tests.server import (
    REPO_ROOT,
    RemoteControl,
    Reply,
    ScriptedServer,
    default_content,
    expected_choice,
    expected_score,
    find_schema,
    user_message,
)


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before the import: offline cost map
    import litellm

    litellm.suppress_debug_info = True
    return litellm


litellm = lazy.Lazy(_litellm)
openai = lazy.module("openai")

JSON = dict[str, Any]
SCORE_SCHEMA: JSON = {
    "type": "object",
    "properties": {"match_score": {"type": "integer", "enum": [0, 1, 2]}},
    "required": ["match_score"],
    "additionalProperties": False,
}


def json_schema_format(schema: JSON, name: str = "verdict") -> JSON:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def chat_body(user: str = "hello", **extra: Any) -> JSON:
    return {"model": "judge", "messages": [{"role": "user", "content": user}], **extra}


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """POST JSON with urllib; returns (status, headers, parsed body) for 2xx and 4xx/5xx alike."""
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def chat(server: ScriptedServer | str, body: JSON, headers: dict[str, str] | None = None) -> tuple[int, JSON]:
    base = server if isinstance(server, str) else server.base_url
    status, _, data = post(base + "/chat/completions", body, headers)
    return status, data


async def litellm_call(server: ScriptedServer, **kwargs: Any) -> Any:
    params: JSON = {
        "model": "openai/judge",
        "api_base": server.base_url,
        "api_key": "sk-test",
        "messages": [{"role": "user", "content": "Rate this answer."}],
        "num_retries": 0,
        "max_retries": 0,
    }
    params.update(kwargs)
    return await litellm.acompletion(**params)


def litellm_error(server: ScriptedServer, **kwargs: Any) -> Exception:
    try:
        asyncio.run(litellm_call(server, **kwargs))
    except Exception as err:
        return err
    raise AssertionError("litellm call succeeded but an error was expected")


# ---------------------------------------------------------------- response format


def test_default_reply_is_a_valid_chat_completion(scripted_server: ScriptedServer) -> None:
    status, data = chat(scripted_server, chat_body("how good is  this answer"))
    assert status == 200
    assert data["object"] == "chat.completion"
    assert data["id"].startswith("chatcmpl-")
    assert isinstance(data["created"], int)
    assert data["model"] == "judge"
    choice = data["choices"][0]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["logprobs"] is None
    content = choice["message"]["content"]
    assert json.loads(content) == {"match_score": expected_score("how good is  this answer")}
    usage = data["usage"]
    assert usage["prompt_tokens"] == 5
    assert usage["completion_tokens"] == len(content.split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_expected_score_rule_is_stable_and_covers_all_scores() -> None:
    scores = {expected_score(f"question {i}") for i in range(30)}
    assert scores == {0, 1, 2}
    assert expected_score("abc") == expected_score("abc")
    assert expected_score("abc") == expected_choice("abc", (0, 1, 2))
    # The documented rule, computed independently.
    import hashlib

    h = int.from_bytes(hashlib.sha256(b"abc").digest()[:8], "big")
    assert expected_score("abc") == h % 3
    h1 = int.from_bytes(hashlib.sha256(b"abc\x1faspects/1").digest()[:8], "big")
    assert expected_score("abc", "aspects/1") == h1 % 3
    assert expected_score("abc", 1) == expected_score("abc", "1")


@pytest.mark.parametrize(
    "response_format",
    [
        json_schema_format(SCORE_SCHEMA),
        {"type": "json_object", "schema": SCORE_SCHEMA},
        {"type": "json_object"},
        None,
    ],
    ids=["json_schema", "json_object+schema", "json_object", "none"],
)
def test_match_score_by_hash_for_every_response_format(
    scripted_server: ScriptedServer, response_format: JSON | None
) -> None:
    for i in range(6):
        user = f"Question {i}: is the answer about topic {i}?"
        extra = {} if response_format is None else {"response_format": response_format}
        status, data = chat(scripted_server, chat_body(user, **extra))
        assert status == 200
        assert json.loads(data["choices"][0]["message"]["content"]) == {"match_score": expected_score(user)}


def test_user_message_is_the_last_user_turn_and_joins_text_parts(scripted_server: ScriptedServer) -> None:
    body = {
        "model": "judge",
        "messages": [
            {"role": "system", "content": "You are a judge."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "two"}],
            },
        ],
    }
    assert user_message(body) == "part one\ntwo"
    _, data = chat(scripted_server, body)
    assert json.loads(data["choices"][0]["message"]["content"]) == {
        "match_score": expected_score("part one\ntwo")
    }


class AspectVerdict(BaseModel):
    aspect: int = Field(ge=1, le=4)
    match_score: Literal[0, 1, 2]
    reason: str | None = None


class AllAspects(BaseModel):
    aspects: list[AspectVerdict] = Field(min_length=4, max_length=4)


def test_all_aspects_schema_from_pydantic_is_filled_per_item(scripted_server: ScriptedServer) -> None:
    schema = AllAspects.model_json_schema()  # uses $defs/$ref, anyOf-null, Literal enums
    user = "Judge all 4 aspects of this answer."
    _, data = chat(scripted_server, chat_body(user, response_format=json_schema_format(schema)))
    content = data["choices"][0]["message"]["content"]
    verdict = AllAspects.model_validate_json(content)
    jsonschema.validate(json.loads(content), schema)
    assert [a.aspect for a in verdict.aspects] == [1, 2, 3, 4]
    assert [a.match_score for a in verdict.aspects] == [
        expected_score(user, f"aspects/{i}") for i in range(4)
    ]
    assert default_content(chat_body(user, response_format=json_schema_format(schema))) == content


def test_generic_schema_fill_handles_enums_bounds_and_nesting(scripted_server: ScriptedServer) -> None:
    titles = ["Accuracy", "Completeness", "Clarity"]
    schema: JSON = {
        "type": "object",
        "properties": {
            "aspects": {
                "type": "array",
                "minItems": 3,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "properties": {
                        "aspect": {"type": "string", "enum": titles},
                        "match_score": {"type": "integer", "minimum": 0, "maximum": 2},
                        "rating": {"type": "integer", "minimum": 1, "maximum": 10},
                        "label": {"type": "string", "enum": ["good", "bad"]},
                        "confident": {"type": "boolean"},
                        "weight": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["aspect", "match_score", "rating", "label", "confident", "weight"],
                },
            },
            "summary": {"type": "string", "minLength": 20},
            "overall": {"type": ["integer", "null"], "minimum": 0, "maximum": 2},
            "fixed": {"const": "v1"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["aspects", "summary", "overall", "fixed", "tags"],
    }
    user = "Judge every aspect."
    for response_format in (json_schema_format(schema), {"type": "json_object", "schema": schema}):
        _, data = chat(scripted_server, chat_body(user, response_format=response_format))
        value = json.loads(data["choices"][0]["message"]["content"])
        jsonschema.validate(value, schema)
        assert [a["aspect"] for a in value["aspects"]] == titles
        assert [a["match_score"] for a in value["aspects"]] == [
            expected_score(user, f"aspects/{i}") for i in range(3)
        ]
        assert [a["rating"] for a in value["aspects"]] == [
            expected_choice(user, range(1, 11), f"aspects/{i}") for i in range(3)
        ]
        assert value["overall"] == expected_score(user)
        assert value["fixed"] == "v1"
        assert len(value["tags"]) == 1


def test_nested_objects_get_their_own_path(scripted_server: ScriptedServer) -> None:
    verdict = {
        "type": "object",
        "properties": {"match_score": {"type": "integer"}},
        "required": ["match_score"],
    }
    schema: JSON = {
        "type": "object",
        "properties": {
            "match_score": {"type": "integer", "minimum": 0, "maximum": 2},
            "aspect_1": verdict,
            "aspect_2": verdict,
            "grid": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"$ref": "#/$defs/row"}},
        },
        "required": ["match_score", "aspect_1", "aspect_2", "grid"],
        "$defs": {"row": {"type": "object", "properties": {"inner": verdict}, "required": ["inner"]}},
    }
    users = [f"judge #{i}" for i in range(5)]
    for user in users:
        _, data = chat(scripted_server, chat_body(user, response_format=json_schema_format(schema)))
        value = json.loads(data["choices"][0]["message"]["content"])
        assert value == {
            "match_score": expected_score(user),
            "aspect_1": {"match_score": expected_score(user, "aspect_1")},
            "aspect_2": {"match_score": expected_score(user, "aspect_2")},
            "grid": [{"inner": {"match_score": expected_score(user, f"grid/{i}/inner")}} for i in range(2)],
        }


def test_find_schema_accepts_both_shapes() -> None:
    assert find_schema(json_schema_format(SCORE_SCHEMA)) == SCORE_SCHEMA
    assert find_schema({"type": "json_object", "schema": SCORE_SCHEMA}) == SCORE_SCHEMA
    assert find_schema({"type": "json_object"}) is None
    assert find_schema(None) is None


def test_stream_true_is_rejected_and_stream_false_accepted(scripted_server: ScriptedServer) -> None:
    status, data = chat(scripted_server, chat_body(stream=True))
    assert status == 400
    assert "stream" in data["error"]["message"]
    status, _ = chat(scripted_server, chat_body(stream=False))
    assert status == 200
    assert [c["status"] for c in scripted_server.calls] == [400, 200]


def test_bad_requests_get_400(scripted_server: ScriptedServer) -> None:
    req = urllib.request.Request(
        scripted_server.base_url + "/chat/completions", data=b"{not json", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 400
    status, _ = chat(scripted_server, {"model": "judge"})
    assert status == 400


def test_models_endpoint(make_server: Any) -> None:
    server = make_server(models=["judge", "other"])
    data = get(server.base_url + "/models")
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["judge", "other"]


def test_n_choices_and_samples(scripted_server: ScriptedServer) -> None:
    _, data = chat(scripted_server, chat_body("x", n=3))
    assert [c["index"] for c in data["choices"]] == [0, 1, 2]
    assert len({c["message"]["content"] for c in data["choices"]}) == 1
    scripted_server.queue(Reply(samples=['{"match_score": 0}', '{"match_score": 2}']))
    _, data = chat(scripted_server, chat_body("x", n=3))
    assert [json.loads(c["message"]["content"])["match_score"] for c in data["choices"]] == [0, 2, 0]


# ---------------------------------------------------------------- logprobs


def test_logprobs_follow_the_openai_format(scripted_server: ScriptedServer) -> None:
    dist = {"0": math.log(0.1), "1": math.log(0.2), "2": math.log(0.7)}
    scripted_server.add_rule("score me", Reply(content='{"match_score": 2}', logprobs=dist))
    _, data = chat(scripted_server, chat_body("score me", logprobs=True, top_logprobs=2))
    content = data["choices"][0]["logprobs"]["content"]
    assert "".join(t["token"] for t in content) == '{"match_score": 2}'
    for t in content:
        assert t["bytes"] == list(t["token"].encode())
        assert set(t) == {"token", "logprob", "bytes", "top_logprobs"}
    score = next(t for t in content if t["token"] == "2")
    assert score["logprob"] == pytest.approx(math.log(0.7))
    assert [e["token"] for e in score["top_logprobs"]] == ["2", "1"]  # sorted, truncated to k=2
    assert score["top_logprobs"][1]["logprob"] == pytest.approx(math.log(0.2))
    others = [t for t in content if t["token"] != "2"]
    assert all(t["logprob"] == 0.0 and len(t["top_logprobs"]) == 1 for t in others)


def test_logprobs_list_applies_to_successive_score_tokens(scripted_server: ScriptedServer) -> None:
    content = '{"aspects": [{"match_score": 1}, {"match_score": 0}]}'
    dists = [{"1": -0.1, "2": -2.5}, {"0": -0.3, "1": -1.4}]
    scripted_server.queue(Reply(content=content, logprobs=dists))
    _, data = chat(scripted_server, chat_body("x", logprobs=True, top_logprobs=5))
    tokens = data["choices"][0]["logprobs"]["content"]
    scored = [t for t in tokens if len(t["top_logprobs"]) > 1]
    assert [t["token"] for t in scored] == ["1", "0"]
    assert {e["token"]: e["logprob"] for e in scored[1]["top_logprobs"]} == dists[1]


def test_logprobs_without_top_logprobs(scripted_server: ScriptedServer) -> None:
    _, data = chat(scripted_server, chat_body("x", logprobs=True))
    assert all(t["top_logprobs"] == [] for t in data["choices"][0]["logprobs"]["content"])


# ---------------------------------------------------------------- script: rules and queue


def test_rules_first_match_wins_and_times_limits(scripted_server: ScriptedServer) -> None:
    r429 = scripted_server.add_rule("aspect X", Reply.rate_limited(retry_after=None), times=2, name="x-429")
    scripted_server.add_rule("aspect X", Reply.verdict(match_score=2))
    scripted_server.add_rule("aspect", Reply.verdict(match_score=0))
    statuses = [chat(scripted_server, chat_body("judge aspect X"))[0] for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert r429.fired == 2
    _, data = chat(scripted_server, chat_body("judge aspect X"))
    assert json.loads(data["choices"][0]["message"]["content"]) == {"match_score": 2}
    _, data = chat(scripted_server, chat_body("judge aspect Y"))
    assert json.loads(data["choices"][0]["message"]["content"]) == {"match_score": 0}
    _, data = chat(scripted_server, chat_body("something else"))
    assert json.loads(data["choices"][0]["message"]["content"]) == {
        "match_score": expected_score("something else")
    }
    calls = scripted_server.calls
    assert [c["rule"] for c in calls[:2]] == ["x-429", "x-429"]
    assert [c["source"] for c in calls] == ["rule"] * 5 + ["default"]


def test_callable_and_dict_matchers_and_callable_replies(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule(lambda req: req.get("temperature") == 0.7, Reply(content="hot"))
    scripted_server.add_rule({"model": "other", "contains": "hi"}, Reply(content="other model"))
    scripted_server.add_rule("echo", lambda req: Reply(content=user_message(req).upper()), times=1)
    assert (
        chat(scripted_server, chat_body("a", temperature=0.7))[1]["choices"][0]["message"]["content"] == "hot"
    )
    body = chat_body("hi there")
    body["model"] = "other"
    assert chat(scripted_server, body)[1]["choices"][0]["message"]["content"] == "other model"
    assert chat(scripted_server, chat_body("echo me"))[1]["choices"][0]["message"]["content"] == "ECHO ME"
    # times=1 used up -> default responder
    assert json.loads(chat(scripted_server, chat_body("echo me"))[1]["choices"][0]["message"]["content"]) == {
        "match_score": expected_score("echo me")
    }


def test_queue_runs_before_rules_in_order(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule(None, Reply(content="rule"))
    scripted_server.queue([Reply.error(503), Reply(content="first"), Reply()])
    assert scripted_server.queued == 3
    results = [chat(scripted_server, chat_body("q")) for _ in range(4)]
    assert [s for s, _ in results] == [503, 200, 200, 200]
    assert results[1][1]["choices"][0]["message"]["content"] == "first"
    assert json.loads(results[2][1]["choices"][0]["message"]["content"]) == {
        "match_score": expected_score("q")
    }
    assert results[3][1]["choices"][0]["message"]["content"] == "rule"
    assert [c["source"] for c in scripted_server.calls] == ["queue", "queue", "queue", "rule"]


def test_broken_rule_gives_500_not_a_hang(scripted_server: ScriptedServer) -> None:
    def boom(req: JSON) -> bool:
        raise RuntimeError("bad rule")

    scripted_server.add_rule(boom, Reply())
    status, data = chat(scripted_server, chat_body())
    assert status == 500
    assert "bad rule" in data["error"]["message"]


def test_error_replies_carry_openai_error_json(scripted_server: ScriptedServer) -> None:
    scripted_server.queue(
        [Reply.error(500, "boom"), Reply(status=400, error_body={"error": {"message": "custom"}})]
    )
    status, data = chat(scripted_server, chat_body())
    assert status == 500
    assert data == {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
    status, data = chat(scripted_server, chat_body())
    assert (status, data) == (400, {"error": {"message": "custom"}})


def test_reply_validation() -> None:
    with pytest.raises(ValueError):
        Reply(fault="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Reply.from_dict({"contnet": "typo"})


# ---------------------------------------------------------------- call log


def test_call_log_records_the_full_request(scripted_server: ScriptedServer) -> None:
    body = chat_body(
        "log me",
        response_format=json_schema_format(SCORE_SCHEMA),
        temperature=0.0,
        max_tokens=50,
        n=1,
        logprobs=True,
        top_logprobs=3,
    )
    t0 = time.monotonic()
    chat(scripted_server, body, headers={"Authorization": "Bearer sk-fake-123"})
    chat(scripted_server, chat_body("no auth"))
    calls = scripted_server.calls
    first = calls[0]
    assert first["index"] == 0 and calls[1]["index"] == 1
    assert t0 <= first["t_start"] <= first["t_end"] <= time.monotonic()
    assert first["model"] == "judge"
    assert first["messages"] == body["messages"]
    assert first["request"] == body
    assert first["status"] == 200
    assert first["fault"] is None
    assert first["in_flight"] == 1
    assert first["authorization"] == "Bearer sk-fake-123"
    assert calls[1]["authorization"] is None
    assert first["content"] == json.dumps({"match_score": expected_score("log me")})
    assert scripted_server.count() == 2
    assert scripted_server.count("log me") == 1
    assert scripted_server.count(lambda c: c["request"].get("max_tokens") == 50) == 1


# ---------------------------------------------------------------- latency and limits


def test_latency_is_per_call_and_does_not_serialize(make_server: Any) -> None:
    server = make_server(latency=0.3)

    async def run() -> float:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> int:
                async with session.post(server.base_url + "/chat/completions", json=chat_body(f"{i}")) as r:
                    return r.status

            t = time.monotonic()
            statuses = await asyncio.gather(*(one(i) for i in range(20)))
            assert statuses == [200] * 20
            return time.monotonic() - t

    wall = asyncio.run(run())
    assert 0.3 <= wall < 1.5
    assert all(c["t_end"] - c["t_start"] >= 0.29 for c in server.calls)
    assert server.peak_in_flight == 20
    server.queue(Reply(delay=0.2))
    t = time.monotonic()
    chat(server, chat_body())
    assert time.monotonic() - t >= 0.5


def test_max_in_flight_answers_429_with_retry_after(make_server: Any) -> None:
    server = make_server(latency=0.3, max_in_flight=3, retry_after=2)

    async def run() -> list[tuple[int, str | None]]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> tuple[int, str | None]:
                async with session.post(server.base_url + "/chat/completions", json=chat_body(f"{i}")) as r:
                    await r.read()
                    return r.status, r.headers.get("Retry-After")

            return await asyncio.gather(*(one(i) for i in range(8)))

    results = asyncio.run(run())
    assert sorted(s for s, _ in results) == [200] * 3 + [429] * 5
    assert {ra for s, ra in results if s == 429} == {"2"}
    calls = server.calls
    # in_flight counts the arriving call; rejected calls leave at once, so each of them saw 4.
    assert sorted(c["in_flight"] for c in calls) == [1, 2, 3, 4, 4, 4, 4, 4]
    assert all((c["in_flight"] > 3) == (c["status"] == 429) for c in calls)
    assert all(c["fault"] == "overload" for c in calls if c["status"] == 429)
    assert server.peak_in_flight == 4
    # Without retry_after: 429 and no header.
    server.retry_after = None
    server.max_in_flight = 0
    status, headers, _ = post(server.base_url + "/chat/completions", chat_body())
    assert status == 429 and "Retry-After" not in headers


# ---------------------------------------------------------------- faults seen from a raw HTTP client


async def aiohttp_post(server: ScriptedServer, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(server.base_url + "/chat/completions", json=chat_body()) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


@pytest.mark.parametrize("retry_after", [1.5, None])
def test_429_with_and_without_retry_after(scripted_server: ScriptedServer, retry_after: float | None) -> None:
    scripted_server.queue(Reply.rate_limited(retry_after))
    status, headers, body = asyncio.run(aiohttp_post(scripted_server))
    assert status == 429
    assert headers.get("Retry-After") == (None if retry_after is None else "1.5")
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(scripted_server: ScriptedServer, status: int) -> None:
    scripted_server.queue(Reply.error(status))
    got, _, body = asyncio.run(aiohttp_post(scripted_server))
    assert got == status
    assert json.loads(body)["error"]["type"] == "server_error"


def test_drop_closes_without_response(scripted_server: ScriptedServer) -> None:
    scripted_server.queue(Reply(fault="drop"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        asyncio.run(aiohttp_post(scripted_server))
    call = scripted_server.wait_for_calls(1)[0]
    assert call["fault"] == "drop" and call["status"] is None
    assert chat(scripted_server, chat_body())[0] == 200  # the server keeps serving


def test_truncate_sends_half_a_body_with_the_full_length(scripted_server: ScriptedServer) -> None:
    scripted_server.queue(Reply(fault="truncate"))

    async def run() -> tuple[int, int]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(scripted_server.base_url + "/chat/completions", json=chat_body()) as resp,
        ):
            length = int(resp.headers["Content-Length"])
            received = b""
            with pytest.raises(aiohttp.ClientPayloadError):
                async for chunk in resp.content.iter_any():
                    received += chunk
            with pytest.raises(json.JSONDecodeError):
                json.loads(received)
            return length, len(received)

    length, received = asyncio.run(run())
    assert received == length // 2
    assert scripted_server.calls[0]["fault"] == "truncate"
    assert scripted_server.calls[0]["status"] == 200


def test_hang_outlasts_the_client_timeout(make_server: Any) -> None:
    server = make_server(hang_seconds=30)
    server.queue(Reply(fault="hang"))
    t = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(aiohttp_post(server, timeout=0.5))
    assert time.monotonic() - t < 2
    call = server.wait_for_calls(1)[0]
    assert call["fault"] == "hang"
    deadline = time.monotonic() + 5
    while not server.calls[0]["cancelled"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.calls[0]["cancelled"]  # the client went away; the handler was cancelled
    assert server.in_flight == 0


def test_stop_is_quick_while_a_call_hangs() -> None:
    server = ScriptedServer(hang_seconds=30).start()
    server.queue(Reply(fault="hang"))

    async def hang_forever() -> None:
        with pytest.raises(aiohttp.ClientError):
            await aiohttp_post(server, timeout=20)

    async def run() -> float:
        task = asyncio.create_task(hang_forever())
        await asyncio.to_thread(server.wait_for_calls, 1)
        t = time.monotonic()
        await asyncio.to_thread(server.stop)
        elapsed = time.monotonic() - t
        await task
        return elapsed

    assert asyncio.run(run()) < 3
    assert not server.running


# ---------------------------------------------------------------- remote control endpoints


def test_control_endpoints(scripted_server: ScriptedServer) -> None:
    control = RemoteControl(scripted_server.base_url)
    answer = control.script(
        {
            "rules": [
                {"match": "aspect 2", "reply": {"status": 429, "headers": {"Retry-After": "1"}}, "times": 1},
                {"match": {"contains": "aspect"}, "reply": {"content": '{"match_score": 1}'}},
            ],
            "queue": [{"status": 503}],
            "latency": 0.05,
        }
    )
    assert answer == {"ok": True, "rules": 2, "queued": 1}
    assert scripted_server.latency == 0.05
    assert [chat(scripted_server, chat_body("aspect 2"))[0] for _ in range(3)] == [503, 429, 200]
    calls = control.calls
    assert [c["status"] for c in calls] == [503, 429, 200]
    assert control.count(lambda c: c["status"] == 429) == 1
    assert get(scripted_server.url + "/_calls?since=2")[0]["index"] == 2
    # Replacing: a new script drops the old rules.
    control.script({"rules": [{"match": None, "reply": {"content": "x"}}]})
    assert chat(scripted_server, chat_body("aspect 1"))[1]["choices"][0]["message"]["content"] == "x"
    control.reset()
    assert control.calls == [] and scripted_server.rules == [] and scripted_server.latency == 0.0
    status, _, data = post(scripted_server.url + "/_script", {"rules": [{"reply": {"fault": "boom"}}]})
    assert status == 400 and "fault" in data["error"]["message"]


# ---------------------------------------------------------------- as its own process


def test_cli_process_prints_url_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"match": "ping", "reply": {"content": "pong"}}]}))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = popen(
        [sys.executable, "-m", "tests.server", "--port", "0", "--latency", "0.01", "--script", str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        status, data = chat(base_url, chat_body("ping"))
        assert (status, data["choices"][0]["message"]["content"]) == (200, "pong")
        assert RemoteControl(base_url).count() == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_server_process_fixture(make_server_process: Any) -> None:
    proc = make_server_process(max_in_flight=1, script={"queue": [{"status": 502}]})
    assert chat(proc.base_url, chat_body())[0] == 502
    assert chat(proc.base_url, chat_body())[0] == 200
    assert [c["status"] for c in proc.calls] == [502, 200]


# ---------------------------------------------------------------- through litellm


def test_litellm_accepts_responses_with_schema_and_usage(scripted_server: ScriptedServer) -> None:
    user = "Aspect: correctness. Score the answer."
    response = asyncio.run(
        litellm_call(
            scripted_server,
            messages=[{"role": "system", "content": "judge"}, {"role": "user", "content": user}],
            response_format=json_schema_format(SCORE_SCHEMA),
            temperature=0,
            max_tokens=20,
        )
    )
    assert json.loads(response.choices[0].message.content) == {"match_score": expected_score(user)}
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == 6
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    call = scripted_server.calls[0]
    assert call["request"]["response_format"] == json_schema_format(SCORE_SCHEMA)
    assert call["request"]["temperature"] == 0
    assert call["request"]["max_tokens"] == 20
    assert call["authorization"] == "Bearer sk-test"


def test_litellm_pydantic_response_format_all_aspects(scripted_server: ScriptedServer) -> None:
    response = asyncio.run(litellm_call(scripted_server, response_format=AllAspects))
    verdict = AllAspects.model_validate_json(response.choices[0].message.content)
    user = "Rate this answer."
    assert [a.match_score for a in verdict.aspects] == [
        expected_score(user, f"aspects/{i}") for i in range(4)
    ]
    sent = scripted_server.calls[0]["request"]["response_format"]
    assert sent["type"] == "json_schema"


def test_litellm_logprobs_passthrough(scripted_server: ScriptedServer) -> None:
    dist = {"0": -3.0, "1": -0.5, "2": -1.2}
    scripted_server.add_rule(None, Reply(content='{"match_score": 1}', logprobs=dist))
    response = asyncio.run(litellm_call(scripted_server, logprobs=True, top_logprobs=3))
    content = response.choices[0].logprobs.content
    score = next(t for t in content if t.token == "1")
    assert score.logprob == pytest.approx(-0.5)
    assert [(e.token, e.logprob) for e in score.top_logprobs] == [("1", -0.5), ("2", -1.2), ("0", -3.0)]
    request = scripted_server.calls[0]["request"]
    assert request["logprobs"] is True and request["top_logprobs"] == 3


def test_litellm_n_samples(scripted_server: ScriptedServer) -> None:
    scripted_server.queue(Reply(samples=['{"match_score": 2}', '{"match_score": 0}']))
    response = asyncio.run(litellm_call(scripted_server, n=2))
    assert [c.message.content for c in response.choices] == ['{"match_score": 2}', '{"match_score": 0}']
    assert scripted_server.calls[0]["request"]["n"] == 2


# The mapping the retry engine relies on (litellm with num_retries=0 and max_retries=0).
FAULT_MAPPING: list[tuple[str, Reply, str, int | None]] = [
    ("429+retry-after", Reply.rate_limited(retry_after=3), "RateLimitError", 429),
    ("429", Reply.rate_limited(retry_after=None), "RateLimitError", 429),
    ("500", Reply.error(500), "InternalServerError", 500),
    ("502", Reply.error(502), "BadGatewayError", 502),
    ("503", Reply.error(503), "ServiceUnavailableError", 503),
    ("504", Reply.error(504), "Timeout", 504),
    ("400", Reply.error(400), "BadRequestError", 400),
    ("404", Reply.error(404), "NotFoundError", 404),
    ("drop", Reply(fault="drop"), "InternalServerError", 500),
    ("truncate", Reply(fault="truncate"), "InternalServerError", 500),
]


@pytest.mark.parametrize(
    ("reply", "exc_name", "status"), [m[1:] for m in FAULT_MAPPING], ids=[m[0] for m in FAULT_MAPPING]
)
def test_litellm_exception_for_each_fault(
    scripted_server: ScriptedServer, reply: Reply, exc_name: str, status: int | None
) -> None:
    scripted_server.add_rule(None, reply)
    err = litellm_error(scripted_server, timeout=5)
    assert type(err) is getattr(litellm, exc_name), repr(err)
    assert getattr(err, "status_code", None) == status
    assert scripted_server.count() == 1  # no hidden retries
    if reply.fault in ("drop", "truncate"):
        assert "Connection error" in str(err)


def test_litellm_exposes_retry_after(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule(None, Reply.rate_limited(retry_after=3))
    err = litellm_error(scripted_server)
    assert isinstance(err, litellm.RateLimitError)
    assert err.litellm_response_headers is not None
    assert err.litellm_response_headers.get("retry-after") == "3"


def test_litellm_hang_raises_timeout(make_server: Any) -> None:
    server = make_server(hang_seconds=30)
    server.add_rule(None, Reply(fault="hang"))
    t = time.monotonic()
    err = litellm_error(server, timeout=0.5)
    assert time.monotonic() - t < 3
    assert isinstance(err, litellm.Timeout)
    assert getattr(err, "status_code", None) == 408
    assert isinstance(err, openai.APITimeoutError)  # not a litellm.APIConnectionError
    assert server.count() == 1


def test_litellm_default_client_retries_are_visible_in_the_log(scripted_server: ScriptedServer) -> None:
    """Without max_retries=0 the OpenAI client retries on its own: 3 calls for one request."""
    scripted_server.add_rule(None, Reply.rate_limited(retry_after=0), times=2)
    params: JSON = {
        "model": "openai/judge",
        "api_base": scripted_server.base_url,
        "api_key": "sk-test",
        "messages": [{"role": "user", "content": "x"}],
    }
    response = asyncio.run(litellm.acompletion(**params))
    assert response.choices[0].message.content
    assert [c["status"] for c in scripted_server.calls] == [429, 429, 200]
    assert [c["headers"].get("x-stainless-retry-count") for c in scripted_server.calls] == ["0", "1", "2"]


# ---------------------------------------------------------------- throughput


def test_throughput_2000_calls_at_concurrency_64(make_server: Any) -> None:
    """The load the benchmarks need: 2,000 calls, 64 at a time, 200 ms each -> ideally 6.25 s."""
    server = make_server(latency=0.2)
    body = chat_body("Score aspect 1.", response_format=json_schema_format(SCORE_SCHEMA))

    async def run() -> float:
        sem = asyncio.Semaphore(64)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

            async def one() -> None:
                async with sem, session.post(server.base_url + "/chat/completions", json=body) as resp:
                    assert resp.status == 200
                    await resp.json()

            t = time.monotonic()
            await asyncio.gather(*(one() for _ in range(2000)))
            return time.monotonic() - t

    wall = asyncio.run(run())
    assert server.count() == 2000
    assert server.peak_in_flight <= 64
    assert wall < 20, f"2000 calls took {wall:.1f}s"
