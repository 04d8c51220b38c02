"""score, probe and estimate take the same inputs through one model (judgekit.scoring.inputs.RunInputs): their
public keyword calls work as before, and a wrong value is refused the same way by all three."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import judgekit
from judgekit.errors import ConfigError
from judgekit.judges import JudgeOptions
from judgekit.probe.run import aprobe
from judgekit.scoring.settings import ScoreSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.server import ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))  # 18


def _score(**kw: Any) -> Any:
    return judgekit.score(**kw)


def _estimate(**kw: Any) -> Any:
    return judgekit.estimate(**kw)


def _probe(**kw: Any) -> Any:
    return asyncio.run(aprobe(**kw))


ENTRY_POINTS = {"score": _score, "estimate": _estimate, "probe": _probe}
WRONG = {
    "dataset": (123, "argument 'dataset': expected str | Path, got int 123"),
    "cache": (3.5, "argument 'cache': expected str | Path | bool, got float 3.5"),
    "settings": ({"rubric": 5}, "argument 'settings.rubric'"),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("argument", list(WRONG))
def test_a_wrong_argument_is_one_config_error_for_every_entry_point(entry: str, argument: str) -> None:
    value, message = WRONG[argument]
    given: dict[str, Any] = {"dataset": EXAMPLE_DATASET, "responses": EXAMPLE_RESPONSES, "judge": "openai/x"}
    given[argument] = value
    with pytest.raises(ConfigError) as raised:
        ENTRY_POINTS[entry](**given)
    assert message in str(raised.value)


def test_keyword_calls_of_score_and_estimate_agree(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    settings = ScoreSettings(judge=JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test"))
    cache = tmp_path / "cache.sqlite"
    common: dict[str, Any] = {
        "dataset": str(EXAMPLE_DATASET),
        "responses": EXAMPLE_RESPONSES,
        "judge": "openai/judge",
        "settings": settings,
        "cache": cache,
    }
    before = judgekit.estimate(**common)
    assert (before.judgments, before.cached, before.calls) == (N_ASPECTS, 0, N_ASPECTS)
    result = judgekit.score(**common, out=tmp_path / "s.json")
    assert result.coverage.scored == N_ASPECTS and scripted_server.count() == N_ASPECTS
    after = judgekit.estimate(**common)  # the same inputs find every judgment in the same cache
    assert (after.cached, after.calls) == (N_ASPECTS, 0)
    assert judgekit.estimate(**{**common, "cache": False}).calls == N_ASPECTS
