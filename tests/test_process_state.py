"""What judgekit leaves of the process it runs in: litellm's module settings as they were, and SIGTERM stopping
every run going on, not only the last one started.

Real runs against the scripted judge server: in this process for litellm's settings; in a child process
(``tests/concurrent_runs.py``, two ``ascore`` calls gathered in one loop) for a real SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.proc_tools import cli_env, popen, wait_for
from tests.server import ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
SLOW = 30.0  # seconds per answer: a run against such a server does not finish by itself during a test


def _litellm_settings(server: ScriptedServer, workers: int) -> ScoreSettings:
    """The judge called through litellm (not the lean client), in this process or in worker processes."""
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test", client="litellm", workers=workers),
        engine=EngineSettings(concurrency=4, backoff_base=0.01),
    )


async def _users_own_call(server: ScriptedServer) -> str:
    """A library user's own litellm call in the same process: temperature 0 for an o-series model, which
    litellm refuses unless told to drop what the model does not take."""
    import litellm

    try:
        await litellm.acompletion(
            model="openai/o3-mini",
            messages=[{"role": "user", "content": "hello"}],
            temperature=0.0,
            api_base=server.base_url,
            api_key="sk-test",
            num_retries=0,
            max_retries=0,
        )
    except litellm.UnsupportedParamsError:
        return "refused"
    return "sent"


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-pool"])
def test_a_run_drops_what_the_model_refuses_and_leaves_litellm_settings_alone(
    make_server: Callable[..., ScriptedServer], workers: int
) -> None:
    from judgekit.judges.litellm_judge import import_litellm

    litellm = import_litellm()  # as a run loads it (offline price table), judgekit's settings applied
    before = litellm.drop_params
    assert before is False  # litellm's own default: loading it through judgekit changed nothing
    plain, o_series = make_server(), make_server()

    # judgekit asks for temperature 0 (the rubric's): a model that takes it gets it ...
    ok = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=_litellm_settings(plain, 1))
    assert ok.coverage.scored == N_ASPECTS
    assert {c["request"].get("temperature") for c in plain.calls} == {0.0}

    # ... one that refuses it (o3-mini takes only 1) is judged all the same, the temperature left out
    result = score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/o3-mini",
        settings=_litellm_settings(o_series, workers),
        cache=False,
    )
    assert result.coverage.scored == N_ASPECTS and result.totals.calls == N_ASPECTS
    assert len(o_series.calls) == N_ASPECTS
    assert all("temperature" not in c["request"] for c in o_series.calls)

    # and the process's litellm is as it was: the user's own call is still refused, and never sent
    assert litellm.drop_params is before
    o_series.clear_calls()
    assert asyncio.run(_users_own_call(o_series)) == "refused"
    assert o_series.calls == []


def _start_runs(tmp_path: Path, servers: dict[str, ScriptedServer]) -> subprocess.Popen[str]:
    """``tests/concurrent_runs.py`` with one run per server (its files named after the key), started with
    default signal dispositions so the SIGTERM the test sends is handled as in any process."""
    runs = [
        {
            "api_base": s.base_url,
            "out": str(tmp_path / f"{name}.json"),
            "cache": str(tmp_path / f"{name}.sqlite"),
        }
        for name, s in servers.items()
    ]
    config = tmp_path / "runs.json"
    config.write_text(json.dumps(runs))
    cmd = [sys.executable, "-m", "tests.concurrent_runs", str(config)]
    return popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _log(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / f"{name}.log.jsonl").read_text().splitlines()]


def _stop(proc: subprocess.Popen[str]) -> tuple[dict[str, dict[str, str]], str, float]:
    """SIGTERM the program; its per-run endings (by score file name), its stderr and how long it took to exit."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"still running 30 s after SIGTERM; stderr:\n{stderr[-3000:]}") from None
    took = time.monotonic() - sent
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {Path(r["out"]).stem: r for r in rows}, stderr, took


def test_sigterm_stops_every_run_going_on(make_server: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    """Two runs gathered in one loop: SIGTERM cancels both, not only the last one that started."""
    servers = {"first": make_server(latency=SLOW), "second": make_server(latency=SLOW)}
    proc = _start_runs(tmp_path, servers)
    try:
        for name, server in servers.items():
            wait_for(lambda s=server: len(s.calls) >= 1, 120, f"the {name} run's first call")
    finally:
        ended, stderr, took = _stop(proc)
    assert proc.returncode == 143, stderr[-3000:]
    assert took < 20, f"{took:.1f} s from SIGTERM to exit"
    assert ended.keys() == servers.keys(), stderr[-3000:]
    for name in servers:
        assert ended[name]["ended"] == "CancelledError" and ended[name]["stop"] == "Terminated", ended
        last = _log(tmp_path, name)[-1]
        assert last["type"] == "summary" and last["status"] == "interrupted", (name, last)
        assert "terminated (SIGTERM)" in last["error"], last
        assert not (tmp_path / f"{name}.json").exists()
    assert "Traceback" not in stderr, stderr[-3000:]


def test_a_run_that_ended_leaves_the_other_one_watched(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    """The run that started last finishes first; SIGTERM then still stops the one going on (with one watched
    task, the finished run's, it would raise KeyboardInterrupt through the loop instead)."""
    servers = {"slow": make_server(latency=SLOW), "quick": make_server()}
    proc = _start_runs(tmp_path, servers)
    try:
        wait_for(lambda: len(servers["slow"].calls) >= 1, 120, "the slow run's first call")
        wait_for(lambda: (tmp_path / "quick.json").exists(), 120, "the quick run's score file")
        wait_for(lambda: _log(tmp_path, "quick")[-1]["type"] == "summary", 30, "the quick run's summary row")
    finally:
        ended, stderr, took = _stop(proc)
    assert proc.returncode == 143, stderr[-3000:]
    assert took < 20, f"{took:.1f} s from SIGTERM to exit"
    assert ended["quick"]["ended"] == "ScoreFile", ended
    assert _log(tmp_path, "quick")[-1]["status"] == "ok"
    assert ended["slow"]["ended"] == "CancelledError" and ended["slow"]["stop"] == "Terminated", ended
    last = _log(tmp_path, "slow")[-1]
    assert last["type"] == "summary" and last["status"] == "interrupted", last
    assert not (tmp_path / "slow.json").exists()
    assert "Traceback" not in stderr, stderr[-3000:]
