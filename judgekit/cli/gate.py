"""``judgekit gate``: CI regression checks against a stored baseline, with floors and a judge-drift check."""

from __future__ import annotations

import argparse

from judgekit.cli import options as shared
from judgekit.cli._args import add_command

HELP = "CI regression checks against a stored baseline"
DESCRIPTION = (
    "Check a candidate score file against floors, a stored baseline (a paired significance "
    "test that tells noise from a real drop) and a judge-drift set; exit 0 pass, 1 fail, 2 usage/input "
    "error, 3 the drift judge could not judge. Writes JUnit XML, a Markdown summary and a JSON result."
)
EPILOG = """\
examples:
  # in CI: score the candidate, then gate it against the stored baseline
  judgekit score --dataset D --responses R --judge openai/gpt-4o-mini --out candidate.json
  judgekit gate --candidate candidate.json --baseline baseline.json --config judgekit-gate.yaml \\
      --junit gate.xml --summary "$GITHUB_STEP_SUMMARY" --json gate.json

  # floors only (no baseline yet), failing on any rubric/judge mismatch
  judgekit gate --candidate candidate.json --config judgekit-gate.yaml --strict

  # planning: how many questions detect a drop of 0.02 (SD of paired differences 0.15; or from files)
  judgekit gate --plan --drop 0.02 --sd 0.15 [--alpha 0.05] [--power 0.8]
  judgekit gate --plan --drop 0.02 --baseline baseline.json [--candidate candidate.json]

  # the drift set was scored in an earlier step: use that file instead of re-scoring
  judgekit gate --candidate candidate.json --baseline baseline.json --config judgekit-gate.yaml \\
      --drift-scores drift.json

checks (declared in the YAML --config; unknown keys are errors; see docs/gate.md):
  floors        overall score, coverage, per-aspect / per-category means, lexical metrics >= a floor
  regression    mean paired difference over shared questions; fails only when the drop exceeds the
                tolerance AND a one-sided paired test (sign-flip permutation, or bootstrap; fixed seed)
                is significant at alpha; reports the effect, its bootstrap CI and p, and the smallest
                drop the test can detect at 80% power (--plan: the questions needed for a given drop)
  per_question  the questions that fell most, with their aspect-level changes
  drift         re-scores a pinned human-labelled set with the candidate's judge settings (free with a
                warm cache) and fails when an agreement statistic falls below its floor
  provenance    baseline and candidate judged with the same rubric and judge settings (warns; --strict fails)

exit codes:
  0  every check passed (warnings allowed)
  1  a check failed: quality dropped, a floor was missed, the judge drifted, or (--strict) inputs mismatch
  2  usage or input error (bad flags, unreadable or invalid files, bad config, a NaN / infinite score or one
     outside the rubric's scale, nothing to check); no output is written
  3  the judge could not judge the drift set (it scored none of it); no output is written
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(sub, "gate", HELP, DESCRIPTION, EPILOG)
    io = p.add_argument_group("inputs")
    io.add_argument(
        "--candidate",
        default=None,
        help="score file of the change under test (judgekit score); required unless --plan",
    )
    io.add_argument(
        "--baseline", default=None, help="stored score file to compare with (omit: no regression check)"
    )
    io.add_argument(
        "--config", default=None, help="gate YAML file (default: a regression check with defaults)"
    )
    io.add_argument(
        "--strict",
        default=None,
        action="store_true",
        help="fail when baseline, candidate (or drift set) were scored with different rubrics or judge settings",
    )
    pl = p.add_argument_group(
        "planning (--plan: print the questions needed to detect a drop, then exit; no gate is run)"
    )
    pl.add_argument("--plan", action="store_true", help="how many paired questions detect a drop of --drop?")
    pl.add_argument("--drop", default=None, metavar="X", help="the mean drop to detect, in score units")
    pl.add_argument(
        "--sd",
        default=None,
        metavar="SD",
        help="SD of the paired differences (else from --baseline's question scores, or from --baseline and "
        "--candidate's paired differences)",
    )
    pl.add_argument(
        "--alpha",
        default=None,
        metavar="A",
        help="one-sided significance level (default: the config's regression.alpha, else 0.05)",
    )
    pl.add_argument("--power", default=None, metavar="P", help="the power to reach (default 0.8)")
    out = p.add_argument_group("outputs (written atomically, and only when the gate ran)")
    out.add_argument("--junit", default=None, metavar="FILE", help="JUnit XML: one test case per check")
    out.add_argument(
        "--summary", default=None, metavar="FILE", help='Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")'
    )
    out.add_argument(
        "--append-summary", action="store_true", help="append to --summary instead of replacing it"
    )
    out.add_argument("--json", default=None, metavar="FILE", help="the full result as JSON")
    shared.add_report_option(out, "the result", "a check fails (exit 1)")
    out.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    d = p.add_argument_group("judge drift (only with a 'drift' section in the config)")
    d.add_argument(
        "--drift-scores",
        default=None,
        metavar="FILE",
        help="score file of the pinned drift set, instead of re-scoring it",
    )
    d.add_argument(
        "--drift-fresh",
        action="store_true",
        default=None,
        help="re-ask the judge for the drift set instead of reading the cache (catches a model changed "
        "under the same name; costs one call per drift unit; e.g. in a nightly job)",
    )
    d.add_argument(
        "--judge",
        default=None,
        help="judge for re-scoring the drift set (default: the candidate's, read from its metadata)",
    )
    shared.add_endpoint_options(d)
    shared.add_cache_options(d)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from judgekit.errors import ConfigError
    from judgekit.gate import gate, junit_xml, markdown_summary, terminal_lines
    from judgekit.io import atomic_write_json, atomic_write_text, check_no_overwrite, check_writable

    check_no_overwrite(
        [(f"--{name}", getattr(args, name)) for name in ("candidate", "baseline", "config")]
        + [("--drift-scores", args.drift_scores)],
        [(f"--{name}", getattr(args, name)) for name in ("junit", "summary", "json", "report", "cache")],
    )
    if args.plan:
        return _plan(args)
    planning = [f for f in ("drop", "sd", "alpha", "power") if getattr(args, f) is not None]
    if planning:
        raise ConfigError(f"--{planning[0]} goes with --plan")
    if args.candidate is None:
        raise ConfigError("the following argument is required: --candidate (or --plan)")
    flags = {"--junit": args.junit, "--summary": args.summary, "--json": args.json}
    for flag, path in flags.items():
        if path:
            check_writable(path, flag)
    outputs = [x for x in flags.values() if x]
    if len(set(outputs)) != len(outputs):
        raise ConfigError("--junit, --summary and --json must name different files")
    if args.append_summary and not args.summary:
        raise ConfigError("--append-summary needs --summary FILE")
    shared.check_report(args, flags)
    cache = shared.cache_choice(args)
    options = None
    if args.api_base or args.api_key_env:
        from judgekit.judges.factory import JudgeOptions

        options = JudgeOptions(**shared.endpoint(args)._asdict())

    inputs = (args.candidate, args.baseline, args.config)
    result = gate(
        *inputs,
        strict=args.strict,
        cache=cache,
        drift_scores=args.drift_scores,
        drift_judge=args.judge,
        drift_judge_options=options,
        drift_fresh=args.drift_fresh,
    )

    # render everything first, so that a failure leaves no output behind
    summary = None
    if args.summary:
        summary = (_existing(args.summary) if args.append_summary else "") + markdown_summary(result)
    junit = junit_xml(result) if args.junit else None
    if args.json:
        atomic_write_json(args.json, result.to_json())
    if junit is not None:
        atomic_write_text(args.junit, junit)
    if summary is not None:
        atomic_write_text(args.summary, summary)
    if not args.quiet:
        print("\n".join(terminal_lines(result)))
        sys.stdout.flush()
    shared.write_run_report(args, args.json or result, args.quiet)  # also for a failed gate
    return 0 if result.passed else 1


def _plan(args: argparse.Namespace) -> int:
    """``--plan``: the number of paired questions needed, printed (and written to --json); exits 0."""
    from judgekit.errors import ConfigError
    from judgekit.gate.config import load_config
    from judgekit.gate.plan import plan
    from judgekit.io import atomic_write_json, check_writable

    unused = [
        f"--{f.replace('_', '-')}" for f in ("junit", "summary", "drift_scores", "judge") if getattr(args, f)
    ]
    if unused:
        raise ConfigError(f"--plan runs no gate: drop {unused[0]} (--json FILE writes the plan)")
    if args.drop is None:
        raise ConfigError("--plan needs --drop X: the mean drop to detect, in score units")
    if args.json:
        check_writable(args.json, "--json")
    alpha = _number("--alpha", args.alpha)
    if alpha is None:
        reg = load_config(args.config).regression if args.config else None
        alpha = reg.alpha if reg is not None else 0.05
    power = _number("--power", args.power)
    answer = plan(
        _number("--drop", args.drop) or 0.0,
        sd=_number("--sd", args.sd),
        baseline=args.baseline,
        candidate=args.candidate,
        alpha=alpha,
        power=0.8 if power is None else power,
    )
    if args.json:
        atomic_write_json(args.json, answer.to_json())
    if not args.quiet:
        print(answer.message)
        if answer.assumption:
            print("assumed: " + answer.assumption)
    return 0


def _number(flag: str, text: str | None) -> float | None:
    from judgekit.errors import ConfigError

    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{flag}: expected a number, got {text!r}") from None


def _existing(path: str) -> str:
    """The summary file's current text (to append to), ending in a blank line."""
    from pathlib import Path

    from judgekit.errors import ConfigError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--summary {p}: cannot append ({err})") from None
    return text if not text or text.endswith("\n\n") else text.rstrip("\n") + "\n\n"
