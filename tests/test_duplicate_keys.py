"""A JSON object that names a key twice keeps only the last value with Python's json; judgekit refuses it
(exit 2, one line naming the file and the key) in every input it reads: responses (all shapes), pairs,
datasets, human labels, judge scores and score files for validate and gate."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, assert_clean_error, run_cli

PAIRWISE = REPO / "examples" / "pairwise"
BASELINE = REPO / "examples" / "ci" / "baseline.json"


def _with_leading_key(source: Path, target: Path, key: str, value: object) -> Path:
    """``source``'s JSON object with ``key`` written once more in front: the same key twice, first value lost."""
    text = source.read_text(encoding="utf-8")
    assert text.startswith("{\n") and f'"{key}"' in text
    target.write_text("{\n" + f"  {json.dumps(key)}: {json.dumps(value)},\n" + text[2:], encoding="utf-8")
    return target


def test_pairs_responses_with_a_duplicated_id(tmp_path: Path) -> None:
    dup = _with_leading_key(PAIRWISE / "responses_b.json", tmp_path / "b.json", "p2", "an earlier answer")
    proc = run_cli(
        "rubrics",
        "render",
        "pairwise",
        "--dataset",
        str(PAIRWISE / "dataset.json"),
        "--responses-a",
        str(PAIRWISE / "responses_a.json"),
        "--responses-b",
        str(dup),
        "--id",
        "p1",
    )
    assert_clean_error(proc, str(dup), "duplicate key 'p2'")


def test_pairs_dataset_row_with_a_duplicated_field(tmp_path: Path) -> None:
    rows = json.loads((PAIRWISE / "llmbar.json").read_text())
    lines = [json.dumps(r) for r in rows]
    # the second row names output_2 twice: the first answer would be judged as if it were not there
    lines[1] = lines[1][:-1] + ', "output_2": "a different answer"}'
    path = tmp_path / "llmbar.jsonl"
    path.write_text("\n".join(lines) + "\n")
    proc = run_cli("rubrics", "render", "pairwise", "--dataset", str(path), "--id", "1")
    assert_clean_error(proc, str(path), "line 2", "duplicate key 'output_2'")


def test_human_labels_row_with_a_duplicated_annotator(tmp_path: Path) -> None:
    judge = tmp_path / "judge.jsonl"
    judge.write_text("".join(json.dumps({"id": f"q{k}", "score": 1 + k % 5}) + "\n" for k in range(6)))
    labels = tmp_path / "labels.jsonl"
    rows = [json.dumps({"id": f"q{k}", "ann1": 1 + k % 5, "ann2": 1 + (k + 1) % 5}) for k in range(6)]
    rows[4] = '{"id": "q4", "ann1": 5, "ann2": 1, "ann1": 2}'
    labels.write_text("\n".join(rows) + "\n")
    out = tmp_path / "agreement.json"
    proc = run_cli(
        "validate", "--judge", str(judge), "--human", str(labels), "--n-boot", "0", "--out", str(out)
    )
    assert_clean_error(proc, str(labels), "line 5", "duplicate key 'ann1'")
    assert not out.exists()


def test_judge_scores_object_with_a_duplicated_id(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("id,annotator,label\n" + "".join(f"q{k},a,{1 + k % 5}\n" for k in range(6)))
    judge = tmp_path / "judge.json"
    judge.write_text('[{"id": "q0", "score": 1, "score": 5}]')
    proc = run_cli("validate", "--judge", str(judge), "--human", str(labels), "--n-boot", "0")
    assert_clean_error(proc, str(judge), "duplicate key 'score'")


def test_score_file_with_a_duplicated_key_in_validate_and_gate(tmp_path: Path) -> None:
    dup = _with_leading_key(BASELINE, tmp_path / "candidate.json", "score", 0.99)
    proc = run_cli("gate", "--candidate", str(dup), "--baseline", str(BASELINE))
    assert_clean_error(proc, str(dup), "duplicate key 'score'")
    labels = tmp_path / "labels.csv"
    ids = [q["id"] for q in json.loads(BASELINE.read_text())["per_question_scores"]]
    labels.write_text("id,annotator,label\n" + "".join(f"{i},a,{k % 2}\n" for k, i in enumerate(ids)))
    proc = run_cli("validate", "--judge", str(dup), "--human", str(labels), "--n-boot", "0")
    assert_clean_error(proc, str(dup), "duplicate key 'score'")
