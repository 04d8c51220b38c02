"""``judgekit probe``: re-judge a sample under counterfactual edits (bias probes) and report each effect."""

from __future__ import annotations

import argparse
from typing import Any

from judgekit.cli._args import add_command, int_at_least
from judgekit.cli.options import add_min_coverage

EPILOG = """\
examples:
  # verbosity and injection on 50 sampled questions, same judge settings (and cache) as the score run
  judgekit probe --dataset D --responses R --judge openai/gpt-4o-mini --sample 50 \\
      --probes verbosity,injection --out probe.json

  # aspect order (all_aspects mode, aspect list permuted) and pairwise position bias
  judgekit probe --dataset D --responses R --judge openai/gpt-4o-mini --probes aspect_order --out probe.json
  judgekit probe --rubric pairwise --dataset D --responses-a A --responses-b B --judge openai/gpt-4o-mini \\
      --probes position --out probe.json

  # self-preference of gpt-4o-mini (its own responses OWN vs another system's R), against a reference judge
  judgekit probe --dataset D --responses R --judge openai/gpt-4o-mini --probes self \\
      --self openai/gpt-4o-mini --self-responses OWN --reference-judge anthropic/claude-3-5-haiku-latest

probes (effect = mean over units of edited - original, on the rubric's scale; see docs/probe.md):
  verbosity     the response padded with content-free sentences (rubrics/_probes.yaml, --probe-texts)
  injection     a sentence appended that claims the response deserves the top score
  aspect_order  all of a question's aspects in one call, listed in a permuted order, vs the listed order
  position      pairwise rubrics: A's score shown first minus A's score shown second (0 = no position bias)
  self          (judge - reference judge) on --self-responses minus the same on --responses (0 = no
                self-preference); --reference-judge is a spec as for --judge, or a panel YAML file of one

exit codes:
  0  probed (whatever the effects; fail on them with `judgekit gate`, config section probes)
  2  bad input or options; 3 the judge could not judge; 4 a run scored less than --min-coverage
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(
        sub,
        "probe",
        help="bias probes: re-judge a sample under counterfactual edits, effects with CIs",
        description="Re-judge a seeded sample of questions under counterfactual edits (padding, an injected "
        "top-score claim, permuted aspects, swapped pairs) through the same engine and cache as "
        "'score', and report each effect with a paired bootstrap CI and a p-value.",
        epilog=EPILOG,
    )
    p.add_argument("--dataset", required=True, help="dataset file (as for score)")
    p.add_argument("--responses", default=None, help="responses to probe (single-response rubrics)")
    p.add_argument("--responses-a", default=None, help="pairwise rubrics: the A responses")
    p.add_argument("--responses-b", default=None, help="pairwise rubrics: the B responses")
    p.add_argument("--rubric", default="lamp_qa", help="built-in rubric name or folder (default: lamp_qa)")
    p.add_argument("--mode", default=None, help="judging mode of the rubric (default: the rubric's)")
    p.add_argument("--judge", default="local", help="the judge, as for score (default: local)")
    p.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="read the API key from this variable")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0)")
    p.add_argument("--max-tokens", type=int, default=None, help="max tokens per answer")
    p.add_argument(
        "--probes",
        default="verbosity,injection",
        help="comma-separated: verbosity, injection, aspect_order, position, self (default: verbosity,injection)",
    )
    p.add_argument(
        "--sample", type=int_at_least(1), default=None, metavar="N", help="probe N questions (seeded)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sample, the edits and the bootstrap")
    p.add_argument(
        "--bootstrap", type=int_at_least(0), default=2000, metavar="N", help="resamples (default: 2000)"
    )
    sp = p.add_argument_group("probe self (see docs/probe.md)")
    sp.add_argument(
        "--self", dest="self_model", metavar="MODEL", help="the judge's own model (the --judge spec)"
    )
    sp.add_argument("--self-responses", metavar="FILE", help="--self's responses to the dataset")
    sp.add_argument(
        "--reference-judge", metavar="SPEC", help="a spec as for --judge, or a panel YAML file of one judge"
    )
    p.add_argument("--probe-texts", default=None, metavar="FILE", help="YAML filler/injection sentences")
    p.add_argument("--out", default=None, metavar="FILE", help="write the effects as JSON")
    p.add_argument("--concurrency", type=int_at_least(1), default=16, help="judge calls in flight at most")
    p.add_argument("--max-retries", type=int_at_least(0), default=6, help="retries per call (default: 6)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default: 120)")
    add_min_coverage(p, "per run, as for score (default: 0.9)")
    p.add_argument("--cache", default=None, help="SQLite cache file (default: score's)")
    p.add_argument("--no-cache", action="store_true", help="don't read or write the cache")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from pydantic import ValidationError

    from judgekit.errors import ConfigError
    from judgekit.io import atomic_write_json, check_writable
    from judgekit.judges.factory import JudgeOptions
    from judgekit.probe.run import aprobe, load_probe_texts, terminal_lines
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.settings import ScoreSettings

    _check_paths(args)
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        raise ConfigError(f"--api-key-env: environment variable {args.api_key_env} is not set")
    try:
        settings = ScoreSettings(
            rubric=args.rubric,
            mode=args.mode,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            min_coverage=args.min_coverage,
            judge=JudgeOptions(api_base=args.api_base, api_key=api_key, timeout=args.timeout),
            engine=EngineSettings(concurrency=args.concurrency, max_retries=args.max_retries),
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"--{str(first['loc'][-1]).replace('_', '-')}: {first['msg']}") from None
    if args.no_cache and args.cache:
        raise ConfigError("--cache and --no-cache contradict each other")
    if args.out:
        check_writable(args.out, "--out")
    texts = load_probe_texts(args.probe_texts)
    reference = _reference_judge(args.reference_judge)
    from judgekit.run.interrupts import run_blocking

    result = run_blocking(
        lambda: aprobe(
            args.dataset,
            args.responses,
            responses_a=args.responses_a,
            responses_b=args.responses_b,
            judge=args.judge,
            settings=settings,
            probes=[p.strip() for p in args.probes.split(",") if p.strip()],
            sample=args.sample,
            seed=args.seed,
            bootstrap=args.bootstrap,
            texts=texts,
            cache=False if args.no_cache else (args.cache or True),
            self_model=args.self_model,
            self_responses=args.self_responses,
            reference_judge=reference,
        )
    )
    if args.out:
        atomic_write_json(args.out, result)
    print("\n".join(terminal_lines(result)))
    return 0


def _check_paths(args: argparse.Namespace) -> None:
    """Before any work: neither --out nor --cache is one of the files the probe reads, nor each other."""
    from judgekit.io import check_no_overwrite, folder_files

    names = ("dataset", "responses", "responses_a", "responses_b", "self_responses", "probe_texts")
    inputs = [("--" + name.replace("_", "-"), getattr(args, name)) for name in names]
    if args.reference_judge and args.reference_judge.endswith((".yaml", ".yml")):
        inputs.append(("--reference-judge", args.reference_judge))
    inputs += folder_files(args.rubric, "--rubric")
    check_no_overwrite(inputs, [("--out", args.out), ("--cache", args.cache)])


def _reference_judge(spec: str | None) -> Any:
    """``--reference-judge``: a judge spec, or a panel YAML file holding exactly one judge."""
    if spec is None or not spec.endswith((".yaml", ".yml")):
        return spec
    from judgekit.errors import ConfigError
    from judgekit.judges.panel_spec import load_panel_file

    judges = load_panel_file(spec)
    if len(judges) != 1:
        raise ConfigError(f"--reference-judge {spec}: the file must hold one judge, not {len(judges)}")
    return judges[0]
