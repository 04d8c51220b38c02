"""Turn a ``--judge`` string into a judge: a litellm model, ``local[:model.gguf]``, or ``module:attribute``."""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError, JudgeError
from judgekit.judges.base import FunctionJudge, Judge
from judgekit.judges.litellm_judge import StructuredMode
from judgekit.judges.local.model import is_local_spec as is_local_spec
from judgekit.judges.local.model import parse_local_spec

_PY_OBJECT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class JudgeOptions(BaseModel):
    """Backend options shared by every judge built from a string."""

    model_config = ConfigDict(extra="forbid")

    api_base: str | None = None
    api_key: str | None = None
    structured: StructuredMode = "auto"
    timeout: float = 120.0
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


def is_python_object(spec: str) -> bool:
    """``package.module:attr`` names a Python judge; litellm model strings use '/' instead."""
    return bool(_PY_OBJECT.match(spec)) and "/" not in spec


def load_python_judge(spec: str) -> Judge:
    module_name, _, attr = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise JudgeError(f"judge {spec!r}: cannot import module {module_name!r} ({err})") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise JudgeError(f"judge {spec!r}: module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, type):
        obj = obj()
    if isinstance(obj, Judge):
        return obj
    if callable(obj):
        return FunctionJudge(obj, identity=f"python:{spec}")
    raise JudgeError(f"judge {spec!r}: expected a judge object (with async complete()) or a function")


def resolve_judge(spec: str | Judge, options: JudgeOptions | None = None) -> Judge:
    """Build the judge a user named. ``local`` judges need :func:`judgekit.judges.local.local_judge` (a
    context manager that owns the server), so the scoring API handles them before calling this."""
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
    from judgekit.judges.litellm_judge import LiteLLMJudge

    return LiteLLMJudge(
        spec,
        api_base=options.api_base,
        api_key=options.api_key,
        structured=options.structured,
        timeout=options.timeout,
    )


# One rule for ``local[:PATH]``, the local judge's own; scoring reads the model path under this name.
local_model_path = parse_local_spec
