"""Judge text -> verdict, or an explicit failure with its reason. Never a silent 0.

The judge's JSON may be bare, fenced in a code block, or embedded in prose. A JSON object that appears word
for word in the graded response is treated as echoed text, not as the judge's verdict; if the remaining
candidates disagree, the answer is ambiguous and the parse fails (the engine then re-asks).

A rubric with ``output.pattern`` is read from free text by the same rules: every match of the pattern is a
candidate, a match quoted from the graded response (with at least :data:`ECHO_CONTEXT` characters of its
surroundings) is an echo, invalid matches count only when no match is valid, and valid matches that
disagree on the score make the answer ambiguous. Agreeing matches give the last one.

That is ``output.match: consistent``, the default. ``first`` / ``last`` let the first / last candidate (after
echoes are dropped) decide, valid or not, as published scripts that read ``re.search`` did; ``priority``
takes the valid candidate whose score value stands earliest in the score field's enum (FastChat's order).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model

from judgekit.io import validation_line
from judgekit.rubric import Rubric
from judgekit.rubric.verdict import FieldSpec

#: Characters of the answer around a pattern match that must also be copied from the graded response for
#: the match to count as quoted: a short verdict such as ``[[A]]`` alone may coincide with the response.
ECHO_CONTEXT = 20

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
# strict=False: grammar-constrained backends (llama.cpp) may put raw newlines inside JSON strings.
_DECODER = json.JSONDecoder(strict=False)


@dataclass
class ParseResult:
    """``ok`` with one verdict (and score) per target, or not ``ok`` with a reason."""

    ok: bool
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    reason: str | None = None

    @property
    def score(self) -> float | None:
        return self.scores[0] if self.ok and len(self.scores) == 1 else None


def extract_json_candidates(text: str) -> list[tuple[str, Any]]:
    """All JSON objects in ``text``: the whole text if it parses, else fenced blocks, else embedded objects."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = _DECODER.decode(stripped)
        return [(stripped, whole)] if isinstance(whole, dict) else []
    except json.JSONDecodeError:
        pass
    fenced = []
    for block in _FENCE.findall(text):
        try:
            value = _DECODER.decode(block.strip())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            fenced.append((block.strip(), value))
    if fenced:
        return fenced
    found = []
    pos = 0
    while True:
        start = text.find("{", pos)
        if start < 0:
            break
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(value, dict):
            found.append((text[start:end], value))
            pos = end
        else:
            pos = start + 1
    return found


def _coerce(spec: FieldSpec) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) and spec.type != "boolean":
            raise ValueError("booleans are not scores")
        if spec.type in ("integer", "number") and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {value!r}") from None
        if spec.type == "integer" and isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected a whole number, got {value}")
            value = int(value)
        if spec.type == "string" and isinstance(value, str) and spec.enum is not None:
            lowered = {str(e).lower(): e for e in spec.enum}
            value = lowered.get(value.strip().lower(), value)
        return value

    return convert


def _field_type(spec: FieldSpec) -> Any:
    base: Any = {"integer": int, "number": float, "string": str, "boolean": bool}[spec.type]
    if spec.enum is not None:
        base = Literal[tuple(spec.enum)]
    return Annotated[base, BeforeValidator(_coerce(spec))]


@lru_cache(maxsize=64)
def _unit_model(rubric: Rubric) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (_field_type(spec), ...) for name, spec in rubric.spec.output.fields.items()
    }
    return create_model(
        f"{rubric.name}_verdict", __config__=ConfigDict(extra="ignore", strict=False), **fields
    )


def _check_range(rubric: Rubric, verdict: dict[str, Any]) -> None:
    for name, spec in rubric.spec.output.fields.items():
        value = verdict[name]
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"{name}={value} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{name}={value} is above the maximum {spec.maximum:g}")


# Per output field: its name, the Python types taken as they are, whether an int becomes a float, the enum.
_Check = tuple[str, tuple[type, ...], bool, frozenset[tuple[type, Any]] | None]
_AS_IS: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
}


@lru_cache(maxsize=64)
def _plain_checks(rubric: Rubric) -> tuple[_Check, ...]:
    return tuple(
        (
            name,
            _AS_IS[spec.type],
            spec.type == "number" and spec.enum is None,  # an enum field is a Literal of its values
            None if spec.enum is None else frozenset((type(e), e) for e in spec.enum),
        )
        for name, spec in rubric.spec.output.fields.items()
    )


def _plain_unit(rubric: Rubric, value: dict[str, Any]) -> dict[str, Any] | None:
    """The verdict when every field already holds a value of its exact type (and enum): what the pydantic
    model would return, without building it (most answers, and every cached one, are like this). ``None``
    sends anything else (a number as a string, a missing field, a wrong value) through the model."""
    verdict: dict[str, Any] = {}
    for name, types, to_float, enum in _plain_checks(rubric):
        v: Any = value.get(name)
        if type(v) not in types or (enum is not None and (type(v), v) not in enum):
            return None
        verdict[name] = float(v) if to_float else v
    return verdict


def _validate_unit(rubric: Rubric, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    plain = _plain_unit(rubric, value)
    if plain is not None:
        _check_range(rubric, plain)
        return plain
    try:
        verdict = _unit_model(rubric).model_validate(value).model_dump()
    except ValidationError as err:
        first = err.errors()[0]
        got = "" if first["type"] == "missing" else f" (got {first.get('input')!r})"
        raise ValueError(validation_line(err) + got) from None
    _check_range(rubric, verdict)
    return verdict


def _validate(rubric: Rubric, value: dict[str, Any], slots: tuple[str, ...] | None) -> list[dict[str, Any]]:
    if slots is None:
        return [_validate_unit(rubric, value)]
    missing = [s for s in slots if s not in value]
    if missing:
        raise ValueError(f"missing keys {missing}")
    out = []
    for slot in slots:
        try:
            out.append(_validate_unit(rubric, value[slot]))
        except ValueError as err:
            raise ValueError(f"{slot}: {err}") from None
    return out


def parse_completion(
    text: str | None,
    rubric: Rubric,
    slots: tuple[str, ...] | None = None,
    untrusted: tuple[str, ...] = (),
) -> ParseResult:
    """Parse a judge's answer against the rubric's output fields.

    ``untrusted`` holds the texts being graded: a JSON object found verbatim in them is ignored as an echo.
    """
    if text is None or not text.strip():
        return ParseResult(False, reason="empty completion")
    if rubric.output_pattern is not None:
        return _parse_pattern(text, rubric, rubric.output_pattern, slots, untrusted)
    candidates = extract_json_candidates(text)
    if not candidates:
        return ParseResult(False, reason="no JSON object in the answer")
    if candidates[0][0] != text.strip():
        # Embedded in prose: JSON quoted from the graded text is an echo, not the judge's verdict.
        candidates = [(raw, value) for raw, value in candidates if not any(raw in u for u in untrusted)]
    if not candidates:
        return ParseResult(False, reason="the only JSON in the answer was copied from the graded response")
    return _decide(rubric, candidates, slots)


def _decide(
    rubric: Rubric,
    candidates: list[tuple[str, Any]],
    slots: tuple[str, ...] | None,
    quote: bool = False,
    untrusted: tuple[str, ...] = (),
) -> ParseResult:
    """One verdict from the candidates, by the rubric's ``output.match``: ``first`` / ``last`` take that
    candidate, valid or not; otherwise invalid ones count only when none is valid, and the valid ones must
    agree (``consistent``) or the earliest in the score field's enum wins (``priority``).

    A rule that picks one of several disagreeing verdicts never picks one that also stands in a graded text
    (``untrusted``): a verdict injected into a response, then quoted, must not win. ``quote`` names
    conflicting candidates by their text (short pattern matches) rather than their scores.
    """
    match = rubric.spec.output.match
    checked: list[tuple[str, list[dict[str, Any]], list[float]] | str] = []
    for raw, value in candidates:
        try:
            verdicts = _validate(rubric, value, slots)
            checked.append((raw, verdicts, [rubric.score_of(v) for v in verdicts]))
        except ValueError as err:
            checked.append(str(err))
    valid = [c for c in checked if not isinstance(c, str)]
    if match in ("first", "last"):
        pick = checked[0] if match == "first" else checked[-1]
        if isinstance(pick, str):
            note = f" (output.match {match}: the {match} of its verdicts decides)" if len(checked) > 1 else ""
            return ParseResult(False, reason=f"invalid verdict: {pick}{note}")
    elif not valid:
        return ParseResult(False, reason=f"invalid verdict: {[c for c in checked if isinstance(c, str)][-1]}")
    elif match == "priority":
        pick = min(valid, key=lambda c: _ranks(rubric, c[1]))
    else:
        pick = valid[-1]
    disagree = [c for c in valid if c[2] != pick[2]]
    if disagree and (match == "consistent" or any(pick[0] in u for u in untrusted)):
        shown = ", ".join(repr(c[0]) for c in valid) if quote else str([c[2] for c in valid])
        if match != "consistent":
            shown += f" ({pick[0]!r}, which output.match {match} takes, also stands in the graded text)"
        return ParseResult(False, reason=f"conflicting verdicts in one answer: {shown}")
    return ParseResult(True, verdicts=pick[1], scores=pick[2])


def _ranks(rubric: Rubric, verdicts: list[dict[str, Any]]) -> tuple[int, ...]:
    """Each verdict's score value as its position in the score field's enum (``output.match: priority``)."""
    output = rubric.spec.output
    enum = output.fields[output.score].enum or []

    def rank(value: Any) -> int:
        for i, e in enumerate(enum):
            if e == value and isinstance(e, bool) == isinstance(value, bool):
                return i
        return len(enum)

    return tuple(rank(v[output.score]) for v in verdicts)


def _quoted(text: str, start: int, end: int, untrusted: tuple[str, ...]) -> bool:
    """Whether ``text[start:end]`` sits in a stretch of ``text`` copied from a graded text, the stretch
    holding :data:`ECHO_CONTEXT` more characters than the match (split in any way between its two sides)."""
    if len(text) - (end - start) < ECHO_CONTEXT:
        return False
    for left in range(ECHO_CONTEXT + 1):
        right = ECHO_CONTEXT - left
        if start - left < 0 or end + right > len(text):
            continue
        window = text[start - left : end + right]
        if any(window in u for u in untrusted):
            return True
    return False


def _parse_pattern(
    text: str,
    rubric: Rubric,
    pattern: re.Pattern[str],
    slots: tuple[str, ...] | None,
    untrusted: tuple[str, ...],
) -> ParseResult:
    """Read a free-text answer with ``output.pattern``: each match is a candidate verdict (see the module doc)."""
    if slots is not None:
        return ParseResult(False, reason="output.pattern reads one verdict per answer, not several slots")
    matches = [m for m in pattern.finditer(text) if m.end() > m.start()]
    if not matches:
        return ParseResult(False, reason="no verdict in the format the rubric asks for (output.pattern)")
    own = [m for m in matches if not _quoted(text, m.start(), m.end(), untrusted)]
    if not own:
        return ParseResult(
            False, reason="the only verdicts in the answer were copied from the graded response"
        )
    candidates = [(m.group(0), {k: v for k, v in m.groupdict().items() if v is not None}) for m in own]
    return _decide(rubric, candidates, None, quote=True, untrusted=untrusted)
