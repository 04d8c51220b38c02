"""``judgekit cache``: look at the judge cache (stats) and clean it (prune, clear) without knowing its schema."""

from __future__ import annotations

import argparse

from judgekit.cli._args import add_command
from judgekit.cli.options import CACHE_HELP

HELP = "look at and clean the judge cache: stats, prune, clear"
DESCRIPTION = (
    "The cache holds every judge answer, keyed by judge, messages and parameters, so a rerun makes no call.\n"
    "An answer of a unit that ended unscored (unparseable, empty) is kept for the record but marked failed:\n"
    "a rerun asks that unit again. These actions read and clean the cache without knowing its schema."
)
EPILOG = """\
examples:
  judgekit cache stats                                  # the default cache: entries, size, per judge
  judgekit cache stats --cache runs/cache.sqlite --json
  judgekit cache prune --judge openai/gpt-4o-mini       # every entry of that model (all endpoints)
  judgekit cache prune --unscored                       # the answers of units that ended unscored
  judgekit cache clear --cache runs/cache.sqlite        # every entry

--judge takes a judge as 'cache stats' lists it, that identity without its '|options', the model string
(openai/gpt-4o-mini: every endpoint and option of that model), 'local' (every local model) or a router
group (router:NAME). A missing cache file, or a --judge that matches no judge in it, is an error (exit 2);
nothing is created or deleted then.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(sub, "cache", HELP, DESCRIPTION, EPILOG)
    actions = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    stats = actions.add_parser("stats", help="entries, size, per judge, answers of unscored units")
    stats.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats.set_defaults(run=run_stats)
    prune = actions.add_parser("prune", help="delete one judge's entries and/or those of unscored units")
    prune.add_argument("--judge", default=None, metavar="SPEC", help="the judge whose entries go")
    prune.add_argument(
        "--unscored", action="store_true", help="the answers of units that ended unscored (marked failed)"
    )
    prune.set_defaults(run=run_prune)
    clear = actions.add_parser("clear", help="delete every cached answer")
    clear.set_defaults(run=run_clear)
    for action in (stats, prune, clear):
        action.add_argument("--cache", default=None, help=CACHE_HELP)


def _path(args: argparse.Namespace) -> str:
    from judgekit.run.cache import default_cache_path

    return str(args.cache or default_cache_path())


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")


def run_stats(args: argparse.Namespace) -> int:
    from judgekit.run.cache_admin import cache_stats

    stats = cache_stats(_path(args))
    if args.json:
        print(stats.model_dump_json(indent=2))
        return 0
    print(f"cache     {stats.path} ({_size(stats.size_bytes)})")
    print(f"entries   {stats.entries}, {stats.failed} failed (answers of units that ended unscored)")
    if stats.open_batches:
        print(f"batches   {stats.open_batches} still to collect (score --batch resumes them)")
    if stats.judges:
        print(f"{'entries':>9} {'failed':>7} {'answers':>9}  judge")
        for j in stats.judges:
            print(f"{j.entries:>9} {j.failed:>7} {_size(j.answer_bytes):>9}  {j.judge}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from judgekit.run.cache_admin import cache_stats, prune

    path = _path(args)
    removed = prune(path, judge=args.judge, unscored=args.unscored)
    what = " and ".join(
        part
        for part, given in ((f"of {args.judge}", args.judge), ("of unscored units", args.unscored))
        if given
    )
    left = cache_stats(path).entries
    print(f"removed {removed} entries {what} from {path}; {left} left")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from judgekit.run.cache_admin import clear

    path = _path(args)
    print(f"removed {clear(path)} entries from {path}; 0 left")
    return 0
