"""Reading predictions and references: every layout the field uses, one-line errors naming the item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.data import read_json_or_jsonl
from judgekit.errors import InputError, where

_MAX_LISTED = 5


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _row_id(path: Path, row: Mapping[str, Any], index: int, id_field: str) -> str:
    if id_field not in row:
        raise InputError(f"{where(path, field=id_field)}: row {index} has no {id_field!r} field")
    value = row[id_field]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"{where(path, field=id_field)}: row {index}: expected a string id, got {describe(value)}"
        )
    return str(value)


def _pick_field(
    path: Path, item_id: str, obj: Mapping[str, Any], field: str | None, defaults: Sequence[str]
) -> Any:
    if field is not None:
        if field not in obj:
            keys = ", ".join(repr(k) for k in list(obj)[:8])
            raise InputError(f"{where(path, item_id, field)}: missing (fields present: {keys or 'none'})")
        return obj[field]
    for name in defaults:
        if name in obj:
            return obj[name]
    keys = ", ".join(repr(k) for k in list(obj)[:8])
    wanted = " or ".join(repr(d) for d in defaults)
    option = "--prediction-field" if "prediction" in defaults else "--reference-field"
    raise InputError(
        f"{where(path, item_id)}: no {wanted} field (fields present: {keys or 'none'}); "
        f"name the field with {option}"
    )


def _texts(path: Path, item_id: str, value: Any, field: str | None, defaults: Sequence[str]) -> list[str]:
    """A value -> list of texts: a string, a list of strings, or a list of ``{field: string}``."""
    label = field or defaults[0]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if not value:
            raise InputError(f"{where(path, item_id, label)}: empty list (no text)")
        out: list[str] = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                entry = _pick_field(path, item_id, entry, field, defaults)
            if not isinstance(entry, str):
                raise InputError(
                    f"{where(path, item_id, label)}: entry {i}: expected a string, got {describe(entry)}"
                )
            out.append(entry)
        return out
    raise InputError(
        f"{where(path, item_id, label)}: expected a string or a list of strings, got {describe(value)}"
    )


def _load_texts(
    path: str | Path, field: str | None, defaults: Sequence[str], id_field: str
) -> dict[str, list[str]]:
    p = Path(path)
    data = read_json_or_jsonl(p)
    rows: list[Any] | None = None
    if isinstance(data, dict) and isinstance(data.get("golds"), list) and "task" in data:
        rows = data["golds"]  # LaMP / LongLaMP: {"task": ..., "golds": [{"id", "output"}]}
        if field is None:
            defaults = ("output",)
    elif isinstance(data, list):
        rows = data
    elif not isinstance(data, dict):
        raise InputError(f"{p}: expected a JSON object {{id: text}} or a list of rows, got {describe(data)}")

    out: dict[str, list[str]] = {}
    if rows is None:
        assert isinstance(data, dict)
        for item_id, value in data.items():
            if isinstance(value, dict):
                value = _pick_field(p, item_id, value, field, defaults)
            out[item_id] = _texts(p, item_id, value, field, defaults)
    else:
        duplicates: list[str] = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise InputError(f"{p}: row {index}: expected an object, got {describe(row)}")
            item_id = _row_id(p, row, index, id_field)
            if item_id in out:
                duplicates.append(item_id)
                continue
            out[item_id] = _texts(p, item_id, _pick_field(p, item_id, row, field, defaults), field, defaults)
        if duplicates:
            raise InputError(f"{p}: duplicate ids: {listing(duplicates)}")
    if not out:
        raise InputError(f"{p}: no items")
    return out


def load_references(
    path: str | Path, reference_field: str | None = None, *, id_field: str = "id"
) -> dict[str, list[str]]:
    """Read references as ``{id: [text, ...]}`` (one or more references per item).

    Accepted shapes: ``{id: text}``, ``{id: [text, ...]}``, ``{id: [{"output": text}, ...]}``,
    ``{id: {"output": text}}``, a JSON list or JSONL of rows ``{"id": ..., "output": ...}`` (the
    dataset / LongLaMP layout), and LaMP's ``{"task": ..., "golds": [{"id", "output"}]}``. The text
    field is ``reference_field`` if given, else ``output``, else ``reference``.
    """
    return _load_texts(path, reference_field, ("output", "reference"), id_field)


def load_predictions(
    path: str | Path, prediction_field: str | None = None, *, id_field: str = "id"
) -> dict[str, str]:
    """Read predictions as ``{id: text}``; same shapes as :func:`load_references`.

    Where an item has a list of outputs (the LaMP-QA / judgekit response shape
    ``{id: [{"output": text}]}``), the first one is the prediction. The text field is
    ``prediction_field`` if given, else ``output``, else ``prediction``.
    """
    texts = _load_texts(path, prediction_field, ("output", "prediction"), id_field)
    return {item_id: values[0] for item_id, values in texts.items()}


def listing(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_MAX_LISTED])
    more = len(ids) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def check_ids(
    predictions: Mapping[str, object],
    references: Mapping[str, object],
    *,
    predictions_name: str = "predictions",
    references_name: str = "references",
) -> None:
    """InputError listing a few ids that are in one mapping but not the other."""
    no_pred = [i for i in references if i not in predictions]
    no_ref = [i for i in predictions if i not in references]
    problems = []
    if no_pred:
        problems.append(
            f"{len(no_pred)} id(s) in {references_name} missing from {predictions_name}: {listing(no_pred)}"
        )
    if no_ref:
        problems.append(
            f"{len(no_ref)} id(s) in {predictions_name} missing from {references_name}: {listing(no_ref)}"
        )
    if problems:
        raise InputError("ids do not match: " + "; ".join(problems))
