"""The labels file: JSON Lines appended under an exclusive ``flock`` and fsync'd before a submit returns.

Several ``judgekit label`` processes (one per annotator) may share one file: the lock keeps each submit's
rows together and whole, and every process reads the rows the others appended before it answers the page.
A row that a killed writer left half-written (no final newline) was never acknowledged; it is cut off when
the file is next opened, so no label is doubled and none the page saw saved is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from judgekit.errors import InputError

#: The fields of one label row, in the order they are written.
ROW_FIELDS = ("id", "annotator", "label", "dimension", "order", "note", "time", "probability")


@contextmanager
def _locked(f: TextIO | Any, exclusive: bool) -> Iterator[None]:
    fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def parse_row(path: Path, lineno: int, line: str) -> dict[str, Any]:
    """One label row, checked for the fields every reader relies on."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line {lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}: line {lineno}: expected a JSON object")
    for key in ("id", "annotator"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise InputError(f"{path}: line {lineno}: field {key!r} missing or not a string")
    if "label" not in row:
        raise InputError(f"{path}: line {lineno}: field 'label' missing")
    return row


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every complete row of a labels file, in file order (a torn last line is ignored)."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as f, _locked(f, exclusive=False):
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"{p}: no such labels file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{p}: cannot read ({err})") from None
    lines = text.split("\n")[:-1]  # the part after the last newline is a torn row (or empty)
    return [parse_row(p, n, line) for n, line in enumerate(lines, start=1) if line.strip()]


def latest(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The row that counts per (id, annotator, dimension): the last one; a ``null`` label withdraws."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["id"], row["annotator"], str(row.get("dimension") or ""))
        if row.get("label") is None:
            out.pop(key, None)
        else:
            out[key] = row
    return out


@dataclass
class LabelStore:
    """Appends rows to one labels file and follows what other processes append to it."""

    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    _offset: int = 0
    _lineno: int = 0

    @classmethod
    def open(cls, path: str | Path) -> LabelStore:
        """Create the file if needed, cut a torn last row off, and read what is there."""
        p = Path(path)
        if p.exists() and not p.is_file():
            raise InputError(f"{p}: not a file")
        try:
            with open(p, "a+b") as f, _locked(f, exclusive=True):
                f.seek(0)
                data = f.read()
                end = data.rfind(b"\n") + 1
                if end < len(data):  # a writer died mid-row: that row was never acknowledged
                    f.truncate(end)
                    os.fsync(f.fileno())
        except OSError as err:
            raise InputError(f"{p}: cannot open the labels file ({err.strerror})") from None
        store = cls(p)
        store.refresh()
        return store

    def refresh(self) -> list[dict[str, Any]]:
        """Read the rows appended since the last call (by any process); returns them."""
        with open(self.path, "rb") as f, _locked(f, exclusive=False):
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        new: list[dict[str, Any]] = []
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: not UTF-8 text") from None
        for line in text.split("\n")[:-1]:
            self._lineno += 1
            if line.strip():
                new.append(parse_row(self.path, self._lineno, line))
        self._offset += end
        self.rows.extend(new)
        return new

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write one submit's rows in one locked write, on disk (fsync) before returning."""
        payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        with open(self.path, "ab") as f, _locked(f, exclusive=True):
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        self.refresh()
