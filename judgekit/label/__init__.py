"""``judgekit label``: collect human labels, choosing the items that teach the most (see docs/label.md).

``selection`` decides which items to offer and with which probability (docs/statistics.md, "Choosing items
to label").
"""

from judgekit.label.selection import (
    NEEDS_SCORES,
    STRATEGIES,
    JudgeView,
    Pick,
    Strategy,
    judge_views,
    plan_selection,
)

__all__ = ["NEEDS_SCORES", "STRATEGIES", "JudgeView", "Pick", "Strategy", "judge_views", "plan_selection"]
