"""``judgekit report``: one self-contained HTML file that shows how far to trust the number.

``build_report(inputs)`` returns the HTML; ``write_report(inputs, out)`` writes it atomically. Each input is
a score file, a validate report (``validate --out``), a gate result (``gate --json``) or a compare result,
given as a path, a parsed JSON mapping or the loaded object; any mix. The page has no external resource
(charts are inline SVG from matplotlib, the script and styles are inline, a Content-Security-Policy forbids
any fetch), and the same inputs give a byte-identical file.
"""

from __future__ import annotations

import base64
import gc
import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit.errors import InputError
from judgekit.report.inputs import ReportInput, load_input
from judgekit.report.page import esc, json_script, section

if TYPE_CHECKING:
    from judgekit.report.inputs import Loaded

    Source = str | Path | Loaded | dict[str, Any]

__all__ = ["build_report", "write_report"]

_KIND_TITLE = {
    "score": "Score file",
    "validate": "Validate report",
    "gate": "Gate result",
    "compare": "Compare result",
    "labels": "Labels file",
    "select": "Select result",
}


def _asset(name: str) -> str:
    return resources.files("judgekit.report").joinpath("assets", name).read_text(encoding="utf-8")


def _verdict(item: ReportInput) -> str:
    from judgekit.report import other_sections as o
    from judgekit.report.score_section import verdict_line

    d: Any = item.data
    if item.kind == "score":
        return verdict_line(item, d)
    if item.kind == "validate":
        return o.validate_verdict(d)
    if item.kind == "gate":
        return o.gate_verdict(d)
    if item.kind == "labels":
        from judgekit.report.labels_section import labels_verdict

        return labels_verdict(d)
    if item.kind == "select":
        from judgekit.report.select_section import select_verdict

        return select_verdict(d)
    return o.compare_verdict(d)


def _browser(item: ReportInput, salt: str, data_id: str) -> str:
    return (
        f'<section id="{salt}-items" class="browser" data-source="{data_id}">'
        f"<h3>Item browser ({len(item.questions):,} questions)</h3>"
        '<div class="controls"><input type="search" class="search" placeholder="search id or text" '
        'aria-label="search questions">'
        '<select class="filter" aria-label="filter"><option value="all">all questions</option>'
        '<option value="unscored">with unscored units</option>'
        '<option value="parse">with a parse error</option></select>'
        '<button type="button" class="prev">previous</button><span class="pageinfo"></span>'
        '<button type="button" class="next">next</button></div>'
        '<p class="note lognote"></p><div class="rows"></div></section>'
    )


def _sections(item: ReportInput, k: int) -> tuple[str, str | None]:
    """The input's sections, and (for a score file) its item browser's data block."""
    from judgekit.report import other_sections as o
    from judgekit.report.score_section import browser_data, score_sections

    salt = f"in{k}"
    d: Any = item.data
    if item.kind == "score":
        data_id = f"jk-items-{k}"
        html = score_sections(item, d, salt) + _browser(item, salt, data_id)
        return html, json_script(data_id, browser_data(item))
    if item.kind == "validate":
        return o.validate_sections(item, d, salt), None
    if item.kind == "gate":
        return o.gate_sections(item, d, salt), None
    if item.kind == "labels":
        from judgekit.report.labels_section import labels_sections

        return labels_sections(d, salt), None
    if item.kind == "select":
        from judgekit.report.select_section import select_sections

        return select_sections(item, d, salt), None
    return o.compare_sections(item, d, salt), None


def build_report(
    inputs: Sequence[Source], scores: str | Path | None = None, out: str | Path | None = None
) -> str:
    """The report's HTML for ``inputs`` (at least one); ``scores``: the judge's score file for labels files;
    ``out``, the file it is for, must be none of the files read (an input, or the run log, dataset, responses
    or score files read beside one)."""
    if not inputs:
        raise InputError("report: give at least one input file")
    # A large score file is hundreds of thousands of live objects, all kept until the page is written, and
    # none of them in a reference cycle: the cyclic collector would only traverse them again and again
    # (more than half the build time of a 10,000-question file). Paused for the build, restored after.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build(inputs, scores, out)
    finally:
        if paused:
            gc.enable()


def _build(inputs: Sequence[Source], scores: str | Path | None, out: str | Path | None) -> str:
    items = [load_input(src, k, scores) for k, src in enumerate(inputs)]
    if out is not None:
        from judgekit.io import check_no_overwrite

        read = [(f"a file read for input {k + 1}", p) for k, it in enumerate(items) for p in it.read]
        check_no_overwrite(read, [("the report", out)])
    summary_rows = "".join(
        f'<tr><td><a href="#in{k}">{esc(it.label)}</a></td><td>{esc(_KIND_TITLE[it.kind])}</td>'
        f"<td>{_verdict(it)}</td></tr>"
        for k, it in enumerate(items)
    )
    body = [
        section(
            "summary",
            "Verdict",
            f"<table><thead><tr><th>input</th><th>kind</th><th>verdict</th></tr></thead><tbody>{summary_rows}"
            "</tbody></table>",
        )
    ]
    data_blocks = []
    for k, it in enumerate(items):
        inner, data = _sections(it, k)
        body.append(section(f"in{k}", f"{_KIND_TITLE[it.kind]}: {it.label}", inner))
        if data is not None:
            data_blocks.append(data)
    script = _asset("report.js")
    # Only this exact script may run: an injected <script> (were escaping ever to fail) is blocked too.
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    nav = "".join(f'<a href="#in{k}">{esc(it.label)}</a>' for k, it in enumerate(items))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>judgekit report</title>"
        f"<style>{_asset('report.css')}</style></head><body>"
        f'<header><h1>judgekit report</h1><nav><a href="#summary">verdict</a>{nav}</nav></header>'
        f"<main>{''.join(body)}</main>"
        f"{''.join(data_blocks)}"
        f"<script>{script}</script></body></html>\n"
    )


def write_report(inputs: Sequence[Source], out: str | Path, scores: str | Path | None = None) -> Path:
    """Build the report and write it to ``out`` atomically (never a partial file); returns the path."""
    from judgekit.io import atomic_write_text, check_no_overwrite, check_writable

    paths = [(f"input {k}", src) for k, src in enumerate(inputs, 1) if isinstance(src, str | Path)]
    check_no_overwrite([*paths, ("scores", scores)], [("the report", out)])
    check_writable(out)
    html = build_report(inputs, scores, out)
    atomic_write_text(out, html)
    return Path(out)
