"""Writing output files so that a failure never leaves a partial or corrupted file behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit.errors import ConfigError, InputError, JudgekitError, SaveFailed
from judgekit.scrub import scrub

if TYPE_CHECKING:
    from pydantic import ValidationError


def cache_dir() -> Path:
    """judgekit's cache root: $JUDGEKIT_CACHE_DIR, else $XDG_CACHE_HOME/judgekit (~/.cache/judgekit). The
    completions cache, the local judge's models and the WordNet index all live under it."""
    env = os.environ.get("JUDGEKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "judgekit"


def atomic_write_text(path: str | Path, *parts: str | bytes) -> None:
    """Write ``parts`` one after the other (text as UTF-8, bytes as they are) to a temporary file beside
    ``path``, then move it into place: a large file given as bytes is written without a copy of it as text."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent))
    except OSError as err:
        raise ConfigError(f"{p}: cannot write ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; an output file gets the usual mode
            for part in parts:  # no file holds a secret of the run (judgekit.scrub)
                f.write(scrub(part.encode("utf-8") if isinstance(part, str) else part))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):  # a full disk, a folder put where the file goes: one line, exit 5
            raise SaveFailed(
                f"{p}: cannot write ({err.strerror or err}); nothing was written there"
            ) from None
        raise


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | Path, rows: Iterable[Any]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def check_writable(path: str | Path, flag: str | None = None) -> None:
    """Fail before doing any work if the output cannot be written, rather than after every judge call.

    A real file is created (and removed) in the folder that will hold the output, or in its nearest
    existing ancestor when folders are still to be made: permission bits alone say nothing for root or
    on a read-only file system."""
    p = Path(path)
    name = f"{flag} {p}" if flag else str(p)
    if p.is_dir():
        raise ConfigError(f"{name}: is a directory; give a file path")
    folder = p.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        what = "a file, not a directory" if folder.is_file() else "not a directory"
        raise ConfigError(f"{name}: {folder} is {what}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".judgekit-probe.", dir=str(folder))
    except OSError as err:
        raise ConfigError(f"{name}: cannot write in {folder} ({err.strerror})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` can only set it)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---- reading input files: one ladder of one-line errors for every loader ----------------------------


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice: ``json`` would keep the last value and drop the others."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r} in one JSON object (only the last value would be kept)")
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses an object with a duplicated key instead of silently keeping the last."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys)


def _read_bytes(p: Path, error: type[JudgekitError]) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except IsADirectoryError:
        raise error(f"{p}: is a folder, not a file") from None
    except OSError as err:
        raise error(f"{p}: cannot read ({err.strerror})") from None


def read_text(path: str | Path, *, error: type[JudgekitError] = InputError, empty_ok: bool = False) -> str:
    """A UTF-8 text file (a BOM is dropped), or ``error`` with one line: missing, a folder, unreadable,
    not UTF-8, empty."""
    p = Path(path)
    raw = _read_bytes(p, error)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{p}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})") from None
    if not empty_ok and not text.strip():
        raise error(f"{p}: file is empty")
    return text


def json_error_text(err: json.JSONDecodeError, *, line: bool = True) -> str:
    """``Expecting value at line 3 column 5``; a message that already ends in "at" ("Unterminated string
    starting at") takes the position without a second one. ``line=False``: the column alone (JSON Lines)."""
    where = f"line {err.lineno} column {err.colno}" if line else f"column {err.colno}"
    return f"{err.msg} {where}" if err.msg.endswith(" at") else f"{err.msg} at {where}"


def read_json(path: str | Path, *, error: type[JudgekitError] = InputError, what: str | None = None) -> Any:
    """One JSON document (duplicate keys refused), or ``error`` with one line naming file and position;
    ``what`` names the expected document ("score file") in that line."""
    p = Path(path)
    text = read_text(p, error=error)
    try:
        return loads_strict(text)
    except DuplicateKeyError as err:
        raise error(f"{p}: {err}") from None
    except json.JSONDecodeError as err:
        where = json_error_text(err)
        raise error(
            f"{p}: not a valid JSON {what} ({where})" if what else f"{p}: invalid JSON ({where})"
        ) from None


_JITER_DUPLICATE = re.compile(r'Detected duplicate key "(.*)" at (line \d+ column \d+)$')


def read_json_large(
    path: str | Path, *, error: type[JudgekitError] = InputError, what: str | None = None
) -> Any:
    """:func:`read_json` for files of many megabytes (score files): the same one-line errors, duplicate keys
    refused too, parsed by jiter (in Rust, a third faster than ``json`` with a duplicate-key hook).
    ``NaN`` and ``Infinity`` load as floats, for the caller's checks to name them."""
    import jiter

    p = Path(path)
    raw = _read_bytes(p, error).removeprefix(b"\xef\xbb\xbf")
    if not raw.strip():
        raise error(f"{p}: file is empty")
    try:
        return jiter.from_json(raw, catch_duplicate_keys=True, cache_mode="keys")
    except ValueError as err:
        found = _JITER_DUPLICATE.match(str(err))
        if found:
            raise error(f"{p}: {DuplicateKeyError(found.group(1))} ({found.group(2)})") from None
        raise error(
            f"{p}: not a valid JSON {what} ({err})" if what else f"{p}: invalid JSON ({err})"
        ) from None


def validation_line(err: ValidationError, *, top: str = "row") -> str:
    """A pydantic ValidationError as one line: ``field 'a.b': what is wrong`` (its first error)."""
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or top
    msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    return f"field {loc!r}: {msg}"


# --- no output over an input ----------------------------------------------------------------------
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
