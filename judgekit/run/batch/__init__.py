"""``score --batch``: judge calls through the provider's batch API (about half the price), with the same
cache, parsing and scoring as live calls. See :mod:`judgekit.run.batch.run` for the steps and docs/large_runs.md.

Only the settings load with the package (:mod:`judgekit.scoring.settings` needs them); the rest on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgekit._lazy import lazy_getattr
from judgekit.run.batch.settings import BatchSettings

if TYPE_CHECKING:
    from judgekit.run.batch.api import BatchTarget, batch_target
    from judgekit.run.batch.run import BatchRun
    from judgekit.run.batch.store import BatchRecord, BatchStore

__getattr__ = lazy_getattr(
    "judgekit.run.batch",
    {
        "BatchTarget": "judgekit.run.batch.api",
        "batch_target": "judgekit.run.batch.api",
        "BatchRun": "judgekit.run.batch.run",
        "BatchRecord": "judgekit.run.batch.store",
        "BatchStore": "judgekit.run.batch.store",
    },
)

__all__ = ["BatchRecord", "BatchRun", "BatchSettings", "BatchStore", "BatchTarget", "batch_target"]
