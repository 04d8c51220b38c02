"""The test suite's time, with each ``python -m judgekit`` forked from the warm server and started cold.

Runs ``python -m pytest -q`` (the README's test command, with the ``addopts`` of pyproject.toml) over the
given test files, or the whole suite with ``--full``, first with ``JUDGEKIT_TEST_FORK=0`` (every CLI run a
fresh interpreter, the baseline) and then as ``make test`` runs it (forked from tests/cli_zygote.py), and
prints wall time, the machine's busy CPU seconds over the run (from /proc/stat, so servers, browsers and
every descendant count), and the ratios. Quiet machine wanted: other load shows in both figures.

    python benchmarks/bench_suite.py                 # four CLI-heavy files (about 3 minutes)
    python benchmarks/bench_suite.py --full          # everything (about 20 minutes)
    python benchmarks/bench_suite.py --only fork     # one side only
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUBSET = ("tests/test_score.py", "tests/test_router.py", "tests/test_gate.py", "tests/test_select.py")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run(files: list[str], fork: bool) -> tuple[float, float, str]:
    env = {**os.environ, "JUDGEKIT_TEST_FORK": "1" if fork else "0", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files]
    b0, t0 = busy_seconds(), time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall, cpu = time.monotonic() - t0, busy_seconds() - b0
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    if proc.returncode != 0:
        sys.exit(f"pytest failed ({'fork' if fork else 'cold'}): {summary}")
    return wall, cpu, re.sub(r"\s+in [\d.]+s.*$", "", summary)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the whole suite instead of four CLI-heavy files")
    parser.add_argument("--only", choices=("cold", "fork"), help="run one side only")
    parser.add_argument("files", nargs="*", help="test files (default: four CLI-heavy ones)")
    args = parser.parse_args()
    files = [] if args.full else (args.files or list(SUBSET))
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    print(f"suite: {'everything' if args.full else ' '.join(files)}")
    results = {}
    for side in ("cold", "fork"):
        if args.only and side != args.only:
            continue
        wall, cpu, summary = run(files, fork=side == "fork")
        results[side] = (wall, cpu)
        print(f"{side:>4}: {wall:7.1f} s wall  {cpu:7.1f} s busy CPU  ({summary})")
    if len(results) == 2:
        (cw, cc), (fw, fc) = results["cold"], results["fork"]
        print(f"fork / cold: wall {fw / cw:.2f}, busy CPU {fc / cc:.2f}")


if __name__ == "__main__":
    main()
