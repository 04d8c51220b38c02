"""Where the built-in rubrics live and their names: light (no YAML, Jinja or pydantic), so ``--help`` texts
can list them as the rubrics folder holds them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def builtin_rubrics_dir() -> Path:
    """Built-in rubrics: inside the installed wheel (judgekit/rubrics), or the repo's rubrics/ when editable."""
    packaged = Path(str(resources.files("judgekit"))) / "rubrics"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "rubrics"


def list_rubrics() -> list[str]:
    base = builtin_rubrics_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "rubric.yaml").is_file())
