"""Rubrics are folders: ``rubric.yaml`` (validated configuration) plus Jinja templates for the messages.

Templates render in a sandboxed environment with ``StrictUndefined``: a typo is an error, not an empty
string, and a user-supplied template cannot reach Python internals. A rubric's judging ``mode`` decides how
an item becomes judge calls; nothing else in judgekit knows which rubric it is running.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judgekit.data import Item
from judgekit.errors import RubricError

Mode = Literal["per_aspect", "all_aspects", "per_item", "per_order"]


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

    @model_validator(mode="after")
    def _score_field_exists(self) -> OutputSpec:
        if self.score not in self.fields:
            raise ValueError(f"output.score names {self.score!r}, which is not one of output.fields")
        spec = self.fields[self.score]
        if spec.type in ("string", "boolean") and self.score_map is None:
            raise ValueError(f"output.score field {self.score!r} is a {spec.type}: give output.score_map")
        return self


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
    question_score: Literal["normalized", "raw"] = Field(
        default="normalized",
        description="normalized: mean of (score-min)/(max-min), i.e. LaMP-QA's sum / (max x aspects); raw: mean",
    )

    @model_validator(mode="after")
    def _modes(self) -> RubricSpec:
        if self.mode not in self.modes:
            raise ValueError(f"mode {self.mode!r} has no templates under 'modes'")
        needs_aspects = {"per_aspect", "all_aspects"} & set(self.modes)
        if needs_aspects and self.inputs.aspects is None:
            raise ValueError(f"modes {sorted(needs_aspects)} need inputs.aspects (the checklist field)")
        return self


@dataclass(frozen=True)
class CallPlan:
    """One judge conversation to run: which targets of which item it scores, and with what messages."""

    item_id: str
    targets: tuple[str, ...]
    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any]
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
        self._env.filters["fence"] = _fence
        self._env.filters["tojson"] = lambda v: Markup(json.dumps(v, ensure_ascii=False))

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"Rubric({self.name!r}, {self.folder})"

    def render(self, template: str, context: dict[str, Any]) -> str:
        try:
            return self._env.get_template(template).render(context).strip()
        except SecurityError as err:
            raise RubricError(
                f"{self.folder / template}: blocked unsafe template operation ({err})"
            ) from None
        except TemplateError as err:
            line = getattr(err, "lineno", None)
            at = f" line {line}" if line else ""
            raise RubricError(f"{self.folder / template}{at}: {type(err).__name__}: {err}") from None

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

    def call_schema(self, slots: tuple[str, ...] | None) -> dict[str, Any]:
        if slots is None:
            return self.unit_schema
        return {
            "type": "object",
            "properties": {slot: self.unit_schema for slot in slots},
            "required": list(slots),
            "additionalProperties": False,
        }

    def final_scores(
        self, scores: list[float], logprobs: list[dict[str, Any]] | None
    ) -> tuple[list[float], str]:
        """The scores to keep for a parsed answer, and how they were obtained.

        The default keeps the parsed values ("value"); rubrics that weight by token probabilities override
        the method through their configuration. Called by the engine for every parsed answer.
        """
        return scores, "value"

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
            aspects=[{**a.model_dump(), "index": n} for n, a in enumerate(item.aspects, 1)],
        )
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
            "content": self.render(self.spec.reask, {"error": error, "schema": self.unit_schema}),
        }


def _untrusted(ctx: dict[str, Any]) -> tuple[str, ...]:
    texts = [ctx["response"]] if "response" in ctx else list(ctx.get("responses", {}).values())
    return tuple(t for t in texts if isinstance(t, str) and t)


Planner = Callable[[Rubric, Item, Any, Templates], Iterator[CallPlan]]


def _plan_per_aspect(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    base = r.base_context(item, response)
    for ctx_aspect in base["aspects"]:
        ctx = {**base, "aspect": ctx_aspect}
        yield CallPlan(
            item.id, (ctx_aspect["aspect"],), r.messages(t, ctx), r.unit_schema, None, _untrusted(ctx), ctx
        )


def _plan_all_aspects(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = r.base_context(item, response)
    slots = tuple(f"aspect_{n}" for n in range(1, len(item.aspects) + 1))
    ctx["slots"] = list(slots)
    targets = tuple(a.aspect for a in item.aspects)
    yield CallPlan(item.id, targets, r.messages(t, ctx), r.call_schema(slots), slots, _untrusted(ctx), ctx)


def _plan_per_item(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = r.base_context(item, response)
    yield CallPlan(item.id, ("overall",), r.messages(t, ctx), r.unit_schema, None, _untrusted(ctx), ctx)


def _plan_per_order(r: Rubric, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    """Pairwise judging: the pair is shown in both orders, so position bias can be measured and cancelled."""
    if not isinstance(response, dict) or set(response) != {"a", "b"}:
        raise RubricError(f"rubric {r.name!r} judges pairs: give two responses (a and b) for id {item.id!r}")
    base = r.base_context(item, response)
    for order, first, second in (("original", "a", "b"), ("swapped", "b", "a")):
        ctx = {**base, "order": order, "first": response[first], "second": response[second]}
        yield CallPlan(item.id, (order,), r.messages(t, ctx), r.unit_schema, None, _untrusted(ctx), ctx)


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
        line = getattr(err, "lineno", None)
        raise RubricError(f"{path}{f' line {line}' if line else ''}: {err}") from None
