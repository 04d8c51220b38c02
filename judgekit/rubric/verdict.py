"""What a judge answers: the output fields of a rubric, their JSON schema, and how an answer becomes a score.

An output schema change stays here and in :mod:`judgekit.rubric.parse`: the fields and their checks, the schema
sent to the backend, ``output.pattern`` for free-text answers, the score field (mapped when categorical),
and the log-probability weighting of G-Eval.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The most distinct values a log-probability-weighted score field may take.
MAX_WEIGHTED_VALUES = 100

#: How an answer holding several verdicts is read (``output.match``): see :class:`OutputSpec`.
Match = Literal["consistent", "first", "last", "priority"]


class FieldSpec(BaseModel):
    """One field of the judge's JSON answer."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["integer", "number", "string", "boolean"]
    enum: list[int | float | str | bool] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.description:
            schema["description"] = self.description
        return schema


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldSpec]
    score: str = Field(description="the field that holds the score")
    score_map: dict[str, float] | None = Field(
        default=None, description="maps categorical answers (e.g. 'correct') to numbers"
    )
    pattern: str | None = Field(
        default=None,
        description="a regular expression with one named group per output field, read from free text "
        "instead of JSON (e.g. 'Rating: (?P<score>\\d+)'); no JSON schema is sent to the backend",
    )
    match: Match = Field(
        default="consistent",
        description="an answer with several verdicts (pattern matches, JSON objects): consistent = they must "
        "agree on the score, else the answer is refused; first / last = the first / last one in the text "
        "decides (re.search-style rules, e.g. G-Eval's); priority = the one whose score value comes "
        "earliest in the score field's enum, wherever it stands (FastChat's [[A]], then [[B]], then [[C]])",
    )

    @model_validator(mode="after")
    def _score_field_exists(self) -> OutputSpec:
        if self.score not in self.fields:
            raise ValueError(f"output.score names {self.score!r}, which is not one of output.fields")
        spec = self.fields[self.score]
        if spec.type in ("string", "boolean") and self.score_map is None:
            raise ValueError(f"output.score field {self.score!r} is a {spec.type}: give output.score_map")
        if self.pattern is not None:
            check_pattern(self.pattern, list(self.fields))
        if self.match == "priority" and spec.enum is None:
            raise ValueError(
                f"output.match 'priority' ranks verdicts by the order of output.fields.{self.score}.enum: "
                "give the score field an enum"
            )
        if self.score_map is not None:
            missing = [v for v in _allowed_values(spec) or [] if _map_key(v) not in self.score_map]
            if missing:
                raise ValueError(
                    f"output.score_map has no entry for {', '.join(repr(_map_key(v)) for v in missing)}, "
                    f"which output.fields.{self.score} allows: add it, or remove it from the field"
                )
        return self


def _allowed_values(spec: FieldSpec) -> list[int | float | str | bool] | None:
    """Every value a field admits when the set is finite and small (its enum, a boolean, an integer range
    of up to :data:`MAX_WEIGHTED_VALUES` values); ``None`` otherwise."""
    if spec.enum is not None:
        return list(spec.enum)
    if spec.type == "boolean":
        return [True, False]
    if spec.type == "integer" and spec.minimum is not None and spec.maximum is not None:
        lo, hi = math.ceil(spec.minimum), math.floor(spec.maximum)
        if hi - lo + 1 <= MAX_WEIGHTED_VALUES:
            return list(range(lo, hi + 1))
    return None


def _map_key(value: Any) -> str:
    """The ``score_map`` key a verdict value is looked up under (booleans as ``true``/``false``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_pattern(pattern: str, fields: list[str]) -> re.Pattern[str]:
    """Compile ``output.pattern``; its named groups must be exactly the output fields, so every field is read."""
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise ValueError(f"output.pattern does not compile: {err}") from None
    groups = sorted(compiled.groupindex)
    if groups != sorted(fields):
        raise ValueError(
            f"output.pattern must have one named group per output field {sorted(fields)}, "
            f"it has {groups} (write (?P<name>...))"
        )
    if compiled.search("") is not None:
        raise ValueError("output.pattern matches empty text: make each group need at least one character")
    return compiled


def unit_schema(output: OutputSpec) -> dict[str, Any]:
    """The JSON schema of one verdict: every output field, required, nothing else."""
    return {
        "type": "object",
        "properties": {name: spec.json_schema() for name, spec in output.fields.items()},
        "required": list(output.fields),
        "additionalProperties": False,
    }


def slots_schema(unit: dict[str, Any], slots: tuple[str, ...]) -> dict[str, Any]:
    """The JSON schema of a multi-target answer: one verdict under each slot key."""
    return {
        "type": "object",
        "properties": {slot: unit for slot in slots},
        "required": list(slots),
        "additionalProperties": False,
    }


def score_of(output: OutputSpec, verdict: dict[str, Any]) -> float:
    """The number a validated verdict scores: the score field, through ``score_map`` when categorical.

    Raises ``ValueError`` for a value the map lacks (possible only for a field whose values are open, such as
    a string without an enum: a closed set is checked against the map when the rubric loads).
    """
    value = verdict[output.score]
    mapping = output.score_map
    if mapping is not None:
        key = _map_key(value)
        if key not in mapping:
            raise ValueError(f"{output.score}={value!r} has no entry in output.score_map {sorted(mapping)}")
        return float(mapping[key])
    return float(value)


def score_values(output: OutputSpec) -> dict[str, float]:
    """The score field's possible answers as they appear in the JSON text, with their scores.

    Log-probability weighting needs a finite set: an ``enum``, or an integer field with both bounds.
    """
    name = output.score
    field_spec = output.fields[name]
    values: list[int | float | str | bool]
    if field_spec.enum is not None:
        values = list(field_spec.enum)
    elif field_spec.type == "integer" and field_spec.minimum is not None and field_spec.maximum is not None:
        lo, hi = math.ceil(field_spec.minimum), math.floor(field_spec.maximum)
        if hi - lo + 1 > MAX_WEIGHTED_VALUES:
            raise ValueError(
                f"score_method logprob_weighted: output field {name!r} has more than "
                f"{MAX_WEIGHTED_VALUES} values"
            )
        values = list(range(lo, hi + 1))
    else:
        raise ValueError(
            f"score_method logprob_weighted needs output field {name!r} to have an enum, "
            "or to be an integer with minimum and maximum"
        )
    if field_spec.type == "boolean" or any(isinstance(v, bool) for v in values):
        raise ValueError("score_method logprob_weighted does not weight boolean fields")
    table: dict[str, float] = {}
    for v in values:
        text = str(v)
        if output.score_map is not None:
            if text not in output.score_map:
                raise ValueError(f"output.score_map has no entry for {text!r}")
            table[text] = float(output.score_map[text])
        else:
            table[text] = float(v)
    return table


_TRAILING = ' \t\r\n",}]'
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _value_key(text: str) -> str:
    return text.strip().rstrip(_TRAILING).strip()


def _match_candidate(rest: str, table: dict[str, float]) -> str | None:
    """The answer a token's text stands for: an exact value, or (for words) the only value it begins."""
    key = _value_key(rest)
    if not key:
        return None
    if key in table:
        return key
    starting = [c for c in table if c.startswith(key) and not _NUMBER.fullmatch(c)]
    return starting[0] if len(starting) == 1 else None


def _token_alternatives(entry: dict[str, Any]) -> list[tuple[str, float]]:
    seen: dict[str, float] = {}
    for alt in entry.get("top_logprobs") or []:
        if isinstance(alt, dict) and isinstance(alt.get("token"), str) and alt.get("logprob") is not None:
            seen.setdefault(alt["token"], float(alt["logprob"]))
    token = entry.get("token")
    if isinstance(token, str) and entry.get("logprob") is not None:
        seen.setdefault(token, float(entry["logprob"]))
    return list(seen.items())


def _weighted_at(entry: dict[str, Any], prefix: str, table: dict[str, float]) -> float | None:
    """The probability-weighted mean score over the alternatives of one token whose text starts with
    ``prefix``; ``None`` when no alternative is one of the field's values."""
    mass = 0.0
    total = 0.0
    for alt, logprob in _token_alternatives(entry):
        if not alt.startswith(prefix.strip()) and not alt.startswith(prefix):
            continue
        rest = alt[len(prefix) :] if alt.startswith(prefix) else alt[len(prefix.strip()) :]
        value = _match_candidate(rest, table)
        if value is None:
            continue
        p = math.exp(logprob)
        mass += p
        total += p * table[value]
    return None if mass <= 0.0 else total / mass


def weight_by_logprobs(
    logprobs: Sequence[dict[str, Any]], field_name: str, table: dict[str, float], parsed: Sequence[float]
) -> list[float] | None:
    """G-Eval weighting: for each of the last ``len(parsed)`` occurrences of ``"field_name": value`` in the
    answer, the mean of ``table``'s scores weighted by the probabilities of the alternative tokens at the
    value's position. ``None`` if the tokens do not line up with the parsed answer (then keep the values).

    A value must be a single token (true for 1-5 or 1-10 scales on common tokenizers); the token may carry
    JSON punctuation around it (``' 4'``, ``'4}'``, ``' "correct'``). Probability mass on tokens that are not
    one of the field's values is left out, and the rest renormalised.
    """
    tokens = [str(e.get("token", "")) for e in logprobs]
    starts: list[int] = []
    pos = 0
    for t in tokens:
        starts.append(pos)
        pos += len(t)
    text = "".join(tokens)
    key = re.compile(r'"' + re.escape(field_name) + r'"\s*:\s*"?')
    offsets = [m.end() for m in key.finditer(text)]
    if len(offsets) < len(parsed) or not parsed:
        return None
    out: list[float] = []
    for offset, expected in zip(offsets[-len(parsed) :], parsed, strict=True):
        idx = bisect.bisect_right(starts, offset) - 1
        if idx < 0 or idx >= len(tokens):
            return None
        prefix = tokens[idx][: offset - starts[idx]]
        chosen = _match_candidate(tokens[idx][len(prefix) :], table)
        if chosen is None or table[chosen] != expected:
            return None
        if _NUMBER.fullmatch(chosen):
            literal = _NUMBER.match(text, offset)
            if literal is None or literal.group() != chosen or literal.end() > starts[idx] + len(tokens[idx]):
                return None  # the value spans several tokens: no single distribution to weight
        weighted = _weighted_at(logprobs[idx], prefix, table)
        if weighted is None:
            return None
        out.append(weighted)
    return out
