"""`judgekit score --judge local` end to end against the real model (llama.cpp + Gemma 3 270M).

Constrained output gives zero unscored verdicts; with constraints off and a tiny token budget the model's
real, truncated output exercises the re-ask-then-unscored path, counted correctly; the cache makes a rerun
free. Skipped locally when llama.cpp is missing; fails in CI, which installs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, run_cli
from tests.test_local_judge import require_local

pytestmark = [pytest.mark.integration, pytest.mark.runs_first]
N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))


def _score(
    tmp_path: Path,
    name: str,
    *extra: str,
    dataset: Path = EXAMPLE_DATASET,
    responses: Path = EXAMPLE_RESPONSES,
) -> tuple[dict, list[dict]]:
    out = tmp_path / f"{name}.json"
    proc = run_cli(
        "score",
        "--dataset",
        str(dataset),
        "--responses",
        str(responses),
        "--judge",
        "local",
        "--cache",
        str(tmp_path / "cache.sqlite"),
        "--out",
        str(out),
        "--no-progress",
        *extra,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / f"{name}.log.jsonl").read_text().splitlines()]
    return json.loads(out.read_text()), log


def test_constrained_scoring_then_free_rerun(tmp_path: Path) -> None:
    require_local()
    first, log = _score(tmp_path, "first")
    assert first["coverage"]["scored"] == N_ASPECTS and first["unscored"] == []
    assert first["totals"]["calls"] == N_ASPECTS
    assert first["meta"]["judge"]["identity"].startswith("local:")
    for q in first["per_question_scores"]:
        scores = [d["score"] for d in q["details"]]
        assert all(s in (0, 1, 2) for s in scores)
        assert q["score"] == pytest.approx(sum(scores) / (2 * len(scores)))
    calls = [r for r in log if r["type"] == "call"]
    assert all(json.loads(c["completion"])["match_score"] in (0, 1, 2) for c in calls)
    second, _ = _score(tmp_path, "second")
    assert second["totals"]["calls"] == 0 and second["totals"]["cache_hits"] == N_ASPECTS
    assert second["per_question_scores"] == first["per_question_scores"]


def test_unconstrained_garbage_is_reasked_then_unscored(tmp_path: Path) -> None:
    require_local()
    data = json.loads(EXAMPLE_DATASET.read_text())[:2]
    responses = json.loads(EXAMPLE_RESPONSES.read_text())
    ds, rs = tmp_path / "d.json", tmp_path / "r.json"
    ds.write_text(json.dumps(data))
    rs.write_text(json.dumps({q["id"]: responses[q["id"]] for q in data}))
    total = sum(len(q["rubric_aspects"]) for q in data)
    # no grammar and 4 tokens: the model's own output is cut off mid-JSON, every time
    result, log = _score(
        tmp_path,
        "raw",
        "--structured",
        "none",
        "--max-tokens",
        "4",
        "--max-reasks",
        "1",
        "--min-coverage",
        "0",
        dataset=ds,
        responses=rs,
    )
    calls = [r for r in log if r["type"] == "call"]
    reasked = [c for c in calls if c["turn"] == 1]
    unscored = result["unscored"]
    assert unscored, "real garbage output must end unscored"
    assert result["coverage"]["scored"] + len(unscored) == result["coverage"]["total"] == total
    assert result["totals"]["reasks"] == len(reasked) >= len(unscored)
    assert result["totals"]["calls"] == len(calls)
    for u in unscored:
        assert u["reason"].startswith("unparseable after 2 answers")
    for d in (d for q in result["per_question_scores"] for d in q["details"] if d["status"] == "unscored"):
        assert d["score"] is None
    assert all(
        c["parse_error"]
        for c in calls
        if c["turn"] == 0
        and c["completion"] is not None
        and any(u["aspect"] in c["targets"] for u in unscored)
    )
