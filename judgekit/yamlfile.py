"""Small YAML settings files (the gate config, a judge panel, a router) read into pydantic models with one-line
errors. A key given twice in one mapping is refused (YAML loaders silently keep the last value)."""

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
        raw = yaml.load(text, Loader=_unique_keys_loader())  # a SafeLoader subclass
    except _DuplicateKey as err:
        raise ConfigError(f"{p}: line {err.line}: key {err.key!r} is given twice") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML ({' '.join(str(err).split())})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of settings, got {type(raw).__name__}")
    return raw


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


def _unique_keys_loader() -> type[Any]:
    """yaml's SafeLoader, refusing a mapping that names a key twice."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor' may be overridden, by design
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    if key in seen:
                        raise _DuplicateKey(key, key_node.start_mark.line + 1)
                    seen.add(key)
                except TypeError:  # an unhashable key: the base loader reports it
                    break
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


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
