"""The judges of a run: one spec, or a panel of distinct ones (``--judge`` repeated, ``--panel FILE``).

:class:`PanelJudge` is one judge of a panel with its own endpoint and key; :func:`load_panel_file` reads a
YAML list of them; :func:`judge_list` checks that a run's judges are distinct before any is called.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from judgekit.errors import ConfigError
from judgekit.judges.base import Judge
from judgekit.judges.factory import JudgeOptions
from judgekit.judges.litellm_judge import StructuredMode
from judgekit.judges.python_object import is_python_object
from judgekit.judges.router import RouterJudge


class PanelJudge(BaseModel):
    """One judge of a panel: a litellm model with its own endpoint and key.

    Fields left out take the run's settings (``--api-base``, ``--api-key-env``, ``--structured``), except that
    an entry with its own ``api_base`` never gets the run's key. The same model on two endpoints is two
    judges. The key is read from the environment variable ``api_key_env`` (``api_key`` is for Python callers
    only; it is never written to any file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="litellm model string, e.g. openai/judge")
    name: str | None = Field(None, min_length=1, description="a short name for reports")
    api_base: str | None = Field(None, min_length=1, description="base URL of the judge's server")
    api_key_env: str | None = Field(None, min_length=1, description="environment variable holding the key")
    api_key: SecretStr | None = Field(None, exclude=True, description="the key itself (Python only)")
    structured: StructuredMode | None = None
    timeout: float | None = Field(None, gt=0, description="seconds per call")

    @field_validator("model")
    @classmethod
    def _litellm_model(cls, v: str) -> str:
        from judgekit.judges.local import is_local_spec

        v = v.strip()
        if is_local_spec(v) or is_python_object(v):
            raise ValueError(
                f"{v!r} is not a litellm model; a panel entry names a model on a server "
                "(give 'local' or a Python judge with --judge beside the panel)"
            )
        return v

    @property
    def key(self) -> tuple[str, str | None]:
        """What makes two entries the same judge: the model at an endpoint."""
        return (self.model, self.api_base)

    @property
    def label(self) -> str:
        return self.name or (self.model + (f"@{self.api_base}" if self.api_base else ""))

    def secret(self) -> str | None:
        """The judge's API key: ``api_key``, else the variable ``api_key_env`` (which must be set)."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env is None:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ConfigError(
                f"panel judge {self.label!r}: environment variable {self.api_key_env} (api_key_env) is not set"
            )
        return value

    def options(self, defaults: JudgeOptions) -> JudgeOptions:
        """The run's judge options with this judge's own endpoint, key and settings in place."""
        update: dict[str, Any] = {}
        if self.api_base is not None:
            # the run's key belongs to the run's endpoint: never send it to another server
            update["api_base"], update["api_key"] = self.api_base, None
        if self.api_key is not None or self.api_key_env is not None:
            update["api_key"] = self.secret()
        if self.structured is not None:
            update["structured"] = self.structured
        if self.timeout is not None:
            update["timeout"] = self.timeout
        return defaults.model_copy(update=update)


def judge_options(spec: object, defaults: JudgeOptions) -> JudgeOptions:
    """The options a judge opened from ``spec`` runs with: a panel entry's own, else the run's (so the engine
    gives each judge the per-call timeout its client has)."""
    return spec.options(defaults) if isinstance(spec, PanelJudge) else defaults


class PanelFile(BaseModel):
    """A ``--panel`` YAML file: ``judges: [{model, api_base, api_key_env, name, ...}, ...]``."""

    model_config = ConfigDict(extra="forbid")

    judges: list[PanelJudge] = Field(min_length=1)


def load_panel_file(path: str | Path) -> list[PanelJudge]:
    """The judges of a panel file; one-line :class:`ConfigError` on bad YAML, unknown keys or a key in it."""
    from judgekit.yamlfile import read_mapping, validate

    raw = read_mapping(path, "a panel YAML file (judges: [...])")
    entries = raw.get("judges")
    for k, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and "api_key" in entry:
            raise ConfigError(
                f"{path}: judges.{k}.api_key: API keys never go in files; put the key in an environment "
                "variable and name it with api_key_env"
            )
    judges = validate(path, PanelFile, raw).judges
    for judge in judges:
        judge.secret()  # an unset key variable is an error now, before any judge is called
    return judges


JudgeSpec = str | Judge | PanelJudge | RouterJudge


def judge_list(judge: JudgeSpec | Sequence[JudgeSpec]) -> list[JudgeSpec]:
    """One judge or a panel: a list of distinct judges (the same judge twice would only replay its cache).

    The same model at two endpoints (:class:`PanelJudge` entries) is two judges."""
    specs: list[JudgeSpec] = (
        [judge] if isinstance(judge, str | PanelJudge) or not isinstance(judge, Sequence) else list(judge)
    )
    if not specs:
        raise ConfigError("--judge: give at least one judge")
    names = [s.strip() for s in specs if isinstance(s, str)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"--judge {twice[0]!r} is given twice; a panel needs distinct judges "
            "(for one judge's self-consistency use --samples with --temperature above 0)"
        )
    entries = [s for s in specs if isinstance(s, PanelJudge)]
    keys = [e.key for e in entries]
    for e in entries:
        if keys.count(e.key) > 1:
            where = f" at {e.api_base}" if e.api_base else ""
            raise ConfigError(
                f"panel: judge {e.model!r}{where} is given twice; a panel needs distinct judges"
            )
        if e.name is not None and [x.name for x in entries].count(e.name) > 1:
            raise ConfigError(f"panel: two judges are named {e.name!r}; give each judge its own name")
        e.secret()  # an unset key variable is an error before any judge is called
    return specs


def check_distinct(identities: Sequence[str]) -> None:
    """Two specs that open the same judge (same identity) would only replay each other's cache."""
    twice = sorted({i for i in identities if identities.count(i) > 1})
    if twice:
        raise ConfigError(f"two judges of the panel are the same judge ({twice[0]}); give distinct judges")
