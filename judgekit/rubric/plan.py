"""Call planning: a rubric's judging ``mode`` decides how an item becomes judge calls.

Nothing else in judgekit knows which rubric it is running; each mode is one planner here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from judgekit.data import Item
from judgekit.errors import RubricError
from judgekit.rubric.spec import Mode, RubricSpec, Templates


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


class Plannable(Protocol):
    """What a planner needs from a rubric (:class:`judgekit.rubric.Rubric` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> RubricSpec: ...

    def messages(self, templates: Templates, context: dict[str, Any]) -> tuple[dict[str, str], ...]: ...

    def call_schema(self, slots: tuple[str, ...] | None) -> dict[str, Any] | None: ...


def base_context(spec: RubricSpec, item: Item, response: str | dict[str, str]) -> dict[str, Any]:
    """The variables every template of the rubric sees for one item."""
    ctx: dict[str, Any] = dict(item.fields)
    ctx.update(
        item=item.fields,
        id=item.id,
        scale=spec.scale.model_dump(),
        output_fields={k: v.model_dump() for k, v in spec.output.fields.items()},
        output_score=spec.output.score,
        aspects=[{**a.model_dump(), "index": n} for n, a in enumerate(item.aspects, 1)],
    )
    if spec.criterion is not None:
        ctx["criterion"] = spec.criterion.model_dump()
    if isinstance(response, dict):
        ctx["responses"] = response
    else:
        ctx["response"] = response
    return ctx


def plan_calls(
    r: Plannable, item: Item, response: str | dict[str, str], mode: Mode | None = None
) -> list[CallPlan]:
    """Turn one item and its response(s) into the judge calls the rubric's mode asks for."""
    mode = mode or r.spec.mode
    if mode not in r.spec.modes:
        raise RubricError(f"rubric {r.name!r} has no mode {mode!r} (it has: {', '.join(r.spec.modes)})")
    builder = _PLANNERS[mode]
    return list(builder(r, item, response, r.spec.modes[mode]))


def _untrusted(ctx: dict[str, Any]) -> tuple[str, ...]:
    texts = [ctx["response"]] if "response" in ctx else list(ctx.get("responses", {}).values())
    return tuple(t for t in texts if isinstance(t, str) and t)


Planner = Callable[[Plannable, Item, Any, Templates], Iterator[CallPlan]]


def _plan_per_aspect(r: Plannable, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    base = base_context(r.spec, item, response)
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


def _plan_all_aspects(r: Plannable, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = base_context(r.spec, item, response)
    slots = tuple(f"aspect_{n}" for n in range(1, len(item.aspects) + 1))
    ctx["slots"] = list(slots)
    targets = tuple(a.aspect for a in item.aspects)
    yield CallPlan(item.id, targets, r.messages(t, ctx), r.call_schema(slots), slots, _untrusted(ctx), ctx)


def _plan_per_item(r: Plannable, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    ctx = base_context(r.spec, item, response)
    target = r.spec.criterion.name if r.spec.criterion is not None else "overall"
    yield CallPlan(item.id, (target,), r.messages(t, ctx), r.call_schema(None), None, _untrusted(ctx), ctx)


def _plan_per_order(r: Plannable, item: Item, response: Any, t: Templates) -> Iterator[CallPlan]:
    """Pairwise judging: the pair is shown in both orders, so position bias can be measured and cancelled."""
    if not isinstance(response, dict) or set(response) != {"a", "b"}:
        raise RubricError(f"rubric {r.name!r} judges pairs: give two responses (a and b) for id {item.id!r}")
    base = base_context(r.spec, item, response)
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
