"""Messages that say what happened: each line checked against what the run really did (the scripted
server's call log, the cache file, the run log, the rubrics folder), never against the code that prints it."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from judgekit.cli.main import COMMANDS
from tests.conftest import EXAMPLE_DATASET, REPO, assert_clean_error, run_cli
from tests.proc_tools import cli_env, popen, wait_for
from tests.score_run import log_rows, score_args
from tests.server import Reply, ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18
EXAMPLES = REPO / "examples"


def cached(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        return int(db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    return next(ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:"))


# -- a panel with one judge that cannot judge -------------------------------------------------------------


def test_a_panel_stopped_by_one_judge_counts_what_the_other_judge_cached(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    # judge-b answers every call with a slow 503, so judge-a finishes its 18 judgments before b gives up
    scripted_server.add_rule({"model": "judge-b"}, Reply.error(503, delay=0.4))
    args = score_args(tmp_path, "--no-progress", "--backoff", "0.01", api_base=scripted_server.base_url)
    args[args.index("--judge") + 1] = "openai/judge-a"
    proc = run_cli(*args, "--judge", "openai/judge-b")
    assert_clean_error(proc, "judge-b", "returns server errors", code=3)
    answered = scripted_server.count(lambda c: c["model"] == "judge-a" and c["status"] == 200)
    assert answered == N_ASPECTS
    assert cached(tmp_path / "cache.sqlite") == N_ASPECTS
    assert f"{N_ASPECTS} judgment(s) made are cached; rerun to resume" in error_line(proc)


# -- an HTTP 200 whose body is not a chat completion ------------------------------------------------------


@pytest.mark.parametrize("client", ["aiohttp", "litellm"])
def test_a_malformed_200_body_is_named_as_such(
    scripted_server: ScriptedServer, tmp_path: Path, client: str
) -> None:
    scripted_server.add_rule(None, Reply(body="<html><body>proxy says hello</body></html>"))
    args = score_args(
        tmp_path, "--no-progress", "--backoff", "0.01", "--client", client, api_base=scripted_server.base_url
    )
    proc = run_cli(*args)
    assert_clean_error(proc, "malformed response", "none succeeded", code=3)
    assert "server error" not in proc.stderr, proc.stderr
    assert {c["status"] for c in scripted_server.calls} == {200}  # every call was answered 200


# -- interrupted after every call got 429 -----------------------------------------------------------------


def test_interrupted_after_only_429s_says_nothing_was_saved(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    """Every call is refused with 429: the judgments that end do so unscored, and none is cached."""
    scripted_server.add_rule(None, Reply.rate_limited(0.3))
    cache = tmp_path / "cache.sqlite"
    args = score_args(tmp_path, "--no-progress", "--max-retries", "1", api_base=scripted_server.base_url)
    proc = popen(
        [sys.executable, "-m", "judgekit", *args],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = tmp_path / "s.log.jsonl"

        def some_ended() -> bool:
            return log.exists() and '"type": "verdict"' in log.read_text().replace('":"', '": "')

        wait_for(some_ended, 60, "a judgment to end unscored")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    ended = [r for r in log_rows(tmp_path) if r["type"] == "verdict"]
    assert ended and all(r["status"] == "unscored" for r in ended)
    assert cached(cache) == 0
    assert "Traceback" not in stderr, stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("judgekit: error:")]  # after the 429 notes
    assert f"interrupted after {len(ended)} of {N_ASPECTS} judgments" in line
    assert f"none scored, so nothing is saved in the cache ({cache})" in line
    assert "finished ones are saved" not in line


# -- JSON errors that name their position once ------------------------------------------------------------


def test_json_errors_do_not_double_their_at(tmp_path: Path) -> None:
    broken = tmp_path / "dataset.json"
    broken.write_text('{"a": "b')  # the string opens at the 7th character of line 1
    responses = EXAMPLES / "lamp_qa" / "responses.json"
    out = ["--judge", "openai/j", "--out", str(tmp_path / "o.json")]
    proc = run_cli("score", "--dataset", str(broken), "--responses", str(responses), *out)
    assert_clean_error(proc, "Unterminated string starting at line 1 column 7")
    lines = tmp_path / "dataset.jsonl"
    lines.write_text('{"id": "a"}\n{"id": "b\n')
    proc = run_cli("score", "--dataset", str(lines), "--responses", str(responses), *out)
    assert_clean_error(proc, "line 2: Unterminated string starting at column 8")
    score_file, other = tmp_path / "scores.json", tmp_path / "other.json"
    score_file.write_text('{"score": 1,\n  "x": "tru}')
    other.write_text(score_file.read_text())
    proc = run_cli("compare", str(score_file), str(other))
    assert_clean_error(proc, "not a valid JSON score file", "line 2 column")
    assert not (tmp_path / "o.json").exists()
    assert not re.search(r"\b(\w+) \1\b", error_line(proc)), error_line(proc)


# -- validate --pairwise ----------------------------------------------------------------------------------


def test_validate_pairwise_figures_are_separated_from_their_labels(tmp_path: Path) -> None:
    judge = tmp_path / "v.jsonl"
    judge.write_text(
        '{"id": "a", "winner_original": "1", "winner_swapped": "1"}\n'
        '{"id": "b", "winner_original": "1", "winner_swapped": "2"}\n'
    )
    human = tmp_path / "h.csv"
    human.write_text("id,annotator,label\na,x,1\nb,x,1\n")
    proc = run_cli("validate", "--pairwise", "--judge", str(judge), "--human", str(human), "--n-boot", "0")
    assert proc.returncode == 0, proc.stderr
    # a: right in both orders; b: right in the original order only -> (2/2 + 1/2) / 2 = 0.75
    assert re.search(r"^  accuracy \(mean of orders\) +0\.750$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  accuracy, original order +1\.000$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  accuracy, swapped order +0\.500$", proc.stdout, re.M), proc.stdout


# -- the coverage line names the rubric's unit ------------------------------------------------------------

RUBRIC_RUNS = {
    "aspects": ("lamp_qa", ["--responses", "lamp_qa/responses.json"], "lamp_qa/dataset.json"),
    "items": ("criteria", ["--responses", "criteria/responses.json"], "criteria/dataset.json"),
    "pair orders": (
        "pairwise",
        ["--responses-a", "pairwise/responses_a.json", "--responses-b", "pairwise/responses_b.json"],
        "pairwise/dataset.json",
    ),
}


@pytest.mark.parametrize("unit", list(RUBRIC_RUNS))
def test_the_coverage_line_names_the_rubrics_unit(
    scripted_server: ScriptedServer, tmp_path: Path, unit: str
) -> None:
    rubric, inputs, dataset = RUBRIC_RUNS[unit]
    files = [str(EXAMPLES / x) if x.endswith(".json") else x for x in inputs]
    out = tmp_path / "s.json"
    proc = run_cli(
        "score", "--rubric", rubric, "--dataset", str(EXAMPLES / dataset), *files, "--judge", "openai/judge",
        "--api-base", scripted_server.base_url, "--cache", str(tmp_path / "c.sqlite"), "--out", str(out),
        "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    dataset_rows = json.loads((EXAMPLES / dataset).read_text())
    # an aspect each of the checklists, one verdict per item, or per order of a pair (both orders judged)
    per_row = {"items": 1, "pair orders": 2}
    total = sum(len(r["rubric_aspects"]) if unit == "aspects" else per_row[unit] for r in dataset_rows)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("coverage"))
    assert f"{total}/{total} {unit} scored (100.0%)" in line, line


# -- score --help lists every built-in rubric -------------------------------------------------------------


def test_score_help_lists_every_builtin_rubric() -> None:
    folder = REPO / "rubrics"
    names = sorted(p.name for p in folder.iterdir() if (p / "rubric.yaml").is_file())
    assert len(names) >= 6
    proc = run_cli("score", "--help")
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    assert f"built-in rubric name ({', '.join(names)}) or a rubric folder" in flat


# -- --structured auto: the same server from the flag or from the environment -----------------------------


def _response_formats(server: ScriptedServer) -> set[str]:
    return {json.dumps((c["request"] or {}).get("response_format"), sort_keys=True) for c in server.calls}


def test_structured_auto_asks_for_a_schema_whichever_way_the_server_is_given(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    common = ["--no-progress", "--client", "litellm"]
    (tmp_path / "flag").mkdir()
    (tmp_path / "env").mkdir()
    by_flag = run_cli(*score_args(tmp_path / "flag", *common, api_base=scripted_server.base_url))
    assert by_flag.returncode == 0, by_flag.stderr
    from_flag = _response_formats(scripted_server)
    scripted_server.clear_calls()
    env = {"OPENAI_API_BASE": scripted_server.base_url, "OPENAI_API_KEY": "sk-test-not-a-key"}
    by_env = run_cli(*score_args(tmp_path / "env", *common), env=env)
    assert by_env.returncode == 0, by_env.stderr
    from_env = _response_formats(scripted_server)
    assert len(from_flag) == 1 and json.loads(next(iter(from_flag)))["type"] == "json_schema"
    assert from_env == from_flag
    meta = json.loads((tmp_path / "env" / "s.json").read_text())["meta"]
    assert meta["judge"]["identity"].endswith("|structured=json_schema")


# -- judgekit --help ---------------------------------------------------------------------------------------


def test_main_help_lists_each_command_once() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        listed = [ln for ln in proc.stdout.splitlines() if re.match(rf"^\s+(judgekit )?{name}\s", ln)]
        assert len(listed) == 1, (name, proc.stdout)
