"""A run cancelled from outside stays a cancellation in the library (``asyncio.timeout()``, ``task.cancel()``,
a task group), with its run log closed by a summary row; only the blocking API and the CLI turn a stop into
Interrupted (exit 130). Real runs against the scripted judge server, whose answers are slow on purpose."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, ascore
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.server import ScriptedServer

SLOW = 30.0  # seconds per answer: no run below finishes by itself


def _settings(server: ScriptedServer) -> ScoreSettings:
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(concurrency=4, backoff_base=0.01),
    )


def _run(server: ScriptedServer, tmp_path: Path) -> Any:
    return ascore(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=_settings(server),
        out=tmp_path / "s.json",
        cache=tmp_path / "c.sqlite",
        progress=False,
    )


def _last_row(tmp_path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (tmp_path / "s.log.jsonl").read_text().splitlines()]
    return rows[-1]


def test_asyncio_timeout_raises_timeout_error_and_closes_the_log(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = make_server(latency=SLOW)

    async def main() -> None:
        async with asyncio.timeout(1.5):
            await _run(server, tmp_path)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert time.monotonic() - started < 15
    assert not (tmp_path / "s.json").exists()
    last = _last_row(tmp_path)
    assert last["type"] == "summary" and last["status"] == "interrupted", last


def test_task_cancel_raises_cancelled_error(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = make_server(latency=SLOW)

    async def main() -> str:
        task = asyncio.create_task(_run(server, tmp_path))
        await asyncio.sleep(1.0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    assert asyncio.run(main()) == "cancelled"
    assert _last_row(tmp_path)["status"] == "interrupted"


def test_a_failing_sibling_in_a_task_group_reports_only_its_own_error(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = make_server(latency=SLOW)

    async def fails() -> None:
        await asyncio.sleep(1.0)
        raise ValueError("the sibling's own error")

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(_run(server, tmp_path))
            group.create_task(fails())

    with pytest.raises(ExceptionGroup) as caught:
        asyncio.run(main())
    assert [type(e) for e in caught.value.exceptions] == [ValueError]
    assert _last_row(tmp_path)["status"] == "interrupted"


def test_a_score_file_that_cannot_be_written_still_closes_the_log(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    """The score file is written last; when that write fails (here a folder appears where it goes while the
    judge answers), the error is one line (SaveFailed, exit 5) and the run log still ends in its summary."""
    from judgekit.errors import SaveFailed

    server = make_server(latency=1.0)

    async def main() -> None:
        async def block() -> None:
            await asyncio.sleep(0.3)
            (tmp_path / "s.json").mkdir()

        async with asyncio.TaskGroup() as group:
            group.create_task(block())
            group.create_task(_run(server, tmp_path))

    with pytest.raises(ExceptionGroup) as caught:
        asyncio.run(main())
    [err] = caught.value.exceptions
    assert isinstance(err, SaveFailed) and err.exit_code == 5 and "s.json" in str(err)
    last = _last_row(tmp_path)
    assert last["type"] == "summary" and last["status"] == "error" and "s.json" in last["error"], last
    assert not list(tmp_path.glob(".s.json.*.tmp"))
