"""Issue 13 point 3: what a router judge (``--router``, litellm's Router in the run's process) costs, end to end.

Three runs per repeat, alternating, against scripted servers in their own processes (200 ms latency):
a bare aiohttp client posting the same request bodies (the baseline), ``judgekit score --judge openai/judge
--api-base URL --client litellm`` (plain litellm: its calls in the worker pool, one process per core) and
``judgekit score --router FILE`` with two deployments of the same model (the Router in one process, so its
rpm/tpm counts see every call). Each judgekit run is a fresh subprocess with a fresh cache; wall time and
its CPU time (user + system of the process and its workers) are printed, and the ratios of the medians.

Without ``--rpm`` the deployments have no limits, so the Router runs in each worker of the pool, as plain
litellm does; with ``--rpm N`` (N far above the run's rate) it runs in the one process that holds the limits.

Usage: python benchmarks/bench_router.py [--calls 2000] [--concurrency 64] [--repeats 2] [--rpm N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO, ServerProcess, synthetic_lamp_qa
from benchmarks.bench_cli_throughput import payloads
from benchmarks.bench_engine import bare_aiohttp


def judgekit_run(ds: Path, rs: Path, judge: list[str], cache: Path, concurrency: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``judgekit score`` process with the judge arguments ``judge``."""
    out = cache.with_suffix(".json")
    cmd = [sys.executable, "-m", "judgekit", "score", "--dataset", str(ds), "--responses", str(rs), *judge]
    cmd += [
        "--concurrency",
        str(concurrency),
        "--cache",
        str(cache),
        "--out",
        str(out),
        "--no-progress",
        "-q",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "KEY": "x"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cache.parent)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    totals = json.loads(out.read_text())["totals"]
    assert totals["cache_hits"] == 0 and totals["retries"] == 0, totals
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def router_file(path: Path, urls: list[str], rpm: int | None) -> Path:
    limit = f", rpm: {rpm}" if rpm else ""
    lines = ["model_list:"]
    for url in urls:
        lines += [
            "  - model_name: judge",
            f"    litellm_params: {{model: openai/judge, api_base: '{url}', api_key: os.environ/KEY{limit}}}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--rpm",
        type=int,
        default=None,
        help="give each deployment this rpm: the Router then runs in one process",
    )
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"machine: nproc {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    where = f"rpm {args.rpm} per deployment: one process" if args.rpm else "no limits: the worker pool"
    print(f"{args.calls} calls, latency {args.latency:g} s, {args.concurrency} in flight; router {where}")
    times: dict[str, list[float]] = {"bare": [], "litellm": [], "router": []}
    cpus: dict[str, list[float]] = {"litellm": [], "router": []}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ds, rs = synthetic_lamp_qa(tmp, args.calls // 4, 4)
        bodies = payloads(ds, rs)
        servers = [ServerProcess("--latency", str(args.latency)) for _ in range(2)]
        router = router_file(tmp / "router.yaml", [s.base_url for s in servers], args.rpm)
        judges = {
            "litellm": ["--judge", "openai/judge", "--api-base", servers[0].base_url, "--client", "litellm"],
            "router": ["--router", str(router), "--judge", "judge"],
        }
        try:
            for run in range(args.repeats):
                times["bare"].append(asyncio.run(bare_aiohttp(servers[0].base_url, bodies, args.concurrency)))
                for kind, judge in judges.items():
                    for s in servers:
                        s.reset()
                    wall, cpu = judgekit_run(ds, rs, judge, tmp / f"{kind}{run}.sqlite", args.concurrency)
                    assert sum(s.calls() for s in servers) == len(bodies)
                    times[kind].append(wall)
                    cpus[kind].append(cpu)
                print(
                    f"  run {run + 1}: bare {times['bare'][-1]:.2f} s, litellm {times['litellm'][-1]:.2f} s "
                    f"(cpu {cpus['litellm'][-1]:.1f} s), router {times['router'][-1]:.2f} s "
                    f"(cpu {cpus['router'][-1]:.1f} s)",
                    flush=True,
                )
        finally:
            for s in servers:
                s.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    for kind in ("bare", "litellm", "router"):
        cpu = f"  cpu {statistics.median(cpus[kind]):5.1f} s" if kind in cpus else ""
        print(f"  {kind:<8} {med[kind]:6.2f} s  {args.calls / med[kind]:7.1f} calls/s{cpu}")
    print(f"  ratio router/bare = {med['bare'] / med['router']:.2f}")
    print(f"  ratio router/litellm (worker pool) = {med['litellm'] / med['router']:.2f}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
