"""``judgekit validate``: every input shape through the real CLI, published figures through the full path,
and one-line errors (exit 2, no traceback, no output file) for bad inputs."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judgekit.errors import ConfigError, InputError
from judgekit.validate import format_report, parse_scale, validate
from tests import forked_cli

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "agreement"
CRITERIA = ("Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return forked_cli.completed(
        [sys.executable, "-m", "judgekit", "validate", *map(str, args)], env=env, cwd=ROOT, timeout=120
    )


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------------------
# HANNA as judge / label files (the Human row is excluded, as in the published rankings)
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hanna() -> dict[str, dict[str, list[float]]]:
    csv.field_size_limit(10**9)
    with gzip.open(
        DATA / "hanna_story_eval" / "hanna_metric_scores_llm.csv.gz", "rt", encoding="utf-8"
    ) as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        if row["Model"] != "Human":
            for col, cell in row.items():
                if col != "Model":
                    out.setdefault(col, {})[row["Model"]] = json.loads(cell)
    return out


def _col(hanna: dict[str, dict[str, list[float]]], prefix: str) -> str:
    return next(c for c in hanna if c.split(" Ξ")[0].split(" ¤")[0] == prefix)


@pytest.fixture(scope="module")
def hanna_files(
    hanna: dict[str, dict[str, list[float]]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The worked example of docs/validate.md: ChatGPT's Relevance ratings vs the three raters."""
    d = tmp_path_factory.mktemp("hanna")
    length = _col(hanna, "Text length")
    judge, long_rows, wide_rows = [], [], []
    for system, values in hanna["ChatGPT RE 1"].items():
        for p in range(96):
            item = f"{system}/{p}"
            judge.append(
                {
                    "id": item,
                    "score": values[p],
                    "prompt": p,
                    "system": system,
                    "length": hanna[length][system][p],
                }
            )
            raters = [hanna[f"Human {k} RE"][system][p] for k in (1, 2, 3)]
            long_rows += [[item, f"rater{k + 1}", v] for k, v in enumerate(raters)]
            wide_rows.append([item, *raters])
    return {
        "judge": write_jsonl(d / "judge_scores.jsonl", judge),
        "long": write_csv(d / "human_labels.csv", ["id", "annotator", "label"], long_rows),
        "wide": write_csv(d / "human_wide.csv", ["id", "rater1", "rater2", "rater3"], wide_rows),
        "dir": d,
    }


def test_cli_long_csv_groups_systems(hanna_files: dict[str, Path]) -> None:
    out = hanna_files["dir"] / "agreement.json"
    r = run_cli(
        "--judge",
        hanna_files["judge"],
        "--human",
        hanna_files["long"],
        "--group",
        "prompt",
        "--system",
        "system",
        "--scale",
        "1-5",
        "--n-boot",
        "200",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    for text in (
        "pooled",
        "per prompt (94/96)",
        "system level (10)",
        "human ceiling (LOO)",
        "Krippendorff",
        "kappa",
    ):
        assert text in r.stdout
    report = json.loads(out.read_text())
    d = report["dimensions"][0]
    assert d["n_used"] == 960 and d["n_dropped"] == 0 and d["n_annotators"] == 3
    assert d["resampled"] == "groups"
    c = d["correlations"]
    assert c["n_groups"] == 96 and c["groups_used"]["kendall"] == 94 and c["n_systems"] == 10
    for level in ("pooled", "per_group", "system"):
        for m in ("pearson", "spearman", "kendall"):
            iv = c[level][m]
            assert iv["ci_low"] <= iv["value"] <= iv["ci_high"], (level, m)
    assert set(d["alpha"]["humans"]) == {"nominal", "ordinal", "interval", "ratio"}
    assert d["alpha"]["humans_and_judge"]["ordinal"]["value"] is not None
    assert d["kappa"]["vs_mean"]["quadratic"]["value"] is not None
    assert d["ceiling"]["n_annotators"] == 3 and len(d["ceiling"]["per_annotator"]) == 3
    assert d["bias"]["length_field"] == "length"
    assert d["bias"]["mean_offset"]["value"] < 0
    assert abs(sum(d["bias"]["judge_shares"].values()) - 1) < 1e-9
    assert len(d["disagreements"]) == 10


def test_wide_form_equals_long_form(hanna_files: dict[str, Path]) -> None:
    kw: dict[str, Any] = {"group": "prompt", "scale": "1-5", "n_boot": 50}
    long = validate(hanna_files["judge"], hanna_files["long"], **kw)
    wide = validate(hanna_files["judge"], hanna_files["wide"], **kw)
    a, b = long.dimensions[0], wide.dimensions[0]
    assert a.correlations == b.correlations
    assert a.alpha == b.alpha and a.kappa == b.kappa
    assert a.ceiling is not None and b.ceiling is not None
    assert a.ceiling.human == b.ceiling.human
    r = run_cli("--judge", hanna_files["judge"], "--human", hanna_files["wide"], "--n-boot", "20", "--quiet")
    assert r.returncode == 0 and r.stdout == ""


def test_api_reproduces_hanna_published(hanna: dict[str, dict[str, list[float]]], tmp_path: Path) -> None:
    """Published story-level (per prompt, averaged) and system-level figures through the full validate path:
    judge rows with a 'scores' object per criterion, labels as already-averaged columns (several dimensions)."""
    published: dict[tuple[str, str, str, str], float] = {}
    for level in ("story", "system"):
        for method in ("pearson", "spearman", "kendall"):
            path = DATA / "hanna_story_eval" / "published_rankings" / f"{level}_{method}.csv"
            with path.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    for col, v in row.items():
                        if col != "Model":
                            published[(level, method, row["Model"], col.split("_")[0])] = float(v)
    human_rows = [
        [f"{s}/{p}", p, s, *(hanna[c][s][p] for c in CRITERIA)] for s in hanna["Relevance"] for p in range(96)
    ]
    human = write_csv(tmp_path / "human_mean.csv", ["id", "prompt", "system", *CRITERIA], human_rows)
    for metric in ("BLEU", "METEOR", "BERTScore F1"):
        col = _col(hanna, metric)
        judge_rows = [
            {"id": f"{s}/{p}", "scores": {c: hanna[col][s][p] for c in CRITERIA}}
            for s in hanna[col]
            for p in range(96)
        ]
        judge = write_jsonl(tmp_path / "metric.jsonl", judge_rows)
        rep = validate(judge, human, dimensions=list(CRITERIA), group="prompt", system="system", n_boot=0)
        assert [d.dimension for d in rep.dimensions] == list(CRITERIA)
        for d in rep.dimensions:
            assert d.n_annotators == 0 and d.alpha is None and d.ceiling is None
            per_group, system = d.correlations.per_group, d.correlations.system
            assert per_group is not None and system is not None
            for m in ("pearson", "spearman", "kendall"):
                story_v = getattr(per_group, m).value
                system_v = getattr(system, m).value
                assert abs(abs(story_v) - published[("story", m, col, d.dimension)]) <= 1e-9
                assert abs(abs(system_v) - published[("system", m, col, d.dimension)]) <= 1e-9, (
                    m,
                    col,
                    d.dimension,
                )


def test_cli_reproduces_unieval(tmp_path: Path) -> None:
    expected = json.loads((DATA / "unieval_predictions" / "expected.json").read_text())
    pub = expected["published_pearson_spearman_kendall"]["sfres_result.json"]
    with gzip.open(DATA / "unieval_predictions" / "sfres_result.json.gz", "rt", encoding="utf-8") as fh:
        items = json.load(fh)
    dims = list(pub)
    judge = write_jsonl(
        tmp_path / "unieval.jsonl",
        [{"id": str(k), "scores": {d: it["predict_scores"][d] for d in dims}} for k, it in enumerate(items)],
    )
    human = write_jsonl(
        tmp_path / "human.jsonl",
        [{"id": k, **{d: it["scores"][d] for d in dims}} for k, it in enumerate(items)],
    )
    out = tmp_path / "a.json"
    args = ["--judge", judge, "--human", human, "--human-format", "mean", "--n-boot", "0", "--out", out]
    for d in dims:
        args += ["--dimension", d]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert [d["dimension"] for d in report["dimensions"]] == dims
    for d in report["dimensions"]:
        assert d["n_used"] == expected["n_items"]["sfres"]
        pooled = d["correlations"]["pooled"]
        for m, value in zip(("pearson", "spearman", "kendall"), pub[d["dimension"]], strict=True):
            assert abs(pooled[m]["value"] - value) <= 5e-7 + 1e-12


def _llmbar_rows() -> list[dict[str, Any]]:
    with gzip.open(DATA / "llmbar_pairwise" / "judgments_compact.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_cli_pairwise_reproduces_llmbar(tmp_path: Path) -> None:
    rows = _llmbar_rows()
    with gzip.open(DATA / "llmbar_pairwise" / "statistics_all.json.gz", "rt", encoding="utf-8") as fh:
        stats_all = json.load(fh)
    subsets = [f"LLMBar/Adversarial/{s}" for s in ("Neighbor", "GPTInst", "GPTOut", "Manual")]
    picked = [
        r
        for r in rows
        if r["evaluator"] == "GPT-4" and r["strategy"] == "Vanilla_NoRules" and r["subset"] in subsets
    ]
    judge_rows, gold = [], []
    for r in picked:
        for k, label in enumerate(r["labels"]):
            item = f"{r['subset']}#{k}"
            judge_rows.append(
                {
                    "id": item,
                    "winner_original": r["winner_swap_false"][k],
                    "winner_swapped": r["winner_swap_true"][k],
                    "subset": r["subset"],
                }
            )
            gold.append([item, label])
    judge = write_jsonl(tmp_path / "verdicts.jsonl", judge_rows)
    human = write_csv(tmp_path / "gold.csv", ["id", "label"], gold)
    out = tmp_path / "pairwise.json"
    r = run_cli(
        "--pairwise",
        "--judge",
        judge,
        "--human",
        human,
        "--group",
        "subset",
        "--invalid-agree",
        "--n-boot",
        "100",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert "positional agreement" in r.stdout
    rep = json.loads(out.read_text())["pairwise"]
    by_group = {g["group"]: g for g in rep["per_group"]}
    for subset in subsets:
        pub = stats_all[f"{subset}|GPT-4|Vanilla_NoRules"]
        g = by_group[subset]
        assert f"{g['correct_original']} / {g['n']}" == pub["correct_False"].split(" =")[0]
        assert f"{g['agree']} / {g['n']}" == pub["equal"].split(" =")[0]
        assert 100 * g["accuracy"] == pytest.approx(float(pub["correct_average"].rstrip("%")))
    # the paper's adversarial average (README: GPT-4 "Vanilla" adv 73.1) is the unweighted mean over subsets
    assert abs(100 * rep["macro_accuracy"] - 73.1) <= 0.05 + 1e-9
    assert rep["figures"]["accuracy"]["ci_low"] < rep["figures"]["accuracy"]["value"]


def test_cli_pairwise_long_labels_majority(tmp_path: Path) -> None:
    judge = write_jsonl(
        tmp_path / "v.jsonl",
        [
            {"id": "a", "winner_original": "1", "winner_swapped": "1"},
            {"id": "b", "winner_original": "2", "winner_swapped": None},
            {"id": "c", "winner_original": "tie", "winner_swapped": "tie"},
            {"id": "d", "winner_original": "1", "winner_swapped": "2"},
        ],
    )
    human = write_csv(
        tmp_path / "h.csv",
        ["id", "annotator", "label"],
        [
            ["a", "x", 1],
            ["a", "y", 1],
            ["a", "z", 2],
            ["b", "x", 2],
            ["c", "x", "tie"],
            ["d", "x", 1],
            ["d", "y", 2],
        ],
    )
    out = tmp_path / "p.json"
    r = run_cli("--pairwise", "--judge", judge, "--human", human, "--n-boot", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    rep = json.loads(out.read_text())["pairwise"]
    assert rep["n_used"] == 3 and rep["dropped"][0]["reason"].startswith("human labels split evenly")
    assert rep["counts"]["correct_original"] == 3 and rep["counts"]["correct_swapped"] == 2
    assert rep["counts"]["agree"] == 2 and rep["counts"]["both_invalid"] == 0


# ---------------------------------------------------------------------------------------------------------
# Other input shapes
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Path]:
    ids = [f"q{k}" for k in range(12)]
    truth = [1, 2, 3, 4, 5, 3, 2, 4, 5, 1, 2, 3]
    judge = write_jsonl(
        tmp_path / "judge.jsonl",
        [{"id": i, "score": min(5, t + (k % 2))} for k, (i, t) in enumerate(zip(ids, truth, strict=True))],
    )
    long_rows = [
        [i, a, max(1, min(5, t + d))]
        for i, t in zip(ids, truth, strict=True)
        for a, d in (("ann1", 0), ("ann2", 1), ("ann3", -1))
    ]
    labels = write_csv(tmp_path / "labels.csv", ["id", "annotator", "label"], long_rows)
    return {"judge": judge, "labels": labels, "dir": tmp_path}


def test_cli_long_jsonl_labels(small: dict[str, Path]) -> None:
    rows = list(csv.DictReader(small["labels"].open()))
    human = write_jsonl(small["dir"] / "labels.jsonl", [{**r, "label": int(r["label"])} for r in rows])
    out = small["dir"] / "a.json"
    r = run_cli("--judge", small["judge"], "--human", human, "--scale", "1-5", "--n-boot", "50", "--out", out)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_used"] == 12 and d["n_labels"] == 36 and d["judge_on_scale"]


def test_cli_averaged_column(small: dict[str, Path]) -> None:
    human = write_csv(
        small["dir"] / "mean.csv", ["id", "label"], [[f"q{k}", 1 + k % 5 + 0.5] for k in range(12)]
    )
    out = small["dir"] / "a.json"
    r = run_cli("--judge", small["judge"], "--human", human, "--n-boot", "50", "--out", out)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_annotators"] == 0 and d["ceiling"] is None and d["alpha"] is None
    # asking for a ceiling with averaged labels is an error
    with pytest.raises(InputError, match="two or more annotators"):
        validate(small["judge"], human, ceiling=True, n_boot=0)


def test_cli_wide_multi_dimension_and_dimension_column(tmp_path: Path) -> None:
    ids = [f"i{k}" for k in range(10)]
    judge = write_jsonl(
        tmp_path / "j.jsonl",
        [
            {"id": i, "dimension": dim, "score": (k * (3 if dim == "fluency" else 7)) % 5 + 1}
            for k, i in enumerate(ids)
            for dim in ("coherence", "fluency")
        ],
    )
    wide = write_csv(
        tmp_path / "w.csv",
        ["id", "coherence:a", "coherence:b", "fluency:a", "fluency:b"],
        [[i, k % 5 + 1, (k + 1) % 5 + 1, (k * 3) % 5 + 1, (k * 3 + 1) % 5 + 1] for k, i in enumerate(ids)],
    )
    out = tmp_path / "a.json"
    r = run_cli(
        "--judge",
        judge,
        "--human",
        wide,
        "--dimension",
        "coherence",
        "--dimension",
        "fluency",
        "--n-boot",
        "30",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    dims = json.loads(out.read_text())["dimensions"]
    assert [d["dimension"] for d in dims] == ["coherence", "fluency"]
    assert all(d["n_annotators"] == 2 and d["n_used"] == 10 for d in dims)
    long = write_csv(
        tmp_path / "l.csv",
        ["id", "annotator", "dimension", "label"],
        [
            [i, a, dim, v]
            for k, i in enumerate(ids)
            for dim in ("coherence", "fluency")
            for a, v in (("a", (k * 3) % 5 + 1), ("b", k % 5 + 1))
        ],
    )
    r = run_cli("--judge", judge, "--human", long, "--n-boot", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    assert [d["dimension"] for d in json.loads(out.read_text())["dimensions"]] == ["coherence", "fluency"]


def test_cli_score_file_question_and_aspect(tmp_path: Path) -> None:
    questions = []
    for k in range(8):
        details = [{"aspect": f"a{m}", "score": float((k + m) % 3)} for m in range(3)]
        if k == 7:
            details[0] = {"aspect": "a0", "score": None, "status": "unscored", "reason": "judge failed"}
        scored = [d["score"] for d in details if d["score"] is not None]
        questions.append({"id": f"q{k}", "score": sum(scored) / (2 * len(scored)), "details": details})
    score_file = tmp_path / "scores.json"
    score_file.write_text(json.dumps({"score": 0.5, "per_question_scores": questions}))
    q_labels = write_csv(
        tmp_path / "q.csv", ["id", "r1", "r2"], [[f"q{k}", (k % 4) / 3, ((k + 1) % 4) / 3] for k in range(8)]
    )
    out = tmp_path / "a.json"
    r = run_cli("--judge", score_file, "--human", q_labels, "--n-boot", "20", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["dimensions"][0]["n_used"] == 8
    a_labels = write_csv(
        tmp_path / "asp.csv",
        ["id", "annotator", "label"],
        [
            [f"q{k}::a{m}", who, (k + m + d) % 3]
            for k in range(8)
            for m in range(3)
            for who, d in (("x", 0), ("y", k % 2))
        ],
    )
    r = run_cli(
        "--judge",
        score_file,
        "--level",
        "aspect",
        "--human",
        a_labels,
        "--scale",
        "0-2",
        "--n-boot",
        "20",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_used"] == 23 and d["n_dropped"] == 1
    assert d["dropped"][0]["reason"].startswith("judge could not score") and d["dropped"][0]["examples"] == [
        "q7::a0"
    ]
    assert d["judge_on_scale"] and d["kappa"] is not None


def test_cli_raw_completions(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "completions": ['{"match_score": 2}', "no idea", '{"match_score": 1}']},
        {"id": "b", "completions": ['```json\n{"match_score": 0}\n```']},
        {"id": "c", "completions": ["garbage", None]},
        {"id": "d", "completions": ['{"match_score": 2}', '{"match_score": 2}']},
        {"id": "e", "completions": ['{"match_score": 1}']},
    ]
    judge = write_jsonl(tmp_path / "c.jsonl", rows)
    labels = write_csv(
        tmp_path / "l.csv",
        ["id", "h1", "h2"],
        [["a", 2, 1], ["b", 0, 0], ["c", 1, 1], ["d", 2, 2], ["e", 1, 0]],
    )
    out = tmp_path / "a.json"
    r = run_cli(
        "--judge",
        judge,
        "--rubric",
        "lamp_qa",
        "--human",
        labels,
        "--scale",
        "0-2",
        "--n-boot",
        "20",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["judge_samples"]["samples"] == 9 and d["judge_samples"]["unparseable"] == 3
    assert d["n_used"] == 4 and d["dropped"][0]["examples"] == ["c"]
    assert "no parseable completion" in d["dropped"][0]["reason"]
    by_id = {x["id"]: x["judge"] for x in d["disagreements"]}
    assert by_id["a"] == 1.5  # the unparseable sample is left out, not scored 0
    with pytest.raises(ConfigError, match="--rubric"):
        validate(judge, labels, n_boot=0)


def test_allow_missing_and_extra_judge_ids(small: dict[str, Path]) -> None:
    rows = [json.loads(x) for x in small["judge"].read_text().splitlines()]
    judge = write_jsonl(small["dir"] / "j2.jsonl", [*rows[2:], {"id": "extra", "score": 3}])
    with pytest.raises(InputError, match=r"2 labelled id.s. have no judge score .* pass --allow-missing"):
        validate(judge, small["labels"], n_boot=0)
    rep = validate(judge, small["labels"], allow_missing=True, n_boot=0)
    reasons = {x.reason: x.count for x in rep.dimensions[0].dropped}
    assert reasons == {"no judge score for this id": 2, "no human label": 1}
    assert rep.dimensions[0].n_used == 10
    assert "dropped" in format_report(rep)


def test_single_annotator_without_ceiling_request(small: dict[str, Path]) -> None:
    rows = [r for r in csv.reader(small["labels"].open()) if r[1] in ("annotator", "ann1")]
    one = write_csv(small["dir"] / "one.csv", rows[0], rows[1:])
    rep = validate(small["judge"], one, scale="1-5", n_boot=0)
    d = rep.dimensions[0]
    assert d.ceiling is None and d.alpha is not None and d.alpha.humans is None
    assert d.alpha.humans_and_judge is not None


# ---------------------------------------------------------------------------------------------------------
# Bad inputs: one-line message, exit code 2, no traceback, no output file
# ---------------------------------------------------------------------------------------------------------


def _bad_cases(tmp: Path, small: dict[str, Path]) -> list[tuple[list[Any], str]]:
    other_ids = write_jsonl(tmp / "other.jsonl", [{"id": f"x{k}", "score": 3} for k in range(5)])
    off_scale = write_csv(
        tmp / "off.csv", ["id", "annotator", "label"], [["q0", "a", 7], ["q1", "a", 2], ["q2", "a", 9]]
    )
    text_label = write_csv(tmp / "text.csv", ["id", "annotator", "label"], [["q0", "a", "good"]])
    empty = tmp / "empty.jsonl"
    empty.write_text("")
    empty_csv = tmp / "empty.csv"
    empty_csv.write_text("")
    bad_csv = tmp / "bad.csv"
    bad_csv.write_text('id,annotator,label\nq0,a,1\nq1,a,"2\n')
    ragged = tmp / "ragged.csv"
    ragged.write_text("id,annotator,label\nq0,a,1,5\n")
    bad_json = tmp / "bad.jsonl"
    bad_json.write_text('{"id": "q0", "score": 1}\n{"id": "q1", "score": \n')
    judge_off = write_jsonl(
        tmp / "joff.jsonl", [{"id": f"q{k}", "score": 9 if k == 3 else 2} for k in range(12)]
    )
    one = write_csv(
        tmp / "one.csv", ["id", "annotator", "label"], [[f"q{k}", "solo", 1 + k % 5] for k in range(12)]
    )
    dims = write_csv(tmp / "dims.csv", ["id", "annotator", "dimension", "label"], [["q0", "a", "fluency", 2]])
    j, h = small["judge"], small["labels"]
    return [
        (["--judge", other_ids, "--human", h], "no ids in common"),
        (["--judge", j, "--human", off_scale, "--scale", "1-5", "--allow-missing"], "off the scale 1-5"),
        (["--judge", j, "--human", text_label], "is not a number"),
        (["--judge", empty, "--human", h], "file is empty"),
        (["--judge", j, "--human", empty_csv], "file is empty"),
        (["--judge", j, "--human", bad_csv], "malformed CSV"),
        (["--judge", j, "--human", ragged], "row 2: 4 fields"),
        (["--judge", bad_json, "--human", h], "line 2"),
        (["--judge", judge_off, "--human", h, "--scale", "1-5"], "off the scale"),
        (["--judge", j, "--human", one, "--ceiling"], "single annotator"),
        (["--judge", j, "--human", dims, "--dimension", "nope"], "no labels for dimension"),
        (["--judge", j, "--human", h, "--scale", "5-1"], "HI must be greater"),
        (["--judge", tmp / "missing.jsonl", "--human", h], "file not found"),
    ]


def _kwargs(args: list[Any]) -> tuple[Path, Path, dict[str, Any]]:
    """CLI arguments -> validate() arguments (the few flags the bad-input cases use)."""
    opts: dict[str, Any] = {"n_boot": 0}
    judge = human = Path()
    it = iter(args)
    for flag in it:
        if flag == "--judge":
            judge = next(it)
        elif flag == "--human":
            human = next(it)
        elif flag == "--scale":
            opts["scale"] = next(it)
        elif flag == "--dimension":
            opts["dimensions"] = [next(it)]
        elif flag == "--ceiling":
            opts["ceiling"] = True
        elif flag == "--allow-missing":
            opts["allow_missing"] = True
    return judge, human, opts


def test_bad_inputs_fail_cleanly(small: dict[str, Path]) -> None:
    tmp = small["dir"]
    cases = _bad_cases(tmp, small)
    # every case through the API: the one-line message
    for args, message in cases:
        judge, human, opts = _kwargs(args)
        with pytest.raises((InputError, ConfigError)) as info:
            validate(judge, human, **opts)
        text = str(info.value)
        assert message in text and "\n" not in text, (message, text)
    # a sample through the CLI: exit 2, one stderr line, no traceback, no output file
    for args, message in [cases[k] for k in (0, 5, 9)]:
        out = tmp / "agreement.json"
        r = run_cli(*args, "--n-boot", "0", "--out", out)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("judgekit: error:"), r.stderr
        assert message in lines[0], (message, lines[0])
        assert "Traceback" not in r.stderr
        assert not out.exists()


def test_api_errors(small: dict[str, Path]) -> None:
    with pytest.raises(ConfigError):
        parse_scale("one to five")
    assert parse_scale("0..1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_scale("1,3,2") == [1.0, 2.0, 3.0]
    with pytest.raises(InputError, match="no ids in common"):
        validate({"zz": 1.0}, small["labels"], n_boot=0)
    ok = validate({f"q{k}": float(1 + k % 5) for k in range(12)}, small["labels"], n_boot=0)
    assert ok.dimensions[0].n_used == 12


# ---------------------------------------------------------------------------------------------------------
# Raw completions: counts per dimension, extra fields kept for --group / --system
# ---------------------------------------------------------------------------------------------------------

GOOD = ['{"match_score": 0}', '{"match_score": 1}', '{"match_score": 2}']


def _completion_rows() -> list[dict[str, Any]]:
    """Six items x two dimensions x three samples; unparseable samples placed by hand (counted below)."""
    bad = {
        ("coherence", 0): [1],  # 1 unparseable
        ("coherence", 1): [0, 2],  # 2
        ("fluency", 2): [0, 1, 2],  # 3: the item has no score left for fluency
        ("fluency", 3): [1],  # 1
    }
    rows = []
    for dim in ("coherence", "fluency"):
        for k in range(6):
            texts: list[str | None] = [GOOD[(k + s) % 3] for s in range(3)]
            for s in bad.get((dim, k), []):
                texts[s] = "I think it is fine." if s % 2 else None
            rows.append(
                {
                    "id": f"i{k}",
                    "dimension": dim,
                    "completions": texts,
                    "doc": f"d{k // 2}",
                    "sys": f"m{k % 2}",
                }
            )
    return rows


def test_raw_completion_counts_are_per_dimension_and_say_parsed(tmp_path: Path) -> None:
    judge = write_jsonl(tmp_path / "c.jsonl", _completion_rows())
    labels = write_csv(
        tmp_path / "l.csv",
        ["id", "annotator", "dimension", "label"],
        [
            [f"i{k}", a, dim, (k + d) % 3]
            for k in range(6)
            for dim in ("coherence", "fluency")
            for a, d in (("x", 0), ("y", 1))
        ],
    )
    out = tmp_path / "a.json"
    r = run_cli("--judge", judge, "--rubric", "lamp_qa", "--human", labels, "--scale", "0-2", "--n-boot", "0", "--out", out)  # fmt: skip
    assert r.returncode == 0, r.stderr
    dims = {d["dimension"]: d for d in json.loads(out.read_text())["dimensions"]}
    # coherence: 18 samples, 3 unparseable; fluency: 18 samples, 4 unparseable (counted by hand above)
    assert {k: dims["coherence"]["judge_samples"][k] for k in ("samples", "parsed", "unparseable")} == {
        "samples": 18,
        "parsed": 15,
        "unparseable": 3,
    }
    assert {k: dims["fluency"]["judge_samples"][k] for k in ("samples", "parsed", "unparseable")} == {
        "samples": 18,
        "parsed": 14,
        "unparseable": 4,
    }
    assert "18 read, 15 parsed, 3 unparseable" in r.stdout
    assert "18 read, 14 parsed, 4 unparseable" in r.stdout
    assert dims["fluency"]["n_used"] == 5 and dims["fluency"]["dropped"][0]["examples"] == ["i2"]


def test_raw_completion_rows_keep_group_and_system_fields(tmp_path: Path) -> None:
    rows = [r for r in _completion_rows() if r["dimension"] == "coherence"]
    for r in rows:
        del r["dimension"]
    judge = write_jsonl(tmp_path / "c.jsonl", rows)
    labels = write_csv(
        tmp_path / "l.csv", ["id", "h1", "h2"], [[f"i{k}", k % 3, (k + 1) % 3] for k in range(6)]
    )
    out = tmp_path / "a.json"
    r = run_cli(
        "--judge", judge, "--rubric", "lamp_qa", "--human", labels, "--scale", "0-2",
        "--group", "doc", "--system", "sys", "--n-boot", "0", "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_used"] == 6 and d["n_dropped"] == 0
    assert d["correlations"]["n_groups"] == 3  # d0, d1, d2: two items each
    assert d["correlations"]["n_systems"] == 2  # m0, m1
    assert "per doc (" in r.stdout and "system level (2)" in r.stdout


def test_score_file_question_fields_serve_as_group(tmp_path: Path) -> None:
    sf = json.loads((ROOT / "examples" / "ci" / "baseline.json").read_text())
    for k, q in enumerate(sf["per_question_scores"]):
        q["doc"] = f"d{k // 3}"  # a field a user added to each question
    judge = tmp_path / "scores.json"
    judge.write_text(json.dumps(sf))
    ids = [q["id"] for q in sf["per_question_scores"]]
    labels = write_csv(
        tmp_path / "l.csv", ["id", "h1", "h2"], [[i, k % 3, (k + 1) % 3] for k, i in enumerate(ids)]
    )
    out = tmp_path / "a.json"
    r = run_cli("--judge", judge, "--human", labels, "--group", "doc", "--judge-scale", "0-1", "--n-boot", "0", "--out", out)  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_used"] == 6 and d["correlations"]["n_groups"] == 2


def test_score_file_object_is_read_like_its_file(tmp_path: Path) -> None:
    """A ScoreFile in memory (the gate's fresh drift scores) is validated without writing a file."""
    from judgekit.results import load_score_file

    sf = json.loads((ROOT / "examples" / "ci" / "baseline.json").read_text())
    for k, q in enumerate(sf["per_question_scores"]):
        q["doc"] = f"d{k // 3}"
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(sf))
    ids = [q["id"] for q in sf["per_question_scores"]]
    labels = write_csv(
        tmp_path / "l.csv", ["id", "h1", "h2"], [[i, k % 3, (k + 1) % 3] for k, i in enumerate(ids)]
    )
    kw: dict[str, Any] = {"group": "doc", "judge_scale": "0-1", "n_boot": 50}
    scores = load_score_file(path)
    path.unlink()
    before = set(tmp_path.iterdir())
    from_object = validate(scores, labels, **kw)
    assert set(tmp_path.iterdir()) == before
    path.write_text(json.dumps(sf))
    from_file = validate(path, labels, **kw)
    assert from_object.inputs["judge"] == "<score file>" and from_file.inputs["judge"] == str(path)
    assert from_object.dimensions == from_file.dimensions
    d = from_object.dimensions[0]
    assert d.n_used == 6 and d.correlations.n_groups == 2 and d.correlations.pooled.spearman.n_boot > 0
    with pytest.raises(ConfigError, match="reads the judge verdicts from a file"):
        validate(scores, labels, pairwise=True)


# ---------------------------------------------------------------------------------------------------------
# Wide / averaged labels with a text column (a document id): not an annotator
# ---------------------------------------------------------------------------------------------------------

NAT = [4, 2, 5, 3, 1, 4, 2, 5]
JUDGE_NAT = [5, 2, 4, 3, 2, 4, 1, 5]


def _nat_judge(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "j.jsonl", [{"id": f"s{k}", "score": v} for k, v in enumerate(JUDGE_NAT)])


def test_text_column_is_not_an_annotator(tmp_path: Path) -> None:
    judge = _nat_judge(tmp_path)
    labels = write_csv(
        tmp_path / "l.csv",
        ["id", "doc", "naturalness"],
        [[f"s{k}", f"doc-{k // 4}", v] for k, v in enumerate(NAT)],
    )
    out = tmp_path / "a.json"
    r = run_cli("--judge", judge, "--human", labels, "--scale", "1-5", "--n-boot", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_used"] == 8 and d["n_annotators"] == 0  # one averaged column, 'doc' is no annotator
    assert float(np.corrcoef(JUDGE_NAT, NAT)[0, 1]) == pytest.approx(
        d["correlations"]["pooled"]["pearson"]["value"]
    )
    assert any("'doc'" in n and "not read as annotators" in n for n in d["notes"])
    assert "'doc' hold text" in r.stdout
    # named as the group, it groups the items (and is not mentioned as ignored)
    r = run_cli(
        "--judge", judge, "--human", labels, "--group", "doc", "--scale", "1-5", "--n-boot", "0", "--out", out
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["correlations"]["n_groups"] == 2 and not any("not read as annotators" in n for n in d["notes"])
    # wide form: the numeric columns are the annotators
    wide = write_csv(
        tmp_path / "w.csv",
        ["id", "doc", "h1", "h2"],
        [[f"s{k}", f"doc-{k // 4}", v, max(1, v - 1)] for k, v in enumerate(NAT)],
    )
    r = run_cli("--judge", judge, "--human", wide, "--scale", "1-5", "--n-boot", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())["dimensions"][0]
    assert d["n_annotators"] == 2 and d["n_labels"] == 16


def test_column_mixing_labels_and_text_is_an_error_naming_it(tmp_path: Path) -> None:
    judge = _nat_judge(tmp_path)
    labels = write_csv(
        tmp_path / "l.csv",
        ["id", "h1", "h2"],
        [[f"s{k}", v, "good" if k == 3 else v] for k, v in enumerate(NAT)],
    )
    r = run_cli("--judge", judge, "--human", labels, "--n-boot", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "column 'h2'" in r.stderr and "'good' is not a number" in r.stderr
    only_text = write_csv(tmp_path / "t.csv", ["id", "doc"], [[f"s{k}", f"doc-{k}"] for k in range(8)])
    r = run_cli("--judge", judge, "--human", only_text, "--n-boot", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no annotator columns" in r.stderr and "'doc'" in r.stderr


def test_report_keeps_every_items_judge_and_human_mean(small: dict[str, Path]) -> None:
    """agreement.json carries each used item's pair, so a report can draw the full scatter and confusion."""
    out = small["dir"] / "a.json"
    r = run_cli("--judge", small["judge"], "--human", small["labels"], "--n-boot", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    items = json.loads(out.read_text())["dimensions"][0]["items"]
    judge = {
        row["id"]: float(row["score"]) for row in map(json.loads, small["judge"].read_text().splitlines())
    }
    labels: dict[str, list[float]] = {}
    for row in csv.DictReader(small["labels"].open()):
        labels.setdefault(row["id"], []).append(float(row["label"]))
    assert sorted(items["ids"]) == sorted(judge)
    for i, j, h in zip(items["ids"], items["judge"], items["human"], strict=True):
        assert j == judge[i]
        assert h == pytest.approx(sum(labels[i]) / len(labels[i]))
