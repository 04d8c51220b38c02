"""No command writes over one of its own inputs, nor two of its outputs over each other.

``score --out dataset.json`` or ``gate --json baseline.json`` would replace a file the user meant to keep (the
committed baseline) and still exit 0. Every command that writes files calls :func:`check_no_overwrite` with
its inputs and outputs before any work, and stops with one line and exit 2 when two of them are one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from judgekit.errors import ConfigError

#: (what names the file on the command line, e.g. "--out"; its path, or None when not given)
Named = tuple[str, str | os.PathLike[str] | None]


def file_identity(path: str | os.PathLike[str]) -> tuple[object, ...]:
    """What makes two paths one file: (device, inode) when it exists (symbolic links followed, hard links
    alike), else the absolute path with every symbolic link resolved."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return ("path", os.path.realpath(path))
    return ("inode", st.st_dev, st.st_ino)


def check_no_overwrite(inputs: Iterable[Named], outputs: Iterable[Named]) -> None:
    """Raise :class:`ConfigError` when an output is one of the inputs, or two outputs are one file."""
    seen: dict[tuple[object, ...], tuple[str, str]] = {}
    for name, path in inputs:
        if path is not None and str(path) != "":
            seen.setdefault(file_identity(path), (name, str(path)))
    outputs_seen: dict[tuple[object, ...], tuple[str, str]] = {}
    for name, path in outputs:
        if path is None or str(path) == "":
            continue
        key = file_identity(path)
        if key in seen:
            other, other_path = seen[key]
            same = "" if other_path == str(path) else f" ({other_path})"
            raise ConfigError(
                f"{name} {path} would overwrite {other}{same}: an output never overwrites an input; "
                "write it elsewhere"
            )
        if key in outputs_seen:
            other, other_path = outputs_seen[key]
            if other != name or other_path != str(path):
                same = "" if other_path == str(path) else f" ({path} is {other_path})"
                raise ConfigError(f"{name} and {other} must name different files{same}")
        outputs_seen[key] = (name, str(path))


def folder_files(folder: str | os.PathLike[str] | None, name: str) -> list[Named]:
    """The files of a folder input (a rubric folder: its YAML and templates), each named ``name``; none when
    it is not a folder."""
    if folder is None or not Path(folder).is_dir():
        return []
    return [(name, str(p)) for p in sorted(Path(folder).iterdir()) if p.is_file()]
