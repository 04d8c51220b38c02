"""``--max-answer-chars``: a judge's answer over the cap is an unscored unit whose reason names the cap and
how to raise it; it is never parsed, re-asked or cached, and the run log keeps only its start, marked as
cut. Checked end to end against the scripted server, with the files' sizes on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer

CRITERIA = REPO / "examples" / "criteria"
ITEMS = {it["id"]: it["input"] for it in json.loads((CRITERIA / "dataset.json").read_text())}
HUGE = "Score: 4\n" + "and so on " * 500_000  # 5,000,009 characters: a judge that never stops
MARKER = "\n[judgekit: answer cut after 2,000 of 5,000,009 characters]"


def geval_args(server: ScriptedServer, tmp_path: Path, name: str, *extra: str) -> tuple[str, ...]:
    return (
        "score", "--rubric", "geval", "--dataset", str(CRITERIA / "dataset.json"),
        "--responses", str(CRITERIA / "responses.json"), "--judge", "openai/judge", "--min-coverage", "0",
        "--api-base", server.base_url, "--cache", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / name),
        *extra,
    )  # fmt: skip


def on_disk(path: Path) -> int:
    """Bytes of a SQLite file with its journal files."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def rows(log: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["type"] == kind]


def test_a_huge_answer_is_unscored_and_neither_logged_nor_cached_whole(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    for item in ("c1", "c2"):
        scripted_server.add_rule(ITEMS[item], Reply(content=HUGE))
    scripted_server.add_rule(None, Reply(content="Score: 3"))
    proc = run_cli(*geval_args(scripted_server, tmp_path, "run.json"))
    assert proc.returncode == 0, proc.stderr
    assert len(scripted_server.calls) == 5  # one call per item: an answer over the cap is not re-asked
    written = json.loads((tmp_path / "run.json").read_text())
    assert {q["id"]: q["score"] for q in written["per_question_scores"]} == {
        "c1": None, "c2": None, "c3": 3, "c4": 3, "c5": 3,
    }  # fmt: skip
    reason = "the judge's answer is 5,000,009 characters, over the limit of 100,000 (raise it with --max-answer-chars)"
    assert sorted((u["id"], u["reason"]) for u in written["unscored"]) == [("c1", reason), ("c2", reason)]
    # on disk: two 5 MB answers would make a 10 MB log and cache; the log holds 2,000 characters of each
    log = tmp_path / "run.log.jsonl"
    assert log.stat().st_size < 30_000
    assert on_disk(tmp_path / "cache.sqlite") < 200_000
    cut = [c for c in rows(log, "call") if c["id"] in ("c1", "c2")]
    assert len(cut) == 2
    for call in cut:
        assert call["completion"] == HUGE[:2000] + MARKER
        assert call["parse_error"] == reason and call["status"] == "ok"
    # a rerun asks again for the two answers that were not cached, and reads the others from the cache
    scripted_server.clear_calls()
    again = run_cli(*geval_args(scripted_server, tmp_path, "again.json"))
    assert again.returncode == 0, again.stderr
    assert sorted(
        next(k for k, v in ITEMS.items() if v in str(c["request"])) for c in scripted_server.calls
    ) == [
        "c1",
        "c2",
    ]
    assert on_disk(tmp_path / "cache.sqlite") < 200_000


def test_the_cap_can_be_raised_and_applies_to_cached_answers(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    long_answer = "Score: 4\n" + "x" * 149_991  # 150,000 characters
    scripted_server.add_rule(ITEMS["c1"], Reply(content=long_answer))
    scripted_server.add_rule(None, Reply(content="Score: 2"))
    # raised above the answer: scored and cached
    raised = run_cli(*geval_args(scripted_server, tmp_path, "raised.json", "--max-answer-chars", "200000"))
    assert raised.returncode == 0, raised.stderr
    scores = {
        q["id"]: q["score"] for q in json.loads((tmp_path / "raised.json").read_text())["per_question_scores"]
    }
    assert scores == {"c1": 4, "c2": 2, "c3": 2, "c4": 2, "c5": 2}
    # back to the default: the cached answer is over the cap, so the unit is unscored, with no new call
    scripted_server.clear_calls()
    default = run_cli(*geval_args(scripted_server, tmp_path, "default.json"))
    assert default.returncode == 0, default.stderr
    assert scripted_server.calls == []
    written = json.loads((tmp_path / "default.json").read_text())
    assert [(u["id"], u["reason"]) for u in written["unscored"]] == [
        (
            "c1",
            "the judge's answer is 150,000 characters, over the limit of 100,000 "
            "(raise it with --max-answer-chars)",
        )
    ]
    (call,) = [c for c in rows(tmp_path / "default.log.jsonl", "call") if c["id"] == "c1"]
    assert call["status"] == "cached"
    assert (
        call["completion"]
        == long_answer[:2000] + "\n[judgekit: answer cut after 2,000 of 150,000 characters]"
    )


def test_a_cap_below_the_preview_keeps_the_cap(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    answer = "Score: 3, as the steps are in order"  # 35 characters
    scripted_server.add_rule(ITEMS["c1"], Reply(content=answer))
    scripted_server.add_rule(None, Reply(content="3"))
    proc = run_cli(*geval_args(scripted_server, tmp_path, "tiny.json", "--max-answer-chars", "5"))
    assert proc.returncode == 0, proc.stderr
    written = json.loads((tmp_path / "tiny.json").read_text())
    assert written["score"] == 3
    assert [(u["id"], u["reason"]) for u in written["unscored"]] == [
        ("c1", "the judge's answer is 35 characters, over the limit of 5 (raise it with --max-answer-chars)")
    ]
    (call,) = [c for c in rows(tmp_path / "tiny.log.jsonl", "call") if c["id"] == "c1"]
    assert call["completion"] == "Score\n[judgekit: answer cut after 5 of 35 characters]"


def test_a_bad_cap_is_one_line(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    proc = run_cli(*geval_args(scripted_server, tmp_path, "bad.json", "--max-answer-chars", "0"))
    assert_clean_error(proc, "--max-answer-chars", "greater than or equal to 1")
    assert not (tmp_path / "bad.json").exists() and not (tmp_path / "bad.log.jsonl").exists()
    assert scripted_server.calls == []


def test_a_huge_batch_answer_is_not_cached(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """A batch's answers go to the cache before the engine reads them: one over the cap is kept out and counts
    as unanswered, so --batch-fallback unscored leaves it unscored with the cap as its reason."""
    from tests.score_run import score_args

    big = '{"match_score": 2}' + " " * 499_982  # 500,000 characters, JSON that would parse
    scripted_server.add_rule(None, Reply(content=big), times=1)  # the batch's first line
    cache = tmp_path / "cache.sqlite"
    args = score_args(
        tmp_path, "--no-progress", "--batch", "--batch-poll", "0.05", api_base=scripted_server.base_url
    )
    proc = run_cli(*args, "--batch-fallback", "unscored", "--min-coverage", "0", timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert scripted_server.count() == 0, "nothing went live"
    written = json.loads((tmp_path / "s.json").read_text())
    assert [u["reason"] for u in written["unscored"]] == [
        "the judge's answer is 500,000 characters, over the limit of 100,000 (raise it with --max-answer-chars)"
    ]
    assert on_disk(cache) < 200_000 and (tmp_path / "s.log.jsonl").stat().st_size < 100_000
    # a rerun submits only that request again (the server now answers it normally), and scores everything
    again = run_cli(*args, timeout=180)
    assert again.returncode == 0, again.stderr
    assert [b["lines"] for b in scripted_server.batch_api.log][1:] == [1] and scripted_server.count() == 0
    assert json.loads((tmp_path / "s.json").read_text())["unscored"] == []
