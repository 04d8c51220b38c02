"""HTML report size and build time for a large score file, against plain JSON serialisation of the same data.

A synthetic, seeded score file of 10,000 questions x 4 aspects (about 3% of units unscored, 8 categories,
the judge's raw answer for each unit in a run log beside it with --log) goes through ``write_report``, in
this process (matplotlib imported beforehand, as a long-lived caller would have it) and as a fresh
``judgekit report`` process (imports included), three times each; wall and CPU seconds (CPU time is the
figure the load of other processes on a shared machine disturbs least). Baseline, measured in the same
run: ``json.dumps`` of the same score file. Targets: report under 15 MB, built in under 5 s.

    python benchmarks/bench_report.py            # the recorded figures
    python benchmarks/bench_report.py --log      # with a run log (judges' raw answers in the item browser)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judgekit.report import write_report

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = [
    "Arts & Entertainment",
    "Lifestyle & Personal Development",
    "Society & Culture",
    "Health",
    "Travel",
    "Money",
    "Science",
    "Work",
]


def synthetic(questions: int, aspects: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A score file and its run log's call rows."""
    rng = random.Random(seed)
    rows, unscored, log = [], [], []
    for q in range(questions):
        qid = f"q{q:06d}"
        details = []
        for a in range(aspects):
            name = f"Aspect {a} of question {q}: covers topic {rng.randrange(500)}"
            if rng.random() < 0.03:
                reason = "parse_error: no JSON object in the answer after 2 re-asks"
                details.append({"aspect": name, "score": None, "status": "unscored", "reason": reason})
                unscored.append({"id": qid, "aspect": name, "reason": reason})
                answer = "I think the response is fine overall."
            else:
                score = float(rng.choice([0, 1, 2]))
                details.append({"aspect": name, "score": score, "samples": [score]})
                answer = json.dumps(
                    {"match_score": int(score), "rationale": f"mentions topic {rng.randrange(99)}"}
                )
            log.append(
                {
                    "type": "call",
                    "id": qid,
                    "targets": [name],
                    "turn": 0,
                    "status": "ok",
                    "completion": answer,
                }
            )
        scored = [d["score"] for d in details if d["score"] is not None]
        rows.append(
            {
                "id": qid,
                "score": sum(scored) / (2 * len(scored)) if scored else None,
                "details": details,
                "scored": len(scored),
                "total": aspects,
                "coverage": len(scored) / aspects,
                "category": CATEGORIES[q % len(CATEGORIES)],
            }
        )
    total = questions * aspects
    values = [r["score"] for r in rows if r["score"] is not None]
    score_file = {
        "score": sum(values) / len(values),
        "per_question_scores": rows,
        "coverage": {
            "scored": total - len(unscored),
            "total": total,
            "ratio": (total - len(unscored)) / total,
            "questions_scored": len(values),
            "questions_total": questions,
        },
        "unscored": unscored,
        "meta": {
            "judge": {"identity": "litellm:openai/judge"},
            "rubric": {"name": "lamp_qa", "version": "1"},
        },
    }
    return score_file, log


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=10_000)
    ap.add_argument("--aspects", type=int, default=4)
    ap.add_argument("--log", action="store_true", help="write the run log beside the score file")
    args = ap.parse_args()

    score_file, log = synthetic(args.questions, args.aspects)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        scores = d / "scores.json"
        if args.log:
            score_file["meta"]["log"] = str(d / "scores.log.jsonl")
            (d / "scores.log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        t = time.perf_counter()
        text = json.dumps(score_file, indent=2)
        baseline_s = time.perf_counter() - t
        scores.write_text(text)

        import matplotlib.figure  # noqa: F401  (a caller in a long-lived process has it imported)

        times, cpus = [], []
        for k in range(3):
            t, c = time.perf_counter(), time.process_time()
            write_report([scores], d / f"report{k}.html")
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        size = (d / "report0.html").stat().st_size
        same = all((d / f"report{k}.html").read_bytes() == (d / "report0.html").read_bytes() for k in (1, 2))

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cli_times, cli_cpus = [], []
        for k in range(3):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "judgekit", "report", str(scores), "--out", str(d / f"cli{k}.html")],
                check=True,
                env=env,
                cwd=REPO,  # `-m` puts the working folder first on sys.path: run this checkout's judgekit
                capture_output=True,
            )
            cli_times.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        same = same and (d / "cli0.html").read_bytes() == (d / "report0.html").read_bytes()

    build, cli_s = statistics.median(times), statistics.median(cli_times)
    print(
        f"input     {args.questions:,} questions x {args.aspects} aspects; score file {len(text) / 1e6:.1f} MB"
        + (f"; run log {sum(len(json.dumps(r)) + 1 for r in log) / 1e6:.1f} MB" if args.log else "")
    )
    print(f"baseline  json.dumps(score file, indent=2)        {baseline_s:6.2f} s")
    print(
        f"report    write_report, median of 3 (in process)  {build:6.2f} s  "
        f"(runs {', '.join(f'{x:.2f}' for x in times)}; ratio to baseline {build / baseline_s:.1f}x; "
        f"CPU {statistics.median(cpus):.2f} s)"
    )
    print(
        f"report    judgekit report, median of 3 (fresh)    {cli_s:6.2f} s  "
        f"(runs {', '.join(f'{x:.2f}' for x in cli_times)}; ratio to baseline {cli_s / baseline_s:.1f}x; "
        f"CPU {statistics.median(cli_cpus):.2f} s; target < 5 s)"
    )
    print(f"size      {size / 1e6:.2f} MB (target < 15 MB; {size / len(text):.2f}x the score file)")
    print(f"same      byte-identical over 3 builds and the 3 fresh processes: {same}")
    print(
        f"machine   {os.cpu_count()} CPUs, {_cpu_model()}, "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
