"""``judgekit label``: collect human labels in a local, keyboard-first web page."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from judgekit.cli._args import add_command, int_at_least

if TYPE_CHECKING:
    from judgekit.label.run import LabelOptions

HELP = "collect human labels in a local web page (keyboard first), for validate and validate --ppi"
DESCRIPTION = """\
Serve a page on 127.0.0.1 that shows one item at a time (what the rubric shows the judge: question,
narrative, the response; both responses for pairwise rubrics, in an order randomised per annotator) and
asks for the label the rubric asks for: each LaMP-QA aspect 0/1/2, a criteria rubric's scale, or which of
two responses is better. Every submit is appended to the labels file (JSON Lines, fsync'd) before the page
moves on; restart after a crash and it resumes at the annotator's first unlabelled item. Several
annotators may label at once, each running their own 'judgekit label' on the same labels file.

keys: digits set a value (Tab or the down arrow moves between aspects); a / b / t pick the first response,
the second, or a tie; Enter submits; left arrow goes back; u undoes the last submit; s skips; ? shows them.
"""
EPILOG = """\
examples:
  # label the LaMP-QA example set: each aspect 0/1/2; open the printed URL, Ctrl-C to stop
  judgekit label --dataset examples/lamp_qa/dataset.json --responses examples/lamp_qa/responses.json \\
      --labels labels.jsonl --annotator alice

  # which of two responses is better (shown in an order randomised per annotator)
  judgekit label --rubric pairwise --dataset examples/pairwise/dataset.json \\
      --responses-a examples/pairwise/responses_a.json --responses-b examples/pairwise/responses_b.json \\
      --labels pair_labels.jsonl --annotator alice

  # a second annotator at the same time, on the same file; 20% of the items are labelled by everyone
  judgekit label --dataset D --responses R --labels labels.jsonl --annotator bob --overlap 0.2

  # 50 items chosen at random (seeded), the judge's score and answer shown beside each
  judgekit label --dataset D --responses R --scores scores.json --show-judge --sample 50 \\
      --labels labels.jsonl --annotator alice

  # 200 labels where they narrow the judge-corrected estimate most (active inference), then the estimate
  judgekit label --dataset D --responses R --scores scores.json --select active --sample 200 \\
      --labels labels.jsonl --annotator alice
  judgekit validate --judge scores.json --human labels.jsonl --scale 0-1 --ppi

  # progress per annotator and their agreement (Krippendorff's alpha) on the overlap
  judgekit label --status --labels labels.jsonl

  # then: how well does the judge agree with the labels?
  judgekit validate --judge scores.json --level aspect --human labels.jsonl --scale 0-2

security:
  the server listens on 127.0.0.1 only (a non-loopback --host needs --allow-remote); the printed URL holds a
  secret token for this run and every request without it is refused (403), as is any POST from another origin.

exit codes: 0 stopped with Ctrl-C (every submitted label is saved), 2 bad usage or input (nothing served),
143 terminated (SIGTERM; every submitted label is saved too).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(sub, "label", HELP, DESCRIPTION, EPILOG)
    io = p.add_argument_group("inputs (read as 'judgekit score' reads them)")
    io.add_argument("--dataset", default=None, metavar="FILE", help="dataset (JSON list or JSONL)")
    io.add_argument("--responses", default=None, metavar="FILE", help="responses to label")
    io.add_argument(
        "--responses-a", default=None, metavar="FILE", help="pairwise rubrics: the first system's"
    )
    io.add_argument(
        "--responses-b", default=None, metavar="FILE", help="pairwise rubrics: the second system's"
    )
    io.add_argument(
        "--rubric", default="lamp_qa", help="built-in rubric name or rubric folder (default: lamp_qa)"
    )
    io.add_argument(
        "--scores", default=None, metavar="FILE", help="the judge's score file (for --select, --show-judge)"
    )
    out = p.add_argument_group("labels")
    out.add_argument("--labels", required=True, metavar="FILE", help="labels file (JSON Lines; appended to)")
    out.add_argument("--annotator", default=None, metavar="NAME", help="who labels (written with each label)")
    out.add_argument(
        "--status", action="store_true", help="print progress and agreement of --labels, then exit"
    )
    sel = p.add_argument_group("which items")
    sel.add_argument(
        "--sample", type=int_at_least(1), default=None, metavar="N", help="label N items (default: all)"
    )
    sel.add_argument(
        "--select",
        default="random",
        choices=["random", "stratified", "uncertain", "active"],
        help="which items: random (seeded), stratified (equal counts per bin of the judge's score), uncertain "
        "(where the judge's samples or panel disagree, or a logprob-weighted score sits mid-scale), active "
        "(labelled with a probability that grows with the judge's expected error; needs --sample); all but "
        "random need --scores; each label row records its item's selection probability (default: random)",
    )
    sel.add_argument(
        "--overlap",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="share of the items every annotator labels, for agreement (default: 0.2); the rest are "
        "labelled once, by whoever reaches them first",
    )
    sel.add_argument(
        "--seed", type=int, default=0, help="seed for the sample and each annotator's order (default: 0)"
    )
    page = p.add_argument_group("page and server")
    page.add_argument(
        "--show-judge", action="store_true", help="show the judge's score and answer (needs --scores)"
    )
    page.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    page.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    page.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (prints a warning)"
    )
    p.set_defaults(run=run)


def _options(args: argparse.Namespace) -> LabelOptions:
    from judgekit.errors import ConfigError
    from judgekit.label.run import LabelOptions, check_host

    if args.dataset is None:
        raise ConfigError("give --dataset (or --status to summarise --labels)")
    if not args.annotator:
        raise ConfigError("give --annotator NAME: who is labelling")
    if args.show_judge and args.scores is None:
        raise ConfigError("--show-judge needs --scores (the judge's score file)")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {args.port}")
    if not check_host(args.host, args.allow_remote):
        print(
            f"judgekit: warning: listening on {args.host}, not a loopback address: anyone who can reach it and "
            "has the URL can label",
            file=sys.stderr,
        )
    return LabelOptions(
        dataset=args.dataset,
        labels=args.labels,
        annotator=args.annotator,
        rubric=args.rubric,
        responses=args.responses,
        responses_a=args.responses_a,
        responses_b=args.responses_b,
        scores=args.scores,
        sample=args.sample,
        select=args.select,
        overlap=args.overlap,
        seed=args.seed,
        show_judge=args.show_judge,
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    if args.status:
        from judgekit.label.status import format_summary, summarize

        print(format_summary(summarize(args.labels)))
        return 0
    from judgekit.label.run import serve

    opts = _options(args)

    def announce(url: str) -> None:
        print(f"labelling as {opts.annotator}; labels go to {opts.labels}", flush=True)
        print(f"open {url}", flush=True)
        print("Ctrl-C stops (every submitted label is already saved)", flush=True)

    try:
        asyncio.run(serve(opts, args.host, args.port, announce))
    except KeyboardInterrupt:  # Ctrl-C is how a labelling session ends: every submit is already on disk
        from judgekit.run import interrupts

        print(f"stopped; labels are in {opts.labels}", file=sys.stderr)
        return 143 if interrupts.terminated() else 0
    return 0
