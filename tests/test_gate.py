"""`judgekit gate`: floors, the paired regression test, per-question changes, judge drift, outputs, exit codes.

Score files are built here from known per-question values, so every expected verdict follows from the data;
the drift check and the example chain run against the scripted judge server over real HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgekit import ScoreSettings, score
from judgekit.gate import GateConfig, gate, paired_test
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, assert_clean_error, run_cli
from tests.server import Reply, Request, ScriptedServer, expected_score, user_message

META = {
    "rubric": {"name": "lamp_qa", "content_sha256": "a" * 64, "mode": "per_aspect"},
    "judge": {"identity": "litellm:openai/judge|structured=json_schema", "temperature": 0.0, "samples": 1},
}


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


def score_file(
    scores: dict[str, float | None],
    *,
    meta: dict[str, Any] | None = META,
    categories: dict[str, str] | None = None,
    lexical: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A judgekit score file whose questions have two aspects (0..2 scale) averaging to ``scores``."""
    questions = []
    for qid, s in scores.items():
        if s is None:
            details = [{"aspect": f"{qid}/a", "score": None, "status": "unscored", "reason": "parse_error"}]
        else:
            details = [
                {"aspect": "shared", "score": 2 * s, "status": "scored"},
                {"aspect": f"{qid}/b", "score": 2 * s, "status": "scored"},
            ]
        scored = sum(d["status"] == "scored" for d in details)
        questions.append(
            {
                "id": qid,
                "score": s,
                "details": details,
                "scored": scored,
                "total": len(details),
                "coverage": scored / len(details),
                "category": (categories or {}).get(qid),
            }
        )
    valid = [s for s in scores.values() if s is not None]
    total = sum(q["total"] for q in questions)
    scored_total = sum(q["scored"] for q in questions)
    out: dict[str, Any] = {
        "score": float(np.mean(valid)) if valid else None,
        "per_question_scores": questions,
        "coverage": {
            "scored": scored_total,
            "total": total,
            "ratio": scored_total / total,
            "questions_scored": len(valid),
            "questions_total": len(questions),
        },
    }
    if meta is not None:
        out["meta"] = meta
    if lexical is not None:
        out["lexical"] = {"overall": lexical}
    return out


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def pair(tmp_path: Path, base: np.ndarray, cand: np.ndarray, **kwargs: Any) -> tuple[Path, Path]:
    b = {f"q{i:04d}": float(v) for i, v in enumerate(base)}
    c = {f"q{i:04d}": float(v) for i, v in enumerate(cand)}
    return (
        write(tmp_path / "baseline.json", score_file(b, **kwargs)),
        write(tmp_path / "candidate.json", score_file(c, **kwargs)),
    )


def run_gate(
    tmp_path: Path, *args: str, config: str | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Path]]:
    """``judgekit gate`` with all three outputs into ``tmp_path/out``; returns the process and output paths."""
    out = tmp_path / "out"
    paths = {"junit": out / "gate.xml", "summary": out / "gate.md", "json": out / "gate.json"}
    extra: list[str] = []
    if config is not None:
        extra += ["--config", str(write(tmp_path / "gate.yaml", config))]
    proc = run_cli(
        "gate",
        *args,
        *extra,
        "--junit",
        str(paths["junit"]),
        "--summary",
        str(paths["summary"]),
        "--json",
        str(paths["json"]),
    )
    return proc, paths


def checks_by_name(result_json: Path) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result_json.read_text())["checks"]}


def junit_cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    return {case.attrib["name"]: case for case in suite.findall("testcase")}


# ----------------------------------------------------------------------------------------------------------
# the statistics
# ----------------------------------------------------------------------------------------------------------


def test_exact_sign_flip_p_values() -> None:
    base = np.full(6, 0.8)
    # a constant drop: only the identity of 2**6 sign patterns is as extreme -> p = 1/64
    s = paired_test(base, base - 0.1)
    assert s.exact and s.resamples == 64 and s.p_value == pytest.approx(1 / 64)
    assert s.mean_diff == pytest.approx(-0.1) and s.ci_low == pytest.approx(-0.1)
    # four questions can never be significant at 0.05 (p >= 1/16)
    assert paired_test(base[:4], base[:4] - 0.5).p_value == pytest.approx(1 / 16)
    # no change at all: p = 1
    assert paired_test(base, base).p_value == 1.0
    # testing against the tolerance: a drop of exactly the tolerance is not beyond it
    assert paired_test(base, base - 0.1, null_diff=-0.1).p_value == 1.0


def test_paired_test_is_deterministic_and_seeded() -> None:
    rng = np.random.default_rng(7)
    base = rng.uniform(0, 1, 300)
    cand = base - 0.02 + rng.normal(0, 0.2, 300)
    for test in ("permutation", "bootstrap"):
        a = paired_test(base, cand, test=test, seed=3)  # type: ignore[arg-type]
        b = paired_test(base, cand, test=test, seed=3)  # type: ignore[arg-type]
        assert a == b
        assert a.ci_low is not None and a.ci_high is not None
        assert a.ci_low < a.mean_diff < a.ci_high


# ----------------------------------------------------------------------------------------------------------
# the regression check: real drops fail, noise passes
# ----------------------------------------------------------------------------------------------------------


def test_real_drop_fails(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.4, 0.9, 30)
    cand = np.clip(base - 0.25 + rng.normal(0, 0.05, 30), 0, 1)
    b, c = pair(tmp_path, base, cand)
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 1, proc.stderr
    reg = checks_by_name(out["json"])["regression"]
    assert reg["status"] == "fail"
    d = reg["details"]
    assert d["mean_diff"] == pytest.approx(float(np.mean(cand - base)))
    assert d["p_value"] < 0.001 and d["ci_high"] < -0.02 and d["cohen_dz"] < -1
    assert "regression vs baseline" in proc.stdout and "gate FAILED" in proc.stdout
    # the summary says why, and lists the questions that fell most with their aspect changes
    md = out["summary"].read_text()
    worst = f"q{int(np.argmin(cand - base)):04d}"
    assert "❌ failed" in md and "dropped" in md and worst in md and "shared" in md


def test_noise_of_the_same_size_on_a_small_set_passes(tmp_path: Path) -> None:
    base = np.array([0.5, 0.6, 0.7, 0.5, 0.8, 0.6])
    diffs = np.array([-0.5, 0.3, -0.6, 0.35, -0.5, -0.05])  # mean drop 0.167, but it's all over the place
    b, c = pair(tmp_path, base, base + diffs)
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reg = checks_by_name(out["json"])["regression"]
    assert reg["status"] == "pass" and "noise" in reg["message"]
    assert reg["details"]["mean_diff"] == pytest.approx(float(diffs.mean()))
    assert reg["details"]["p_value"] >= 0.05 and reg["details"]["exact"] is True
    # the same mean drop, consistent across the same questions, is real: it fails
    b, c = pair(tmp_path, base, base + diffs.mean())
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 1
    assert checks_by_name(out["json"])["regression"]["details"]["p_value"] == pytest.approx(1 / 64)


def test_tiny_consistent_drop_on_a_large_set_fails(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 2000
    base = rng.uniform(0.2, 0.9, n)
    cand = np.clip(base - 0.03 + rng.normal(0, 0.1, n), 0, 1)  # a question score lies in 0..1
    b, c = pair(tmp_path, base, cand)
    proc, out = run_gate(
        tmp_path, "--candidate", str(c), "--baseline", str(b), config="regression: {tolerance: 0.01}\n"
    )
    assert proc.returncode == 1, proc.stderr
    reg = checks_by_name(out["json"])["regression"]["details"]
    assert reg["n"] == n and reg["p_value"] < 0.001 and reg["ci_high"] < 0
    # the same data under a tolerance larger than the drop passes, with either test
    for test in ("permutation", "bootstrap"):
        res = gate(c, b, GateConfig.model_validate({"regression": {"tolerance": 0.05, "test": test}}))
        assert res.passed and "within tolerance" in res.checks[0].message
    # the non-inferiority form: is the drop significantly beyond the tolerance?
    cfg = GateConfig.model_validate({"regression": {"tolerance": 0.025, "null": "tolerance"}})
    res = gate(c, b, cfg)
    assert not res.passed and res.regression is not None and res.regression.null_diff == -0.025
    cfg = GateConfig.model_validate({"regression": {"tolerance": 0.035, "null": "tolerance"}})
    assert gate(c, b, cfg).passed


def test_improvement_passes_and_verdict_is_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.2, 0.8, 50)
    b, c = pair(tmp_path, base, base + 0.1)
    first, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    saved = out["json"].read_text()
    second, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert first.returncode == second.returncode == 0
    assert out["json"].read_text() == saved
    assert "no drop" in checks_by_name(out["json"])["regression"]["message"]


# ----------------------------------------------------------------------------------------------------------
# missing questions, per-question changes
# ----------------------------------------------------------------------------------------------------------


def test_missing_questions_on_either_side(tmp_path: Path) -> None:
    base = {f"q{i}": 0.6 for i in range(10)}
    cand: dict[str, float | None] = {f"q{i}": 0.6 for i in range(2, 12)}
    cand["q5"] = None  # scored in the baseline, unscored now
    b = write(tmp_path / "b.json", score_file(base))
    c = write(tmp_path / "c.json", score_file(cand))
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out["json"].read_text())
    assert result["missing"]["baseline_only"] == ["q0", "q1"]
    assert result["missing"]["candidate_only"] == ["q10", "q11"]
    assert result["missing"]["unscored_in_candidate"] == ["q5"]
    checks = checks_by_name(out["json"])
    assert checks["regression.missing"]["status"] == "warn"
    assert checks["regression"]["details"]["n"] == 7  # q2..q9 without q5
    assert result["regressed"][0]["id"] == "q5" and result["regressed"][0]["candidate"] is None
    assert "⚠️" in out["summary"].read_text()
    # missing: fail makes the lost questions a failed check
    proc, out = run_gate(
        tmp_path, "--candidate", str(c), "--baseline", str(b), config="regression: {missing: fail}\n"
    )
    assert proc.returncode == 1
    assert checks_by_name(out["json"])["regression.missing"]["status"] == "fail"
    # no shared question at all is an input error: exit 2, nothing written
    other = write(tmp_path / "other.json", score_file({"x1": 0.5, "x2": 0.5}))
    shutil.rmtree(tmp_path / "out")
    proc, out = run_gate(tmp_path, "--candidate", str(other), "--baseline", str(b))
    assert_clean_error(proc, "share no question id")
    assert not (tmp_path / "out").exists()


def test_per_question_regressions_list_aspect_changes(tmp_path: Path) -> None:
    base = {f"q{i}": 0.5 for i in range(8)}
    cand = dict(base, q3=0.0, q6=0.25, q1=0.75)
    b = write(tmp_path / "b.json", score_file(base))
    c = write(tmp_path / "c.json", score_file(cand))
    res = gate(c, b, GateConfig.model_validate({"per_question": {"top": 2, "max_regressed": 1}}))
    assert [q.id for q in res.regressed] == ["q3", "q6"]
    aspects = {a.aspect: (a.baseline, a.candidate) for a in res.regressed[0].aspects}
    assert aspects == {"shared": (1.0, 0.0), "q3/b": (1.0, 0.0)}
    pq = next(ch for ch in res.checks if ch.name == "per_question")
    assert pq.status == "fail" and pq.value == 2  # two fell, one allowed
    res = gate(c, b, GateConfig.model_validate({"per_question": {"drop": 0.3, "max_regressed": 1}}))
    assert next(ch for ch in res.checks if ch.name == "per_question").status == "pass"


# ----------------------------------------------------------------------------------------------------------
# floors
# ----------------------------------------------------------------------------------------------------------


def test_floors(tmp_path: Path) -> None:
    scores: dict[str, float | None] = {"q1": 0.9, "q2": 0.7, "q3": 0.2, "q4": None}
    cats = {"q1": "Arts", "q2": "Arts", "q3": "Food", "q4": "Food"}
    c = write(
        tmp_path / "c.json", score_file(scores, categories=cats, lexical={"rougeL": 0.31, "meteor": 0.2})
    )
    config = """\
floors:
  score: 0.5
  coverage: 0.9
  aspects: {shared: 1.0}
  categories: {Arts: 0.75, Food: 0.3}
  lexical: {rougeL: 0.3, meteor: 0.25}
"""
    proc, out = run_gate(tmp_path, "--candidate", str(c), config=config)
    assert proc.returncode == 1
    checks = checks_by_name(out["json"])
    status = {k: v["status"] for k, v in checks.items()}
    assert status["floor.score"] == "pass" and checks["floor.score"]["value"] == pytest.approx(0.6)
    assert status["floor.coverage"] == "fail" and checks["floor.coverage"]["value"] == pytest.approx(6 / 7)
    assert status["floor.aspect[shared]"] == "pass" and checks["floor.aspect[shared]"][
        "value"
    ] == pytest.approx(1.2)
    assert status["floor.category[Arts]"] == "pass" and status["floor.category[Food]"] == "fail"
    assert status["floor.lexical[rougeL]"] == "pass" and status["floor.lexical[meteor]"] == "fail"
    assert status["regression"] == "skip"  # no baseline
    # a floor naming something the file doesn't have is a config error (exit 2)
    for bad, needle in (
        ("floors: {aspects: {nope: 1}}", "no aspect 'nope'"),
        ("floors: {categories: {Nope: 1}}", "no category 'Nope'"),
        ("floors: {lexical: {bleu: 1}}", "no metric 'bleu'"),
    ):
        proc, _ = run_gate(tmp_path, "--candidate", str(c), config=bad + "\n")
        assert_clean_error(proc, needle)


# ----------------------------------------------------------------------------------------------------------
# provenance
# ----------------------------------------------------------------------------------------------------------


def test_mismatched_inputs_warn_and_fail_with_strict(tmp_path: Path) -> None:
    other = {**META, "judge": {**META["judge"], "identity": "litellm:openai/other", "temperature": 0.7}}
    b = write(tmp_path / "b.json", score_file({"q1": 0.5, "q2": 0.6}))
    c = write(tmp_path / "c.json", score_file({"q1": 0.5, "q2": 0.6}, meta=other))
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 0
    prov = checks_by_name(out["json"])["provenance"]
    assert prov["status"] == "warn"
    assert "judge.identity" in prov["message"] and "judge.temperature" in prov["message"]
    assert "judged differently" in out["summary"].read_text()
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b), "--strict")
    assert proc.returncode == 1
    assert checks_by_name(out["json"])["provenance"]["status"] == "fail"
    # ...or strict from the config file
    assert not gate(c, b, GateConfig.model_validate({"provenance": {"strict": True}})).passed


def test_plain_lamp_qa_files_are_accepted_as_unknown_provenance(tmp_path: Path) -> None:
    def plain(scores: dict[str, float]) -> dict[str, Any]:
        return {
            "score": float(np.mean(list(scores.values()))),
            "per_question_scores": [
                {"id": k, "score": v, "details": [{"aspect": "x", "score": 2 * v}]} for k, v in scores.items()
            ],
        }

    b = write(tmp_path / "b.json", plain({"q1": 0.5, "q2": 1.0, "q3": 0.5}))
    c = write(tmp_path / "c.json", plain({"q1": 0.5, "q2": 1.0, "q3": 0.0}))
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b), "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prov = checks_by_name(out["json"])["provenance"]
    assert prov["status"] == "warn" and "unknown provenance" in prov["message"]
    assert [q["id"] for q in json.loads(out["json"].read_text())["regressed"]] == ["q3"]


# ----------------------------------------------------------------------------------------------------------
# outputs and exit codes
# ----------------------------------------------------------------------------------------------------------


def test_junit_markdown_and_json_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0.4, 0.9, 20)
    b, c = pair(tmp_path, base, base - 0.3)
    config = "floors: {score: 0.1, coverage: 0.5}\nper_question: {top: 3}\n"
    proc, out = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b), config=config)
    assert proc.returncode == 1
    result = json.loads(out["json"].read_text())
    assert result["judgekit_gate"] == 1 and result["passed"] is False
    # JUnit: a real XML parser, one testcase per check, failures where the checks failed
    root = ET.parse(out["junit"]).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert len(cases) == len(result["checks"]) == int(suite.attrib["tests"])
    failed = [c for c in cases if c.find("failure") is not None]
    assert (
        len(failed) == int(suite.attrib["failures"]) == sum(ch["status"] == "fail" for ch in result["checks"])
    )
    by_name = junit_cases(out["junit"])
    failure = by_name["regression vs baseline"].find("failure")
    assert failure is not None and "dropped" in failure.attrib["message"]
    assert "most regressed questions" in (failure.text or "")
    assert by_name["overall score"].find("failure") is None
    # Markdown: a headline, a table with one row per check, the top regressed questions
    md = out["summary"].read_text()
    assert md.startswith("## judgekit gate: ❌ failed")
    table = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert len(table) == 1 + len(result["checks"]) + 1 + 3  # header + checks + question header + 3 rows
    assert len(md.splitlines()) < 40
    # the terminal lines
    assert proc.stdout.count("FAIL") >= 1 and "gate FAILED" in proc.stdout
    # a skipped check (no baseline) is a JUnit <skipped>
    proc, out = run_gate(tmp_path, "--candidate", str(c), config="floors: {score: 0.0}\n")
    assert proc.returncode == 0
    skipped = junit_cases(out["junit"])["regression vs baseline"].find("skipped")
    assert skipped is not None and "no baseline" in skipped.attrib["message"]


def test_append_summary(tmp_path: Path) -> None:
    b, c = pair(tmp_path, np.full(5, 0.5), np.full(5, 0.5))
    summary = write(tmp_path / "summary.md", "# earlier step\n")
    proc = run_cli(
        "gate",
        "--candidate",
        str(c),
        "--baseline",
        str(b),
        "--summary",
        str(summary),
        "--append-summary",
        "-q",
    )
    assert proc.returncode == 0 and proc.stdout == ""
    text = summary.read_text()
    assert text.startswith("# earlier step\n\n## judgekit gate: ✅ passed")


def test_exit_codes_and_usage_errors(tmp_path: Path) -> None:
    b, c = pair(tmp_path, np.full(5, 0.5), np.full(5, 0.5))
    help_text = run_cli("gate", "--help")
    assert help_text.returncode == 0
    assert "exit codes" in help_text.stdout and "2  usage or input error" in help_text.stdout
    # argparse: missing required flag
    assert run_cli("gate", "--baseline", str(b)).returncode == 2
    cases: list[tuple[list[str], str | None, str]] = [
        (["--candidate", str(tmp_path / "nope.json")], None, "file not found"),
        (["--candidate", str(write(tmp_path / "bad.json", "{not json"))], None, "not a valid JSON"),
        (["--candidate", str(c)], "floors: {score: 0.5, bogus: 1}\n", "floors.bogus: unknown key"),
        (["--candidate", str(c)], "regression: {alpha: 2}\n", "regression.alpha"),
        (["--candidate", str(c)], "floors: [1, 2\n", "not valid YAML"),
        (["--candidate", str(c)], "floors: {score: 0.9}\nfloors: {score: 0.1}\n", "duplicate key 'floors'"),
        (["--candidate", str(c)], "drift: {labels: l.json, floors: {spearman: 0.5}}\n", "drift"),
        (
            ["--candidate", str(c)],
            "drift: {scores: s.json, labels: l.json, floors: {pearsonr: 0.5}}\n",
            "unknown statistic 'pearsonr'",
        ),
    ]
    for args, config, needle in cases:
        if (tmp_path / "out").exists():
            shutil.rmtree(tmp_path / "out")
        proc, _ = run_gate(tmp_path, *args, config=config)
        assert_clean_error(proc, needle)
        assert not (tmp_path / "out").exists(), "an input error must write no output"
    proc, _ = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b))
    assert proc.returncode == 0
    proc = run_cli(
        "gate", "--candidate", str(c), "--json", str(tmp_path / "x.json"), "--junit", str(tmp_path / "x.json")
    )
    assert_clean_error(proc, "different files")


# ----------------------------------------------------------------------------------------------------------
# the gate refuses what it cannot judge
# ----------------------------------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


def _with(data: dict[str, Any], qid: str, *, question: Any = "keep", aspect: Any = "keep") -> dict[str, Any]:
    """``data`` with question ``qid``'s score and / or its first aspect's score replaced."""
    q = next(q for q in data["per_question_scores"] if q["id"] == qid)
    if question != "keep":
        q["score"] = question
    if aspect != "keep":
        q["details"][0]["score"] = aspect
    return data


def test_non_finite_or_out_of_scale_scores_are_input_errors(tmp_path: Path) -> None:
    good = {f"q{i}": 0.5 for i in range(6)}
    criteria_meta = {
        **META,
        "rubric": {"name": "mine", "scale": {"min": 1, "max": 5}, "question_score": "raw"},
    }
    folder = tmp_path / "my_rubric"
    shutil.copytree(REPO / "rubrics" / "criteria", folder)
    # (what is in the file, the text the one-line error must hold)
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        (score_file(dict.fromkeys(good, NAN)), ("question 'q0'", "NaN", "not a finite number")),
        (_with(score_file(good), "q2", question=INF), ("question 'q2'", "Infinity")),
        (_with(score_file(good), "q4", aspect=-INF), ("question 'q4'", "aspect 'shared'", "-Infinity")),
        (_with(score_file(good), "q3", question=5.0), ("question 'q3'", "5.0", "outside the scale", "0..1")),
        (_with(score_file(good), "q1", aspect=3.0), ("question 'q1'", "aspect 'shared'", "3.0", "0..2")),
        (_with(score_file(good), "q5", question=-0.25), ("question 'q5'", "-0.25", "0..1")),
        ({**score_file(good), "score": 5.0}, ("overall score", "5.0", "0..1")),
        ({**score_file(good), "score": NAN}, ("overall score", "NaN")),
        # the scale recorded in the file's meta: a raw 1..5 rubric
        (
            _with(score_file(dict.fromkeys(good, 2.5), meta=criteria_meta), "q0", aspect=6.0),
            ("question 'q0'", "aspect 'shared'", "6.0", "outside the scale of rubric 'mine' (1..5)"),
        ),
        # the rubric folder the file names: a copy of the criteria rubric (raw question scores, 1..5)
        (
            score_file(
                dict.fromkeys(good, 0.5), meta={**META, "rubric": {"name": "x", "folder": str(folder)}}
            ),
            ("question 'q0'", "0.5", "outside the scale of rubric 'criteria' (1..5)"),
        ),
    ]
    base = write(tmp_path / "base.json", score_file(good))
    for k, (data, needles) in enumerate(cases):
        bad = write(tmp_path / f"bad{k}.json", data)
        for role in ("--candidate", "--baseline") if k < 2 else ("--candidate",):
            other = "--baseline" if role == "--candidate" else "--candidate"
            proc, _ = run_gate(tmp_path, role, str(bad), other, str(base))
            assert_clean_error(proc, str(bad), *needles)
            assert "gate passed" not in proc.stdout
            assert not (tmp_path / "out").exists(), "an input error must write no output"
    # the same from Python, naming the role of an object given in memory
    from judgekit.errors import InputError
    from judgekit.results import ScoreFile

    nan_file = ScoreFile.model_validate(score_file(dict.fromkeys(good, NAN)))
    with pytest.raises(InputError, match="candidate: question 'q0': score NaN"):
        gate(nan_file, base)
    # scores at the ends of the scale are fine
    edges = write(tmp_path / "edges.json", score_file({"q0": 0.0, "q1": 1.0, "q2": 0.5, "q3": 0.5}))
    proc, _ = run_gate(tmp_path, "--candidate", str(edges), "--baseline", str(edges))
    assert proc.returncode == 0, proc.stderr


def test_a_gate_with_nothing_to_check_does_not_pass(tmp_path: Path) -> None:
    c = write(tmp_path / "c.json", score_file({"q1": 0.5, "q2": 0.6}))
    proc, _ = run_gate(tmp_path, "--candidate", str(c))
    assert_clean_error(proc, "nothing to check", "--baseline", "--config")
    assert "passed" not in proc.stdout and not (tmp_path / "out").exists()
    # a config whose every check is skipped without a baseline says so, and does not pass either
    proc, _ = run_gate(tmp_path, "--candidate", str(c), config="regression: {tolerance: 0.1}\n")
    assert_clean_error(proc, "every check was skipped", "no baseline given")
    assert "passed" not in proc.stdout and not (tmp_path / "out").exists()
    from judgekit.errors import ConfigError

    with pytest.raises(ConfigError, match="nothing to check"):
        gate(c)


# ----------------------------------------------------------------------------------------------------------
# judge drift, against the scripted judge
# ----------------------------------------------------------------------------------------------------------


def _settings(server: ScriptedServer) -> ScoreSettings:
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url),
        engine=EngineSettings(backoff_base=0.01, concurrency=8),
    )


def _inverted(request: Request) -> Reply:
    """A judge that changed under the same name: it now scores every aspect the other way round."""
    return Reply.verdict(match_score=2 - expected_score(user_message(request)))


def test_drift_check_catches_a_judge_changed_under_the_same_name(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    # the candidate, scored by the judge; human labels that agree with today's judge on the pinned set
    candidate = tmp_path / "candidate.json"
    first = score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=_settings(scripted_server),
        out=candidate,
    )
    labels = [
        {"id": f"{q.id}::{a.aspect}", "annotator": "rater1", "label": a.score}
        for q in first.per_question_scores
        for a in q.details
    ]
    write(tmp_path / "pinned" / "labels.json", labels)
    config = f"""\
drift:
  dataset: {EXAMPLE_DATASET}
  responses: {EXAMPLE_RESPONSES}
  labels: pinned/labels.json
  level: aspect
  options: {{scale: "0-2"}}
  floors: {{spearman: 0.5, krippendorff_alpha_ordinal: 0.5, cohen_kappa_quadratic: 0.5}}
"""
    calls = scripted_server.count()
    res = gate(candidate, None, write(tmp_path / "gate.yaml", config))
    assert res.passed, res.checks
    assert res.drift is not None and res.drift["judge_calls"] == 0  # the warm cache answered every unit
    assert scripted_server.count() == calls
    checks = {c.name: c for c in res.checks}
    for name in ("spearman", "krippendorff_alpha_ordinal", "cohen_kappa_quadratic"):
        assert checks[f"drift.{name}"].status == "pass"
        assert checks[f"drift.{name}"].value == pytest.approx(1.0)
    assert checks["provenance"].status == "pass"

    # the provider swaps the model behind the same name; the cache still holds yesterday's answers, so a
    # fresh re-score (e.g. a nightly job) is what notices
    scripted_server.add_rule(None, _inverted)
    res = gate(candidate, None, tmp_path / "gate.yaml", drift_fresh=True)
    assert not res.passed
    assert scripted_server.count() == calls + len(labels)  # every drift unit re-asked
    checks = {c.name: c for c in res.checks}
    spearman = checks["drift.spearman"]
    assert spearman.status == "fail" and spearman.value is not None and spearman.value < 0
    assert "agrees less with the human labels" in spearman.message
    assert checks["regression"].status == "skip"
    assert res.drift is not None and res.drift["source"] == "re-scored without the cache"


def test_drift_from_a_precomputed_score_file(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    drift_scores = tmp_path / "drift.json"
    res = score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=_settings(scripted_server),
        out=drift_scores,
    )
    # question-level labels: the judge's question scores, one of them disputed
    labels = {q.id: q.score for q in res.per_question_scores}
    first = next(iter(labels))
    labels[first] = 1.0 - (labels[first] or 0.0)
    write(tmp_path / "labels.json", [{"id": k, "label": v} for k, v in labels.items()])
    config = "drift: {scores: drift.json, labels: labels.json, floors: {pearson: 0.0, kendall: 0.99}}\n"
    calls = scripted_server.count()
    proc, out = run_gate(tmp_path, "--candidate", str(drift_scores), config=config)
    assert scripted_server.count() == calls  # nothing re-scored
    checks = checks_by_name(out["json"])
    assert checks["drift.kendall"]["status"] == "fail" and checks["drift.pearson"]["status"] == "pass"
    assert checks["drift.kendall"]["details"]["n"] == len(labels)
    assert proc.returncode == 1
    # --drift-scores overrides the config's file
    other = write(tmp_path / "other.json", json.loads(drift_scores.read_text()))
    res = gate(drift_scores, None, tmp_path / "gate.yaml", drift_scores=other)
    assert res.drift is not None and res.drift["source"] == str(other)


def _drift_setup(server: ScriptedServer, tmp_path: Path) -> tuple[Path, Path]:
    """A candidate scored by the scripted judge, and a drift config whose labels agree with that judge."""
    candidate = tmp_path / "candidate.json"
    first = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=_settings(server), out=candidate
    )
    labels = [{"id": q.id, "label": q.score} for q in first.per_question_scores]
    write(tmp_path / "labels.json", labels)
    config = write(
        tmp_path / "drift.yaml",
        f"drift: {{dataset: {EXAMPLE_DATASET}, responses: {EXAMPLE_RESPONSES}, labels: labels.json, "
        "floors: {spearman: 0.5}}\n",
    )
    return candidate, config


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_drift_rescore_against_a_dead_judge_is_a_judge_failure(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    candidate, config = _drift_setup(scripted_server, tmp_path)
    port = _dead_port()
    started = time.monotonic()
    proc = run_cli(
        "gate",
        "--candidate",
        str(candidate),
        "--config",
        str(config),
        "--api-base",
        f"http://127.0.0.1:{port}/v1",
        "--drift-fresh",
        "--json",
        str(tmp_path / "gate.json"),
        timeout=200,
    )
    elapsed = time.monotonic() - started
    assert_clean_error(proc, code=3)
    assert "only 0 item" not in proc.stderr and "gate passed" not in proc.stdout
    assert not (tmp_path / "gate.json").exists()
    assert elapsed < 120, elapsed


def test_drift_rescore_by_a_judge_that_answers_only_prose_is_a_judge_failure(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    candidate, config = _drift_setup(scripted_server, tmp_path)
    scripted_server.add_rule(None, Reply(content="The answer covers the question well, I would say."))
    calls = scripted_server.count()
    proc = run_cli("gate", "--candidate", str(candidate), "--config", str(config), "--drift-fresh")
    assert_clean_error(proc, "drift", "scored none of the", "unparseable", code=3)
    assert scripted_server.count() > calls  # the judge was asked, and answered
    assert "only 0 item" not in proc.stderr


# ----------------------------------------------------------------------------------------------------------
# the example CI chain
# ----------------------------------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_example_baseline_matches_the_builtin_rubric() -> None:
    """The committed example baseline was scored with today's lamp_qa rubric (else: re-baseline)."""
    from judgekit.rubric import load_rubric

    baseline = json.loads((REPO / "examples" / "ci" / "baseline.json").read_text())
    assert baseline["meta"]["rubric"]["content_sha256"] == load_rubric("lamp_qa").content_hash, (
        "rubrics/lamp_qa changed: run MAKE_BASELINE=1 examples/ci/run_gate_example.sh to re-baseline the example"
    )


def test_example_ci_chain_end_to_end(tmp_path: Path) -> None:
    script = REPO / "examples" / "ci" / "run_gate_example.sh"
    env = dict(os.environ, JUDGEKIT_CACHE_DIR=str(tmp_path / "cache"), PYTHON=sys.executable)
    same_port = _port_free(18765)
    if not same_port:  # another process holds the demo port: run anyway (the judge's URL then differs)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            env["JUDGEKIT_DEMO_PORT"] = str(s.getsockname()[1])
    runs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        proc = subprocess.run(
            ["bash", str(script), str(out)], capture_output=True, text=True, env=env, timeout=240
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs.append(out)
    first = json.loads((runs[0] / "candidate.json").read_text())
    second = json.loads((runs[1] / "candidate.json").read_text())
    assert first["totals"]["calls"] > 0
    # the rerun with the cache kept: zero judge calls, the same verdict
    assert second["totals"]["calls"] == 0 and second["totals"]["cache_hits"] == first["totals"]["calls"]
    g1 = json.loads((runs[0] / "gate.json").read_text())
    g2 = json.loads((runs[1] / "gate.json").read_text())
    assert g2["drift"]["judge_calls"] == 0
    assert g1["passed"] and g2["passed"]
    assert [(c["name"], c["status"], c["value"]) for c in g1["checks"]] == [
        (c["name"], c["status"], c["value"]) for c in g2["checks"]
    ]
    assert {c["name"] for c in g1["checks"]} >= {"floor.score", "regression", "drift.spearman", "provenance"}
    if same_port:
        assert next(c for c in g1["checks"] if c["name"] == "provenance")["status"] == "pass"
    ET.parse(runs[1] / "gate.xml")
    assert (runs[1] / "gate.md").read_text().startswith("## judgekit gate: ✅ passed")


def test_public_api(tmp_path: Path) -> None:
    import judgekit
    import judgekit.gate as gate_module  # importing the module rebinds judgekit.gate to it

    b, c = pair(tmp_path, np.full(8, 0.6), np.full(8, 0.3))
    for _ in range(2):
        result = judgekit.gate(c, b)
        assert not result.passed and result.failed[0].name == "regression"
    assert gate_module.gate(c, b).to_json()["passed"] is False
