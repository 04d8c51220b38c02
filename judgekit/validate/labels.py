"""Human labels: long (``id, annotator, label``), wide (one column per annotator) or averaged, from CSV, TSV,
JSON or JSON Lines."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from judgekit import stats as ag
from judgekit.errors import ConfigError, InputError
from judgekit.io import read_text
from judgekit.validate.rows import id_text, is_missing, listing, read_rows

HumanFormat = Literal["auto", "long", "wide", "mean"]
DEFAULT_DIMENSION = "score"

_Parse = Callable[[Path, str, str, Any], Any]


@dataclass
class HumanLabels:
    """Labels per dimension: ``dimension -> id -> annotator -> value`` (``str`` for pairwise labels)."""

    form: str
    labels: dict[str, dict[str, dict[str, Any]]]
    meta: dict[str, dict[str, Any]]
    columns: list[str]
    text_columns: list[str] = field(default_factory=list)


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
    """Read human labels in long, wide or averaged form (see the package docstring)."""
    path = Path(human)
    rows = _read_table(path)
    columns = list(rows[0].keys())
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    if id_field not in columns:
        raise InputError(f"{path}: no {id_field!r} column (columns: {listing(columns, 8)})")
    if {annotator_field, label_field, "time"} <= set(columns):
        rows = _last_rows(rows, id_field, annotator_field, label_field)
    reader = _LabelReader(
        path, columns, dimensions, annotators, id_field, annotator_field, label_field, meta_fields,
        _preference if pairwise else _number,
    )  # fmt: skip
    form = reader.decide_form(rows, human_format)
    read_row = {"long": reader.long_row, "wide": reader.wide_row, "mean": reader.mean_row}[form]
    for n, row in enumerate(rows):
        try:
            item = id_text(row.get(id_field))
        except ValueError as err:
            raise InputError(f"{path}: row {n + 1}: column {id_field!r}: {err}") from None
        reader.collect_meta(item, row)
        read_row(n, item, row)
    if not reader.labels:
        raise InputError(f"{path}: no labels found")
    return HumanLabels(
        form=form, labels=reader.labels, meta=reader.meta, columns=columns, text_columns=reader.text_cols
    )


def _last_rows(
    rows: list[dict[str, Any]], id_field: str, annotator_field: str, label_field: str
) -> list[dict[str, Any]]:
    """A timed label history (``judgekit label``'s file): the last row per id, annotator and dimension
    counts, and a null label withdraws the ones before it."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (str(row.get(id_field)), str(row.get(annotator_field)), str(row.get("dimension") or ""))
        last.pop(key, None)  # re-insert: the kept rows stay in the order they were last written
        last[key] = row
    return [r for r in last.values() if r.get(label_field) is not None]


def _read_table(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt"):
        return read_rows(path)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",", strict=True)
    try:
        table = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as err:
        raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({err})") from None
    header = [h.strip() for h in table[0]]
    if len(set(header)) != len(header):
        dupes = [h for h, c in Counter(header).items() if c > 1]
        raise InputError(f"{path}: duplicate column names: {listing(dupes)}")
    if len(table) < 2:
        raise InputError(f"{path}: has a header but no rows")
    rows = []
    for n, r in enumerate(table[1:], start=2):
        if len(r) != len(header):
            raise InputError(f"{path}: row {n}: {len(r)} fields, but the header has {len(header)}")
        rows.append(dict(zip(header, r, strict=True)))
    return rows


@dataclass
class _LabelReader:
    """Reads one row at a time into ``labels`` and ``meta``, in the form the table has."""

    path: Path
    columns: list[str]
    dimensions: Sequence[str] | None
    annotators: Sequence[str] | None
    id_field: str
    annotator_field: str
    label_field: str
    meta_fields: Sequence[str]
    parse: _Parse
    text_cols: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    def decide_form(self, rows: Sequence[Mapping[str, Any]], form: HumanFormat) -> HumanFormat:
        """``form``, or for ``auto``: long with an annotator column, mean for one value column, else wide.

        Text columns (document ids, comments) are found first, so they are never taken for annotators."""
        has_annotator = self.annotator_field in self.columns
        if form != "long" and not (form == "auto" and has_annotator) and self.annotators is None:
            named = {self.label_field, *(self.dimensions or ())}
            candidates = _value_columns(self.columns, self.id_field, self.meta_fields, None)
            self.text_cols = _text_columns(
                self.path, rows, [c for c in candidates if c not in named], self.parse
            )
        if form != "auto":
            return form
        if has_annotator:
            return "long"
        value_cols = self.value_cols
        single = [
            c for c in value_cols if c == self.label_field or (self.dimensions and c in self.dimensions)
        ]
        return "mean" if (len(value_cols) == 1 or (single and len(single) == len(value_cols))) else "wide"

    @cached_property
    def value_cols(self) -> list[str]:
        return _value_columns(
            self.columns, self.id_field, [*self.meta_fields, *self.text_cols], self.annotators
        )

    def put(self, dim: str, item: str, annotator: str, value: Any, column: str) -> None:
        if is_missing(value):
            return
        slot = self.labels.setdefault(dim, {}).setdefault(item, {})
        if annotator in slot:
            raise InputError(
                f"{self.path}: id {item!r}: annotator {annotator!r} labels dimension {dim!r} twice"
            )
        slot[annotator] = self.parse(self.path, item, column, value)

    def collect_meta(self, item: str, row: Mapping[str, Any]) -> None:
        m = self.meta.setdefault(item, {})
        for f in self.meta_fields:
            if f in row and not is_missing(row[f]):
                if f in m and m[f] != row[f]:
                    raise InputError(
                        f"{self.path}: id {item!r}: field {f!r} differs between rows ({m[f]!r}, {row[f]!r})"
                    )
                m[f] = row[f]

    def long_row(self, n: int, item: str, row: Mapping[str, Any]) -> None:
        if self.annotator_field not in row or is_missing(row[self.annotator_field]):
            raise InputError(f"{self.path}: row {n + 1}: no {self.annotator_field!r}")
        annotator = str(row[self.annotator_field]).strip()
        label = self.label_field
        if "dimension" in self.columns and label in self.columns:
            dim = str(row.get("dimension", "")).strip() or DEFAULT_DIMENSION
            self.put(dim, item, annotator, row.get(label), label)
        elif label in self.columns:
            self.put(_single_dim(self.dimensions), item, annotator, row.get(label), label)
        elif self.dimensions:
            self.label_columns(item, annotator, row)
        else:
            raise InputError(
                f"{self.path}: long-form labels need a {label!r} column, or --dimension naming label columns"
            )

    def label_columns(self, item: str, annotator: str, row: Mapping[str, Any]) -> None:
        """One label column per ``--dimension``."""
        for dim in self.dimensions or ():
            if dim not in self.columns:
                raise InputError(f"{self.path}: no column {dim!r} for dimension {dim!r}")
            self.put(dim, item, annotator, row.get(dim), dim)

    def wide_row(self, n: int, item: str, row: Mapping[str, Any]) -> None:
        if not self.value_cols:
            text = f" (text columns, not labels: {listing(self.text_cols)})" if self.text_cols else ""
            raise InputError(f"{self.path}: no annotator columns besides {self.id_field!r}{text}")
        for c in self.value_cols:
            if ":" in c:
                dim, annotator = (s.strip() for s in c.split(":", 1))
            else:
                dim, annotator = _single_dim(self.dimensions), c
            self.put(dim, item, annotator, row.get(c), c)

    def mean_row(self, n: int, item: str, row: Mapping[str, Any]) -> None:
        cols = self.value_cols
        if self.dimensions:
            self.label_columns(item, "mean", row)
            return
        col = self.label_field if self.label_field in self.columns else (cols[0] if len(cols) == 1 else None)
        if col is None:
            raise InputError(
                f"{self.path}: several value columns; say which with --dimension or --label-column"
            )
        self.put(DEFAULT_DIMENSION, item, "mean", row.get(col), col)


def _text_columns(
    path: Path, rows: Sequence[Mapping[str, Any]], candidates: Sequence[str], parse: _Parse
) -> list[str]:
    """Columns where no value is a label (document ids, system names, comments): never annotators.

    A column mixing labels and text stays a label column, so its first non-label is reported."""
    out = []
    for c in candidates:
        values = [r[c] for r in rows if c in r and not is_missing(r[c])]
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
            raise InputError(f"annotator column(s) not found: {listing(missing)}")
        return list(annotators)
    skip = {id_field, *meta_fields, "dimension", "annotator"}
    return [c for c in columns if c not in skip]


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


def _preference(path: Path, item: str, column: str, v: Any) -> str:
    pref = ag.normalize_preference(v.strip() if isinstance(v, str) else v)
    if pref is None:
        raise InputError(f"{path}: id {item!r}: column {column!r}: preference label {v!r} is not 1, 2 or tie")
    return pref
