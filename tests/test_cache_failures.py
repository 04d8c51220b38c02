"""A bad answer is not cached as if it were an answer, and a failed write is never a silent loss: real
`judgekit score` processes against the scripted server, a real SQLite cache, a real run log.

- a judge that answers garbage (empty or unparseable, re-asks too) fails its units; once the judge is
  fixed, a rerun with the same cache asks those units again and scores them, while the units it scored
  the first time still come from the cache;
- a cache locked by another process (BEGIN EXCLUSIVE) and a run log on a full disk (/dev/full) stop the run
  with exit 5 and one line saying what was not saved; nothing claims the judgments are cached.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from benchmarks._common import synthetic_lamp_qa
from tests.conftest import EXAMPLE_DATASET, assert_clean_error, run_cli
from tests.score_run import cache_rows, log_rows, score_args
from tests.server import Reply, ScriptedServer

ITEMS = json.loads(EXAMPLE_DATASET.read_text())
N_UNITS = sum(len(q["rubric_aspects"]) for q in ITEMS)  # 18
EMPTY_ITEM, NULL_ITEM, GARBAGE_ITEM = ITEMS[0], ITEMS[2], ITEMS[3]  # 3, 2 and 4 aspects
BAD_ITEMS = (EMPTY_ITEM, NULL_ITEM, GARBAGE_ITEM)
N_BAD = sum(len(item["rubric_aspects"]) for item in BAD_ITEMS)  # 9


def first_user(request: dict[str, Any]) -> str:
    return str(next(m["content"] for m in request["messages"] if m["role"] == "user"))


def error_line(proc: Any) -> str:
    return str(next(ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:")))


def test_units_that_got_garbage_are_judged_again_once_the_judge_is_fixed(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    server = scripted_server
    # the conversations of three items get an empty answer, a null one or prose, their re-asks too (the
    # same first message)
    server.add_rule(lambda req: EMPTY_ITEM["question"] in first_user(req), Reply(content=""))
    server.add_rule(lambda req: NULL_ITEM["question"] in first_user(req), Reply(samples=[None]))
    server.add_rule(
        lambda req: GARBAGE_ITEM["question"] in first_user(req), Reply(content="The response looks fine.")
    )
    args = score_args(tmp_path, "--no-progress", api_base=server.base_url)
    first = run_cli(*args)
    assert_clean_error(first, "below --min-coverage", code=4)
    # 9 good units: one call each; 9 bad ones: the question and its 2 re-asks
    assert len(server.calls) == (N_UNITS - N_BAD) + 3 * N_BAD
    scored = json.loads((tmp_path / "s.json").read_text())["coverage"]["scored"]
    assert scored == N_UNITS - N_BAD
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # the raw answers are kept, marked failed
        assert db.execute("SELECT COUNT(*), SUM(failed) FROM completions").fetchone() == (36, 3 * N_BAD)
        texts = [json.loads(v)["text"] for (v,) in db.execute("SELECT value FROM completions WHERE failed")]
        assert texts.count(None) == 3 * len(NULL_ITEM["rubric_aspects"]) and texts.count("") == 9

    server.clear_script()  # the judge is fixed
    server.clear_calls()
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    calls = server.calls
    assert len(calls) == N_BAD  # the bad units are asked again, once each (their first answer parses now)
    asked = {first_user(c["request"]) for c in calls}
    assert all(any(item["question"] in m for item in BAD_ITEMS) for m in asked) and len(asked) == N_BAD
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["coverage"]["scored"] == N_UNITS == result["coverage"]["total"]
    assert result["totals"]["cache_hits"] == N_UNITS - N_BAD

    server.clear_calls()
    third = run_cli(*args)  # everything is cached now, and good
    assert third.returncode == 0, third.stderr
    assert server.calls == []


def test_a_rerun_with_the_judge_still_broken_fails_again_without_replaying(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    """A failed outcome is never served from the cache: each rerun asks the bad units again."""
    server = scripted_server
    server.add_rule(lambda req: EMPTY_ITEM["question"] in first_user(req), Reply(content=""))
    args = score_args(tmp_path, "--no-progress", "--min-coverage", "0", api_base=server.base_url)
    assert run_cli(*args).returncode == 0
    n_bad = len(EMPTY_ITEM["rubric_aspects"])
    server.clear_calls()
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert len(server.calls) == 3 * n_bad  # asked again, re-asks included; the good units not at all
    unscored = json.loads((tmp_path / "s.json").read_text())["unscored"]
    assert len(unscored) == n_bad and all("unparseable" in u["reason"] for u in unscored)


def test_a_locked_cache_stops_the_run_and_says_what_was_not_saved(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    server = scripted_server
    assert run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url)).returncode == 0
    server.clear_calls()  # 18 answers cached; now 100 new units, with the cache locked by another process
    (tmp_path / "s.json").unlink()
    ds, _ = synthetic_lamp_qa(tmp_path, 25, 4)
    args = score_args(tmp_path, "--no-progress", api_base=server.base_url, dataset=ds)
    lock = sqlite3.connect(tmp_path / "cache.sqlite", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        proc = run_cli(*args, env={"JUDGEKIT_CACHE_TIMEOUT": "0.5"})
        elapsed = time.monotonic() - t0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert_clean_error(
        proc, f"cannot write the cache {tmp_path / 'cache.sqlite'}: database is locked", code=5
    )
    line = error_line(proc)
    assert "JUDGEKIT_CACHE_TIMEOUT" in line and "so the run stopped" in line
    lost = int(re.search(r"; (\d+) answer\(s\) of this run are not saved", line).group(1))  # type: ignore[union-attr]
    answered = server.count(lambda c: c["status"] == 200)
    # the first wave (16 in flight) and the few calls sent before the failed commit, not all 100
    assert 1 <= lost <= answered <= 40, (lost, answered)
    assert "are cached" not in proc.stderr and "wrote" not in proc.stdout
    assert elapsed < 60, elapsed
    assert not (tmp_path / "s.json").exists()
    summary = log_rows(tmp_path)[-1]
    assert summary["status"] == "error" and "database is locked" in summary["error"]
    assert cache_rows(tmp_path) == N_UNITS  # the first run's answers, nothing half-written

    server.clear_calls()
    retry = run_cli(*args)  # the lock is gone: the 100 units are judged now
    assert retry.returncode == 0, retry.stderr
    assert len(server.calls) == 100 and cache_rows(tmp_path) == N_UNITS + 100


def test_a_run_log_on_a_full_disk_stops_the_run(make_server: Any, tmp_path: Path) -> None:
    server: ScriptedServer = make_server(latency=0.1)
    log = tmp_path / "full.log.jsonl"
    os.symlink("/dev/full", log)  # every write: ENOSPC, as on a full disk
    args = score_args(
        tmp_path, "--no-progress", "--concurrency", "2", "--log", str(log), api_base=server.base_url
    )
    proc = run_cli(*args)
    assert_clean_error(proc, f"cannot write the run log {log}: No space left on device", code=5)
    line = error_line(proc)
    assert "row(s) not written" in line and "judgment(s)), so the run stopped" in line
    assert "wrote" not in proc.stdout and not (tmp_path / "s.json").exists()
    answered = server.count(lambda c: c["status"] == 200)
    assert 1 <= answered <= 4, answered  # the first judgment to finish stops the run (2 in flight)
    assert cache_rows(tmp_path) >= 1  # what was answered is cached: a rerun with a good log resumes
