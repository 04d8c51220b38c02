"""Refuse score values the gate cannot judge: NaN, infinities, and scores outside the rubric's scale.

The checks are :mod:`judgekit.score_reader`'s, shared with every command that reads score files.
"""

from __future__ import annotations

from judgekit.score_reader import ScoreBounds, check_score_values, score_bounds

__all__ = ["ScoreBounds", "check_score_values", "score_bounds"]
