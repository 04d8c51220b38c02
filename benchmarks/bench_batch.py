"""Issue 13 point 2: what ``score --batch`` costs on the client, as a ratio to the live run, in the same run.

Both are ``python -m judgekit score ...`` in a fresh subprocess with a fresh cache, against the scripted
server in its own process at zero latency: the batch run builds the JSONL, uploads it, creates the batch,
polls it (the server ends it at the first poll), downloads the output, stores every answer in the cache and
lets the engine score from it; the live run makes every call at 64 in flight. Wall and CPU time (the child's
user + system) are medians over the repeats, runs alternating. The provider's hours of batch latency are not
modelled: this measures judgekit's own work per request on each path.

Usage: python benchmarks/bench_batch.py [--calls 10000] [--repeats 3]
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
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO, ServerProcess, synthetic_lamp_qa

ASPECTS = 5


def _script(base_url: str, script: dict[str, object]) -> None:
    url = base_url.rsplit("/v1", 1)[0] + "/_script"
    request = urllib.request.Request(url, data=json.dumps(script).encode(), method="POST")
    urllib.request.urlopen(request).read()


def _run(ds: Path, rs: Path, base_url: str, tmp: Path, name: str, extra: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one CLI run with a fresh cache; fails loudly if the run did not score everything."""
    out, cache = tmp / f"{name}.json", tmp / f"{name}.sqlite"
    cmd = [sys.executable, "-m", "judgekit", "score", "--dataset", str(ds), "--responses", str(rs)]
    cmd += ["--judge", "openai/judge", "--api-base", base_url, "--out", str(out), "--cache", str(cache)]
    cmd += ["--no-progress", "-q", "--bootstrap", "0", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before, start = os.times(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall, after = time.perf_counter() - start, os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{name} run failed ({proc.returncode}): {proc.stderr[-500:]}")
    coverage = json.loads(out.read_text())["coverage"]
    assert coverage["scored"] == coverage["total"], coverage
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {_cpu_model()}; load before {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    server = ServerProcess("--latency", "0")
    try:
        _script(server.base_url, {"batch": {"polls": 0}})
        runs: dict[str, list[tuple[float, float]]] = {"batch": [], "live": []}
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            ds, rs = synthetic_lamp_qa(tmp, args.calls // ASPECTS, ASPECTS)
            for i in range(args.repeats):
                runs["batch"].append(
                    _run(ds, rs, server.base_url, tmp, f"batch{i}", ["--batch", "--batch-poll", "0.05"])
                )
                runs["live"].append(_run(ds, rs, server.base_url, tmp, f"live{i}", ["--concurrency", "64"]))
    finally:
        server.stop()
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()
    }
    for name, (wall, cpu) in med.items():
        print(
            f"{name:5}  {args.calls} requests: {wall:6.1f} s wall, {cpu:6.1f} s CPU  ({args.calls / wall:,.0f}/s)"
        )
    print(
        f"batch / live: wall {med['batch'][0] / med['live'][0]:.2f}, CPU {med['batch'][1] / med['live'][1]:.2f} "
        f"(median of {args.repeats})"
    )
    print(f"load after {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
