"""candidates.yaml: the judges, rubrics and settings to choose among, validated strictly before any call."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgekit.errors import ConfigError, JudgekitError
from judgekit.judges.factory import JudgeOptions
from judgekit.judges.litellm_judge import StructuredMode
from judgekit.rubric import Mode
from judgekit.scoring.settings import ScoreSettings
from judgekit.yamlfile import read_mapping, validate

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Strict):
    """Dollars per million tokens, for a judge litellm has no price for."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class JudgingSettings(_Strict):
    """The judging options of ``score`` a candidate may set."""

    mode: Mode | None = None
    samples: int = Field(1, ge=1, le=100)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    structured: StructuredMode = "auto"
    reasoning_effort: Literal["low", "medium", "high"] | None = None


class Candidate(_Strict):
    name: str
    judge: str
    api_base: str | None = None
    api_key_env: str | None = None
    rubric: str = "lamp_qa"
    settings: JudgingSettings = Field(default_factory=lambda: JudgingSettings())
    price: Price | None = None

    @model_validator(mode="after")
    def _name_ok(self) -> Candidate:
        if not _NAME.match(self.name):
            raise ValueError(f"name {self.name!r}: use letters, digits, '_', '.', '-' (a file name)")
        return self


class CandidatesFile(_Strict):
    candidates: list[Candidate] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CandidatesFile:
        seen: set[str] = set()
        for c in self.candidates:
            if c.name in seen:
                raise ValueError(f"candidate name {c.name!r} is used twice")
            seen.add(c.name)
        return self


def load_candidates(path: str | Path) -> list[Candidate]:
    """The candidates of ``path``; each one's rubric opens and its key variable is set (ConfigError else)."""
    from judgekit.judges.panel_spec import judge_list
    from judgekit.judges.registry import check_reasoning_effort
    from judgekit.rubric import load_rubric

    parsed = validate(path, CandidatesFile, read_mapping(path, "candidates file"))
    base = Path(path).parent
    out = []
    for c in parsed.candidates:
        local = base / c.rubric
        if not Path(c.rubric).is_absolute() and local.is_dir():
            c = c.model_copy(update={"rubric": str(local)})  # a rubric folder beside the file
        judge_file = base / c.judge
        if _is_judge_file(c.judge) and not Path(c.judge).is_absolute() and judge_file.is_file():
            c = c.model_copy(update={"judge": str(judge_file)})  # a panel or router file beside the file
        try:
            load_rubric(c.rubric)
            settings = score_settings(c)
            spec = judge_spec(c)
            check_reasoning_effort(judge_list(spec), settings.reasoning_effort)
        except JudgekitError as err:
            raise ConfigError(f"{path}: candidate {c.name!r}: {err}") from None
        out.append(c)
    return out


def _is_judge_file(judge: str) -> bool:
    return judge.endswith((".yaml", ".yml"))


def judge_spec(c: Candidate) -> Any:
    """The judge as ``score`` takes it: a model string, the judges of a panel file, or a router file's judge."""
    if not _is_judge_file(c.judge):
        return c.judge
    raw = read_mapping(c.judge, "a panel (judges: [...]) or router (model_list: [...]) file")
    if "model_list" in raw:
        from judgekit.judges.router import router_judges

        return router_judges(c.judge, None)
    from judgekit.judges.panel_spec import load_panel_file

    return load_panel_file(c.judge)


def score_settings(c: Candidate, **extra: Any) -> ScoreSettings:
    """The candidate's :class:`ScoreSettings` (its endpoint, key, rubric and judging options)."""
    api_key = None
    if c.api_key_env:
        api_key = os.environ.get(c.api_key_env)
        if not api_key:
            raise ConfigError(f"api_key_env: environment variable {c.api_key_env} is not set")
    if c.api_base is not None:
        from judgekit.judges.litellm_judge import check_api_base

        check_api_base(c.api_base)
    s = c.settings
    options = JudgeOptions(api_base=c.api_base, api_key=api_key, structured=s.structured)
    return ScoreSettings(
        rubric=c.rubric,
        mode=s.mode,
        samples=s.samples,
        temperature=s.temperature,
        max_tokens=s.max_tokens,
        reasoning_effort=s.reasoning_effort,
        judge=options,
        **extra,
    )
