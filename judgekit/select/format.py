"""The terminal summary of a selection: the candidate table (frontier marked), the pairs, and the choice."""

from __future__ import annotations

from judgekit.select.result import Figure, SelectResult


def _num(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def figure_text(f: Figure | None) -> str:
    if f is None:
        return "not measured"
    return f"{_num(f.value)} [{_num(f.ci_low)}, {_num(f.ci_high)}] n={f.n}"


def _cost(v: float | None) -> str:
    return "unknown" if v is None else f"${v:.4f}"


def format_result(r: SelectResult) -> str:
    lines = [
        f"split     {len(r.split.dev)} dev / {len(r.split.test)} test items (seed {r.split.seed})",
        f"metric    {r.metric} (dev, 95% bootstrap CI); cost per 1,000 judgments; * = on the Pareto frontier",
        "",
    ]
    width = max(len(c.name) for c in r.candidates)
    for c in r.candidates:
        mark = "*" if c.on_frontier else " "
        pc = f"  position consistency {_num(c.position_consistency.value)}" if c.position_consistency else ""
        stop = pc + (
            f"  stopped after {c.stopped_after} (saved {c.calls_saved} calls)" if c.stopped_after else ""
        )
        lines.append(
            f"{mark} {c.name:<{width}}  {figure_text(c.dev):<34} {_cost(c.cost_per_1k):>10}  "
            f"unscored {c.parse_rate:.1%}  calls {c.calls}{stop}"
        )
    if r.pairs:
        lines.append("")
        lines.append("paired differences (a - b on shared dev items; Holm-adjusted p)")
        for p in r.pairs:
            lines.append(
                f"  {p.a} - {p.b}: {_num(p.difference)} [{_num(p.ci_low)}, {_num(p.ci_high)}]  "
                f"p={_num(p.p, 4)}  p_holm={_num(p.p_adjusted, 4)}"
            )
    if r.variants:
        lines += ["", "rubric variants (--propose)"]
        for v in r.variants:
            state = "valid" if v.valid else f"dropped: {v.reason}"
            lines.append(f"  {v.name} (from {v.parent}) {state}  {v.folder}")
    lines += [
        "",
        f"chosen    {r.chosen.name}: {r.chosen.reason}",
        f"test      {figure_text(r.chosen.test)}  <- the number to report",
    ]
    return "\n".join(lines)
