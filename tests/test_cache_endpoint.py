"""The cache key covers the endpoint however it was given: re-pointing OPENAI_API_BASE / OPENAI_BASE_URL at
another server makes fresh calls there and gives that server's scores, never the first server's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judgekit.judges.litellm_judge import LiteLLMJudge
from tests.conftest import EXAMPLE_DATASET, run_cli
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer, expected_score, user_message

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))


def other_score(request: dict[str, Any]) -> Reply:
    """Server 2 disagrees with server 1 on every unit."""
    return Reply.verdict(match_score=(expected_score(user_message(request)) + 1) % 3)


def aspect_scores(path: Path) -> list[float]:
    written = json.loads(path.read_text())
    return [d["score"] for q in written["per_question_scores"] for d in q["details"]]


def served_scores(server: ScriptedServer) -> list[int]:
    return sorted(json.loads(c["content"])["match_score"] for c in server.calls)


@pytest.mark.parametrize("variable", ["OPENAI_API_BASE", "OPENAI_BASE_URL"])
def test_switching_the_environment_endpoint_makes_fresh_calls(
    make_server: Any, tmp_path: Path, variable: str
) -> None:
    first, second = make_server(), make_server()
    second.add_rule(None, other_score)
    out = tmp_path / "s.json"

    def run(server: ScriptedServer) -> None:
        env = {variable: server.base_url, "OPENAI_API_KEY": "sk-test-0123456789"}
        proc = run_cli(*score_args(tmp_path, "--no-progress"), env=env)
        assert proc.returncode == 0, proc.stderr

    run(first)
    assert first.count() == N_ASPECTS
    from_first = aspect_scores(out)
    assert sorted(from_first) == served_scores(first)
    run(second)
    assert second.count() == N_ASPECTS, "the second server was asked, not the cache"
    from_second = aspect_scores(out)
    assert sorted(from_second) == served_scores(second)
    assert all(a != b for a, b in zip(from_first, from_second, strict=True))
    written = json.loads(out.read_text())
    assert written["totals"]["cache_hits"] == 0
    assert written["meta"]["judge"]["identity"].startswith(f"litellm:openai/judge@{second.base_url}")
    run(second)  # and the same endpoint again is all cache hits
    assert second.count() == N_ASPECTS
    assert json.loads(out.read_text())["totals"]["cache_hits"] == N_ASPECTS


def test_identity_names_the_endpoint_never_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", "http://user:hunter2secret@127.0.0.1:9/v1?key=abc")
    judge = LiteLLMJudge("openai/judge")
    assert judge.identity.startswith("litellm:openai/judge@http://127.0.0.1:9/v1|")
    assert "hunter2" not in judge.identity and "abc" not in judge.identity
    flagged = LiteLLMJudge("openai/judge", api_base="http://127.0.0.1:8/v1")
    assert flagged.identity.startswith("litellm:openai/judge@http://127.0.0.1:8/v1|")


def test_environment_endpoint_without_scheme_is_a_config_error(tmp_path: Path) -> None:
    env = {"OPENAI_API_BASE": "127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test-0123456789"}
    proc = run_cli(*score_args(tmp_path), env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip().splitlines()[-1].startswith("judgekit: error: OPENAI_API_BASE '127.0.0.1:9/v1'")
    )
