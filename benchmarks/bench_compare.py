"""Speed of ``judgekit compare``: 10 systems x 10,000 questions, 2,000 bootstrap resamples.

    python benchmarks/bench_compare.py [--systems 10] [--questions 10000] [--resamples 2000] [--pairwise-verdicts 1000]

Writes seeded score files shaped like ``judgekit score``'s (question scores on LaMP-QA's 0..1 scale in steps of
0.25, four judged aspects per question; each system misses ~1% of the questions and leaves ~1% unscored, so
the shared-question bookkeeping is exercised; ~10.7 MB per file), then times, in the same run:

* baseline: a plain numpy loop that reads the files with ``json`` and computes only the point differences of
  the 45 pairs over their shared questions (no CIs, no tests, no ranks);
* ``judgekit.compare.compare`` with ``bootstrap=0`` (reading the files, point scores and differences, paired
  t-tests, Holm), and with 2,000 resamples (adding the bootstrap CIs and rank intervals);
* ``python -m judgekit compare ... --out`` end to end (interpreter start-up and imports included);
* Bradley-Terry: a round robin of pairwise-rubric files (45 for 10 systems, 1,000 verdicts each), 2,000
  resamples each refitted.

Target: under 5 s for the library call. Prints wall and CPU seconds and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def write_files(folder: Path, systems: int, questions: int) -> list[str]:
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0, 1, questions)
    paths = []
    for s in range(systems):
        scores = np.clip(np.round((difficulty + 0.02 * s + rng.normal(0, 0.25, questions)) * 4) / 4, 0, 1)
        keep = rng.uniform(size=questions) > 0.01  # ~1% of the questions absent
        unscored = rng.uniform(size=questions) < 0.01  # ~1% unscored
        rows = [question(q, None if unscored[q] else float(scores[q])) for q in range(questions) if keep[q]]
        done = [r["score"] for r in rows if r["score"] is not None]
        path = folder / f"system{s:02d}.json"
        path.write_text(
            json.dumps(
                {
                    "score": float(np.mean(done)),
                    "per_question_scores": rows,
                    "coverage": {"scored": len(done), "total": len(rows), "ratio": len(done) / len(rows)},
                }
            )
        )
        paths.append(str(path))
    return paths


def question(q: int, score: float | None) -> dict[str, object]:
    """A question as ``judgekit score`` writes it: four judged aspects with the judge's fields."""
    status = "scored" if score is not None else "unscored"
    details = [
        {
            "aspect": f"Aspect {a} of question {q}: does the response address the user's stated need {a}?",
            "score": None if score is None else score * 2,
            "status": status,
            "reason": None if score is not None else "no valid verdict after 2 re-asks",
            "samples": [] if score is None else [score * 2],
            "fields": {}
            if score is None
            else {"score": score * 2, "reason": "The response covers it in part."},
            "method": "value",
        }
        for a in range(4)
    ]
    return {
        "id": f"q{q:05d}",
        "score": score,
        "details": details,
        "scored": 4 * (score is not None),
        "total": 4,
    }


def write_pairwise_files(folder: Path, systems: int, verdicts: int) -> list[str]:
    """A round robin of pairwise-rubric score files (one per pair of systems) with Bradley-Terry verdicts."""
    rng = np.random.default_rng(1)
    strength = rng.normal(0, 0.5, systems)
    paths = []
    for a, b in combinations(range(systems), 2):
        p_a = 1 / (1 + np.exp(strength[b] - strength[a]))
        u = rng.uniform(size=verdicts)
        won = np.where(u < 0.9 * p_a, 1.0, np.where(u < 0.9 * p_a + 0.1, 0.5, 0.0))  # ~10% ties
        rows = [{"id": f"p{i:05d}", "score": float(v), "details": []} for i, v in enumerate(won)]
        meta = {
            "rubric": {"name": "pairwise"},
            "inputs": {
                "responses_a": {"path": f"system{a:02d}.json"},
                "responses_b": {"path": f"system{b:02d}.json"},
            },
        }
        path = folder / f"pairwise_{a:02d}_{b:02d}.json"
        coverage = {"scored": verdicts, "total": verdicts, "ratio": 1.0}
        payload = {
            "score": float(won.mean()),
            "per_question_scores": rows,
            "coverage": coverage,
            "meta": meta,
        }
        path.write_text(json.dumps({**payload, "pairwise": {"pairs": verdicts}}))
        paths.append(str(path))
    return paths


def baseline(paths: list[str]) -> list[float]:
    """Point differences only: read the files, align the questions, mean difference per pair."""
    tables = []
    for p in paths:
        data = json.loads(Path(p).read_text())
        tables.append({q["id"]: q["score"] for q in data["per_question_scores"] if q["score"] is not None})
    ids = sorted(set().union(*tables))
    index = {q: i for i, q in enumerate(ids)}
    matrix = np.full((len(ids), len(paths)), np.nan)
    for k, t in enumerate(tables):
        matrix[[index[q] for q in t], k] = list(t.values())
    out = []
    for i, j in combinations(range(len(paths)), 2):
        both = np.isfinite(matrix[:, i]) & np.isfinite(matrix[:, j])
        out.append(float(np.mean(matrix[both, i] - matrix[both, j])))
    return out


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--systems", type=int, default=10)
    ap.add_argument("--questions", type=int, default=10_000)
    ap.add_argument("--resamples", type=int, default=2_000)
    ap.add_argument("--pairwise-verdicts", type=int, default=1_000, help="verdicts per pairwise file")
    args = ap.parse_args()

    from judgekit.compare import compare

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), args.systems, args.questions)
        pairs = args.systems * (args.systems - 1) // 2
        print(
            f"compare: {args.systems} systems x {args.questions} questions ({pairs} pairs), "
            f"{args.resamples} bootstrap resamples"
        )
        b_wall, b_cpu, diffs = timed(lambda: baseline(paths))
        n_wall, n_cpu, _ = timed(lambda: compare(paths, bootstrap=0))
        c_wall, c_cpu, result = timed(lambda: compare(paths, bootstrap=args.resamples))
        got = [p.difference for p in result.pairs]  # type: ignore[attr-defined]
        assert np.allclose(got, diffs, rtol=0, atol=1e-12), "compare's differences differ from the baseline's"
        pw_paths = write_pairwise_files(Path(tmp), args.systems, args.pairwise_verdicts)
        bt_wall, bt_cpu, _ = timed(lambda: compare(pw_paths, bootstrap=args.resamples))
        out = Path(tmp) / "compare.json"
        cmd = [sys.executable, "-m", "judgekit", "compare", *paths, "--out", str(out)]
        cli_start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        cli_wall = time.perf_counter() - cli_start
    print(f"  baseline: numpy loop, point differences only   {b_wall:6.2f} s wall  {b_cpu:6.2f} s CPU")
    print(f"  judgekit compare, --bootstrap 0 (read + tests)  {n_wall:6.2f} s wall  {n_cpu:6.2f} s CPU")
    print(f"  judgekit.compare.compare (CIs, ranks, tests)   {c_wall:6.2f} s wall  {c_cpu:6.2f} s CPU")
    print(f"  python -m judgekit compare --out (end to end)  {cli_wall:6.2f} s wall")
    print(
        f"  Bradley-Terry: {len(pw_paths)} pairwise files x {args.pairwise_verdicts} verdicts "
        f"{bt_wall:6.2f} s wall  {bt_cpu:6.2f} s CPU"
    )
    print(
        f"  ratio compare / baseline = {c_wall / b_wall:.2f} wall, {c_cpu / b_cpu:.2f} CPU  (target: compare under 5 s)"
    )
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
