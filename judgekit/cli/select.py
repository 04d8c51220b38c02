"""``judgekit select``: choose the judge, rubric and settings to trust from human labels, with held-out numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from judgekit.cli._args import add_command, int_at_least
from judgekit.cli.options import add_cache_options, cache_choice

HELP = "choose among candidate judges by agreement with human labels and price; report held-out agreement"
DESCRIPTION = """\
Choose which judge, rubric and settings to use. The labelled items are split once (seeded; by --group so a
group never straddles it) into dev and test. Every candidate of --candidates is scored on dev through the
normal engine (cache, breaker, coverage floor) and compared with the humans by the same code as
'judgekit validate' (--metric, with a bootstrap CI); paired differences between candidates get a paired
bootstrap CI and Holm-adjusted p-values; cost is per 1,000 judgments as 'score --dry-run' prices it.
The choice is the best dev agreement (within --budget dollars per 1,000 judgments), or with --margin M the
cheapest candidate non-inferior to the best at M (one-sided paired bootstrap test, 5%). Only the chosen
candidate is then scored on test, once: its test agreement is the number to report. No other candidate
ever sees a test item. --race scores dev in rounds of growing size and stops a candidate once its paired
difference to the leader is clearly below zero (below -M with --margin).

candidates.yaml:
  candidates:
    - name: small                          # unique; names the files under OUT.work/
      judge: openai/gpt-4o-mini            # any --judge spec, or a panel or router YAML file
      api_base: http://127.0.0.1:8000/v1   # optional; api_key_env: VAR optional
      rubric: criteria                     # built-in name or folder (default lamp_qa)
      settings: {samples: 1, temperature: 0}   # mode, samples, temperature, max_tokens, structured
      price: {input: 0.15, output: 0.60}   # optional, dollars per million tokens
Human labels (--human): any format 'judgekit validate' reads, one dimension.
Writes --out (select.json) and, beside it, OUT.work/ with each candidate's subset files and score files.
"""

EPILOG = """\
examples:
  judgekit select --candidates candidates.yaml --dataset data.json --responses resp.json \\
      --human labels.csv --out select.json
  judgekit select --candidates candidates.yaml --dataset data.json --responses resp.json \\
      --human labels.csv --out select.json --margin 0.05 --race
  judgekit select --candidates candidates.yaml --dataset data.json --responses resp.json \\
      --human labels.csv --group doc --metric kendall_per_group --budget 0.5 --out select.json
  judgekit select --candidates pairwise.yaml --dataset pairs.json --responses-a a.json \\
      --responses-b b.json --human preferences.csv --out select.json     # pairwise rubrics: accuracy
  judgekit select --candidates candidates.yaml --dataset data.json --responses resp.json \\
      --human labels.csv --out select.json --dry-run        # price every candidate, no call
  judgekit select --candidates candidates.yaml --dataset data.json --responses resp.json \\
      --human labels.csv --out select.json --propose 3 --proposer openai/gpt-4o

exit codes: 0 done, 2 bad usage or input (one line; nothing written, no judge called),
3 a judge could not judge, 130 interrupted, 143 terminated.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(sub, "select", HELP, DESCRIPTION, EPILOG)
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--candidates", required=True, metavar="YAML", help="the candidates (see above)")
    io.add_argument("--dataset", required=True, help="the items (any format score reads)")
    io.add_argument("--responses", default=None, help="the responses to judge (any format score reads)")
    io.add_argument(
        "--responses-a", type=Path, default=None, metavar="FILE", help="pairwise rubrics: the first system's"
    )
    io.add_argument(
        "--responses-b",
        type=Path,
        default=None,
        metavar="FILE",
        help="pairwise rubrics: the second system's (without -a/-b the dataset must hold both, as for score)",
    )
    io.add_argument("--human", required=True, metavar="LABELS", help="human labels of the items")
    io.add_argument("--out", required=True, type=Path, help="select.json to write")
    io.add_argument(
        "--report", type=Path, default=None, help="HTML report to write too (as 'judgekit report OUT')"
    )
    c = p.add_argument_group("choice")
    c.add_argument(
        "--metric",
        default="auto",
        help="pearson, spearman (default), kendall, the same with _per_group (needs --group), or kappa "
        "(quadratic-weighted Cohen's kappa of the rounded scores); accuracy (the default and only one for "
        "pairwise rubrics: validate --pairwise's accuracy, both orders)",
    )
    c.add_argument("--group", default=None, metavar="FIELD", help="label field holding each item's group")
    c.add_argument("--test-share", type=float, default=0.3, help="share of the items held out (default 0.3)")
    c.add_argument(
        "--budget", type=float, default=None, metavar="DOLLARS", help="max cost per 1,000 judgments"
    )
    c.add_argument("--margin", type=float, default=None, metavar="M", help="non-inferiority margin")
    c.add_argument("--race", action="store_true", help="score dev in rounds; stop clearly worse candidates")
    c.add_argument("--seed", type=int, default=0, help="seed of the split and the bootstrap (default 0)")
    c.add_argument("--n-boot", type=int_at_least(0), default=2000, help="bootstrap resamples (default 2000)")
    pr = p.add_argument_group("improving a rubric (--propose)")
    pr.add_argument(
        "--propose",
        type=int_at_least(0),
        default=0,
        metavar="N",
        help="after dev, ask --proposer for N variants of the best candidate's rubric from its worst dev "
        "disagreements (never a test item); each is written as a rubric folder under OUT.variants/, an invalid "
        "one is reported and dropped, a valid one is scored on dev as one more candidate",
    )
    pr.add_argument("--proposer", default=None, metavar="MODEL", help="litellm model string of the proposer")
    pr.add_argument("--proposer-api-base", default=None, metavar="URL", help="the proposer's endpoint")
    pr.add_argument("--proposer-api-key-env", default=None, metavar="VAR", help="the proposer's key variable")
    r = p.add_argument_group("run")
    add_cache_options(r)
    r.add_argument("--dry-run", action="store_true", help="check everything, price every candidate, stop")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from judgekit.select import SelectOptions, select
    from judgekit.select.format import format_result
    from judgekit.select.select import dry_run

    opts = SelectOptions(
        candidates=Path(args.candidates), dataset=Path(args.dataset), responses=Path(args.responses) if args.responses else None,
        responses_a=args.responses_a, responses_b=args.responses_b,
        human=Path(args.human), out=args.out, metric=args.metric, group=args.group, test_share=args.test_share,
        budget=args.budget, margin=args.margin, race=args.race, seed=args.seed, n_boot=args.n_boot,
        cache=cache_choice(args), propose=args.propose, proposer=args.proposer,
        proposer_api_base=args.proposer_api_base, proposer_api_key_env=args.proposer_api_key_env,
        report=args.report,
    )  # fmt: skip
    if args.dry_run:
        p = dry_run(opts)
        print(f"split   {len(p.dev)} dev / {len(p.test)} test items; dev judgments priced per 1,000:")
        for cand in p.candidates:
            cost = p.costs[cand.name]
            print(f"  {cand.name:<20} {'unknown price' if cost is None else f'${cost:.4f}'}")
        return 0
    result = select(opts)
    print(format_result(result))
    print(f"wrote {args.out}" + (f" and {args.report}" if args.report else ""))
    return 0
