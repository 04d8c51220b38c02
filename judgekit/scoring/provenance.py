"""Provenance: how a score file was made, written into its ``meta``.

:func:`start_meta` is what :func:`judgekit.score` knows before its first call (the run log's header):
``meta.rubric`` (name, content hash, mode, folder), ``meta.judge`` (identity, temperature, samples, seed,
endpoint, structured output), ``meta.engine``, the inputs' hashes and package versions; :func:`finish_meta`
adds what the run learned (concurrency changes, score methods used). Reading ``meta`` back (the judge spec and
settings that reproduce a run, the fields two files must share) is :mod:`judgekit.score_reader`'s: the gate
reads it without loading the scorer.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit._version import __version__
from judgekit.scrub import redact

if TYPE_CHECKING:
    from judgekit.rubric import Rubric
    from judgekit.run.engine import RunStats
    from judgekit.scoring.settings import ScoreSettings


def start_meta(
    rubric: Rubric,
    settings: ScoreSettings,
    identities: Sequence[str],
    input_files: Mapping[str, str | Path],
    judgments: int,
    cache: Path | None,
    started_at: str,
    log: Path | None = None,
) -> dict[str, Any]:
    """Provenance known before the first call: the run log's header, and the score file's meta.

    ``identities`` are the judges' (already redacted); ``log`` is the run log's path, if one is written."""
    from judgekit.data import file_sha256

    meta: dict[str, Any] = {
        "judgekit_version": __version__,
        "started_at": started_at,
        "rubric": {
            "name": rubric.name,
            "version": rubric.spec.version,
            "content_sha256": rubric.content_hash,
            "mode": settings.mode or rubric.spec.mode,
            "folder": str(rubric.folder),
        },
        "judge": {
            "identity": identities[0] if len(identities) == 1 else "panel(" + ", ".join(identities) + ")",
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "samples": settings.samples,
            "seed": settings.seed,
            "api_base": redact(settings.judge.api_base) if settings.judge.api_base else None,
            "structured": settings.judge.structured,
            "timeout": settings.judge.timeout,
            "reasoning_effort": settings.reasoning_effort,
        },
        "engine": settings.engine.model_dump(),
        "min_coverage": settings.min_coverage,
        "inputs": {
            name: {"path": str(path), "sha256": file_sha256(path)} for name, path in input_files.items()
        },
        "judgments": judgments,
        "cache": str(cache) if cache is not None else None,
        "versions": package_versions(),
        "score_definition": _score_definition(rubric),
        "score_method": {"requested": rubric.spec.score_method},
        "combine": settings.combine,
    }
    if len(identities) > 1:
        meta["judges"] = list(identities)
    if log is not None:
        meta["log"] = str(log)
    return meta


def finish_meta(
    meta: Mapping[str, Any], judges: Sequence[tuple[str, RunStats]], methods_used: Mapping[str, int]
) -> dict[str, Any]:
    """``meta`` with what the run learned: each judge's concurrency changes (``judges`` pairs a redacted
    identity with its engine's stats) and how many judgments each score method produced."""
    return {
        **meta,
        "score_method": {**meta["score_method"], "used": dict(methods_used)},
        "concurrency_changes": [
            {**change, "judge": who} if len(judges) > 1 else change
            for who, stats in judges
            for change in stats.concurrency_changes
        ],
    }


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("litellm", "pydantic", "jinja2"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _score_definition(rubric: Rubric) -> str:
    from judgekit.scoring.aggregate import score_definition

    text = score_definition(rubric.spec)
    if rubric.spec.score_method == "logprob_weighted":
        text += (
            "; each unit score is the probability-weighted mean over the score field's values from the "
            "judge's token log-probabilities (G-Eval) where the backend returned them, else the written value"
        )
    return text
