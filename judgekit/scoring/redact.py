"""Redaction: API keys and endpoint credentials never reach a file or the terminal.

Every text bound for an error message goes through :func:`judgekit.scrub.redact` with the run's secrets (:func:`run_secrets`),
and anything shaped like a key (``sk-...``, ``Bearer ...``, a URL's ``user:password@``, a ``?api-key=`` query
value) goes too. Files are covered once, where they are written: :func:`run_secrets` remembers the run's
secrets for the process, and every writer (:func:`judgekit.io.atomic_write_text` for the score file, the
report and the other outputs, the run log, the cache's rows) passes its bytes through
:func:`judgekit.scrub.scrub`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from judgekit.judges.registry import judge_secrets
from judgekit.scrub import remember, url_secrets

if TYPE_CHECKING:
    from judgekit.judges.factory import JudgeOptions


def run_secrets(options: JudgeOptions, specs: Sequence[object] = ()) -> list[str]:
    """The secrets a run could leak: its own key and endpoint credentials, each panel judge's and router
    deployment's, and every ``*_API_KEY``/``_TOKEN``/``_SECRET`` variable of the environment (and the
    credentials in ``*_API_BASE``/``*_BASE_URL`` ones). They are remembered, for
    :func:`judgekit.scrub.scrub` to keep them out of every file the process writes."""
    found = [options.api_key] if options.api_key else []
    found += url_secrets(options.api_base)
    for s in specs:
        found += judge_secrets(
            s
        )  # each backend knows what its judges send (a panel entry's, a router's keys)
    for name, value in os.environ.items():
        if name.endswith(("_API_KEY", "_TOKEN", "_SECRET")) and value:
            found.append(value)
        elif name.endswith(("_API_BASE", "_BASE_URL")):
            found += url_secrets(value)
    secrets = [s for s in found if s]
    remember(secrets)
    return secrets
