"""The lexical report and its correlations as plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Mapping

from judgekit.lexical.model import ROUGE_TYPES, LexicalReport


def format_table(report: LexicalReport) -> str:
    """A readable overall table: one row per metric, P / R / F for ROUGE."""
    mode = f", METEOR: {report.meteor_mode}" if report.meteor_mode else ""
    lines = [
        f"{report.n} items; {report.aggregation}; stemming {'on' if report.stemmer else 'off'}{mode}",
        f"{'metric':<11}{'P':>9}{'R':>9}{'F / score':>11}",
    ]
    for m in report.metrics:
        if m in ROUGE_TYPES:
            p, r, f = (report.overall[f"{m}_{x}"] for x in "prf")
            lines.append(f"{m:<11}{p:>9.4f}{r:>9.4f}{f:>11.4f}")
        else:
            lines.append(f"{m:<11}{'':>9}{'':>9}{report.overall[m]:>11.4f}")
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)


def format_correlations(correlations: Mapping[str, Mapping[str, float | None]]) -> str:
    """Spearman / Kendall table (lexical metric vs judge score)."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [f"{'metric':<11}{'n':>6}{'spearman':>10}{'p':>8}{'kendall':>9}{'p':>8}"]
    for key, c in correlations.items():
        n = c.get("n")
        lines.append(
            f"{key:<11}{int(n or 0):>6}{num(c.get('spearman')):>10}{num(c.get('spearman_p')):>8}"
            f"{num(c.get('kendall')):>9}{num(c.get('kendall_p')):>8}"
        )
    return "\n".join(lines)
