"""Pairwise preferences: verdict spellings, agreement with gold labels in both orders, bootstrap CIs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgekit.stats.arrays import FloatArray, finite_or_none
from judgekit.stats.kappa import WeightedKappa, cohen_kappa
from judgekit.stats.resampling import Estimate, Resample, bootstrap, make_estimate

PAIRWISE_CATEGORIES = ("1", "2", "tie")


def normalize_preference(value: Any) -> str | None:
    """Map a preference verdict to ``"1"``, ``"2"``, ``"tie"``, or ``None`` (missing / invalid).

    Accepted: 1, 2, "1", "2" (with surrounding spaces), and "tie" in any case. Anything else is invalid.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    return v if v in PAIRWISE_CATEGORIES else None


@dataclass(frozen=True)
class PairwiseAgreement:
    """Agreement of pairwise-preference verdicts with gold labels, judged in both presentation orders.

    Rates are fractions in [0, 1]. ``accuracy`` is the mean of the two per-order accuracies (LLMBar's
    "Acc."); ``positional_agreement`` the share of items where both orders pick the same verdict (LLMBar's
    "Agr.", see ``invalid_agree`` in ``pairwise_agreement``). Kappas use categories 1 / 2 / tie plus an
    "invalid" category that never matches a gold label.
    """

    n: int
    correct_original: int
    accuracy_original: float
    invalid_original: int
    kappa_original: float
    correct_swapped: int | None = None
    accuracy_swapped: float | None = None
    invalid_swapped: int | None = None
    kappa_swapped: float | None = None
    accuracy: float = math.nan
    correct_both: int | None = None
    accuracy_both: float | None = None
    agree: int | None = None
    positional_agreement: float | None = None
    both_invalid: int | None = None
    kappa_positional: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in asdict(self).items()}


def _pairwise_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    if not a:
        return math.nan
    return cohen_kappa(a, b, categories=sorted(set(a) | set(b))).kappa


def pairwise_agreement(
    winners_original: Sequence[Any],
    winners_swapped: Sequence[Any] | None,
    labels: Sequence[Any],
    *,
    invalid_agree: bool = False,
) -> PairwiseAgreement:
    """Accuracy and positional consistency of a pairwise judge against gold preference labels.

    Parameters
    ----------
    winners_original
        The judge's verdict per item with the outputs in their original order: ``1``/``"1"``, ``2``/``"2"``,
        ``"tie"``; anything else (``None``, unparseable text) is an invalid verdict.
    winners_swapped
        The verdict per item with the two outputs presented in swapped order, **already mapped back to the
        original numbering** (``"1"`` still means the original output 1). ``None`` if only one order was
        judged; the order-dependent figures are then ``None``.
    labels
        Gold labels per item, ``1``/``2``/``"tie"``; every label must be valid.
    invalid_agree
        Whether two invalid verdicts on the same item count as positional agreement. ``False`` (default):
        agreement means both orders picked the same output or both said tie. ``True`` reproduces LLMBar's
        published "equal" figure, which compares the raw verdicts and so counts two failures as agreeing.

    Returns
    -------
    PairwiseAgreement
        Counts and rates. An invalid verdict always counts as wrong (never dropped, never a tie). Kappas are
        Cohen's kappa with a correct categorical encoding (invalid is its own category, which for the
        positional kappa is distinct per order unless ``invalid_agree``), unlike LLMBar's ``kappa_*`` fields.
    """
    gold = [normalize_preference(v) for v in labels]
    bad = [labels[i] for i, g in enumerate(gold) if g is None]
    if bad:
        raise ValueError(f"{len(bad)} gold label(s) are not 1, 2 or tie, e.g. {bad[0]!r}")
    n = len(gold)
    if len(winners_original) != n or (winners_swapped is not None and len(winners_swapped) != n):
        raise ValueError("winners and labels must have the same length")
    if n == 0:
        raise ValueError("no items")
    wo = [normalize_preference(v) for v in winners_original]
    g = [str(v) for v in gold]
    wo_cat = [v if v is not None else "invalid" for v in wo]
    correct_o = sum(w == gl for w, gl in zip(wo, gold, strict=True))
    acc_o = correct_o / n
    res: dict[str, Any] = {
        "n": n,
        "correct_original": correct_o,
        "accuracy_original": acc_o,
        "invalid_original": sum(w is None for w in wo),
        "kappa_original": _pairwise_kappa(wo_cat, g),
        "accuracy": acc_o,
    }
    if winners_swapped is not None:
        ws = [normalize_preference(v) for v in winners_swapped]
        ws_cat = [v if v is not None else "invalid" for v in ws]
        correct_s = sum(w == gl for w, gl in zip(ws, gold, strict=True))
        both = sum(a == gl and b == gl for a, b, gl in zip(wo, ws, gold, strict=True))
        agree = sum(a == b and (a is not None or invalid_agree) for a, b in zip(wo, ws, strict=True))
        wo_pos = wo_cat if invalid_agree else [v if v is not None else "invalid (original)" for v in wo]
        ws_pos = ws_cat if invalid_agree else [v if v is not None else "invalid (swapped)" for v in ws]
        res.update(
            correct_swapped=correct_s,
            accuracy_swapped=correct_s / n,
            invalid_swapped=sum(w is None for w in ws),
            kappa_swapped=_pairwise_kappa(ws_cat, g),
            accuracy=(acc_o + correct_s / n) / 2,
            correct_both=both,
            accuracy_both=both / n,
            agree=agree,
            positional_agreement=agree / n,
            both_invalid=sum(a is None and b is None for a, b in zip(wo, ws, strict=True)),
            kappa_positional=_pairwise_kappa(wo_pos, ws_pos),
        )
    return PairwiseAgreement(**res)


def pairwise_bootstrap(
    winners_original: Sequence[Any],
    winners_swapped: Sequence[Any] | None,
    labels: Sequence[Any],
    *,
    groups: npt.ArrayLike | None = None,
    invalid_agree: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> dict[str, Estimate]:
    """Percentile bootstrap CIs for the rates of ``pairwise_agreement`` (items or whole groups resampled)."""
    point = pairwise_agreement(winners_original, winners_swapped, labels, invalid_agree=invalid_agree)
    gold = [normalize_preference(v) for v in labels]
    wo = [normalize_preference(v) for v in winners_original]
    ind: dict[str, FloatArray] = {
        "accuracy_original": np.array([a == b for a, b in zip(wo, gold, strict=True)], float)
    }
    kappa_pairs: dict[str, tuple[list[str], list[str]]] = {
        "kappa_original": ([v or "invalid" for v in wo], [str(v) for v in gold])
    }
    if winners_swapped is not None:
        ws = [normalize_preference(v) for v in winners_swapped]
        ind["accuracy_swapped"] = np.array([a == b for a, b in zip(ws, gold, strict=True)], float)
        ind["accuracy"] = (ind["accuracy_original"] + ind["accuracy_swapped"]) / 2
        ind["accuracy_both"] = ind["accuracy_original"] * ind["accuracy_swapped"]
        ind["positional_agreement"] = np.array(
            [a == b and (a is not None or invalid_agree) for a, b in zip(wo, ws, strict=True)], float
        )
        kappa_pairs["kappa_swapped"] = ([v or "invalid" for v in ws], [str(v) for v in gold])
        kappa_pairs["kappa_positional"] = (
            [v or ("invalid" if invalid_agree else "invalid (original)") for v in wo],
            [v or ("invalid" if invalid_agree else "invalid (swapped)") for v in ws],
        )
    else:
        ind["accuracy"] = ind["accuracy_original"]
    mat = np.stack(list(ind.values()), axis=1)
    kappa_plans: dict[str, WeightedKappa] = {}
    for name, (a, b) in kappa_pairs.items():
        cats = sorted(set(a) | set(b))
        idx = {c: i for i, c in enumerate(cats)}
        kappa_plans[name] = WeightedKappa([idx[v] for v in a], [idx[v] for v in b], len(cats))

    def fn(r: Resample) -> dict[str, FloatArray]:
        W = r.items.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = (W @ mat) / W.sum(axis=1)[:, None]
        out = {name: rates[:, i] for i, name in enumerate(ind)}
        for name, plan in kappa_plans.items():
            out[name] = plan(r.items)["unweighted"]
        return out

    boot = bootstrap({"p": fn}, len(gold), groups=groups, n_boot=n_boot, seed=seed) if n_boot > 0 else {}
    result: dict[str, Estimate] = {}
    for name in [*ind, *kappa_plans]:
        value = getattr(point, name)
        result[name] = make_estimate(
            float(value) if value is not None else math.nan, boot.get(f"p.{name}"), point.n, level
        )
    return result
