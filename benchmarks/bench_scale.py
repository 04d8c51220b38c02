"""Issue 13 points 5 and 6: `judgekit score` at scale, end to end, as a fresh CLI process per run.

Each run is `python -m judgekit score ...` with an instant Python judge (`benchmarks.bench_engine:instant_judge`,
no network, so what is measured is judgekit itself), timed from process start to exit (interpreter start-up
and imports included), with its CPU time and its peak resident memory read from the kernel (`os.wait4`'s
rusage of that child alone: `ru_maxrss`).

Baseline, same inputs, same way: a plain Python script (this file with `--baseline`) that json-loads the
dataset and the responses, builds a score file of the same shape (one detail per aspect, a question score,
the file score) and json-dumps it with indent 2. Every figure is printed as a ratio to it.

1. Memory and time at scale (point 6): 25,000 questions x 4 aspects = 100,000 judgments; the first run
   fills a fresh cache, the second is the cached rerun. Targets: peak RSS under 1 GB, each run under 60 s.
2. Cached rerun of 10,000 judgments (2,500 x 4) end to end (point 5): the median of `--repeats` reruns
   after one filling run. Target: under 2 s.

Usage: python benchmarks/bench_scale.py [--questions 25000] [--small 2500] [--repeats 5] [--only scale|rerun]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO, synthetic_lamp_qa

JUDGE = "benchmarks.bench_engine:instant_judge"


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall {self.cpu:7.2f} s CPU {self.rss_mb:8.0f} MB peak RSS"


def measure(cmd: list[str]) -> Run:
    """Run ``cmd`` from the repository, wait for it alone, and read its own rusage."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.read().decode()[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def baseline(dataset: Path, responses: Path, out: Path) -> None:
    """What any tool must do with these inputs: read them, write a score file of the same shape."""
    rows = json.loads(dataset.read_text(encoding="utf-8"))
    answers = json.loads(responses.read_text(encoding="utf-8"))
    questions = []
    for row in rows:
        text = answers[row["id"]][0]["output"]
        details = [
            {"aspect": a["aspect"], "score": float(len(text + a["aspect"]) % 3), "fields": {"match_score": 1}}
            for a in row["rubric_aspects"]
        ]
        score = sum(d["score"] for d in details) / (2 * len(details))
        questions.append({"id": row["id"], "score": score, "details": details})
    result = {"score": sum(q["score"] for q in questions) / len(questions), "per_question_scores": questions}
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def score_cmd(folder: Path, out: str) -> list[str]:
    options = {
        "--dataset": folder / "dataset.json",
        "--responses": folder / "responses.json",
        "--judge": JUDGE,
        "--cache": folder / "cache.sqlite",
        "--out": folder / out,
    }
    pairs = [str(x) for option in options.items() for x in option]
    return [sys.executable, "-m", "judgekit", "score", *pairs, "--no-progress", "-q"]


def baseline_cmd(folder: Path) -> list[str]:
    args = (
        "--baseline",
        str(folder / "dataset.json"),
        str(folder / "responses.json"),
        str(folder / "b.json"),
    )
    return [sys.executable, str(Path(__file__).resolve()), *args]


def check(folder: Path, out: str, judgments: int, cached: bool) -> None:
    result = json.loads((folder / out).read_text(encoding="utf-8"))
    totals = result["totals"]
    assert result["coverage"]["scored"] == judgments, result["coverage"]
    assert (totals["calls"], totals["cache_hits"]) == ((0, judgments) if cached else (judgments, 0)), totals


def ratio_line(name: str, run: Run, base: Run) -> str:
    return (
        f"  {name:<28}{run}   ratio to baseline: {run.wall / base.wall:.1f}x wall, "
        f"{run.cpu / base.cpu:.1f}x CPU, {run.rss_mb / base.rss_mb:.1f}x RSS"
    )


def scale(questions: int, aspects: int) -> None:
    judgments = questions * aspects
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synthetic_lamp_qa(folder, questions, aspects)
        size = sum((folder / f).stat().st_size for f in ("dataset.json", "responses.json")) / 1e6
        print(
            f"scale  {questions} questions x {aspects} aspects = {judgments} judgments ({size:.0f} MB of input)"
        )
        base = measure(baseline_cmd(folder))
        print(f"  {'baseline (json load + dump)':<28}{base}")
        first = measure(score_cmd(folder, "first.json"))
        check(folder, "first.json", judgments, cached=False)
        print(ratio_line("judgekit, first run", first, base))
        rerun = measure(score_cmd(folder, "rerun.json"))
        check(folder, "rerun.json", judgments, cached=True)
        print(ratio_line("judgekit, cached rerun", rerun, base))
        worst = max(first.rss_mb, rerun.rss_mb)
        print(
            f"  peak RSS {worst:.0f} MB (target < 1024 MB); first run {first.wall:.1f} s, rerun {rerun.wall:.1f} s "
            f"(target < 60 s); rerun/first = {rerun.wall / first.wall:.2f} wall, {rerun.cpu / first.cpu:.2f} CPU"
        )


def rerun(questions: int, aspects: int, repeats: int) -> None:
    judgments = questions * aspects
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synthetic_lamp_qa(folder, questions, aspects)
        first = measure(score_cmd(folder, "first.json"))
        check(folder, "first.json", judgments, cached=False)
        bases, runs = [], []
        for _ in range(repeats):  # alternating, so that a change in other load hits both alike
            bases.append(measure(baseline_cmd(folder)))
            runs.append(measure(score_cmd(folder, "rerun.json")))
            check(folder, "rerun.json", judgments, cached=True)
        print(f"cached rerun end to end  {judgments} judgments ({questions} x {aspects}); first run: {first}")
        for k, (b, r) in enumerate(zip(bases, runs, strict=True), 1):
            print(
                f"  run {k}: baseline {b.wall:.2f} s ({b.cpu:.2f} CPU), judgekit {r.wall:.2f} s ({r.cpu:.2f} CPU)"
            )
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        b_wall = statistics.median(b.wall for b in bases)
        b_cpu = statistics.median(b.cpu for b in bases)
        print(
            f"  median: judgekit {wall:.2f} s wall ({min(r.wall for r in runs):.2f}-{max(r.wall for r in runs):.2f}),"
            f" {cpu:.2f} s CPU, {max(r.rss_mb for r in runs):.0f} MB; baseline {b_wall:.2f} s, {b_cpu:.2f} s CPU"
        )
        print(
            f"  ratio to baseline {wall / b_wall:.1f}x wall, {cpu / b_cpu:.1f}x CPU  (target: judgekit < 2 s)"
        )


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"machine: {os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def loadavg() -> str:
    with open("/proc/loadavg", encoding="utf-8") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--baseline":
        baseline(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=25000)
    ap.add_argument("--aspects", type=int, default=4)
    ap.add_argument("--small", type=int, default=2500, help="questions of the end-to-end cached rerun")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", choices=("scale", "rerun"))
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "judgekit")], check=True)
    print(machine())
    print(f"load average before: {loadavg()}")
    if args.only in (None, "rerun"):
        rerun(args.small, args.aspects, args.repeats)
    if args.only in (None, "scale"):
        scale(args.questions, args.aspects)
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
