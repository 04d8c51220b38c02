"""Helpers for tests that run `judgekit score` as a real process: inputs, the command, its child processes."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO

ASPECTS_PER_ITEM = 5


def write_inputs(folder: Path, items: int) -> tuple[Path, Path]:
    """A LaMP-QA dataset of ``items`` questions with ASPECTS_PER_ITEM aspects each, and its responses."""
    rows = [
        {
            "id": f"q{i:04d}",
            "question": f"Question number {i}: how should I plan week {i} of training?",
            "narrative": f"Narrative {i}: a runner returning after a long break.",
            "rubric_aspects": [
                {"aspect": f"Aspect {k} of {i}", "reason": f"reason {k}", "evidence": f"evidence {k}"}
                for k in range(ASPECTS_PER_ITEM)
            ],
        }
        for i in range(items)
    ]
    dataset, responses = folder / "dataset.json", folder / "responses.json"
    dataset.write_text(json.dumps(rows))
    responses.write_text(json.dumps({r["id"]: f"Answer {r['id']}: start slowly." for r in rows}))
    return dataset, responses


def score_cmd(dataset: Path, responses: Path, base_url: str, out: Path, *extra: str) -> list[str]:
    """``python -m judgekit score`` with the scripted server as an OpenAI-compatible judge."""
    flags = {"--dataset": dataset, "--responses": responses, "--api-base": base_url, "--out": out}
    given = [str(x) for pair in flags.items() for x in pair]
    return [
        sys.executable,
        "-m",
        "judgekit",
        "score",
        "--judge",
        "openai/judge",
        *given,
        "--no-progress",
        *extra,
    ]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the command name (in parentheses) may hold spaces


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(pid) and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """A zombie counts as dead: it holds no file and waits only for whoever adopted it to reap it."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def wait_for(pred: Callable[[], object], timeout: float, what: str) -> float:
    """Poll ``pred`` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - t0
