"""Lazy re-exports for a package ``__init__``: a name's module is imported the first time it is used."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, where: Mapping[str, str], namespace: dict[str, Any] | None = None
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` serving each name of ``where`` (name -> module) on first use; with
    ``namespace`` (the package's ``globals()``) the value is kept there, so later lookups are plain."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        if namespace is not None:
            namespace[name] = value
        return value

    return __getattr__


def warm_imports(*modules: str) -> threading.Thread:
    """Import ``modules`` in a thread, so that a caller waiting on I/O (judge calls in flight) pays their import
    while it would be idle anyway. Whoever imports one of them meanwhile waits for it (the import lock), so
    nothing sees a half-initialised module. Not a daemon: an exit waits for the imports to finish."""
    thread = threading.Thread(target=_import_all, args=(modules,), name="judgekit-warm-imports")
    thread.start()
    return thread


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)
