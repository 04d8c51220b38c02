"""``judgekit validate --ppi`` on labels that carry each item's selection ``probability`` (judgekit label).

Equal probabilities (``--select random``) must give today's PPI++, checked against ppi-python to 1e-6;
unequal ones the active-inference estimate, checked against its definition worked out in
tests/test_stats_active.py (scipy's optimiser for the tuning, not judgekit's least squares).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import assert_clean_error
from tests.test_stats_active import by_definition
from tests.test_validate_ppi import N_ALL, N_LABELLED, build, check_against_ppi_python, run_validate


def label_rows(human_csv: Path, probability: dict[str, float]) -> list[dict[str, Any]]:
    """The CSV labels as the rows ``judgekit label`` writes (note, time, order and probability)."""
    with human_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    return [
        {
            "id": r["id"],
            "annotator": r["annotator"],
            "label": int(r["label"]),
            "note": "",
            "time": "2026-12-07T04:00:00Z",
            "order": None,
            "probability": probability[r["id"]],
        }
        for r in rows
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_equal_probabilities_are_plain_ppi_plus_plus(tmp_path: Path) -> None:
    judge, human, e = build(tmp_path)
    uniform = {i: N_LABELLED / N_ALL for i in e["ids"]}
    labels = write_jsonl(tmp_path / "labels.jsonl", label_rows(human, uniform))
    out = tmp_path / "agreement.json"
    proc = run_validate(judge, labels, out)
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text())["dimensions"][0]["ppi"]
    check_against_ppi_python(block, e)
    assert block["method"].startswith("PPI++")
    assert "selection probabilities" not in proc.stdout


def active_labels(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Judge scores on 400 items; labels drawn with unequal probabilities (higher where the judge errs)."""
    rng = np.random.default_rng(7)
    n_items = 400
    ids = [f"item{k:03d}" for k in range(n_items)]
    judge = np.clip(np.round(rng.normal(3.2, 1.0, n_items)), 1, 5)
    hard = rng.random(n_items) < 0.3
    truth = np.clip(np.round(judge + np.where(hard, rng.normal(-0.3, 1.2, n_items), 0.4)), 1, 5)
    prob = np.where(hard, 0.4, 0.1)
    drawn = rng.random(n_items) < prob
    judge_path = tmp_path / "scores.jsonl"
    judge_path.write_text(
        "".join(json.dumps({"id": i, "score": float(s)}) + "\n" for i, s in zip(ids, judge, strict=True))
    )
    rows = []
    human = np.full(n_items, np.nan)
    for k in np.flatnonzero(drawn):
        second = float(np.clip(truth[k] + rng.choice([-1, 0, 0, 1]), 1, 5))
        rows += [
            {"id": ids[k], "annotator": "ann1", "label": int(truth[k]), "probability": float(prob[k])},
            {"id": ids[k], "annotator": "ann2", "label": int(second), "probability": float(prob[k])},
        ]
        human[k] = (truth[k] + second) / 2
    labels = write_jsonl(tmp_path / "labels.jsonl", rows)
    return judge_path, labels, {"f": judge, "y": human, "p": np.where(drawn, prob, np.nan), "rows": rows}


def test_unequal_probabilities_give_the_active_inference_estimate(tmp_path: Path) -> None:
    judge, labels, e = active_labels(tmp_path)
    out = tmp_path / "agreement.json"
    proc = run_validate(judge, labels, out)
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text())["dimensions"][0]["ppi"]
    est, se, lam = by_definition(e["f"], e["y"], e["p"])
    assert block["estimate"] == pytest.approx(est, abs=1e-6)
    assert block["se"] == pytest.approx(se, abs=1e-6)
    assert block["ci_low"] == pytest.approx(est - 1.959963984540054 * se, abs=1e-6)
    assert block["lam"] == pytest.approx(lam, abs=1e-4)
    n_lab = int(np.isfinite(e["y"]).sum())
    assert (block["n_labelled"], block["n_unlabelled"]) == (n_lab, 400 - n_lab)
    assert block["method"].startswith("active inference")
    assert block["judge_only"]["estimate"] == pytest.approx(float(e["f"].mean()))
    assert "weighted by the labels' selection probabilities (active inference)" in proc.stdout
    # the unweighted mean of the labels over-represents the hard items (judge lenient there, labels lower)
    naive = float(np.nanmean(e["y"]))
    assert abs(block["human_only"]["estimate"] - naive) > 0.05


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ("drop_some", ["--ppi", "have no 'probability'", "every item or on none"]),
        ("zero", ["--ppi", "probability 0", "(0, 1]"]),
        ("above_one", ["--ppi", "probability 1.5", "(0, 1]"]),
        ("text", ["--ppi", "probability 'high'", "(0, 1]"]),
        ("differs", ["probability", "differs between rows"]),
    ],
)
def test_bad_probabilities_are_input_errors(tmp_path: Path, change: str, needles: list[str]) -> None:
    judge, labels, e = active_labels(tmp_path)
    rows = [dict(r) for r in e["rows"]]
    if change == "drop_some":
        for r in rows[:4]:
            del r["probability"]
    else:
        value = {"zero": 0, "above_one": 1.5, "text": "high", "differs": 0.33}[change]
        rows[0]["probability"] = value
        if change != "differs":
            rows[1]["probability"] = value
    write_jsonl(labels, rows)
    out = tmp_path / "agreement.json"
    proc = run_validate(judge, labels, out)
    assert_clean_error(proc, *needles)
    assert not out.exists()


def test_without_ppi_the_probability_column_is_ignored(tmp_path: Path) -> None:
    judge, labels, _ = active_labels(tmp_path)
    from tests.conftest import run_cli

    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--human", str(labels), "--scale", "1-5", "--n-boot", "0",
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())["dimensions"][0]
    assert report["ppi"] is None and report["n_annotators"] == 2


def test_a_planned_active_draw_feeds_validate(tmp_path: Path) -> None:
    """plan_selection on a judgekit score file, label rows with each pick's probability, validate --ppi."""
    from judgekit.label import judge_views, plan_selection

    rng = np.random.default_rng(11)
    n_items = 300
    questions, truth = [], {}
    for k in range(n_items):
        hard = k % 3 == 0
        c = float(rng.integers(2, 5))
        samples = [c - 1, c, c + 1] if hard else [4.0, 4.0, 4.0]  # sd 1 or 0
        score = float(np.mean(samples))
        questions.append(
            {"id": f"q{k}", "score": score, "details": [{"aspect": "a", "score": score, "samples": samples}]}
        )
        truth[f"q{k}"] = int(np.clip(round(score + (rng.normal(0, 1.5) if hard else 0.3)), 1, 5))
    scores = tmp_path / "scores.json"
    scores.write_text(
        json.dumps(
            {
                "score": None,
                "meta": {"rubric": {"name": "criteria"}},  # the scores are on criteria's 1..5 scale
                "per_question_scores": questions,
                "coverage": {"scored": 0, "total": 0, "ratio": 0},
            }
        )
    )
    picks = plan_selection([f"q{k}" for k in range(n_items)], "active", 60, seed=5, judge=judge_views(scores))
    # the hard items (spread samples) are drawn with a higher probability than the easy ones (no spread)
    prob = {p.id: p.probability for p in picks}
    assert min(v for i, v in prob.items() if int(i[1:]) % 3 == 0) > max(
        v for i, v in prob.items() if int(i[1:]) % 3 != 0
    )
    rows = [
        {"id": p.id, "annotator": "ann", "label": truth[p.id], "probability": p.probability} for p in picks
    ]
    labels = write_jsonl(tmp_path / "labels.jsonl", rows)
    out = tmp_path / "agreement.json"
    proc = run_validate(scores, labels, out)
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text())["dimensions"][0]["ppi"]
    assert block["method"].startswith("active inference")
    assert (block["n_labelled"], block["n_unlabelled"]) == (len(picks), n_items - len(picks))
    f = np.array([q["score"] for q in questions])
    y = np.array([truth[f"q{k}"] if f"q{k}" in prob else np.nan for k in range(n_items)], dtype=float)
    p = np.array([prob.get(f"q{k}", np.nan) for k in range(n_items)])
    est, se, _ = by_definition(f, y, p)
    assert block["estimate"] == pytest.approx(est, abs=1e-6) and block["se"] == pytest.approx(se, abs=1e-6)
