"""Temporary re-export of ``judgekit.stats`` under the old name; import from ``judgekit.stats`` instead.

The statistics that lived here moved to ``judgekit.stats`` (one family per module); this module keeps
``from judgekit.agreement import X`` working until every caller imports from ``judgekit.stats``.
"""

from judgekit.stats import *  # noqa: F403 (the re-export is this module's purpose)
from judgekit.stats import __all__ as _stats_all
from judgekit.stats.arrays import F32Array, FloatArray, IntArray

__all__ = [*_stats_all, "F32Array", "FloatArray", "IntArray"]
