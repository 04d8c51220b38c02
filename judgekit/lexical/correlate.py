"""How far lexical metrics agree with the judge: rank correlations per metric."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.lexical.model import LexicalReport


def correlate_with_judge(
    report: LexicalReport,
    judge_scores: Mapping[str, float | None],
    metrics: Sequence[str] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Spearman rho and Kendall tau (scipy, tau-b) between each lexical metric and the judge score.

    Computed across the ids present in both, skipping judge scores that are None or NaN. Returns
    ``{metric_key: {"spearman", "spearman_p", "kendall", "kendall_p", "n"}}`` for the headline keys
    (each ROUGE type's F, METEOR, BLEU) unless ``metrics`` lists item keys. A coefficient is None
    when fewer than 3 pairs remain or either side is constant.
    """
    from scipy import stats

    keys = list(metrics) if metrics is not None else report.headline()
    ids = [
        i
        for i in report.items
        if i in judge_scores and judge_scores[i] is not None and not math.isnan(float(judge_scores[i]))  # type: ignore[arg-type]
    ]
    judge = [float(judge_scores[i]) for i in ids]  # type: ignore[arg-type]
    out: dict[str, dict[str, float | None]] = {}
    for key in keys:
        values = [report.items[i][key] for i in ids if key in report.items[i]]
        entry: dict[str, float | None] = {
            "spearman": None,
            "spearman_p": None,
            "kendall": None,
            "kendall_p": None,
            "n": len(values),
        }
        if len(values) == len(ids) and len(ids) >= 3 and len(set(values)) > 1 and len(set(judge)) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = stats.spearmanr(values, judge)
                tau = stats.kendalltau(values, judge)
            entry["spearman"] = _finite(rho.statistic)
            entry["spearman_p"] = _finite(rho.pvalue)
            entry["kendall"] = _finite(tau.statistic)
            entry["kendall_p"] = _finite(tau.pvalue)
        out[key] = entry
    return out


def _finite(x: Any) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None
