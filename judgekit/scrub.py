"""Keeping the run's secrets out of every file the process writes, applied where files are written; and
:func:`redact`, for a text bound for a file or the terminal.

:func:`judgekit.scoring.redact.run_secrets` remembers a run's keys and endpoint credentials here; every writer (atomic
output files, the run log, the cache's rows) passes its bytes through :func:`scrub`. Only the standard
library is imported: :mod:`judgekit.io` depends on this module.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

#: A secret this short would be replaced inside unrelated text; one made of number characters, inside numbers.
MIN_LENGTH = 4
#: Whole files are scrubbed of longer secrets only: a placeholder key (OPENAI_API_KEY=none, EMPTY, dummy) must not
#: rewrite every "none" of a score file. Real keys are far longer; a short URL password still leaves the
#: recorded URL and command line, which :func:`redact` rewrites by their shape.
MIN_FILE_LENGTH = 8
_NUMBER_LIKE = re.compile(r"[0-9.eE+\-]+")

_REMEMBERED: set[str] = set()
_TEXT_FORMS: list[str] = []  # every remembered secret as a file could spell it, longest first
_FORMS: list[bytes] = []  # the same, encoded


_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[A-Za-z0-9_\-.]{8,})")
#: The user:password (or token) part of a URL.
_URL_USERINFO = re.compile(r"(?<=://)[^/?#@\s\"'<>]+@")
#: A query parameter whose name says it holds a secret (api-key, key, token, sig, password, ...).
_SECRET_NAME = r"[A-Za-z0-9_.\-]*(?i:key|token|secret|passw|pwd|sig|auth|credential)[A-Za-z0-9_.\-]*"
_SECRET_PARAM = re.compile(rf"(?<=[?&;])({_SECRET_NAME})=[^&#\s\"'<>]+")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove API keys and URL credentials from text bound for a file or the terminal."""
    for secret in secrets:
        if secret and len(secret) >= MIN_LENGTH:
            text = text.replace(secret, "[redacted]")
    text = _SECRET.sub("[redacted]", text)
    if "://" in text:
        text = _URL_USERINFO.sub("[redacted]@", text)
    if "=" in text:
        text = _SECRET_PARAM.sub(r"\1=[redacted]", text)
    return text


def url_secrets(url: str | None) -> list[str]:
    """The credentials written in an endpoint URL: its password (or its user, when the user alone is the
    token), and the values of query parameters named like a key; each as written and percent-decoded."""
    if not url:
        return []
    parts = urlsplit(url.strip())
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        found.append(password or user)
    for pair in parts.query.replace(";", "&").split("&"):
        name, _, value = pair.partition("=")
        if value and re.fullmatch(_SECRET_NAME, unquote(name)):
            found.append(value)
    found += [v for name, v in parse_qsl(parts.query) if re.fullmatch(_SECRET_NAME, name)]
    found += [unquote(s) for s in found]
    return list(dict.fromkeys(s for s in found if s))


def remember(secrets: Iterable[str]) -> None:
    """Add secrets that no file written by this process may hold (see :func:`scrub`)."""
    new = {
        s
        for s in secrets
        if len(s) >= MIN_FILE_LENGTH and not _NUMBER_LIKE.fullmatch(s) and s not in _REMEMBERED
    }
    if not new:
        return
    _REMEMBERED.update(new)
    forms = {
        form
        for s in _REMEMBERED
        for form in (s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1], html.escape(s))
    }
    _TEXT_FORMS[:] = sorted(forms, key=len, reverse=True)
    _FORMS[:] = [form.encode("utf-8") for form in _TEXT_FORMS]


def scrub(data: bytes) -> bytes:
    """``data`` (a file's bytes) with every remembered secret replaced, as written, JSON- or HTML-escaped."""
    for form in _FORMS:
        if form in data:
            data = data.replace(form, b"[redacted]")
    return data


def scrub_text(text: str) -> str:
    """:func:`scrub` for text (a cache row)."""
    for form in _TEXT_FORMS:
        if form in text:
            text = text.replace(form, "[redacted]")
    return text
