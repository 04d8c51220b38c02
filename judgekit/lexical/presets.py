"""Benchmark presets: the metrics LaMP (tasks 1-7) and LongLaMP report, computed as they define them.

``--benchmark lamp-1 ... lamp-7`` and ``--benchmark longlamp`` pick the metrics and read LaMP's file
layout (``{"task": "LaMP_3", "golds": [{"id": ..., "output": ...}]}``, the same for golds and
predictions); every other layout :func:`judgekit.lexical.load_references` accepts works too.

- LaMP-1, LaMP-2 (classification): accuracy and macro-F1 over the task's label set. A prediction
  outside the set (after stripping whitespace; labels are case-sensitive) is malformed and counts
  as wrong; each label of the set counts in the macro average, with F1 = 0 for a label that is
  neither predicted nor gold.
- LaMP-3 (rating 1-5): MAE and RMSE. A prediction that is not a finite number is malformed and is
  replaced by whichever of 1 and 5 lies farther from the gold rating, as LaMP's evaluator does.
- LaMP-4 to LaMP-7 (short generation): ROUGE-1 and ROUGE-L F, stemming off (as LaMP's script).
- LongLaMP (long-form generation): ROUGE-1 and ROUGE-L F and METEOR, stemming on.

Where a preset differs from the original script, :attr:`Preset.differences` says so and the report
repeats it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError, InputError
from judgekit.lexical import (
    LexicalReport,
    check_ids,
    compute_lexical,
    load_predictions,
    load_references,
)

Kind = Literal["classification", "regression", "generation"]

LAMP_1_LABELS = ("[1]", "[2]")
LAMP_2_LABELS = (
    "sci-fi",
    "based on a book",
    "comedy",
    "action",
    "twist ending",
    "dystopia",
    "dark comedy",
    "classic",
    "psychology",
    "fantasy",
    "romance",
    "thought-provoking",
    "social commentary",
    "violence",
    "true story",
)
LAMP_3_LABELS = ("1", "2", "3", "4", "5")

_HF_ROUGE = (
    "LaMP's script scores ROUGE with Hugging Face evaluate, which reports the mid-point (median) of "
    "1,000 unseeded bootstrap resamples of the item mean; judgekit reports the plain mean of item "
    "F-scores (same rouge-score library, same tokenizer; the two differ by well under 0.001 on "
    "typical test sets)"
)
_LAMP_STRIP = "predictions and golds are stripped of surrounding whitespace, as in LaMP's script"


@dataclass(frozen=True)
class Preset:
    name: str
    task: str
    title: str
    kind: Kind
    metrics: tuple[str, ...]
    labels: tuple[str, ...] = ()
    stemmer: bool = False
    differences: tuple[str, ...] = field(default_factory=tuple)

    def matches_task(self, task: str) -> bool:
        """Whether a LaMP file's ``task`` value belongs to this preset (LaMP_3 ~ LaMP-3 ~ lamp_3)."""
        norm = task.strip().lower().replace("-", "_")
        if self.name == "longlamp":
            return norm.startswith("longlamp")
        return norm == self.task.lower()


def _lamp_classification(n: int, title: str, labels: tuple[str, ...], extra: tuple[str, ...]) -> Preset:
    return Preset(
        name=f"lamp-{n}",
        task=f"LaMP_{n}",
        title=title,
        kind="classification",
        metrics=("accuracy", "f1"),
        labels=labels,
        differences=(
            _LAMP_STRIP,
            "a gold label outside the label set is an input error here; LaMP's script maps it to -1 silently",
            *extra,
        ),
    )


def _lamp_generation(n: int, title: str) -> Preset:
    return Preset(
        name=f"lamp-{n}", task=f"LaMP_{n}", title=title, kind="generation", metrics=("rouge1", "rougeL"),
        stemmer=False, differences=(_HF_ROUGE,),
    )  # fmt: skip


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _lamp_classification(1, "Personalized Citation Identification", LAMP_1_LABELS, ()),
        _lamp_classification(
            2,
            "Personalized Movie Tagging",
            LAMP_2_LABELS,
            (
                "label set: the 15 movie tags of LaMP's current LaMP-2 (LaMP/data/datasets.py); the "
                "repository's eval/evaluation.py still lists the news categories of the first LaMP-2 "
                "release: pass labels=... to compute_preset for that version",
            ),
        ),
        Preset(
            name="lamp-3",
            task="LaMP_3",
            title="Personalized Product Rating",
            kind="regression",
            metrics=("mae", "rmse"),
            labels=LAMP_3_LABELS,
            differences=(
                _LAMP_STRIP,
                "'nan' and 'inf' count as malformed here (mapped to 1 or 5); LaMP's float() accepts "
                "them and the MAE becomes nan or inf",
                "numbers outside 1-5 are kept as LaMP does, and counted in out_of_range",
            ),
        ),
        _lamp_generation(4, "Personalized News Headline Generation"),
        _lamp_generation(5, "Personalized Scholarly Title Generation"),
        _lamp_generation(6, "Personalized Email Subject Generation"),
        _lamp_generation(7, "Personalized Tweet Paraphrasing"),
        Preset(
            name="longlamp",
            task="LongLaMP",
            title="LongLaMP personalized long-form generation",
            kind="generation",
            metrics=("rouge1", "rougeL", "meteor"),
            stemmer=True,
            differences=(
                "ROUGE is the plain mean of item F-scores with stemming on; scripts built on Hugging "
                "Face evaluate default to stemming off and report a bootstrap mid-point",
                "METEOR tokenises with NLTK's Punkt (untrained) + NLTKWordTokenizer; evaluate's "
                "METEOR uses nltk.word_tokenize, whose pretrained Punkt model also knows English "
                "abbreviations ('Dr.', 'e.g.'): the tokens differ only around such abbreviations",
                "METEOR uses WordNet synonyms only when WordNet is installed (see meteor_mode)",
            ),
        ),
    )
}
BENCHMARK_NAMES = tuple(PRESETS)


class PresetReport(BaseModel):
    """A benchmark's own metrics, with malformed predictions counted and differences stated."""

    model_config = ConfigDict(extra="forbid")

    benchmark: str
    task: str
    title: str
    n: int
    metrics: dict[str, float]
    malformed: int
    malformed_ids: list[str] = Field(default_factory=list)
    aggregation: str
    labels: list[str] = Field(default_factory=list)
    items: dict[str, dict[str, Any]] = Field(default_factory=dict)
    lexical: LexicalReport | None = None
    differences: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    inputs: dict[str, str] = Field(default_factory=dict)


def get_preset(name: str) -> Preset:
    key = name.strip().lower().replace("_", "-")
    if key not in PRESETS:
        raise ConfigError(f"unknown benchmark {name!r}; valid benchmarks: {', '.join(BENCHMARK_NAMES)}")
    return PRESETS[key]


def _single(references: Mapping[str, Sequence[str]], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item_id, refs in references.items():
        if len(refs) != 1:
            raise InputError(f"golds: id {item_id!r}: expected one {what}, got {len(refs)}")
        out[item_id] = refs[0]
    return out


def _parse_number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _classification(
    preset: Preset,
    predictions: Mapping[str, str],
    golds: Mapping[str, str],
    labels: Sequence[str],
) -> tuple[dict[str, float], dict[str, dict[str, Any]], list[str]]:
    index = {label: i for i, label in enumerate(labels)}
    ids = list(golds)
    bad_gold = [i for i in ids if golds[i].strip() not in index]
    if bad_gold:
        shown = ", ".join(f"{i!r} ({golds[i]!r})" for i in bad_gold[:5])
        raise InputError(
            f"golds: {len(bad_gold)} gold label(s) outside the {preset.name} label set: {shown}; "
            f"labels: {', '.join(labels)}"
        )
    y_true = np.array([index[golds[i].strip()] for i in ids], dtype=np.int64)
    y_pred = np.array([index.get(predictions[i].strip(), -1) for i in ids], dtype=np.int64)
    accuracy = float(np.mean(y_true == y_pred))
    f1s = []
    for k in range(len(labels)):
        tp = int(np.sum((y_pred == k) & (y_true == k)))
        fp = int(np.sum((y_pred == k) & (y_true != k)))
        fn = int(np.sum((y_pred != k) & (y_true == k)))
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    macro_f1 = float(np.mean(f1s))
    malformed = [i for i, p in zip(ids, y_pred, strict=True) if p < 0]
    items = {
        i: {
            "prediction": predictions[i],
            "gold": golds[i],
            "valid": bool(p >= 0),
            "correct": bool(p == t),
        }
        for i, p, t in zip(ids, y_pred, y_true, strict=True)
    }
    return {"accuracy": accuracy, "f1": macro_f1}, items, malformed


def _regression(
    predictions: Mapping[str, str], golds: Mapping[str, str]
) -> tuple[dict[str, float], dict[str, dict[str, Any]], list[str], list[str]]:
    ids = list(golds)
    gold_values: list[float] = []
    for i in ids:
        value = _parse_number(golds[i])
        if value is None:
            raise InputError(f"golds: id {i!r}: field 'output': rating {golds[i]!r} is not a number")
        gold_values.append(value)
    pred_values: list[float] = []
    malformed: list[str] = []
    out_of_range: list[str] = []
    for i, gold in zip(ids, gold_values, strict=True):
        value = _parse_number(predictions[i])
        if value is None:
            malformed.append(i)
            value = 1.0 if abs(1.0 - gold) > abs(5.0 - gold) else 5.0
        elif not 1.0 <= value <= 5.0:
            out_of_range.append(i)
        pred_values.append(value)
    y = np.array(gold_values, dtype=np.float64)
    p = np.array(pred_values, dtype=np.float64)
    err = p - y
    metrics = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}
    bad = set(malformed)
    items = {
        i: {
            "prediction": predictions[i],
            "gold": golds[i],
            "value": float(v),
            "valid": i not in bad,
            "abs_error": float(abs(e)),
        }
        for i, v, e in zip(ids, p, err, strict=True)
    }
    return metrics, items, malformed, out_of_range


def compute_preset(
    benchmark: str,
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    *,
    stemmer: bool | None = None,
    labels: Sequence[str] | None = None,
    processes: int | None = None,
    progress: bool = False,
) -> PresetReport:
    """Compute a benchmark's metrics over ``predictions`` ({id: text}) and golds ({id: [text]}).

    ``stemmer`` overrides the preset's ROUGE stemming; ``labels`` overrides the label set of a
    classification task. Ids must match exactly, as LaMP's evaluator requires.
    """
    preset = get_preset(benchmark)
    check_ids(predictions, references, references_name="golds")
    if not references:
        raise InputError("no items to score")
    malformed: list[str]
    notes: list[str] = []
    lexical: LexicalReport | None = None
    label_list = list(labels) if labels is not None else list(preset.labels)
    if preset.kind == "classification":
        metrics, items, malformed = _classification(
            preset, predictions, _single(references, "label"), label_list
        )
        aggregation = "accuracy over items; macro-F1 = unweighted mean of per-label F1 over the label set"
    elif preset.kind == "regression":
        metrics, items, malformed, out_of_range = _regression(predictions, _single(references, "rating"))
        aggregation = "mean absolute error and root mean squared error over items"
        if out_of_range:
            notes.append(f"{len(out_of_range)} numeric prediction(s) outside 1-5 kept as is (out_of_range)")
    else:
        lexical = compute_lexical(
            predictions,
            references,
            preset.metrics,
            stemmer=preset.stemmer if stemmer is None else stemmer,
            processes=processes,
            progress=progress,
        )
        metrics = {m: lexical.overall[f"{m}_f" if m.startswith("rouge") else m] for m in preset.metrics}
        items = {}
        malformed = [i for i in references if not predictions[i].strip()]
        aggregation = "mean of item-level scores (ROUGE: F-measure)"
        notes.extend(n for n in lexical.notes if "empty prediction" not in n)
    if malformed:
        what = {
            "classification": "outside the label set, counted as wrong",
            "regression": "not a number, mapped to the farther of 1 and 5",
            "generation": "empty, scored 0",
        }[preset.kind]
        notes.insert(0, f"{len(malformed)} malformed prediction(s) ({what})")
    differences = list(preset.differences)
    if preset.kind == "generation" and stemmer is not None and stemmer != preset.stemmer:
        differences.insert(
            0,
            f"stemming turned {'on' if stemmer else 'off'} (the preset has it {'on' if preset.stemmer else 'off'})",
        )
    return PresetReport(
        benchmark=preset.name,
        task=preset.task,
        title=preset.title,
        n=len(references),
        metrics=metrics,
        malformed=len(malformed),
        malformed_ids=malformed[:20],
        aggregation=aggregation,
        labels=label_list if preset.kind != "generation" else [],
        items=items,
        lexical=lexical,
        differences=differences,
        notes=notes,
    )


def _task_of(path: str | Path) -> str | None:
    """The ``task`` of a LaMP-layout JSON file, or None for other layouts."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # the loaders report unreadable files with a precise message
    if isinstance(data, dict) and "golds" in data and isinstance(data.get("task"), str):
        return str(data["task"])
    return None


def run_preset(
    benchmark: str,
    predictions_path: str | Path,
    references_path: str | Path,
    *,
    reference_field: str | None = None,
    prediction_field: str | None = None,
    id_field: str = "id",
    stemmer: bool | None = None,
    labels: Sequence[str] | None = None,
    processes: int | None = None,
    progress: bool = False,
) -> PresetReport:
    """Read the two files (LaMP layout or any layout the loaders accept) and :func:`compute_preset`.

    A LaMP-layout file whose ``task`` belongs to another benchmark is a ConfigError.
    """
    preset = get_preset(benchmark)
    predictions = load_predictions(predictions_path, prediction_field, id_field=id_field)
    references = load_references(references_path, reference_field, id_field=id_field)
    for path in (references_path, predictions_path):
        task = _task_of(path)
        if task is not None and not preset.matches_task(task):
            raise ConfigError(f"{path}: task {task!r} does not match --benchmark {preset.name}")
    check_ids(
        predictions,
        references,
        predictions_name=str(predictions_path),
        references_name=str(references_path),
    )
    return compute_preset(
        preset.name,
        predictions,
        references,
        stemmer=stemmer,
        labels=labels,
        processes=processes,
        progress=progress,
    )


def format_preset(report: PresetReport) -> str:
    """A readable summary of a preset's figures."""
    names = {"accuracy": "accuracy", "f1": "macro-F1", "mae": "MAE", "rmse": "RMSE"}
    names.update({"rouge1": "ROUGE-1 F", "rougeL": "ROUGE-L F", "meteor": "METEOR"})
    lines = [
        f"{report.benchmark} ({report.title}): {report.n} items, {report.malformed} malformed prediction(s)",
        f"  {report.aggregation}",
    ]
    if report.lexical is not None and report.lexical.meteor_mode:
        lines.append(f"  METEOR mode: {report.lexical.meteor_mode}")
    for key, value in report.metrics.items():
        lines.append(f"  {names.get(key, key):<10}{value:>9.4f}")
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)
