"""``judgekit validate --ppi``: the judge-corrected mean, checked against the ppi-python package.

Files are built here; the expected estimate and CI come from ``ppi_py.ppi_mean_pointestimate`` /
``ppi_mean_ci`` (PPI++, default settings, alpha 0.05) on the same numbers, never from judgekit.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import lazy
from tests.conftest import assert_clean_error, run_cli

ppi_py = lazy.module("ppi_py")

N_ALL = 400
N_LABELLED = 60


def scalar(v: Any) -> float:
    return float(np.asarray(v).ravel()[0])


def build(tmp_path: Path, *, judge_scale: float = 1.0) -> tuple[Path, Path, dict[str, Any]]:
    """Judge scores on every item (1-5, times ``judge_scale``), two annotators on a random subset."""
    rng = np.random.default_rng(42)
    truth = np.clip(np.round(rng.normal(3.2, 1.0, size=N_ALL)), 1, 5)
    judge = np.clip(np.round(truth + rng.normal(0.5, 0.7, size=N_ALL)), 1, 5)
    labelled = sorted(rng.choice(N_ALL, size=N_LABELLED, replace=False).tolist())
    ids = [f"item{k:03d}" for k in range(N_ALL)]
    judge_path = tmp_path / "all_scores.jsonl"
    judge_path.write_text(
        "".join(
            json.dumps({"id": ids[k], "score": float(judge[k]) * judge_scale}) + "\n" for k in range(N_ALL)
        )
    )
    human_path = tmp_path / "subset_labels.csv"
    rows = []
    human_mean = []
    for k in labelled:
        a = truth[k]
        b = float(np.clip(truth[k] + rng.choice([-1, 0, 0, 1]), 1, 5))
        rows += [(ids[k], "ann1", int(a)), (ids[k], "ann2", int(b))]
        human_mean.append((a + b) / 2)
    with human_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "annotator", "label"])
        w.writerows(rows)
    unl = [k for k in range(N_ALL) if k not in set(labelled)]
    expected = {
        "human": np.array(human_mean),
        "judge_l": judge[labelled],
        "judge_u": judge[unl],
        "ids": ids,
        "labelled": labelled,
    }
    return judge_path, human_path, expected


def run_validate(judge: Path, human: Path, out: Path, *extra: str) -> Any:
    return run_cli(
        "validate", "--judge", str(judge), "--human", str(human), "--scale", "1-5", "--ppi",
        "--n-boot", "200", "--out", str(out), *extra,
    )  # fmt: skip


def check_against_ppi_python(block: dict[str, Any], e: dict[str, Any]) -> None:
    y, f, fu = e["human"], e["judge_l"], e["judge_u"]
    assert block["estimate"] == pytest.approx(scalar(ppi_py.ppi_mean_pointestimate(y, f, fu)), abs=1e-6)
    lo, hi = (scalar(v) for v in ppi_py.ppi_mean_ci(y, f, fu, alpha=0.05))
    assert block["ci_low"] == pytest.approx(lo, abs=1e-6)
    assert block["ci_high"] == pytest.approx(hi, abs=1e-6)
    assert block["n_labelled"] == N_LABELLED and block["n_unlabelled"] == N_ALL - N_LABELLED
    c_lo, c_hi = (scalar(v) for v in ppi_py.classical_mean_ci(y, alpha=0.05))
    human_only = block["human_only"]
    assert human_only["estimate"] == pytest.approx(float(np.mean(y)), abs=1e-9)
    assert (human_only["ci_low"], human_only["ci_high"]) == pytest.approx((c_lo, c_hi), abs=1e-6)
    assert block["judge_only"]["estimate"] == pytest.approx(float(np.mean(np.concatenate([f, fu]))), abs=1e-9)
    assert block["judge_only"]["n"] == N_ALL
    se_ppi = (hi - lo) / (2 * 1.959963984540054)
    assert block["effective_labels"] == pytest.approx(float(np.var(y)) / se_ppi**2, rel=1e-6)


def test_ppi_matches_ppi_python(tmp_path: Path) -> None:
    judge, human, e = build(tmp_path)
    out = tmp_path / "agreement.json"
    proc = run_validate(judge, human, out)
    assert proc.returncode == 0, proc.stderr
    (dim,) = json.loads(out.read_text())["dimensions"]
    block = dim["ppi"]
    check_against_ppi_python(block, e)
    assert block["judge_mapped"] is None
    # the judge here is lenient (+0.5): its own mean is biased, and PPI pulls the estimate back
    assert block["judge_only"]["estimate"] > block["estimate"]
    assert block["ci_high"] - block["ci_low"] < block["human_only"]["ci_high"] - block["human_only"]["ci_low"]
    # the terminal block
    text = proc.stdout
    assert f"{N_LABELLED} labelled, {N_ALL - N_LABELLED} unlabelled" in text
    (ppi_line,) = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("ppi (judge-corrected)")]
    assert f"{block['estimate']:.3f} [{block['ci_low']:.3f}, {block['ci_high']:.3f}]" in ppi_line
    assert "human only" in text and "judge only (biased)" in text
    assert f"PPI is worth {block['effective_labels']:.1f} labels" in text


def test_ppi_maps_a_declared_judge_scale(tmp_path: Path) -> None:
    judge, human, e = build(tmp_path, judge_scale=20.0)  # the judge writes 20..100
    out = tmp_path / "agreement.json"
    proc = run_validate(judge, human, out, "--judge-scale", "20-100")
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text())["dimensions"][0]["ppi"]
    mapped = {k: 1 + (v * 20.0 - 20) * 4 / 80 for k, v in (("l", e["judge_l"]), ("u", e["judge_u"]))}
    e = {**e, "judge_l": mapped["l"], "judge_u": mapped["u"]}
    check_against_ppi_python(block, e)
    assert "mapped linearly from 20-100 onto 1-5" in block["judge_mapped"]


def test_ppi_label_without_judge_score_is_an_input_error(tmp_path: Path) -> None:
    judge, human, e = build(tmp_path)
    ids, labelled = e["ids"], e["labelled"]
    gone = {ids[labelled[3]], ids[labelled[7]]}
    rows = [json.loads(line) for line in judge.read_text().splitlines()]
    judge.write_text("".join(json.dumps(r) + "\n" for r in rows if r["id"] not in gone))
    out = tmp_path / "agreement.json"
    for extra in ((), ("--allow-missing",)):
        proc = run_validate(judge, human, out, *extra)
        assert_clean_error(proc, "--ppi", "2 labelled id(s)", *sorted(gone))
        assert not out.exists()


def test_ppi_judge_off_scale_without_declared_scale_is_an_input_error(tmp_path: Path) -> None:
    judge, human, _ = build(tmp_path, judge_scale=20.0)
    proc = run_validate(judge, human, tmp_path / "a.json")
    # --scale 1-5 with judge scores of 20..100: the existing scale check names --judge-scale
    assert_clean_error(proc, "--judge-scale")
    proc = run_cli(
        "validate", "--judge", str(judge), "--human", str(human), "--ppi", "--n-boot", "0",
    )  # fmt: skip
    assert_clean_error(proc, "--ppi", "--scale", "--judge-scale")


def test_no_ppi_block_without_the_flag(tmp_path: Path) -> None:
    judge, human, _ = build(tmp_path)
    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--human", str(human), "--n-boot", "0", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["dimensions"][0]["ppi"] is None
    assert "judge-corrected" not in proc.stdout
    assert math.isfinite(json.loads(out.read_text())["dimensions"][0]["n_used"])
