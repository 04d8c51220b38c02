"""Helpers for tests that run `judgekit score` as a real process and read what it left on disk."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO
from tests.proc_tools import popen


def score_args(
    tmp_path: Path,
    *extra: str,
    api_base: str | None = None,
    dataset: Path = EXAMPLE_DATASET,
    responses: Path | None = None,
    judge: str | None = "openai/judge",
    cache: Path | Literal[False] | None = None,
    out: Path | None = None,
) -> list[str]:
    """The `score` command line every test builds: the example set (or a synthetic dataset beside its
    responses.json, unless ``responses`` is given), judge openai/judge (``judge=None``: no --judge, the
    command's default), cache and outputs in ``tmp_path`` (cache.sqlite, s.json, s.log.jsonl) unless given;
    ``cache=False`` leaves --cache out (the default cache). ``extra`` options go last."""
    if responses is None:
        responses = EXAMPLE_RESPONSES if dataset == EXAMPLE_DATASET else dataset.with_name("responses.json")
    args = ["score", "--dataset", str(dataset), "--responses", str(responses)]
    if judge is not None:
        args += ["--judge", judge]
    if api_base is not None:
        args += ["--api-base", api_base]
    if cache is not False:
        args += ["--cache", str(cache if cache is not None else tmp_path / "cache.sqlite")]
    out = out if out is not None else tmp_path / "s.json"
    return [*args, "--out", str(out), *extra]


def judgekit_cmd(args: Sequence[str]) -> list[str]:
    """``python -m judgekit ARGS`` with this interpreter."""
    return [sys.executable, "-m", "judgekit", *args]


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m judgekit ARGS` in the background, its output piped."""
    return popen(
        judgekit_cmd(args),
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def timed(args: list[str], marker: str) -> tuple[subprocess.CompletedProcess[str], float, float | None]:
    """Run the CLI; return it, its total time, and the time from the first stderr line holding ``marker``
    to its exit (``None`` when no such line came)."""
    t0 = time.monotonic()
    proc = start(args)
    assert proc.stderr is not None
    lines, marked = [], None
    for line in proc.stderr:
        lines.append(line)
        if marked is None and marker in line:
            marked = time.monotonic()
    done = finish(proc)
    end = time.monotonic()
    done.stderr = "".join(lines)
    return done, end - t0, (end - marked) if marked is not None else None


def wait_until(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 120) -> None:
    """Poll ``ready`` while the run goes on; fail if the run ends or the time runs out first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline and proc.poll() is None, "the run did not get that far"
        time.sleep(0.05)


def cache_rows(tmp_path: Path) -> int:
    path = tmp_path / "cache.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])


def log_rows(tmp_path: Path) -> list[dict[str, Any]]:
    """The run log, every line parsed (a torn or partial line fails the test)."""
    return [json.loads(line) for line in (tmp_path / "s.log.jsonl").read_text().splitlines()]
