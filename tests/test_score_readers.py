"""Every command that reads score files reads them alike (judgekit.score_reader), with the gate's checks: a key
named twice in one object, a NaN or infinite score, or a score outside the rubric's scale is refused with one
line and exit 2 by compare, report, validate and gate, and nothing is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_clean_error, run_cli


def _score_file(scores: dict[str, Any], aspect: Any = 1.0, **extra: Any) -> dict[str, Any]:
    """A plain LaMP-QA-shaped score file (no rubric metadata: aspects 0..2, questions 0..1)."""
    return {
        "score": 0.5,
        "per_question_scores": [
            {"id": qid, "score": s, "details": [{"aspect": "a", "score": aspect}]}
            for qid, s in scores.items()
        ],
        "coverage": {"scored": len(scores), "total": len(scores), "ratio": 1.0},
        **extra,
    }


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))  # json writes NaN / Infinity / -Infinity as such
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return _write(tmp_path / "good.json", _score_file({"q1": 0.5, "q2": 0.75, "q3": 0.25}))


BAD_FILES: list[tuple[str, dict[str, Any] | str, tuple[str, ...]]] = [
    (
        "off_scale",
        _score_file({"q1": 5.0, "q2": 0.75, "q3": 0.25}),
        ("question 'q1'", "5.0", "outside", "0..1"),
    ),
    (
        "infinite",
        _score_file({"q1": 0.5, "q2": math.inf, "q3": 0.25}),
        ("question 'q2'", "Infinity", "not a finite"),
    ),
    (
        "minus_inf",
        _score_file({"q1": 0.5, "q2": 0.5, "q3": -math.inf}),
        ("question 'q3'", "-Infinity", "finite"),
    ),
    (
        "nan",
        _score_file({"q1": math.nan, "q2": 0.5, "q3": 0.5}),
        ("question 'q1'", "NaN", "not a finite number"),
    ),
    ("aspect", _score_file({"q1": 0.5, "q2": 0.5, "q3": 0.5}, aspect=3.0), ("aspect 'a'", "3.0", "0..2")),
    ("overall", {**_score_file({"q1": 0.5, "q2": 0.5, "q3": 0.5}), "score": 2.5}, ("overall score", "2.5")),
    (
        "duplicate_question_key",
        '{"score": 0.5, "per_question_scores": [{"id": "q1", "score": 5.0, "score": 0.5, "details": []}, '
        '{"id": "q2", "score": 0.5, "details": []}], "coverage": {"scored": 2, "total": 2, "ratio": 1.0}}',
        ("duplicate key 'score'", "line 1"),
    ),
    (
        "duplicate_top_key",
        '{"per_question_scores": [], "score": 0.5,\n"per_question_scores": [{"id": "q1", "score": 0.5, '
        '"details": []}], "coverage": {"scored": 1, "total": 1, "ratio": 1.0}}',
        ("duplicate key 'per_question_scores'", "line 2"),
    ),
]


def _bad_file(tmp_path: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = tmp_path / f"{name}.json"
    if isinstance(content, str):
        path.write_text(content)
    else:
        _write(path, content)
    return path


@pytest.mark.parametrize(("name", "content", "needles"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_compare_refuses_what_the_gate_refuses(
    tmp_path: Path, good: Path, name: str, content: dict[str, Any] | str, needles: tuple[str, ...]
) -> None:
    bad = _bad_file(tmp_path, name, content)
    out = tmp_path / "compare.json"
    proc = run_cli("compare", str(good), str(bad), "--out", str(out), "--bootstrap", "0")
    assert_clean_error(proc, str(bad), *needles)
    assert not out.exists()
    gate = run_cli("gate", "--candidate", str(bad), "--baseline", str(good))
    assert_clean_error(gate, str(bad), *needles)


@pytest.mark.parametrize(("name", "content", "needles"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_report_refuses_what_the_gate_refuses(
    tmp_path: Path, name: str, content: dict[str, Any] | str, needles: tuple[str, ...]
) -> None:
    bad = _bad_file(tmp_path, name, content)
    out = tmp_path / "report.html"
    proc = run_cli("report", str(bad), "--out", str(out))
    assert_clean_error(proc, str(bad), *needles)
    assert not out.exists()


def test_validate_refuses_an_off_scale_score_file(tmp_path: Path) -> None:
    judge = _write(
        tmp_path / "judge.json", _score_file({f"q{k}": 0.25 * (k % 5) for k in range(8)} | {"q3": 5.0})
    )
    human = tmp_path / "human.csv"
    human.write_text("id,annotator,label\n" + "".join(f"q{k},a,{k % 2}\n" for k in range(8)))
    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--human", str(human), "--n-boot", "0", "--out", str(out)
    )
    assert_clean_error(proc, str(judge), "question 'q3'", "5.0", "outside the scale")
    assert not out.exists()


def test_the_scale_is_the_rubrics(tmp_path: Path) -> None:
    """A criteria file (1..5, questions on the raw scale) with a 5.0 compares fine; a 0.5 in it is refused."""
    meta = {"rubric": {"name": "criteria"}}
    a = _write(tmp_path / "a.json", _score_file({"q1": 5.0, "q2": 3.0, "q3": 1.0}, 4.0, meta=meta, score=3.0))
    b = _write(tmp_path / "b.json", _score_file({"q1": 4.0, "q2": 2.0, "q3": 1.0}, 4.0, meta=meta, score=2.3))
    out = tmp_path / "compare.json"
    proc = run_cli("compare", str(a), str(b), "--out", str(out), "--bootstrap", "0")
    assert proc.returncode == 0, proc.stderr
    systems = {s["name"]: s["score"] for s in json.loads(out.read_text())["systems"]}
    assert systems == {str(a): pytest.approx(3.0), str(b): pytest.approx(7 / 3)}
    low = _write(
        tmp_path / "low.json", _score_file({"q1": 0.5, "q2": 2.0, "q3": 1.0}, 4.0, meta=meta, score=1.2)
    )
    proc = run_cli("compare", str(a), str(low), "--bootstrap", "0")
    assert_clean_error(proc, str(low), "0.5", "outside the scale of rubric 'criteria' (1..5)")


def test_library_reader(tmp_path: Path, good: Path) -> None:
    """read_score_file: (the file without its questions, its questions as rows), or one InputError line."""
    from judgekit.compare import compare
    from judgekit.errors import InputError
    from judgekit.score_reader import read_score_file

    head, rows = read_score_file(good)
    assert head.score == 0.5 and head.per_question_scores == []
    assert [(r["id"], r["score"]) for r in rows] == [("q1", 0.5), ("q2", 0.75), ("q3", 0.25)]
    bad = _bad_file(tmp_path, "inf", _score_file({"q1": 0.5, "q2": math.inf, "q3": 0.25}))
    with pytest.raises(InputError, match=r"question 'q2': score Infinity is not a finite number"):
        compare([good, bad], bootstrap=0)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a score file"):
        read_score_file(listing)
