"""Helpers for tests that run `judgekit score` as a real process: inputs, the command, its child processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import forked_cli
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
    from tests.score_run import judgekit_cmd, score_args  # imports this module (popen)

    args = score_args(
        out.parent,
        "--no-progress",
        *extra,
        api_base=base_url,
        dataset=dataset,
        responses=responses,
        cache=False,
        out=out,
    )
    return judgekit_cmd(args)


_RESET = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def default_signals() -> None:
    """``preexec_fn`` for a child a test will signal: default dispositions and no blocked signal.

    A child inherits an ignored signal across exec: started from a background job (``make test &``) a child
    has SIGINT ignored, so Python never raises KeyboardInterrupt there and a test's Ctrl-C would do nothing.
    """
    for name in _RESET:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def popen(cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` for a child a test will signal: it starts with default signal dispositions
    (:func:`default_signals`), whatever the test process inherited; a ``preexec_fn`` given runs after that."""
    then = kwargs.pop("preexec_fn", None)
    if then is None:
        forked = forked_cli.popen(cmd, default_signals=True, **kwargs)
        if forked is not None:
            return forked  # type: ignore[return-value]  # the Popen surface the tests use

    def prepare() -> None:
        default_signals()
        if then is not None:
            then()

    return subprocess.Popen(cmd, preexec_fn=prepare, **kwargs)


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
