"""``judgekit validate``: agreement of judge scores with human labels, with 95% bootstrap CIs."""

from __future__ import annotations

import argparse
from typing import Any

from judgekit.cli._args import add_command, int_at_least
from judgekit.cli.options import add_report_option, check_report, write_run_report

HELP = "agreement of judge scores with human labels, with 95%% CIs"
DESCRIPTION = """\
Measure a judge against human labels before trusting it. Prints a table and (with --out) writes every
figure, its confidence interval, the items used and the items dropped (with the reason) to a JSON file.

Figures: Pearson, Spearman and Kendall tau-b pooled over items, averaged over groups (--group; groups
where either side is constant are skipped) and at system level (--system, correlation of per-system
means); Krippendorff's alpha (nominal, ordinal, interval, ratio) among the annotators and with the judge
as one more coder; Cohen's kappa (unweighted, linear, quadratic) of the judge against the rounded human
mean and the majority label; the human ceiling (each annotator against the mean of the others, with the
judge in the same place for comparison); bias (mean judge-minus-human offset, Spearman with response
length, the share of each score); and the items where judge and humans disagree most. CIs are
percentile bootstrap intervals; with --group whole groups are resampled. With --ppi: the mean human-scale
score by prediction-powered inference (judge scores on unlabelled items corrected by the labelled ones,
which must be a random subset; normal CI), beside the judge-only and human-only means.

Judge scores (--judge): rows {"id", "score"} as a JSON list or JSONL ("scores": {dimension: value}, or a
"dimension" field, for several dimensions); a judgekit score file (--level question or aspect; aspect
ids are "ID::ASPECT"); or raw judge completions {"id", "completions": [text, ...]}, parsed with --rubric
and averaged over samples (unparseable samples are counted and left out, never scored 0).
Human labels (--human, CSV/TSV/JSON/JSONL): long form "id,annotator,label" (or a "dimension" column,
or one label column per --dimension); wide form "id,ann1,ann2,..." ("dimension:annotator" columns for
several dimensions); or an already-averaged column ("id,label").
Pairwise (--pairwise): judge rows {"id", "winner_original", "winner_swapped"} with verdicts 1, 2 or
"tie" (winner_swapped already in the original numbering), labels "id,label" or long form (majority).
"""

EPILOG = """\
examples:
  judgekit validate --judge judge_scores.jsonl --human human_labels.csv --out agreement.json
  judgekit validate --judge scores.json --level aspect --human aspect_labels.csv --scale 0-2
  judgekit validate --judge completions.jsonl --rubric lamp_qa --human labels.csv --scale 0-2
  judgekit validate --judge judge.jsonl --human labels.csv --dimension coherence --dimension fluency \\
      --group doc_id --system model --scale 1-5 --out agreement.json
  judgekit validate --judge metric.jsonl --human labels.csv --judge-scale 0-1 --scale 1-5
  judgekit validate --judge all_scores.jsonl --human subset_labels.csv --scale 1-5 --ppi
  judgekit validate --pairwise --judge verdicts.jsonl --human gold.csv --group subset --out pairwise.json

exit codes: 0 done, 2 bad usage or input (one-line message; no output file is written).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(subparsers, "validate", HELP, DESCRIPTION, EPILOG)
    _inputs(p.add_argument_group("inputs"))
    _structure(p.add_argument_group("structure"))
    sc = p.add_argument_group("scales")
    sc.add_argument("--scale", metavar="SCALE", help="human label scale: 1-5, 0..1:0.25 or 1,2,3")
    sc.add_argument(
        "--judge-scale", metavar="SCALE", help="the judge's scale when it differs (default: --scale)"
    )
    _statistics(p.add_argument_group("statistics"))
    pw = p.add_argument_group("pairwise preferences")
    pw.add_argument("--pairwise", action="store_true", help="judge rows hold preference verdicts")
    pw.add_argument(
        "--invalid-agree",
        action="store_true",
        help="count two invalid verdicts on an item as positional agreement (LLMBar's published convention)",
    )
    p.add_argument("--out", metavar="FILE", default=None, help="write agreement.json here")
    add_report_option(p, "the agreement figures")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.set_defaults(run=run)


def _inputs(io: argparse._ArgumentGroup) -> None:
    io.add_argument("--judge", required=True, metavar="FILE", help="judge scores, score file or completions")
    io.add_argument("--human", required=True, metavar="FILE", help="human labels (CSV, TSV, JSON or JSONL)")
    io.add_argument(
        "--dimension",
        action="append",
        default=None,
        metavar="NAME",
        help="a label dimension to validate; repeat for several (default: every dimension in the labels)",
    )
    io.add_argument("--level", choices=("question", "aspect"), default="question", help="score-file level")
    io.add_argument("--rubric", metavar="NAME", help="rubric whose parser reads raw completions")
    io.add_argument(
        "--human-format",
        choices=("auto", "long", "wide", "mean"),
        default="auto",
        help="layout of the labels (default: long if there is an annotator column, else wide, or mean for one "
        "value column)",
    )
    io.add_argument("--annotators", metavar="COLS", help="wide form: comma-separated annotator columns")
    io.add_argument("--id-column", default="id", metavar="NAME", help="id field in both files (default: id)")
    io.add_argument(
        "--annotator-column", default="annotator", metavar="NAME", help="long form (default: annotator)"
    )
    io.add_argument("--label-column", default="label", metavar="NAME", help="label field (default: label)")
    io.add_argument(
        "--allow-missing",
        action="store_true",
        help="drop labelled ids that have no judge score instead of stopping with an error",
    )


def _structure(grp: argparse._ArgumentGroup) -> None:
    grp.add_argument("--group", metavar="FIELD", help="group field (source document, prompt, ...)")
    grp.add_argument("--system", metavar="FIELD", help="system field (the model that wrote it)")
    grp.add_argument(
        "--length-field",
        metavar="FIELD",
        help="response length or text field for the length bias (default: length, response_length, response, "
        "output if present)",
    )
    grp.add_argument("--responses", metavar="FILE", help="responses file to measure length (words)")


def _statistics(st: argparse._ArgumentGroup) -> None:
    st.add_argument("--n-boot", type=int_at_least(0), default=2000, metavar="N", help="bootstrap resamples")
    st.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    st.add_argument("--confidence", type=float, default=0.95, help="confidence level (default: 0.95)")
    st.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leave-one-annotator-out human ceiling (default: when there are two or more annotators)",
    )
    st.add_argument(
        "--ppi",
        action="store_true",
        help="also estimate each dimension's mean human-scale score by prediction-powered inference (PPI++): "
        "the judge scores every item, humans label a random subset; judged items without a label are the "
        "unlabelled set, and every labelled item needs a judge score; labels with unequal selection "
        "probabilities (a 'probability' column, as judgekit label writes) are weighted by their inverse "
        "(active inference)",
    )
    st.add_argument("--top", type=int_at_least(0), default=10, metavar="K", help="disagreements to list")


#: validate() keywords taken from the option of the same name.
_SAME_NAME = (
    "group", "system", "scale", "judge_scale", "rubric", "level", "human_format", "length_field", "responses",
    "allow_missing", "ceiling", "pairwise", "ppi", "invalid_agree", "n_boot", "seed", "confidence", "top",
)  # fmt: skip
#: validate() keyword -> the option that sets it, where the names differ.
_RENAMED = {
    "dimensions": "dimension",
    "id_field": "id_column",
    "annotator_field": "annotator_column",
    "label_field": "label_column",
}


def validate_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``judgekit.validate.validate`` that the command line sets."""
    options = {name: getattr(args, name) for name in _SAME_NAME}
    options.update({name: getattr(args, option) for name, option in _RENAMED.items()})
    options["annotators"] = [a.strip() for a in args.annotators.split(",")] if args.annotators else None
    return options


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from judgekit.io import atomic_write_text, check_no_overwrite, check_writable
    from judgekit.validate import format_report, validate

    check_no_overwrite(
        [("--judge", args.judge), ("--human", args.human), ("--responses", args.responses)],
        [("--out", args.out), ("--report", args.report)],
    )
    if args.out:
        check_writable(args.out, "--out")
    check_report(args, {"--out": args.out})
    report = validate(args.judge, args.human, **validate_options(args))
    if args.out:
        atomic_write_text(
            args.out, json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        )
    if not args.quiet:
        sys.stdout.write(format_report(report))
        if args.out:
            sys.stdout.write(f"wrote {args.out}\n")
    write_run_report(args, args.out or report, args.quiet)
    return 0
