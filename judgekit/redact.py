"""Redaction: API keys never reach a file or the terminal.

Every text bound for the score file, the run log or an error message goes through :func:`redact` with the
run's secrets (:func:`run_secrets`), and anything shaped like a key (``sk-...``, ``Bearer ...``) goes too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from judgekit.judges.router import RouterJudge
from judgekit.panel import PanelJudge

if TYPE_CHECKING:
    from judgekit.judges.factory import JudgeOptions

_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[A-Za-z0-9_\-.]{8,})")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove API keys from text bound for a file or the terminal."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _SECRET.sub("[redacted]", text)


def run_secrets(options: JudgeOptions, specs: Sequence[object] = ()) -> list[str]:
    """The keys a run could leak: its own, each panel judge's, and every ``*_API_KEY``/``_TOKEN``/``_SECRET``
    variable of the environment."""
    found = [options.api_key] if options.api_key else []
    found += [key for s in specs if isinstance(s, PanelJudge) for key in [s.secret()] if key]
    found += [key for s in specs if isinstance(s, RouterJudge) for key in s.secrets()]
    found += [v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN", "_SECRET")) and v]
    return [s for s in found if s]
