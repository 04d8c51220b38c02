"""Charts as inline SVG drawn by matplotlib, byte-identical for the same data.

matplotlib writes SVG with no JavaScript and no external resources, so the charts open offline. Its SVG
output is deterministic once the date is dropped and ``svg.hashsalt`` is fixed (the salt seeds the ids of
clip paths); each chart gets its own salt so that ids never clash between charts of one HTML page. Text is
drawn as paths from the DejaVu fonts matplotlib ships, so no font is fetched or substituted by the browser.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from judgekit.errors import ConfigError

_RC: dict[str, Any] = {
    "svg.fonttype": "path",
    # Labels are input text (system names, categories): a "$" must not start TeX math.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "path.simplify": True,
    "svg.image_inline": True,
}
_BLUE, _GREY, _RED, _GREEN, _ORANGE = "#3b6ea5", "#8a8f98", "#c0392b", "#2e8b57", "#d68910"


class Chart:
    """One figure being drawn; ``svg()`` renders it and frees it."""

    def __init__(self, width: float = 6.0, height: float = 2.6) -> None:
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(width, height), dpi=72, layout="constrained")
        self.ax = self.fig.add_subplot()

    def svg(self, salt: str) -> str:
        import matplotlib

        buf = io.StringIO()
        with matplotlib.rc_context(cast(Any, {**_RC, "svg.hashsalt": salt})):
            self.fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        text = buf.getvalue()
        # Drop the XML prolog and DOCTYPE: the SVG is embedded in HTML, not a document of its own.
        start = text.find("<svg")
        text = text[start:]
        # matplotlib's ids (glyphs such as DejaVuSans-30, groups such as axes_1) repeat from chart to chart;
        # prefixing every id and reference with the chart's salt keeps them unique in the page, so one
        # chart's <use href="#..."> never resolves to another chart's definition.
        # matplotlib repeats each text as a comment (escaped; it cannot hold "--"): not needed here.
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        return re.sub(r'(id="|href="#|url\(#)', rf"\g<1>{salt}-", text)


def with_rc(draw: Any) -> Any:
    """Decorator: draw under the report's rcParams (fonts, grid), so layout does not depend on the user's
    matplotlibrc."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            import matplotlib
        except ImportError:
            raise ConfigError(
                "the HTML report draws its charts with matplotlib: pip install 'judgekit[report]'"
            ) from None
        with matplotlib.rc_context(cast(Any, _RC)):
            return draw(*args, **kwargs)

    return wrapped


@with_rc
def histogram(
    values: Sequence[float],
    *,
    salt: str,
    xlabel: str,
    bins: int | Sequence[float] = 20,
    lines: Sequence[tuple[float, str, str]] = (),
    shade: tuple[float, float] | None = None,
) -> str:
    """A histogram; ``lines`` are (x, label, colour) markers, ``shade`` an interval drawn behind."""
    c = Chart()
    if shade is not None:
        c.ax.axvspan(shade[0], shade[1], color=_ORANGE, alpha=0.18, label="CI")
    c.ax.hist(np.asarray(values, dtype=float), bins=bins, color=_BLUE, edgecolor="white")
    for x, label, colour in lines:
        c.ax.axvline(x, color=colour, linewidth=1.5, label=label)
    c.ax.set_xlabel(xlabel)
    c.ax.set_ylabel("questions")
    if lines or shade is not None:
        c.ax.legend(loc="upper left", fontsize=8, frameon=False)
    return c.svg(salt)


@with_rc
def interval_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    salt: str,
    xlabel: str,
    bars: bool = True,
    xlim: tuple[float, float] | None = None,
    colours: Sequence[str] | None = None,
) -> str:
    """One row per label: a bar (``bars``) or a point (a forest plot, with a line at 0) and its CI; rows
    without a CI are drawn without one."""
    n = len(labels)
    c = Chart(height=max(1.4, 0.32 * n + 0.8))
    ys = np.arange(n)[::-1]
    if bars:
        vals = [0.0 if v is None else v for v in values]
        c.ax.barh(ys, vals, color=list(colours) if colours else _BLUE, height=0.6)
    else:
        c.ax.axvline(0.0, color=_GREY, linewidth=1)
    for y, v, lo, hi in zip(ys, values, lows, highs, strict=True):
        if lo is not None and hi is not None:
            if bars:
                c.ax.plot([lo, hi], [y, y], color="black", linewidth=1, marker="|", markersize=7)
            else:
                c.ax.plot([lo, hi], [y, y], color=_BLUE, linewidth=2)
        if v is not None and not bars:
            c.ax.plot([v], [y], "o", color="black", markersize=4)
    c.ax.set_yticks(ys, [_short(label) for label in labels])
    c.ax.set_ylim(-0.7, n - 0.3)
    c.ax.set_xlabel(xlabel)
    if xlim is not None:
        c.ax.set_xlim(*xlim)
    return c.svg(salt)


@with_rc
def grouped_bars(
    categories: Sequence[str], series: dict[str, Sequence[float]], *, salt: str, ylabel: str
) -> str:
    """Vertical bars of several series side by side per category (score shares, win/tie/loss)."""
    c = Chart()
    k = max(1, len(series))
    width = 0.8 / k
    xs = np.arange(len(categories))
    palette = [_BLUE, _ORANGE, _GREEN, _GREY, _RED]
    for i, (name, vals) in enumerate(series.items()):
        c.ax.bar(xs + (i - (k - 1) / 2) * width, list(vals), width, label=name, color=palette[i % 5])
    c.ax.set_xticks(xs, [_short(x, 14) for x in categories])
    c.ax.set_ylabel(ylabel)
    c.ax.legend(fontsize=8, frameon=False)
    return c.svg(salt)


@with_rc
def scatter(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    salt: str,
    xlabel: str,
    ylabel: str,
    jitter: float = 0.0,
    diagonal: bool = True,
) -> str:
    """Points with a fixed-seed jitter (so ties on a label scale stay visible and the file stays the same)."""
    c = Chart(width=4.2, height=3.6)
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if jitter > 0 and x.size:
        rng = np.random.default_rng(0)
        x = x + rng.uniform(-jitter, jitter, x.size)
        y = y + rng.uniform(-jitter, jitter, y.size)
    c.ax.scatter(x, y, s=10, alpha=0.6, color=_BLUE, edgecolors="none")
    if diagonal and x.size:
        lo = float(min(x.min(), y.min()))
        hi = float(max(x.max(), y.max()))
        c.ax.plot([lo, hi], [lo, hi], color=_GREY, linewidth=1, linestyle="--")
    c.ax.set_xlabel(xlabel)
    c.ax.set_ylabel(ylabel)
    return c.svg(salt)


@with_rc
def heatmap(
    matrix: Sequence[Sequence[float | None]],
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    salt: str,
    label: str,
    fmt: str = "{:.2f}",
    vmin: float | None = None,
    vmax: float | None = None,
) -> str:
    """A matrix with its values written in the cells (inter-judge alpha, confusion counts)."""
    size = max(2.6, 0.55 * max(len(rows), len(cols)) + 1.6)
    c = Chart(width=size + 0.8, height=size)
    data = np.array([[math.nan if v is None else v for v in r] for r in matrix], dtype=float)
    image = c.ax.imshow(data, cmap="Blues", vmin=vmin, vmax=vmax, aspect="auto")
    c.fig.colorbar(image, ax=c.ax, label=label, shrink=0.8)
    c.ax.grid(False)
    c.ax.set_xticks(range(len(cols)), [_short(x, 14) for x in cols], rotation=30, ha="right")
    c.ax.set_yticks(range(len(rows)), [_short(x, 14) for x in rows])
    finite = data[np.isfinite(data)]
    mid = float(finite.mean()) if finite.size else 0.0
    for i, r in enumerate(matrix):
        for j, v in enumerate(r):
            text = "–" if v is None else fmt.format(v)
            colour = "white" if v is not None and v > mid else "black"
            c.ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    return c.svg(salt)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
