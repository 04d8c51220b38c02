"""The terminal table printed by ``judgekit validate``: one block per dimension, or the pairwise block."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from judgekit import stats as ag
from judgekit.validate.report import (
    AgreementReport,
    Correlations,
    DimensionReport,
    Dropped,
    Interval,
    MeanInterval,
    PairwiseReport,
)
from judgekit.validate.scales import num, scale_text

_PAIRWISE_FIGURES = (
    ("accuracy", "accuracy (mean of orders)"),
    ("accuracy_original", "accuracy, original order"),
    ("accuracy_swapped", "accuracy, swapped order"),
    ("accuracy_both", "correct in both orders"),
    ("positional_agreement", "positional agreement"),
    ("kappa_original", "kappa vs labels, original"),
    ("kappa_swapped", "kappa vs labels, swapped"),
    ("kappa_positional", "kappa between orders"),
)


def _f(v: float | None, digits: int = 3, sign: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _cell(iv: Interval | None, sign: bool = False) -> str:
    if iv is None or iv.value is None:
        return "n/a"
    if iv.ci_low is None or iv.ci_high is None:
        return _f(iv.value, sign=sign)
    return f"{_f(iv.value, sign=sign)} [{_f(iv.ci_low, sign=sign)}, {_f(iv.ci_high, sign=sign)}]"


def _row(label: str, cells: Sequence[str], width: int = 26) -> str:
    return f"  {label:<24}" + "".join(f"{c:<{width}}" for c in cells).rstrip()


def format_report(report: AgreementReport) -> str:
    """The human-readable table printed by ``judgekit validate``."""
    s = report.settings
    pct = round(100 * s["confidence"])
    lines = [f"judgekit validate: {report.inputs['judge']} vs {report.inputs['human']}"]
    unit = "groups" if s.get("group") else "items"
    lines.append(
        f"{pct}% percentile bootstrap CIs, {s['n_boot']} resamples of {unit} (seed {s['seed']})"
        if s["n_boot"]
        else "no bootstrap (--n-boot 0)"
    )
    if report.pairwise is not None:
        lines += _format_pairwise(report.pairwise)
    for d in report.dimensions:
        lines += _format_dimension(d, s)
    return "\n".join(lines) + "\n"


def _dropped_text(dropped: Sequence[Dropped]) -> str:
    if not dropped:
        return "none dropped"
    return "dropped: " + "; ".join(f"{d.reason} ({d.count})" for d in dropped)


def _format_dimension(d: DimensionReport, s: Mapping[str, Any]) -> list[str]:
    out = _dimension_header(d)
    out.append(_row("", ["Pearson", "Spearman", "Kendall tau-b"]))
    out += _correlation_rows(d, s)
    out += _alpha_kappa_rows(d)
    out += _bias_rows(d)
    out += _disagreement_rows(d)
    out += _ppi_rows(d)
    out += [f"  note: {n}" for n in d.notes]
    return out


def _dimension_header(d: DimensionReport) -> list[str]:
    ann = f"{d.n_annotators} annotators, {d.n_labels} labels" if d.n_annotators else "averaged labels"
    judge = (
        "" if d.judge_on_scale else f" (judge: {scale_text(d.judge_scale) if d.judge_scale else 'own scale'})"
    )
    out = [
        "",
        f"dimension {d.dimension!r}: {d.n_used} items used, {d.n_dropped} dropped; {ann}; "
        f"scale {scale_text(d.scale)}" + judge,
    ]
    if d.n_dropped:
        out.append(f"  {_dropped_text(d.dropped)}")
    if d.judge_samples:
        js = d.judge_samples
        out.append(
            f"  judge samples (rubric {js['rubric']!r}, output.match {js.get('match', 'consistent')}): "
            f"{js['samples']} read, {js['parsed']} parsed, "
            f"{js['unparseable']} unparseable (excluded)"
        )
    return out


def _correlation_rows(d: DimensionReport, s: Mapping[str, Any]) -> list[str]:
    c = d.correlations
    blocks: list[tuple[str, Correlations | None]] = [("pooled", c.pooled)]
    if c.per_group is not None and c.groups_used is not None:
        used = c.groups_used.get("pearson", 0)
        blocks.append((f"per {s.get('group')} ({used}/{c.n_groups})", c.per_group))
    if c.system is not None:
        blocks.append((f"system level ({c.n_systems})", c.system))
    if d.ceiling is not None:
        blocks += [("human ceiling (LOO)", d.ceiling.human), ("judge vs LOO humans", d.ceiling.judge)]
    return [
        _row(label, [_cell(b.pearson), _cell(b.spearman), _cell(b.kendall)])
        for label, b in blocks
        if b is not None
    ]


def _alpha_kappa_rows(d: DimensionReport) -> list[str]:
    out = []
    if d.alpha is not None:
        out.append(_row("Krippendorff's alpha", list(ag.ALPHA_LEVELS)))
        if d.alpha.humans is not None:
            out.append(_row("  humans", [_cell(d.alpha.humans[lv]) for lv in ag.ALPHA_LEVELS]))
        if d.alpha.humans_and_judge is not None:
            out.append(
                _row("  humans + judge", [_cell(d.alpha.humans_and_judge[lv]) for lv in ag.ALPHA_LEVELS])
            )
    if d.kappa is not None:
        out.append(_row("Cohen's kappa", list(ag.KAPPA_WEIGHTS)))
        if d.kappa.vs_mean is not None:
            out.append(_row("  vs rounded mean", [_cell(d.kappa.vs_mean[w]) for w in ag.KAPPA_WEIGHTS]))
        if d.kappa.vs_majority is not None:
            out.append(_row("  vs majority label", [_cell(d.kappa.vs_majority[w]) for w in ag.KAPPA_WEIGHTS]))
            if d.kappa.n_no_majority:
                out.append(
                    f"    ({d.kappa.n_no_majority} items with no majority label are left out of this row)"
                )
    return out


def _bias_rows(d: DimensionReport) -> list[str]:
    b = d.bias
    out = ["  bias"]
    if b.mean_offset is not None:
        out.append(_row("  judge - human (mean)", [_cell(b.mean_offset, sign=True)]))
    if b.length_judge is not None:
        cells = [f"judge {_cell(b.length_judge)}", f"humans {_cell(b.length_human)}"]
        out.append(_row("  Spearman with length", cells, 34))
    if b.judge_shares:
        out.append(
            "    score shares  judge  " + "  ".join(f"{k}: {100 * v:.0f}%" for k, v in b.judge_shares.items())
        )
    if b.human_shares:
        out.append(
            "                  humans " + "  ".join(f"{k}: {100 * v:.0f}%" for k, v in b.human_shares.items())
        )
    return out


def _disagreement_rows(d: DimensionReport) -> list[str]:
    if not d.disagreements:
        return []
    out = [
        "  largest disagreements" + ("" if d.judge_on_scale else " (percentile-rank difference)"),
        f"    {'id':<28}{'judge':>8}{'humans':>8}{'diff':>8}  labels",
    ]
    for x in d.disagreements:
        labels = " ".join(num(v) for v in x.labels.values())
        out.append(f"    {x.id[:27]:<28}{x.judge:>8.3g}{x.human:>8.3g}{x.difference:>+8.3f}  {labels}")
    return out


def _mean_cell(m: MeanInterval) -> str:
    return f"{_f(m.estimate)} [{_f(m.ci_low)}, {_f(m.ci_high)}]"


def _ppi_rows(d: DimensionReport) -> list[str]:
    p = d.ppi
    if p is None:
        return []
    pct = round(100 * p.level)
    out = [
        f"  mean human-scale score ({pct}% normal CIs; {p.n_labelled} labelled, {p.n_unlabelled} unlabelled)",
        _row(
            "  ppi (judge-corrected)",
            [f"{_f(p.estimate)} [{_f(p.ci_low)}, {_f(p.ci_high)}]", f"lambda {_f(p.lam)}"],
            34,
        ),
        _row("  human only", [_mean_cell(p.human_only), f"n {p.human_only.n}"], 34),
        _row("  judge only (biased)", [_mean_cell(p.judge_only), f"n {p.judge_only.n}"], 34),
        f"    PPI is worth {_f(p.effective_labels, 1)} labels (a human-only CI this narrow would need that many)",
    ]
    if p.method.startswith("active"):
        out.append("    weighted by the labels' selection probabilities (active inference)")
    if p.judge_mapped:
        out.append(f"    {p.judge_mapped}")
    if p.n_judge_unscored:
        out.append(f"    {p.n_judge_unscored} unlabelled items the judge could not score are left out")
    return out


def _format_pairwise(p: PairwiseReport) -> list[str]:
    out = ["", f"pairwise preferences: {p.n_used} items used, {p.n_dropped} dropped"]
    if p.n_dropped:
        out.append(f"  {_dropped_text(p.dropped)}")
    out += [_row(label, [_cell(p.figures[key])], 30) for key, label in _PAIRWISE_FIGURES if key in p.figures]
    c = p.counts
    out.append(
        f"  invalid verdicts: {c.get('invalid_original', 0)} original, {c.get('invalid_swapped') or 0} swapped "
        f"(counted as wrong{'; two invalid verdicts count as agreeing' if p.invalid_agree else ''})"
    )
    if p.per_group:
        out.append(f"  {'group':<30}{'n':>6}{'accuracy':>10}{'agreement':>11}")
        for g in p.per_group:
            out.append(
                f"  {str(g['group'])[:29]:<30}{g['n']:>6}{_f(g['accuracy']):>10}{_f(g.get('positional_agreement')):>11}"
            )
        out.append(f"  {'unweighted mean over groups':<36}{_f(p.macro_accuracy):>10}")
    if p.disagreements:
        out.append("  items judged wrong (most orders wrong first)")
        for x in p.disagreements:
            out.append(
                f"    {x['id'][:30]:<32}label {x['label']:<4} original {x['winner_original']}  swapped {x['winner_swapped']}"
            )
    out += [f"  note: {n}" for n in p.notes]
    return out
