"""One error hierarchy: every failure a user can cause maps to a clear one-line message and an exit code."""

from __future__ import annotations


class JudgekitError(Exception):
    """Base class; the CLI prints ``str(err)`` on one line and exits with ``exit_code``."""

    exit_code: int = 2


class InputError(JudgekitError):
    """A data file (dataset, responses, labels, score file) is missing, malformed or inconsistent."""


class RubricError(JudgekitError):
    """A rubric folder is invalid, or a template fails to render."""


class ConfigError(JudgekitError):
    """Invalid options or configuration (CLI flags, gate YAML)."""


class JudgeError(JudgekitError):
    """The judge could not be set up (unknown judge, local server failed to start)."""


class Interrupted(JudgekitError):
    """The run was interrupted (Ctrl-C); finished work is saved and a rerun resumes."""

    exit_code = 130


def where(path: object, item_id: object | None = None, field: str | None = None) -> str:
    """Format the 'file, item, field' prefix that every input error starts with."""
    parts = [str(path)]
    if item_id is not None:
        parts.append(f"id {item_id!r}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ": ".join(parts)
