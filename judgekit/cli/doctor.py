"""``judgekit doctor``: a self-check to run when something fails (the checks live in judgekit.doctor)."""

from __future__ import annotations

import argparse

from judgekit.cli._args import add_command

HELP = "check Python, packages, CPU vs llama.cpp build, the local judge, WordNet and the cache"
DESCRIPTION = """\
Check this machine's judgekit setup, one line per check ("ok", "warn", "FAIL" or "skip"):

  python           the interpreter and its version (3.11+)
  packages         judgekit's dependencies and the local judge's packages, with versions
  cpu              the CPU and its vector features (AVX2, FMA, AVX-512, AMX)
  llama.cpp build  portable or native, which instructions it was compiled to use, and whether this CPU
                   has them all (a build that uses one it lacks dies with SIGILL at the first call)
  local model      the GGUF file the local judge serves (or --model PATH)
  local judge      really starts the llama.cpp server and makes one constrained judge call through the
                   same path as 'judgekit score --judge local', with both timings (seconds; --skip-local)
  wordnet          whether METEOR finds WordNet (without it METEOR skips synonym matches)
  cache            where judgments are cached, how many, and how big

Settings come from the same environment as a run: JUDGEKIT_CACHE_DIR, JUDGEKIT_MODEL_DIR,
JUDGEKIT_LOCAL_SERVER_CMD. Attach the output to a bug report.
"""

EPILOG = """\
examples:
  judgekit doctor
  judgekit doctor --skip-local                 # seconds: everything but starting the local judge
  judgekit doctor --model ~/models/judge.gguf  # check and serve your own GGUF
  judgekit doctor --json > doctor.json

exit codes: 0 every check passed (warnings allowed), 1 a check failed.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(subparsers, "doctor", HELP, DESCRIPTION, EPILOG)
    p.add_argument(
        "--skip-local", action="store_true", help="do not start the local judge (the only slow check)"
    )
    p.add_argument(
        "--model", metavar="PATH", default=None, help="a GGUF file to check instead of the default model"
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON instead of lines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from judgekit.doctor import Check, run_doctor

    def show(check: Check) -> None:
        print(check.line(), flush=True)

    report = run_doctor(skip_local=args.skip_local, model=args.model, on_check=None if args.json else show)
    if args.json:
        print(report.model_dump_json(indent=2))
    elif not report.ok:
        names = ", ".join(check.name for check in report.failed)
        print(f"{len(report.failed)} check(s) failed: {names}")
    return 0 if report.ok else 1
