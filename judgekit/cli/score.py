"""``judgekit score``: judge responses with a rubric and write a score file plus a run log."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from judgekit.cli._args import add_command
from judgekit.cli.options import (
    Endpoint,
    add_batch_options,
    add_cache_options,
    add_endpoint_options,
    add_min_coverage,
    add_reasoning_options,
    add_report_option,
    add_router_option,
    add_run_limits,
    batch_settings,
    cache_choice,
    check_report,
    endpoint,
    named_judges,
    reasoning_tags,
    write_run_report,
)
from judgekit.rubric_dir import list_rubrics
from judgekit.run._gc import tune_for_cli

HELP = "judge responses with a rubric (LaMP-QA aspect checklists by default)"
DESCRIPTION = (
    "Judge each response with an LLM through a rubric and write a LaMP-QA-shaped score file, "
    "with coverage, unscored reasons, run totals, and a JSONL run log beside it."
)
EPILOG = """\
examples:
  # the example set, scored by the bundled local model (no API key; needs judgekit[local])
  judgekit score --dataset examples/lamp_qa/dataset.json --responses examples/lamp_qa/responses.json \\
      --judge local --out scores.json

  # any litellm model; all of a question's aspects in one call; 3 samples averaged
  judgekit score --dataset D --responses R --judge openai/gpt-4o-mini --mode all_aspects --samples 3 \\
      --temperature 0.7 --out scores.json

  # an OpenAI-compatible server (vLLM, llama.cpp, ...) and your own rubric folder
  judgekit score --dataset D --responses R --judge openai/my-model --api-base http://127.0.0.1:8000/v1 \\
      --rubric ./my_rubric --out scores.json

  # add ROUGE/METEOR beside the judge score, with their correlation to it
  judgekit score --dataset D --responses R --judge local --references refs.json --out scores.json

  # one criterion on a 1-5 scale, probability-weighted when the backend returns log-probabilities (G-Eval)
  judgekit score --rubric criteria --dataset examples/criteria/dataset.json \\
      --responses examples/criteria/responses.json --judge openai/gpt-4o-mini --out criteria.json

  # which of two systems answers better: both orders per pair, win/tie/loss rates with 95% CIs
  judgekit score --rubric pairwise --dataset examples/pairwise/dataset.json \\
      --responses-a examples/pairwise/responses_a.json --responses-b examples/pairwise/responses_b.json \\
      --judge openai/gpt-4o-mini --out pairwise.json
  # ... or a dataset that holds both outputs and a gold label (LLMBar layout): adds accuracy
  judgekit score --rubric pairwise --dataset examples/pairwise/llmbar.json --judge openai/gpt-4o-mini \\
      --out llmbar.json

  # check answers against gold references: correct / partially_correct / incorrect
  judgekit score --rubric reference --dataset examples/reference/dataset.json \\
      --responses examples/reference/responses.json --judge openai/gpt-4o-mini --out reference.json

  # through the provider's batch API (usually half price); a stopped run resumes the same batch
  judgekit score --dataset D --responses R --judge openai/gpt-4o-mini --batch --out scores.json

  # what the run will cost before it runs: calls after the cache, tokens, price, time
  judgekit score --dataset D --responses R --judge openai/gpt-4o-mini --dry-run

  # one judge on several deployments (endpoints or keys, rpm/tpm limits): litellm Router's model list
  judgekit score --dataset D --responses R --router examples/router.yaml --judge judge --out scores.json

  # a panel of three judges combined by majority, with per-judge scores and Krippendorff's alpha
  judgekit score --rubric reference --dataset D --responses R --judge openai/gpt-4o-mini \\
      --judge anthropic/claude-3-5-haiku-latest --judge ollama/llama3 --combine majority --out panel.json

judges:
  a litellm model string (openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/llama3, ...),
  'local' or 'local:/path/model.gguf' (llama.cpp server on 127.0.0.1, started and stopped for the run),
  or 'module:attribute' naming your own Python judge (an object with async complete(messages, params),
  or a function returning the judge's text).

guarantees:
  every aspect ends scored or explicitly unscored with a reason (never a silent 0); completions are cached
  in SQLite as they arrive, so a rerun makes no judge call and an interrupted run resumes where it stopped.
  A judge that cannot judge (unreachable, hung, 5xx on every call, a bad key, a spent quota, 429 on every
  call for --max-stall) stops the run with exit 3; a run that finishes below --min-coverage writes its score
  file with "status": "failed" and exits 4; a cache or run log write that fails (disk full, database locked)
  stops the run with exit 5 and says what was not saved; --deadline stops the run like Ctrl-C with exit 124.
  The run log is appended as judgments finish, so an interrupted run leaves a readable log.
"""


CLIENT_HELP = (
    "who calls an openai/ model at --api-base: auto/aiohttp = judgekit's lean client (fast with vLLM, "
    "llama.cpp, TGI, SGLang), litellm = litellm; other judges always use litellm (default: auto)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(sub, "score", HELP, DESCRIPTION, EPILOG)
    _inputs_outputs(p.add_argument_group("inputs and outputs"))
    _rubric(p.add_argument_group("rubric"))
    _judge(p.add_argument_group("judge"))
    _engine(p.add_argument_group("engine"))
    add_batch_options(p.add_argument_group("batch API (--batch)"))
    from judgekit.cli.estimate import add_dry_run_options

    add_dry_run_options(p.add_argument_group("estimate (--dry-run)"))
    p.set_defaults(run=run)


def _inputs_outputs(io: argparse._ArgumentGroup) -> None:
    io.add_argument(
        "--dataset",
        required=True,
        help="dataset: JSON list or JSONL of {id, question, narrative, "
        "rubric_aspects: [{aspect, reason, evidence}], ...}",
    )
    io.add_argument(
        "--responses",
        default=None,
        help='responses: {id: [{"output": text}]} (LaMP-QA), {id: text}, or JSONL rows {id, output}',
    )
    io.add_argument(
        "--responses-a",
        default=None,
        metavar="FILE",
        help="pairwise rubrics: the first system's responses (same shapes as --responses, or MT-Bench "
        "model answers); without --responses-a/-b the dataset itself must hold both responses "
        "(LLMBar input/output_1/output_2/label, AlpacaEval instruction/output_1/output_2/preference, "
        "MT-Bench judgments with conversation_a/conversation_b)",
    )
    io.add_argument(
        "--responses-b", default=None, metavar="FILE", help="pairwise rubrics: the second system's"
    )
    io.add_argument("--out", default=None, help="score file to write (JSON); required unless --dry-run")
    io.add_argument("--log", default=None, help="run log (JSONL; default: OUT with .log.jsonl)")
    add_report_option(io, "the score file", "the run ends below --min-coverage (exit 4)")
    io.add_argument(
        "--max-response-chars",
        type=int,
        default=200_000,
        help="reject responses longer than this (default: 200000); guards against runaway prompts",
    )
    io.add_argument("--references", default=None, help="reference texts: adds ROUGE/METEOR/BLEU per question")
    io.add_argument(
        "--reference-field",
        default=None,
        help="field holding the reference in a dataset-shaped "
        "references file (default: output, then reference)",
    )
    io.add_argument(
        "--metrics",
        default=None,
        help="lexical metrics with --references (comma-separated; default: rouge1,rougeL,meteor,bleu)",
    )


def _rubric(r: argparse._ArgumentGroup) -> None:
    r.add_argument(
        "--rubric",
        default="lamp_qa",
        help=f"built-in rubric name ({', '.join(list_rubrics())}) or a rubric folder "
        "(default: lamp_qa; see 'judgekit rubrics list')",
    )
    r.add_argument(
        "--mode",
        default=None,
        choices=["per_aspect", "all_aspects", "per_item", "per_order"],
        help="judging mode (default: the rubric's own; lamp_qa: per_aspect, one call per aspect; "
        "all_aspects: one call per question)",
    )


def _judge(j: argparse._ArgumentGroup) -> None:
    j.add_argument(
        "--judge",
        action="append",
        default=None,
        help="litellm model string, 'local[:model.gguf]', or 'module:attribute' (default: local); "
        "repeat for a panel: each judge scores every unit, combined by --combine",
    )
    j.add_argument(
        "--panel",
        default=None,
        metavar="FILE",
        help="YAML panel file, each judge with its own endpoint and key: judges: [{model: openai/x, "
        "api_base: URL, api_key_env: VAR, name: a}, ...] (beside any --judge; see docs/panel.md)",
    )
    j.add_argument(
        "--combine",
        default="mean",
        choices=["mean", "median", "majority"],
        help="how repeated judgments of a unit combine: the samples of a judge, then the judges of a panel "
        "(default: mean; majority falls back to the median when no value has a majority)",
    )
    j.add_argument(
        "--bootstrap",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap resamples over questions for the 95%% CIs of the score (overall, per category, per "
        "recurring aspect title) and of pairwise rates (default: 2000; 0 = no CIs, score_ci null)",
    )
    add_endpoint_options(j)
    add_router_option(j)
    j.add_argument(
        "--structured",
        default="auto",
        choices=["auto", "json_schema", "json_object", "none"],
        help="how to ask for JSON: OpenAI json_schema, llama.cpp json_object+schema, or prompt only "
        "(default: auto)",
    )
    j.add_argument("--client", default="auto", choices=["auto", "aiohttp", "litellm"], help=CLIENT_HELP)
    j.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0)")
    j.add_argument("--max-tokens", type=int, default=None, help="max tokens per answer")
    j.add_argument("--samples", type=int, default=1, help="judge each unit N times and average (default: 1)")
    j.add_argument("--seed", type=int, default=None, help="sampling seed, where the backend supports one")
    add_reasoning_options(j)


def _engine(e: argparse._ArgumentGroup) -> None:
    e.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes making litellm calls (default: one per core for runs of 200+ calls, else 1)",
    )
    e.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="judge calls in flight at most (default: 16); "
        "lowered automatically on 429 and raised again as calls succeed",
    )
    e.add_argument(
        "--max-retries", type=int, default=6, help="retries per call on 429/5xx/timeout (default: 6)"
    )
    e.add_argument(
        "--backoff",
        type=float,
        default=1.0,
        help="first retry delay in seconds, doubling with jitter; Retry-After is honoured (default: 1)",
    )
    e.add_argument(
        "--max-reasks", type=int, default=2, help="follow-ups after an unparseable answer (default: 2)"
    )
    e.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default: 120)")
    e.add_argument(
        "--breaker-window",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="stop the run when the judge's calls keep failing (refused, timed out, 5xx) with no answer for "
        "this long (default: 15); raise it to ride out a server restart",
    )
    e.add_argument(
        "--max-answer-chars",
        type=int,
        default=100_000,
        metavar="N",
        help="a judge's answer longer than this is unscored with its reason, not parsed, re-asked or cached; "
        "the run log keeps its start (default: 100000)",
    )
    add_run_limits(e)
    add_min_coverage(e)
    add_cache_options(e)
    e.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    e.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


#: ScoreSettings fields taken from the option of the same name.
_SETTINGS = (
    "rubric", "mode", "samples", "temperature", "max_tokens", "seed", "max_response_chars", "combine",
    "bootstrap", "min_coverage", "deadline", "reasoning_effort",
)  # fmt: skip


#: JudgeOptions and EngineSettings fields taken from the option of the same name.
_JUDGE = ("structured", "timeout", "workers", "client")
_ENGINE = (
    "concurrency",
    "max_retries",
    "max_reasks",
    "max_answer_chars",
    "max_stall",
    "breaker_window",
)


def _settings(args: argparse.Namespace, access: Endpoint) -> Any:
    """The run's ScoreSettings; a value pydantic refuses is reported under its option's name."""
    from pydantic import ValidationError

    from judgekit.errors import ConfigError
    from judgekit.judges.factory import JudgeOptions
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.settings import ScoreSettings

    try:
        return ScoreSettings(
            **{name: getattr(args, name) for name in _SETTINGS},
            judge=JudgeOptions(**access._asdict(), **{name: getattr(args, name) for name in _JUDGE}),
            batch=batch_settings(args),
            engine=EngineSettings(
                **{name: getattr(args, name) for name in _ENGINE},
                backoff_base=args.backoff,
                reasoning_tags=reasoning_tags(args),
            ),
        )
    except ValidationError as err:
        first = err.errors()[0]
        name = "--" + str(first["loc"][-1]).replace("_", "-")
        raise ConfigError(f"{name}: {first['msg']}") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from judgekit.errors import CoverageTooLow
    from judgekit.io import check_writable
    from judgekit.judges.panel_spec import load_panel_file
    from judgekit.run.runlog import default_log_path
    from judgekit.scoring.core import score
    from judgekit.scoring.summary import print_score_summary

    _check_paths(args)
    settings = _settings(args, endpoint(args))
    cache = cache_choice(args)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    judges = [*named_judges(args), *(load_panel_file(args.panel) if args.panel else [])] or ["local"]
    from judgekit.cli.estimate import dry_run

    if (estimated := dry_run(args, settings, judges, cache)) is not None:
        return estimated
    check_writable(args.out, "--out")  # before any judge call, not after all of them
    log = Path(args.log) if args.log else default_log_path(Path(args.out))
    check_writable(log, "--log" if args.log else "run log")
    check_report(args, {"--out": args.out, "--log" if args.log else "the run log": log})
    _configure_logging(args.quiet)
    tune_for_cli()
    try:
        result = score(
            args.dataset,
            args.responses,
            responses_a=args.responses_a,
            responses_b=args.responses_b,
            judge=judges,
            settings=settings,
            out=args.out,
            log_path=args.log,
            cache=cache,
            references=args.references,
            reference_field=args.reference_field,
            metrics=metrics,
            progress=not (args.no_progress or args.quiet),
            command=shlex.join(["judgekit", *args.argv]),  # what reproduces this run, for the report
        )
    except CoverageTooLow as err:  # the run finished: show what it got above the one error line
        if not args.quiet and err.score_file is not None:
            print_score_summary(err.score_file, args.out)
        write_run_report(args, args.out, args.quiet)  # a failed run's report is the one to look at
        raise
    if not args.quiet:
        print_score_summary(result, args.out)
        _print_extras(result)
    write_run_report(args, args.out, args.quiet)
    return 0


#: The options that name files the run reads.
_INPUTS = ("dataset", "responses", "responses_a", "responses_b", "references", "panel", "router")


def _check_paths(args: argparse.Namespace) -> None:
    """Before any work: no output (score file, run log, report, estimate, cache) is an input or another
    output."""
    from pathlib import Path

    from judgekit.io import check_no_overwrite, folder_files
    from judgekit.run.runlog import default_log_path

    log = args.log or (default_log_path(Path(args.out)) if args.out else None)
    inputs = [("--" + name.replace("_", "-"), getattr(args, name)) for name in _INPUTS]
    outputs = [
        ("--out", args.out),
        ("--log" if args.log else "the run log", log),
        ("--report", args.report),
        ("--out-estimate", args.out_estimate),
        ("--cache", args.cache),
    ]
    check_no_overwrite([*inputs, *folder_files(args.rubric, "--rubric")], outputs)


def _pct(estimate: dict[str, Any] | None) -> str:
    if not estimate or estimate.get("value") is None:
        return "n/a"
    text = f"{100 * estimate['value']:.1f}%"
    if estimate.get("ci_low") is not None and estimate.get("ci_high") is not None:
        text += f" [{100 * estimate['ci_low']:.1f}, {100 * estimate['ci_high']:.1f}]"
    return text


def _print_extras(result: Any) -> None:
    """Pairwise rates, panel figures and the score method, below the common summary."""
    lines: list[str] = []
    used = (result.meta.get("score_method") or {}).get("used") or {}
    if (result.meta.get("score_method") or {}).get("requested") == "logprob_weighted":
        lines.append("method    " + ", ".join(f"{n} {m}" for m, n in sorted(used.items())) + " judgments")
    pw = result.pairwise
    if pw:
        rates = pw["rates"]
        lines.append(
            f"pairs     {pw['judged']} of {pw['pairs']} judged in both orders; A wins {_pct(rates['win'])}, "
            f"ties {_pct(rates['tie'])}, B wins {_pct(rates['loss'])}"
            + (f", inconsistent {_pct(rates['inconsistent'])}" if pw["counts"]["inconsistent"] else "")
        )
        lines.append(f"position  orders agree on {_pct(pw['position_consistency'])} of pairs")
        labels = pw.get("labels")
        if labels:
            lines.append(
                f"labels    accuracy {100 * labels['accuracy']:.1f}% (original order "
                f"{100 * labels['accuracy_original']:.1f}%, swapped {100 * labels['accuracy_swapped']:.1f}%), "
                f"positional agreement {100 * labels['positional_agreement']:.1f}% over {labels['n']} labelled pairs"
            )
    panel = result.panel
    if panel:
        lines.append(f"panel     {len(panel['judges'])} judges combined by {panel['method']}")
        for j in panel["judges"]:
            score = "n/a" if j["score"] is None else f"{j['score']:.4f}"
            lines.append(f"  {score:>8}  {j['coverage']['ratio']:.0%} coverage  {j['identity']}")
        alpha = panel["alpha"]["units"]
        shown = ", ".join(
            f"{k} {alpha[k]:.3f}" for k in ("nominal", "ordinal", "interval") if alpha[k] is not None
        )
        lines.append(f"  Krippendorff's alpha between judges: {shown or 'n/a'} ({alpha['units']} units)")
    if lines:
        print("\n".join(lines))


def _configure_logging(quiet: bool) -> None:
    import logging
    import sys

    class BarSafeHandler(logging.Handler):
        """Prints above the progress bar instead of into it (tqdm clears and redraws its line)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                from tqdm import tqdm

                tqdm.write(self.format(record), file=sys.stderr)
            except Exception:
                self.handleError(record)

    handler = BarSafeHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("judgekit")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False
