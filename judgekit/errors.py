"""One error hierarchy: every failure a user can cause maps to a clear one-line message and an exit code."""

from __future__ import annotations

from typing import Any


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


class JudgeUnavailable(JudgeError):
    """The judge cannot judge (its server died, it is unreachable, it refuses every call): the run stopped.

    Judgments already made stay cached; a rerun resumes once the judge is back."""

    exit_code = 3


class CoverageTooLow(JudgekitError):
    """The run finished but scored fewer units than ``--min-coverage`` asks; the score file says so."""

    exit_code = 4

    def __init__(self, message: str, score_file: Any = None) -> None:
        super().__init__(message)
        # the judgekit.results.ScoreFile written with status "failed" (for callers of score()); typed loosely
        # so that the error hierarchy imports no model and stays below everything else
        self.score_file = score_file


class Interrupted(JudgekitError):
    """The run was interrupted (Ctrl-C); finished work is saved and a rerun resumes."""

    exit_code = 130


class Terminated(Interrupted):
    """The run received SIGTERM; handled like Ctrl-C, with the shell's exit code for it."""

    exit_code = 143


class DeadlineReached(Interrupted):
    """The run reached its ``--deadline``; stopped like Ctrl-C, with timeout(1)'s exit code for it."""

    exit_code = 124


class SaveFailed(JudgekitError):
    """A write of the cache or the run log failed (disk full, database locked): the run stopped instead of
    going on with results it cannot keep; the message says what was not saved."""

    exit_code = 5


# Exit codes, in one place for --help and the docs.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "a gate check failed",
    2: "bad usage or input (nothing written)",
    3: "the judge could not judge (dead, unreachable, refusing every call); the run stopped",
    4: "the run finished below --min-coverage (the score file is written and says so)",
    5: "a result could not be saved (the cache or the run log failed to write); the run stopped",
    124: "the run reached --deadline; stopped like Ctrl-C, finished judgments are cached",
    130: "interrupted (Ctrl-C)",
    143: "terminated (SIGTERM)",
}


def where(path: object, item_id: object | None = None, field: str | None = None) -> str:
    """Format the 'file, item, field' prefix that every input error starts with."""
    parts = [str(path)]
    if item_id is not None:
        parts.append(f"id {item_id!r}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ": ".join(parts)
