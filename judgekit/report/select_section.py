"""The report's sections for a ``judgekit select`` result: the verdict (the chosen candidate's held-out
agreement), the agreement-cost frontier, the candidate table, the pairs and each rubric variant's diff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgekit.report import plots
from judgekit.report.page import ci, esc, figure, kv, note, num, section, table

if TYPE_CHECKING:
    from judgekit.report.inputs import ReportInput
    from judgekit.select.result import SelectResult


def select_verdict(r: SelectResult) -> str:
    t = r.chosen.test
    return esc(f"chosen {r.chosen.name}: test {t.metric} {num(t.value)} {ci(t.ci_low, t.ci_high)} (n={t.n})")


@plots.with_rc
def frontier_chart(r: SelectResult, salt: str) -> str:
    """Dev agreement against cost per 1,000 judgments; the frontier joined, the chosen one ringed."""
    c = plots.Chart()
    priced = [
        x for x in r.candidates if x.dev is not None and x.dev.value is not None and x.cost_per_1k is not None
    ]
    for x in priced:
        assert x.dev is not None and x.cost_per_1k is not None and x.dev.value is not None
        colour = "#3b6ea5" if x.on_frontier else "#8a8f98"
        low = x.dev.value - x.dev.ci_low if x.dev.ci_low is not None else 0.0
        high = x.dev.ci_high - x.dev.value if x.dev.ci_high is not None else 0.0
        c.ax.errorbar([x.cost_per_1k], [x.dev.value], yerr=[[low], [high]], fmt="o", color=colour, capsize=3)
        c.ax.annotate(
            x.name, (x.cost_per_1k, x.dev.value), textcoords="offset points", xytext=(5, 4), fontsize=8
        )
        if x.name == r.chosen.name:
            c.ax.plot([x.cost_per_1k], [x.dev.value], "o", mfc="none", mec="#c0392b", ms=12)
    front = sorted((x.cost_per_1k or 0.0, x.dev.value or 0.0) for x in priced if x.on_frontier and x.dev)
    if len(front) > 1:
        c.ax.plot([f[0] for f in front], [f[1] for f in front], "-", color="#3b6ea5", alpha=0.5)
    c.ax.set_xlabel("dollars per 1,000 judgments")
    c.ax.set_ylabel(f"dev {r.metric}")
    return c.svg(salt)


def select_sections(item: ReportInput, r: SelectResult, salt: str) -> str:
    t = r.chosen.test
    head = kv(
        [
            ("chosen", esc(r.chosen.name)),
            ("why", esc(r.chosen.reason)),
            (f"test {r.metric}", f"{num(t.value)} {esc(ci(t.ci_low, t.ci_high))} on {t.n} held-out items"),
            ("split", esc(f"{len(r.split.dev)} dev / {len(r.split.test)} test items, seed {r.split.seed}")),
        ]
    )
    parts = [section(f"{salt}-verdict", "Choice", head + note("The test figure is the number to report."), 3)]
    body = figure(
        frontier_chart(r, f"{salt}-frontier"),
        "Dev agreement against cost (frontier in blue, chosen ringed)",
        "select-frontier",
    )
    pairs = any(x.position_consistency is not None for x in r.candidates)  # pairwise rubrics
    body += table(
        ["candidate", "dev", "CI", "n", "$ / 1k", "unscored", "frontier", "stopped after", "calls saved"]
        + (["position consistency"] if pairs else []),
        [
            (
                esc(x.name),
                num(x.dev.value if x.dev else None),
                esc(ci(x.dev.ci_low, x.dev.ci_high) if x.dev else "n/a"),
                num(x.dev.n if x.dev else None),
                num(x.cost_per_1k, 4),
                esc(f"{x.parse_rate:.1%}"),
                "yes" if x.on_frontier else "",
                num(x.stopped_after),
                num(x.calls_saved),
            )
            + ((num(x.position_consistency.value if x.position_consistency else None),) if pairs else ())
            for x in r.candidates
        ],
    )
    parts.append(section(f"{salt}-candidates", "Candidates", body, 3))
    if r.pairs:
        rows = [
            (
                esc(p.a),
                esc(p.b),
                num(p.difference, 4),
                esc(ci(p.ci_low, p.ci_high, 4)),
                num(p.p, 4),
                num(p.p_adjusted, 4),
            )
            for p in r.pairs
        ]
        parts.append(
            section(
                f"{salt}-pairs",
                "Paired differences on dev",
                table(["a", "b", "a − b", "CI", "p", "p (Holm)"], rows),
                3,
            )
        )
    if r.variants:
        body = "".join(
            f"<h4>{esc(v.name)} (from {esc(v.parent)}): {'valid' if v.valid else 'dropped: ' + esc(v.reason)}</h4>"
            f"<pre>{esc(v.diff or '(no diff)')}</pre>"
            for v in r.variants
        )
        parts.append(section(f"{salt}-variants", "Rubric variants", body, 3))
    return "".join(parts)
