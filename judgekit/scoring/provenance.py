"""Provenance: how a score file was made, as recorded in its ``meta``; written here and read back here.

:func:`start_meta` is what :func:`judgekit.score` knows before its first call (the run log's header):
``meta.rubric`` (name, content hash, mode, folder), ``meta.judge`` (identity, temperature, samples, seed,
endpoint, structured output), ``meta.engine``, the inputs' hashes and package versions; :func:`finish_meta`
adds what the run learned (concurrency changes, score methods used). The rest is the inverse: the judge spec
and :class:`~judgekit.scoring.settings.ScoreSettings` that reproduce a run (the gate's drift check re-scores with
them), and the settings two score files must share to be comparable.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit._version import __version__
from judgekit.judges.litellm_judge import IDENTITY_PREFIX, split_endpoint
from judgekit.scrub import redact

# The gate reads provenance without scoring anything: the scoring modules load only when a function needs them.
if TYPE_CHECKING:
    from judgekit.rubric import Rubric
    from judgekit.run.engine import RunStats
    from judgekit.scoring.settings import ScoreSettings

#: Judge and rubric settings that must agree for two score files to be comparable.
PROVENANCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("rubric", "name"),
    ("rubric", "content_sha256"),
    ("rubric", "mode"),
    ("judge", "identity"),
    ("judge", "temperature"),
    ("judge", "samples"),
)


def meta_value(meta: Mapping[str, Any], section: str, key: str) -> Any:
    """``meta[section][key]``, or ``None`` when either is missing."""
    part = meta.get(section)
    return part.get(key) if isinstance(part, Mapping) else None


def has_provenance(meta: Mapping[str, Any]) -> bool:
    """Whether ``meta`` records any of the settings in :data:`PROVENANCE_FIELDS`."""
    return any(meta_value(meta, s, k) is not None for s, k in PROVENANCE_FIELDS)


def judge_spec_from_meta(meta: Mapping[str, Any]) -> str | None:
    """The ``--judge`` string that produced a score file, recovered from its ``meta.judge.identity``.

    Each judge backend says how its identity maps back (:func:`judgekit.judges.registry.spec_from_meta`):
    ``litellm:MODEL[@API_BASE]|structured=...`` -> ``MODEL``; ``local:FILE:SIZE`` -> ``local``;
    ``python:module:attr`` -> ``module:attr``. ``None`` when the identity is missing or unknown (a panel).
    """
    from judgekit.judges.registry import spec_from_meta

    judge = meta.get("judge")
    return spec_from_meta(judge) if isinstance(judge, dict) else None


def _endpoint_from_meta(judge: dict[str, Any]) -> str | None:
    """The judge's endpoint: ``meta.judge.api_base``, else the one in its identity (a panel-file judge)."""
    if isinstance(judge.get("api_base"), str):
        return str(judge["api_base"])
    identity = judge.get("identity")
    if isinstance(identity, str) and identity.startswith(IDENTITY_PREFIX):
        return split_endpoint(identity.split("|", 1)[0][len(IDENTITY_PREFIX) :])[1]
    return None


def _rubric_ref(rubric: dict[str, Any]) -> str:
    """The built-in rubric by name when its content is unchanged, else the recorded folder (if it exists)."""
    from judgekit.rubric import load_rubric

    folder = rubric.get("folder")
    name = rubric.get("name")
    ref = name if isinstance(name, str) else "lamp_qa"
    if isinstance(folder, str) and Path(folder).is_dir():
        try:
            same = load_rubric(ref).content_hash == rubric.get("content_sha256")
        except Exception:
            same = False
        if not same:
            ref = folder
    return ref


def settings_from_meta(
    meta: Mapping[str, Any], api_base: str | None = None, api_key: str | None = None
) -> ScoreSettings:
    """:class:`~judgekit.scoring.settings.ScoreSettings` equal to those recorded in a score file's ``meta``.

    ``api_base`` / ``api_key`` override the recorded endpoint (the key is never recorded). Raises pydantic's
    ``ValidationError`` when the recorded values are not valid settings.
    """
    from pydantic import ValidationError

    from judgekit.judges.factory import JudgeOptions
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.settings import ScoreSettings

    rubric = meta.get("rubric") if isinstance(meta.get("rubric"), dict) else {}
    judge = meta.get("judge") if isinstance(meta.get("judge"), dict) else {}
    assert isinstance(rubric, dict) and isinstance(judge, dict)
    engine_raw = dict(meta["engine"]) if isinstance(meta.get("engine"), dict) else {}
    # the per-call timeout is a judge option (meta.judge.timeout); older files recorded it in meta.engine
    timeout = judge.get("timeout", engine_raw.pop("timeout", None))
    try:
        engine = EngineSettings.model_validate(engine_raw)
    except ValidationError:
        engine = EngineSettings()
    return ScoreSettings(
        rubric=_rubric_ref(rubric),
        mode=rubric.get("mode"),
        samples=judge.get("samples") or 1,
        temperature=judge.get("temperature") or 0.0,
        max_tokens=judge.get("max_tokens"),
        seed=judge.get("seed"),
        reasoning_effort=judge.get("reasoning_effort"),
        judge=JudgeOptions(
            api_base=api_base if api_base is not None else _endpoint_from_meta(judge),
            api_key=api_key,
            structured=judge.get("structured") or "auto",
            **({"timeout": timeout} if timeout is not None else {}),
        ),
        engine=engine,
    )


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
