"""``judgekit score --dry-run``: print (or write) the estimate of a run instead of running it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

_ESTIMATE_FLAGS = ("latency", "price_in", "price_out", "output_tokens", "json", "out_estimate")


DRY_RUN_HELP = (
    "call no judge and write no score file: render every message, look it up in the cache and print the "
    "calls to make, prompt and output tokens, price and time (see docs/large_runs.md)"
)


def add_dry_run_options(group: argparse._ArgumentGroup) -> None:
    """``score``'s --dry-run and the assumptions of its estimate."""
    group.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    group.add_argument(
        "--latency",
        type=float,
        default=None,
        metavar="S",
        help="--dry-run: assumed seconds per judge call for the time estimate (default: 2)",
    )
    group.add_argument(
        "--price-in",
        type=float,
        default=None,
        metavar="USD",
        help="--dry-run: USD per million prompt tokens, for every judge (default: litellm's price table)",
    )
    group.add_argument(
        "--price-out",
        type=float,
        default=None,
        metavar="USD",
        help="--dry-run: USD per million output tokens",
    )
    group.add_argument(
        "--output-tokens",
        type=int,
        default=None,
        metavar="N",
        help="--dry-run: output tokens per call (default: --max-tokens, else the longest valid answer for "
        "the rubric's schema)",
    )
    group.add_argument("--json", action="store_true", help="--dry-run: print the estimate as JSON")
    group.add_argument(
        "--out-estimate", default=None, metavar="FILE", help="--dry-run: also write it as JSON"
    )


def dry_run_options(args: argparse.Namespace) -> list[str]:
    """The estimate flags given, as typed: each means nothing without --dry-run."""
    return ["--" + f.replace("_", "-") for f in _ESTIMATE_FLAGS if getattr(args, f) not in (None, False)]


def dry_run(args: argparse.Namespace, settings: Any, judges: Sequence[Any], cache: str | bool) -> int | None:
    """With --dry-run, estimate the run ``args`` describe: exit code 0, nothing judged, no file but
    --out-estimate written. Without it, None: the run goes ahead (and needs --out)."""
    from judgekit.errors import ConfigError

    given = dry_run_options(args)
    if not args.dry_run:
        if given:
            raise ConfigError(f"{given[0]} is for --dry-run (it shapes an estimate, not a run)")
        if args.out is None:
            raise ConfigError("--out is required (unless --dry-run)")
        return None
    from pydantic import ValidationError  # only now: a run does not need the estimator loaded

    from judgekit.io import atomic_write_text, check_writable
    from judgekit.scoring.estimation import DEFAULT_LATENCY_S, EstimateSettings, estimate, format_estimate

    if args.json and args.quiet:
        raise ConfigError("--json and --quiet contradict each other")
    try:
        assume = EstimateSettings(
            latency=DEFAULT_LATENCY_S if args.latency is None else args.latency,
            price_in=args.price_in,
            price_out=args.price_out,
            output_tokens=args.output_tokens,
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = f"--{str(first['loc'][-1]).replace('_', '-')}: " if first["loc"] else ""
        raise ConfigError(where + str(first["msg"]).removeprefix("Value error, ")) from None
    for path, flag in ((args.out_estimate, "--out-estimate"), (args.out, "--out"), (args.log, "--log")):
        if path:  # the real run would stop on an unwritable --out or --log: say so now
            check_writable(path, flag)
    result = estimate(
        args.dataset,
        args.responses,
        responses_a=args.responses_a,
        responses_b=args.responses_b,
        judge=list(judges),
        settings=settings,
        cache=cache,
        assume=assume,
    )
    text = result.model_dump_json(indent=2) + "\n"
    if args.out_estimate:
        atomic_write_text(args.out_estimate, text)
    if args.json:
        print(text, end="")
    elif not args.quiet:
        print(format_estimate(result))
    return 0
