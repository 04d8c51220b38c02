"""``judgekit validate``: how well does a judge agree with human labels, and how far is it from human level?

Inputs (see ``docs/validate.md``):
  judge   rows ``{"id", "score"}`` (JSON list or JSONL; ``"scores": {dimension: value}`` or a ``"dimension"``
          field for several dimensions), a judgekit score file (question or aspect level), raw judge
          completions ``{"id", "completions": [text, ...]}`` parsed with a rubric, or for ``pairwise=True``
          rows ``{"id", "winner_original", "winner_swapped"}``.
  human   CSV / TSV / JSON / JSONL labels in long form (``id, annotator, label`` or one column per dimension,
          or a ``dimension`` column), wide form (``id`` plus one column per annotator; ``dimension:annotator``
          columns for several dimensions) or an already-averaged column.

The output is an ``AgreementReport`` (pydantic; ``model_dump_json`` gives agreement.json) and
``format_report`` renders the terminal table. Statistics live in ``judgekit.agreement``.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judgekit import agreement as ag
from judgekit._callable import make_module_callable
from judgekit._version import __version__
from judgekit.errors import ConfigError, InputError

Level = Literal["question", "aspect"]
HumanFormat = Literal["auto", "long", "wide", "mean"]

_MISSING_TEXT = {"", "na", "n/a", "nan", "none", "null"}
_LENGTH_FIELDS = ("length", "response_length", "response", "output")
DEFAULT_DIMENSION = "score"


# ------------------------------------------------------------------------------------------------------
# Report models (agreement.json)
# ------------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_Model):
    """A figure with its 95% (or ``confidence``) percentile bootstrap interval."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    n_boot: int = Field(0, description="resamples in which the figure was defined")

    @classmethod
    def of(cls, est: ag.Estimate) -> Interval:
        return cls(**est.to_dict())


class Correlations(_Model):
    pearson: Interval
    spearman: Interval
    kendall: Interval

    @classmethod
    def of(cls, ests: Mapping[ag.Method, ag.Estimate]) -> Correlations:
        return cls(**{m: Interval.of(ests[m]) for m in ag.METHODS})


class CorrelationLevels(_Model):
    pooled: Correlations
    per_group: Correlations | None = None
    n_groups: int | None = None
    groups_used: dict[str, int] | None = Field(None, description="groups where both sides vary, per method")
    system: Correlations | None = None
    n_systems: int | None = None


class AnnotatorRow(_Model):
    annotator: str
    n: int
    human: dict[str, float | None]
    judge: dict[str, float | None] | None


class Ceiling(_Model):
    human: Correlations = Field(description="mean over annotators of corr(annotator, mean of the others)")
    judge: Correlations = Field(description="the judge in each left-out annotator's place (same items)")
    n_annotators: int
    per_annotator: list[AnnotatorRow]


class Alpha(_Model):
    humans: dict[str, Interval] | None = None
    humans_and_judge: dict[str, Interval] | None = None


class Kappa(_Model):
    vs_mean: dict[str, Interval] | None = Field(
        None, description="judge vs human mean, both rounded to scale"
    )
    vs_majority: dict[str, Interval] | None = Field(None, description="judge (rounded) vs majority label")
    n_no_majority: int = 0


class Bias(_Model):
    mean_offset: Interval | None = Field(None, description="mean of judge minus human mean")
    length_field: str | None = None
    length_judge: Interval | None = Field(None, description="Spearman of judge score with response length")
    length_human: Interval | None = Field(None, description="Spearman of human mean with response length")
    judge_shares: dict[str, float] | None = None
    human_shares: dict[str, float] | None = None


class Disagreement(_Model):
    id: str
    judge: float
    human: float
    labels: dict[str, float]
    difference: float


class Dropped(_Model):
    reason: str
    count: int
    examples: list[str]


class DimensionReport(_Model):
    dimension: str
    n_used: int
    n_dropped: int
    dropped: list[Dropped]
    n_annotators: int
    n_labels: int
    scale: list[float] | None
    judge_scale: list[float] | None
    judge_on_scale: bool
    resampled: str
    correlations: CorrelationLevels
    alpha: Alpha | None = None
    kappa: Kappa | None = None
    ceiling: Ceiling | None = None
    bias: Bias
    disagreements: list[Disagreement]
    judge_samples: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)


class PairwiseReport(_Model):
    n_used: int
    n_dropped: int
    dropped: list[Dropped]
    invalid_agree: bool
    figures: dict[str, Interval]
    counts: dict[str, int | None]
    per_group: list[dict[str, Any]] | None = None
    macro_accuracy: float | None = Field(None, description="unweighted mean of per-group accuracy")
    disagreements: list[dict[str, Any]] = Field(default_factory=list)
    resampled: str = "items"
    notes: list[str] = Field(default_factory=list)


class AgreementReport(_Model):
    judgekit_version: str = __version__
    inputs: dict[str, str]
    settings: dict[str, Any]
    dimensions: list[DimensionReport] = Field(default_factory=list)
    pairwise: PairwiseReport | None = None


# ------------------------------------------------------------------------------------------------------
# Input rows (pydantic at the boundary)
# ------------------------------------------------------------------------------------------------------


def _id_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a string or integer id")
    text = str(value).strip()
    if not text:
        raise ValueError("empty id")
    return text


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        return _id_text(v)


class NumberRow(_Row):
    score: float | None = None
    scores: dict[str, float | None] | None = None
    dimension: str | None = None


class CompletionRow(_Row):
    completions: list[str | None]
    dimension: str | None = None


class PairwiseRow(_Row):
    winner_original: Any = None
    winner_swapped: Any = None


def _listing(values: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or "row"
    return f"field {loc!r}: {first['msg']}"


# ------------------------------------------------------------------------------------------------------
# Judge scores
# ------------------------------------------------------------------------------------------------------


@dataclass
class JudgeScores:
    """Judge scores per dimension (``None`` key = one unnamed score per id) and per-id extra fields."""

    kind: str
    scores: dict[str | None, dict[str, float]] = field(default_factory=dict)
    unscored: dict[str | None, dict[str, str]] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    scale: tuple[float, float] | None = None


def _read_rows(path: Path) -> list[dict[str, Any]]:
    from judgekit.data import read_json_or_jsonl

    data = read_json_or_jsonl(path)
    if isinstance(data, dict):
        raise InputError(f"{path}: expected rows (a JSON list or JSON Lines), got a single object")
    if not isinstance(data, list):
        raise InputError(f"{path}: expected rows (a JSON list or JSON Lines), got {type(data).__name__}")
    if not data:
        raise InputError(f"{path}: file has no rows")
    for n, row in enumerate(data):
        if not isinstance(row, dict):
            raise InputError(f"{path}: row {n + 1}: expected an object, got {type(row).__name__}")
    return data


def load_judge(
    judge: str | Path | Mapping[str, Any],
    *,
    level: Level = "question",
    rubric: str | None = None,
) -> JudgeScores:
    """Read judge scores from any supported shape (see the module docstring)."""
    if isinstance(judge, Mapping):
        return _judge_from_mapping(judge)
    path = Path(judge)
    from judgekit.data import read_json_or_jsonl

    data = read_json_or_jsonl(path)
    if isinstance(data, dict) and isinstance(data.get("per_question_scores"), list):
        return _judge_from_score_file(path, level)
    if level == "aspect":
        raise ConfigError("--level aspect needs a judgekit score file as --judge")
    rows = _read_rows(path)
    if any("completions" in r for r in rows):
        if rubric is None:
            raise ConfigError(
                f"{path}: holds raw judge completions; name the rubric to parse them (--rubric)"
            )
        return _judge_from_completions(path, rows, rubric)
    if rubric is not None:
        raise ConfigError(
            f"{path}: --rubric is only used with raw completions ({{'id', 'completions'}} rows)"
        )
    return _judge_from_numbers(path, rows)


def _judge_from_mapping(data: Mapping[str, Any]) -> JudgeScores:
    out = JudgeScores(kind="mapping")
    for key, value in data.items():
        item = _id_text(key)
        if isinstance(value, Mapping):
            for dim, v in value.items():
                _put_score(out, str(dim), item, v, f"id {item!r}")
        else:
            _put_score(out, None, item, value, f"id {item!r}")
    return out


def _put_score(out: JudgeScores, dim: str | None, item: str, value: Any, where: str) -> None:
    if value is None:
        out.unscored.setdefault(dim, {})[item] = "judge gave no score"
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise InputError(f"{where}: judge score {value!r} is not a finite number")
    target = out.scores.setdefault(dim, {})
    if item in target or item in out.unscored.get(dim, {}):
        label = f" (dimension {dim!r})" if dim else ""
        raise InputError(f"{where}: duplicate judge score{label}")
    target[item] = float(value)


def _judge_from_numbers(path: Path, rows: list[dict[str, Any]]) -> JudgeScores:
    out = JudgeScores(kind="numbers")
    for n, raw in enumerate(rows):
        if "winner_original" in raw:
            raise ConfigError(f"{path}: holds pairwise verdicts; pass --pairwise")
        try:
            row = NumberRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {_first_error(err)}") from None
        where = f"{path}: id {row.id!r}"
        if row.scores is not None:
            for dim, v in row.scores.items():
                _put_score(out, dim, row.id, v, where)
        elif "score" in raw:
            _put_score(out, row.dimension, row.id, row.score, where)
        else:
            raise InputError(f"{where}: no 'score' (or 'scores', or 'completions') field")
        out.meta.setdefault(row.id, {}).update(_extras(raw))
    return out


def _extras(raw: Mapping[str, Any]) -> dict[str, Any]:
    skip = {"id", "score", "scores", "dimension", "completions", "winner_original", "winner_swapped"}
    return {k: v for k, v in raw.items() if k not in skip}


def _judge_from_score_file(path: Path, level: Level) -> JudgeScores:
    from judgekit.results import load_score_file

    sf = load_score_file(path)
    out = JudgeScores(kind=f"score_file:{level}")
    for q in sf.per_question_scores:
        if level == "question":
            if q.score is None:
                out.unscored.setdefault(None, {})[q.id] = "score file: question not scored"
            else:
                _put_score(out, None, q.id, q.score, f"{path}: id {q.id!r}")
        else:
            for d in q.details:
                key = f"{q.id}::{d.aspect}"
                if d.score is None:
                    out.unscored.setdefault(None, {})[key] = (
                        f"score file: aspect not scored ({d.reason or 'no reason'})"
                    )
                else:
                    _put_score(out, None, key, d.score, f"{path}: id {key!r}")
        # fields a user added to a question (e.g. a document or system id) can serve as --group / --system
        extra = {k: v for k, v in (q.model_extra or {}).items() if isinstance(v, str | int | float)}
        if q.category is not None:
            extra["category"] = q.category
        if level == "question":
            out.meta.setdefault(q.id, {}).update(extra)
        else:
            for d in q.details:
                out.meta.setdefault(f"{q.id}::{d.aspect}", {}).update(extra)
    if not out.scores and not out.unscored:
        raise InputError(f"{path}: the score file has no {level}s")
    return out


def _judge_from_completions(path: Path, rows: list[dict[str, Any]], rubric_name: str) -> JudgeScores:
    from judgekit.errors import RubricError

    try:
        from judgekit.parse import parse_completion
        from judgekit.rubric import load_rubric
    except ImportError as err:  # pragma: no cover - the rubric modules ship with judgekit
        raise ConfigError(f"cannot parse completions: {err}") from None
    try:
        rubric = load_rubric(rubric_name)
    except RubricError:
        raise
    except (OSError, ValueError) as err:
        raise ConfigError(f"--rubric {rubric_name!r}: {err}") from None
    out = JudgeScores(kind="completions")
    scale = rubric.spec.scale
    out.scale = (float(scale.min), float(scale.max))
    reasons: dict[str | None, Counter[str]] = {}
    counts: dict[str | None, Counter[str]] = {}
    for n, raw in enumerate(rows):
        try:
            row = CompletionRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {_first_error(err)}") from None
        dim = row.dimension
        values: list[float] = []
        item_reasons: list[str] = []
        tally = counts.setdefault(dim, Counter())
        for text in row.completions:
            res = parse_completion(text, rubric)
            score = res.score if res.ok else None
            if score is None or not math.isfinite(score):
                tally["unparseable"] += 1
                reason = res.reason or "no single score in the verdict"
                reasons.setdefault(dim, Counter())[reason] += 1
                item_reasons.append(reason)
            else:
                tally["parsed"] += 1
                values.append(float(score))
        if row.id in out.scores.get(dim, {}) or row.id in out.unscored.get(dim, {}):
            raise InputError(f"{path}: id {row.id!r}: duplicate row")
        if values:
            out.scores.setdefault(dim, {})[row.id] = float(np.mean(values))
        else:
            why = item_reasons[0] if item_reasons else "no completions"
            out.unscored.setdefault(dim, {})[row.id] = f"no parseable completion ({why})"
        out.meta.setdefault(row.id, {}).update(_extras(raw))
    for dim, tally in counts.items():
        out.samples[dim] = {
            "rubric": rubric.name,
            "samples": tally["parsed"] + tally["unparseable"],
            "parsed": tally["parsed"],
            "unparseable": tally["unparseable"],
            "reasons": dict(reasons.get(dim, Counter()).most_common()),
        }
    return out


# ------------------------------------------------------------------------------------------------------
# Human labels
# ------------------------------------------------------------------------------------------------------


@dataclass
class HumanLabels:
    """Labels per dimension: ``dimension -> id -> annotator -> value`` (``str`` for pairwise labels)."""

    form: str
    labels: dict[str, dict[str, dict[str, Any]]]
    meta: dict[str, dict[str, Any]]
    columns: list[str]
    text_columns: list[str] = field(default_factory=list)


def _read_table(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, expected a CSV file") from None
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not UTF-8 text (invalid byte at offset {err.start})") from None
        except OSError as err:
            raise InputError(f"{path}: cannot read ({err.strerror})") from None
        if not text.strip():
            raise InputError(f"{path}: file is empty")
        delimiter = "\t" if suffix == ".tsv" else ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
        try:
            table = [r for r in reader if any(c.strip() for c in r)]
        except csv.Error as err:
            raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({err})") from None
        header = [h.strip() for h in table[0]]
        if len(set(header)) != len(header):
            dupes = [h for h, c in Counter(header).items() if c > 1]
            raise InputError(f"{path}: duplicate column names: {_listing(dupes)}")
        if len(table) < 2:
            raise InputError(f"{path}: has a header but no rows")
        rows = []
        for n, r in enumerate(table[1:], start=2):
            if len(r) != len(header):
                raise InputError(f"{path}: row {n}: {len(r)} fields, but the header has {len(header)}")
            rows.append(dict(zip(header, r, strict=True)))
        return rows
    return _read_rows(path)


def _is_missing(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, str) and v.strip().lower() in _MISSING_TEXT)
        or (isinstance(v, float) and math.isnan(v))
    )


def _number(path: Path, item: str, column: str, v: Any) -> float:
    if isinstance(v, bool):
        raise InputError(f"{path}: id {item!r}: column {column!r}: label {v!r} is not a number")
    if isinstance(v, int | float):
        return float(v)
    try:
        value = float(str(v).strip())
    except ValueError:
        raise InputError(f"{path}: id {item!r}: column {column!r}: label {v!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{path}: id {item!r}: column {column!r}: label {v!r} is not a finite number")
    return value


_Parse = Callable[[Path, str, str, Any], Any]


def load_human(
    human: str | Path,
    *,
    dimensions: Sequence[str] | None = None,
    human_format: HumanFormat = "auto",
    annotators: Sequence[str] | None = None,
    id_field: str = "id",
    annotator_field: str = "annotator",
    label_field: str = "label",
    meta_fields: Sequence[str] = (),
    pairwise: bool = False,
) -> HumanLabels:
    """Read human labels in long, wide or averaged form (see the module docstring)."""
    path = Path(human)
    rows = _read_table(path)
    columns = list(rows[0].keys())
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    if id_field not in columns:
        raise InputError(f"{path}: no {id_field!r} column (columns: {_listing(columns, 8)})")
    parse: _Parse = _preference if pairwise else _number
    form = human_format
    text_cols: list[str] = []
    if form != "long" and not (form == "auto" and annotator_field in columns) and annotators is None:
        named = {label_field, *(dimensions or ())}
        candidates = [c for c in _value_columns(columns, id_field, meta_fields, None) if c not in named]
        text_cols = _text_columns(path, rows, candidates, parse)
    skip = [*meta_fields, *text_cols]
    if form == "auto":
        if annotator_field in columns:
            form = "long"
        else:
            value_cols = _value_columns(columns, id_field, skip, annotators)
            single = [c for c in value_cols if c == label_field or (dimensions and c in dimensions)]
            form = "mean" if (len(value_cols) == 1 or (single and len(single) == len(value_cols))) else "wide"
    labels: dict[str, dict[str, dict[str, Any]]] = {}
    meta: dict[str, dict[str, Any]] = {}

    def put(dim: str, item: str, annotator: str, value: Any, column: str) -> None:
        if _is_missing(value):
            return
        slot = labels.setdefault(dim, {}).setdefault(item, {})
        if annotator in slot:
            raise InputError(f"{path}: id {item!r}: annotator {annotator!r} labels dimension {dim!r} twice")
        slot[annotator] = parse(path, item, column, value)

    for n, row in enumerate(rows):
        try:
            item = _id_text(row.get(id_field))
        except ValueError as err:
            raise InputError(f"{path}: row {n + 1}: column {id_field!r}: {err}") from None
        m = meta.setdefault(item, {})
        for f in meta_fields:
            if f in row and not _is_missing(row[f]):
                if f in m and m[f] != row[f]:
                    raise InputError(
                        f"{path}: id {item!r}: field {f!r} differs between rows ({m[f]!r}, {row[f]!r})"
                    )
                m[f] = row[f]
        if form == "long":
            if annotator_field not in row or _is_missing(row[annotator_field]):
                raise InputError(f"{path}: row {n + 1}: no {annotator_field!r}")
            annotator = str(row[annotator_field]).strip()
            if "dimension" in columns and label_field in columns:
                dim = str(row.get("dimension", "")).strip() or DEFAULT_DIMENSION
                put(dim, item, annotator, row.get(label_field), label_field)
            elif label_field in columns:
                put(_single_dim(dimensions), item, annotator, row.get(label_field), label_field)
            elif dimensions:
                for dim in dimensions:
                    if dim not in columns:
                        raise InputError(f"{path}: no column {dim!r} for dimension {dim!r}")
                    put(dim, item, annotator, row.get(dim), dim)
            else:
                raise InputError(
                    f"{path}: long-form labels need a {label_field!r} column, or --dimension naming label columns"
                )
        elif form == "wide":
            cols = _value_columns(columns, id_field, skip, annotators)
            if not cols:
                text = f" (text columns, not labels: {_listing(text_cols)})" if text_cols else ""
                raise InputError(f"{path}: no annotator columns besides {id_field!r}{text}")
            for c in cols:
                if ":" in c:
                    dim, annotator = (s.strip() for s in c.split(":", 1))
                else:
                    dim, annotator = _single_dim(dimensions), c
                put(dim, item, annotator, row.get(c), c)
        else:  # mean
            cols = _value_columns(columns, id_field, skip, annotators)
            if dimensions:
                for dim in dimensions:
                    if dim not in columns:
                        raise InputError(f"{path}: no column {dim!r} for dimension {dim!r}")
                    put(dim, item, "mean", row.get(dim), dim)
            else:
                col = label_field if label_field in columns else (cols[0] if len(cols) == 1 else None)
                if col is None:
                    raise InputError(
                        f"{path}: several value columns; say which with --dimension or --label-column"
                    )
                put(DEFAULT_DIMENSION, item, "mean", row.get(col), col)
    if not labels:
        raise InputError(f"{path}: no labels found")
    return HumanLabels(form=form, labels=labels, meta=meta, columns=columns, text_columns=text_cols)


def _text_columns(
    path: Path, rows: Sequence[Mapping[str, Any]], candidates: Sequence[str], parse: _Parse
) -> list[str]:
    """Columns where no value is a label (document ids, system names, comments): never annotators.

    A column mixing labels and text stays a label column, so its first non-label is reported."""
    out = []
    for c in candidates:
        values = [r[c] for r in rows if c in r and not _is_missing(r[c])]
        if values and not any(_parses(path, parse, c, v) for v in values):
            out.append(c)
    return out


def _parses(path: Path, parse: _Parse, column: str, value: Any) -> bool:
    try:
        parse(path, "", column, value)
    except InputError:
        return False
    return True


def _single_dim(dimensions: Sequence[str] | None) -> str:
    if dimensions and len(dimensions) > 1:
        raise ConfigError(
            "several --dimension values, but the labels have one value per annotator: use a 'dimension' "
            "column, one label column per dimension, or 'dimension:annotator' columns"
        )
    return dimensions[0] if dimensions else DEFAULT_DIMENSION


def _value_columns(
    columns: Sequence[str], id_field: str, meta_fields: Sequence[str], annotators: Sequence[str] | None
) -> list[str]:
    if annotators:
        missing = [a for a in annotators if a not in columns]
        if missing:
            raise InputError(f"annotator column(s) not found: {_listing(missing)}")
        return list(annotators)
    skip = {id_field, *meta_fields, "dimension", "annotator"}
    return [c for c in columns if c not in skip]


def _preference(path: Path, item: str, column: str, v: Any) -> str:
    pref = ag.normalize_preference(v.strip() if isinstance(v, str) else v)
    if pref is None:
        raise InputError(f"{path}: id {item!r}: column {column!r}: preference label {v!r} is not 1, 2 or tie")
    return pref


# ------------------------------------------------------------------------------------------------------
# Scales
# ------------------------------------------------------------------------------------------------------

_RANGE = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|to)\s*(-?\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?))?\s*$"
)


def parse_scale(text: str | Sequence[float] | None) -> list[float] | None:
    """``"1-5"`` -> [1..5]; ``"0..1:0.25"`` -> steps of 0.25; ``"1,2,3"`` -> that list; lists pass through."""
    if text is None:
        return None
    if not isinstance(text, str):
        points = sorted({float(v) for v in text})
    elif "," in text:
        try:
            points = sorted({float(p) for p in text.split(",") if p.strip()})
        except ValueError:
            raise ConfigError(f"scale {text!r}: expected numbers separated by commas") from None
    else:
        m = _RANGE.match(text)
        if not m:
            raise ConfigError(f"scale {text!r}: expected LO-HI (e.g. 1-5), LO..HI:STEP or a list like 1,2,3")
        lo, hi = float(m.group(1)), float(m.group(2))
        step = float(m.group(3)) if m.group(3) else 1.0
        if hi <= lo or step <= 0:
            raise ConfigError(f"scale {text!r}: HI must be greater than LO")
        count = round((hi - lo) / step)
        if abs(lo + count * step - hi) > 1e-9 or count > 1000:
            raise ConfigError(f"scale {text!r}: {hi} is not reached from {lo} in steps of {step}")
        points = [round(lo + k * step, 10) for k in range(count + 1)]
    if len(points) < 2:
        raise ConfigError(f"scale {text!r}: needs at least two points")
    return points


def _scale_text(points: Sequence[float] | None) -> str:
    if not points:
        return "none"
    steps = {round(b - a, 9) for a, b in itertools.pairwise(points)}
    if len(steps) == 1:
        step = steps.pop()
        tail = "" if step == 1 else f":{_num(step)}"
        return f"{_num(points[0])}-{_num(points[-1])}{tail}"
    return ",".join(_num(p) for p in points)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _infer_scale(values: Sequence[float]) -> list[float] | None:
    distinct = sorted(set(values))
    if len(distinct) < 2:
        return None
    if all(float(v).is_integer() for v in distinct) and distinct[-1] - distinct[0] <= 20:
        return [float(v) for v in range(int(distinct[0]), int(distinct[-1]) + 1)]
    return distinct if len(distinct) <= 11 else None


# ------------------------------------------------------------------------------------------------------
# The analysis
# ------------------------------------------------------------------------------------------------------


@dataclass
class _Drops:
    reasons: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, item: str) -> None:
        self.reasons.setdefault(reason, []).append(item)

    def models(self) -> list[Dropped]:
        return [
            Dropped(reason=r, count=len(ids), examples=sorted(ids)[:5])
            for r, ids in sorted(self.reasons.items(), key=lambda kv: -len(kv[1]))
        ]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.reasons.values())


def _field_value(
    item: str,
    name: str,
    judge_meta: Mapping[str, Mapping[str, Any]],
    human_meta: Mapping[str, Mapping[str, Any]],
) -> Any:
    a = judge_meta.get(item, {}).get(name)
    b = human_meta.get(item, {}).get(name)
    if _is_missing(a):
        return None if _is_missing(b) else b
    if not _is_missing(b) and str(a) != str(b):
        raise InputError(f"id {item!r}: field {name!r} is {a!r} in the judge file but {b!r} in the labels")
    return a


def _length_of(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return float(len(text.split()))


def validate(
    judge: str | Path | Mapping[str, Any],
    human: str | Path,
    *,
    dimensions: Sequence[str] | None = None,
    group: str | None = None,
    system: str | None = None,
    scale: str | Sequence[float] | None = None,
    judge_scale: str | Sequence[float] | None = None,
    rubric: str | None = None,
    level: Level = "question",
    human_format: HumanFormat = "auto",
    annotators: Sequence[str] | None = None,
    id_field: str = "id",
    annotator_field: str = "annotator",
    label_field: str = "label",
    length_field: str | None = None,
    responses: str | Path | None = None,
    allow_missing: bool = False,
    ceiling: bool | None = None,
    pairwise: bool = False,
    invalid_agree: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    confidence: float = 0.95,
    top: int = 10,
) -> AgreementReport:
    """Measure a judge against human labels; every figure with a percentile bootstrap CI.

    ``group`` / ``system`` name fields (in the judge rows or the label file) holding each item's group
    (e.g. the source document or prompt: per-group correlations, and the bootstrap resamples whole groups)
    and system (system-level correlations). ``scale`` declares the human label scale (``"1-5"``); labels off
    it are errors. ``ceiling``: ``None`` computes the leave-one-annotator-out ceiling when there are two or
    more annotators, ``True`` requires it. ``pairwise=True`` switches to preference verdicts (see
    ``judgekit.agreement.pairwise_agreement``). Raises ``InputError`` / ``ConfigError`` with one-line
    messages for bad inputs.
    """
    if n_boot < 0:
        raise ConfigError("--n-boot must be 0 or more")
    if not 0 < confidence < 1:
        raise ConfigError("--confidence must be between 0 and 1 (e.g. 0.95)")
    if dimensions is not None and len(set(dimensions)) != len(dimensions):
        raise ConfigError("a --dimension is given twice")
    settings: dict[str, Any] = {
        "n_boot": n_boot,
        "seed": seed,
        "confidence": confidence,
        "group": group,
        "system": system,
        "level": level,
        "ci": "percentile bootstrap" + (" over groups" if group else " over items"),
    }
    inputs = {"judge": str(judge) if not isinstance(judge, Mapping) else "<mapping>", "human": str(human)}
    meta_fields = [f for f in (group, system, length_field) if f]
    if pairwise:
        report = _validate_pairwise(
            judge,
            human,
            group=group,
            id_field=id_field,
            annotator_field=annotator_field,
            label_field=label_field,
            meta_fields=meta_fields,
            human_format=human_format,
            annotators=annotators,
            allow_missing=allow_missing,
            invalid_agree=invalid_agree,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
            top=top,
        )
        settings["invalid_agree"] = invalid_agree
        return AgreementReport(inputs=inputs, settings=settings, pairwise=report)

    scale_points = parse_scale(scale)
    judge_points = parse_scale(judge_scale)
    judge_data = load_judge(judge, level=level, rubric=rubric)
    humans = load_human(
        human,
        dimensions=dimensions,
        human_format=human_format,
        annotators=annotators,
        id_field=id_field,
        annotator_field=annotator_field,
        label_field=label_field,
        meta_fields=meta_fields,
    )
    lengths: dict[str, float] | None = None
    if responses is not None:
        from judgekit.data import load_responses

        lengths = {k: float(len(v.split())) for k, v in load_responses(responses).items()}
        inputs["responses"] = str(responses)
        settings["length"] = "words in --responses"

    dims = list(dimensions) if dimensions else sorted(humans.labels)
    missing_dims = [d for d in dims if d not in humans.labels]
    if missing_dims:
        raise InputError(
            f"{human}: no labels for dimension(s) {_listing(missing_dims)} (found {_listing(sorted(humans.labels))})"
        )
    judge_keys = set(judge_data.scores) | set(judge_data.unscored)
    if None in judge_keys and len(dims) > 1:
        raise ConfigError(
            f"{inputs['judge']}: one score per id, but {len(dims)} dimensions were asked for; give the judge "
            "rows a 'dimension' field or a 'scores' object, or pass one --dimension"
        )
    reports = []
    for dim in dims:
        key: str | None = None if None in judge_keys else dim
        if key not in judge_keys:
            raise InputError(
                f"{inputs['judge']}: no judge scores for dimension {dim!r} (found {_listing(sorted(str(k) for k in judge_keys))})"
            )
        reports.append(
            _analyse_dimension(
                dim,
                judge_data,
                key,
                humans,
                inputs,
                scale_points=scale_points,
                judge_points=judge_points,
                group=group,
                system=system,
                length_field=length_field,
                lengths=lengths,
                allow_missing=allow_missing,
                ceiling=ceiling,
                n_boot=n_boot,
                seed=seed,
                confidence=confidence,
                top=top,
            )
        )
    return AgreementReport(inputs=inputs, settings=settings, dimensions=reports)


def _match(
    judge_ids: set[str], unscored: Mapping[str, str], human_order: Sequence[str], inputs: Mapping[str, str],
    dim: str, allow_missing: bool, drops: _Drops,
) -> list[str]:  # fmt: skip
    """The ids to analyse; extra judge ids are dropped, human ids without a judge row are errors."""
    known = judge_ids | set(unscored)
    human_ids = set(human_order)
    common = human_ids & known
    if not common:
        raise InputError(
            f"no ids in common for dimension {dim!r}: the judge file has {len(known)} id(s) "
            f"(e.g. {_listing(sorted(known))}), the labels {len(human_ids)} (e.g. {_listing(sorted(human_ids))})"
        )
    missing = sorted(human_ids - known)
    if missing and not allow_missing:
        raise InputError(
            f"{len(missing)} labelled id(s) have no judge score in {inputs['judge']} (e.g. {_listing(missing)}); "
            "check the ids, or pass --allow-missing to drop them"
        )
    for item in missing:
        drops.add("no judge score for this id", item)
    for item in sorted(known - human_ids):
        drops.add("no human label", item)
    used = []
    for item in human_order:  # the label file's order (system means are summed in this order)
        if item not in common:
            continue
        if item in unscored:
            drops.add(f"judge could not score: {unscored[item]}", item)
        else:
            used.append(item)
    return used


def _analyse_dimension(
    dim: str,
    judge_data: JudgeScores,
    key: str | None,
    humans: HumanLabels,
    inputs: Mapping[str, str],
    *,
    scale_points: list[float] | None,
    judge_points: list[float] | None,
    group: str | None,
    system: str | None,
    length_field: str | None,
    lengths: Mapping[str, float] | None,
    allow_missing: bool,
    ceiling: bool | None,
    n_boot: int,
    seed: int | None,
    confidence: float,
    top: int,
) -> DimensionReport:
    drops = _Drops()
    notes: list[str] = []
    if humans.text_columns:
        notes.append(
            f"{inputs['human']}: column(s) {_listing(humans.text_columns)} hold text, not labels, so they are "
            "not read as annotators (name one with --group or --system to use it)"
        )
    scores = judge_data.scores.get(key, {})
    unscored = judge_data.unscored.get(key, {})
    labels = humans.labels[dim]
    used = _match(set(scores), unscored, list(labels), inputs, dim, allow_missing, drops)

    # grouping fields
    def field_values(name: str, what: str) -> dict[str, Any]:
        vals: dict[str, Any] = {}
        for item in used:
            v = _field_value(item, name, judge_data.meta, humans.meta)
            if v is None:
                drops.add(f"no value for {what} field {name!r}", item)
            else:
                vals[item] = str(v)
        return vals

    groups = field_values(group, "group") if group else {}
    systems = field_values(system, "system") if system else {}
    if group and not groups:
        raise InputError(
            f"no item has a value for the group field {group!r} (in the judge rows or the labels)"
        )
    if system and not systems:
        raise InputError(
            f"no item has a value for the system field {system!r} (in the judge rows or the labels)"
        )
    used = [i for i in used if (not group or i in groups) and (not system or i in systems)]
    if len(used) < 2:
        raise InputError(
            f"dimension {dim!r}: only {len(used)} item(s) left after matching ids; nothing to correlate"
        )

    annotators = sorted({a for i in used for a in labels[i]})
    values = [v for i in used for v in labels[i].values()]
    # scales
    human_points = scale_points
    if scale_points is not None:
        lo_s, hi_s = scale_points[0], scale_points[-1]
        if humans.form == "mean":  # averaged labels fall between scale points: check the range only
            off = sorted({v for v in values if v < lo_s - 1e-9 or v > hi_s + 1e-9})
        else:
            off = sorted({v for v in values if not any(abs(v - p) < 1e-9 for p in scale_points)})
        if off:
            bad = [i for i in used if any(abs(v - o) < 1e-9 for v in labels[i].values() for o in off[:1])]
            raise InputError(
                f"dimension {dim!r}: label(s) off the scale {_scale_text(scale_points)}: {_listing([_num(v) for v in off])} "
                f"(e.g. id {bad[0]!r})"
            )
    else:
        human_points = _infer_scale(values) if humans.form != "mean" else None
    j = np.array([scores[i] for i in used])
    declared_judge = judge_points or (
        list(judge_data.scale) if judge_data.scale and not scale_points else None
    )
    if judge_points is not None:
        lo, hi = judge_points[0], judge_points[-1]
        off_j = [(i, s) for i, s in zip(used, j, strict=True) if s < lo - 1e-9 or s > hi + 1e-9]
        if off_j:
            raise InputError(
                f"dimension {dim!r}: {len(off_j)} judge score(s) off the judge scale {_scale_text(judge_points)}, "
                f"e.g. {_num(off_j[0][1])} for id {off_j[0][0]!r}"
            )
    judge_on_scale = False
    if human_points is not None:
        lo, hi = human_points[0], human_points[-1]
        within = bool(np.all((j >= lo - 1e-9) & (j <= hi + 1e-9)))
        if judge_points is not None:
            judge_on_scale = judge_points[0] == lo and judge_points[-1] == hi
        elif declared_judge is not None:
            judge_on_scale = declared_judge[0] == lo and declared_judge[-1] == hi and within
        elif scale_points is not None:
            judge_on_scale = within
            if not within:
                bad_j = [(i, s) for i, s in zip(used, j, strict=True) if s < lo - 1e-9 or s > hi + 1e-9]
                raise InputError(
                    f"dimension {dim!r}: {len(bad_j)} judge score(s) off the scale {_scale_text(scale_points)}, e.g. "
                    f"{_num(bad_j[0][1])} for id {bad_j[0][0]!r}; if the judge uses another scale, pass --judge-scale"
                )
        else:
            judge_on_scale = within
    if human_points is None:
        notes.append(
            "no label scale (declare one with --scale): offset, kappa, score shares and alpha with the judge "
            "are skipped"
        )
    elif not judge_on_scale:
        notes.append(
            "the judge is not on the human label scale: offset, kappa, score shares and alpha with the judge are skipped"
        )
    n = len(used)
    h_mean = np.array([float(np.mean(list(labels[i].values()))) for i in used])
    index = {a: k for k, a in enumerate(annotators)}
    L = np.full((len(annotators), n), np.nan)
    for col, i in enumerate(used):
        for a, v in labels[i].items():
            L[index[a], col] = v
    group_codes = ag.factorize([groups[i] for i in used])[0] if group else None
    # correlations
    summary = ag.correlation_summary(
        j,
        h_mean,
        groups=[groups[i] for i in used] if group else None,
        systems=[systems[i] for i in used] if system else None,
        n_boot=n_boot,
        seed=seed,
        level=confidence,
    )
    corr = CorrelationLevels(
        pooled=Correlations.of(summary.pooled),
        per_group=Correlations.of(summary.per_group) if summary.per_group else None,
        n_groups=summary.n_groups if group else None,
        groups_used={str(k): v for k, v in summary.groups_used.items()} if group else None,
        system=Correlations.of(summary.system) if summary.system else None,
        n_systems=summary.n_systems if system else None,
    )
    # ceiling
    ceiling_model: Ceiling | None = None
    multi = humans.form != "mean" and len(annotators) >= 2
    if ceiling and not multi:
        who = (
            "an already-averaged label column"
            if humans.form == "mean"
            else f"a single annotator ({annotators[0]!r})"
        )
        raise InputError(
            f"dimension {dim!r}: the human ceiling needs two or more annotators, but the labels have {who}"
        )
    if multi and ceiling is not False:
        try:
            c = ag.leave_one_out_ceiling(
                L, j, annotators=annotators, groups=group_codes, n_boot=n_boot, seed=seed, level=confidence
            )
        except ValueError as err:
            if ceiling:
                raise InputError(f"dimension {dim!r}: {err}") from None
            notes.append(f"no human ceiling: {err}")
        else:
            assert c.judge is not None
            ceiling_model = Ceiling(
                human=Correlations.of(c.human),
                judge=Correlations.of(c.judge),
                n_annotators=c.n_annotators,
                per_annotator=[
                    AnnotatorRow(
                        annotator=p.annotator,
                        n=p.n,
                        human={m: _finite(v) for m, v in p.human.items()},
                        judge={m: _finite(v) for m, v in p.judge.items()} if p.judge else None,
                    )
                    for p in c.per_annotator
                ],
            )
    # alpha, kappa, offset, length: one bootstrap over the same resamples
    boot_fns: dict[str, ag.StatFn] = {}
    points: dict[str, float] = {}
    alpha_model: Alpha | None = None
    kappa_model: Kappa | None = None
    j_round = ag.round_to_scale(j, human_points) if (judge_on_scale and human_points) else None
    if humans.form != "mean":
        human_rows = L.tolist()
        if multi:
            for lv in ag.ALPHA_LEVELS:
                points[f"alpha_h.{lv}"] = ag.krippendorff_alpha(human_rows, lv)
            wa_h = ag.WeightedAlpha(human_rows, ag.ALPHA_LEVELS)
            if wa_h.available:
                boot_fns["alpha_h"] = lambda r: {str(k): v for k, v in wa_h(r.items).items()}
        if j_round is not None:
            rows_j = [*human_rows, j_round.tolist()]
            for lv in ag.ALPHA_LEVELS:
                points[f"alpha_j.{lv}"] = ag.krippendorff_alpha(rows_j, lv)
            wa_j = ag.WeightedAlpha(rows_j, ag.ALPHA_LEVELS)
            if wa_j.available:
                boot_fns["alpha_j"] = lambda r: {str(k): v for k, v in wa_j(r.items).items()}
    n_no_majority = 0
    if j_round is not None and human_points is not None:
        cats = {p: k for k, p in enumerate(human_points)}
        ref_mean = ag.round_to_scale(h_mean, human_points)
        jc = np.array([cats[v] for v in j_round])
        mc = np.array([cats[v] for v in ref_mean])
        for w in ag.KAPPA_WEIGHTS:
            points[f"kappa_mean.{w}"] = ag.cohen_kappa(
                jc, mc, weights=w, categories=list(range(len(cats)))
            ).kappa
        wk = ag.WeightedKappa(jc, mc, len(cats))
        boot_fns["kappa_mean"] = lambda r: {str(k): v for k, v in wk(r.items).items()}
        if humans.form != "mean":
            maj = []
            for i in used:
                counts = Counter(labels[i].values()).most_common()
                maj.append(counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None)
            has = np.array([m is not None for m in maj])
            n_no_majority = int((~has).sum())
            if has.sum() >= 2:
                majc = np.array(
                    [cats[float(ag.round_to_scale([m], human_points)[0])] for m in maj if m is not None]
                )
                jm = jc[has]
                for w in ag.KAPPA_WEIGHTS:
                    points[f"kappa_maj.{w}"] = ag.cohen_kappa(
                        jm, majc, weights=w, categories=list(range(len(cats)))
                    ).kappa
                wkm = ag.WeightedKappa(jm, majc, len(cats))
                boot_fns["kappa_maj"] = lambda r: {str(k): v for k, v in wkm(r.items[:, has]).items()}
    if judge_on_scale:
        points["offset"] = float(np.mean(j - h_mean))
        boot_fns["offset"] = lambda r: ag.mean_offset(j, h_mean, r.items)
    # response length
    length_name = None
    len_vals: dict[str, float] = {}
    if lengths is not None:
        length_name = "--responses (words)"
        len_vals = {i: lengths[i] for i in used if i in lengths}
    else:
        names = [length_field] if length_field else list(_LENGTH_FIELDS)
        for name in names:
            for i in used:
                v = _length_of(_field_value(i, name, judge_data.meta, humans.meta))
                if v is not None:
                    len_vals[i] = v
            if len_vals:
                length_name = name
                break
        if length_field and not len_vals:
            raise InputError(f"no item has a value for the length field {length_field!r}")
    has_len = np.array([i in len_vals for i in used])
    if has_len.sum() >= 3:
        lv_arr = np.array([len_vals[i] for i in used if i in len_vals])
        jl = j[has_len]
        hl = h_mean[has_len]
        points["len_j"] = ag.correlation(jl, lv_arr, "spearman")
        points["len_h"] = ag.correlation(hl, lv_arr, "spearman")
        pj = ag.WeightedCorrelations(jl, lv_arr, ("spearman",))
        ph = ag.WeightedCorrelations(hl, lv_arr, ("spearman",))
        boot_fns["len_j"] = lambda r: pj(r.items[:, has_len])["spearman"]
        boot_fns["len_h"] = lambda r: ph(r.items[:, has_len])["spearman"]
        if has_len.sum() < n:
            notes.append(f"response length known for {int(has_len.sum())} of {n} items")
    boot = (
        ag.bootstrap(boot_fns, n, groups=group_codes, n_boot=n_boot, seed=seed) if n_boot and boot_fns else {}
    )

    def iv(name: str, count: int) -> Interval:
        return Interval.of(
            ag.make_estimate(points[name], boot.get(name) if n_boot else None, count, confidence)
        )

    if humans.form != "mean":
        n_pairable = int((np.isfinite(L).sum(axis=0) >= 2).sum())
        alpha_model = Alpha(
            humans={lv: iv(f"alpha_h.{lv}", n_pairable) for lv in ag.ALPHA_LEVELS} if multi else None,
            humans_and_judge={lv: iv(f"alpha_j.{lv}", n) for lv in ag.ALPHA_LEVELS}
            if j_round is not None
            else None,
        )
        if alpha_model.humans is None and alpha_model.humans_and_judge is None:
            alpha_model = None
    if j_round is not None:
        kappa_model = Kappa(
            vs_mean={w: iv(f"kappa_mean.{w}", n) for w in ag.KAPPA_WEIGHTS},
            vs_majority={w: iv(f"kappa_maj.{w}", n - n_no_majority) for w in ag.KAPPA_WEIGHTS}
            if "kappa_maj.unweighted" in points
            else None,
            n_no_majority=n_no_majority,
        )
    bias = Bias(
        mean_offset=iv("offset", n) if "offset" in points else None,
        length_field=length_name if "len_j" in points else None,
        length_judge=iv("len_j", int(has_len.sum())) if "len_j" in points else None,
        length_human=iv("len_h", int(has_len.sum())) if "len_h" in points else None,
        judge_shares={_num(k): v for k, v in ag.score_shares(j, human_points).items()}
        if j_round is not None and human_points
        else None,
        human_shares={_num(k): v for k, v in ag.score_shares(values, human_points).items()}
        if human_points and humans.form != "mean"
        else None,
    )
    # disagreements
    if judge_on_scale:
        diff = j - h_mean
    else:
        from scipy.stats import rankdata

        diff = (rankdata(j) - rankdata(h_mean)) / n
    order = np.argsort(-np.abs(diff), kind="stable")[: max(0, top)]
    disagreements = [
        Disagreement(
            id=used[k],
            judge=float(j[k]),
            human=float(h_mean[k]),
            labels=dict(labels[used[k]]),
            difference=float(diff[k]),
        )
        for k in order
    ]
    if not judge_on_scale:
        notes.append("disagreements ranked by the difference in percentile rank (no common scale)")
    return DimensionReport(
        dimension=dim,
        n_used=n,
        n_dropped=drops.total,
        dropped=drops.models(),
        n_annotators=len(annotators) if humans.form != "mean" else 0,
        n_labels=len(values),
        scale=human_points,
        judge_scale=judge_points or declared_judge,
        judge_on_scale=judge_on_scale,
        resampled=summary.resampled,
        correlations=corr,
        alpha=alpha_model,
        kappa=kappa_model,
        ceiling=ceiling_model,
        bias=bias,
        disagreements=disagreements,
        judge_samples=judge_data.samples.get(key),
        notes=notes,
    )


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# ------------------------------------------------------------------------------------------------------
# Pairwise preferences
# ------------------------------------------------------------------------------------------------------


def _validate_pairwise(
    judge: str | Path | Mapping[str, Any],
    human: str | Path,
    *,
    group: str | None,
    id_field: str,
    annotator_field: str,
    label_field: str,
    meta_fields: Sequence[str],
    human_format: HumanFormat,
    annotators: Sequence[str] | None,
    allow_missing: bool,
    invalid_agree: bool,
    n_boot: int,
    seed: int | None,
    confidence: float,
    top: int,
) -> PairwiseReport:
    if isinstance(judge, Mapping):
        raise ConfigError("pairwise validation reads the judge verdicts from a file")
    path = Path(judge)
    rows = _read_rows(path)
    verdicts: dict[str, PairwiseRow] = {}
    swapped_seen = False
    for n, raw in enumerate(rows):
        try:
            row = PairwiseRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {_first_error(err)}") from None
        if "winner_original" not in raw:
            raise InputError(
                f"{path}: id {row.id!r}: no 'winner_original' field (pairwise rows: id, winner_original, winner_swapped)"
            )
        if row.id in verdicts:
            raise InputError(f"{path}: id {row.id!r}: duplicate row")
        swapped_seen |= "winner_swapped" in raw
        verdicts[row.id] = row
    fmt: HumanFormat = human_format
    humans = load_human(
        human,
        human_format=fmt,
        annotators=annotators,
        id_field=id_field,
        annotator_field=annotator_field,
        label_field=label_field,
        meta_fields=meta_fields,
        pairwise=True,
    )
    if len(humans.labels) != 1:
        raise InputError(
            f"{human}: pairwise labels need one label per annotator (found dimensions {_listing(sorted(humans.labels))})"
        )
    labels = next(iter(humans.labels.values()))
    drops = _Drops()
    used = _match(set(verdicts), {}, list(labels), {"judge": str(path)}, "preference", allow_missing, drops)
    gold: dict[str, str] = {}
    for i in used:
        counts = Counter(labels[i].values()).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            drops.add("human labels split evenly (no majority)", i)
        else:
            gold[i] = counts[0][0]
    groups: dict[str, str] = {}
    if group:
        judge_meta = {i: _extras(v.model_dump()) for i, v in verdicts.items()}
        for i in list(gold):
            v = _field_value(i, group, judge_meta, humans.meta)
            if v is None:
                drops.add(f"no value for group field {group!r}", i)
                del gold[i]
            else:
                groups[i] = str(v)
    ids = [i for i in used if i in gold]
    if not ids:
        raise InputError("no pairwise item left to evaluate after matching ids and labels")
    wo = [verdicts[i].winner_original for i in ids]
    ws = [verdicts[i].winner_swapped for i in ids] if swapped_seen else None
    g = [gold[i] for i in ids]
    codes = ag.factorize([groups[i] for i in ids])[0] if group else None
    point = ag.pairwise_agreement(wo, ws, g, invalid_agree=invalid_agree)
    est = ag.pairwise_bootstrap(
        wo, ws, g, groups=codes, invalid_agree=invalid_agree, n_boot=n_boot, seed=seed, level=confidence
    )
    count_fields = {
        k: v
        for k, v in point.to_dict().items()
        if k
        in (
            "n",
            "correct_original",
            "correct_swapped",
            "correct_both",
            "agree",
            "invalid_original",
            "invalid_swapped",
            "both_invalid",
        )
    }
    per_group = None
    macro = None
    if group:
        per_group = []
        for key in sorted(set(groups[i] for i in ids)):
            sel = [k for k, i in enumerate(ids) if groups[i] == key]
            pg = ag.pairwise_agreement(
                [wo[k] for k in sel],
                [ws[k] for k in sel] if ws is not None else None,
                [g[k] for k in sel],
                invalid_agree=invalid_agree,
            )
            per_group.append({"group": key, **pg.to_dict()})
        macro = float(np.mean([p["accuracy"] for p in per_group]))
    worst = []
    for k, i in enumerate(ids):
        o = ag.normalize_preference(wo[k])
        s = ag.normalize_preference(ws[k]) if ws is not None else None
        wrong = (o != g[k]) + (ws is not None and s != g[k])
        if wrong:
            worst.append(
                (
                    -wrong,
                    i,
                    {
                        "id": i,
                        "label": g[k],
                        "winner_original": o,
                        "winner_swapped": s,
                        "wrong_orders": wrong,
                    },
                )
            )
    worst.sort(key=lambda t: (t[0], t[1]))
    return PairwiseReport(
        n_used=len(ids),
        n_dropped=drops.total,
        dropped=drops.models(),
        invalid_agree=invalid_agree,
        figures={k: Interval.of(v) for k, v in est.items()},
        counts=count_fields,
        per_group=per_group,
        macro_accuracy=macro,
        disagreements=[w[2] for w in worst[: max(0, top)]],
        resampled="groups" if group else "items",
        notes=[] if ws is not None else ["judged in one order only: no positional agreement"],
    )


# ------------------------------------------------------------------------------------------------------
# Terminal table
# ------------------------------------------------------------------------------------------------------


def _f(v: float | None, digits: int = 3, sign: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _cell(iv: Interval | None, sign: bool = False) -> str:
    if iv is None or iv.value is None:
        return "n/a"
    if iv.ci_low is None or iv.ci_high is None:
        return _f(iv.value, sign=sign)
    return f"{_f(iv.value, sign=sign)} [{_f(iv.ci_low, sign=sign)}, {_f(iv.ci_high, sign=sign)}]"


def _row(label: str, cells: Sequence[str], width: int = 26) -> str:
    return f"  {label:<24}" + "".join(f"{c:<{width}}" for c in cells).rstrip()


def format_report(report: AgreementReport) -> str:
    """The human-readable table printed by ``judgekit validate``."""
    s = report.settings
    pct = round(100 * s["confidence"])
    lines = [f"judgekit validate: {report.inputs['judge']} vs {report.inputs['human']}"]
    unit = "groups" if s.get("group") else "items"
    lines.append(
        f"{pct}% percentile bootstrap CIs, {s['n_boot']} resamples of {unit} (seed {s['seed']})"
        if s["n_boot"]
        else "no bootstrap (--n-boot 0)"
    )
    if report.pairwise is not None:
        lines += _format_pairwise(report.pairwise)
    for d in report.dimensions:
        lines += _format_dimension(d, s)
    return "\n".join(lines) + "\n"


def _dropped_text(dropped: Sequence[Dropped]) -> str:
    if not dropped:
        return "none dropped"
    return "dropped: " + "; ".join(f"{d.reason} ({d.count})" for d in dropped)


def _format_dimension(d: DimensionReport, s: Mapping[str, Any]) -> list[str]:
    ann = f"{d.n_annotators} annotators, {d.n_labels} labels" if d.n_annotators else "averaged labels"
    out = [
        "",
        f"dimension {d.dimension!r}: {d.n_used} items used, {d.n_dropped} dropped; {ann}; "
        f"scale {_scale_text(d.scale)}"
        + (
            ""
            if d.judge_on_scale
            else f" (judge: {_scale_text(d.judge_scale) if d.judge_scale else 'own scale'})"
        ),
    ]
    if d.n_dropped:
        out.append(f"  {_dropped_text(d.dropped)}")
    if d.judge_samples:
        js = d.judge_samples
        out.append(
            f"  judge samples (rubric {js['rubric']!r}): {js['samples']} read, {js['parsed']} parsed, "
            f"{js['unparseable']} unparseable (excluded)"
        )
    out.append(_row("", ["Pearson", "Spearman", "Kendall tau-b"]))
    c = d.correlations

    def corr_row(label: str, block: Correlations | None) -> None:
        if block is not None:
            out.append(_row(label, [_cell(block.pearson), _cell(block.spearman), _cell(block.kendall)]))

    corr_row("pooled", c.pooled)
    if c.per_group is not None and c.groups_used is not None:
        used = c.groups_used.get("pearson", 0)
        corr_row(f"per {s.get('group')} ({used}/{c.n_groups})", c.per_group)
    if c.system is not None:
        corr_row(f"system level ({c.n_systems})", c.system)
    if d.ceiling is not None:
        corr_row("human ceiling (LOO)", d.ceiling.human)
        corr_row("judge vs LOO humans", d.ceiling.judge)
    if d.alpha is not None:
        out.append(_row("Krippendorff's alpha", list(ag.ALPHA_LEVELS)))
        if d.alpha.humans is not None:
            out.append(_row("  humans", [_cell(d.alpha.humans[lv]) for lv in ag.ALPHA_LEVELS]))
        if d.alpha.humans_and_judge is not None:
            out.append(
                _row("  humans + judge", [_cell(d.alpha.humans_and_judge[lv]) for lv in ag.ALPHA_LEVELS])
            )
    if d.kappa is not None:
        out.append(_row("Cohen's kappa", list(ag.KAPPA_WEIGHTS)))
        if d.kappa.vs_mean is not None:
            out.append(_row("  vs rounded mean", [_cell(d.kappa.vs_mean[w]) for w in ag.KAPPA_WEIGHTS]))
        if d.kappa.vs_majority is not None:
            out.append(_row("  vs majority label", [_cell(d.kappa.vs_majority[w]) for w in ag.KAPPA_WEIGHTS]))
            if d.kappa.n_no_majority:
                out.append(
                    f"    ({d.kappa.n_no_majority} items with no majority label are left out of this row)"
                )
    b = d.bias
    out.append("  bias")
    if b.mean_offset is not None:
        out.append(_row("  judge - human (mean)", [_cell(b.mean_offset, sign=True)]))
    if b.length_judge is not None:
        out.append(
            _row(
                "  Spearman with length",
                [f"judge {_cell(b.length_judge)}", f"humans {_cell(b.length_human)}"],
                34,
            )
        )
    if b.judge_shares:
        out.append(
            "    score shares  judge  " + "  ".join(f"{k}: {100 * v:.0f}%" for k, v in b.judge_shares.items())
        )
    if b.human_shares:
        out.append(
            "                  humans " + "  ".join(f"{k}: {100 * v:.0f}%" for k, v in b.human_shares.items())
        )
    if d.disagreements:
        out.append("  largest disagreements" + ("" if d.judge_on_scale else " (percentile-rank difference)"))
        out.append(f"    {'id':<28}{'judge':>8}{'humans':>8}{'diff':>8}  labels")
        for x in d.disagreements:
            labels = " ".join(_num(v) for v in x.labels.values())
            out.append(f"    {x.id[:27]:<28}{x.judge:>8.3g}{x.human:>8.3g}{x.difference:>+8.3f}  {labels}")
    out += [f"  note: {n}" for n in d.notes]
    return out


def _format_pairwise(p: PairwiseReport) -> list[str]:
    out = ["", f"pairwise preferences: {p.n_used} items used, {p.n_dropped} dropped"]
    if p.n_dropped:
        out.append(f"  {_dropped_text(p.dropped)}")
    names = [
        ("accuracy", "accuracy (mean of orders)"),
        ("accuracy_original", "accuracy, original order"),
        ("accuracy_swapped", "accuracy, swapped order"),
        ("accuracy_both", "correct in both orders"),
        ("positional_agreement", "positional agreement"),
        ("kappa_original", "kappa vs labels, original"),
        ("kappa_swapped", "kappa vs labels, swapped"),
        ("kappa_positional", "kappa between orders"),
    ]
    for key, label in names:
        if key in p.figures:
            out.append(_row(label, [_cell(p.figures[key])], 30))
    c = p.counts
    out.append(
        f"  invalid verdicts: {c.get('invalid_original', 0)} original, {c.get('invalid_swapped') or 0} swapped "
        f"(counted as wrong{'; two invalid verdicts count as agreeing' if p.invalid_agree else ''})"
    )
    if p.per_group:
        out.append(f"  {'group':<30}{'n':>6}{'accuracy':>10}{'agreement':>11}")
        for g in p.per_group:
            out.append(
                f"  {str(g['group'])[:29]:<30}{g['n']:>6}{_f(g['accuracy']):>10}{_f(g.get('positional_agreement')):>11}"
            )
        out.append(f"  {'unweighted mean over groups':<36}{_f(p.macro_accuracy):>10}")
    if p.disagreements:
        out.append("  items judged wrong (most orders wrong first)")
        for x in p.disagreements:
            out.append(
                f"    {x['id'][:30]:<32}label {x['label']:<4} original {x['winner_original']}  swapped {x['winner_swapped']}"
            )
    out += [f"  note: {n}" for n in p.notes]
    return out


make_module_callable(__name__, validate)
