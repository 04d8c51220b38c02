"""A judge written in Python, named ``package.module:attribute`` on the command line.

The attribute is a judge object (with async ``complete``), a class of them (instantiated without arguments) or
a plain function ``(messages, params) -> str | Completion``, sync or async.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from judgekit.errors import JudgeError
from judgekit.judges.base import FunctionJudge, Judge

_PY_OBJECT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
IDENTITY_PREFIX = "python:"


def is_python_object(spec: str) -> bool:
    """``package.module:attr`` names a Python judge; litellm model strings use '/' instead."""
    return bool(_PY_OBJECT.match(spec)) and "/" not in spec


def load_python_judge(spec: str) -> Judge:
    """Import ``module`` (from the working directory too) and adapt ``attr`` to the judge protocol."""
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
        return FunctionJudge(obj, identity=IDENTITY_PREFIX + spec)
    raise JudgeError(f"judge {spec!r}: expected a judge object (with async complete()) or a function")
