"""Data flows forward: each result of a score file is built once, typed, and never patched afterwards.

The score files themselves must not change: five real runs (plain, a panel, a pair rubric, --references,
a run below --min-coverage) are compared, keys, order and values, with the files the main checkout wrote
before the change (tests/data/forward/, see its README.md and tests/forward_cases.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from judgekit import ScoreSettings, score
from judgekit.judges import JudgeOptions
from judgekit.results import AspectResult, QuestionResult, ScoreFile, load_score_file
from judgekit.run.engine import EngineSettings
from tests.forward_cases import CASES, EXPECTED, PAIR, REPO, normalise, run_case
from tests.server import Reply, ScriptedServer


@pytest.mark.parametrize("case", CASES)
def test_score_file_is_what_main_wrote(case: str, tmp_path: Path) -> None:
    proc, text, base_url = run_case(case, REPO, tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == int((EXPECTED / f"{case}.exit").read_text()), proc.stderr
    got = json.dumps(normalise(text, base_url, tmp_path), indent=2, ensure_ascii=False) + "\n"
    # text equality: the same keys in the same order, the same values, nothing added or left out
    expected = _timeout_moved(json.loads((EXPECTED / f"{case}.json").read_text()))
    assert got == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def _timeout_moved(data: dict[str, Any]) -> dict[str, Any]:
    """The one deliberate change since main wrote these files (issue 19, one home for each setting): the
    per-call timeout is a judge option, so ``meta.engine.timeout`` is now ``meta.judge.timeout``, written
    before ``reasoning_effort``."""
    meta = data["meta"]
    timeout = meta["engine"].pop("timeout")
    judge = meta["judge"]
    meta["judge"] = {}
    for key, value in judge.items():
        if key == "reasoning_effort":
            meta["judge"]["timeout"] = timeout
        meta["judge"][key] = value
    return data


def test_expected_files_hold_every_part_built_before_the_questions() -> None:
    """The comparison above covers what used to be patched in: read the expected files by hand."""
    panel = json.loads((EXPECTED / "panel.json").read_text())
    r5 = panel["per_question_scores"][4]
    assert list(r5)[-2:] == ["lexical", "judges"] and "pairwise" not in r5  # declared order, no pair field
    assert [v for v in r5["judges"].values()] == [1.0, 0.5, None]  # judge-c failed r5 (500)
    assert r5["details"][0]["judges"] == r5["judges"]  # one unit per question in this rubric
    assert "pw-forward" not in json.dumps(panel) and "sk-forward" not in json.dumps(panel)
    assert r5["details"][0]["reason"].startswith("server_error: scored by 2 of 3 judges of the panel; ")
    assert r5["details"][0]["reason"].endswith("judge-c is down: [redacted] (gave up after 1 tries)")
    pairwise = json.loads((EXPECTED / "pairwise.json").read_text())
    p1 = pairwise["per_question_scores"][0]
    assert list(p1)[-3:] == ["lexical", "judges", "pairwise"]
    assert p1["pairwise"] == {"original": "1", "swapped": "2", "combined": "tie", "consistent": False}
    refs = json.loads((EXPECTED / "references.json").read_text())
    assert all(
        set(q["lexical"]) == {f"{m}_{x}" for m in ("rouge1", "rougeL") for x in "prf"}
        for q in refs["per_question_scores"]
    )
    failing = json.loads((EXPECTED / "failing.json").read_text())
    assert list(failing)[-2:] == ["status", "failure"] and failing["status"] == "failed"
    assert failing["unscored"] and all(
        u["reason"].endswith("key [redacted] (gave up after 1 tries)") for u in failing["unscored"]
    )
    plain = json.loads((EXPECTED / "plain.json").read_text())
    assert (
        list(plain)[-1] == "status" and plain["status"] == "ok"
    )  # no failure key on a run that did not fail


def _parts(result: ScoreFile) -> list[BaseModel]:
    """Every model a score file is made of."""
    parts: list[BaseModel] = [result, result.coverage, result.totals, *result.unscored]
    for q in result.per_question_scores:
        parts += [q, *q.details]
    return parts


def _pairwise_panel(server: ScriptedServer, tmp_path: Path) -> ScoreFile:
    """A two-judge panel on a pair rubric (both judges pick the response shown first; judge-b cannot judge
    p4): every kind of per-question field a question can carry, through the library."""
    server.add_rule({"model": "judge-b", "user_contains": "Mill Road"}, Reply.error(500, "down"))
    server.add_rule(None, Reply(content='{"winner": "first"}'))
    settings = ScoreSettings(
        rubric="pairwise",
        min_coverage=0,
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"),
        engine=EngineSettings(backoff_base=0.01, max_retries=0),
    )
    return score(
        PAIR / "dataset.json",
        responses_a=PAIR / "responses_a.json",
        responses_b=PAIR / "responses_b.json",
        judge=["openai/judge-a", "openai/judge-b"],
        settings=settings,
        out=tmp_path / "s.json",
    )


def test_results_carry_only_declared_fields(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Nothing is attached to a result outside its declared fields (main set ``pairwise`` on questions and
    ``status`` on the file as undeclared extras)."""
    result = _pairwise_panel(scripted_server, tmp_path)
    assert scripted_server.count() == 2 * 2 * 4  # two judges, two orders, four pairs
    assert [p.model_extra for p in _parts(result)] == [{}] * len(_parts(result))
    assert result.status == "ok" and result.failure is None
    by_id = result.by_id()
    # p1..p3: both judges say "first" in both orders, so the orders disagree -> a tie
    assert by_id["p1"].pairwise == {"original": "1", "swapped": "2", "combined": "tie", "consistent": False}
    assert by_id["p4"].pairwise == {"original": None, "swapped": None, "combined": None, "consistent": None}
    assert by_id["p4"].score is None and by_id["p4"].details[0].status == "unscored"
    identities = [e["identity"] for e in result.panel["judges"]] if result.panel else []
    assert by_id["p4"].judges == {identities[0]: 0.5, identities[1]: None}
    assert by_id["p4"].details[0].judges == {identities[0]: 1.0, identities[1]: None}
    # read back from disk, the same: declared fields, nothing left over as an extra
    loaded = load_score_file(tmp_path / "s.json")
    assert loaded.by_id()["p1"].pairwise == by_id["p1"].pairwise and loaded.status == "ok"
    assert [p.model_extra for p in _parts(loaded)] == [{}] * len(_parts(loaded))


def test_results_refuse_changes_after_they_are_built(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Frozen: a result can be given its parts only as it is built (main let every one of these through)."""
    result = _pairwise_panel(scripted_server, tmp_path)
    q = result.per_question_scores[0]
    changes: list[tuple[BaseModel, str, object]] = [
        (result, "score", 0.0),
        (result, "status", "failed"),
        (result.coverage, "ratio", 0.0),
        (result.totals, "calls", 0),
        (q, "judges", None),
        (q, "pairwise", None),
        (q, "note", "set after the fact"),
        (q.details[0], "reason", "rewritten"),
        (result.unscored[0], "reason", "rewritten"),
    ]
    for part, field, value in changes:
        before = getattr(part, field, "absent")
        with pytest.raises(ValidationError, match="frozen"):
            setattr(part, field, value)
        assert getattr(part, field, "absent") == before, (type(part).__name__, field)


def test_result_models_declare_what_scoring_sets() -> None:
    assert "pairwise" in QuestionResult.model_fields and "judges" in AspectResult.model_fields
    assert {"status", "failure"} <= set(ScoreFile.model_fields)
    # not written where they do not apply: a plain question, a run that did not fail
    q = QuestionResult(id="q", score=1.0, details=[])
    assert "pairwise" not in q.model_dump() and "pairwise" not in q.model_dump_json()
