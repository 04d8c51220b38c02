"""A custom rubric folder written in a test, as the guide in docs/rubrics.md shows: render it, score with it.

The rubric grades an answer against a reference on a 1-5 scale with its own output fields (a list of
missing points as text, a boolean, and the grade), weighting the grade by log-probabilities.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from judgekit import RubricError, ScoreSettings, load_rubric, score
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, user_message

DATASET = REPO / "examples" / "reference" / "dataset.json"
RESPONSES = REPO / "examples" / "reference" / "responses.json"

RUBRIC_YAML = """\
name: graded_reference
description: Grades an answer against a reference from 1 (wrong) to 5 (complete and correct).
scale: {min: 1, max: 5}
inputs:
  required: [input, reference]
mode: per_item
modes:
  per_item:
    system: system.j2
    user: user.j2
reask: reask.j2
output:
  fields:
    missing:
      type: string
      description: the points of the reference the answer leaves out, or "none"
    contradicts:
      type: boolean
      description: whether the answer contradicts the reference anywhere
    grade:
      type: integer
      enum: [1, 2, 3, 4, 5]
  score: grade
question_score: normalized
score_method: logprob_weighted
top_logprobs: 5
"""

SYSTEM = "You grade short answers against a reference answer. Reply with JSON only.\n"
USER = """\
Question: {{ input | fence("question") }}
Reference: {{ reference | fence("reference") }}
Answer: {{ response | fence("answer") }}
Give {"missing": "...", "contradicts": true|false, "grade": 1-{{ scale.max | int }}}.
"""
REASK = "Unusable answer ({{ error }}). Reply with JSON matching {{ schema | tojson }}.\n"


def make_rubric(folder: Path) -> Path:
    folder.mkdir()
    (folder / "rubric.yaml").write_text(RUBRIC_YAML)
    (folder / "system.j2").write_text(SYSTEM)
    (folder / "user.j2").write_text(USER)
    (folder / "reask.j2").write_text(REASK)
    return folder


def _render(folder: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "rubrics",
        "render",
        str(folder),
        "--dataset",
        str(DATASET),
        "--responses",
        str(RESPONSES),
        "--id",
        "r4",
    )


def test_render_shows_the_messages(tmp_path: Path) -> None:
    folder = make_rubric(tmp_path / "graded_reference")
    proc = _render(folder)
    assert proc.returncode == 0, proc.stderr
    assert "=== call 1/1: overall" in proc.stdout
    assert (
        "<reference>\n36.\n</reference>" in proc.stdout
        and "<answer>\n15% of 240 is 32.\n</answer>" in proc.stdout
    )
    assert 'grade": 1-5' in proc.stdout
    show = run_cli("rubrics", "show", str(folder))
    assert (
        show.returncode == 0 and "logprob_weighted (top 5" in show.stdout and '"contradicts"' in show.stdout
    )


def test_score_with_a_custom_rubric(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    folder = make_rubric(tmp_path / "graded_reference")
    dist = {"2": math.log(0.25), "3": math.log(0.75)}
    scripted_server.add_rule(
        {"user_contains": "15% of 240"},
        Reply(content='{"missing": "the right number", "contradicts": true, "grade": 3}', logprobs=dist),
    )
    scripted_server.add_rule(None, Reply(content='{"missing": "none", "contradicts": false, "grade": 5}'))
    s = ScoreSettings(
        rubric=str(folder),
        judge=JudgeOptions(api_base=scripted_server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01),
    )
    result = score(DATASET, RESPONSES, judge="openai/judge", settings=s)
    assert scripted_server.calls[0]["request"]["top_logprobs"] == 5
    schema = scripted_server.calls[0]["request"]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["contradicts"] == {
        "type": "boolean",
        "description": "whether the answer contradicts the reference anywhere",
    }
    r4 = result.by_id()["r4"]
    weighted = 0.25 * 2 + 0.75 * 3
    assert r4.details[0].score == pytest.approx(weighted)
    assert r4.score == pytest.approx((weighted - 1) / 4)  # normalized: (score - min) / (max - min)
    assert r4.details[0].fields == {"missing": "the right number", "contradicts": True, "grade": 3}
    others = [q for q in result.per_question_scores if q.id != "r4"]
    assert all(q.score == 1.0 for q in others)
    assert len({user_message(c["request"]) for c in scripted_server.calls}) == 5


BAD_SPECS = [
    ("unknown_key", RUBRIC_YAML + "colour: blue\n", "colour"),
    ("duplicated_key", RUBRIC_YAML + "name: other\n", "duplicate key 'name'"),
    (
        "weighted_free_text",
        RUBRIC_YAML.replace("score: grade", "score: missing\n  score_map: {none: 1}"),
        "logprob_weighted",
    ),
    (
        "pair_rubric_single_mode",
        RUBRIC_YAML.replace("required: [input, reference]", "required: [input]\n  responses: pair"),
        "per_order",
    ),
]


@pytest.mark.parametrize("name,text,needle", BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_invalid_custom_rubrics(tmp_path: Path, name: str, text: str, needle: str) -> None:
    folder = make_rubric(tmp_path / name)
    (folder / "rubric.yaml").write_text(text)
    with pytest.raises(RubricError, match=needle):
        load_rubric(folder)
    proc = run_cli("rubrics", "show", str(folder))
    assert_clean_error(proc, "rubric.yaml", needle)


def _score(folder: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # nothing listens on port 9: a template error must stop the run before any call is attempted
    data = ["--dataset", str(DATASET), "--responses", str(RESPONSES), "--rubric", str(folder)]
    judge = ["--judge", "openai/judge", "--api-base", "http://127.0.0.1:9/v1"]
    return run_cli("score", *data, *judge, "--out", str(out))


# line 4 of the template holds the typo in each case
TYPO_USER = USER.replace("Answer: {{ response", "Answer:\n{{ respnose")
SYNTAX_USER = USER.replace("Answer: {{ response", "Answer:\n{{ response }")


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    folder = make_rubric(tmp_path / "typo")
    (folder / "user.j2").write_text(TYPO_USER)
    assert TYPO_USER.splitlines()[3].startswith("{{ respnose")
    with pytest.raises(RubricError) as err:
        load_rubric(folder).render("user.j2", {"input": "q", "reference": "r", "scale": {"max": 5}})
    assert f"{folder / 'user.j2'} line 4: 'respnose' is undefined" == str(err.value)
    proc = _render(folder)
    assert_clean_error(proc, f"{folder / 'user.j2'} line 4", "'respnose' is undefined")
    out = tmp_path / "o.json"
    proc = _score(folder, out)
    assert_clean_error(proc, f"{folder / 'user.j2'} line 4", "'respnose' is undefined")
    assert not out.exists()


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    folder = make_rubric(tmp_path / "syntax")
    (folder / "user.j2").write_text(SYNTAX_USER)
    assert SYNTAX_USER.splitlines()[3].startswith("{{ response }")
    with pytest.raises(RubricError, match=r"user\.j2 line 4: unexpected '}'"):
        load_rubric(folder)
    proc = _render(folder)
    assert_clean_error(proc, f"{folder / 'user.j2'} line 4: unexpected '}}'")
    out = tmp_path / "o.json"
    proc = _score(folder, out)
    assert_clean_error(proc, f"{folder / 'user.j2'} line 4: unexpected '}}'")
    assert not out.exists()


def test_error_in_an_included_template_names_that_template(tmp_path: Path) -> None:
    folder = make_rubric(tmp_path / "included")
    (folder / "part.j2").write_text("Context:\n\n{{ refrence }}\n")
    (folder / "user.j2").write_text('{% include "part.j2" %}\n' + USER)
    proc = _render(folder)
    assert_clean_error(proc, f"{folder / 'part.j2'} line 3", "'refrence' is undefined")
