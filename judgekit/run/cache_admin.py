"""Look at and clean a judge cache without knowing its schema: what ``judgekit cache`` runs.

Counts come from the SQLite file itself (entries per judge, answers of units that ended unscored); pruning
deletes rows in one transaction, then compacts the file when no other process has it open.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from judgekit.errors import InputError
from judgekit.run.cache import add_failed_column, busy_timeout


class JudgeEntries(BaseModel):
    """One judge's part of the cache."""

    judge: str
    entries: int
    failed: int  # answers of units that ended unscored (a rerun asks those units again)
    answer_bytes: int


class CacheStats(BaseModel):
    """What a cache file holds."""

    path: str
    size_bytes: int  # the database file with its write-ahead log
    entries: int
    failed: int
    judges: list[JudgeEntries]
    open_batches: int  # batches of `score --batch` still to collect (pruning keeps them)


def file_size(path: Path) -> int:
    """The cache file and its write-ahead log, in bytes."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


@contextlib.contextmanager
def _opened(path: str | Path) -> Iterator[sqlite3.Connection]:
    """An existing cache, never one created by looking; anything else is one clear InputError."""
    target = Path(path)
    if not target.is_file():
        raise InputError(f"{target}: no cache file there")
    try:
        db = sqlite3.connect(str(target), isolation_level=None, timeout=busy_timeout())
    except sqlite3.Error as err:
        raise InputError(f"{target}: cannot open the cache ({err})") from None
    try:
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "completions" not in tables:
                raise InputError(f"{target}: not a judgekit cache (no completions table)")
            add_failed_column(db)
        except sqlite3.Error as err:
            raise InputError(f"{target}: not a readable judgekit cache ({err})") from None
        yield db
    finally:
        db.close()


def cache_stats(path: str | Path) -> CacheStats:
    """Entries, size and failed answers, in all and per judge (most entries first)."""
    with _opened(path) as db:
        rows = db.execute(
            "SELECT judge, COUNT(*), SUM(failed), SUM(LENGTH(value)) FROM completions "
            "GROUP BY judge ORDER BY COUNT(*) DESC, judge"
        ).fetchall()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        batches = 0
        if "batches" in tables:
            (batches,) = db.execute("SELECT COUNT(*) FROM batches WHERE ended IS NULL").fetchone()
    judges = [JudgeEntries(judge=j, entries=n, failed=f or 0, answer_bytes=b or 0) for j, n, f, b in rows]
    return CacheStats(
        path=str(path),
        size_bytes=file_size(Path(path)),
        entries=sum(j.entries for j in judges),
        failed=sum(j.failed for j in judges),
        judges=judges,
        open_batches=int(batches),
    )


def judge_matches(spec: str, identity: str) -> bool:
    """Whether ``spec`` names the judge ``identity``: the identity itself, the identity without its
    ``|options``, the model string (every endpoint and option of that model), with or without the
    ``litellm:`` prefix, or a kind of judge by its prefix (``local``: every local model; ``router:judge``:
    that router group, whatever its deployments)."""
    spec = spec.strip()
    base = identity.split("|", 1)[0]
    names = {identity, base, base.split("@", 1)[0]}
    names |= {name.removeprefix("litellm:") for name in names}
    return spec in names or any(base.startswith(spec + sep) for sep in (":", "="))


def prune(path: str | Path, judge: str | None = None, unscored: bool = False) -> int:
    """Delete the entries of the judges ``judge`` names and/or the answers of units that ended unscored
    (both given: the entries that are both); returns how many were deleted."""
    if judge is None and not unscored:
        raise InputError("prune needs --judge SPEC, --unscored or both")
    with _opened(path) as db:
        where, params = ["1 = 1"], []
        if judge is not None:
            known = [row[0] for row in db.execute("SELECT DISTINCT judge FROM completions ORDER BY judge")]
            chosen = [name for name in known if judge_matches(judge, name)]
            if not chosen:
                listed = "; ".join(known) if known else "none (the cache is empty)"
                raise InputError(f"no judge in {path} matches {judge!r}; its judges: {listed}")
            where.append(f"judge IN ({','.join('?' * len(chosen))})")
            params += chosen
        if unscored:
            where.append("failed = 1")
        removed = _delete(db, path, " AND ".join(where), params)
    return removed


def clear(path: str | Path) -> int:
    """Delete every cached answer (open batches of ``score --batch`` stay recorded); returns how many."""
    with _opened(path) as db:
        return _delete(db, path, "1 = 1", [])


def _delete(db: sqlite3.Connection, path: str | Path, where: str, params: list[str]) -> int:
    try:
        removed = db.execute(f"DELETE FROM completions WHERE {where}", params).rowcount
    except sqlite3.Error as err:
        raise InputError(f"{path}: cannot delete from the cache ({err})") from None
    if removed:
        with contextlib.suppress(sqlite3.Error):  # another process has it open: compacted another time
            db.execute("VACUUM")
    return int(removed)
