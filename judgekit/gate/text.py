"""How the gate writes numbers and lists in its messages, shared by the checks and the report writers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def fixed(value: float | None, digits: int = 3, missing: str = "n/a") -> str:
    """``0.613``; ``missing`` for no value or a non-finite one."""
    return missing if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """``+0.013`` / ``−0.013`` (a real minus sign), ``n/a`` for no value."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}".replace("-", "−")


def p_text(p: float) -> str:
    """``p=0.03`` or ``p<0.001``."""
    return f"p={p:.2g}" if p >= 0.001 else "p<0.001"


def ids_text(ids: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` ids, then how many more; ``none`` for no id."""
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "") if ids else "none"


def available(names: Iterable[object]) -> str:
    """``; available: 'a', 'b'`` (at most 8 names) for an error about a name that is not there."""
    shown = sorted(str(n) for n in names)
    if not shown:
        return ""
    more = f" (and {len(shown) - 8} more)" if len(shown) > 8 else ""
    return "; available: " + ", ".join(repr(s) for s in shown[:8]) + more


def short(value: object) -> str:
    """A setting's value in a message: ``missing``, a long hash cut to 12 digits, a long text cut to 90."""
    text = "missing" if value is None else str(value)
    if len(text) > 64 and all(ch in "0123456789abcdef" for ch in text):
        return text[:12] + "…"
    return text if len(text) <= 90 else text[:87] + "..."
