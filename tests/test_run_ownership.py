"""One owner for a run's resources: however a `judgekit score` run ends, its run log ends with exactly one
summary row saying how (a log without one means "the process was killed"), and its SQLite cache is closed.

Every ending a user can meet, provoked for real: a finished run, one below --min-coverage, a judge that
cannot judge, --deadline, Ctrl-C, SIGTERM, a score file that cannot be written, a cache whose last commit
fails as it closes, and a failure while the score file is built (an unknown lexical metric, which is only
looked up once the judging is done). Real processes against the scripted server, a real cache and run log.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, ascore
from judgekit.errors import ConfigError
from judgekit.judges import JudgeOptions
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, run_cli
from tests.score_run import cache_rows, finish, log_rows, score_args, start, wait_until
from tests.server import Reply, ScriptedServer

UNITS = 18  # the example set: 6 questions, 18 aspects
REFERENCES = REPO / "examples" / "lamp_qa" / "references.json"
Ending = Callable[[ScriptedServer, Path], subprocess.CompletedProcess[str]]


def _cli(server: ScriptedServer, tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(*score_args(tmp_path, "--no-progress", *extra, api_base=server.base_url), env=env)


def _signalled(sig: signal.Signals) -> Ending:
    def run(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
        server.latency = 30.0  # no call ends by itself
        proc = start(score_args(tmp_path, "--no-progress", api_base=server.base_url))
        wait_until(proc, lambda: server.count() >= 1)
        proc.send_signal(sig)
        return finish(proc, timeout=120)

    return run


def _out_becomes_a_folder(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    server.latency = 1.0
    proc = start(score_args(tmp_path, "--no-progress", api_base=server.base_url))
    wait_until(proc, lambda: server.count() >= 1)
    (tmp_path / "s.json").mkdir()  # where the score file goes, while the judge answers
    return finish(proc)


def _cache_close_fails(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "JUDGEKIT_TEST_LOCK_AT": str(UNITS),
        "JUDGEKIT_TEST_LOCK_CACHE": str(tmp_path / "cache.sqlite"),
        "JUDGEKIT_CACHE_TIMEOUT": "0.3",
    }
    args = score_args(tmp_path, "--no-progress", "--concurrency", "1")
    args[args.index("--judge") + 1] = "tests.cache_locking_judge:judge"
    return run_cli(*args, env=env)


def _judge_down(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    server.add_rule(None, Reply.error(503))
    return _cli(server, tmp_path, "--backoff", "0.01")


def _answers_prose(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    server.add_rule(None, Reply(content="The response looks fine."))
    return _cli(server, tmp_path)


def _deadline(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    server.latency = 30.0
    return _cli(server, tmp_path, "--deadline", "2")


def _unknown_metric(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return _cli(server, tmp_path, "--references", str(REFERENCES), "--metrics", "rouge1,no_such_metric")


# ending -> (exit code, the summary's status, words of its error; None: no error)
ENDINGS: dict[str, tuple[Ending, int, str, str | None]] = {
    "ok": (lambda server, tmp_path: _cli(server, tmp_path), 0, "ok", None),
    "below --min-coverage": (_answers_prose, 4, "failed", "below --min-coverage 0.9"),
    "judge cannot judge": (_judge_down, 3, "stopped", "returns server errors"),
    "--deadline": (_deadline, 124, "interrupted", "stopped at --deadline 2 s"),
    "Ctrl-C": (_signalled(signal.SIGINT), 130, "interrupted", "interrupted after"),
    "SIGTERM": (_signalled(signal.SIGTERM), 143, "interrupted", "terminated (SIGTERM)"),
    "score file write fails": (_out_becomes_a_folder, 5, "error", "s.json"),
    "cache close fails": (_cache_close_fails, 5, "error", "1 answer(s) of this run are not saved"),
    "score file build fails": (_unknown_metric, 2, "error", "unknown metric 'no_such_metric'"),
}


def assert_cache_closed(cache: Path) -> None:
    """The run closed its cache: SQLite deletes the write-ahead log when its last connection closes, and a
    second connection takes the write lock at once and reads every row."""
    assert cache.exists() and not Path(f"{cache}-wal").exists(), sorted(
        p.name for p in cache.parent.iterdir()
    )
    db = sqlite3.connect(cache, isolation_level=None, timeout=0)
    try:
        db.execute("BEGIN EXCLUSIVE")
        db.execute("SELECT COUNT(*) FROM completions").fetchone()
        db.execute("ROLLBACK")
    finally:
        db.close()


def the_summary(log: Path) -> dict[str, Any]:
    """The log's one summary row, which is its last row."""
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    summaries = [r for r in rows if r["type"] == "summary"]
    assert len(summaries) == 1, summaries
    assert rows[0]["type"] == "header" and rows[-1] is summaries[0], rows[-1]
    return summaries[0]


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_every_ending_writes_one_summary_row_and_closes_the_cache(
    make_server: Callable[..., ScriptedServer], tmp_path: Path, ending: str
) -> None:
    provoke, code, status, words = ENDINGS[ending]
    proc = provoke(make_server(), tmp_path)
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    summary = the_summary(tmp_path / "s.log.jsonl")
    assert summary["status"] == status, summary
    if words is None:
        assert "error" not in summary and summary["coverage"]["scored"] == UNITS
    else:
        assert words in summary["error"], summary
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:")]
        assert len(errors) == 1 and words in errors[0], proc.stderr
    assert_cache_closed(tmp_path / "cache.sqlite")


def test_the_summary_of_a_failed_cache_close_counts_what_was_saved(
    make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    """The last answer could only be committed as the cache closed: the 17 before it are in the cache, the
    run says so in one line (exit 5) and writes no score file, and its log's summary carries that line."""
    proc = _cache_close_fails(make_server(), tmp_path)
    assert proc.returncode == 5, proc.stderr
    assert cache_rows(tmp_path) == UNITS - 1
    assert not (tmp_path / "s.json").exists()
    summary = log_rows(tmp_path)[-1]
    assert summary["type"] == "summary" and "cannot write the cache" in summary["error"], summary
    assert summary["totals"]["calls"] == UNITS


def test_a_failure_while_building_the_score_file_in_the_library(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    """Through ``ascore``: every unit judged and cached, then the score file cannot be built (an unknown
    lexical metric). The error is the library's own, the log ends with its summary row, and the cache is
    closed in this very process: no write-ahead log left, the write lock free."""
    settings = ScoreSettings(judge=JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test"))
    run = ascore(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=settings,
        out=tmp_path / "s.json",
        cache=tmp_path / "cache.sqlite",
        references=REFERENCES,
        metrics=["no_such_metric"],
    )
    with pytest.raises(ConfigError, match="unknown metric 'no_such_metric'"):
        asyncio.run(run)
    assert len(scripted_server.calls) == UNITS
    summary = the_summary(tmp_path / "s.log.jsonl")
    assert summary["status"] == "error" and "no_such_metric" in summary["error"], summary
    assert summary["totals"]["calls"] == UNITS
    assert not (tmp_path / "s.json").exists()
    assert_cache_closed(tmp_path / "cache.sqlite")
    assert cache_rows(tmp_path) == UNITS
