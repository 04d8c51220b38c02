"""On-disk cache of judge completions (SQLite, WAL), keyed by a stable hash of everything that shapes a call.

The key covers the judge's identity, the rendered messages, the sampling parameters, the output schema and
the sample index; never an API key. Only successful completions are stored,
committed as they arrive (those of one event-loop turn in one transaction), so a killed run loses nothing and
a rerun judges nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from judgekit._turn import flush_at_turn_end
from judgekit.errors import ConfigError
from judgekit.judges.base import Completion, JudgeParams, Message
from judgekit.scrub import scrub_text

SCHEMA_VERSION = 1
# The messages' canonical JSON in request_key (json.dumps with these options, without a new encoder per call).
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def cache_dir() -> Path:
    """judgekit's cache root: $JUDGEKIT_CACHE_DIR, else $XDG_CACHE_HOME/judgekit (~/.cache/judgekit)."""
    env = os.environ.get("JUDGEKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "judgekit"


def default_cache_path() -> Path:
    return cache_dir() / "cache.sqlite"


def request_key(judge_identity: str, messages: Sequence[Message], params: JudgeParams, sample: int) -> str:
    """sha256 over everything that shapes the answer: judge, messages, parameters (with schema), sample."""
    parts = (f"v{SCHEMA_VERSION}", judge_identity, _canonical(list(messages)), params.cache_json, str(sample))
    return hashlib.sha256("\0".join(parts).encode("utf-8") + b"\0").hexdigest()


class Cache:
    """A SQLite file shared safely by concurrent runs (WAL mode, one row per completion)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                " key TEXT PRIMARY KEY, judge TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"{self.path}: cannot open the cache ({err})") from None
        self._unsaved: list[tuple[str, str, str, float]] = []
        self._flush_due = False

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
        if not self._flush_due:
            self._flush_due = flush_at_turn_end(self.flush)

    def flush(self) -> None:
        """Commit the completions not yet written."""
        rows, self._unsaved, self._flush_due = self._unsaved, [], False
        if not rows:
            return
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO completions (key, judge, value, created) VALUES (?, ?, ?, ?)", rows
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def stats(self) -> dict[str, Any]:
        self.flush()
        (n,) = self._db.execute("SELECT COUNT(*) FROM completions").fetchone()
        return {"path": str(self.path), "entries": n}

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
