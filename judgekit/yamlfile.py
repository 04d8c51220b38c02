"""Small YAML settings files (the gate config, a judge panel) read into pydantic models with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from judgekit.errors import ConfigError
from judgekit.io import read_text

M = TypeVar("M", bound=BaseModel)


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The top-level mapping of ``what`` (a YAML file; empty for an empty file); :class:`ConfigError` otherwise."""
    import yaml

    p = Path(path)
    text = read_text(p, error=ConfigError, empty_ok=True)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML ({' '.join(str(err).split())})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of settings, got {type(raw).__name__}")
    return raw


def validate(path: str | Path, model: type[M], raw: dict[str, Any]) -> M:
    """``model`` from ``raw``, or a :class:`ConfigError` naming the file, the key and what is wrong."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{path}: {loc}: {msg}") from None
