"""--min-coverage: a finished run that scored too little fails loudly (exit 4), and its score file says so;
a judge that only answers prose ends this way instead of exit 0. Plus the small CLI items of issue 10."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit import ScoreSettings, score
from judgekit.errors import CoverageTooLow
from judgekit.judges import JudgeOptions
from judgekit.lexical import DEFAULT_METRICS
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.score_run import log_rows, score_args
from tests.server import Reply, ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
PROSE = "This response is pretty good, I would say it covers most of what matters."


def cli(server: ScriptedServer, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    proc = run_cli(*score_args(tmp_path, "--no-progress", *extra, api_base=server.base_url))
    return proc.returncode, proc.stdout, proc.stderr


def test_prose_only_judge_fails_with_exit_4_and_a_plain_score_file(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.add_rule(None, Reply(content=PROSE))
    proc = run_cli(*score_args(tmp_path, "--no-progress", api_base=scripted_server.base_url))
    assert_clean_error(proc, f"coverage 0/{N_ASPECTS} below --min-coverage 0.9", "unparseable", code=4)
    written = json.loads((tmp_path / "s.json").read_text())  # written, LaMP-QA shape kept
    assert written["status"] == "failed"
    assert written["failure"] == f"coverage 0/{N_ASPECTS} below --min-coverage 0.9"
    assert written["score"] is None and len(written["per_question_scores"]) == 6
    assert written["coverage"]["scored"] == 0 and len(written["unscored"]) == N_ASPECTS
    rows = log_rows(tmp_path)
    assert rows[-1]["type"] == "summary" and rows[-1]["status"] == "failed"
    assert "coverage  0/18" in proc.stdout  # the summary is shown above the error line


def test_below_the_floor_and_above_it(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    # 3 of 18 aspects unparseable: coverage 15/18 = 0.83
    for aspect in ("Knee care", "Gesture drawing", "Cooking for one"):
        scripted_server.add_rule(f"Aspect: {aspect}\n", Reply(content=PROSE))
    code, _, err = cli(scripted_server, tmp_path)
    assert code == 4 and f"coverage 15/{N_ASPECTS} below --min-coverage 0.9" in err, err
    assert json.loads((tmp_path / "s.json").read_text())["status"] == "failed"
    code, _, err = cli(scripted_server, tmp_path, "--min-coverage", "0.8")
    assert code == 0, err
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["status"] == "ok" and "failure" not in written
    assert written["coverage"]["scored"] == 15 and written["meta"]["min_coverage"] == 0.8


def test_min_coverage_out_of_range_is_a_config_error(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    code, _, err = cli(scripted_server, tmp_path, "--min-coverage", "1.5")
    assert code == 2 and err.startswith("judgekit: error: --min-coverage") and "Traceback" not in err
    assert scripted_server.count() == 0 and not (tmp_path / "s.json").exists()


def test_python_api_raises_with_the_score_file(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, Reply(content=PROSE))
    settings = ScoreSettings(
        judge=JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, max_reasks=0),
    )
    with pytest.raises(CoverageTooLow) as info:
        score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings, cache=False)
    assert info.value.exit_code == 4
    result = info.value.score_file
    assert result is not None and result.coverage.scored == 0 and result.coverage.total == N_ASPECTS
    assert getattr(result, "status", None) == "failed"


def test_metrics_help_states_the_real_default() -> None:
    proc = run_cli("score", "--help")
    assert proc.returncode == 0
    assert "default: " + ",".join(DEFAULT_METRICS) in " ".join(proc.stdout.split())


def test_score_help_lists_the_new_exit_codes() -> None:
    text = " ".join(run_cli("score", "--help").stdout.split())
    assert "--min-coverage FRACTION" in text and "exit 3" in text and "exits 4" in text
