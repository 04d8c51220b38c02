"""Label scales: parsing ``--scale``, checking labels and judge scores against it, and whether the judge is
on the human scale (offset, kappa, score shares and alpha with the judge need it)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from judgekit.errors import ConfigError, InputError
from judgekit.validate.rows import listing

_RANGE = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|to)\s*(-?\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?))?\s*$"
)
_EPS = 1e-9


def parse_scale(text: str | Sequence[float] | None) -> list[float] | None:
    """``"1-5"`` -> [1..5]; ``"0..1:0.25"`` -> steps of 0.25; ``"1,2,3"`` -> that list; lists pass through."""
    if text is None:
        return None
    if not isinstance(text, str):
        points = sorted({float(v) for v in text})
    elif "," in text:
        try:
            points = sorted({float(p) for p in text.split(",") if p.strip()})
        except ValueError:
            raise ConfigError(f"scale {text!r}: expected numbers separated by commas") from None
    else:
        points = _range_points(text)
    if len(points) < 2:
        raise ConfigError(f"scale {text!r}: needs at least two points")
    return points


def _range_points(text: str) -> list[float]:
    m = _RANGE.match(text)
    if not m:
        raise ConfigError(f"scale {text!r}: expected LO-HI (e.g. 1-5), LO..HI:STEP or a list like 1,2,3")
    lo, hi = float(m.group(1)), float(m.group(2))
    step = float(m.group(3)) if m.group(3) else 1.0
    if hi <= lo or step <= 0:
        raise ConfigError(f"scale {text!r}: HI must be greater than LO")
    count = round((hi - lo) / step)
    if abs(lo + count * step - hi) > _EPS or count > 1000:
        raise ConfigError(f"scale {text!r}: {hi} is not reached from {lo} in steps of {step}")
    return [round(lo + k * step, 10) for k in range(count + 1)]


def scale_text(points: Sequence[float] | None) -> str:
    if not points:
        return "none"
    steps = {round(b - a, 9) for a, b in itertools.pairwise(points)}
    if len(steps) == 1:
        step = steps.pop()
        tail = "" if step == 1 else f":{num(step)}"
        return f"{num(points[0])}-{num(points[-1])}{tail}"
    return ",".join(num(p) for p in points)


def num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def infer_scale(values: Sequence[float]) -> list[float] | None:
    distinct = sorted(set(values))
    if len(distinct) < 2:
        return None
    if all(float(v).is_integer() for v in distinct) and distinct[-1] - distinct[0] <= 20:
        return [float(v) for v in range(int(distinct[0]), int(distinct[-1]) + 1)]
    return distinct if len(distinct) <= 11 else None


@dataclass(frozen=True)
class ScaleFit:
    """The human scale (declared or inferred), the judge's (declared), and whether the judge is on the former."""

    human: list[float] | None
    judge: list[float] | None
    judge_on_scale: bool

    def note(self) -> str | None:
        if self.human is None:
            return (
                "no label scale (declare one with --scale): offset, kappa, score shares and alpha with the judge "
                "are skipped"
            )
        if not self.judge_on_scale:
            return "the judge is not on the human label scale: offset, kappa, score shares and alpha with the judge are skipped"
        return None


def fit_scales(
    dim: str,
    labels: Mapping[str, Mapping[str, float]],
    used: Sequence[str],
    averaged: bool,
    j: npt.NDArray[np.float64],
    *,
    scale: list[float] | None,
    judge_scale: list[float] | None,
    rubric_scale: tuple[float, float] | None,
) -> ScaleFit:
    """Check labels and judge scores against the declared scales (one-line errors) and decide what fits."""
    values = [v for i in used for v in labels[i].values()]
    human: list[float] | None
    if scale is not None:
        _check_labels(dim, labels, used, values, scale, averaged)
        human = scale
    else:
        human = infer_scale(values) if not averaged else None
    declared = judge_scale or (list(rubric_scale) if rubric_scale and not scale else None)
    if judge_scale is not None:
        off = _off_range(used, j, judge_scale)
        if off:
            raise InputError(
                f"dimension {dim!r}: {len(off)} judge score(s) off the judge scale {scale_text(judge_scale)}, "
                f"e.g. {num(off[0][1])} for id {off[0][0]!r}"
            )
    if human is None:
        return ScaleFit(human, declared, False)
    lo, hi = human[0], human[-1]
    within = bool(np.all((j >= lo - _EPS) & (j <= hi + _EPS)))
    if judge_scale is not None:
        return ScaleFit(human, declared, judge_scale[0] == lo and judge_scale[-1] == hi)
    if declared is not None:
        return ScaleFit(human, declared, declared[0] == lo and declared[-1] == hi and within)
    if scale is not None and not within:
        off = _off_range(used, j, human)
        raise InputError(
            f"dimension {dim!r}: {len(off)} judge score(s) off the scale {scale_text(scale)}, e.g. "
            f"{num(off[0][1])} for id {off[0][0]!r}; if the judge uses another scale, pass --judge-scale"
        )
    return ScaleFit(human, declared, within)


def _check_labels(
    dim: str,
    labels: Mapping[str, Mapping[str, float]],
    used: Sequence[str],
    values: Sequence[float],
    scale: list[float],
    averaged: bool,
) -> None:
    lo, hi = scale[0], scale[-1]
    if averaged:  # averaged labels fall between scale points: check the range only
        off = sorted({v for v in values if v < lo - _EPS or v > hi + _EPS})
    else:
        off = sorted({v for v in values if not any(abs(v - p) < _EPS for p in scale)})
    if off:
        bad = [i for i in used if any(abs(v - o) < _EPS for v in labels[i].values() for o in off[:1])]
        raise InputError(
            f"dimension {dim!r}: label(s) off the scale {scale_text(scale)}: {listing([num(v) for v in off])} "
            f"(e.g. id {bad[0]!r})"
        )


def _off_range(
    used: Sequence[str], j: npt.NDArray[np.float64], points: Sequence[float]
) -> list[tuple[str, float]]:
    lo, hi = points[0], points[-1]
    return [(i, float(s)) for i, s in zip(used, j, strict=True) if s < lo - _EPS or s > hi + _EPS]
