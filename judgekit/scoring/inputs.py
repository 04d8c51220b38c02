"""What ``score``, ``probe`` and ``estimate`` all take, in one model: the dataset, the responses (one set, or
the two of a pair rubric), the judge or judges, the settings and the cache.

Each of the three builds a :class:`RunInputs` from its keyword arguments, so defaults, the rubric, the judge
list, the inputs read from disk and where the cache is are settled the same way for all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judgekit.data import Item, load_dataset, load_pairs, load_responses, match_ids
from judgekit.errors import ConfigError
from judgekit.io import validation_line
from judgekit.judges.panel_spec import JudgeSpec, judge_list
from judgekit.rubric import Rubric, load_rubric
from judgekit.run.cache import default_cache_path
from judgekit.scoring.settings import ScoreSettings


class RunInputs(BaseModel):
    """The inputs of a scoring run (and of the probes and estimates made of the same run)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    dataset: str | Path
    responses: str | Path | None = None
    responses_a: str | Path | None = Field(None, description="pair rubrics: the first system's responses")
    responses_b: str | Path | None = Field(None, description="pair rubrics: the second system's responses")
    judge: Any = Field("local", description="a judge spec, or a list of them (a panel)")
    settings: ScoreSettings = Field(default_factory=ScoreSettings)
    cache: str | Path | bool = Field(True, description="True: the default cache file; False: no cache")

    @field_validator("settings", mode="before")
    @classmethod
    def _default_settings(cls, value: Any) -> Any:
        return ScoreSettings() if value is None else value

    @classmethod
    def of(cls, **given: Any) -> RunInputs:
        """The inputs from the keyword arguments of score, probe or estimate (``settings=None``: the
        defaults); a value of the wrong type is a ConfigError naming the argument."""
        try:
            return cls(**given)
        except ValidationError as err:
            first = err.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "?"
            field = cls.model_fields.get(name)
            if field is None or name == "settings":  # an unknown argument, or a field of the settings
                raise ConfigError(validation_line(err).replace("field ", "argument ", 1)) from None
            expected = str(field.annotation).replace("pathlib.", "").replace("typing.", "")
            value = given.get(name)
            raise ConfigError(
                f"argument {name!r}: expected {expected}, got {type(value).__name__} {value!r}"
            ) from None

    def specs(self) -> list[JudgeSpec]:
        return judge_list(self.judge)

    def rubric(self) -> Rubric:
        return load_rubric(self.settings.rubric)

    def load(self, rubric: Rubric) -> tuple[list[Item], dict[str, Any], dict[str, str | Path]]:
        """Items, each item's response(s), and the input files (see :func:`load_inputs`)."""
        return load_inputs(
            rubric, self.settings, self.dataset, self.responses, self.responses_a, self.responses_b
        )

    def cache_path(self) -> Path | None:
        """The cache file (``None``: the cache is off)."""
        if self.cache is False:
            return None
        return default_cache_path() if self.cache is True else Path(self.cache)


def _aspects_field(rubric: Rubric, settings: ScoreSettings) -> str | None:
    mode = settings.mode or rubric.spec.mode
    return rubric.spec.inputs.aspects if mode in ("per_aspect", "all_aspects") else None


def load_inputs(
    rubric: Rubric,
    settings: ScoreSettings,
    dataset: str | Path,
    responses: str | Path | None,
    responses_a: str | Path | None,
    responses_b: str | Path | None,
) -> tuple[list[Item], dict[str, Any], dict[str, str | Path]]:
    """Items, each item's response (a text, or ``{"a", "b"}`` texts for pair rubrics), and the input files."""
    files: dict[str, str | Path] = {"dataset": dataset}
    if rubric.pairwise:
        if responses is not None:
            raise ConfigError(
                f"rubric {rubric.name!r} compares two responses per item: give --responses-a and "
                "--responses-b (or a dataset holding both), not --responses"
            )
        items, pairs = load_pairs(
            dataset,
            responses_a,
            responses_b,
            required=rubric.spec.inputs.required,
            max_chars=settings.max_response_chars,
        )
        if responses_a is not None and responses_b is not None:
            files.update(responses_a=responses_a, responses_b=responses_b)
        return items, dict(pairs), files
    if responses_a is not None or responses_b is not None:
        raise ConfigError(
            f"--responses-a/--responses-b are for pairwise rubrics; rubric {rubric.name!r} judges one "
            "response per item (give --responses)"
        )
    if responses is None:
        raise ConfigError(f"rubric {rubric.name!r} needs responses to judge: give --responses")
    items = load_dataset(
        dataset, required=rubric.spec.inputs.required, aspects_field=_aspects_field(rubric, settings)
    )
    answers = load_responses(responses, settings.max_response_chars)
    match_ids(items, answers, dataset, responses)
    files["responses"] = responses
    return items, dict(answers), files
