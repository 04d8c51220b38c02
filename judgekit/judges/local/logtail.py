"""The end of the local judge server's log, on one line, for error messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

_LOG_TAIL_LINES = 15
_ERROR_LINE = re.compile(r"error|failed|exception|cannot|unable|not found|denied|in use", re.IGNORECASE)


def tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    """The end of the server log on one line: its error lines if it has any, else its last lines."""
    if path is None:
        return ""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 32768))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [
        line
        for line in kept
        if _ERROR_LINE.search(line) and not line.startswith(("File ", "Traceback", "^", "raise "))
    ]
    chosen = errors[-5:] if errors else kept[-lines:]
    return " | ".join(dict.fromkeys(chosen))  # unique, in order
