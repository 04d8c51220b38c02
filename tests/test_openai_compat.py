"""The lean aiohttp client (``--judge openai/... --api-base``) against litellm on the same inputs: the same
score file, cache keys and request bodies; and every error class through real `judgekit score` processes
against the scripted server (429 with Retry-After, 500, a hang, nothing listening, a bad key)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_DATASET, assert_clean_error, run_cli
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer
from tests.test_outage import free_port

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))


def keys(folder: Path) -> set[str]:
    with sqlite3.connect(folder / "cache.sqlite") as db:
        return {row[0] for row in db.execute("SELECT key FROM completions")}


def results(folder: Path) -> dict[str, Any]:
    """What a score file says about the judging (not when or how fast it ran)."""
    data = json.loads((folder / "s.json").read_text())
    for q in data["per_question_scores"]:
        for unit in q["details"]:
            unit.pop("latency_s", None)
    return {
        "score": data["score"],
        "score_ci": data.get("score_ci"),
        "coverage": data["coverage"],
        "questions": data["per_question_scores"],
        "unscored": data["unscored"],
        "identity": data["meta"]["judge"]["identity"],
        "tokens": (data["totals"]["prompt_tokens"], data["totals"]["completion_tokens"]),
        "cost": data["totals"]["cost_usd"],
    }


def scored(tmp_path: Path, name: str, server: ScriptedServer, *extra: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    proc = run_cli(*score_args(folder, "--no-progress", *extra, api_base=server.base_url))
    assert proc.returncode == 0, proc.stderr
    return folder


@pytest.mark.parametrize("structured", ["auto", "json_object", "none"])
def test_same_results_keys_and_bodies_as_litellm(
    scripted_server: ScriptedServer, tmp_path: Path, structured: str
) -> None:
    lite = scored(tmp_path, "litellm", scripted_server, "--client", "litellm", "--structured", structured)
    lite_calls = scripted_server.calls
    scripted_server.clear_calls()
    lean = scored(tmp_path, "lean", scripted_server, "--structured", structured)
    lean_calls = scripted_server.calls
    assert len(lite_calls) == len(lean_calls) == N_ASPECTS
    assert results(lean) == results(lite)
    assert results(lean)["coverage"]["scored"] == N_ASPECTS
    assert keys(lean) == keys(lite) and len(keys(lean)) == N_ASPECTS

    def bodies(calls: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(c["request"], sort_keys=True) for c in calls)

    assert bodies(lean_calls) == bodies(lite_calls)
    fmt = lean_calls[0]["request"].get("response_format")
    expected_type = {"auto": "json_schema", "json_object": "json_object", "none": None}[structured]
    assert (fmt or {}).get("type") == expected_type
    assert {c["authorization"] for c in lean_calls} == {c["authorization"] for c in lite_calls}


def test_one_client_replays_the_other_clients_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    lite = scored(tmp_path, "run", scripted_server, "--client", "litellm")
    scripted_server.clear_calls()
    proc = run_cli(
        *score_args(
            lite, "--no-progress", "--out", str(lite / "again.json"), api_base=scripted_server.base_url
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert scripted_server.count() == 0
    assert json.loads((lite / "again.json").read_text())["totals"]["cache_hits"] == N_ASPECTS


def test_rate_limit_waits_for_retry_after(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule("Aspect", Reply.rate_limited(retry_after=1.5), times=1, name="429")
    folder = scored(tmp_path, "run", scripted_server, "--concurrency", "1")
    calls = scripted_server.calls
    limited = next(c for c in calls if c["status"] == 429)
    retry = next(c for c in calls[limited["index"] + 1 :] if c["messages"] == limited["messages"])
    assert retry["status"] == 200
    assert retry["t_start"] - limited["t_end"] >= 1.4  # the server's 1.5 s, not the 1 s backoff
    totals = json.loads((folder / "s.json").read_text())["totals"]
    assert totals["retries"] == 1 and totals["calls"] == N_ASPECTS + 1


def test_server_error_is_retried(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.queue([Reply.error(500, "boom"), Reply.error(503)])
    folder = scored(tmp_path, "run", scripted_server, "--backoff", "0.1")
    data = json.loads((folder / "s.json").read_text())
    assert data["coverage"]["scored"] == N_ASPECTS and data["totals"]["retries"] == 2
    assert [c["status"] for c in scripted_server.calls].count(200) == N_ASPECTS


def test_hang_times_out_and_is_retried(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.hang_seconds = 30
    scripted_server.queue([Reply(fault="hang")])
    t0 = time.monotonic()
    folder = scored(tmp_path, "run", scripted_server, "--timeout", "1", "--backoff", "0.1")
    assert time.monotonic() - t0 < 25  # the hang is cut at 1 s, not served for 30
    data = json.loads((folder / "s.json").read_text())
    assert data["coverage"]["scored"] == N_ASPECTS and data["totals"]["retries"] == 1
    log = [json.loads(line) for line in (folder / "s.log.jsonl").read_text().splitlines()]
    tries = [t for row in log if row["type"] == "call" for t in row["tries"]]
    assert any(t.startswith("timeout:") for t in tries), tries


def test_nothing_listening_exits_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    t0 = time.monotonic()
    proc = run_cli(*score_args(tmp_path, "--no-progress", api_base=url))
    elapsed = time.monotonic() - t0
    assert_clean_error(
        proc, f"the judge at {url} (openai/judge) is unreachable", "connection refused", code=3
    )
    assert elapsed < 60, elapsed  # the breaker's 15 s window plus start-up
    assert not (tmp_path / "s.json").exists()


def test_bad_key_exits_3_without_retrying(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, Reply.error(401, "Incorrect API key provided"))
    proc = run_cli(*score_args(tmp_path, "--no-progress", api_base=scripted_server.base_url))
    assert_clean_error(proc, "without one answer", "AuthenticationError", "Incorrect API key", code=3)
    # one call per unit at most, never a retry of the same unit
    assert scripted_server.count() <= N_ASPECTS
    assert len({json.dumps(c["messages"]) for c in scripted_server.calls}) == scripted_server.count()
