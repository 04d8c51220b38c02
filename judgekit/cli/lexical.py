"""``judgekit lexical``: ROUGE / METEOR / BLEU against references, and LaMP / LongLaMP presets."""

from __future__ import annotations

import argparse
from typing import Any

from judgekit.cli._args import add_command, int_at_least

HELP = "ROUGE / METEOR / BLEU and LaMP / LongLaMP benchmark presets"
DESCRIPTION = """\
Score predictions against reference texts with ROUGE-1/2/L/Lsum (rouge-score, Porter stemming on),
METEOR (nltk, with WordNet synonyms when installed) and BLEU (nltk, smoothing method1). Corpus-level
figures are the mean of item-level scores; several references per item are supported.

Predictions: {id: text}, {id: [{"output": text}]} (LaMP-QA responses), rows {"id", "output"} as a
JSON list or JSONL, or LaMP's {"task": ..., "golds": [{"id", "output"}]}.
References: the same shapes, e.g. the dataset itself (rows with an "output" or "reference" field,
or the field named by --reference-field) or a separate {id: text} / {id: [text, ...]} file.
"""

EPILOG = """\
examples:
  judgekit lexical --predictions preds.json --references dataset.json --out lexical.json
  judgekit lexical --predictions responses.json --references refs.json --metrics rouge1,rouge2,rougeL,meteor
  judgekit lexical --predictions preds.jsonl --references test.jsonl --reference-field answer
  judgekit lexical --benchmark lamp-3 --predictions lamp3_preds.json --references lamp3_golds.json
  judgekit lexical --benchmark longlamp --predictions preds.json --references longlamp_test.json

benchmarks (--benchmark):
  lamp-1, lamp-2   accuracy and macro-F1 over the task's labels (other answers count as wrong)
  lamp-3           MAE and RMSE (a non-number maps to the farther of 1 and 5, as LaMP does)
  lamp-4 .. lamp-7 ROUGE-1 and ROUGE-L F (stemming off, as LaMP's script)
  longlamp         ROUGE-1, ROUGE-L F and METEOR (stemming on)

METEOR needs WordNet for its synonym stage; without it METEOR uses exact and stem matches and says
so. Offline setup: apt-get install wordnet-base wordnet-sense-index && python -m judgekit.lexical.wordnet install
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(subparsers, "lexical", HELP, DESCRIPTION, EPILOG)
    p.add_argument("--predictions", required=True, metavar="FILE", help="predictions / responses file")
    p.add_argument(
        "--references",
        "--dataset",
        dest="references",
        required=True,
        metavar="FILE",
        help="references file, or the dataset holding them",
    )
    p.add_argument(
        "--reference-field",
        metavar="NAME",
        default=None,
        help="field holding the reference text (default: 'output', then 'reference')",
    )
    p.add_argument(
        "--prediction-field",
        metavar="NAME",
        default=None,
        help="field holding the prediction text (default: 'output', then 'prediction')",
    )
    p.add_argument(
        "--id-field", metavar="NAME", default="id", help="id field of row-shaped files (default: id)"
    )
    p.add_argument(
        "--metrics",
        metavar="LIST",
        default=None,
        help="comma-separated: rouge1, rouge2, rougeL, rougeLsum, meteor, bleu (default: rouge1,rougeL,meteor,bleu)",
    )
    p.add_argument(
        "--benchmark",
        metavar="NAME",
        default=None,
        help="a benchmark's own metrics: lamp-1 ... lamp-7, longlamp",
    )
    p.add_argument(
        "--stemmer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Porter stemming in ROUGE (default: on; a preset uses its benchmark's setting)",
    )
    p.add_argument(
        "--processes",
        type=int_at_least(1),
        default=None,
        metavar="N",
        help="worker processes (default: all cores when the input is large enough; 1 = no pool)",
    )
    p.add_argument(
        "--out", metavar="FILE", default=None, help="write the full report (per item and overall) as JSON"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import warnings
    from pathlib import Path

    from judgekit.errors import ConfigError
    from judgekit.io import atomic_write_text, check_no_overwrite, check_writable
    from judgekit.lexical import WordNetMissingWarning

    check_no_overwrite(
        [("--predictions", args.predictions), ("--references", args.references)], [("--out", args.out)]
    )
    out_path = Path(args.out) if args.out else None
    if out_path is not None:
        check_writable(out_path, "--out")
        if not out_path.parent.is_dir():
            raise ConfigError(f"--out: folder {out_path.parent} does not exist")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    inputs = {"predictions": str(args.predictions), "references": str(args.references)}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WordNetMissingWarning)
        scored = _benchmark if args.benchmark is not None else _metrics
        payload, table = scored(args, inputs, progress)
    for w in caught:
        if issubclass(w.category, WordNetMissingWarning):
            print(f"judgekit: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)

    if out_path is not None:
        atomic_write_text(out_path, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    print(table)
    if out_path is not None:
        print(f"wrote {out_path}")
    return 0


def _benchmark(args: argparse.Namespace, inputs: dict[str, str], progress: bool) -> tuple[Any, str]:
    """A benchmark preset's report (as JSON data) and its table."""
    from judgekit.errors import ConfigError
    from judgekit.lexical.presets import format_preset, get_preset, run_preset

    if args.metrics is not None:
        raise ConfigError("--metrics and --benchmark exclude each other: a benchmark fixes its metrics")
    get_preset(args.benchmark)  # unknown name -> ConfigError before reading any file
    report = run_preset(
        args.benchmark,
        args.predictions,
        args.references,
        reference_field=args.reference_field,
        prediction_field=args.prediction_field,
        id_field=args.id_field,
        stemmer=args.stemmer,
        processes=args.processes,
        progress=progress,
    )
    report.inputs = inputs
    return report.model_dump(mode="json"), format_preset(report)


def _metrics(args: argparse.Namespace, inputs: dict[str, str], progress: bool) -> tuple[Any, str]:
    """The chosen metrics' report (as JSON data) and its table."""
    from judgekit.lexical import (
        DEFAULT_METRICS,
        check_ids,
        compute_lexical,
        format_table,
        load_predictions,
        load_references,
        parse_metrics,
    )

    metrics = parse_metrics(args.metrics) if args.metrics is not None else DEFAULT_METRICS
    predictions = load_predictions(args.predictions, args.prediction_field, id_field=args.id_field)
    references = load_references(args.references, args.reference_field, id_field=args.id_field)
    check_ids(
        predictions, references, predictions_name=str(args.predictions), references_name=str(args.references)
    )
    report = compute_lexical(
        predictions,
        references,
        metrics,
        stemmer=True if args.stemmer is None else args.stemmer,
        processes=args.processes,
        progress=progress,
    )
    report.inputs = inputs
    return report.model_dump(mode="json"), format_table(report)
