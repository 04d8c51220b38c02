"""A panel whose judges each have their own endpoint and key (`--panel panel.yaml`, or PanelJudge objects).

Two scripted servers answer differently for the same model name; each judge's scores must be its own server's
scripted answers, each server must receive only its own judge's calls with its own key, and no key may reach
a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from judgekit import ScoreSettings, score
from judgekit.errors import ConfigError
from judgekit.judges.panel_spec import PanelJudge
from judgekit.run.engine import EngineSettings
from tests.conftest import assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer
from tests.test_panel import DATASET, ITEMS, RESPONSES, VALUE, score_args

# what each server answers, per item
SERVER1 = {"r1": "correct", "r2": "correct", "r3": "incorrect", "r4": "partially_correct", "r5": "correct"}
SERVER2 = {"r1": "incorrect", "r2": "partially_correct", "r3": "incorrect", "r4": "correct", "r5": "correct"}
KEY1, KEY2 = "sk-server-one-0123456789", "sk-server-two-9876543210"


def scripted(server: ScriptedServer, answers: dict[str, str]) -> ScriptedServer:
    for item in ITEMS:
        verdict = json.dumps({"reason": "r", "verdict": answers[item["id"]]})
        server.add_rule({"user_contains": item["input"]}, Reply(content=verdict))
    return server


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def panel_yaml(tmp_path: Path, s1: ScriptedServer, s2: ScriptedServer, model: str = "openai/judge") -> Path:
    return write(
        tmp_path / "panel.yaml",
        f"""judges:
  - {{model: {model}, api_base: {s1.base_url}, api_key_env: SERVER1_KEY, name: a}}
  - {{model: {model}, api_base: {s2.base_url}, api_key_env: SERVER2_KEY, name: b}}
""",
    )


def assert_own_calls(server: ScriptedServer, key: str, model: str = "judge") -> None:
    calls = server.calls
    assert len(calls) == len(ITEMS)
    assert {c["authorization"] for c in calls} == {f"Bearer {key}"}
    assert {c["model"] for c in calls} == {model}


def test_panel_file_one_model_on_two_servers(make_server: Any, tmp_path: Path) -> None:
    s1, s2 = scripted(make_server(), SERVER1), scripted(make_server(), SERVER2)
    panel = panel_yaml(tmp_path, s1, s2)
    env = {"SERVER1_KEY": KEY1, "SERVER2_KEY": KEY2}
    proc = run_cli(*score_args(tmp_path / "panel.json", "--panel", str(panel), "--combine", "mean"), env=env)
    assert proc.returncode == 0, proc.stderr
    # each server got every item once, from its own judge, with its own key
    assert_own_calls(s1, KEY1)
    assert_own_calls(s2, KEY2)
    out = tmp_path / "panel.json"
    written = json.loads(out.read_text())
    entries = {e["name"]: e for e in written["panel"]["judges"]}
    assert set(entries) == {"a", "b"}
    assert s1.base_url in entries["a"]["identity"] and s2.base_url in entries["b"]["identity"]
    id_a, id_b = entries["a"]["identity"], entries["b"]["identity"]
    for q in written["per_question_scores"]:
        a, b = VALUE[SERVER1[q["id"]]], VALUE[SERVER2[q["id"]]]
        assert q["judges"] == {id_a: a, id_b: b}
        assert q["score"] == pytest.approx((a + b) / 2)
    assert entries["a"]["score"] == pytest.approx(sum(VALUE[v] for v in SERVER1.values()) / len(ITEMS))
    assert entries["b"]["score"] == pytest.approx(sum(VALUE[v] for v in SERVER2.values()) / len(ITEMS))
    assert written["coverage"]["scored"] == len(ITEMS)
    assert "panel     2 judges combined by mean" in proc.stdout
    # keys never reach a file or the terminal
    log = tmp_path / "panel.log.jsonl"
    for text in (out.read_text(), log.read_text(), proc.stdout, proc.stderr):
        assert KEY1 not in text and KEY2 not in text


def test_panel_judges_from_python_with_keys_and_at_signs(make_server: Any, tmp_path: Path) -> None:
    s1, s2 = scripted(make_server(), SERVER1), scripted(make_server(), SERVER2)
    judges = [
        PanelJudge(model="openai/judge@20240620", api_base=s1.base_url, api_key=SecretStr(KEY1), name="one"),
        PanelJudge(model="openai/judge@20240620", api_base=s2.base_url, api_key=SecretStr(KEY2), name="two"),
    ]
    settings = ScoreSettings(rubric="reference", engine=EngineSettings(max_retries=0), combine="median")
    out = tmp_path / "p.json"
    result = score(DATASET, RESPONSES, judge=judges, settings=settings, out=out)
    assert_own_calls(s1, KEY1, model="judge@20240620")
    assert_own_calls(s2, KEY2, model="judge@20240620")
    assert result.panel is not None
    assert [e["name"] for e in result.panel["judges"]] == ["one", "two"]
    assert result.by_id()["r1"].score == pytest.approx(0.5)  # median of 1.0 and 0.0
    assert KEY1 not in out.read_text() and KEY2 not in judges[0].model_dump_json()
    # the same model at the same endpoint twice is one judge given twice
    with pytest.raises(ConfigError, match="given twice"):
        score(DATASET, RESPONSES, judge=[judges[0], judges[0].model_copy(update={"name": "x"})])


def test_panel_file_beside_a_judge_flag(make_server: Any, tmp_path: Path) -> None:
    s1, s2 = scripted(make_server(), SERVER1), scripted(make_server(), SERVER2)
    panel = write(
        tmp_path / "one.yaml", f"judges: [{{model: openai/judge, api_base: {s2.base_url}, name: remote}}]\n"
    )
    args = score_args(
        tmp_path / "panel.json", "--judge", "openai/judge", "--api-base", s1.base_url, "--panel", str(panel)
    )
    proc = run_cli(*args, "--api-key-env", "SERVER1_KEY", env={"SERVER1_KEY": KEY1})
    assert proc.returncode == 0, proc.stderr
    # the flag's judge uses --api-base and --api-key-env; the panel entry its own endpoint, and never the
    # key that was given for another server
    assert_own_calls(s1, KEY1)
    assert len(s2.calls) == len(ITEMS)
    assert all(KEY1 not in (c["authorization"] or "") for c in s2.calls)
    assert len(json.loads((tmp_path / "panel.json").read_text())["panel"]["judges"]) == 2


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("judges: [{model: openai/a\n", ("not valid YAML",)),
        ("- model: openai/a\n", ("expected a mapping",)),
        ("judges: []\n", ("judges:", "at least 1")),
        ("judges: [{model: openai/a, api_url: http://x}]\n", ("judges.0.api_url: unknown key",)),
        ("judges: [{model: openai/a}]\nextra: 1\n", ("extra: unknown key",)),
        ("judges: [{api_base: http://x}]\n", ("judges.0.model",)),
        ("judges: [{model: openai/a, api_key: sk-abcdefgh}]\n", ("judges.0.api_key", "api_key_env")),
        ("judges: [{model: openai/a, api_key_env: JK_TEST_UNSET_VAR}]\n", ("JK_TEST_UNSET_VAR", "not set")),
        ("judges: [{model: local}]\n", ("not a litellm model",)),
        (
            "judges: [{model: openai/a, api_base: 'http://h/v1'}, {model: openai/a, api_base: 'http://h/v1'}]\n",
            ("'openai/a' at http://h/v1 is given twice",),
        ),
        ("judges: [{model: openai/a, name: x}, {model: openai/b, name: x}]\n", ("named 'x'",)),
        ("judges: [{model: openai/a}]\njudges: [{model: openai/b}]\n", ("duplicate key 'judges'", "line 2")),
    ],
)
def test_bad_panel_files_are_one_line_errors(tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    panel = write(tmp_path / "panel.yaml", text)
    proc = run_cli(*score_args(tmp_path / "panel.json", "--panel", str(panel)), env={"JK_TEST_UNSET_VAR": ""})
    assert_clean_error(proc, *needles)
    assert not (tmp_path / "panel.json").exists()
    assert "sk-abcdefgh" not in proc.stderr
