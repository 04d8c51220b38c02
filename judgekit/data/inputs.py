"""Single-response inputs: datasets (JSON list or JSONL of rows) and responses (``{id: [{"output": str}]}``
or rows).

Every problem is reported as one line naming the file, the item id and the field, so a user can fix it
without reading a traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import InputError, where
from judgekit.io import DuplicateKeyError, json_error_text, loads_strict, read_text


class Aspect(BaseModel):
    """One checklist entry of a question (LaMP-QA's ``rubric_aspects`` element)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    aspect: str
    reason: str = ""
    evidence: str = ""


class Item(BaseModel):
    """One dataset row: its id, the fields templates may use, and its checklist (possibly empty)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    fields: dict[str, Any]
    aspects: list[Aspect] = Field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json_or_jsonl(path: str | Path) -> Any:
    """Parse a JSON file, or JSON Lines (one value a line; always for ``.jsonl``); one-line errors.

    An object with a duplicated key (``{id: text}`` responses, a row's fields) is an error, not last-wins."""
    p = Path(path)
    text = read_text(p)
    if p.suffix.lower() != ".jsonl":
        try:
            return loads_strict(text)
        except DuplicateKeyError as err:
            raise InputError(f"{p}: {err}") from None
        except json.JSONDecodeError as first:
            if "Extra data" not in first.msg:  # else: several JSON values, read as JSON Lines
                raise InputError(f"{p}: invalid JSON ({json_error_text(first)})") from None
    rows: list[Any] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(loads_strict(line))
        except DuplicateKeyError as err:
            raise InputError(f"{p}: line {lineno}: {err}") from None
        except json.JSONDecodeError as err:
            raise InputError(
                f"{p}: invalid JSON Lines (line {lineno}: {json_error_text(err, line=False)})"
            ) from None
    return rows


def dataset_rows(path: Path, data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        # {"task": ..., "golds": [...]} (LaMP) or {"data": [...]}; otherwise not a dataset.
        for key in ("golds", "data", "items"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            raise InputError(f"{path}: expected a JSON list of items (or JSON Lines), got an object")
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of items, got {type(data).__name__}")
    for n, row in enumerate(data):
        if not isinstance(row, dict):
            raise InputError(f"{path}: item #{n + 1}: expected an object, got {type(row).__name__}")
    return data


def row_item_id(path: Path, row: dict[str, Any], n: int) -> str:
    if "id" not in row:
        raise InputError(f"{path}: item #{n + 1}: missing field 'id'")
    value = row["id"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"{where(path, value, 'id')}: expected a string or integer id")
    text = str(value)
    if not text.strip():
        raise InputError(f"{path}: item #{n + 1}: field 'id' is empty")
    return text


def check_unique_ids(path: Path, ids: Iterable[str]) -> None:
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    if dupes:
        raise InputError(f"{path}: duplicate ids: {_listing(dupes)}")


def _listing(values: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in sorted(values)[:limit])
    more = len(values) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def _parse_aspects(path: Path, item_id: str, field: str, value: Any) -> list[Aspect]:
    if not isinstance(value, list):
        raise InputError(
            f"{where(path, item_id, field)}: expected a list of aspects, got {type(value).__name__}"
        )
    if not value:
        raise InputError(f"{where(path, item_id, field)}: the aspect list is empty; nothing to judge")
    aspects = []
    for k, entry in enumerate(value):
        loc = f"{field}[{k}]"
        if not isinstance(entry, dict):
            raise InputError(
                f"{where(path, item_id, loc)}: expected an object with 'aspect', 'reason', 'evidence'"
            )
        for key in ("aspect", "reason", "evidence"):
            if key in entry and not isinstance(entry[key], str):
                raise InputError(
                    f"{where(path, item_id, loc + '.' + key)}: expected a string, got {type(entry[key]).__name__}"
                )
        if not str(entry.get("aspect", "")).strip():
            raise InputError(f"{where(path, item_id, loc + '.aspect')}: missing or empty")
        aspects.append(Aspect.model_validate(entry))
    titles = [a.aspect for a in aspects]
    dupes = [t for t, c in Counter(titles).items() if c > 1]
    if dupes:
        raise InputError(f"{where(path, item_id, field)}: duplicate aspect titles: {_listing(dupes)}")
    return aspects


def load_dataset(
    path: str | Path,
    *,
    required: Iterable[str] = (),
    aspects_field: str | None = None,
) -> list[Item]:
    """Load a dataset file, checking the fields a rubric needs; extra fields (profiles...) are kept but unused."""
    p = Path(path)
    rows = dataset_rows(p, read_json_or_jsonl(p))
    if not rows:
        raise InputError(f"{p}: the dataset has no items")
    items: list[Item] = []
    for n, row in enumerate(rows):
        item_id = row_item_id(p, row, n)
        for field in required:
            if field not in row:
                raise InputError(f"{where(p, item_id, field)}: missing")
            value = row[field]
            if not isinstance(value, str):
                raise InputError(f"{where(p, item_id, field)}: expected a string, got {type(value).__name__}")
        aspects: list[Aspect] = []
        if aspects_field is not None:
            if aspects_field not in row:
                raise InputError(f"{where(p, item_id, aspects_field)}: missing")
            aspects = _parse_aspects(p, item_id, aspects_field, row[aspects_field])
        items.append(Item(id=item_id, fields=row, aspects=aspects))
    check_unique_ids(p, [it.id for it in items])
    return items


DEFAULT_MAX_RESPONSE_CHARS = 200_000


def load_responses(path: str | Path, max_chars: int | None = DEFAULT_MAX_RESPONSE_CHARS) -> dict[str, str]:
    """Load responses: LaMP-QA's ``{id: [{"output": str}, ...]}`` (first output is judged), ``{id: str}``,
    or a list/JSONL of ``{id, output}`` rows. A response over ``max_chars`` is an error, not a silent
    multi-megabyte prompt."""
    p = Path(path)
    out = _load_responses(p)
    if max_chars is not None:
        for item_id, text in out.items():
            if len(text) > max_chars:
                raise InputError(
                    f"{where(p, item_id, 'output')}: response has {len(text):,} characters, above the limit of "
                    f"{max_chars:,} (raise it with --max-response-chars)"
                )
    return out


def _load_responses(p: Path) -> dict[str, str]:
    data = read_json_or_jsonl(p)
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out[str(key)] = _response_text(p, str(key), value)
        return out
    rows = dataset_rows(p, data)
    for n, row in enumerate(rows):
        item_id = row_item_id(p, row, n)
        if item_id in out:
            raise InputError(f"{p}: duplicate ids: {item_id!r}")
        field = "output" if "output" in row else "response" if "response" in row else None
        if field is None:
            raise InputError(f"{where(p, item_id, 'output')}: missing")
        out[item_id] = _response_text(p, item_id, row[field])
    return out


def _response_text(path: Path, item_id: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError(
            f'{where(path, item_id, "output")}: expected a string or a list of {{"output": ...}}, '
            f"got {type(value).__name__}"
        )
    if not value:
        raise InputError(f"{where(path, item_id)}: has no response (empty list)")
    first = value[0]
    if isinstance(first, str):
        return first
    if not isinstance(first, dict) or "output" not in first:
        raise InputError(f'{where(path, item_id, "output")}: missing (expected [{{"output": "..."}}])')
    if not isinstance(first["output"], str):
        raise InputError(
            f"{where(path, item_id, 'output')}: expected a string, got {type(first['output']).__name__}"
        )
    return first["output"]


def match_ids(
    items: list[Item], responses: dict[str, str], dataset_path: str | Path, responses_path: str | Path
) -> None:
    """Every item needs a response and every response an item; list the mismatches otherwise."""
    item_ids = {it.id for it in items}
    missing = sorted(item_ids - responses.keys())
    extra = sorted(responses.keys() - item_ids)
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} id(s) in {dataset_path} have no response in {responses_path}: {_listing(missing)}"
        )
    if extra:
        problems.append(
            f"{len(extra)} id(s) in {responses_path} are not in {dataset_path}: {_listing(extra)}"
        )
    if problems:
        raise InputError("; ".join(problems))
