"""Finding and loading rubric folders: built-in names or paths, ``rubric.yaml`` validated, every template
checked, one-line errors. A loaded rubric is cached by folder and content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from judgekit.errors import RubricError
from judgekit.rubric.core import Rubric
from judgekit.rubric.spec import RubricSpec
from judgekit.rubric_dir import builtin_rubrics_dir as builtin_rubrics_dir
from judgekit.rubric_dir import list_rubrics as list_rubrics
from judgekit.yamlfile import load_yaml


def _content_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def resolve_rubric_dir(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    if isinstance(name_or_path, str) and "/" not in name_or_path and "\\" not in name_or_path:
        builtin = builtin_rubrics_dir() / name_or_path
        if builtin.is_dir():
            return builtin
        known = ", ".join(list_rubrics()) or "none found"
        raise RubricError(
            f"unknown rubric {name_or_path!r} (built-in: {known}; or give a rubric folder path)"
        )
    raise RubricError(f"{name_or_path}: rubric folder not found")


_CACHE: dict[tuple[Path, str], Rubric] = {}


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a built-in rubric by name, or a rubric folder by path; validates rubric.yaml and every template."""
    folder = resolve_rubric_dir(name_or_path).resolve()
    spec_path = folder / "rubric.yaml"
    if not spec_path.is_file():
        raise RubricError(f"{folder}: not a rubric folder (no rubric.yaml)")
    digest = _content_hash(folder)
    cached = _CACHE.get((folder, digest))
    if cached is not None:
        return cached
    rubric = Rubric(folder, _read_spec(spec_path), digest)
    for templates in rubric.spec.modes.values():
        for name in (templates.system, templates.user):
            if name is not None:
                rubric.templates.check(name)
    rubric.templates.check(rubric.spec.reask)
    _CACHE[(folder, digest)] = rubric
    return rubric


def _read_spec(spec_path: Path) -> RubricSpec:
    """``rubric.yaml`` as a validated :class:`RubricSpec`; a :class:`RubricError` with one line otherwise."""
    try:
        raw = load_yaml(spec_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RubricError(f"{spec_path}: invalid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise RubricError(f"{spec_path}: expected a mapping at the top level")
    try:
        return RubricSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise RubricError(f"{spec_path}: {loc}: {first['msg']}") from None
