"""``judgekit compare``: rank several systems judged on the same questions, with CIs and paired tests."""

from __future__ import annotations

import argparse

from judgekit.cli._args import add_command, int_at_least

HELP = "rank systems with score CIs, rank intervals and Holm-adjusted paired tests"
DESCRIPTION = (
    "Compare systems judged on the same questions: each file's score with a bootstrap CI and "
    "a rank interval, and every pair's paired difference with a CI and a Holm-adjusted p-value."
)
EPILOG = """\
examples:
  # three systems scored with the same rubric and judge on the same dataset
  judgekit compare runs/base.json runs/finetuned.json runs/rag.json --out compare.json

  # pairwise-rubric score files (each compares its --responses-a with its --responses-b): Bradley-Terry
  judgekit compare pw_a_vs_b.json pw_b_vs_c.json pw_a_vs_c.json --out compare.json

what it reports (see docs/statistics.md):
  systems  score (mean question score, or Bradley-Terry log-strength for pairwise files) with a percentile
           bootstrap CI, its rank (1 = best) and a rank interval from the same resamples
  pairs    every pair's difference a - b over the questions both scored, its paired bootstrap CI, a
           two-sided p (paired t-test; bootstrap for Bradley-Terry) and the Holm-adjusted p across pairs
  missing  questions a file lacks or left unscored; they are left out only of the pairs they break

exit codes:
  0  compared
  2  bad input (not a score file, fewer than two files, files sharing no question, a NaN score, pairwise
     and pointwise files mixed); nothing is written
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(sub, "compare", HELP, DESCRIPTION, EPILOG)
    p.add_argument("files", nargs="+", metavar="SCORES.json", help="judgekit score files, one per system")
    p.add_argument("--out", default=None, metavar="FILE", help="write the comparison as JSON")
    p.add_argument(
        "--bootstrap",
        type=int_at_least(0),
        default=2000,
        metavar="N",
        help="bootstrap resamples over questions (default: 2000; 0 = no CIs or rank intervals)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from judgekit.compare import compare, terminal_lines
    from judgekit.io import atomic_write_json, check_no_overwrite, check_writable

    check_no_overwrite([(f"input {k}", f) for k, f in enumerate(args.files, 1)], [("--out", args.out)])
    if args.out:
        check_writable(args.out)
    result = compare(args.files, bootstrap=args.bootstrap, seed=args.seed)
    if args.out:
        atomic_write_json(args.out, result.to_json())
    print("\n".join(terminal_lines(result)))
    return 0
