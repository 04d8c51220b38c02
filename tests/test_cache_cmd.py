"""`judgekit cache stats | prune | clear` on a real SQLite cache made by real `judgekit score` runs.

Two judges fill one cache: openai/judge answers well (18 entries), openai/sloppy answers prose to every
call (18 units x 3 answers: the question and 2 re-asks, all of units that ended unscored). The expected
counts come from the server's call log, not from the cache code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_clean_error, run_cli
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer

N_UNITS = 18


@pytest.fixture
def filled(scripted_server: ScriptedServer, tmp_path: Path) -> tuple[ScriptedServer, Path]:
    server = scripted_server
    server.add_rule({"model": "sloppy"}, Reply(content="Looks good to me."))
    good = run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url))
    assert good.returncode == 0, good.stderr
    sloppy = judge_args(tmp_path, server, "openai/sloppy")
    assert run_cli(*sloppy).returncode == 4
    assert server.count(lambda c: c["model"] == "judge") == N_UNITS
    assert server.count(lambda c: c["model"] == "sloppy") == 3 * N_UNITS
    server.clear_calls()
    return server, tmp_path / "cache.sqlite"


def judge_args(tmp_path: Path, server: ScriptedServer, judge: str) -> list[str]:
    args = score_args(tmp_path, "--no-progress", api_base=server.base_url, out=tmp_path / f"{judge[7:]}.json")
    args[args.index("openai/judge")] = judge
    return args


def stats(cache: Path) -> dict[str, Any]:
    proc = run_cli("cache", "stats", "--cache", str(cache), "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def on_disk(cache: Path) -> int:
    return sum(p.stat().st_size for p in (cache, Path(f"{cache}-wal")) if p.exists())


def test_stats(filled: tuple[ScriptedServer, Path]) -> None:
    server, cache = filled
    figures = stats(cache)
    assert figures["entries"] == 4 * N_UNITS and figures["failed"] == 3 * N_UNITS
    assert figures["size_bytes"] == on_disk(cache) > 0
    by_judge = {j["judge"].split("|")[0]: j for j in figures["judges"]}
    good = by_judge[f"litellm:openai/judge@{server.base_url}"]
    sloppy = by_judge[f"litellm:openai/sloppy@{server.base_url}"]
    assert (good["entries"], good["failed"]) == (N_UNITS, 0)
    assert (sloppy["entries"], sloppy["failed"]) == (3 * N_UNITS, 3 * N_UNITS)
    assert figures["judges"][0] == sloppy  # most entries first
    text = run_cli("cache", "stats", "--cache", str(cache))
    assert text.returncode == 0, text.stderr
    assert f"entries   {4 * N_UNITS}, {3 * N_UNITS} failed" in text.stdout
    assert f"openai/sloppy@{server.base_url}" in text.stdout


def test_stats_of_the_default_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Without --cache, the default cache ($JUDGEKIT_CACHE_DIR/cache.sqlite, a fresh one per test)."""
    default = Path(os.environ["JUDGEKIT_CACHE_DIR"]) / "cache.sqlite"
    missing = run_cli("cache", "stats")
    assert_clean_error(missing, str(default), "no cache file there")
    assert not default.exists()  # looking creates nothing
    args = score_args(tmp_path, "--no-progress", api_base=scripted_server.base_url)
    args[args.index("--cache") : args.index("--cache") + 2] = []
    assert run_cli(*args).returncode == 0
    proc = run_cli("cache", "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["entries"] == N_UNITS


def test_prune_unscored_then_reruns(filled: tuple[ScriptedServer, Path], tmp_path: Path) -> None:
    server, cache = filled
    size_before = on_disk(cache)
    proc = run_cli("cache", "prune", "--unscored", "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.strip() == f"removed {3 * N_UNITS} entries of unscored units from {cache}; {N_UNITS} left"
    )
    figures = stats(cache)
    assert figures["entries"] == N_UNITS and figures["failed"] == 0
    assert on_disk(cache) < size_before  # compacted
    assert run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url)).returncode == 0
    assert server.calls == []  # the good judge's answers survived the prune
    server.clear_script()  # sloppy is fixed: its units are judged (once each) and scored
    assert run_cli(*judge_args(tmp_path, server, "openai/sloppy")).returncode == 0
    assert server.count(lambda c: c["model"] == "sloppy") == N_UNITS


def test_prune_judge(filled: tuple[ScriptedServer, Path], tmp_path: Path) -> None:
    server, cache = filled
    proc = run_cli("cache", "prune", "--judge", "openai/sloppy", "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert f"removed {3 * N_UNITS} entries of openai/sloppy" in proc.stdout
    assert [j["judge"].split("|")[0] for j in stats(cache)["judges"]] == [
        f"litellm:openai/judge@{server.base_url}"
    ]
    assert run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url)).returncode == 0
    assert server.calls == []
    # the full identity, as stats lists it, names the judge too
    identity = stats(cache)["judges"][0]["judge"]
    proc = run_cli("cache", "prune", "--judge", identity, "--cache", str(cache))
    assert proc.returncode == 0 and f"removed {N_UNITS} entries" in proc.stdout, proc.stderr
    assert stats(cache)["entries"] == 0


def test_prune_both_filters_and_bad_requests(filled: tuple[ScriptedServer, Path]) -> None:
    _server, cache = filled
    both = run_cli("cache", "prune", "--judge", "openai/judge", "--unscored", "--cache", str(cache))
    assert both.returncode == 0, both.stderr
    assert "removed 0 entries" in both.stdout  # the good judge has no failed answers
    unknown = run_cli("cache", "prune", "--judge", "openai/gpt-4o", "--cache", str(cache))
    assert_clean_error(unknown, "no judge in", "matches 'openai/gpt-4o'", "openai/sloppy@")
    neither = run_cli("cache", "prune", "--cache", str(cache))
    assert_clean_error(neither, "prune needs --judge SPEC, --unscored or both")
    assert stats(cache)["entries"] == 4 * N_UNITS  # nothing was deleted by any of them


def test_clear(filled: tuple[ScriptedServer, Path], tmp_path: Path) -> None:
    server, cache = filled
    proc = run_cli("cache", "clear", "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"removed {4 * N_UNITS} entries from {cache}; 0 left"
    assert stats(cache)["entries"] == 0 and cache.exists()
    assert run_cli(*score_args(tmp_path, "--no-progress", api_base=server.base_url)).returncode == 0
    assert len(server.calls) == N_UNITS  # judged again: nothing was left to reuse


@pytest.mark.parametrize(
    ("spec", "identity", "expected"),
    [
        ("openai/gpt-4o-mini", "litellm:openai/gpt-4o-mini|structured=json_schema", True),
        ("openai/gpt-4o-mini", "litellm:openai/gpt-4o-mini@http://10.0.0.1/v1|structured=auto", True),
        ("openai/gpt-4o", "litellm:openai/gpt-4o-mini|structured=json_schema", False),
        ("litellm:openai/x@http://h/v1", "litellm:openai/x@http://h/v1|structured=auto", True),
        ("openai/x@http://h/v1", "litellm:openai/x@http://other/v1|structured=auto", False),
        ("local", "local:gemma-3-270m.gguf:253000000|structured=json_object", True),
        ("local:gemma-3-270m.gguf", "local:gemma-3-270m.gguf:253000000|structured=json_object", True),
        ("loc", "local:gemma-3-270m.gguf:253000000|structured=json_object", False),
        ("router:judge", "router:judge=openai/gpt-4o-mini|structured=json_schema", True),
        ("router:jud", "router:judge=openai/gpt-4o-mini|structured=json_schema", False),
    ],
)
def test_which_judges_a_spec_names(spec: str, identity: str, expected: bool) -> None:
    from judgekit.run.cache_admin import judge_matches

    assert judge_matches(spec, identity) is expected


def test_not_a_cache(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    for action in (["stats"], ["clear"], ["prune", "--unscored"]):
        proc = run_cli("cache", *action, "--cache", str(text))
        assert_clean_error(proc, str(text), "not a")
        assert text.read_text() == "hello\n"
    empty_db = tmp_path / "other.sqlite"
    import sqlite3

    with sqlite3.connect(empty_db) as db:
        db.execute("CREATE TABLE t (x)")
    assert_clean_error(run_cli("cache", "stats", "--cache", str(empty_db)), "not a judgekit cache")
