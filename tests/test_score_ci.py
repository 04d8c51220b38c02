"""The score's bootstrap CI (overall, per category, per recurring aspect title).

Expected intervals are computed here by an independent seeded resampling of the scored question scores
(numpy's ``default_rng(seed)``, questions drawn with replacement one resample after another) and, for a large
sample, by scipy's percentile bootstrap within a tolerance; end to end through ``python -m judgekit score``
against the scripted server, with the scores the test scripted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from judgekit.scoring.aggregate import score_ci
from tests.conftest import run_cli
from tests.server import Reply, ScriptedServer, user_message


def reference_ci(values: list[float], n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of resampled means, one resample at a time (numpy's seeded stream)."""
    x = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.array([x[rng.integers(0, x.size, size=x.size)].mean() for _ in range(n_boot)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def test_ci_matches_independent_resampling() -> None:
    values = list(np.random.default_rng(7).uniform(0, 1, size=137))
    ci = score_ci(values, 1000, 3)
    assert ci is not None and ci["n"] == 137 and ci["resamples"] == 1000 and ci["level"] == 0.95
    assert (ci["low"], ci["high"]) == pytest.approx(reference_ci(values, 1000, 3), abs=1e-12)


def test_ci_close_to_scipy_percentile_bootstrap() -> None:
    values = np.random.default_rng(11).binomial(2, 0.4, size=4000) / 2.0
    ci = score_ci(list(values), 4000, 0)
    ref = stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile", random_state=5)
    assert ci is not None
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert ci["low"] == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert ci["high"] == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)


def test_ci_properties() -> None:
    rng = np.random.default_rng(0)
    small = list(rng.uniform(0, 1, size=30))
    big = list(rng.uniform(0, 1, size=3000))
    for values in (small, big):
        ci = score_ci(values, 2000, 0)
        assert ci is not None
        assert ci["low"] <= float(np.mean(values)) <= ci["high"]
    ci_small, ci_big = score_ci(small, 2000, 0), score_ci(big, 2000, 0)
    assert ci_small is not None and ci_big is not None
    assert ci_big["high"] - ci_big["low"] < 0.5 * (ci_small["high"] - ci_small["low"])
    assert score_ci(small, 0, 0) is None
    assert score_ci([], 2000, 0) is None
    assert score_ci(small, 500, 9) == score_ci(small, 500, 9)  # seeded


def test_ci_fast_for_ten_thousand_questions() -> None:
    values = list(np.random.default_rng(1).uniform(0, 1, size=10_000))
    start = time.perf_counter()
    ci = score_ci(values, 2000, 0)
    elapsed = time.perf_counter() - start
    assert ci is not None
    assert elapsed < 5.0  # typically ~0.15 s; generous margin for a busy machine


# ---- end to end

ASPECTS = ("Accuracy", "Clarity")
N = 24
UNSCORED = "q23"  # every call about this question gets an answer that is not JSON


def given(k: int, aspect: str) -> int:
    """The match_score (0..2) the server gives question k's aspect."""
    return (k * 7 + (3 if aspect == "Clarity" else 0)) % 3


def dataset(tmp_path: Path) -> tuple[Path, Path]:
    rows = [
        {
            "id": f"q{k}",
            "question": f"Question number {k}: how do I do task {k}?",
            "narrative": "",
            "category": "even" if k % 2 == 0 else "odd",
            "rubric_aspects": [{"aspect": a, "reason": f"{a} matters", "evidence": ""} for a in ASPECTS],
        }
        for k in range(N)
    ]
    ds = tmp_path / "dataset.json"
    ds.write_text(json.dumps(rows))
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps({f"q{k}": f"answer {k}" for k in range(N)}))
    return ds, responses


def script(server: ScriptedServer) -> None:
    server.add_rule(f"Question number {UNSCORED[1:]}:", Reply(content="I would rather not say."))
    for k in range(N):
        for a in ASPECTS:

            def match(req: dict[str, Any], k: int = k, a: str = a) -> bool:
                text = user_message(req)
                return f"Question number {k}:" in text and f"Aspect: {a}\n" in text

            server.add_rule(match, Reply.verdict(match_score=given(k, a)))


def run_score(server: ScriptedServer, tmp_path: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    ds, responses = dataset(tmp_path)
    out = tmp_path / "scores.json"
    proc = run_cli(
        "score",
        "--dataset",
        str(ds),
        "--responses",
        str(responses),
        "--judge",
        "openai/judge",
        "--api-base",
        server.base_url,
        "--max-reasks",
        "0",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text())


def test_score_cli_writes_cis(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script(scripted_server)
    proc, written = run_score(scripted_server, tmp_path, "--bootstrap", "700")
    scored = [k for k in range(N) if f"q{k}" != UNSCORED]
    q_score = {k: sum(given(k, a) for a in ASPECTS) / 4 for k in scored}
    overall = [q_score[k] for k in scored]  # the unscored question is left out, never a 0
    ci = written["score_ci"]
    assert written["score"] == pytest.approx(np.mean(overall))
    assert (ci["low"], ci["high"]) == pytest.approx(reference_ci(overall, 700, 0), abs=1e-12)
    assert ci["level"] == 0.95 and ci["n"] == N - 1 and "percentile bootstrap" in ci["method"]
    assert written["per_question_scores"][N - 1]["score"] is None

    for cat, parity in (("even", 0), ("odd", 1)):
        values = [q_score[k] for k in scored if k % 2 == parity]
        entry = written["by_category"][cat]
        assert entry["score"] == pytest.approx(np.mean(values))
        assert entry["questions_scored"] == len(values)
        assert entry["questions_total"] == N // 2
        got = (entry["score_ci"]["low"], entry["score_ci"]["high"])
        assert got == pytest.approx(reference_ci(values, 700, 0), abs=1e-12)
    for a in ASPECTS:
        values = [given(k, a) / 2 for k in scored]
        entry = written["by_aspect"][a]
        assert entry["score"] == pytest.approx(np.mean(values))
        got = (entry["score_ci"]["low"], entry["score_ci"]["high"])
        assert got == pytest.approx(reference_ci(values, 700, 0), abs=1e-12)

    low, high = reference_ci(overall, 700, 0)
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"score     {np.mean(overall):.4f} [{low:.2f}, {high:.2f}]"), proc.stdout
    assert "by category" in proc.stdout and "by aspect" in proc.stdout


def test_score_cli_bootstrap_zero_gives_null_ci(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    script(scripted_server)
    proc, written = run_score(scripted_server, tmp_path, "--bootstrap", "0")
    assert "score_ci" in written and written["score_ci"] is None
    assert all(g["score_ci"] is None for g in written["by_category"].values())
    assert "[" not in proc.stdout.splitlines()[0]
