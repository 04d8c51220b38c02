"""Issue 18 point 1: what setting a judge's reasoning apart costs, end to end, as a fresh CLI process per run.

Two instant Python judges (no network, so what is measured is judgekit itself) answer the same judgments:
the baseline answers bare JSON, as every judge did before reasoning judges (and as most still do); the
thinking judge answers as DeepSeek-R1 does, a ``<think>`` block of about 120 words holding a verdict it then
drops, followed by its JSON verdict. Each judge fills its own cache (first run), then reruns from it (the
median of ``--repeats`` cached reruns). Figures: wall and CPU time of each, and the thinking judge's ratio to
the baseline measured in the same run.

Usage: python benchmarks/bench_reasoning.py [--questions 2500] [--aspects 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import synthetic_lamp_qa
from benchmarks.bench_scale import JUDGE, Run, check, measure, score_cmd

THINKING_JUDGE = "benchmarks.bench_reasoning:thinking_judge"
_THOUGHT = (
    "The aspect asks whether the response covers the point the user cares about. Reading it again, the "
    'first paragraph mentions it only in passing, so maybe {"match_score": 0}? No: the second paragraph '
    "returns to it with a concrete suggestion and a reason that fits the narrative, and the closing lines "
    "tie it back to what the user said they wanted. It is not exhaustive, but nothing essential is missing, "
    "and the rubric asks for coverage rather than depth. Weighing both, the fair verdict is the one below."
)


def thinking_judge(messages: list[dict[str, str]], params: object) -> str:
    """An instant judge that thinks first, R1-style: the same verdict as the baseline's, after its reasoning."""
    verdict = json.dumps({"match_score": len(messages[-1]["content"]) % 3})
    return f"<think>\n{_THOUGHT}\n</think>\n\n{verdict}"


def runs(folder: Path, judge: str, name: str, judgments: int, repeats: int) -> tuple[Run, Run]:
    """The first run of ``judge`` (filling its own cache) and the median cached rerun."""
    cmd = score_cmd(folder, f"{name}.json")
    cmd[cmd.index(JUDGE)] = judge
    cmd[cmd.index(str(folder / "cache.sqlite"))] = str(folder / f"{name}.sqlite")
    first = measure(cmd)
    check(folder, f"{name}.json", judgments, cached=False)
    reruns = []
    for _ in range(repeats):
        reruns.append(measure(cmd))
        check(folder, f"{name}.json", judgments, cached=True)
    middle = sorted(reruns, key=lambda r: r.wall)[len(reruns) // 2]
    return first, Run(statistics.median(r.wall for r in reruns), middle.cpu, middle.rss_mb)


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2500)
    parser.add_argument("--aspects", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    judgments = args.questions * args.aspects
    print(f"machine  {platform.machine()}, {os.cpu_count()} cores, load {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synthetic_lamp_qa(folder, args.questions, args.aspects)
        plain = runs(folder, JUDGE, "plain", judgments, args.repeats)
        thinking = runs(folder, THINKING_JUDGE, "thinking", judgments, args.repeats)
    print(f"{judgments} judgments ({args.questions} questions x {args.aspects} aspects)")
    for label, base, run in (("first run", plain[0], thinking[0]), ("cached rerun", plain[1], thinking[1])):
        print(f"  {label:<13} bare JSON  {base}")
        print(
            f"  {'':<13} thinking   {run}   ratio to bare JSON: {run.wall / base.wall:.2f}x wall, "
            f"{run.cpu / base.cpu:.2f}x CPU"
        )
    print(f"load after {_load()}")


if __name__ == "__main__":
    main()
