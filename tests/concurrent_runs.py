"""A program that runs several ``judgekit.ascore`` calls at once in one event loop (one task each), as a
library user's script would, under the CLI's SIGTERM handling (``sigterm_as_interrupt``).

    python -m tests.concurrent_runs RUNS.json

RUNS.json is a list of ``{"api_base": URL, "out": PATH, "cache": PATH}``, one per run (the example set, judge
openai/judge). Each run's ending is printed as one JSON line: ``{"out": PATH, "ended": "ScoreFile"}``, or the
exception's class and, for a cancellation, the error the run attached to it (``"stop": "Terminated"``).
Exit 143 when SIGTERM came, else 0.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from judgekit import ScoreSettings, ascore
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from judgekit.run.interrupts import sigterm_as_interrupt, stop_of, terminated
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES


async def _one(run: dict[str, str]) -> Any:
    settings = ScoreSettings(
        judge=JudgeOptions(api_base=run["api_base"], api_key="sk-test"),
        engine=EngineSettings(concurrency=2, backoff_base=0.01),
    )
    return await ascore(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=settings,
        out=run["out"],
        cache=run["cache"],
        progress=False,
    )


async def _all(runs: list[dict[str, str]]) -> None:
    # Tasks awaited one by one, not gather(return_exceptions=True): gather reports a cancelled run with a new
    # CancelledError, without what the run attached to its own.
    tasks = [asyncio.create_task(_one(run)) for run in runs]
    for run, task in zip(runs, tasks, strict=True):
        row: dict[str, str] = {"out": run["out"]}
        try:
            row["ended"] = type(await task).__name__
        except BaseException as err:  # the test reads how each run ended
            stop = stop_of(err)
            row.update(ended=type(err).__name__, stop=type(stop).__name__ if stop is not None else "")
        print(json.dumps(row), flush=True)


def main(path: str) -> int:
    runs = json.loads(Path(path).read_text())
    with sigterm_as_interrupt():
        asyncio.run(_all(runs))
    return 143 if terminated() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
