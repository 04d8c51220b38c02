"""``judgekit.validate`` and ``judgekit.gate`` each name a module and its main function.

Importing a submodule rebinds the package attribute to the module, which would shadow the lazily exported
function; making the module callable keeps ``judgekit.validate(...)`` working whatever was imported first.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_module_callable(module_name: str, function: Callable[..., Any]) -> None:
    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule
