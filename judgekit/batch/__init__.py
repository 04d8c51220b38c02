"""``score --batch``: judge calls through the provider's batch API (about half the price), with the same
cache, parsing and scoring as live calls. See :mod:`judgekit.batch.run` for the steps and docs/large_runs.md.

Only the settings load with the package (:mod:`judgekit.settings` needs them); the rest on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgekit._lazy import lazy_getattr
from judgekit.batch.settings import BatchSettings

if TYPE_CHECKING:
    from judgekit.batch.api import BatchTarget, batch_target
    from judgekit.batch.run import BatchRun
    from judgekit.batch.store import BatchRecord, BatchStore

__getattr__ = lazy_getattr(
    "judgekit.batch",
    {
        "BatchTarget": "judgekit.batch.api",
        "batch_target": "judgekit.batch.api",
        "BatchRun": "judgekit.batch.run",
        "BatchRecord": "judgekit.batch.store",
        "BatchStore": "judgekit.batch.store",
    },
)

__all__ = ["BatchRecord", "BatchRun", "BatchSettings", "BatchStore", "BatchTarget", "batch_target"]
