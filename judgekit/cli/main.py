"""Entry point: builds the parser from the sub-command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from judgekit._version import __version__

# Sub-command modules, in the order --help lists them.
COMMANDS = (
    "score",
    "lexical",
    "validate",
    "label",
    "select",
    "gate",
    "compare",
    "probe",
    "report",
    "rubrics",
    "doctor",
    "cache",
)

DESCRIPTION = """\
Evaluate generated text with LLM judges, and know how far to trust the number.

{commands}

Run 'judgekit COMMAND --help' for a command's options and examples.
Exit codes: 0 success, 1 a gate check failed, 2 bad usage or input, 3 the judge could not judge (run
stopped), 4 finished below --min-coverage, 5 a result could not be saved (cache or run log write failed),
124 --deadline reached, 130 interrupted, 143 terminated.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="judgekit", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"judgekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="one of the commands above")
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.register(sub)
    # Each command listed once, in the description, with its own one-line help (argparse would list them
    # again, wrapped, under COMMAND).
    commands = [(a.dest, (a.help or "").replace("%%", "%")) for a in sub._choices_actions]
    sub._choices_actions.clear()
    parser.description = DESCRIPTION.format(
        commands="\n".join(f"  judgekit {name:<10} {text}" for name, text in commands)
    )
    return parser


def _command_module(name: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(f"judgekit.cli.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"judgekit.cli.{name}":
            return None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    from asyncio import CancelledError

    from judgekit.run import interrupts

    try:
        with interrupts.sigterm_as_interrupt():
            return _run(argv)
    # Outside the judging a run ends in Interrupted / Terminated; a signal that lands after it (while the
    # results are written) cancels the finished run's task instead.
    except (KeyboardInterrupt, CancelledError):
        if interrupts.terminated():
            print("judgekit: terminated (SIGTERM)", file=sys.stderr)
            return 143
        print("judgekit: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    from judgekit.errors import JudgekitError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command line, for a run's provenance
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except JudgekitError as err:
        print(f"judgekit: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        return 1


def entry() -> None:
    code = main()
    # The interpreter's last full garbage collection takes seconds once litellm is loaded (3 s on a busy
    # 2-core VM, also after Ctrl-C or SIGTERM) and frees nothing that exiting does not: skip it.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
