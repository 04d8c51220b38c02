"""Issue 2 speed figures, each printed as a ratio against a baseline measured in the same run.

1. Throughput: 2,000 judge calls at concurrency 64 against the scripted server (200 ms simulated latency,
   its own process). judgekit end to end (load, render, call through litellm, parse, persist to the cache,
   write the score file) vs a bare aiohttp client posting the same requests. Target: >= 60 %.
2. Cached rerun of 10,000 judgments, in process (median of 5, with CPU time): target < 1 s (issue 13; the
   first run uses an instant Python judge). The same end to end as a CLI process: bench_scale.py.
3. `judgekit --help` start-up: target < 0.5 s; baseline `python -c pass`.

Usage: python benchmarks/bench_engine.py [--calls 2000] [--cached 10000] [--only throughput|cached|startup]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks._common import REPO, ServerProcess, synthetic_lamp_qa


def instant_judge(messages: list[dict[str, str]], params: object) -> str:
    """A Python judge that answers at once (used to fill the cache for the rerun figure)."""
    return json.dumps({"match_score": len(messages[-1]["content"]) % 3})


async def bare_aiohttp(base_url: str, payloads: list[dict[str, object]], concurrency: int) -> float:
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(p: dict[str, object]) -> None:
            async with (
                sem,
                session.post(
                    f"{base_url}/chat/completions", json=p, headers={"Authorization": "Bearer x"}
                ) as r,
            ):
                body = await r.json()
                json.loads(body["choices"][0]["message"]["content"])

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in payloads))
        return time.perf_counter() - t0


def throughput(calls: int, concurrency: int, latency: float, repeats: int = 3) -> tuple[float, float]:
    """Median wall times of the bare client and of judgekit, alternating runs against one server."""
    from judgekit import ScoreSettings, load_rubric, score
    from judgekit.data import load_dataset, load_responses
    from judgekit.judges import JudgeOptions
    from judgekit.judges.litellm_judge import LiteLLMJudge
    from judgekit.run.engine import EngineSettings

    aspects = 4
    with tempfile.TemporaryDirectory() as tmp:
        ds, rs = synthetic_lamp_qa(Path(tmp), calls // aspects, aspects)
        server = ServerProcess("--latency", str(latency))
        try:
            rubric = load_rubric("lamp_qa")
            items = load_dataset(ds, required=rubric.spec.inputs.required, aspects_field="rubric_aspects")
            responses = load_responses(rs)
            fmt = LiteLLMJudge("openai/judge", api_base=server.base_url).response_format(rubric.unit_schema)
            payloads = [
                {"model": "judge", "messages": list(p.messages), "temperature": 0.0, "response_format": fmt}
                for it in items
                for p in rubric.plan(it, responses[it.id])
            ]
            import judgekit.judges.litellm_judge as lj

            lj.import_litellm()  # import cost is paid once per process, not per call: keep it out of both timings
            bare_times, ours_times = [], []
            for run in range(repeats):
                server.reset()
                bare_times.append(asyncio.run(bare_aiohttp(server.base_url, payloads, concurrency)))
                server.reset()
                settings = ScoreSettings(
                    judge=JudgeOptions(api_base=server.base_url, api_key="x"),
                    engine=EngineSettings(concurrency=concurrency),
                )
                t0 = time.perf_counter()
                result = score(
                    ds,
                    rs,
                    judge="openai/judge",
                    settings=settings,
                    cache=Path(tmp) / f"c{run}.sqlite",
                    out=Path(tmp) / "out.json",
                )
                ours_times.append(time.perf_counter() - t0)
                assert result.coverage.ratio == 1.0 and result.totals.calls == len(payloads), result.totals
                assert server.calls() == len(payloads)
                print(
                    f"  run {run + 1}: bare {bare_times[-1]:.2f} s, judgekit {ours_times[-1]:.2f} s",
                    flush=True,
                )
        finally:
            server.stop()
    return statistics.median(bare_times), statistics.median(ours_times)


def cached_rerun(judgments: int, repeats: int) -> tuple[float, float, list[tuple[float, float]]]:
    """The first run's wall and CPU time, then (wall, CPU) of each of ``repeats`` cached reruns."""
    from judgekit import score

    def timed(out: str) -> tuple[float, float, Any]:
        t0, c0 = time.perf_counter(), time.process_time()
        result = score(
            ds, rs, judge="benchmarks.bench_engine:instant_judge", cache=cache, out=Path(tmp) / out
        )
        return time.perf_counter() - t0, time.process_time() - c0, result

    with tempfile.TemporaryDirectory() as tmp:
        ds, rs = synthetic_lamp_qa(Path(tmp), judgments // 4, 4)
        cache = Path(tmp) / "c.sqlite"
        t_first, c_first, first = timed("a.json")
        assert first.totals.calls == judgments
        reruns = []
        for _ in range(repeats):
            wall, cpu, second = timed("b.json")
            assert second.totals.calls == 0 and second.totals.cache_hits == judgments
            reruns.append((wall, cpu))
    return t_first, c_first, reruns


def startup(runs: int = 7) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def median(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return median([sys.executable, "-c", "pass"]), median([sys.executable, "-m", "judgekit", "--help"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--cached", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-cached", type=int, default=5)
    ap.add_argument("--only", choices=("throughput", "cached", "startup"))
    args = ap.parse_args()

    if args.only in (None, "throughput"):
        report_throughput(args)
    if args.only in (None, "cached"):
        report_cached(args)
    if args.only in (None, "startup"):
        report_startup()


def report_throughput(args: argparse.Namespace) -> None:
    base, ours = throughput(args.calls, args.concurrency, args.latency, args.repeats)
    ideal = args.calls / args.concurrency * args.latency
    print(
        f"throughput  {args.calls} calls, concurrency {args.concurrency}, latency {args.latency:g} s "
        f"(ideal {ideal:.2f} s)"
    )
    print(f"  bare aiohttp  {base:6.2f} s  {args.calls / base:7.1f} calls/s")
    print(f"  judgekit      {ours:6.2f} s  {args.calls / ours:7.1f} calls/s")
    print(f"  ratio judgekit/bare throughput = {base / ours:.2f}  (target >= 0.60)")


def report_cached(args: argparse.Namespace) -> None:
    t_first, c_first, reruns = cached_rerun(args.cached, args.repeats_cached)
    walls, cpus = [w for w, _c in reruns], [c for _w, c in reruns]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"cached rerun  {args.cached} judgments, median of {len(reruns)} reruns in process")
    print(f"  first run (instant judge)  {t_first:6.2f} s  (CPU {c_first:.2f} s)")
    print(
        f"  reruns                     {', '.join(f'{w:.2f}' for w in walls)} s  (CPU {', '.join(f'{c:.2f}' for c in cpus)} s)"
    )
    print(
        f"  cached rerun               {wall:6.2f} s  (CPU {cpu:.2f} s; target < 1 s; "
        f"ratio rerun/first = {wall / t_first:.2f} wall, {cpu / c_first:.2f} CPU)"
    )


def report_startup() -> None:
    t_py, t_help = startup()
    print("startup (median of 7)")
    print(f"  python -c pass        {t_py:.3f} s")
    print(
        f"  judgekit --help       {t_help:.3f} s  (target < 0.5 s; ratio to bare python = {t_help / t_py:.1f})"
    )


if __name__ == "__main__":
    main()
