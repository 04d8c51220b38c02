"""Refuse score values the gate cannot judge: NaN, infinities, and scores outside the rubric's scale.

A NaN compares false with every floor and every difference, so a file of NaNs would otherwise pass every check.
The scale comes from the score file's ``meta.rubric`` (see :func:`score_bounds`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from judgekit.errors import InputError, RubricError
from judgekit.results import ScoreFile

#: The range of a question score, by the rubric's ``question_score`` (``None``: the rubric's own scale).
_QUESTION_RANGE: dict[str, tuple[float, float] | None] = {"normalized": (0.0, 1.0), "pairwise": (0.0, 1.0)}
_SLACK = 1e-9


@dataclass(frozen=True)
class ScoreBounds:
    """The valid range of unit (aspect) scores and of question / overall scores in a score file."""

    aspect: tuple[float, float]
    question: tuple[float, float] | None
    rubric: str


def score_bounds(sf: ScoreFile) -> ScoreBounds | None:
    """The scale a score file's scores must lie in, from where it is known.

    In order: ``meta.rubric.scale`` (with ``meta.rubric.question_score``), the rubric folder recorded in
    ``meta.rubric.folder``, the built-in rubric named by ``meta.rubric.name``; a file without rubric
    metadata is a plain LaMP-QA file (aspects 0..2, questions 0..1). ``None`` when the rubric is unknown.
    """
    rubric = sf.meta.get("rubric")
    if not isinstance(rubric, Mapping):
        return _bounds_of_rubric("lamp_qa")
    name = str(rubric.get("name") or "?")
    scale = rubric.get("scale")
    if isinstance(scale, Mapping) and _is_number(scale.get("min")) and _is_number(scale.get("max")):
        lo, hi = float(scale["min"]), float(scale["max"])
        kind = rubric.get("question_score")
        question = _QUESTION_RANGE.get(kind, (lo, hi)) if isinstance(kind, str) else None
        return ScoreBounds((lo, hi), question, name)
    for ref in (rubric.get("folder"), rubric.get("name")):
        if isinstance(ref, str) and ref:
            found = _bounds_of_rubric(ref)
            if found is not None:
                return found
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bounds_of_rubric(ref: str) -> ScoreBounds | None:
    from judgekit.rubric import load_rubric

    try:
        spec = load_rubric(ref).spec
    except RubricError:
        return None
    lo, hi = spec.scale.min, spec.scale.max
    return ScoreBounds((lo, hi), _QUESTION_RANGE.get(spec.question_score, (lo, hi)), spec.name)


def check_score_values(sf: ScoreFile, name: str) -> None:
    """Raise :class:`InputError` on the first non-finite or out-of-scale score (overall, question, aspect).

    A NaN compares false with every floor and difference, so without this a file of NaNs would pass.
    """
    bounds = score_bounds(sf)
    question_range = bounds.question if bounds is not None else None
    for q in sf.per_question_scores:
        _check_value(q.score, question_range, bounds, f"{name}: question {q.id!r}: score")
        for a in q.details:
            where = f"{name}: question {q.id!r}, aspect {a.aspect!r}: score"
            _check_value(a.score, bounds.aspect if bounds is not None else None, bounds, where)
    _check_value(sf.score, question_range, bounds, f"{name}: overall score")


def _check_value(
    value: float | None, allowed: tuple[float, float] | None, bounds: ScoreBounds | None, where: str
) -> None:
    if value is None:
        return
    shown = json.dumps(value)  # NaN, Infinity, -Infinity: as the file spells them
    if not math.isfinite(value):
        raise InputError(f"{where} {shown} is not a finite number; the gate cannot judge it")
    if allowed is not None and not allowed[0] - _SLACK <= value <= allowed[1] + _SLACK:
        rubric = f" of rubric {bounds.rubric!r}" if bounds is not None else ""
        raise InputError(f"{where} {shown} is outside the scale{rubric} ({allowed[0]:g}..{allowed[1]:g})")
