"""Option groups that several commands share, declared once, and their resolution into run settings.

Declaring (``add_*``) imports only argparse, so ``--help`` stays fast; resolving imports what it checks.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

CACHE_HELP = (
    "SQLite cache file (default: $JUDGEKIT_CACHE_DIR/cache.sqlite, else ~/.cache/judgekit/cache.sqlite)"
)


class Endpoint(NamedTuple):
    """Where a judge named by a model string is reached, and the key it sends (never written anywhere)."""

    api_base: str | None
    api_key: str | None


def add_endpoint_options(group: argparse._ArgumentGroup) -> None:
    """``--api-base`` and ``--api-key-env``: the endpoint of a judge given as a model string."""
    group.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    group.add_argument(
        "--api-key-env",
        default=None,
        metavar="VAR",
        help="read the API key from this environment variable (keys are never written to any file)",
    )


def endpoint(args: argparse.Namespace) -> Endpoint:
    """The checked ``--api-base`` and the key read from ``--api-key-env`` (ConfigError when it is unset)."""
    import os

    from judgekit.errors import ConfigError
    from judgekit.judges.litellm_judge import check_api_base

    if args.api_base is not None:
        check_api_base(args.api_base)
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(f"--api-key-env: environment variable {args.api_key_env} is not set")
    return Endpoint(args.api_base, api_key)


ROUTER_HELP = (
    "litellm Router file: one judge on several deployments (endpoints or keys) with rpm/tpm limits. "
    "model_list: [{model_name: NAME, litellm_params: {model: openai/x, api_base: URL, api_key: "
    "os.environ/VAR, rpm: N, tpm: N}}, ...] plus optional router_settings (routing_strategy, fallbacks, "
    "allowed_fails, cooldown_time, timeout). --judge NAME (or router/NAME) picks the model_name group "
    "(needless when the file has one). Results are cached per group and its models, not per deployment: "
    "reorder, add or remove deployments and rerun from the cache (see docs/large_runs.md)"
)


def add_router_option(group: argparse._ArgumentGroup) -> None:
    """``--router FILE``: the judge's deployments, as litellm's Router model list."""
    group.add_argument("--router", default=None, metavar="FILE", help=ROUTER_HELP)


def named_judges(args: argparse.Namespace) -> list[Any]:
    """The ``--judge`` values; with ``--router`` the model_name groups of its file they name."""
    from judgekit.errors import ConfigError
    from judgekit.judges.router import SPEC_PREFIX, router_judges

    if args.router:
        for flag, value in (("--api-base", args.api_base), ("--api-key-env", args.api_key_env)):
            if (
                value
            ):  # every --judge is a group of the file, and each deployment has its own endpoint and key
                raise ConfigError(
                    f"{flag} does not apply with --router: give api_base/api_key in {args.router}"
                )
        return list(router_judges(args.router, args.judge))
    for name in args.judge or []:
        if name.strip().startswith(SPEC_PREFIX):
            raise ConfigError(
                f"--judge {name.strip()} names a group of a router file: give it with --router FILE"
            )
    return list(args.judge or [])


REASONING_EFFORT_HELP = (
    "how hard a reasoning judge thinks (o-series, gpt-oss, Claude or Gemini thinking, ...): passed on through "
    "litellm or the lean client; refused for a local or Python judge"
)
REASONING_TAGS_HELP = (
    "comma-separated tags whose blocks hold the judge's reasoning, never its verdict (default: the rubric's "
    "reasoning_tags, else think,thinking,reasoning); a separate reasoning_content is always set apart"
)


def add_reasoning_options(group: argparse._ArgumentGroup) -> None:
    """``--reasoning-effort`` and ``--reasoning-tags``: judges that think before they answer."""
    group.add_argument("--reasoning-effort", choices=["low", "medium", "high"], help=REASONING_EFFORT_HELP)
    group.add_argument("--reasoning-tags", default=None, metavar="TAG,TAG", help=REASONING_TAGS_HELP)


def reasoning_tags(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The checked ``--reasoning-tags`` (``None``: the rubric's); a bad name is a one-line ConfigError."""
    from judgekit.errors import ConfigError
    from judgekit.rubric.reasoning_tags import check_tags

    if args.reasoning_tags is None:
        return None
    try:
        return check_tags(t for t in args.reasoning_tags.split(",") if t.strip())
    except ValueError as err:
        raise ConfigError(f"--reasoning-tags: {err}") from None


MIN_COVERAGE_HELP = (
    "fail (exit 4) when fewer than this fraction of the units are scored; the score file is still "
    'written and says "status": "failed" (default: 0.9; 0 = never)'
)


def add_min_coverage(group: argparse._ActionsContainer, help: str = MIN_COVERAGE_HELP) -> None:
    group.add_argument("--min-coverage", type=float, default=0.9, metavar="FRACTION", help=help)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """An argparse type: seconds, plain or with a unit (``90``, ``90s``, ``30m``, ``2h``), above 0."""
    raw = text.strip().lower()
    scale = _UNITS.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90, 90s, 30m, 2h)") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration above 0")
    return seconds


MAX_STALL_HELP = (
    "stop the run (exit 3) when the judge rate-limits (429) every call for this long without letting one "
    "through, whatever the run's size (default: 120 s; e.g. 300, 5m)"
)
DEADLINE_HELP = (
    "wall time for the whole run (e.g. 30m, 2h, or seconds): past it the judging stops like Ctrl-C, "
    "finished judgments stay cached (a rerun resumes), no score file is written, exit 124 (as timeout(1))"
)


def add_run_limits(group: argparse._ActionsContainer) -> None:
    """``--max-stall`` and ``--deadline``: how long a run may wait on a rate limit, and in all."""
    group.add_argument("--max-stall", type=duration, default=120.0, metavar="SECONDS", help=MAX_STALL_HELP)
    group.add_argument("--deadline", type=duration, default=None, metavar="DURATION", help=DEADLINE_HELP)


def add_cache_options(group: argparse._ArgumentGroup) -> None:
    """``--cache FILE`` and ``--no-cache``."""
    group.add_argument("--cache", default=None, help=CACHE_HELP)
    group.add_argument("--no-cache", action="store_true", help="don't read or write the cache")


def cache_choice(args: argparse.Namespace) -> str | bool:
    """The ``cache=`` argument of score() and gate(): a file, True for the default one, False for none."""
    from judgekit.errors import ConfigError

    if args.no_cache and args.cache:
        raise ConfigError("--cache and --no-cache contradict each other")
    cache: str | bool = False if args.no_cache else (args.cache or True)
    return cache


BATCH_HELP = (
    "send the judge calls through the provider's batch API (about half the price; results can take hours): "
    "upload, create, poll, download; answers fill the same cache as live calls, and a stopped run resumes "
    "polling its batch on rerun (openai/ models; see docs/large_runs.md)"
)


_BATCH_POLL_HELP = "--batch: seconds between two polls of a running batch (default: 30)"
_BATCH_FALLBACK_HELP = (
    "--batch: requests the batch did not answer (failed lines, an expired or failed batch) are judged with "
    "live calls (live, the default) or left unscored with their reason (unscored)"
)


def add_batch_options(group: argparse._ActionsContainer) -> None:
    """``--batch``, ``--batch-poll SECONDS`` and ``--batch-fallback live|unscored``."""
    group.add_argument("--batch", action="store_true", help=BATCH_HELP)
    group.add_argument("--batch-poll", type=float, metavar="SECONDS", help=_BATCH_POLL_HELP)
    group.add_argument("--batch-fallback", choices=["live", "unscored"], help=_BATCH_FALLBACK_HELP)


def batch_settings(args: argparse.Namespace) -> Any:
    """The run's BatchSettings with --batch, else None; the --batch-* flags mean nothing without it."""
    from judgekit.errors import ConfigError
    from judgekit.run.batch import BatchSettings

    given = [f"--batch-{name}" for name in ("poll", "fallback") if getattr(args, f"batch_{name}") is not None]
    if not args.batch:
        if given:
            raise ConfigError(f"{given[0]} is for --batch")
        return None
    if args.batch_poll is not None and not 0 < args.batch_poll <= 3600:
        raise ConfigError(f"--batch-poll: {args.batch_poll:g} is not between 0 (excluded) and 3600 seconds")
    chosen = {"poll": args.batch_poll, "fallback": args.batch_fallback}
    return BatchSettings(**{name: value for name, value in chosen.items() if value is not None})


def add_report_option(group: argparse._ActionsContainer, what: str, failed: str | None = None) -> None:
    """``--report FILE.html``: the run's HTML report, the file ``judgekit report`` makes of its output."""
    also = f"; written also when {failed}" if failed else ""
    group.add_argument(
        "--report",
        default=None,
        metavar="FILE.html",
        help=f"also write the HTML report of {what}, as 'judgekit report' makes it (needs judgekit[report])"
        + also,
    )


def check_report(args: argparse.Namespace, outputs: Mapping[str, str | Path | None]) -> None:
    """Before any work: matplotlib is there, ``--report`` can be written and names none of ``outputs``
    (flag -> path)."""
    import importlib.util

    from judgekit.errors import ConfigError
    from judgekit.io import check_writable

    if not args.report:
        return
    if importlib.util.find_spec("matplotlib") is None:
        raise ConfigError("the HTML report draws its charts with matplotlib: pip install 'judgekit[report]'")
    check_writable(args.report, "--report")
    target = Path(args.report).resolve()
    for flag, path in outputs.items():
        if path and Path(path).resolve() == target:
            raise ConfigError(f"--report and {flag} must name different files")


def write_run_report(args: argparse.Namespace, source: Any, quiet: bool) -> None:
    """Write ``--report`` (if given) from the run's result: the path of its written output (so the report
    is the one ``judgekit report`` makes of that file) or, when it wrote none, the loaded object."""
    if not args.report:
        return
    from judgekit.report import write_report

    write_report([source], args.report)
    if not quiet:
        print(f"wrote {args.report}")
