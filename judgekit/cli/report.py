"""``judgekit report``: one self-contained HTML file from score files, validate reports, gate and compare
results."""

from __future__ import annotations

import argparse

from judgekit.cli._args import add_command

HELP = "one self-contained HTML report of score, validate, gate and compare results"
DESCRIPTION = """\
Write one HTML file that shows how far to trust the number: the verdict and provenance of each input
(score with its CI, coverage, judges, rubric hash, input hashes, versions, calls, tokens, cost, wall time,
the command that reproduces the run), then its charts and tables. Score files: distribution of question
scores, per category / aspect bars, unscored units with reasons, lexical metrics beside the judge, panel
agreement, pairwise win/tie/loss, and an item browser of every question (search by id or text) with the
judge's raw answers from the run log beside the score file. Validate reports: correlations with CIs beside
the human ceiling, score shares, largest disagreements. Gate results: each check, the paired differences
with CI and p-value, the most-regressed questions. Compare results: systems and their differences.

The file needs no network: styles, script, charts (matplotlib SVG) and data are inline. The same inputs
give a byte-identical file.
"""

EPILOG = """\
examples:
  judgekit report scores.json --out report.html
  judgekit report candidate.json agreement.json gate.json compare.json --out report.html
  # a labels file (judgekit label): progress, agreement on the overlap, the judge beside the humans
  judgekit report labels.jsonl --scores scores.json --out labels.html

exit codes: 0 written, 2 bad usage or input (one-line message; no output file is written).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(subparsers, "report", HELP, DESCRIPTION, EPILOG)
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="score file, validate report (validate --out), gate result (gate --json), compare result or "
        "labels file (judgekit label)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument(
        "--scores",
        default=None,
        metavar="FILE",
        help="the judge's score file, shown beside the humans for each labels file (judgekit label)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from judgekit.io import check_no_overwrite
    from judgekit.report import write_report

    inputs = [(f"input {k}", f) for k, f in enumerate(args.inputs, 1)] + [("--scores", args.scores)]
    check_no_overwrite(inputs, [("--out", args.out)])
    out = write_report(args.inputs, args.out, args.scores)
    print(f"wrote {out}")
    return 0
