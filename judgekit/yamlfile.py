"""Small YAML settings files (the gate config, a judge panel) read into pydantic models with one-line errors.

Every YAML file judgekit reads goes through :func:`load_yaml`, which refuses a key written twice in one mapping
(PyYAML would silently keep the last one, so a typo'd copy of a threshold would change a gate unseen).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from judgekit.errors import ConfigError
from judgekit.io import read_text

M = TypeVar("M", bound=BaseModel)


@functools.cache
def _strict_loader() -> Any:
    """A SafeLoader that raises on a duplicated mapping key (built lazily: yaml loads only when needed)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # "<<: *anchor" merges are meant to be overridden
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable: the base class reports it
                    break
                if duplicate:
                    line = key_node.start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (line {line})"
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    return StrictLoader


def load_yaml(text: str) -> Any:
    """``text`` parsed as YAML (safe types only); a duplicated key raises ``yaml.YAMLError``."""
    import yaml

    return yaml.load(text, Loader=_strict_loader())  # a SafeLoader subclass


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The top-level mapping of ``what`` (a YAML file; empty for an empty file); :class:`ConfigError` otherwise."""
    import yaml

    p = Path(path)
    text = read_text(p, error=ConfigError, empty_ok=True)
    try:
        raw = load_yaml(text)
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
        msg = (
            "unknown key"
            if first["type"] == "extra_forbidden"
            else first["msg"].removeprefix("Value error, ")
        )
        raise ConfigError(f"{path}: {loc}: {msg}") from None
