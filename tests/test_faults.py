"""Faults injected by the scripted server: every run finishes, retries are bounded and logged, failures
end as unscored with the right reason, and the totals add up."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.errors import JudgeUnavailable
from judgekit.judges import JudgeOptions
from judgekit.results import ScoreFile
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.server import Reply, ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
TARGET = "Aspect: Knee care\n"
MAX_RETRIES = 2
MAX_REASKS = 2


def run(
    server: ScriptedServer, tmp_path: Path, timeout: float = 30.0
) -> tuple[ScoreFile, list[dict[str, Any]]]:
    s = ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test", timeout=timeout),
        engine=EngineSettings(
            concurrency=4, max_retries=MAX_RETRIES, max_reasks=MAX_REASKS, backoff_base=0.01
        ),
    )
    out = tmp_path / "s.json"
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s, out=out, cache=False)
    log = [json.loads(line) for line in (tmp_path / "s.log.jsonl").read_text().splitlines()]
    return result, log


def knee(result: ScoreFile) -> Any:
    return next(d for d in result.by_id()["lqa-001"].details if d.aspect == "Knee care")


def totals_add_up(result: ScoreFile) -> None:
    details = [d for q in result.per_question_scores for d in q.details]
    assert len(details) == N_ASPECTS
    for d in details:
        assert (d.status == "scored" and d.score is not None) or (d.status == "unscored" and d.reason)
    assert result.coverage.scored + len(result.unscored) == result.coverage.total == N_ASPECTS


def target_calls(server: ScriptedServer) -> int:
    return server.count(TARGET)


TRANSIENT = {
    "429 with Retry-After": (Reply.rate_limited(retry_after=0.05), "rate_limit"),
    "429 without Retry-After": (Reply.rate_limited(retry_after=None), "rate_limit"),
    "500": (Reply.error(500), "server_error"),
    "502": (Reply.error(502), "server_error"),
    "503": (Reply.error(503), "server_error"),
    "dropped connection": (Reply(fault="drop"), "connection"),
    "truncated body": (Reply(fault="truncate"), "connection"),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_fault_then_recovery(scripted_server: ScriptedServer, tmp_path: Path, name: str) -> None:
    reply, kind = TRANSIENT[name]
    scripted_server.add_rule(TARGET, reply, times=MAX_RETRIES)
    result, log = run(scripted_server, tmp_path)
    assert knee(result).status == "scored"
    assert result.coverage.ratio == 1.0 and result.totals.retries == MAX_RETRIES
    assert target_calls(scripted_server) == MAX_RETRIES + 1
    # the retries are in the run log, with their kind
    call = next(r for r in log if r["type"] == "call" and r["targets"] == ["Knee care"])
    assert len(call["tries"]) == MAX_RETRIES and all(t.startswith(kind) for t in call["tries"])
    totals_add_up(result)


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_persistent_fault_is_bounded_and_unscored(
    scripted_server: ScriptedServer, tmp_path: Path, name: str
) -> None:
    reply, kind = TRANSIENT[name]
    scripted_server.add_rule(TARGET, reply)
    result, _log = run(scripted_server, tmp_path)
    d = knee(result)
    assert d.status == "unscored" and d.score is None
    assert (d.reason or "").startswith(kind) and f"after {MAX_RETRIES + 1} tries" in (d.reason or "")
    assert target_calls(scripted_server) == MAX_RETRIES + 1  # bounded
    assert result.coverage.scored == N_ASPECTS - 1
    totals_add_up(result)


def test_retry_after_is_honoured(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(TARGET, Reply.rate_limited(retry_after=1), times=1)
    run(scripted_server, tmp_path)
    calls = [c for c in scripted_server.calls if TARGET in json.dumps(c["messages"]).replace("\\n", "\n")]
    assert len(calls) == 2
    assert calls[1]["t_start"] - calls[0]["t_end"] >= 0.95


def test_read_timeout(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.hang_seconds = 10
    scripted_server.add_rule(TARGET, Reply(fault="hang"))
    t0 = time.monotonic()
    result, _ = run(scripted_server, tmp_path, timeout=1.0)
    assert time.monotonic() - t0 < 15
    d = knee(result)
    assert d.status == "unscored" and (d.reason or "").startswith("timeout")
    assert target_calls(scripted_server) == MAX_RETRIES + 1
    totals_add_up(result)


CONTENT = {
    "truncated JSON": ('{"match_score": ', "no JSON object"),
    "wrong field": ('{"score": 2}', "field 'match_score': Field required"),
    "out-of-range score": ('{"match_score": 5}', "field 'match_score'"),
    "empty completion": ("", "empty completion"),
    "prose only": ("This response is pretty good.", "no JSON object"),
}


@pytest.mark.parametrize("name", list(CONTENT))
def test_bad_content_is_reasked_then_unscored(
    scripted_server: ScriptedServer, tmp_path: Path, name: str
) -> None:
    content, reason = CONTENT[name]
    scripted_server.add_rule(TARGET, Reply(content=content))
    result, log = run(scripted_server, tmp_path)
    d = knee(result)
    assert d.status == "unscored" and d.score is None
    assert f"unparseable after {MAX_REASKS + 1} answers" in (d.reason or "") and reason in (d.reason or "")
    assert target_calls(scripted_server) == MAX_REASKS + 1
    assert result.totals.reasks == MAX_REASKS
    # the raw answers are kept in the run log with their parse errors
    calls = [r for r in log if r["type"] == "call" and r["targets"] == ["Knee care"]]
    assert [c["completion"] for c in calls] == [content] * (MAX_REASKS + 1)
    assert all(c["parse_error"] for c in calls)
    totals_add_up(result)


def test_everything_failing_stops_the_run(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Every call 503: the judge cannot judge, so the run stops (JudgeUnavailable) without a score file,
    even when the retries are quicker than the breaker's window; the log says it stopped."""
    scripted_server.add_rule(None, Reply.error(503))
    with pytest.raises(JudgeUnavailable, match=r"returns server errors: \d+ call\(s\) in \d+ s failed"):
        run(scripted_server, tmp_path)
    assert scripted_server.count() <= N_ASPECTS * (MAX_RETRIES + 1)
    assert not (tmp_path / "s.json").exists()
    rows = [json.loads(line) for line in (tmp_path / "s.log.jsonl").read_text().splitlines()]
    assert rows[0]["type"] == "header" and rows[-1]["status"] == "stopped"


# -- adaptive concurrency -----------------------------------------------------------------------------


def _big_dataset(tmp_path: Path, questions: int, aspects: int) -> tuple[Path, Path]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks._common import synthetic_lamp_qa

    return synthetic_lamp_qa(tmp_path, questions, aspects)


def _run_against_limit(
    make_server: Any, tmp_path: Path, limit: int, adaptive: bool
) -> tuple[ScoreFile, list[dict[str, Any]], float]:
    server = make_server(latency=0.1, max_in_flight=limit)
    tmp_path.mkdir()
    ds, rs = _big_dataset(tmp_path, 30, 4)
    s = ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="x", workers=1),
        engine=EngineSettings(concurrency=32, max_retries=8, backoff_base=0.05, adaptive=adaptive),
    )
    t0 = time.monotonic()
    result = score(ds, rs, judge="openai/judge", settings=s, cache=False)
    return result, server.calls, time.monotonic() - t0


def test_adaptive_concurrency_near_a_rate_limit(make_server: Any, tmp_path: Path) -> None:
    limit = 4
    result, calls, elapsed = _run_against_limit(make_server, tmp_path / "a", limit, adaptive=True)
    _fixed, fixed_calls, _ = _run_against_limit(make_server, tmp_path / "f", limit, adaptive=False)
    assert result.coverage.ratio == 1.0  # nothing lost
    changes = result.meta["concurrency_changes"]
    assert any(c["to"] < c["from"] for c in changes), "lowered on 429"
    assert any(c["to"] > c["from"] for c in changes), "raised again as calls succeed"
    assert min(c["to"] for c in changes) <= limit
    rejected = sum(1 for c in calls if c["status"] == 429)
    fixed_rejected = sum(1 for c in fixed_calls if c["status"] == 429)
    # doesn't hammer: far fewer 429s than the same run without adaptation...
    assert rejected * 3 < fixed_rejected, (rejected, fixed_rejected)
    # ...and once adapted, the sawtooth probes the limit only now and then
    late = calls[len(calls) // 2 :]
    assert sum(1 for c in late if c["status"] == 429) <= 0.2 * len(late)
    # doesn't stall: close to the pace the limit allows (120 calls, 4 at a time, 0.1 s each)
    assert elapsed < 120 / limit * 0.1 * 4 + 5, elapsed


def test_full_concurrency_from_the_first_call(make_server: Any, tmp_path: Path) -> None:
    """No slow start: a backend that takes --concurrency calls gets them at once, and only a 429 lowers it."""
    server = make_server(latency=1.0)
    ds, rs = _big_dataset(tmp_path, 12, 4)  # 48 calls
    s = ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="x"), engine=EngineSettings(concurrency=24)
    )
    result = score(ds, rs, judge="openai/judge", settings=s, cache=False)
    assert result.coverage.ratio == 1.0
    assert result.meta["concurrency_changes"] == []
    calls = sorted(server.calls, key=lambda c: c["t_start"])
    first_end = min(c["t_end"] for c in calls)
    assert sum(1 for c in calls if c["t_start"] < first_end) == 24  # the first 24 were in flight together
