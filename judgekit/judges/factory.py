"""The options every backend shares, and a litellm judge built from them (which backend a ``--judge`` value
names is the registry's business: :func:`judgekit.judges.registry.resolve_judge`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.judges.litellm_judge import StructuredMode

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
