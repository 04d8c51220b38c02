"""Compare several systems judged on the same questions: scores with CIs, ranks with rank intervals, and
every pair's paired difference with a Holm-adjusted p-value.

Two kinds of input, never mixed:

* score files of one system each (any pointwise rubric): a system's score is the mean of its scored question
  scores; a pair's difference is the mean of ``a - b`` over the questions BOTH scored, with a two-sided paired
  t-test (exact enough at the question counts compared here, and its p-values are not limited by a resample
  count, which Holm over many pairs needs).
* pairwise-rubric score files (each file compares its ``--responses-a`` with its ``--responses-b`` system):
  systems are ranked by a Bradley-Terry fit over all files, ties as half a win and one virtual tie per
  compared pair (``judgekit.stats.ranking``); a pair's difference is its log-odds of winning, with a
  two-sided bootstrap p-value.

Uncertainty comes from one seeded bootstrap over the question ids of all files together (a question drawn
counts for every file that has it), so systems, differences and ranks are read off the same resamples; a
rank interval is the 2.5th / 97.5th percentile of the system's rank over the resamples (rounded outwards).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from judgekit.errors import InputError
from judgekit.gate.text import ids_text as _ids
from judgekit.score_reader import read_score_file
from judgekit.stats.multiple import holm
from judgekit.stats.ranking import comparisons_connected, fit_batch
from judgekit.stats.resampling import Resample, bootstrap, percentile_ci

FloatArray = npt.NDArray[np.float64]
Kind = Literal["mean", "bradley_terry"]

#: Virtual ties per compared pair in the Bradley-Terry fit (keeps strengths finite for a clean sweep).
BT_PRIOR = 1.0


class SystemRow(BaseModel):
    name: str
    score: float
    ci_low: float | None
    ci_high: float | None
    rank: int
    rank_low: int | None
    rank_high: int | None
    n_questions: int


class PairRow(BaseModel):
    a: str
    b: str
    difference: float
    ci_low: float | None
    ci_high: float | None
    p: float | None
    p_adjusted: float | None
    n: int


class Missing(BaseModel):
    """Questions another file has and this one lacks (``absent``) or did not score (``unscored``)."""

    absent: list[str] = Field(default_factory=list)
    unscored: list[str] = Field(default_factory=list)


class CompareResult(BaseModel):
    kind: Kind
    score_definition: str
    test: str
    adjustment: str = "holm"
    level: float
    bootstrap: int
    seed: int
    questions: int
    systems: list[SystemRow]
    pairs: list[PairRow]
    missing: dict[str, Missing]

    def to_json(self) -> dict[str, Any]:
        return {"judgekit_compare": 1, **self.model_dump(mode="json")}


# ----------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Question:
    id: str
    score: float | None


@dataclass(frozen=True)
class _Scores:
    """The part of a score file that compare uses, read and checked as every command reads score files
    (:func:`judgekit.score_reader.read_score_file`: duplicate keys, NaN and off-scale scores refused)."""

    score: float | None
    per_question_scores: list[_Question]
    meta: dict[str, Any]
    pairwise: dict[str, Any] | None


def _read(path: str) -> _Scores:
    head, rows = read_score_file(path)
    questions = [_Question(q["id"], q["score"]) for q in rows]
    return _Scores(head.score, questions, head.meta, head.pairwise)


def _load(paths: Sequence[str]) -> list[_Scores]:
    if len(paths) < 2:
        raise InputError(f"compare needs at least two score files (got {len(paths)})")
    twice = sorted({p for p in paths if list(paths).count(p) > 1})
    if twice:
        raise InputError(f"{twice[0]}: given twice")
    files = [_read(p) for p in paths]
    for path, sf in zip(paths, files, strict=True):
        seen: set[str] = set()
        for q in sf.per_question_scores:
            if q.id in seen:
                raise InputError(f"{path}: question {q.id!r} appears twice")
            seen.add(q.id)
    return files


def _is_pairwise(sf: _Scores) -> bool:
    rubric = sf.meta.get("rubric")
    return sf.pairwise is not None or (isinstance(rubric, dict) and rubric.get("name") == "pairwise")


def _pair_systems(path: str, sf: _Scores) -> tuple[str, str]:
    """The two systems a pairwise score file compares: its --responses-a and --responses-b paths."""
    inputs = sf.meta.get("inputs")
    names = []
    for key in ("responses_a", "responses_b"):
        entry = inputs.get(key) if isinstance(inputs, dict) else None
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise InputError(
                f"{path}: a pairwise score file must name its two systems (scored with --responses-a and "
                "--responses-b); this one has no meta.inputs.responses_a/responses_b path"
            )
        names.append(name)
    if names[0] == names[1]:
        raise InputError(f"{path}: compares {names[0]} with itself")
    return names[0], names[1]


def _score_table(paths: Sequence[str], files: Sequence[_Scores]) -> tuple[list[str], FloatArray]:
    """Question ids (first appearance order over all files) and a questions x files matrix, NaN = no score."""
    index: dict[str, int] = {}
    for sf in files:
        for q in sf.per_question_scores:
            index.setdefault(q.id, len(index))
    table = np.full((len(index), len(files)), np.nan)
    for k, sf in enumerate(files):
        for q in sf.per_question_scores:
            if q.score is not None:
                table[index[q.id], k] = q.score
    return list(index), table


def _missing(paths: Sequence[str], files: Sequence[_Scores], ids: list[str]) -> dict[str, Missing]:
    out: dict[str, Missing] = {}
    for path, sf in zip(paths, files, strict=True):
        present = {q.id for q in sf.per_question_scores}
        absent = [i for i in ids if i not in present]
        unscored = [q.id for q in sf.per_question_scores if q.score is None]
        if absent or unscored:
            out[path] = Missing(absent=absent, unscored=unscored)
    return out


# ----------------------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------------------


def _ranks(values: FloatArray) -> npt.NDArray[np.int64]:
    """Competition ranks along the last axis, 1 = highest; NaN ranks last."""
    v = np.where(np.isfinite(values), values, -np.inf)
    above = (v[..., None, :] > v[..., :, None]).sum(axis=-1)
    return np.asarray(above + 1, dtype=np.int64)


def _column_cis(
    samples: FloatArray | None, columns: int, level: float
) -> list[tuple[float | None, float | None]]:
    if samples is None:
        return [(None, None)] * columns
    return [percentile_ci(samples[:, c], level)[:2] for c in range(columns)]


def _rank_intervals(
    samples: FloatArray | None, columns: int, level: float
) -> list[tuple[int | None, int | None]]:
    if samples is None or samples.shape[0] == 0:
        return [(None, None)] * columns
    tail = (1.0 - level) / 2
    lo = np.quantile(samples, tail, axis=0, method="lower")
    hi = np.quantile(samples, 1.0 - tail, axis=0, method="higher")
    return [(int(lo[c]), int(hi[c])) for c in range(columns)]


def _paired_p(a: FloatArray, b: FloatArray) -> float | None:
    """Two-sided paired t-test p-value; ``None`` with one pair; 1 or 0 when every difference is equal."""
    d = a - b
    if d.size < 2:
        return None
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    from scipy import stats  # loaded when a p-value is computed, not for an input error

    return float(stats.ttest_rel(a, b).pvalue)


def _bootstrap_p(samples: FloatArray) -> float | None:
    """Two-sided bootstrap p-value of "no difference": twice the smaller tail share at 0, with +1 smoothing."""
    s = samples[np.isfinite(samples)]
    if s.size == 0:
        return None
    below = (1 + int(np.count_nonzero(s <= 0))) / (s.size + 1)
    above = (1 + int(np.count_nonzero(s >= 0))) / (s.size + 1)
    return min(1.0, 2.0 * min(below, above))


def _pair_rows(
    names: list[str],
    pairs: list[tuple[int, int]],
    diffs: list[float],
    boot: FloatArray | None,
    pvalues: list[float | None],
    counts: list[int],
    level: float,
) -> list[PairRow]:
    cis = _column_cis(boot, len(pairs), level)
    adjusted = holm([math.nan if p is None else p for p in pvalues])
    return [
        PairRow(
            a=names[i],
            b=names[j],
            difference=diffs[k],
            ci_low=cis[k][0],
            ci_high=cis[k][1],
            p=pvalues[k],
            p_adjusted=None if pvalues[k] is None else float(adjusted[k]),
            n=counts[k],
        )
        for k, (i, j) in enumerate(pairs)
    ]


def _system_rows(
    names: list[str],
    scores: FloatArray,
    boot_scores: FloatArray | None,
    boot_ranks: FloatArray | None,
    counts: list[int],
    level: float,
) -> list[SystemRow]:
    k = len(names)
    cis = _column_cis(boot_scores, k, level)
    rank_cis = _rank_intervals(boot_ranks, k, level)
    ranks = _ranks(scores)
    rows = [
        SystemRow(
            name=names[c],
            score=float(scores[c]),
            ci_low=cis[c][0],
            ci_high=cis[c][1],
            rank=int(ranks[c]),
            rank_low=rank_cis[c][0],
            rank_high=rank_cis[c][1],
            n_questions=counts[c],
        )
        for c in range(k)
    ]
    return sorted(rows, key=lambda r: r.rank)


def _compare_means(
    paths: Sequence[str], table: FloatArray, n_boot: int, seed: int, level: float
) -> tuple[list[SystemRow], list[PairRow]]:
    names = list(paths)
    scored = np.isfinite(table)
    for c, name in enumerate(names):
        if not scored[:, c].any():
            raise InputError(f"{name}: no scored question to compare")
    pairs = list(combinations(range(len(names)), 2))
    shared = np.stack([scored[:, i] & scored[:, j] for i, j in pairs], axis=1)
    for k, (i, j) in enumerate(pairs):
        if not shared[:, k].any():
            raise InputError(
                f"{names[i]} and {names[j]} share no scored question, so they cannot be compared"
            )
    values = np.where(scored, table, 0.0)
    fi = np.array([i for i, _ in pairs])
    se = np.array([j for _, j in pairs])
    # Most questions are scored by every file: sums over all questions serve every system and pair, and only
    # the questions some file lacks need per-pair corrections (what one side of a pair has and the other not,
    # and which pairs and systems do not count them).
    gaps = np.flatnonzero(~scored.all(axis=1))
    g_scored, g_values = scored[gaps], values[gaps]
    only_first = np.where(g_scored[:, fi] & ~g_scored[:, se], g_values[:, fi], 0.0)
    only_second = np.where(g_scored[:, se] & ~g_scored[:, fi], g_values[:, se], 0.0)
    corrections = np.concatenate([only_first - only_second, ~shared[gaps], ~g_scored], axis=1).astype(
        np.float64
    )
    n_pairs = len(pairs)

    def resampled(r: Resample) -> dict[str, FloatArray]:
        w = r.items.astype(np.float64)
        total = w.sum(axis=1, keepdims=True)
        sums = w @ values
        fix = w[:, gaps] @ corrections
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / (total - fix[:, 2 * n_pairs :])
            diffs = (sums[:, fi] - sums[:, se] - fix[:, :n_pairs]) / (total - fix[:, n_pairs : 2 * n_pairs])
        return {"means": means, "diffs": diffs, "ranks": _ranks(means).astype(np.float64)}

    boot = bootstrap({"b": resampled}, table.shape[0], n_boot=n_boot, seed=seed)
    scores = np.array([table[scored[:, c], c].mean() for c in range(len(names))])
    diffs, pvalues = [], []
    for k, (i, j) in enumerate(pairs):
        a, b = table[shared[:, k], i], table[shared[:, k], j]
        diffs.append(float(np.mean(a - b)))
        pvalues.append(_paired_p(a, b))
    systems = _system_rows(
        names, scores, boot.get("b.means"), boot.get("b.ranks"), scored.sum(axis=0).tolist(), level
    )
    pair_rows = _pair_rows(
        names, pairs, diffs, boot.get("b.diffs"), pvalues, shared.sum(axis=0).tolist(), level
    )
    return systems, pair_rows


def _compare_bradley_terry(
    paths: Sequence[str], files: Sequence[_Scores], table: FloatArray, n_boot: int, seed: int, level: float
) -> tuple[list[SystemRow], list[PairRow]]:
    matchups = [_pair_systems(p, sf) for p, sf in zip(paths, files, strict=True)]
    for k, path in enumerate(paths):
        outside = table[:, k][np.isfinite(table[:, k]) & ((table[:, k] < 0) | (table[:, k] > 1))]
        if outside.size:
            raise InputError(
                f"{path}: a pairwise verdict must score 0 (B won), 0.5 (tie) or 1 (A won), got {outside[0]:g}"
            )
    names: list[str] = []
    for a, b in matchups:
        names.extend(n for n in (a, b) if n not in names)
    idx = {n: i for i, n in enumerate(names)}
    k = len(names)
    first = np.array([idx[a] for a, _ in matchups])
    second = np.array([idx[b] for _, b in matchups])
    scored = np.isfinite(table)
    a_wins = np.where(scored, table, 0.0)  # per question and file: A's share (1 win, 0.5 tie, 0 loss)
    b_wins = scored - a_wins

    def win_matrices(wa: FloatArray, wb: FloatArray) -> FloatArray:
        """(batch, k, k) wins from per-file totals of A's and B's wins (batch x files)."""
        wins = np.zeros((wa.shape[0], k, k))
        for f in range(len(matchups)):
            wins[:, first[f], second[f]] += wa[:, f]
            wins[:, second[f], first[f]] += wb[:, f]
        return wins

    point = win_matrices(a_wins.sum(axis=0)[None, :], b_wins.sum(axis=0)[None, :])[0]
    if not comparisons_connected(point):
        raise InputError(
            "the pairwise files do not link every system to every other (directly or through others), "
            "so no common Bradley-Terry scale exists"
        )
    compared = (point + point.T) > 0
    prior = (BT_PRIOR / 2.0) * compared

    def resampled(r: Resample) -> dict[str, FloatArray]:
        w = r.items.astype(np.float64)
        theta = fit_batch(win_matrices(w @ a_wins, w @ b_wins) + prior)
        return {"theta": theta, "ranks": _ranks(theta).astype(np.float64)}

    boot = bootstrap({"b": resampled}, table.shape[0], n_boot=n_boot, seed=seed)
    theta = fit_batch(point + prior)[0]
    pairs = list(combinations(range(k), 2))
    diffs = [float(theta[i] - theta[j]) for i, j in pairs]
    boot_theta = boot.get("b.theta")
    boot_diffs = None
    pvalues: list[float | None] = [None] * len(pairs)
    if boot_theta is not None:
        boot_diffs = np.stack([boot_theta[:, i] - boot_theta[:, j] for i, j in pairs], axis=1)
        pvalues = [_bootstrap_p(boot_diffs[:, c]) for c in range(len(pairs))]
    n_file = scored.sum(axis=0)
    direct = np.zeros((k, k), dtype=np.int64)
    for f in range(len(matchups)):
        direct[first[f], second[f]] += int(n_file[f])
        direct[second[f], first[f]] += int(n_file[f])
    systems = _system_rows(names, theta, boot_theta, boot.get("b.ranks"), direct.sum(axis=1).tolist(), level)
    counts = [int(direct[i, j]) for i, j in pairs]
    return systems, _pair_rows(names, pairs, diffs, boot_diffs, pvalues, counts, level)


def compare(
    paths: Sequence[str | Path], bootstrap: int = 2000, seed: int = 0, level: float = 0.95
) -> CompareResult:
    """Compare the systems of several judgekit score files (see the module docstring); ``InputError`` on bad input."""
    names = [str(p) for p in paths]
    files = _load(names)
    pairwise = [_is_pairwise(sf) for sf in files]
    if any(pairwise) and not all(pairwise):
        one = names[pairwise.index(True)]
        other = names[pairwise.index(False)]
        raise InputError(
            f"{one} is a pairwise score file and {other} is not: compare files of one kind (pairwise files "
            "are ranked by Bradley-Terry, the others by mean score)"
        )
    ids, table = _score_table(names, files)
    if all(pairwise):
        systems, pairs = _compare_bradley_terry(names, files, table, bootstrap, seed, level)
        kind: Kind = "bradley_terry"
        definition = (
            "Bradley-Terry log-strength (natural-log odds, centred at 0 over the systems) fitted to every "
            f"pairwise file's verdicts, ties as half a win, {BT_PRIOR:g} virtual tie per compared pair; "
            "a pair's difference is the log-odds that a beats b"
        )
        test = "bootstrap (two-sided, percentile)"
    else:
        systems, pairs = _compare_means(names, table, bootstrap, seed, level)
        kind = "mean"
        definition = (
            "mean question score over the questions the file scored; a pair's difference is the mean of "
            "a - b over the questions both scored"
        )
        test = "paired t-test (two-sided)"
    return CompareResult(
        kind=kind, score_definition=definition, test=test, level=level, bootstrap=bootstrap, seed=seed,
        questions=len(ids), systems=systems, pairs=pairs, missing=_missing(names, files, ids),
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Terminal table
# ----------------------------------------------------------------------------------------------------------


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _pval(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _grid(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(widths[c]) if c in right else cell.ljust(widths[c]) for c, cell in enumerate(r)
        ).rstrip()
        for r in rows
    ]


def terminal_lines(result: CompareResult) -> list[str]:
    """The comparison as aligned text tables: systems by rank, then every pair."""
    pct = f"{round(result.level * 100)}%"
    what = "Bradley-Terry log-strength" if result.kind == "bradley_terry" else "mean score"
    boot = (
        f"{result.bootstrap} bootstrap resamples, seed {result.seed}" if result.bootstrap else "no bootstrap"
    )
    lines = [
        f"compare: {len(result.systems)} systems, {result.questions} questions; {what}, {pct} CIs ({boot})"
    ]
    rows = [["rank", "system", "score", f"{pct} CI", "rank CI", "n"]]
    for s in result.systems:
        ci = f"[{_num(s.ci_low)}, {_num(s.ci_high)}]" if s.ci_low is not None else "-"
        rank_ci = f"{s.rank_low}-{s.rank_high}" if s.rank_low is not None else "-"
        rows.append([str(s.rank), s.name, _num(s.score), ci, rank_ci, str(s.n_questions)])
    lines += _grid(rows, {0, 2, 5})
    lines.append("")
    lines.append(f"pairs: difference a - b, {result.test}, Holm-adjusted across {len(result.pairs)} pair(s)")
    rows = [["a", "b", "diff", f"{pct} CI", "p", "p (Holm)", "n"]]
    for p in result.pairs:
        ci = f"[{_num(p.ci_low, True)}, {_num(p.ci_high, True)}]" if p.ci_low is not None else "-"
        rows.append([p.a, p.b, _num(p.difference, True), ci, _pval(p.p), _pval(p.p_adjusted), str(p.n)])
    lines += _grid(rows, {2, 4, 5, 6})
    for name, miss in result.missing.items():
        parts = []
        if miss.absent:
            parts.append(f"lacks {len(miss.absent)} question(s): {_ids(miss.absent)}")
        if miss.unscored:
            parts.append(f"left {len(miss.unscored)} unscored: {_ids(miss.unscored)}")
        lines.append(f"missing: {name} " + "; ".join(parts) + " (left out of the pairs they break)")
    return lines
