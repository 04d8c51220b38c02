"""A Python judge (``--judge tests.cache_locking_judge:judge``) that makes a run's cache fail as it closes.

It answers every unit with a valid verdict. Before its last answer (the ``JUDGEKIT_TEST_LOCK_AT``-th call; the
run asks one unit at a time) it takes the write lock of the run's cache (``JUDGEKIT_TEST_LOCK_CACHE``) from a
SQLite connection of its own, as another process would: the answers before it are committed, the last one
can only be committed when the run closes its cache, and that commit fails. The lock is let go when the
process exits.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import sqlite3
from typing import Any

_calls = [0]


def _release(lock: sqlite3.Connection) -> None:
    lock.execute("ROLLBACK")
    lock.close()


async def judge(messages: list[dict[str, Any]], params: Any) -> str:
    _calls[0] += 1
    if _calls[0] == int(os.environ["JUDGEKIT_TEST_LOCK_AT"]):
        await asyncio.sleep(0.3)  # the previous answers' commits (at the end of their turns) are done
        lock = sqlite3.connect(os.environ["JUDGEKIT_TEST_LOCK_CACHE"], isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        atexit.register(_release, lock)
    return json.dumps({"match_score": 1})
