"""Which items to label: interval width and coverage of each ``--select`` strategy at the same label budget.

    python benchmarks/bench_active.py [--budgets 1000] [--items 2000] [--labels 200] [--seed 1] [--fast]

Simulates label budgets where the judge's error varies across items (tests/active_sim.py: 30% hard items
with a large error of a different sign, 70% easy ones; the judge's uncertainty is a noisy signal of the
error's size). Each budget draws a new population and its labelled set through ``plan_selection`` (what
``judgekit label --select`` offers; ``--fast`` uses the vectorised mirror of it instead), then computes the
95% interval ``judgekit validate --ppi`` would report: PPI++ for equal selection probabilities, the
inverse-probability-weighted active-inference interval otherwise. Prints, per strategy, the share of
intervals covering the true mean, the mean width and its ratio to ``random`` (the baseline, same run), and
the mean number of labels. ``uncertain`` is not a probability sample: its interval is shown to miss.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.active_sim import STRATEGIES, TRUE_MEAN, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", type=int, default=1000, help="simulated label budgets per strategy")
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--labels", type=int, default=200, help="the label budget")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fast", action="store_true", help="draw with the vectorised mirror of plan_selection")
    args = ap.parse_args()
    print(
        f"{args.budgets} budgets of {args.labels} labels over {args.items} items; true mean {TRUE_MEAN:.3f}; "
        f"drawn by {'the vectorised mirror' if args.fast else 'plan_selection'}; "
        f"nproc {os.cpu_count()}, load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'strategy':<12}{'coverage':>10}{'mean width':>12}{'vs random':>11}{'labels':>9}{'seconds':>9}")
    base = None
    for strategy in STRATEGIES:
        start = time.perf_counter()
        out = simulate(strategy, args.budgets, args.items, args.labels, args.seed, via_plan=not args.fast)
        took = time.perf_counter() - start
        base = out.width if base is None else base
        print(
            f"{strategy:<12}{out.coverage:>10.3f}{out.width:>12.4f}{out.width / base:>11.3f}"
            f"{out.labels:>9.1f}{took:>9.1f}"
        )


if __name__ == "__main__":
    main()
