"""A loaded rubric folder: its validated ``rubric.yaml``, its templates, and the calls it plans per item."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from judgekit.data import Item
from judgekit.rubric.plan import CallPlan, base_context, plan_calls
from judgekit.rubric.reasoning_tags import DEFAULT_TAGS
from judgekit.rubric.spec import Mode, RubricSpec, Templates
from judgekit.rubric.templates import TemplateSet
from judgekit.rubric.verdict import (
    check_pattern,
    score_of,
    score_values,
    slots_schema,
    unit_schema,
    weight_by_logprobs,
)


class Rubric:
    """A loaded rubric folder. Build with :func:`judgekit.rubric.load_rubric`."""

    def __init__(self, folder: Path, spec: RubricSpec, content_hash: str) -> None:
        self.folder = folder
        self.spec = spec
        self.content_hash = content_hash
        self.templates = TemplateSet(folder)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def reasoning_tags(self) -> tuple[str, ...]:
        """The tags whose blocks are the judge's reasoning: the rubric's ``reasoning_tags``, else the defaults."""
        tags = self.spec.reasoning_tags
        return DEFAULT_TAGS if tags is None else tuple(tags)

    @property
    def pairwise(self) -> bool:
        """Whether items carry two responses to compare (``inputs.responses: pair``)."""
        return self.spec.inputs.responses == "pair"

    def __repr__(self) -> str:
        return f"Rubric({self.name!r}, {self.folder})"

    def render(self, template: str, context: dict[str, Any]) -> str:
        return self.templates.render(template, context)

    # -- output schema --------------------------------------------------------------------------------

    @cached_property
    def unit_schema(self) -> dict[str, Any]:
        return unit_schema(self.spec.output)

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
        return slots_schema(self.unit_schema, slots)

    @cached_property
    def _weight_table(self) -> dict[str, float]:
        return score_values(self.spec.output)

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
        return score_of(self.spec.output, verdict)

    # -- planning calls -------------------------------------------------------------------------------

    def plan(self, item: Item, response: str | dict[str, str], mode: Mode | None = None) -> list[CallPlan]:
        """Turn one item and its response(s) into the judge calls the rubric's mode asks for."""
        return plan_calls(self, item, response, mode)

    def base_context(self, item: Item, response: str | dict[str, str]) -> dict[str, Any]:
        return base_context(self.spec, item, response)

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
