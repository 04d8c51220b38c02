"""Issue 13 point 4: end-to-end CLI throughput as a ratio to a bare aiohttp client, in the same run.

Each judgekit run is ``python -m judgekit score ...`` in a fresh subprocess with a fresh cache file (start-up,
imports, loading, rendering, calls, parsing, cache writes, run log and score file all count), against the
scripted server in its own process. The bare client posts the same request bodies with the same number in
flight from this process (only the posting is timed). Runs alternate; medians.

(a) 2,000 calls at 200 ms latency, 64 in flight: target >= 0.85 of bare.
(b) 10,000 calls at zero latency (a fast local server such as vLLM): target >= 0.5 of bare.

Usage: python benchmarks/bench_cli_throughput.py [--repeats 3] [--only a|b] [--client auto|litellm]
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
from benchmarks.bench_engine import bare_aiohttp

CASES = {"a": (2000, 0.2, 0.85), "b": (10000, 0.0, 0.5)}  # calls, latency, target ratio


def payloads(ds: Path, rs: Path) -> list[dict[str, object]]:
    """The request bodies judgekit sends for these files (the same rendered messages and response_format)."""
    from judgekit import load_rubric
    from judgekit.data import load_dataset, load_responses
    from judgekit.judges.litellm_judge import response_format

    rubric = load_rubric("lamp_qa")
    items = load_dataset(ds, required=rubric.spec.inputs.required, aspects_field="rubric_aspects")
    responses = load_responses(rs)
    fmt = response_format("json_schema", rubric.unit_schema)
    return [
        {"model": "judge", "messages": list(p.messages), "temperature": 0.0, "response_format": fmt}
        for it in items
        for p in rubric.plan(it, responses[it.id])
    ]


def cli_run(
    ds: Path, rs: Path, base_url: str, tmp: Path, run: int, concurrency: int, client: str
) -> tuple[float, float]:
    """Wall and CPU seconds of one ``judgekit score`` process."""
    out = tmp / f"out{run}.json"
    cmd = [
        sys.executable,
        "-m",
        "judgekit",
        "score",
        "--dataset",
        str(ds),
        "--responses",
        str(rs),
        "--judge",
        "openai/judge",
        "--api-base",
        base_url,
        "--client",
        client,
        "--concurrency",
        str(concurrency),
        "--cache",
        str(tmp / f"cache{run}.sqlite"),
        "--out",
        str(out),
        "--no-progress",
        "-q",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    before = _cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    totals = json.loads(out.read_text())["totals"]
    assert totals["cache_hits"] == 0, totals
    if totals["retries"]:  # a retried call waits out its backoff: say so beside the run's time
        print(f"  (judgekit run {run + 1}: {totals['retries']} retries)", flush=True)
    return elapsed, _cpu(resource.RUSAGE_CHILDREN) - before


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _bare(base_url: str, bodies: list[dict[str, object]], concurrency: int) -> tuple[float, float]:
    before = _cpu(resource.RUSAGE_SELF)
    elapsed = asyncio.run(bare_aiohttp(base_url, bodies, concurrency))
    return elapsed, _cpu(resource.RUSAGE_SELF) - before


def case(calls: int, latency: float, concurrency: int, repeats: int, client: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ds, rs = synthetic_lamp_qa(tmp, calls // 4, 4)
        bodies = payloads(ds, rs)
        server = ServerProcess("--latency", str(latency))
        try:
            bare, ours = [], []
            for run in range(repeats):
                server.reset()
                bare.append(_bare(server.base_url, bodies, concurrency))
                server.reset()
                ours.append(cli_run(ds, rs, server.base_url, tmp, run, concurrency, client))
                assert server.calls() == len(bodies)
                (bw, bc), (ow, oc) = bare[-1], ours[-1]
                print(
                    f"  run {run + 1}: bare {bw:.2f} s (CPU {bc:.2f} s), judgekit CLI {ow:.2f} s (CPU {oc:.2f} s)"
                    f": {bw / ow:.2f}",
                    flush=True,
                )
        finally:
            server.stop()
    ratios = sorted(b[0] / o[0] for b, o in zip(bare, ours, strict=True))
    print(f"  per-run ratios {ratios[0]:.2f}-{ratios[-1]:.2f}; median CPU: bare {_median(bare, 1):.2f} s, "
          f"judgekit CLI {_median(ours, 1):.2f} s (the whole process: start-up, imports, files)")  # fmt: skip
    return _median(bare, 0), _median(ours, 0)


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def _median(runs: list[tuple[float, float]], i: int) -> float:
    return statistics.median(r[i] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--only", choices=sorted(CASES), default=None)
    ap.add_argument("--client", choices=["auto", "aiohttp", "litellm"], default="auto")
    args = ap.parse_args()
    # An installed judgekit has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE would
    # recompile every module on each start (0.2-0.3 s of CPU), which no user pays.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "judgekit")], env=env, check=True)
    load = os.getloadavg()
    cpu = next((ln.split(":", 1)[1].strip() for ln in _cpuinfo() if ln.startswith("model name")), "?")
    print(
        f"machine: nproc {os.cpu_count()} ({cpu}), Python {sys.version.split()[0]}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for name, (calls, latency, target) in CASES.items():
        if args.only and name != args.only:
            continue
        load = os.getloadavg()
        print(
            f"({name}) {calls} calls, latency {latency:g} s, {args.concurrency} in flight, --client {args.client}"
            f"; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        bare, ours = case(calls, latency, args.concurrency, args.repeats, args.client)
        load = os.getloadavg()
        print(f"  load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"  bare aiohttp   {bare:6.2f} s  {calls / bare:7.1f} calls/s")
        print(f"  judgekit CLI   {ours:6.2f} s  {calls / ours:7.1f} calls/s")
        ratio = bare / ours
        print(
            f"  ratio judgekit/bare = {ratio:.2f}  (target >= {target:.2f}) {'met' if ratio >= target else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
