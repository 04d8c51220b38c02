"""Pairwise rubrics in ``select``: a candidate's pair verdicts against the human preferences, by
``judgekit validate --pairwise`` itself.

The score file's per-pair verdicts (both orders, in the original numbering) are written as the verdict rows
``validate --pairwise`` reads (``id, winner_original, winner_swapped``) beside the score file, so a figure
here is exactly what ``judgekit validate --pairwise --judge VERDICTS --human LABELS --allow-missing`` prints.
Each pair's correctness (the mean over its orders of verdict == majority label) is what the paired
differences resample: its mean is the accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgekit.errors import InputError
from judgekit.io import atomic_write_json
from judgekit.results import ScoreFile
from judgekit.select.result import Figure

METRIC = "accuracy"


def verdict_rows(scores: ScoreFile) -> list[dict[str, Any]]:
    """One row per pair of the score file: its verdict in each order (``None`` when that order failed)."""
    rows = []
    for q in scores.per_question_scores:
        v = q.pairwise or {}
        rows.append({"id": q.id, "winner_original": v.get("original"), "winner_swapped": v.get("swapped")})
    return rows


def write_verdicts(score_path: Path, scores: ScoreFile) -> Path:
    path = score_path.with_name(score_path.name.removesuffix(".scores.json") + ".verdicts.json")
    atomic_write_json(path, verdict_rows(scores))
    return path


def position_consistency(scores: ScoreFile) -> Figure | None:
    """The share of pairs judged in both orders whose two verdicts agree (the score file's own figure)."""
    pc = (scores.pairwise or {}).get("position_consistency")
    if not pc or pc.get("value") is None:
        return None
    return Figure(
        metric="position_consistency", value=pc["value"], ci_low=pc.get("ci_low"), ci_high=pc.get("ci_high"),
        n=int(pc.get("n") or 0),
    )  # fmt: skip


def pair_agreement(
    verdicts: Path, human: str | Path, group: str | None, n_boot: int, seed: int
) -> tuple[Figure, list[str], list[float]]:
    """``validate --pairwise``'s accuracy with its CI, the matched ids, and each pair's correctness."""
    from judgekit.stats.preference import normalize_preference
    from judgekit.validate import validate
    from judgekit.validate.pairwise import PairwiseOptions, pairwise_items

    report = validate(
        verdicts, human, group=group, pairwise=True, allow_missing=True, n_boot=n_boot, seed=seed
    )
    assert report.pairwise is not None
    acc = report.pairwise.figures.get(METRIC)
    if acc is None:
        raise InputError(f"{verdicts}: accuracy is not defined here")
    options = PairwiseOptions(
        group=group,
        id_field="id",
        annotator_field="annotator",
        label_field="label",
        meta_fields=[group] if group else [],
        human_format="auto",
        annotators=None,
        allow_missing=True,
        invalid_agree=False,
        n_boot=0,
        seed=seed,
        confidence=0.95,
        top=0,
    )  # validate()'s own settings for --pairwise: the same matching as the call above
    items, _ = pairwise_items(verdicts, human, options)
    gold = [normalize_preference(g) for g in items.gold]
    orders = [items.original] + ([items.swapped] if items.swapped is not None else [])
    correct = [
        sum(normalize_preference(o[k]) == gold[k] for o in orders) / len(orders)
        for k in range(len(items.ids))
    ]
    figure = Figure(metric=METRIC, value=acc.value, ci_low=acc.ci_low, ci_high=acc.ci_high, n=acc.n)
    return figure, list(items.ids), correct
