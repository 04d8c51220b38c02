"""Rows at the input boundary, shared by the judge and label loaders: ids, missing values, row files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from judgekit.errors import InputError

_MISSING_TEXT = {"", "na", "n/a", "nan", "none", "null"}
#: Row fields that are scores or verdicts; the others are per-id extras (group, system, length, ...).
_SCORE_FIELDS = {"id", "score", "scores", "dimension", "completions", "winner_original", "winner_swapped"}


def id_text(value: Any) -> str:
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
        return id_text(v)


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


def listing(values: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def is_missing(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, str) and v.strip().lower() in _MISSING_TEXT)
        or (isinstance(v, float) and math.isnan(v))
    )


def extras(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in _SCORE_FIELDS}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON list or JSON Lines file."""
    from judgekit.data import read_json_or_jsonl

    return rows_of(path, read_json_or_jsonl(path))


def rows_of(path: Path, data: Any) -> list[dict[str, Any]]:
    """``data`` (``path`` parsed) as a non-empty list of objects, or a one-line error."""
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
