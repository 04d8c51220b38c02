"""The schema of ``rubric.yaml``: pydantic models with ``extra="forbid"``, so an unknown key is an error.

The output fields live in :mod:`judgekit.rubric.verdict`; this module says how a rubric is judged (modes and their
templates, inputs, scale, how question scores and pairs combine).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgekit.rubric.reasoning_tags import check_tags
from judgekit.rubric.verdict import OutputSpec, score_values

Mode = Literal["per_aspect", "all_aspects", "per_item", "per_order"]
ScoreMethod = Literal["value", "logprob_weighted"]
QuestionScore = Literal["normalized", "raw", "pairwise"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    reasoning_tags: list[str] | None = Field(
        default=None,
        description="tags whose blocks hold a reasoning judge's thinking, never its verdict (default: "
        "think, thinking, reasoning); --reasoning-tags overrides them",
    )

    @model_validator(mode="after")
    def _modes(self) -> RubricSpec:
        if self.mode not in self.modes:
            raise ValueError(f"mode {self.mode!r} has no templates under 'modes'")
        needs_aspects = {"per_aspect", "all_aspects"} & set(self.modes)
        if needs_aspects and self.inputs.aspects is None:
            raise ValueError(f"modes {sorted(needs_aspects)} need inputs.aspects (the checklist field)")
        self._check_pairs()
        if self.output.pattern is not None:
            if "all_aspects" in self.modes:
                raise ValueError("output.pattern reads one verdict per answer: mode all_aspects needs JSON")
            if self.score_method == "logprob_weighted":
                raise ValueError("score_method logprob_weighted needs JSON answers, not output.pattern")
        if self.score_method == "logprob_weighted":
            score_values(self.output)  # raises ValueError when the score field has no finite value set
            if self.output.match in ("first", "priority"):
                raise ValueError(
                    f"score_method logprob_weighted weights the score the answer writes last: output.match "
                    f"{self.output.match!r} may pick another; use consistent or last"
                )
        if self.reasoning_tags is not None:
            self.reasoning_tags = list(check_tags(self.reasoning_tags))
        return self

    def _check_pairs(self) -> None:
        """Pair rubrics judge both orders and combine them pairwise; single rubrics do neither."""
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


def weighted_candidates(spec: RubricSpec) -> dict[str, float]:
    """The score field's possible answers with their scores (see :func:`judgekit.rubric.verdict.score_values`)."""
    return score_values(spec.output)
