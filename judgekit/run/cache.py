"""On-disk cache of judge completions (SQLite, WAL), keyed by a stable hash of everything that shapes a call.

The key covers the judge's identity, the rendered messages, the sampling parameters, the output schema and
the sample index; never an API key. Only successful completions are stored,
committed as they arrive (those of one event-loop turn in one transaction), so a killed run loses nothing and
a rerun judges nothing twice. An answer whose unit ended unscored (it never parsed, nor did its re-asks) is
kept for the record but marked ``failed``: a rerun asks again instead of replaying the failure
(:mod:`judgekit.run.cache_admin` counts and prunes them). A write that fails is never silent: the rows stay
buffered and every later use of the cache raises SaveFailed, saying how many answers are not saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, SaveFailed
from judgekit.io import cache_dir
from judgekit.judges.base import Completion, JudgeParams, Message
from judgekit.run._turn import flush_at_turn_end
from judgekit.scrub import scrub_text

SCHEMA_VERSION = 1
# The messages' canonical JSON in request_key (json.dumps with these options, without a new encoder per call).
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def default_cache_path() -> Path:
    return cache_dir() / "cache.sqlite"


def busy_timeout() -> float:
    """Seconds a write waits for another process's lock on the cache: $JUDGEKIT_CACHE_TIMEOUT, else 30.

    The wait blocks the run's event loop, so a long one stalls every call in flight."""
    raw = os.environ.get("JUDGEKIT_CACHE_TIMEOUT", "").strip()
    if not raw:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError(f"JUDGEKIT_CACHE_TIMEOUT: {raw!r} is not a number of seconds from 0 to 3600")
    return value


def request_key(judge_identity: str, messages: Sequence[Message], params: JudgeParams, sample: int) -> str:
    """sha256 over everything that shapes the answer: judge, messages, parameters (with schema), sample."""
    parts = (f"v{SCHEMA_VERSION}", judge_identity, _canonical(list(messages)), params.cache_json, str(sample))
    return hashlib.sha256("\0".join(parts).encode("utf-8") + b"\0").hexdigest()


class Cache:
    """A SQLite file shared safely by concurrent runs (WAL mode, one row per completion)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        timeout = busy_timeout()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=timeout
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                " key TEXT PRIMARY KEY, judge TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            add_failed_column(self._db)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"{self.path}: cannot open the cache ({err})") from None
        self._unsaved: list[tuple[str, str, str, float]] = []
        self._failing: list[str] = []  # keys whose unit ended unscored, to mark as the next commit
        self._flush_due = False
        self.error: Exception | None = None  # the write that failed; the cache takes no more after it

    def get_many(self, keys: Iterable[str]) -> dict[str, Completion]:
        self.flush()
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Completion] = {}
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, value FROM completions WHERE key IN ({marks})", chunk)
            for key, value in rows:
                found[key] = Completion.model_validate_json(value)
        return found

    def get(self, key: str) -> Completion | None:
        return self.get_many([key]).get(key)

    def put(self, key: str, judge_identity: str, completion: Completion) -> None:
        """Store a completion. Inside an event loop, the completions that arrive in one turn of the loop
        are committed together as that turn ends (one transaction, not one per row); outside, at once."""
        row = (key, scrub_text(judge_identity), scrub_text(completion.model_dump_json()), time.time())
        self._unsaved.append(row)  # no secret of the run reaches the file (judgekit.scrub)
        self._schedule()

    def mark_failed(self, keys: Iterable[str]) -> None:
        """Mark the answers of a unit that ended unscored (committed with the next write): a rerun judges
        the unit again instead of replaying them, and ``judgekit cache prune --unscored`` finds them."""
        self._failing.extend(keys)
        self._schedule()

    def _schedule(self) -> None:
        if self.error is not None:  # the run must stop: every use of a cache that lost answers says so
            raise self.failure()
        if not self._flush_due:
            self._flush_due = flush_at_turn_end(self._flush_deferred)

    def _flush_deferred(self) -> None:
        # As an event-loop callback, an exception would only reach asyncio's handler: the error is kept
        # in self.error instead, and the next put, read or close raises it.
        with contextlib.suppress(SaveFailed):
            self.flush()

    def failure(self) -> SaveFailed:
        """The one line that says which write failed and how many answers of this run are not saved."""
        hint = (
            " (another process holds the cache's write lock; JUDGEKIT_CACHE_TIMEOUT sets how long to wait)"
            if "locked" in str(self.error)
            else ""
        )
        return SaveFailed(
            f"cannot write the cache {self.path}: {self.error}{hint}; {len(self._unsaved)} answer(s) of this "
            "run are not saved (those saved before stay cached), so the run stopped"
        )

    def flush(self) -> None:
        """Commit the completions (and failed marks) not yet written; the buffer empties only once the
        commit succeeded. Raises SaveFailed when it cannot."""
        self._flush_due = False
        if self.error is not None:
            raise self.failure()
        rows, failing = self._unsaved, self._failing
        if not rows and not failing:
            return
        try:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO completions (key, judge, value, created) VALUES (?, ?, ?, ?)",
                    rows,
                )
                self._db.executemany(
                    "UPDATE completions SET failed = 1 WHERE key = ?", ((k,) for k in failing)
                )
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        except (OSError, sqlite3.Error) as err:
            self.error = err
            raise self.failure() from None
        self._unsaved, self._failing = [], []

    def stats(self) -> dict[str, Any]:
        self.flush()
        (n,) = self._db.execute("SELECT COUNT(*) FROM completions").fetchone()
        return {"path": str(self.path), "entries": n}

    def close(self) -> None:
        """Commit what is left and close; raises SaveFailed (once closed) when answers were not saved."""
        try:
            if self.error is None:
                with contextlib.suppress(SaveFailed):
                    self.flush()
        finally:
            self._db.close()
        if self.error is not None:
            raise self.failure()


def add_failed_column(db: sqlite3.Connection) -> None:
    """Caches written before the ``failed`` mark get the column (every answer in them counts as good)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(completions)")}
    if "failed" in columns:
        return
    try:
        db.execute("ALTER TABLE completions ADD COLUMN failed INTEGER NOT NULL DEFAULT 0")
    except sqlite3.OperationalError as err:  # another run added it first
        if "duplicate column" not in str(err):
            raise
