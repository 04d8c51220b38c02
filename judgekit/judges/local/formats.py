"""The ``response_format`` that constrains the local judge's output to a JSON schema.

llama.cpp's server (llama-cpp-python) compiles a JSON schema into a grammar when the request carries
``response_format={"type": "json_object", "schema": {...}}`` (see :func:`local_response_format`); litellm
passes this dict through unchanged for ``openai/...`` models. The OpenAI form
``{"type": "json_schema", "json_schema": {"name": ..., "schema": ..., "strict": true}}`` is rejected by
llama-cpp-python's server (HTTP 500 carrying a validation error, which litellm raises as
``InternalServerError``: it looks retryable but never succeeds), so it must not be sent to the local judge.
Free-text string fields may contain raw control characters (llama-cpp-python's string grammar allows
them): parse verdicts with ``json.loads(text, strict=False)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def local_response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``response_format`` that makes llama.cpp's server constrain output to ``schema``.

    llama-cpp-python turns ``{"type": "json_object", "schema": ...}`` into a GBNF grammar, so even a
    270M base model can only emit JSON that matches the schema. Pass it to litellm as is
    (``litellm.acompletion(model="openai/<alias>", ..., response_format=local_response_format(s))``);
    litellm forwards it unchanged.
    """
    return {"type": "json_object", "schema": dict(schema)}


def openai_response_format(schema: Mapping[str, Any], name: str = "verdict") -> dict[str, Any]:
    """The OpenAI structured-output form, for comparison: NOT understood by llama-cpp-python's server."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema), "strict": True}}
