"""Readable terminal summaries of results (the JSON files stay the source of truth)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from judgekit.results import ScoreFile
from judgekit.rubric.reasoning import truncation_note
from judgekit.score_reader import unit_noun


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_ci(value: float | None, ci: dict[str, Any] | None) -> str:
    """``0.4722 [0.41, 0.53]``: the score and its bootstrap interval, when there is one."""
    low, high = (ci or {}).get("low"), (ci or {}).get("high")
    if low is None or high is None:
        return _fmt(value)
    return f"{_fmt(value)} [{low:.2f}, {high:.2f}]"


def _group_lines(kind: str, groups: dict[str, dict[str, Any]] | None) -> list[str]:
    if not groups:
        return []
    width = max(len(name) for name in groups)
    return [f"by {kind}"] + [
        f"  {name:<{width}}  {_with_ci(g.get('score'), g.get('score_ci'))}   "
        f"({g.get('questions_scored')} of {g.get('questions_total')})"
        for name, g in groups.items()
    ]


def _coverage_line(result: ScoreFile) -> str:
    """Coverage; for a panel, of units every judge scored, naming each judge that missed some."""
    cov = result.coverage
    if not result.panel:
        return f"coverage  {cov.scored}/{cov.total} {unit_noun(result)} scored ({cov.ratio:.1%})"
    missed = [
        f"{j.get('name') or j['identity'].split('|')[0]} scored {j['coverage']['scored']}/{j['coverage']['total']}"
        for j in result.panel["judges"]
        if j["coverage"]["scored"] < j["coverage"]["total"]
    ]
    return (
        f"coverage  {cov.scored}/{cov.total} units scored by every judge of the panel ({cov.ratio:.1%})"
        + ("; " + ", ".join(missed) if missed else "")
    )


def print_score_summary(result: ScoreFile, out: str | Path | None = None) -> None:
    cov = result.coverage
    t = result.totals
    lines = [
        f"score     {_with_ci(result.score, result.score_ci)}   (mean over {cov.questions_scored} of {cov.questions_total} questions)",
        _coverage_line(result),
        f"calls     {t.calls} judge calls, {t.cache_hits} cache hits, {t.retries} retries, {t.reasks} re-asks",
        f"tokens    {t.prompt_tokens} in / {t.completion_tokens} out"
        + (f" ({t.reasoning_tokens} reasoning)" if t.reasoning_tokens else "")
        + (f", cost ${t.cost_usd:.4f}" if t.cost_usd else ""),
        f"time      {t.wall_time_s:.1f} s",
    ]
    lines += _group_lines("category", result.by_category) + _group_lines("aspect", result.by_aspect)
    if result.unscored:
        reasons = Counter(u.reason.split(":")[0] for u in result.unscored)
        lines.append("unscored  " + ", ".join(f"{n} x {why}" for why, n in reasons.most_common(5)))
        note = truncation_note(u.reason for u in result.unscored)
        if note:
            lines.append(f"reasoning {note}")
    if result.lexical:
        lines.append("")
        lines.append(f"lexical ({result.lexical.get('aggregation', 'mean of item-level scores')})")
        corr = result.lexical.get("correlation_with_judge") or {}
        lines.append(f"  {'metric':<14}{'mean':>9}{'spearman':>10}{'kendall':>10}")
        for name, value in (result.lexical.get("overall") or {}).items():
            c = corr.get(name) or {}
            lines.append(
                f"  {name:<14}{_fmt(value):>9}{_fmt(c.get('spearman'), 3):>10}{_fmt(c.get('kendall'), 3):>10}"
            )
    if out is not None:
        lines.append(f"wrote     {out}" + (f" and {result.meta['log']}" if result.meta.get("log") else ""))
    print("\n".join(lines))
