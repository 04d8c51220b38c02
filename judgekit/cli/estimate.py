"""``judgekit score --dry-run``: print (or write) the estimate of a run instead of running it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

_ESTIMATE_FLAGS = ("latency", "price_in", "price_out", "output_tokens", "json", "out_estimate")


def dry_run_options(args: argparse.Namespace) -> list[str]:
    """The estimate flags given, as typed: each means nothing without --dry-run."""
    return ["--" + f.replace("_", "-") for f in _ESTIMATE_FLAGS if getattr(args, f) not in (None, False)]


def dry_run(args: argparse.Namespace, settings: Any, judges: Sequence[Any], cache: str | bool) -> int:
    """Estimate the run ``args`` describe; exit 0 with nothing judged and no score file written."""
    from pydantic import ValidationError

    from judgekit.errors import ConfigError
    from judgekit.estimation import DEFAULT_LATENCY_S, EstimateSettings, estimate, format_estimate
    from judgekit.io import atomic_write_text, check_writable

    given = dry_run_options(args)
    if not args.dry_run:
        raise ConfigError(f"{given[0]} is for --dry-run (it shapes an estimate, not a run)")
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
