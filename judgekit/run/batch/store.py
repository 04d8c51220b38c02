"""Which batches a cache has paid for: a ``batches`` table in the cache's own SQLite file.

A batch is recorded the moment the provider accepts it, with the cache keys it covers, and closed only once
its results are in the cache. A run that is interrupted while it polls (Ctrl-C, SIGTERM, kill -9) finds the
open batch on rerun and polls it again instead of paying for the same requests twice. The ``completions``
table is not touched: a cache file with this table stays readable by any judgekit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from pydantic import BaseModel

from judgekit.errors import ConfigError


class BatchRecord(BaseModel):
    """One submitted batch: its provider id, the judge it ran for, and the request keys it covers."""

    batch_id: str
    judge: str
    input_file_id: str
    keys: list[str]
    created: float


class BatchStore:
    """The ``batches`` table of a cache file (its own connection; WAL lets it share the file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS batches ("
                " batch_id TEXT PRIMARY KEY, judge TEXT NOT NULL, input_file_id TEXT NOT NULL,"
                " keys TEXT NOT NULL, created REAL NOT NULL, status TEXT, ended REAL)"
            )
        except sqlite3.Error as err:
            raise ConfigError(f"{self.path}: cannot open the cache's batch table ({err})") from None

    def add(self, record: BatchRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO batches (batch_id, judge, input_file_id, keys, created)"
            " VALUES (?, ?, ?, ?, ?)",
            (record.batch_id, record.judge, record.input_file_id, json.dumps(record.keys), record.created),
        )

    def open_batches(self, judge: str) -> list[BatchRecord]:
        """The judge's batches not yet closed (still running, or interrupted before their results were
        stored), oldest first."""
        rows = self._db.execute(
            "SELECT batch_id, judge, input_file_id, keys, created FROM batches"
            " WHERE judge = ? AND ended IS NULL ORDER BY created",
            (judge,),
        )
        return [
            BatchRecord(batch_id=b, judge=j, input_file_id=f, keys=json.loads(k), created=c)
            for b, j, f, k, c in rows
        ]

    def close_batch(self, batch_id: str, status: str) -> None:
        """Mark a batch done (its results are in the cache, or it ended without any)."""
        self._db.execute(
            "UPDATE batches SET status = ?, ended = ? WHERE batch_id = ?", (status, time.time(), batch_id)
        )

    def close(self) -> None:
        self._db.close()
