"""Bootstrap speed: 2,000 resamples over 10,000 items for Pearson, Spearman and Kendall tau-b.

    python benchmarks/bench_bootstrap.py [--items 10000] [--resamples 2000] [--loop-resamples 20]

Times ``judgekit.stats.correlation_summary`` (pooled correlations; then with 100 groups and 10 systems,
which adds the per-group average and the system level) on continuous data (no ties: the worst case for
Kendall), and a baseline in the same run: a plain Python loop over explicit resamples with scipy, timed on a
few resamples and extrapolated. Prints wall and CPU seconds; the target is under 2 s for the vectorised run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from judgekit import stats as ag


def timed(fn: object) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--resamples", type=int, default=2_000)
    ap.add_argument("--loop-resamples", type=int, default=20, help="resamples for the loop baseline")
    args = ap.parse_args()
    n, B = args.items, args.resamples
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    likert_x = np.clip(np.round(x), -2, 2)
    likert_y = np.clip(np.round(y), -2, 2)
    groups = np.repeat(np.arange(100), n // 100 + 1)[:n]
    systems = np.tile(np.arange(10), n // 10 + 1)[:n]

    print(f"bootstrap: {B} resamples x {n} items, Pearson + Spearman + Kendall tau-b (95% percentile CIs)")
    runs = [
        ("continuous, pooled", lambda: ag.correlation_summary(x, y, n_boot=B, seed=0)),
        (
            "continuous, pooled + 100 groups + 10 systems",
            lambda: ag.correlation_summary(x, y, groups=groups, systems=systems, n_boot=B, seed=0),
        ),
        (
            "1-5 style labels (ties), pooled",
            lambda: ag.correlation_summary(likert_x, likert_y, n_boot=B, seed=0),
        ),
    ]
    vectorised = None
    for label, fn in runs:
        wall, cpu = timed(fn)
        vectorised = vectorised or wall
        print(f"  {label:<48} {wall:6.2f} s wall  {cpu:6.2f} s CPU")

    def loop() -> None:
        loop_rng = np.random.default_rng(0)
        for _ in range(args.loop_resamples):
            idx = loop_rng.integers(0, n, size=n)
            xs, ys = x[idx], y[idx]
            stats.pearsonr(xs, ys)
            stats.spearmanr(xs, ys)
            stats.kendalltau(xs, ys)

    wall, cpu = timed(loop)
    per = wall / args.loop_resamples
    print(
        f"  {'python loop over resamples (scipy)':<48} {per * B:6.2f} s wall, extrapolated from "
        f"{args.loop_resamples} resamples ({per * 1000:.1f} ms each)"
    )
    assert vectorised is not None
    print(
        f"  speed-up of the vectorised bootstrap: {per * B / vectorised:.0f}x; target < 2 s: "
        f"{'met' if vectorised < 2 else 'NOT met'} ({vectorised:.2f} s)"
    )


if __name__ == "__main__":
    main()
