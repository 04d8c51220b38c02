"""The gate's power statement and `judgekit gate --plan`, checked against statsmodels' TTestPower.

Score files are built here from known per-question values; every expected figure is computed in the test by
statsmodels (one-sided paired t-test: a one-sample t-test on the differences, alternative='larger').
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import lazy
from tests.conftest import assert_clean_error, run_cli
from tests.test_gate import junit_cases, run_gate, score_file, write

TT = lazy.Lazy(lambda: lazy.module("statsmodels.stats.power").TTestPower())


def make_pair(tmp_path: Path, n: int, shift: float, noise: float, seed: int) -> tuple[Path, Path, np.ndarray]:
    """Baseline and candidate score files over ``n`` questions; returns the paths and the paired differences."""
    rng = np.random.default_rng(seed)
    base = np.round(rng.uniform(0.3, 0.7, n), 6)
    cand = np.round(np.clip(base + shift + rng.normal(0, noise, n), 0, 1), 6)
    ids = [f"q{i:04d}" for i in range(n)]
    b = write(tmp_path / "baseline.json", score_file(dict(zip(ids, base.tolist(), strict=True))))
    c = write(tmp_path / "candidate.json", score_file(dict(zip(ids, cand.tolist(), strict=True))))
    return b, c, cand - base


def gate_run(
    tmp_path: Path, b: Path, c: Path, config: str
) -> tuple[str, dict[str, Any], str, ET.Element | None, int]:
    """``python -m judgekit gate`` with every output; returns stdout, the JSON, the Markdown, the JUnit
    regression case and the exit code."""
    proc, paths = run_gate(tmp_path, "--candidate", str(c), "--baseline", str(b), config=config)
    assert proc.returncode in (0, 1), proc.stderr
    case = junit_cases(paths["junit"]).get("regression vs baseline")
    data = json.loads(paths["json"].read_text())
    return proc.stdout, data, paths["summary"].read_text(), case, proc.returncode


def test_underpowered_gate_says_so_with_statsmodels_figures(tmp_path: Path) -> None:
    b, c, diffs = make_pair(tmp_path, 40, -0.01, 0.15, seed=3)
    sd = float(np.std(diffs, ddof=1))
    effect = TT.solve_power(effect_size=None, nobs=40, alpha=0.05, power=0.8, alternative="larger")
    expected_drop = effect * sd
    expected_at_tol = TT.power(effect_size=0.02 / sd, nobs=40, alpha=0.05, alternative="larger")

    stdout, data, md, case, code = gate_run(tmp_path, b, c, "regression: {tolerance: 0.02, alpha: 0.05}\n")
    assert code == 0
    power = data["power"]
    assert power["n"] == 40 and power["alpha"] == 0.05 and power["power"] == 0.8
    assert power["sd"] == pytest.approx(sd, rel=1e-9)
    assert power["detectable_drop"] == pytest.approx(expected_drop, rel=1e-6)
    assert power["power_at_tolerance"] == pytest.approx(expected_at_tol, rel=1e-6)
    assert power["adequate"] is False and expected_drop > 0.02
    # the same figures ride on the regression check itself
    reg = next(ch for ch in data["checks"] if ch["name"] == "regression")
    assert reg["details"]["power"] == power
    assert reg["details"]["sd_diff"] == pytest.approx(sd, rel=1e-9)

    plain = f"this gate cannot reliably see a drop of 0.02 with 40 questions (80% power needs {expected_drop:.3f})"
    at_tol = f"power at a drop of 0.02: {expected_at_tol:.0%}"
    assert case is not None
    for where in (stdout, md, case.findtext("system-out") or ""):
        assert plain in where and at_tol in where, where
    assert f"SD of paired differences {sd:.3f}, one-sided alpha 0.05" in stdout


def test_adequate_gate_uses_its_own_alpha(tmp_path: Path) -> None:
    b, c, diffs = make_pair(tmp_path, 400, 0.0, 0.05, seed=5)
    sd = float(np.std(diffs, ddof=1))
    effect = TT.solve_power(effect_size=None, nobs=400, alpha=0.1, power=0.8, alternative="larger")
    expected_at_tol = TT.power(effect_size=0.03 / sd, nobs=400, alpha=0.1, alternative="larger")

    stdout, data, md, _, code = gate_run(tmp_path, b, c, "regression: {tolerance: 0.03, alpha: 0.1}\n")
    assert code == 0
    power = data["power"]
    assert power["alpha"] == 0.1
    assert power["detectable_drop"] == pytest.approx(effect * sd, rel=1e-6)
    assert power["power_at_tolerance"] == pytest.approx(expected_at_tol, rel=1e-6)
    assert power["adequate"] is True and effect * sd < 0.03
    line = f"80% power to detect a drop of {effect * sd:.3f} with 400 questions (tolerance 0.03)"
    assert line in stdout and line in md
    assert "cannot reliably" not in stdout


def test_null_tolerance_adds_the_tolerance_and_failure_text_carries_power(tmp_path: Path) -> None:
    b, c, diffs = make_pair(tmp_path, 60, -0.2, 0.05, seed=8)
    sd = float(np.std(diffs, ddof=1))
    effect = TT.solve_power(effect_size=None, nobs=60, alpha=0.05, power=0.8, alternative="larger")

    _, data, _, case, code = gate_run(tmp_path, b, c, "regression: {tolerance: 0.05, null: tolerance}\n")
    assert code == 1  # a drop of 0.2 against a tolerance of 0.05 fails
    power = data["power"]
    assert power["detectable_drop"] == pytest.approx(0.05 + effect * sd, rel=1e-6)
    assert power["power_at_tolerance"] is None and power["adequate"] is False
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert (
        f"power: this gate cannot reliably see a drop smaller than {0.05 + effect * sd:.3f}" in failure.text
    )


def test_no_regression_section_no_power(tmp_path: Path) -> None:
    b, c, _ = make_pair(tmp_path, 10, 0.0, 0.05, seed=1)
    _, data, md, case, _ = gate_run(tmp_path, b, c, "regression: false\nper_question: {max_regressed: 10}\n")
    assert data["power"] is None and "power:" not in md and case is None


# ---- --plan ------------------------------------------------------------------------------------------------


def plan(*args: str) -> tuple[int, str, dict[str, Any]]:
    """``judgekit gate --plan ARGS --json``; returns the questions printed, stdout and the JSON plan."""
    out = Path(args[-1])
    proc = run_cli("gate", "--plan", *args)
    assert proc.returncode == 0, proc.stderr
    printed = int(proc.stdout.split()[0])
    return printed, proc.stdout, json.loads(out.read_text())


@pytest.mark.parametrize(
    ("drop", "sd", "alpha", "power"),
    [(0.02, 0.15, 0.05, 0.8), (0.05, 0.25, 0.01, 0.9), (0.1, 0.3, 0.05, 0.8), (0.3, 0.2, 0.1, 0.5)],
)
def test_plan_matches_statsmodels(tmp_path: Path, drop: float, sd: float, alpha: float, power: float) -> None:
    nobs = TT.solve_power(effect_size=drop / sd, nobs=None, alpha=alpha, power=power, alternative="larger")
    expected = math.ceil(nobs)
    assert TT.power(drop / sd, expected, alpha, alternative="larger") >= power
    assert TT.power(drop / sd, expected - 1, alpha, alternative="larger") < power
    args = ["--drop", str(drop), "--sd", str(sd), "--alpha", str(alpha), "--power", str(power)]
    printed, stdout, data = plan(*args, "--json", str(tmp_path / "plan.json"))
    assert printed == expected == data["questions"]
    assert data["sd_source"] == "given" and data["alpha"] == alpha and data["power"] == power
    assert f"detect a mean drop of {drop:g} with {power:.0%} power" in stdout


def test_plan_from_files_and_config_alpha(tmp_path: Path) -> None:
    b, c, diffs = make_pair(tmp_path, 50, 0.0, 0.1, seed=11)
    base_scores = [q["score"] for q in json.loads(b.read_text())["per_question_scores"]]
    # a baseline alone: the SD of its question scores stands in, and the assumption is printed
    sd_base = float(np.std(base_scores, ddof=1))
    expected = math.ceil(TT.solve_power(0.03 / sd_base, None, 0.05, 0.8, alternative="larger"))
    printed, stdout, data = plan("--drop", "0.03", "--baseline", str(b), "--json", str(tmp_path / "p1.json"))
    assert printed == expected and data["sd"] == pytest.approx(sd_base, rel=1e-9)
    assert data["sd_source"] == "baseline" and data["sd_questions"] == 50
    assert "assumed:" in stdout and "sqrt(2(1-rho))" in stdout
    # baseline and candidate: the SD of the paired differences; alpha from the config's regression section
    sd_pair = float(np.std(diffs, ddof=1))
    expected = math.ceil(TT.solve_power(0.03 / sd_pair, None, 0.01, 0.8, alternative="larger"))
    cfg = write(tmp_path / "gate.yaml", "regression: {alpha: 0.01}\n")
    printed, stdout, data = plan(
        "--drop", "0.03", "--baseline", str(b), "--candidate", str(c), "--config", str(cfg),
        "--json", str(tmp_path / "p2.json"),
    )  # fmt: skip
    assert printed == expected and data["alpha"] == 0.01 and data["sd_source"] == "paired"
    assert "assumed:" not in stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--sd", "0.1"], "--plan needs --drop"),
        (["--drop", "0.02"], "exactly one of --sd SD or --baseline"),
        (["--drop", "0.02", "--sd", "0.1", "--baseline", "BASE"], "exactly one of --sd"),
        (["--drop", "abc", "--sd", "0.1"], "--drop: expected a number, got 'abc'"),
        (["--drop", "0", "--sd", "0.1"], "--drop must be a positive number"),
        (["--drop", "-0.1", "--sd", "0.1"], "--drop must be a positive number"),
        (["--drop", "nan", "--sd", "0.1"], "--drop must be a positive number"),
        (["--drop", "0.02", "--sd", "0"], "--sd must be a positive standard deviation"),
        (["--drop", "0.02", "--sd", "0.1", "--alpha", "1.5"], "--alpha must be between 0 and 1"),
        (["--drop", "0.02", "--sd", "0.1", "--power", "1"], "--power must be between 0 and 1"),
        (["--drop", "0.02", "--sd", "0.1", "--candidate", "CAND"], "--candidate needs --baseline"),
        (["--drop", "0.02", "--sd", "0.1", "--junit", "x.xml"], "--plan runs no gate: drop --junit"),
        (["--drop", "0.02", "--baseline", "FLAT"], "every value is the same (SD 0)"),
        (["--drop", "0.02", "--baseline", "ONE"], "1 scored question(s); the SD needs at least 2"),
        (["--drop", "0.02", "--baseline", "MISSING"], "missing.json: file not found"),
    ],
)
def test_plan_bad_input(tmp_path: Path, args: list[str], needle: str) -> None:
    files = {
        "BASE": write(tmp_path / "b.json", score_file({"a": 0.5, "b": 0.7})),
        "CAND": write(tmp_path / "c.json", score_file({"a": 0.5, "b": 0.7})),
        "FLAT": write(tmp_path / "flat.json", score_file({"a": 0.5, "b": 0.5, "c": 0.5})),
        "ONE": write(tmp_path / "one.json", score_file({"a": 0.5, "b": None})),
        "MISSING": tmp_path / "missing.json",
    }
    argv = [str(files[a]) if a in files else a for a in args]
    out = tmp_path / "plan.json"
    proc = run_cli("gate", "--plan", *argv, "--json", str(out))
    assert_clean_error(proc, needle)
    assert not out.exists()


def test_plan_flags_without_plan_and_no_candidate(tmp_path: Path) -> None:
    base = write(tmp_path / "b.json", score_file({"a": 0.5, "b": 0.7}))
    assert_clean_error(run_cli("gate", "--candidate", str(base), "--drop", "0.02"), "--drop goes with --plan")
    assert_clean_error(run_cli("gate", "--baseline", str(base)), "--candidate (or --plan)")
