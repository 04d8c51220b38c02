"""Pairwise verdicts: combine the two presentation orders of a pair, and summarise many pairs.

Plain functions over plain values, so they run on judgekit's own results and on recorded verdicts alike
(LLMBar's published figures are reproduced through :func:`summarize_pairs` in the tests).

Conventions
  * Verdicts are in the ORIGINAL numbering: ``"1"`` means response A (``output_1``, ``--responses-a``),
    ``"2"`` response B, ``"tie"`` a tie, ``None`` no usable verdict. ``"a"``/``"b"`` and 1/2 are accepted.
  * The swapped order showed B first; its verdict must already be mapped back (:func:`order_verdict` does it
    for judgekit's own scores).
  * Win / tie / loss are from A's side: a "win" is a pair whose combined verdict is A.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from judgekit.results import PairVerdicts

Verdict = Literal["1", "2", "tie"]
Combined = Literal["1", "2", "tie", "inconsistent"]
OnDisagreement = Literal["tie", "inconsistent"]

#: Score of a combined verdict from A's side (the question score of a pair).
VERDICT_SCORE: dict[str, float] = {"1": 1.0, "tie": 0.5, "2": 0.0}
OUTCOMES = ("win", "tie", "loss", "inconsistent")
_OUTCOME_OF = {"1": "win", "tie": "tie", "2": "loss", "inconsistent": "inconsistent"}


def normalize_verdict(value: Any) -> Verdict | None:
    """``"1"``/``"2"``/``"tie"`` for the accepted spellings (1, 2, "1", "a", "A", "tie"), else ``None``."""
    from judgekit.stats.preference import normalize_preference

    if isinstance(value, str) and value.strip().lower() in _LETTERS:
        value = _LETTERS[value.strip().lower()]
    verdict = normalize_preference(value)
    return None if verdict is None else _VERDICTS[verdict]


_LETTERS = {"a": "1", "b": "2"}
_VERDICTS: dict[str, Verdict] = {"1": "1", "2": "2", "tie": "tie"}


def order_verdict(score: float | None, lo: float, hi: float, *, swapped: bool) -> Verdict | None:
    """The verdict of one presentation order, in the original numbering.

    ``score`` is the judge's preference for the response shown FIRST on the rubric's scale ``lo..hi``: above
    the midpoint the first response wins, below it the second, at it a tie. The swapped order showed B
    first, so its winner is mapped back.
    """
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    mid = (lo + hi) / 2
    if math.isclose(score, mid, rel_tol=0.0, abs_tol=1e-9):
        return "tie"
    first_wins = score > mid
    if swapped:
        first_wins = not first_wins
    return "1" if first_wins else "2"


def combine(original: Any, swapped: Any, on_disagreement: OnDisagreement = "tie") -> Combined | None:
    """One verdict for a pair judged in both orders: agreeing orders win; a disagreement is a tie or
    ``"inconsistent"``, as configured; ``None`` if either order has no verdict."""
    o, s = normalize_verdict(original), normalize_verdict(swapped)
    if o is None or s is None:
        return None
    if o == s:
        return o
    return on_disagreement


@dataclass(frozen=True)
class PairOutcome:
    """A pair's verdicts: each order (original numbering), the combination, and whether the orders agree."""

    original: Verdict | None
    swapped: Verdict | None
    combined: Combined | None
    consistent: bool | None

    @property
    def score(self) -> float | None:
        """1 if A wins, 0.5 for a tie, 0 if B wins; ``None`` when inconsistent or incomplete."""
        return VERDICT_SCORE.get(self.combined) if self.combined is not None else None

    def to_dict(self) -> PairVerdicts:
        """The question's ``pairwise`` field."""
        return {
            "original": self.original,
            "swapped": self.swapped,
            "combined": self.combined,
            "consistent": self.consistent,
        }


def pair_outcome(original: Any, swapped: Any, on_disagreement: OnDisagreement = "tie") -> PairOutcome:
    o, s = normalize_verdict(original), normalize_verdict(swapped)
    consistent = None if o is None or s is None else o == s
    return PairOutcome(o, s, combine(o, s, on_disagreement), consistent)


def _rates_with_ci(
    indicators: np.ndarray[Any, np.dtype[np.float64]],
    names: Sequence[str],
    n_boot: int,
    seed: int | None,
    level: float,
) -> dict[str, dict[str, Any]]:
    """Share of rows with each indicator column set, with percentile bootstrap CIs (rows resampled)."""
    from judgekit.stats.resampling import Resample, bootstrap, make_estimate

    n = indicators.shape[0]
    point = indicators.mean(axis=0) if n else np.full(len(names), math.nan)

    def rates(r: Resample) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
        w = r.items.astype(np.float64)
        out = (w @ indicators) / w.sum(axis=1)[:, None]
        return {name: out[:, k] for k, name in enumerate(names)}

    boot = bootstrap({"r": rates}, n, n_boot=n_boot, seed=seed) if n and n_boot > 0 else {}
    return {
        name: make_estimate(float(point[k]), boot.get(f"r.{name}"), n, level).to_dict()
        for k, name in enumerate(names)
    }


def summarize_pairs(
    original: Sequence[Any],
    swapped: Sequence[Any],
    labels: Sequence[Any] | None = None,
    *,
    on_disagreement: OnDisagreement = "tie",
    invalid_agree: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Win / tie / loss rates, position consistency and (with gold labels) accuracy of pairwise verdicts.

    ``original`` and ``swapped`` hold one verdict per pair in the original numbering (``None`` = no usable
    verdict). Rates are over the pairs with both verdicts, with percentile bootstrap CIs. ``labels`` (one
    per pair; ``None`` = unlabelled) adds ``labels``: accuracy per order, their average, accuracy of both,
    positional agreement and kappas, from :func:`judgekit.stats.pairwise_agreement` over the labelled
    pairs, where a missing verdict counts as wrong. ``invalid_agree`` counts two missing verdicts as
    positional agreement (LLMBar's published "equal" does).
    """
    if len(original) != len(swapped):
        raise ValueError("original and swapped verdicts must have the same length")
    if labels is not None and len(labels) != len(original):
        raise ValueError("labels must give one entry per pair (None for an unlabelled pair)")
    outcomes = [pair_outcome(o, s, on_disagreement) for o, s in zip(original, swapped, strict=True)]
    complete = [p for p in outcomes if p.combined is not None]
    counts = {name: 0 for name in OUTCOMES}
    for p in complete:
        assert p.combined is not None
        counts[_OUTCOME_OF[p.combined]] += 1
    ind = np.array(
        [[1.0 if _OUTCOME_OF[str(p.combined)] == name else 0.0 for name in OUTCOMES] for p in complete],
        dtype=np.float64,
    ).reshape(len(complete), len(OUTCOMES))
    decided = ind[:, 0] + ind[:, 1] + ind[:, 2]
    # A's win rate with ties as half a win, over the pairs with a verdict (inconsistent ones left out).
    win_share = np.where(decided > 0, ind[:, 0] + 0.5 * ind[:, 1], 0.0)
    consistent = np.array([1.0 if p.consistent else 0.0 for p in complete], dtype=np.float64)
    first_pick = []
    for p in complete:
        # The response shown first: A in the original order, B in the swapped order.
        first_pick.append(1.0 if p.original == "1" else 0.0)
        first_pick.append(1.0 if p.swapped == "2" else 0.0)
    matrix = np.column_stack([ind, consistent]) if complete else np.zeros((0, len(OUTCOMES) + 1))
    ci = _rates_with_ci(matrix, [*OUTCOMES, "position_consistency"], n_boot, seed, level)
    n_decided = int(decided.sum())
    result: dict[str, Any] = {
        "pairs": len(outcomes),
        "judged": len(complete),
        "incomplete": len(outcomes) - len(complete),
        "on_disagreement": on_disagreement,
        "counts": counts,
        "rates": {name: ci[name] for name in OUTCOMES},
        "win_rate": _ratio_estimate(win_share, decided, n_boot, seed, level),
        "decided": n_decided,
        "position_consistency": ci["position_consistency"],
        "first_position_share": (sum(first_pick) / len(first_pick)) if first_pick else None,
    }
    if labels is not None:
        result["labels"] = label_agreement(original, swapped, labels, invalid_agree=invalid_agree)
    return result


def _ratio_estimate(
    num: np.ndarray[Any, np.dtype[np.float64]],
    den: np.ndarray[Any, np.dtype[np.float64]],
    n_boot: int,
    seed: int | None,
    level: float,
) -> dict[str, Any]:
    """sum(num) / sum(den) with a bootstrap CI over rows (e.g. wins + ties/2 over decided pairs)."""
    from judgekit.stats.resampling import Resample, bootstrap, make_estimate

    total = float(den.sum())
    value = float(num.sum()) / total if total > 0 else math.nan

    def ratio(r: Resample) -> np.ndarray[Any, np.dtype[np.float64]]:
        w = r.items.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray[Any, np.dtype[np.float64]] = (w @ num) / (w @ den)
        return out

    boot = bootstrap({"w": ratio}, len(num), n_boot=n_boot, seed=seed) if total > 0 and n_boot > 0 else {}
    return make_estimate(value, boot.get("w"), int(total), level).to_dict()


def label_agreement(
    original: Sequence[Any],
    swapped: Sequence[Any],
    labels: Sequence[Any],
    *,
    invalid_agree: bool = False,
) -> dict[str, Any] | None:
    """Accuracy and positional agreement against gold labels over the labelled pairs (``None`` if none).

    Delegates to :func:`judgekit.stats.pairwise_agreement`; verdicts and labels may use any spelling
    :func:`normalize_verdict` accepts.
    """
    from judgekit.stats.preference import pairwise_agreement

    keep = [i for i, label in enumerate(labels) if normalize_verdict(label) is not None]
    if not keep:
        return None
    result = pairwise_agreement(
        [normalize_verdict(original[i]) for i in keep],
        [normalize_verdict(swapped[i]) for i in keep],
        [normalize_verdict(labels[i]) for i in keep],
        invalid_agree=invalid_agree,
    )
    out = {k: float(v) if isinstance(v, np.floating) else v for k, v in result.to_dict().items()}
    out["unlabelled"] = len(labels) - len(keep)
    return out
