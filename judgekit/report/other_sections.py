"""Sections of a validate report, a gate result and a compare result."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from judgekit.report import plots
from judgekit.report.inputs import CompareResult, ReportInput
from judgekit.report.page import ci, esc, figure, kv, note, num, section, table
from judgekit.report.score_section import fin

if TYPE_CHECKING:
    from judgekit.gate import Check, GateResult
    from judgekit.validate import AgreementReport, Correlations, DimensionReport, Interval

_METHODS = ("pearson", "spearman", "kendall")


# --- validate -------------------------------------------------------------------------------------------


def validate_verdict(r: AgreementReport) -> str:
    parts = []
    for d in r.dimensions:
        s = d.correlations.pooled.spearman
        text = f"{d.dimension}: Spearman {num(s.value)} {ci(s.ci_low, s.ci_high)}"
        if d.ceiling is not None:
            text += f" (human ceiling {num(d.ceiling.human.spearman.value)})"
        parts.append(text)
    if r.pairwise is not None:
        acc = r.pairwise.figures.get("accuracy")
        if acc is not None:
            parts.append(f"pairwise accuracy {num(acc.value)} {ci(acc.ci_low, acc.ci_high)}")
    return esc("; ".join(parts) or "no dimension")


def validate_sections(item: ReportInput, r: AgreementReport, salt: str) -> str:
    s = r.settings
    conf = s.get("confidence")
    head = kv(
        [
            ("verdict", validate_verdict(r)),
            *((f"input: {k}", esc(v)) for k, v in r.inputs.items()),
            ("judgekit", esc(r.judgekit_version)),
            (
                "bootstrap",
                esc(
                    f"{round(100 * conf) if isinstance(conf, float) else '?'}% percentile CIs, "
                    f"{s.get('n_boot')} resamples (seed {s.get('seed')})"
                ),
            ),
        ]
    )
    parts = [section(f"{salt}-prov", "Verdict and provenance", head, 3)]
    for k, d in enumerate(r.dimensions):
        parts.append(_dimension(d, f"{salt}-d{k}"))
    if r.pairwise is not None:
        pw = r.pairwise
        rows = [(esc(k), num(v.value), esc(ci(v.ci_low, v.ci_high)), num(v.n)) for k, v in pw.figures.items()]
        names = list(pw.figures)
        svg = plots.interval_chart(
            names,
            [fin(pw.figures[k].value) for k in names],
            [fin(pw.figures[k].ci_low) for k in names],
            [fin(pw.figures[k].ci_high) for k in names],
            salt=f"{salt}-pw",
            xlabel="value",
            bars=False,
        )
        body = figure(
            svg,
            "Accuracy against the human preference and position agreement, with CIs",
            "pairwise-agreement",
        )
        body += table(["figure", "value", "CI", "n"], rows)
        body += table(
            ["id", "details"],
            [(esc(x.get("id")), esc(_flat(x))) for x in pw.disagreements[:50]],
        )
        body += "".join(note(n) for n in pw.notes)
        parts.append(section(f"{salt}-pw", "Pairwise agreement with human preferences", body, 3))
    return "".join(parts)


def _flat(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items() if k != "id")


def _corr_rows(d: DimensionReport) -> list[tuple[str, Correlations, str]]:
    c = d.correlations
    rows = [("judge vs human mean", c.pooled, "#3b6ea5")]
    if c.per_group is not None:
        rows.append(("judge, per group", c.per_group, "#3b6ea5"))
    if c.system is not None:
        rows.append(("judge, system level", c.system, "#3b6ea5"))
    if d.ceiling is not None:
        rows.append(("judge vs left-out humans", d.ceiling.judge, "#3b6ea5"))
        rows.append(("human ceiling", d.ceiling.human, "#d68910"))
    return rows


def _dimension(d: DimensionReport, salt: str) -> str:
    body = note(
        f"{d.n_used:,} items used, {d.n_dropped:,} dropped; {d.n_annotators} annotators, {d.n_labels:,} labels; "
        f"scale {d.scale if d.scale else 'continuous'}"
    )
    body += "".join(note(n) for n in d.notes)
    body += (
        _dim_correlations(d, salt) + _dim_agreement(d) + _dim_shares(d, salt) + _dim_disagreements(d, salt)
    )
    return section(salt, f"Validate: dimension {d.dimension}", body, 3)


def _dim_correlations(d: DimensionReport, salt: str) -> str:
    """Correlations with CIs beside the human ceiling: a chart and its table."""
    rows = _corr_rows(d)
    labels, vals, lows, highs, colours = [], [], [], [], []
    for method in _METHODS:
        for name, block, colour in rows:
            iv: Interval = getattr(block, method)
            labels.append(f"{method}: {name}")
            vals.append(fin(iv.value))
            lows.append(fin(iv.ci_low))
            highs.append(fin(iv.ci_high))
            colours.append(colour)
    svg = plots.interval_chart(
        labels, vals, lows, highs, salt=f"{salt}-corr", xlabel="correlation", colours=colours
    )
    body = figure(
        svg, "Correlations with CIs; the human ceiling (orange) is the bar to reach", "correlations"
    )
    return body + table(
        ["", "Pearson", "Spearman", "Kendall"],
        [
            (
                esc(name),
                *(
                    esc(f"{num(getattr(b, m).value)} {ci(getattr(b, m).ci_low, getattr(b, m).ci_high)}")
                    for m in _METHODS
                ),
            )
            for name, b, _ in rows
        ],
    )


def _dim_agreement(d: DimensionReport) -> str:
    """Agreement beyond correlation: alpha, kappa, the mean offset."""
    extra = []
    if d.alpha is not None:
        for who, alphas in (("humans", d.alpha.humans), ("humans + judge", d.alpha.humans_and_judge)):
            for level, iv in (alphas or {}).items():
                extra.append(
                    (
                        esc(f"Krippendorff α {level}, {who}"),
                        esc(f"{num(iv.value)} {ci(iv.ci_low, iv.ci_high)}"),
                    )
                )
    if d.kappa is not None:
        for name, kappas in (("vs mean", d.kappa.vs_mean), ("vs majority", d.kappa.vs_majority)):
            for k, iv in (kappas or {}).items():
                extra.append((esc(f"κ {k} {name}"), esc(f"{num(iv.value)} {ci(iv.ci_low, iv.ci_high)}")))
    if d.bias.mean_offset is not None:
        mo = d.bias.mean_offset
        extra.append(
            (esc("mean offset (judge − human)"), esc(f"{num(mo.value)} {ci(mo.ci_low, mo.ci_high)}"))
        )
    return table(["statistic", "value [CI]"], extra) if extra else ""


def _dim_shares(d: DimensionReport, salt: str) -> str:
    js, hs = d.bias.judge_shares or {}, d.bias.human_shares or {}
    if not (js or hs):
        return ""
    keys = sorted(set(js) | set(hs), key=_as_number)
    svg = plots.grouped_bars(
        keys,
        {"judge": [js.get(k, 0.0) for k in keys], "humans": [hs.get(k, 0.0) for k in keys]},
        salt=f"{salt}-shares",
        ylabel="share of labels",
    )
    return figure(svg, "Score shares on the label scale: judge against humans", "score-shares")


def _dim_disagreements(d: DimensionReport, salt: str) -> str:
    """Judge against human: scatter, confusion matrix and the table of the largest disagreements."""
    body = ""
    pts = _pairs(d)
    if pts:
        step = _scale_step(d.scale)
        svg = plots.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            salt=f"{salt}-scatter",
            xlabel="human mean",
            ylabel="judge",
            jitter=step * 0.15,
        )
        what = "every used item" if d.items is not None else f"the {len(pts)} largest disagreements"
        body += figure(svg, f"Judge against human (jittered), {what}", "judge-vs-human")
        if d.scale:
            body += _confusion(d, pts, f"{salt}-confusion")
    if d.items is None:
        body += note(
            "a validate report from before per-item pairs were stored: the scatter and confusion matrix "
            "show only its largest disagreements"
        )
    rows_d = [
        (
            esc(x.id),
            num(x.judge),
            num(x.human),
            num(x.difference),
            esc(", ".join(f"{k}={v:g}" for k, v in x.labels.items())),
        )
        for x in d.disagreements
    ]
    if rows_d:
        body += "<h4>Largest disagreements</h4>" + table(
            ["id", "judge", "human mean", "difference", "labels"], rows_d
        )
    return body


def _pairs(d: DimensionReport) -> list[tuple[float, float]]:
    """(human mean, judge) for every used item when the report has them, else for its disagreements."""
    if d.items is not None:
        return list(zip(d.items.human, d.items.judge, strict=True))
    return [(x.human, x.judge) for x in d.disagreements]


def _confusion(d: DimensionReport, pts: list[tuple[float, float]], salt: str) -> str:
    scale = [float(x) for x in d.scale or []]
    if len(scale) > 12 or not scale:
        return ""

    def nearest(v: float) -> int:
        return min(range(len(scale)), key=lambda k: abs(scale[k] - v))

    counts = [[0.0] * len(scale) for _ in scale]
    for human, judge in pts:
        counts[nearest(human)][nearest(judge)] += 1
    names = [f"{v:g}" for v in scale]
    svg = plots.heatmap(counts, names, names, salt=salt, label="items", fmt="{:.0f}")
    return figure(
        svg,
        "Confusion on the label scale (rows: human mean rounded, columns: judge rounded)"
        + ("" if d.items is not None else ", over the listed disagreements only"),
        "confusion",
    )


def _as_number(key: str) -> tuple[float, str]:
    try:
        return float(key), key
    except ValueError:
        return float("inf"), key


def _scale_step(scale: list[float] | None) -> float:
    if scale and len(scale) > 1:
        ordered = sorted(scale)
        return min(b - a for a, b in itertools.pairwise(ordered)) or 1.0
    return 1.0


# --- gate -----------------------------------------------------------------------------------------------


def gate_verdict(g: GateResult) -> str:
    fails = sum(c.status == "fail" for c in g.checks)
    warns = sum(c.status == "warn" for c in g.checks)
    badge = '<span class="pass">PASSED</span>' if g.passed else '<span class="fail">FAILED</span>'
    return f"{badge} {esc(f'{len(g.checks)} checks, {fails} failed, {warns} warned')}"


def _check_row(c: Check) -> tuple[str, ...]:
    status = f'<span class="{esc(c.status)}">{esc(c.status)}</span>'
    return status, esc(c.name), esc(c.kind), num(c.value, 4), num(c.threshold, 4), esc(c.message)


def gate_sections(item: ReportInput, g: GateResult, salt: str) -> str:
    head = [("verdict", gate_verdict(g))]
    for name, info in g.inputs.items():
        if isinstance(info, dict):
            head.append(
                (
                    f"input: {name}",
                    esc(
                        ", ".join(
                            f"{k} {num(v) if isinstance(v, float) else v}"
                            for k, v in info.items()
                            if v is not None
                        )
                    ),
                )
            )
    if g.mismatches:
        head.append(("mismatches", "<br>".join(esc(m) for m in g.mismatches)))
    if g.power is not None:  # whether a pass means anything: the drop this gate can see at 80% power
        head.append(("power", esc(g.power.message)))
    parts = [section(f"{salt}-prov", "Verdict and provenance", kv(head), 3)]
    rows = [_check_row(c) for c in g.checks]
    parts.append(
        section(
            f"{salt}-checks",
            "Checks",
            table(["status", "check", "kind", "value", "threshold", "message"], rows),
            3,
        )
    )
    if g.regression is not None:
        parts.append(
            section(f"{salt}-reg", "Paired differences (candidate − baseline)", _regression(item, g, salt), 3)
        )
    if g.regressed:
        rows_q = [
            (
                esc(q.id),
                num(q.baseline),
                num(q.candidate),
                num(q.diff),
                esc(q.category),
                "<br>".join(
                    esc(
                        f"{a.aspect}: {num(a.baseline)} → {num(a.candidate)} ({num(a.diff)})"
                        + (f" [{a.candidate_status}]" if a.candidate_status not in (None, "scored") else "")
                    )
                    for a in q.aspects
                ),
            )
            for q in g.regressed
        ]
        parts.append(
            section(
                f"{salt}-regressed",
                "Questions that regressed most",
                table(["id", "baseline", "candidate", "Δ", "category", "aspect changes"], rows_q),
                3,
            )
        )
    if g.missing:
        parts.append(
            section(
                f"{salt}-missing",
                "Missing questions",
                table(["where", "ids"], [(esc(k), esc(", ".join(v))) for k, v in g.missing.items()]),
                3,
            )
        )
    return "".join(parts)


def _regression(item: ReportInput, g: GateResult, salt: str) -> str:
    s = g.regression
    assert s is not None
    level = f"{round(s.confidence * 100)}%"
    body = kv(
        [
            ("mean difference", esc(f"{num(s.mean_diff, 4)} {level} CI {ci(s.ci_low, s.ci_high, 4)}")),
            (
                "p-value",
                esc(f"{s.p_value:.4g} ({s.test}{', exact' if s.exact else ''}, {s.resamples:,} resamples)"),
            ),
            ("paired questions", esc(f"{s.n:,}")),
            ("means", esc(f"baseline {num(s.mean_baseline, 4)}, candidate {num(s.mean_candidate, 4)}")),
            ("effect size dz", esc(num(s.cohen_dz))),
        ]
    )
    shade = (s.ci_low, s.ci_high) if s.ci_low is not None and s.ci_high is not None else None
    lines = [
        (s.mean_diff, f"mean {s.mean_diff:+.4f} (p={s.p_value:.3g})", "#c0392b"),
        (0.0, "no change", "#8a8f98"),
    ]
    if item.paired_diffs:
        svg = plots.histogram(
            item.paired_diffs, salt=f"{salt}-diffs", xlabel="candidate − baseline", lines=lines, shade=shade
        )
        body += figure(
            svg,
            f"Per-question differences of the {len(item.paired_diffs):,} paired questions, with the mean's CI",
            "paired-differences",
        )
    else:
        diffs = [q.diff for q in g.regressed if q.diff is not None]
        if diffs:
            svg = plots.histogram(
                diffs, salt=f"{salt}-diffs", xlabel="candidate − baseline", lines=lines, shade=shade
            )
            body += figure(
                svg, "Differences of the listed regressed questions, with the mean's CI", "paired-differences"
            )
        body += note(
            "the gate result stores only the most-regressed questions; the candidate and baseline score files "
            "it names were not found, so the full distribution of differences is not drawn"
        )
    return body


# --- compare --------------------------------------------------------------------------------------------


def compare_verdict(c: CompareResult) -> str:
    ranked = sorted(c.systems, key=lambda s: (s.rank if s.rank is not None else float("inf"), s.name))
    if not ranked:
        return "no systems"
    best = ranked[0]
    return esc(f"{len(ranked)} systems; first: {best.name} {num(best.score)} {ci(best.ci_low, best.ci_high)}")


def compare_sections(item: ReportInput, c: CompareResult, salt: str) -> str:
    ranked = sorted(c.systems, key=lambda s: (s.rank if s.rank is not None else float("inf"), s.name))
    parts = [section(f"{salt}-prov", "Verdict", kv([("verdict", compare_verdict(c))]), 3)]
    body = ""
    if ranked:
        svg = plots.interval_chart(
            [s.name for s in ranked],
            [s.score for s in ranked],
            [s.ci_low for s in ranked],
            [s.ci_high for s in ranked],
            salt=f"{salt}-systems",
            xlabel="score",
        )
        body += figure(svg, "Each system's score with its CI, best rank first", "compare-systems")
    body += table(
        ["rank", "rank CI", "system", "score", "CI", "questions"],
        [
            (
                esc("n/a" if s.rank is None else f"{s.rank:g}"),
                esc(ci(s.rank_low, s.rank_high, 0)),
                esc(s.name),
                num(s.score),
                esc(ci(s.ci_low, s.ci_high)),
                num(s.n_questions),
            )
            for s in ranked
        ],
    )
    parts.append(section(f"{salt}-systems-sec", "Systems", body, 3))
    if c.pairs:
        body = plots_pairs(c, salt)
        body += table(
            ["a", "b", "a − b", "CI", "p", "p adjusted", "n"],
            [
                (
                    esc(p.a),
                    esc(p.b),
                    num(p.difference, 4),
                    esc(ci(p.ci_low, p.ci_high, 4)),
                    num(p.p, 4),
                    num(p.p_adjusted, 4),
                    num(p.n),
                )
                for p in c.pairs
            ],
        )
        parts.append(section(f"{salt}-pairs", "Pairwise differences", body, 3))
    return "".join(parts)


def plots_pairs(c: CompareResult, salt: str) -> str:
    svg = plots.interval_chart(
        [f"{p.a} − {p.b}" for p in c.pairs],
        [p.difference for p in c.pairs],
        [p.ci_low for p in c.pairs],
        [p.ci_high for p in c.pairs],
        salt=f"{salt}-pairs",
        xlabel="difference in score",
        bars=False,
    )
    return figure(svg, "Differences between systems with CIs (0 = no difference)", "compare-pairs")
