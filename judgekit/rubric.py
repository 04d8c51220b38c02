"""Rubrics are folders: ``rubric.yaml`` (validated configuration) plus Jinja templates for the messages.

Templates render in a sandboxed environment with ``StrictUndefined``: a typo is an error, not an empty
string, and a user-supplied template cannot reach Python internals. A rubric's judging ``mode`` decides how
an item becomes judge calls; nothing else in judgekit knows which rubric it is running.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judgekit.data import Item
from judgekit.errors import RubricError

Mode = Literal["per_aspect", "all_aspects", "per_item", "per_order"]
ScoreMethod = Literal["value", "logprob_weighted"]
QuestionScore = Literal["normalized", "raw", "pairwise"]

#: The most distinct values a log-probability-weighted score field may take.
MAX_WEIGHTED_VALUES = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    """One field of the judge's JSON answer."""

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


class OutputSpec(_Strict):
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

    @model_validator(mode="after")
    def _score_field_exists(self) -> OutputSpec:
        if self.score not in self.fields:
            raise ValueError(f"output.score names {self.score!r}, which is not one of output.fields")
        spec = self.fields[self.score]
        if spec.type in ("string", "boolean") and self.score_map is None:
            raise ValueError(f"output.score field {self.score!r} is a {spec.type}: give output.score_map")
        if self.pattern is not None:
            check_pattern(self.pattern, list(self.fields))
        return self


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


class Scale(_Strict):
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not self.max > self.min:
            raise ValueError("scale.max must be greater than scale.min")
        return self


class Templates(_Strict):
    system: str | None = None
    user: str


class Inputs(_Strict):
    required: list[str] = Field(default_factory=list, description="dataset fields every item must have")
    aspects: str | None = Field(default=None, description="the dataset field holding the aspect checklist")
    responses: Literal["single", "pair"] = Field(
        default="single",
        description="single: one response per item (--responses); pair: two responses to compare "
        "(--responses-a/--responses-b, or a dataset in the LLMBar, AlpacaEval or MT-Bench layout)",
    )


class Criterion(_Strict):
    """One quality criterion for ``criteria``-style rubrics (G-Eval): templates see it as ``criterion``."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    steps: list[str] = Field(default_factory=list, description="optional evaluation steps, in order")


class PairwiseSpec(_Strict):
    """How the two presentation orders of a pair combine (``question_score: pairwise``)."""

    on_disagreement: Literal["tie", "inconsistent"] = Field(
        default="tie",
        description="when the two orders pick different winners: count the pair as a tie, or as "
        "inconsistent (then it has no score and is left out of the win rate)",
    )


class RubricSpec(_Strict):
    """The schema of ``rubric.yaml``; unknown keys are errors."""

    name: str
    description: str
    version: str = "1"
    scale: Scale
    inputs: Inputs = Field(default_factory=Inputs)
    mode: Mode
    modes: dict[Mode, Templates]
    reask: str = Field(description="template for the follow-up message after an unparseable answer")
    output: OutputSpec
    question_score: QuestionScore = Field(
        default="normalized",
        description="normalized: mean of (score-min)/(max-min), i.e. LaMP-QA's sum / (max x aspects); "
        "raw: mean; pairwise: the two presentation orders of a pair combined into one verdict",
    )
    score_method: ScoreMethod = Field(
        default="value",
        description="value: the number the judge wrote; logprob_weighted: the probability-weighted mean "
        "over the score field's values from the answer's token log-probabilities (G-Eval), falling back "
        "to the written value when the backend returns none",
    )
    top_logprobs: int = Field(
        default=20, ge=1, le=20, description="alternatives per token to ask for when logprob_weighted"
    )
    criterion: Criterion | None = Field(default=None, description="the criterion, for criteria rubrics")
    pairwise: PairwiseSpec | None = Field(
        default=None, description="how the orders of a pair combine (question_score: pairwise)"
    )

    @model_validator(mode="after")
    def _modes(self) -> RubricSpec:
        if self.mode not in self.modes:
            raise ValueError(f"mode {self.mode!r} has no templates under 'modes'")
        needs_aspects = {"per_aspect", "all_aspects"} & set(self.modes)
        if needs_aspects and self.inputs.aspects is None:
            raise ValueError(f"modes {sorted(needs_aspects)} need inputs.aspects (the checklist field)")
        pair_modes = {"per_order"} & set(self.modes)
        if self.inputs.responses == "pair" and set(self.modes) != {"per_order"}:
            raise ValueError("inputs.responses 'pair' needs every mode to be per_order (both orders)")
        if self.inputs.responses == "single" and pair_modes:
            raise ValueError("mode per_order judges pairs: set inputs.responses to 'pair'")
        if self.question_score == "pairwise" and self.inputs.responses != "pair":
            raise ValueError("question_score 'pairwise' needs inputs.responses 'pair'")
        if self.inputs.responses == "pair" and self.question_score != "pairwise":
            raise ValueError("a pair rubric needs question_score 'pairwise'")
        if self.pairwise is not None and self.question_score != "pairwise":
            raise ValueError("'pairwise' settings apply only with question_score 'pairwise'")
        if self.question_score == "pairwise" and self.pairwise is None:
            self.pairwise = PairwiseSpec()
        if self.output.pattern is not None:
            if "all_aspects" in self.modes:
                raise ValueError("output.pattern reads one verdict per answer: mode all_aspects needs JSON")
            if self.score_method == "logprob_weighted":
                raise ValueError("score_method logprob_weighted needs JSON answers, not output.pattern")
        if self.score_method == "logprob_weighted":
            weighted_candidates(self)  # raises ValueError when the score field has no finite value set
        return self


def weighted_candidates(spec: RubricSpec) -> dict[str, float]:
    """The score field's possible answers as they appear in the JSON text, with their scores.

    Log-probability weighting needs a finite set: an ``enum``, or an integer field with both bounds.
    """
    out = spec.output
    name = out.score
    field_spec = out.fields[name]
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
        if out.score_map is not None:
            if text not in out.score_map:
                raise ValueError(f"output.score_map has no entry for {text!r}")
            table[text] = float(out.score_map[text])
        else:
            table[text] = float(v)
    return table


@dataclass(frozen=True)
class CallPlan:
    """One judge conversation to run: which targets of which item it scores, and with what messages."""

    item_id: str
    targets: tuple[str, ...]
    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any] | None  # None: free-text answers (output.pattern), no structured output asked
    # For multi-target calls, the JSON key under which each target's answer sits.
    slots: tuple[str, ...] | None = None
    # The graded texts: JSON quoted from them in a judge's prose is an echo, not a verdict.
    untrusted: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict, compare=False)


def _fence(value: object, tag: str = "response") -> Markup:
    """Wrap untrusted text in <tag>...</tag>, neutralising any closing tag inside it so it cannot break out."""
    text = str(value)
    closing = f"</{tag}"
    safe = text.replace(closing, f"<\\/{tag}").replace(closing.upper(), f"<\\/{tag.upper()}")
    return Markup(f"<{tag}>\n{safe}\n</{tag}>")


def builtin_rubrics_dir() -> Path:
    """Built-in rubrics: inside the installed wheel (judgekit/rubrics), or the repo's rubrics/ when editable."""
    packaged = Path(str(resources.files("judgekit"))) / "rubrics"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rubrics"


def list_rubrics() -> list[str]:
    base = builtin_rubrics_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "rubric.yaml").is_file())


class Rubric:
    """A loaded rubric folder. Build with :func:`load_rubric`."""

    def __init__(self, folder: Path, spec: RubricSpec, content_hash: str) -> None:
        self.folder = folder
        self.spec = spec
        self.content_hash = content_hash
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(folder)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._constant: dict[str, bool] = {}
        self._rendered: dict[str, str] = {}
        self._env.filters["fence"] = _fence
        self._env.filters["tojson"] = lambda v: Markup(json.dumps(v, ensure_ascii=False))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pairwise(self) -> bool:
        """Whether items carry two responses to compare (``inputs.responses: pair``)."""
        return self.spec.inputs.responses == "pair"

    def __repr__(self) -> str:
        return f"Rubric({self.name!r}, {self.folder})"

    def _is_constant(self, template: str) -> bool:
        """A template that reads no variables renders the same text every time: render it once."""
        known = self._constant.get(template)
        if known is None:
            source = self._env.loader.get_source(self._env, template)[0]  # type: ignore[union-attr]
            known = not meta.find_undeclared_variables(self._env.parse(source))
            self._constant[template] = known
        return known

    def render(self, template: str, context: dict[str, Any]) -> str:
        try:
            if self._is_constant(template):
                text = self._rendered.get(template)
                if text is None:
                    text = self._rendered[template] = self._env.get_template(template).render().strip()
                return text
            return self._env.get_template(template).render(context).strip()
        except SecurityError as err:
            raise RubricError(
                f"{_template_place(self.folder, template, err)}: blocked unsafe template operation ({err})"
            ) from None
        except TemplateError as err:
            raise RubricError(f"{_template_place(self.folder, template, err)}: {_first_line(err)}") from None

    # -- output schema --------------------------------------------------------------------------------

    @cached_property
    def unit_schema(self) -> dict[str, Any]:
        fields = self.spec.output.fields
        return {
            "type": "object",
            "properties": {name: spec.json_schema() for name, spec in fields.items()},
            "required": list(fields),
            "additionalProperties": False,
        }

    @cached_property
    def output_pattern(self) -> re.Pattern[str] | None:
        """The compiled ``output.pattern``, or ``None`` when answers are JSON."""
        pattern = self.spec.output.pattern
        return None if pattern is None else check_pattern(pattern, list(self.spec.output.fields))

    def call_schema(self, slots: tuple[str, ...] | None) -> dict[str, Any] | None:
        """The JSON schema to request for one call; ``None`` for a pattern rubric (free-text answers)."""
        if self.spec.output.pattern is not None:
            return None
        if slots is None:
            return self.unit_schema
        return {
            "type": "object",
            "properties": {slot: self.unit_schema for slot in slots},
            "required": list(slots),
            "additionalProperties": False,
        }

    @cached_property
    def _weight_table(self) -> dict[str, float]:
        return weighted_candidates(self.spec)

    def final_scores(
        self, scores: list[float], logprobs: list[dict[str, Any]] | None
    ) -> tuple[list[float], str]:
        """The scores to keep for a parsed answer, and how they were obtained.

        ``value`` keeps the parsed numbers. With ``score_method: logprob_weighted`` and token log-probabilities
        in the answer, each score becomes the probability-weighted mean over the score field's values at the
        position where the judge wrote it (G-Eval); when the log-probabilities are missing or do not line up
        with the parsed answer, the parsed values are kept and the method says ``value``.
        """
        if self.spec.score_method != "logprob_weighted" or not logprobs:
            return scores, "value"
        weighted = weight_by_logprobs(logprobs, self.spec.output.score, self._weight_table, scores)
        if weighted is None:
            return scores, "value"
        return weighted, "logprob_weighted"

    def score_of(self, verdict: dict[str, Any]) -> float:
        value = verdict[self.spec.output.score]
        mapping = self.spec.output.score_map
        if mapping is not None:
            return float(mapping[str(value).lower() if isinstance(value, bool) else str(value)])
        return float(value)

    # -- planning calls -------------------------------------------------------------------------------

    def plan(self, item: Item, response: str | dict[str, str], mode: Mode | None = None) -> list[CallPlan]:
        """Turn one item and its response(s) into the judge calls the rubric's mode asks for."""
        mode = mode or self.spec.mode
        if mode not in self.spec.modes:
            raise RubricError(
                f"rubric {self.name!r} has no mode {mode!r} (it has: {', '.join(self.spec.modes)})"
            )
        builder = _PLANNERS[mode]
        return list(builder(self, item, response, self.spec.modes[mode]))

    def base_context(self, item: Item, response: str | dict[str, str]) -> dict[str, Any]:
        ctx: dict[str, Any] = dict(item.fields)
        ctx.update(
            item=item.fields,
            id=item.id,
            scale=self.spec.scale.model_dump(),
            output_fields={k: v.model_dump() for k, v in self.spec.output.fields.items()},
            output_score=self.spec.output.score,
            aspects=[{**a.model_dump(), "index": n} for n, a in enumerate(item.aspects, 1)],
        )
        if self.spec.criterion is not None:
            ctx["criterion"] = self.spec.criterion.model_dump()
        if isinstance(response, dict):
            ctx["responses"] = response
        else:
            ctx["response"] = response
        return ctx

    def messages(self, templates: Templates, context: dict[str, Any]) -> tuple[dict[str, str], ...]:
        msgs = []
        if templates.system:
            msgs.append({"role": "system", "content": self.render(templates.system, context)})
        msgs.append({"role": "user", "content": self.render(templates.user, context)})
        return tuple(msgs)

    def reask_message(self, error: str) -> dict[str, str]:
        return {
            "role": "user",
            "content": self.render(
                self.spec.reask,
                {
                    "error": error,
                    "schema": self.unit_schema,
                    "pattern": self.spec.output.pattern,
                    "output_fields": {k: v.model_dump() for k, v in self.spec.output.fields.items()},
                    "output_score": self.spec.output.score,
                    "scale": self.spec.scale.model_dump(),
                },
            ),
        }


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
        mass = 0.0
        total = 0.0
        for alt, logprob in _token_alternatives(logprobs[idx]):
            if not alt.startswith(prefix.strip()) and not alt.startswith(prefix):
                continue
            rest = alt[len(prefix) :] if alt.startswith(prefix) else alt[len(prefix.strip()) :]
            value = _match_candidate(rest, table)
            if value is None:
                continue
            p = math.exp(logprob)
            mass += p
            total += p * table[value]
        if mass <= 0.0:
            return None
        out.append(total / mass)
    return out


def _untrusted(ctx: dict[str, Any]) -> tuple[str, ...]:
    texts = [ctx["response"]] if "response" in ctx else list(ctx.get("responses", {}).values())
    return tuple(t for t in texts if isinstance(t, str) and t)


Planner = Callable[[Rubric, Item, Any, Templates], Iterator[CallPlan]]


def _plan_per_aspect(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    base = r.base_context(item, response)
    for ctx_aspect in base["aspects"]:
        ctx = {**base, "aspect": ctx_aspect}
        yield CallPlan(
            item.id,
            (ctx_aspect["aspect"],),
            r.messages(t, ctx),
            r.call_schema(None),
            None,
            _untrusted(ctx),
            ctx,
        )


def _plan_all_aspects(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = r.base_context(item, response)
    slots = tuple(f"aspect_{n}" for n in range(1, len(item.aspects) + 1))
    ctx["slots"] = list(slots)
    targets = tuple(a.aspect for a in item.aspects)
    yield CallPlan(item.id, targets, r.messages(t, ctx), r.call_schema(slots), slots, _untrusted(ctx), ctx)


def _plan_per_item(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = r.base_context(item, response)
    target = r.spec.criterion.name if r.spec.criterion is not None else "overall"
    yield CallPlan(item.id, (target,), r.messages(t, ctx), r.call_schema(None), None, _untrusted(ctx), ctx)


def _plan_per_order(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    """Pairwise judging: the pair is shown in both orders, so position bias can be measured and cancelled."""
    if not isinstance(response, dict) or set(response) != {"a", "b"}:
        raise RubricError(f"rubric {r.name!r} judges pairs: give two responses (a and b) for id {item.id!r}")
    base = r.base_context(item, response)
    for order, first, second in (("original", "a", "b"), ("swapped", "b", "a")):
        ctx = {
            **base,
            "order": order,
            "first": response[first],
            "second": response[second],
            "first_side": first,
            "second_side": second,
        }
        yield CallPlan(item.id, (order,), r.messages(t, ctx), r.call_schema(None), None, _untrusted(ctx), ctx)


_PLANNERS: dict[str, Planner] = {
    "per_aspect": _plan_per_aspect,
    "all_aspects": _plan_all_aspects,
    "per_item": _plan_per_item,
    "per_order": _plan_per_order,
}


def _content_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def resolve_rubric_dir(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    if isinstance(name_or_path, str) and "/" not in name_or_path and "\\" not in name_or_path:
        builtin = builtin_rubrics_dir() / name_or_path
        if builtin.is_dir():
            return builtin
        known = ", ".join(list_rubrics()) or "none found"
        raise RubricError(
            f"unknown rubric {name_or_path!r} (built-in: {known}; or give a rubric folder path)"
        )
    raise RubricError(f"{name_or_path}: rubric folder not found")


_CACHE: dict[tuple[Path, str], Rubric] = {}


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a built-in rubric by name, or a rubric folder by path; validates rubric.yaml and every template."""
    folder = resolve_rubric_dir(name_or_path).resolve()
    spec_path = folder / "rubric.yaml"
    if not spec_path.is_file():
        raise RubricError(f"{folder}: not a rubric folder (no rubric.yaml)")
    digest = _content_hash(folder)
    cached = _CACHE.get((folder, digest))
    if cached is not None:
        return cached
    try:
        raw = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RubricError(f"{spec_path}: invalid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise RubricError(f"{spec_path}: expected a mapping at the top level")
    try:
        spec = RubricSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise RubricError(f"{spec_path}: {loc}: {first['msg']}") from None
    rubric = Rubric(folder, spec, digest)
    for templates in spec.modes.values():
        for name in (templates.system, templates.user):
            if name is not None:
                _check_template(rubric, name)
    _check_template(rubric, spec.reask)
    _CACHE[(folder, digest)] = rubric
    return rubric


def _check_template(rubric: Rubric, name: str) -> None:
    path = rubric.folder / name
    if not path.is_file():
        raise RubricError(f"{rubric.folder / 'rubric.yaml'}: template {name!r} not found in {rubric.folder}")
    try:
        rubric._env.get_template(name)
    except TemplateError as err:
        raise RubricError(f"{_template_place(rubric.folder, name, err)}: {_first_line(err)}") from None


def _template_place(folder: Path, template: str, err: BaseException) -> str:
    """``FILE line N`` of a template error: a syntax error carries its line; for an error raised while
    rendering (an undefined variable), Jinja rewrites the traceback so its frames carry template lines."""
    filename = getattr(err, "filename", None)
    line = getattr(err, "lineno", None)
    if line is None:
        tb = err.__traceback__
        while tb is not None:  # the innermost template frame (an included template's, if it failed there)
            code_file = Path(tb.tb_frame.f_code.co_filename)
            if folder in code_file.parents:
                filename, line = str(code_file), tb.tb_lineno
            tb = tb.tb_next
    where = Path(filename) if filename else folder / template
    return f"{where} line {line}" if line else str(where)


def _first_line(err: BaseException) -> str:
    """Jinja appends the template source to some messages; the one-line error keeps the message only."""
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__
