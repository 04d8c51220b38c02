"""Build a judge from a ``--judge`` string without a lifecycle: the options every backend shares, and
:func:`resolve_judge` for a Python object or a litellm model (``local`` needs :func:`~judgekit.judges.open_judge`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError
from judgekit.judges.base import Judge
from judgekit.judges.litellm_judge import StructuredMode
from judgekit.judges.python_object import is_python_object, load_python_judge

if TYPE_CHECKING:
    from judgekit.judges.litellm_judge import LiteLLMJudge


class JudgeOptions(BaseModel):
    """Backend options shared by every judge built from a string."""

    model_config = ConfigDict(extra="forbid")

    api_base: str | None = None
    api_key: str | None = None
    structured: StructuredMode = "auto"
    timeout: float = Field(
        120.0,
        gt=0,
        description="seconds per call (--timeout): the engine gives up on a call after this long, and the "
        "judge's client is given the same limit; the one place this setting lives",
    )
    client: Literal["auto", "aiohttp", "litellm"] = Field(
        default="auto",
        description="who calls an openai/ model at --api-base: auto = the lean aiohttp client, "
        "litellm = litellm (every other judge always goes through litellm)",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="processes making litellm calls; None = one per core for runs of 200+ calls, else 1",
    )


def litellm_judge(model: str, options: JudgeOptions) -> LiteLLMJudge:
    """A litellm judge of ``model`` with the run's endpoint, key, structured-output mode and timeout."""
    from judgekit.judges.litellm_judge import LiteLLMJudge

    return LiteLLMJudge(
        model,
        api_base=options.api_base,
        api_key=options.api_key,
        structured=options.structured,
        timeout=options.timeout,
    )


def resolve_judge(spec: str | Judge, options: JudgeOptions | None = None) -> Judge:
    """Build the judge a user named. ``local`` judges own a server, so they are opened with
    :func:`judgekit.judges.open_judge` (a context manager), not built here."""
    options = options or JudgeOptions()
    if not isinstance(spec, str):
        if isinstance(spec, Judge):
            return spec
        raise ConfigError(f"judge must be a model string or an object with async complete(), got {spec!r}")
    spec = spec.strip()
    if not spec:
        raise ConfigError("--judge is empty")
    if is_python_object(spec):
        return load_python_judge(spec)
    return litellm_judge(spec, options)
