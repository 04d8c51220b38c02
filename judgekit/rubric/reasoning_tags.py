"""The names of the tags that hold a reasoning judge's thinking (a leaf module: rubrics check theirs here)."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The tags whose blocks are reasoning when neither the rubric nor ``--reasoning-tags`` names others.
DEFAULT_TAGS: tuple[str, ...] = ("think", "thinking", "reasoning")
#: A tag name: what may stand between ``<`` and ``>``.
TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tag names (``<think>`` or ``think``), checked (``ValueError`` names the first bad one), each once."""
    out: list[str] = []
    for tag in tags:
        name = tag.strip().strip("<>/").strip()
        if not TAG_NAME.fullmatch(name):
            raise ValueError(f"{tag!r} is not a tag name (letters, digits, _ . : -, starting with a letter)")
        if name.lower() not in (t.lower() for t in out):
            out.append(name)
    if not out:
        raise ValueError("name at least one reasoning tag")
    return tuple(out)
