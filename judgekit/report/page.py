"""Small HTML building blocks: every string that came from an input goes through ``esc`` here."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, digits: int = 3) -> str:
    if value is None or isinstance(value, bool):
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def ci(low: Any, high: Any, digits: int = 3) -> str:
    if low is None or high is None:
        return ""
    return f"[{num(low, digits)}, {num(high, digits)}]"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """A table of already-escaped cells (use ``esc``/``num`` when building the rows)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column key/value list; values are already-escaped HTML."""
    return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def figure(svg: str, caption: str, name: str) -> str:
    return (
        f'<figure class="plot" data-plot="{esc(name)}">{svg}<figcaption>{esc(caption)}</figcaption></figure>'
    )


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(anchor: str, title: str, body: str, level: int = 2) -> str:
    return f'<section id="{esc(anchor)}"><h{level}>{esc(title)}</h{level}>{body}</section>'


def json_script(element_id: str, data: Any) -> str:
    """Data for the page's script, in a non-executed block. ``<``, ``>`` and ``&`` are written as JSON
    escapes, so no input text (e.g. ``</script>``) can end the block or start markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'
