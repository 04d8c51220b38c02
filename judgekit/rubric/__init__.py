"""Rubrics are folders: ``rubric.yaml`` (validated configuration) plus Jinja templates for the messages.

``spec`` holds the rubric.yaml models, ``templates`` the sandboxed rendering, ``plan`` the judge calls per
mode, ``core`` the :class:`Rubric` itself and ``load`` finding and loading folders. The output fields and
score extraction live in :mod:`judgekit.rubric.verdict` (re-exported here for the names that used to live here).
"""

from judgekit.rubric.core import Rubric
from judgekit.rubric.load import builtin_rubrics_dir, list_rubrics, load_rubric, resolve_rubric_dir
from judgekit.rubric.plan import CallPlan, Planner, base_context, plan_calls
from judgekit.rubric.spec import (
    Criterion,
    Inputs,
    Mode,
    PairwiseSpec,
    QuestionScore,
    RubricSpec,
    Scale,
    ScoreMethod,
    Templates,
    weighted_candidates,
)
from judgekit.rubric.templates import TemplateSet, fence
from judgekit.rubric.verdict import (
    MAX_WEIGHTED_VALUES,
    FieldSpec,
    OutputSpec,
    check_pattern,
    weight_by_logprobs,
)

__all__ = [
    "MAX_WEIGHTED_VALUES",
    "CallPlan",
    "Criterion",
    "FieldSpec",
    "Inputs",
    "Mode",
    "OutputSpec",
    "PairwiseSpec",
    "Planner",
    "QuestionScore",
    "Rubric",
    "RubricSpec",
    "Scale",
    "ScoreMethod",
    "TemplateSet",
    "Templates",
    "base_context",
    "builtin_rubrics_dir",
    "check_pattern",
    "fence",
    "list_rubrics",
    "load_rubric",
    "plan_calls",
    "resolve_rubric_dir",
    "weight_by_logprobs",
    "weighted_candidates",
]
