"""Libraries loaded on first use by the tests that need them, not when the suite is collected.

Every pytest worker imports every test module; a module-level ``import litellm`` (3.8 s of CPU),
statsmodels (2.2 s) or ppi_py (2.5 s) was paid by all four workers, though one or two run the tests
that use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class Lazy:
    """Stands for what ``make()`` returns, made on the first attribute read."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pytest's collection probes module globals for its own markers
            raise AttributeError(name)
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


def module(name: str) -> Lazy:
    return Lazy(lambda: importlib.import_module(name))
