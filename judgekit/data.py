"""Input files: datasets (JSON list or JSONL of rows) and responses (``{id: [{"output": str}]}`` or rows).

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
    """Parse a .json file, or a JSON Lines file (one object per line); errors name the line."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a JSON or JSONL file") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read ({err.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{p}: not UTF-8 text (invalid byte at offset {err.start})") from None
    if not text.strip():
        raise InputError(f"{p}: file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole_err:
        lines = [ln for ln in text.splitlines()]
        if len([ln for ln in lines if ln.strip()]) < 2 and not p.suffix.lower().endswith("l"):
            raise InputError(
                f"{p}: invalid JSON at line {whole_err.lineno}, column {whole_err.colno}: {whole_err.msg}"
            ) from None
        rows = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                if p.suffix.lower() == ".json":
                    raise InputError(
                        f"{p}: invalid JSON at line {whole_err.lineno}, column {whole_err.colno}: "
                        f"{whole_err.msg}"
                    ) from None
                raise InputError(f"{p}: line {n}: invalid JSON Lines record: {err.msg}") from None
        return rows


def _rows(path: Path, data: Any) -> list[dict[str, Any]]:
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


def _item_id(path: Path, row: dict[str, Any], n: int) -> str:
    if "id" not in row:
        raise InputError(f"{path}: item #{n + 1}: missing field 'id'")
    value = row["id"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"{where(path, value, 'id')}: expected a string or integer id")
    text = str(value)
    if not text.strip():
        raise InputError(f"{path}: item #{n + 1}: field 'id' is empty")
    return text


def _check_unique(path: Path, ids: Iterable[str]) -> None:
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
    rows = _rows(p, read_json_or_jsonl(p))
    if not rows:
        raise InputError(f"{p}: the dataset has no items")
    items: list[Item] = []
    for n, row in enumerate(rows):
        item_id = _item_id(p, row, n)
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
    _check_unique(p, [it.id for it in items])
    return items


def load_responses(path: str | Path) -> dict[str, str]:
    """Load responses: LaMP-QA's ``{id: [{"output": str}, ...]}`` (first output is judged), ``{id: str}``,
    or a list/JSONL of ``{id, output}`` rows."""
    p = Path(path)
    data = read_json_or_jsonl(p)
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out[str(key)] = _response_text(p, str(key), value)
        return out
    rows = _rows(p, data)
    for n, row in enumerate(rows):
        item_id = _item_id(p, row, n)
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
