"""Benchmark presets (judgekit.lexical.presets, `judgekit lexical --benchmark`): LaMP-1..7 and LongLaMP.

Expected figures are worked out by hand in each test (classification, rating) or come from the
published ROUGE-1.5.5 ground truth in tests/data/rouge_meteor (generation).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from judgekit.errors import ConfigError, InputError
from judgekit.lexical.presets import (
    BENCHMARK_NAMES,
    LAMP_2_LABELS,
    PRESETS,
    PresetReport,
    compute_preset,
    get_preset,
    run_preset,
)
from tests import forked_cli

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "rouge_meteor"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))


def _lines(name: str) -> list[str]:
    with open(DATA / name, encoding="utf-8") as fh:
        return fh.readlines()


def _lamp_file(path: Path, task: str, outputs: dict[str, str]) -> Path:
    path.write_text(
        json.dumps({"task": task, "golds": [{"id": k, "output": v} for k, v in outputs.items()]}),
        encoding="utf-8",
    )
    return path


def test_all_presets_present() -> None:
    assert BENCHMARK_NAMES == (
        "lamp-1",
        "lamp-2",
        "lamp-3",
        "lamp-4",
        "lamp-5",
        "lamp-6",
        "lamp-7",
        "longlamp",
    )
    assert len(LAMP_2_LABELS) == 15 and len(set(LAMP_2_LABELS)) == 15
    assert PRESETS["lamp-1"].labels == ("[1]", "[2]")
    assert PRESETS["lamp-3"].labels == ("1", "2", "3", "4", "5")
    for n in range(4, 8):
        assert PRESETS[f"lamp-{n}"].metrics == ("rouge1", "rougeL")
    assert PRESETS["longlamp"].metrics == ("rouge1", "rougeL", "meteor")
    for preset in PRESETS.values():
        assert preset.differences, preset.name  # every preset says where it departs from the original


def test_get_preset_names() -> None:
    assert get_preset("LaMP_3").name == "lamp-3"
    assert get_preset("LongLaMP").name == "longlamp"
    with pytest.raises(ConfigError) as err:
        get_preset("lamp-8")
    assert "lamp-8" in str(err.value) and "longlamp" in str(err.value)


# --- LaMP-1 / LaMP-2: accuracy and macro-F1 -------------------------------------------------------------


def test_lamp1_accuracy_macro_f1_and_malformed() -> None:
    golds = {"a": ["[1]"], "b": ["[1]"], "c": ["[2]"], "d": ["[2]"]}
    preds = {"a": "[1]", "b": "[2]", "c": " [2]\n", "d": "Reference [2] is related"}
    report = compute_preset("lamp-1", preds, golds)
    # [1]: tp 1, fp 0, fn 1 -> F1 2/3; [2]: tp 1, fp 1, fn 1 -> F1 1/2; 'd' is outside the set: wrong
    assert report.metrics["accuracy"] == pytest.approx(0.5)
    assert report.metrics["f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert report.malformed == 1 and report.malformed_ids == ["d"]
    assert report.items["c"]["correct"] is True  # surrounding whitespace is stripped, as in LaMP
    assert report.items["d"]["valid"] is False
    assert any("1 malformed" in n for n in report.notes)


def test_lamp2_macro_f1_counts_every_label_of_the_set() -> None:
    golds = {"m1": ["comedy"], "m2": ["action"], "m3": ["dystopia"]}
    preds = {"m1": "comedy", "m2": "action", "m3": "Comedy"}  # labels are case-sensitive
    report = compute_preset("lamp-2", preds, golds)
    # comedy: tp1 fn0 fp0 -> 1; action -> 1; dystopia: fn 1 -> 0; the 12 other labels: 0
    assert report.metrics["accuracy"] == pytest.approx(2 / 3)
    assert report.metrics["f1"] == pytest.approx(2 / 15)
    assert report.malformed == 1
    assert report.labels == list(LAMP_2_LABELS)


def test_lamp2_custom_label_set() -> None:
    report = compute_preset("lamp-2", {"x": "sports"}, {"x": ["sports"]}, labels=["sports", "travel"])
    assert report.metrics == {"accuracy": 1.0, "f1": 0.5}


def test_classification_gold_outside_label_set_is_an_error() -> None:
    with pytest.raises(InputError) as err:
        compute_preset("lamp-1", {"a": "[1]"}, {"a": ["[3]"]})
    assert "'a'" in str(err.value) and "[3]" in str(err.value)


# --- LaMP-3: MAE and RMSE ---------------------------------------------------------------------------------


def test_lamp3_mae_rmse_with_lamp_mapping() -> None:
    golds = {"r1": ["1"], "r2": ["5"], "r3": ["3"], "r4": ["2"], "r5": ["4"]}
    preds = {"r1": "2", "r2": "five", "r3": "", "r4": "2.0", "r5": "nan"}
    report = compute_preset("lamp-3", preds, golds)
    # r1: |2-1| = 1; r2 malformed, gold 5 -> 1 is farther: 4; r3 malformed, gold 3 (tie) -> 5: 2;
    # r4: 0; r5 malformed ('nan'), gold 4 -> 1: 3
    errors = [1, 4, 2, 0, 3]
    assert report.metrics["mae"] == pytest.approx(sum(errors) / 5)
    assert report.metrics["rmse"] == pytest.approx(math.sqrt(sum(e * e for e in errors) / 5))
    assert report.malformed == 3 and sorted(report.malformed_ids) == ["r2", "r3", "r5"]
    assert report.items["r2"]["value"] == 1.0 and report.items["r3"]["value"] == 5.0


def test_lamp3_out_of_range_numbers_are_kept() -> None:
    report = compute_preset("lamp-3", {"a": "7"}, {"a": ["4"]})
    assert report.metrics["mae"] == pytest.approx(3.0)
    assert report.malformed == 0
    assert any("outside 1-5" in n for n in report.notes)


def test_lamp3_gold_not_a_number() -> None:
    with pytest.raises(InputError, match="not a number"):
        compute_preset("lamp-3", {"a": "4"}, {"a": ["four"]})


# --- generation: LaMP-4..7 (stemming off) and LongLaMP (stemming on) ---------------------------------------


def _rouge155(pair: int, rouge_type: str, stem: bool) -> dict[str, Any]:
    groups = EXPECTED["rouge_against_ROUGE-1.5.5"]
    cases = groups["cases"] + groups["not_in_published_test_but_verified_here_with_rouge-score_0.1.2"]
    (case,) = [c for c in cases if c["pair"] == pair and c["type"] == rouge_type and c["use_stemmer"] == stem]
    return case


@pytest.mark.parametrize("task", ["lamp-4", "lamp-5", "lamp-6", "lamp-7"])
def test_lamp_generation_uses_rouge_without_stemming(task: str) -> None:
    # (not named 'benchmark': pytest-benchmark, where installed, owns that fixture name)
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    report = compute_preset(task, {"p": predictions[1]}, {"p": [targets[1]]}, processes=1)
    assert set(report.metrics) == {"rouge1", "rougeL"}
    # pair 1 is where stemming changes ROUGE-1.5.5's figure: the preset must match the no-stem one
    assert report.metrics["rouge1"] == pytest.approx(_rouge155(1, "rouge1", False)["fmeasure"], abs=5e-6)
    assert report.metrics["rougeL"] == pytest.approx(_rouge155(1, "rougeL", False)["fmeasure"], abs=5e-6)
    assert report.lexical is not None and report.lexical.stemmer is False


def test_longlamp_uses_stemming_and_meteor() -> None:
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    report = compute_preset(
        "longlamp",
        {"a": predictions[0], "b": predictions[1]},
        {"a": [targets[0]], "b": [targets[1]]},
        processes=1,
    )
    assert set(report.metrics) == {"rouge1", "rougeL", "meteor"}
    expected_r1 = (_rouge155(0, "rouge1", True)["fmeasure"] + _rouge155(1, "rouge1", True)["fmeasure"]) / 2
    expected_rl = (_rouge155(0, "rougeL", True)["fmeasure"] + _rouge155(1, "rougeL", True)["fmeasure"]) / 2
    assert report.metrics["rouge1"] == pytest.approx(expected_r1, abs=1e-5)
    assert report.metrics["rougeL"] == pytest.approx(expected_rl, abs=1e-5)
    assert 0.0 <= report.metrics["meteor"] <= 1.0
    assert report.lexical is not None and report.lexical.meteor_mode is not None


def test_longlamp_meteor_matches_nltk_doctest() -> None:
    m = EXPECTED["meteor_nltk"]
    hyp = " ".join(m["hypothesis1"])
    refs = [" ".join(m[k]) for k in ("reference1", "reference2", "reference3")]
    report = compute_preset("longlamp", {"h": hyp}, {"h": refs}, processes=1)
    assert (
        round(report.metrics["meteor"], 4)
        == m["published"]["round(meteor_score([reference1, reference2, reference3], hypothesis1), 4)"]
    )


def test_generation_empty_prediction_is_malformed() -> None:
    report = compute_preset(
        "lamp-5", {"a": "  ", "b": "a title"}, {"a": ["x y"], "b": ["a title"]}, processes=1
    )
    assert report.malformed == 1 and report.malformed_ids == ["a"]
    assert report.metrics["rouge1"] == pytest.approx(0.5)


def test_stemmer_override_is_reported() -> None:
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    report = compute_preset("lamp-4", {"p": predictions[1]}, {"p": [targets[1]]}, stemmer=True, processes=1)
    assert report.metrics["rouge1"] == pytest.approx(_rouge155(1, "rouge1", True)["fmeasure"], abs=5e-6)
    assert "stemming turned on" in report.differences[0]


# --- files: LaMP layout, task check, ids ----------------------------------------------------------------


def test_run_preset_reads_lamp_layout(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_3", {"1": "4", "2": "2"})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_3", {"1": "4", "2": "3"})
    report = run_preset("lamp-3", preds, golds)
    assert report.metrics["mae"] == pytest.approx(0.5)
    assert PresetReport.model_validate_json(report.model_dump_json()) == report


def test_run_preset_accepts_other_layouts(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_1", {"1": "[1]", "2": "[2]"})
    preds = tmp_path / "preds.json"
    preds.write_text(json.dumps({"1": "[1]", "2": "[1]"}), encoding="utf-8")
    report = run_preset("lamp-1", preds, golds)
    assert report.metrics["accuracy"] == pytest.approx(0.5)


def test_run_preset_task_mismatch(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_2", {"1": "comedy"})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_2", {"1": "comedy"})
    with pytest.raises(ConfigError) as err:
        run_preset("lamp-3", preds, golds)
    assert "LaMP_2" in str(err.value) and "lamp-3" in str(err.value)


def test_run_preset_missing_ids(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_1", {"1": "[1]", "2": "[2]", "3": "[1]"})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_1", {"1": "[1]"})
    with pytest.raises(InputError) as err:
        run_preset("lamp-1", preds, golds)
    msg = str(err.value)
    assert "'2'" in msg and "'3'" in msg and str(preds) in msg


# --- CLI ------------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return forked_cli.completed([sys.executable, "-m", "judgekit", "lexical", *args], env=env, timeout=600)


def test_cli_benchmark_lamp3(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_3", {"1": "5", "2": "1", "3": "3"})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_3", {"1": "4", "2": "I'd say 2", "3": "3"})
    out = tmp_path / "lamp3.json"
    proc = _cli(
        "--benchmark", "lamp-3", "--predictions", str(preds), "--references", str(golds), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    # 1: |4-5| = 1; 2: malformed, gold 1 -> 5 is farther: 4; 3: 0
    assert report["metrics"]["mae"] == pytest.approx(5 / 3)
    assert report["metrics"]["rmse"] == pytest.approx(math.sqrt(17 / 3))
    assert report["malformed"] == 1
    assert "MAE" in proc.stdout and "1 malformed" in proc.stdout


def test_cli_benchmark_task_mismatch_is_one_line(tmp_path: Path) -> None:
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_4", {"1": "a headline"})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_4", {"1": "a headline"})
    out = tmp_path / "never.json"
    proc = _cli(
        "--benchmark", "lamp-1", "--predictions", str(preds), "--references", str(golds), "--out", str(out)
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "LaMP_4" in proc.stderr
    assert not out.exists()


def test_cli_benchmark_generation(tmp_path: Path) -> None:
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    golds = _lamp_file(tmp_path / "golds.json", "LaMP_7", {"t0": targets[0], "t1": targets[1]})
    preds = _lamp_file(tmp_path / "preds.json", "LaMP_7", {"t0": predictions[0], "t1": predictions[1]})
    out = tmp_path / "lamp7.json"
    proc = _cli(
        "--benchmark", "lamp-7", "--predictions", str(preds), "--references", str(golds), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    expected = (_rouge155(0, "rouge1", False)["fmeasure"] + _rouge155(1, "rouge1", False)["fmeasure"]) / 2
    assert report["metrics"]["rouge1"] == pytest.approx(expected, abs=1e-5)
    assert report["lexical"]["items"]["t1"]["rouge1_f"] == pytest.approx(
        _rouge155(1, "rouge1", False)["fmeasure"], abs=5e-6
    )
