"""The `reference` rubric: a response checked against a gold answer (correct / partially_correct / incorrect).

Through litellm and real HTTP to the scripted server; expected scores from the server's answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

DATASET = REPO / "examples" / "reference" / "dataset.json"
RESPONSES = REPO / "examples" / "reference" / "responses.json"
ITEMS = json.loads(DATASET.read_text())
VALUE = {"correct": 1.0, "partially_correct": 0.5, "incorrect": 0.0}


def settings(server: ScriptedServer, **kw: Any) -> ScoreSettings:
    kw.setdefault("rubric", "reference")
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, concurrency=8),
        **kw,
    )


def test_verdicts_map_to_scores(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    verdicts = {
        "r1": "correct",
        "r2": "partially_correct",
        "r3": "correct",
        "r4": "incorrect",
        "r5": "correct",
    }
    for item in ITEMS:
        body = {"reason": "compared with the reference", "verdict": verdicts[item["id"]]}
        scripted_server.add_rule({"user_contains": item["input"]}, Reply(content=json.dumps(body)))
    out = tmp_path / "ref.json"
    score(DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server), out=out)
    said = {}
    for call in scripted_server.calls:
        text = user_message(call["request"])
        item = next(it for it in ITEMS if it["input"] in text)
        assert item["reference"] in text  # the gold answer is in the prompt, fenced
        assert f"<reference>\n{item['reference']}\n</reference>" in text
        said[item["id"]] = json.loads(call["content"])["verdict"]
    written = json.loads(out.read_text())
    for q in written["per_question_scores"]:
        assert q["score"] == VALUE[said[q["id"]]]
        assert q["details"][0]["fields"]["verdict"] == said[q["id"]]
        assert q["details"][0]["fields"]["reason"] == "compared with the reference"
    assert written["score"] == pytest.approx(sum(VALUE[v] for v in said.values()) / len(said))
    schema = scripted_server.calls[0]["request"]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["reason", "verdict"]


def test_verdict_case_and_reask(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule(
        {"user_contains": ITEMS[0]["input"]}, Reply(content='{"reason": "ok", "verdict": "Correct"}')
    )
    scripted_server.add_rule(
        {"user_contains": ITEMS[1]["input"]}, Reply(content='{"verdict": "maybe"}'), times=1
    )
    scripted_server.add_rule(None, Reply(content='{"reason": "no", "verdict": "incorrect"}'))
    result = score(DATASET, RESPONSES, judge="openai/judge", settings=settings(scripted_server))
    assert result.by_id()["r1"].score == 1.0  # case-insensitive enum
    assert result.by_id()["r2"].score == 0.0 and result.totals.reasks == 1
    assert result.coverage.ratio == 1.0


def test_cli_and_missing_reference(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    proc = run_cli(
        "score",
        "--rubric",
        "reference",
        "--dataset",
        str(DATASET),
        "--responses",
        str(RESPONSES),
        "--judge",
        "openai/judge",
        "--api-base",
        scripted_server.base_url,
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["coverage"]["ratio"] == 1.0
    data = json.loads(DATASET.read_text())
    data[3].pop("reference")
    ds = tmp_path / "d.json"
    ds.write_text(json.dumps(data))
    out2 = tmp_path / "o2.json"
    proc = run_cli(
        "score",
        "--rubric",
        "reference",
        "--dataset",
        str(ds),
        "--responses",
        str(RESPONSES),
        "--judge",
        "openai/judge",
        "--api-base",
        scripted_server.base_url,
        "--out",
        str(out2),
    )
    assert_clean_error(proc, str(ds), "r4", "'reference'", "missing")
    assert not out2.exists()
