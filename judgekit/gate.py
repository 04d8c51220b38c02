"""``gate()``: CI regression checks that tell noise from a real drop.

A gate compares a candidate score file with absolute floors, with a stored baseline score file (a paired test
over the questions both files hold) and, optionally, checks that the judge itself still agrees with human labels
on a pinned set ("drift"). Every check ends ``pass``, ``fail``, ``warn`` or ``skip``; the gate fails when any
check fails. The verdict is a pure function of the inputs and the configuration: resampling uses a fixed seed.

Checks (see :class:`GateConfig` for the YAML file that declares them):

* ``floor.*``: overall score, coverage, per-aspect / per-category means, lexical metrics, each ``>=`` a floor;
* ``regression``: the mean paired difference ``candidate - baseline`` over shared questions; fails when the
  drop exceeds ``tolerance`` *and* a one-sided paired test (sign-flip permutation by default, or bootstrap) is
  significant at ``alpha``; reports the effect, its bootstrap CI and Cohen's d_z;
* ``per_question``: the questions that fell most, with their aspect-level changes (fails only if
  ``max_regressed`` is set and exceeded);
* ``drift.*``: re-score a pinned human-labelled set with the candidate's judge settings and compare each
  agreement statistic with its floor;
* ``provenance``: baseline, candidate (and drift scores) judged with the same rubric and judge settings;
  a mismatch warns, or fails with ``strict``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgekit._callable import make_module_callable
from judgekit.errors import ConfigError, InputError
from judgekit.results import QuestionResult, ScoreFile, load_score_file

Status = Literal["pass", "fail", "warn", "skip"]
Kind = Literal["floor", "regression", "per_question", "drift", "provenance"]
FloatArray = npt.NDArray[np.float64]

#: Judge and rubric settings that must agree for two score files to be comparable.
PROVENANCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("rubric", "name"),
    ("rubric", "content_sha256"),
    ("rubric", "mode"),
    ("judge", "identity"),
    ("judge", "temperature"),
    ("judge", "samples"),
)

# ----------------------------------------------------------------------------------------------------------
# Configuration (the gate YAML file)
# ----------------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Floors(_Strict):
    """Absolute floors on the candidate; each check passes when the value is ``>=`` its floor."""

    score: float | None = Field(None, description="overall score (LaMP-QA: 0..1)")
    coverage: float | None = Field(None, ge=0, le=1, description="share of aspects scored")
    aspects: dict[str, float] = Field(
        default_factory=dict, description="aspect name -> floor on its mean score (the rubric's scale)"
    )
    categories: dict[str, float] = Field(
        default_factory=dict, description="category -> floor on the mean question score"
    )
    lexical: dict[str, float] = Field(
        default_factory=dict, description="lexical metric (e.g. rougeL, meteor) -> floor on its overall value"
    )


class Regression(_Strict):
    """The paired comparison with the baseline."""

    tolerance: float = Field(0.02, ge=0, description="drops up to this size never fail (score units)")
    alpha: float = Field(0.05, gt=0, lt=1, description="one-sided significance level")
    test: Literal["permutation", "bootstrap"] = "permutation"
    null: Literal["no_change", "tolerance"] = Field(
        "no_change",
        description="no_change: test the drop against 0; tolerance: test that it exceeds the tolerance",
    )
    resamples: int = Field(10_000, ge=100, le=1_000_000)
    seed: int = 0
    confidence: float = Field(0.95, gt=0, lt=1, description="level of the bootstrap CI of the difference")
    missing: Literal["warn", "fail"] = Field(
        "warn", description="baseline questions absent from (or unscored in) the candidate: warn or fail"
    )


class PerQuestion(_Strict):
    top: int = Field(5, ge=0, le=1000, description="how many of the most regressed questions to list")
    drop: float = Field(
        0.0, ge=0, description="a question counts as regressed when it fell by more than this"
    )
    max_regressed: int | None = Field(None, ge=0, description="fail when more questions regressed")


class ValidateOptions(_Strict):
    """How ``judgekit validate`` reads the drift set's human labels (its options of the same names)."""

    scale: str | list[float] | None = Field(None, description='human label scale, e.g. "0-2"')
    judge_scale: str | list[float] | None = None
    dimension: str | None = Field(None, description="which dimension of a multi-dimension label file")
    group: str | None = Field(None, description="field holding each unit's group (group_* statistics)")
    human_format: Literal["auto", "long", "wide", "mean"] | None = None
    id_field: str | None = None
    annotator_field: str | None = None
    label_field: str | None = None
    allow_missing: bool | None = Field(None, description="drop labelled ids the judge did not score")
    confidence: float | None = Field(None, gt=0, lt=1)


class Drift(_Strict):
    """A pinned, human-labelled set re-scored with the candidate's judge: does the judge still agree?"""

    dataset: Path | None = None
    responses: Path | None = None
    labels: Path = Field(description="human labels, in any format `judgekit validate` reads")
    scores: Path | None = Field(None, description="a pre-computed score file of the set (skips re-scoring)")
    level: Literal["question", "aspect"] = Field(
        "question", description="compare question scores, or aspect scores (label ids 'ID::ASPECT')"
    )
    floors: dict[str, float] = Field(description="agreement statistic -> minimum, e.g. {spearman: 0.5}")
    use: Literal["estimate", "ci_low"] = Field(
        "estimate", description="compare the point estimate, or the lower end of its bootstrap CI"
    )
    fresh: bool = Field(
        False,
        description="re-ask the judge instead of reading the score cache: catches a model changed under "
        "the same name, at one call per drift unit per run",
    )
    resamples: int = Field(1000, ge=0, le=100_000)
    seed: int = 0
    options: ValidateOptions = Field(
        default_factory=ValidateOptions, description="how `judgekit validate` reads the labels"
    )

    @model_validator(mode="after")
    def _inputs(self) -> Drift:
        if not self.floors:
            raise ValueError("drift.floors: name at least one statistic, e.g. {spearman: 0.5}")
        if self.scores is None and (self.dataset is None or self.responses is None):
            raise ValueError("drift needs 'dataset' and 'responses' (to re-score), or 'scores'")
        return self


class Provenance(_Strict):
    strict: bool = Field(False, description="fail (not just warn) when inputs were judged differently")


class GateConfig(_Strict):
    """The gate YAML file. Unknown keys are errors; paths are relative to the file's folder."""

    version: Literal[1] = 1
    floors: Floors = Field(default_factory=Floors)
    regression: Regression | None = Field(default_factory=Regression)
    per_question: PerQuestion = Field(default_factory=PerQuestion)
    drift: Drift | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("regression", mode="before")
    @classmethod
    def _regression_off(cls, v: Any) -> Any:
        return None if v is False else v

    def resolved(self, base: Path) -> GateConfig:
        """Drift paths made absolute against ``base`` (the config file's folder)."""
        if self.drift is None:
            return self
        updates = {
            k: (base / p if p is not None and not p.is_absolute() else p)
            for k in ("dataset", "responses", "labels", "scores")
            for p in [getattr(self.drift, k)]
        }
        return self.model_copy(update={"drift": self.drift.model_copy(update=updates)})


def load_config(path: str | Path | None) -> GateConfig:
    """Read and validate a gate YAML file (``None``: the defaults, a regression check only)."""
    if path is None:
        return GateConfig()
    from judgekit.yamlfile import read_mapping, validate

    p = Path(path)
    config = validate(p, GateConfig, read_mapping(p, "a gate YAML file"))
    return config.resolved(p.resolve().parent)


# ----------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------


class Check(BaseModel):
    """One check's outcome: a JUnit test case, a row of the Markdown table."""

    name: str
    kind: Kind
    status: Status
    message: str
    value: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PairedStats(BaseModel):
    """The paired comparison: ``diff = candidate - baseline`` per shared question."""

    n: int
    mean_baseline: float
    mean_candidate: float
    mean_diff: float
    ci_low: float | None
    ci_high: float | None
    confidence: float
    p_value: float
    test: str
    null_diff: float
    resamples: int
    exact: bool
    cohen_dz: float | None
    seed: int


class AspectChange(BaseModel):
    aspect: str
    baseline: float | None
    candidate: float | None
    diff: float | None
    baseline_status: str | None = None
    candidate_status: str | None = None


class QuestionChange(BaseModel):
    id: str
    baseline: float | None
    candidate: float | None
    diff: float | None
    category: str | None = None
    aspects: list[AspectChange] = Field(default_factory=list)


class GateResult(BaseModel):
    passed: bool
    checks: list[Check]
    regression: PairedStats | None = None
    regressed: list[QuestionChange] = Field(default_factory=list)
    missing: dict[str, list[str]] = Field(default_factory=dict)
    mismatches: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    drift: dict[str, Any] | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == "warn"]

    def to_json(self) -> dict[str, Any]:
        return {"judgekit_gate": 1, **self.model_dump(mode="json")}


# ----------------------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------------------

#: Target number of array elements per chunk of resamples.
_CHUNK = 2_000_000


def _chunks(total: int, width: int) -> list[int]:
    size = max(1, min(total, _CHUNK // max(width, 1)))
    return [min(size, total - start) for start in range(0, total, size)]


def bootstrap_means(diffs: FloatArray, resamples: int, seed: int) -> FloatArray:
    """Means of ``resamples`` bootstrap resamples of ``diffs`` (questions drawn with replacement)."""
    n = diffs.size
    rng = np.random.default_rng(seed)
    out = [diffs[rng.integers(0, n, size=(size, n))].mean(axis=1) for size in _chunks(resamples, n)]
    return np.concatenate(out) if out else np.empty(0)


def sign_flip_means(centred: FloatArray, resamples: int, seed: int) -> tuple[FloatArray, bool]:
    """Means of ``centred`` under random sign flips; every one of the ``2**n`` flips when that is at most
    ``resamples`` (an exact test). Returns ``(means, exact)``."""
    n = centred.size
    if n <= 20 and 2**n <= resamples:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        signs = 1.0 - 2.0 * ((codes >> np.arange(n, dtype=np.int64)) & 1)
        return (signs @ centred) / n, True
    rng = np.random.default_rng(seed)
    total = float(centred.sum())
    width = (n + 7) // 8
    out = []
    for size in _chunks(resamples, n):
        raw = np.frombuffer(rng.bytes(size * width), dtype=np.uint8).reshape(size, width)
        flipped = np.unpackbits(raw, axis=1, count=n).astype(np.float64)
        out.append((total - 2.0 * (flipped @ centred)) / n)
    return np.concatenate(out), False


def paired_test(
    baseline: Sequence[float] | FloatArray,
    candidate: Sequence[float] | FloatArray,
    *,
    test: Literal["permutation", "bootstrap"] = "permutation",
    null_diff: float = 0.0,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedStats:
    """One-sided paired test of ``H0: mean(candidate - baseline) >= null_diff`` against a drop.

    ``permutation``: sign-flip randomisation test of ``diff - null_diff`` (exact when ``2**n <= resamples``).
    ``bootstrap``: the shifted-null paired bootstrap, ``p = (1 + #{m* - m <= m - null_diff}) / (B + 1)``.
    The CI is always the percentile bootstrap interval of the mean difference. Deterministic for a seed.
    """
    base = np.asarray(baseline, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if base.shape != cand.shape or base.ndim != 1:
        raise ValueError("baseline and candidate must be paired vectors of the same length")
    if base.size == 0:
        raise ValueError("no paired values")
    diffs = cand - base
    n = diffs.size
    mean = float(diffs.mean())
    boot = bootstrap_means(diffs, resamples, seed)
    tail = (1.0 - confidence) / 2.0
    lo, hi = (float(v) for v in np.quantile(boot, [tail, 1.0 - tail]))
    eps = 1e-9 * max(1.0, float(np.abs(diffs).max()))
    exact = False
    if test == "permutation":
        centred = diffs - null_diff
        flipped, exact = sign_flip_means(centred, resamples, seed)
        hits = int(np.count_nonzero(flipped <= centred.mean() + eps))
        p = hits / flipped.size if exact else (1 + hits) / (flipped.size + 1)
        used = int(flipped.size)
    elif test == "bootstrap":
        hits = int(np.count_nonzero(boot - mean <= mean - null_diff + eps))
        p = (1 + hits) / (boot.size + 1)
        used = int(boot.size)
    else:
        raise ValueError(f"unknown test {test!r}")
    sd = float(diffs.std(ddof=1)) if n > 1 else 0.0
    dz = mean / sd if sd > 0 else None
    return PairedStats(
        n=n,
        mean_baseline=float(base.mean()),
        mean_candidate=float(cand.mean()),
        mean_diff=mean,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        p_value=min(1.0, p),
        test=test,
        null_diff=null_diff,
        resamples=used,
        exact=exact,
        cohen_dz=dz,
        seed=seed,
    )


# ----------------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}".replace("-", "−")


def _floor_check(name: str, label: str, value: float | None, floor: float, extra: str = "") -> Check:
    if value is None or not math.isfinite(value):
        return Check(
            name=name,
            kind="floor",
            status="fail",
            message=f"{label}: nothing scored{extra}, floor {floor:g}",
            threshold=floor,
        )
    ok = value >= floor
    return Check(
        name=name,
        kind="floor",
        status="pass" if ok else "fail",
        message=f"{label} {_f(value)} {'>=' if ok else '<'} {floor:g}{extra}",
        value=value,
        threshold=floor,
    )


def floor_checks(candidate: ScoreFile, floors: Floors, where: str = "candidate") -> list[Check]:
    checks: list[Check] = []
    if floors.score is not None:
        checks.append(_floor_check("floor.score", "overall score", candidate.score, floors.score))
    if floors.coverage is not None:
        cov = candidate.coverage
        checks.append(
            _floor_check(
                "floor.coverage",
                "coverage",
                cov.ratio,
                floors.coverage,
                f" ({cov.scored}/{cov.total} aspects scored)",
            )
        )
    if floors.aspects:
        values: dict[str, list[float]] = defaultdict(list)
        seen: set[str] = set()
        for q in candidate.per_question_scores:
            for a in q.details:
                seen.add(a.aspect)
                if a.score is not None and a.status == "scored":
                    values[a.aspect].append(a.score)
        for aspect, floor in floors.aspects.items():
            if aspect not in seen:
                raise ConfigError(
                    f"floors.aspects: no aspect {aspect!r} in the {where} score file" + _available(seen)
                )
            vals = values.get(aspect, [])
            mean = float(np.mean(vals)) if vals else None
            checks.append(
                _floor_check(
                    f"floor.aspect[{aspect}]", f"aspect {aspect!r}", mean, floor, f" (n={len(vals)})"
                )
            )
    if floors.categories:
        cats: dict[str, list[float]] = defaultdict(list)
        seen = set()
        for q in candidate.per_question_scores:
            if q.category is not None:
                seen.add(q.category)
                if q.score is not None:
                    cats[q.category].append(q.score)
        for category, floor in floors.categories.items():
            if category not in seen:
                raise ConfigError(
                    f"floors.categories: no category {category!r} in the {where} score file"
                    + _available(seen)
                )
            vals = cats.get(category, [])
            mean = float(np.mean(vals)) if vals else None
            checks.append(
                _floor_check(
                    f"floor.category[{category}]",
                    f"category {category!r}",
                    mean,
                    floor,
                    f" (n={len(vals)})",
                )
            )
    if floors.lexical:
        overall = (candidate.lexical or {}).get("overall") or {}
        if not isinstance(overall, Mapping) or not overall:
            raise ConfigError(
                f"floors.lexical: the {where} score file has no lexical metrics "
                "(score with --references to add them)"
            )
        for metric, floor in floors.lexical.items():
            if metric not in overall:
                raise ConfigError(
                    f"floors.lexical: no metric {metric!r} in the {where}" + _available(overall)
                )
            raw = overall[metric]
            value = float(raw) if isinstance(raw, int | float) else None
            checks.append(_floor_check(f"floor.lexical[{metric}]", metric, value, floor))
    return checks


def _available(names: Any) -> str:
    shown = sorted(str(n) for n in names)
    if not shown:
        return ""
    more = f" (and {len(shown) - 8} more)" if len(shown) > 8 else ""
    return "; available: " + ", ".join(repr(s) for s in shown[:8]) + more


def _aspect_changes(base: QuestionResult | None, cand: QuestionResult | None) -> list[AspectChange]:
    b = {a.aspect: a for a in base.details} if base else {}
    c = {a.aspect: a for a in cand.details} if cand else {}
    out = []
    for name in list(dict.fromkeys([*b, *c])):
        ba, ca = b.get(name), c.get(name)
        bs = ba.score if ba is not None else None
        cs = ca.score if ca is not None else None
        diff = cs - bs if bs is not None and cs is not None else None
        b_status = ba.status if ba is not None else "absent"
        c_status = ca.status if ca is not None else "absent"
        if (diff is not None and diff != 0) or b_status != c_status:
            out.append(
                AspectChange(
                    aspect=name,
                    baseline=bs,
                    candidate=cs,
                    diff=diff,
                    baseline_status=b_status,
                    candidate_status=c_status,
                )
            )
    out.sort(key=lambda a: a.diff if a.diff is not None else -math.inf)
    return out


def compare(
    candidate: ScoreFile, baseline: ScoreFile, config: GateConfig
) -> tuple[list[Check], PairedStats | None, list[QuestionChange], dict[str, list[str]]]:
    """The regression and per-question checks; raises :class:`InputError` when no question is shared."""
    cand = candidate.by_id()
    base = baseline.by_id()
    shared = [qid for qid in base if qid in cand]
    if not shared:
        raise InputError(
            "baseline and candidate share no question id; were they scored on the same dataset? "
            f"(baseline: {_ids(list(base))}; candidate: {_ids(list(cand))})"
        )
    missing = {
        "baseline_only": [qid for qid in base if qid not in cand],
        "candidate_only": [qid for qid in cand if qid not in base],
        "unscored_in_candidate": [
            qid for qid in shared if cand[qid].score is None and base[qid].score is not None
        ],
        "unscored_in_baseline": [qid for qid in shared if base[qid].score is None],
    }
    paired = [qid for qid in shared if cand[qid].score is not None and base[qid].score is not None]
    checks: list[Check] = []
    stats: PairedStats | None = None
    reg = config.regression
    if reg is not None:
        if not paired:
            checks.append(
                Check(
                    name="regression",
                    kind="regression",
                    status="fail",
                    message=f"no question is scored in both files ({len(shared)} shared ids)",
                )
            )
        else:
            stats = paired_test(
                [base[q].score for q in paired],  # type: ignore[misc]
                [cand[q].score for q in paired],  # type: ignore[misc]
                test=reg.test,
                null_diff=-reg.tolerance if reg.null == "tolerance" else 0.0,
                resamples=reg.resamples,
                seed=reg.seed,
                confidence=reg.confidence,
            )
            checks.append(_regression_check(stats, reg))
        lost = missing["baseline_only"] + missing["unscored_in_candidate"]
        if lost:
            status: Status = "fail" if reg.missing == "fail" else "warn"
            checks.append(
                Check(
                    name="regression.missing",
                    kind="regression",
                    status=status,
                    message=f"{len(lost)} baseline question(s) missing or unscored in the candidate: "
                    + _ids(lost),
                    value=float(len(lost)),
                    details={k: v for k, v in missing.items() if v},
                )
            )
    changes = _question_changes(shared, base, cand)
    pq = config.per_question
    regressed = [
        c
        for c in changes
        if (c.diff is not None and c.diff < -pq.drop and c.diff < 0)
        or (c.candidate is None and c.baseline is not None)
    ]
    if pq.max_regressed is not None or pq.top > 0:
        checks.append(_per_question_check(regressed, len(shared), pq))
    return checks, stats, regressed[: pq.top], missing


def _question_changes(
    shared: Sequence[str], base: Mapping[str, QuestionResult], cand: Mapping[str, QuestionResult]
) -> list[QuestionChange]:
    out = []
    for qid in shared:
        b, c = base[qid], cand[qid]
        diff = c.score - b.score if c.score is not None and b.score is not None else None
        out.append(
            QuestionChange(
                id=qid,
                baseline=b.score,
                candidate=c.score,
                diff=diff,
                category=c.category or b.category,
                aspects=_aspect_changes(b, c),
            )
        )
    # became unscored first (worst), then by drop; ties by id for a stable order
    out.sort(key=lambda q: (q.diff if q.diff is not None else -math.inf, q.id))
    return out


def _ids(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "") if ids else "none"


def _regression_check(s: PairedStats, reg: Regression) -> Check:
    drop = -s.mean_diff
    significant = s.p_value < reg.alpha
    too_big = drop > reg.tolerance
    ci = f"{round(s.confidence * 100)}% CI [{_signed(s.ci_low)}, {_signed(s.ci_high)}]"
    effect = (
        f"Δ {_signed(s.mean_diff)} ({ci}) over {s.n} paired question(s), "
        f"{_p(s.p_value)} ({s.test}{', exact' if s.exact else ''})"
    )
    if too_big and significant:
        status: Status = "fail"
        why = f"dropped {_f(drop)} > tolerance {reg.tolerance:g} and p < {reg.alpha:g}"
    elif too_big:
        status = "pass"
        why = f"drop {_f(drop)} > tolerance {reg.tolerance:g} but not significant (p ≥ {reg.alpha:g}): noise"
    elif drop > 0:
        status = "pass"
        why = f"drop {_f(drop)} within tolerance {reg.tolerance:g}"
    else:
        status = "pass"
        why = "no drop"
    return Check(
        name="regression",
        kind="regression",
        status=status,
        message=f"{why}; {effect}",
        value=s.mean_diff,
        threshold=-reg.tolerance,
        details=s.model_dump(),
    )


def _p(p: float) -> str:
    """``p=0.03`` or ``p<0.001``."""
    return f"p={p:.2g}" if p >= 0.001 else "p<0.001"


def _per_question_check(regressed: list[QuestionChange], n_shared: int, pq: PerQuestion) -> Check:
    n = len(regressed)
    worst = ", ".join(
        f"{q.id} ({_signed(q.diff, 2) if q.diff is not None else 'unscored'})" for q in regressed[:3]
    )
    text = f"{n} of {n_shared} question(s) fell" + (f" by more than {pq.drop:g}" if pq.drop else "")
    if worst:
        text += f"; worst: {worst}"
    if pq.max_regressed is not None and n > pq.max_regressed:
        return Check(
            name="per_question",
            kind="per_question",
            status="fail",
            message=f"{text}; more than the {pq.max_regressed} allowed",
            value=float(n),
            threshold=float(pq.max_regressed),
        )
    return Check(
        name="per_question",
        kind="per_question",
        status="pass",
        message=text,
        value=float(n),
        threshold=None if pq.max_regressed is None else float(pq.max_regressed),
    )


# ----------------------------------------------------------------------------------------------------------
# Provenance
# ----------------------------------------------------------------------------------------------------------


def _meta_value(meta: Mapping[str, Any], section: str, key: str) -> Any:
    part = meta.get(section)
    return part.get(key) if isinstance(part, Mapping) else None


def has_provenance(score_file: ScoreFile) -> bool:
    return any(_meta_value(score_file.meta, s, k) is not None for s, k in PROVENANCE_FIELDS)


def provenance_mismatches(a: ScoreFile, b: ScoreFile, a_name: str, b_name: str) -> list[str]:
    """Human-readable differences in rubric / judge settings between two score files."""
    out = []
    for section, key in PROVENANCE_FIELDS:
        va, vb = _meta_value(a.meta, section, key), _meta_value(b.meta, section, key)
        if va != vb:
            out.append(f"{section}.{key}: {a_name} {_short(va)} vs {b_name} {_short(vb)}")
    return out


def _short(value: Any) -> str:
    text = "missing" if value is None else str(value)
    if len(text) > 64 and all(ch in "0123456789abcdef" for ch in text):
        return text[:12] + "…"
    return text if len(text) <= 90 else text[:87] + "..."


def provenance_check(
    candidate: ScoreFile,
    baseline: ScoreFile | None,
    drift_scores: ScoreFile | None,
    strict: bool,
) -> tuple[Check, list[str]]:
    mismatches: list[str] = []
    unknown: list[str] = []
    if not has_provenance(candidate):
        unknown.append("candidate")
    if baseline is not None:
        if not has_provenance(baseline):
            unknown.append("baseline")
        elif "candidate" not in unknown:
            mismatches += provenance_mismatches(baseline, candidate, "baseline", "candidate")
    if drift_scores is not None and "candidate" not in unknown:
        mismatches += [
            "drift " + m for m in provenance_mismatches(drift_scores, candidate, "drift set", "candidate")
        ]
    notes = [f"unknown provenance: the {w} score file has no rubric/judge metadata" for w in unknown]
    if baseline is None and drift_scores is None:
        status: Status = "skip"
        message = "no baseline or drift scores to compare the candidate's rubric and judge with"
    elif mismatches:
        status = "fail" if strict else "warn"
        message = "inputs were judged differently: " + "; ".join(mismatches)
        if not strict:
            message += " (use --strict to fail on this)"
    elif unknown:
        status = "warn"
        message = "; ".join(notes)
    else:
        status = "pass"
        compared = "baseline and candidate" if baseline is not None else "candidate"
        message = f"same rubric and judge settings ({compared}" + (" and drift set)" if drift_scores else ")")
    if mismatches and unknown:
        message += "; " + "; ".join(notes)
    return (
        Check(
            name="provenance",
            kind="provenance",
            status=status,
            message=message,
            details={"mismatches": mismatches, "unknown": unknown, "strict": strict},
        ),
        mismatches + notes,
    )


# ----------------------------------------------------------------------------------------------------------
# Input values: refuse what cannot be judged
# ----------------------------------------------------------------------------------------------------------

#: The range of a question score, by the rubric's ``question_score`` (``None``: the rubric's own scale).
_QUESTION_RANGE: dict[str, tuple[float, float] | None] = {"normalized": (0.0, 1.0), "pairwise": (0.0, 1.0)}
_SLACK = 1e-9


@dataclass(frozen=True)
class ScoreBounds:
    """The valid range of unit (aspect) scores and of question / overall scores in a score file."""

    aspect: tuple[float, float]
    question: tuple[float, float] | None
    rubric: str


def score_bounds(sf: ScoreFile) -> ScoreBounds | None:
    """The scale a score file's scores must lie in, from where it is known.

    In order: ``meta.rubric.scale`` (with ``meta.rubric.question_score``), the rubric folder recorded in
    ``meta.rubric.folder``, the built-in rubric named by ``meta.rubric.name``; a file without rubric
    metadata is a plain LaMP-QA file (aspects 0..2, questions 0..1). ``None`` when the rubric is unknown.
    """
    rubric = sf.meta.get("rubric")
    if not isinstance(rubric, Mapping):
        return _bounds_of_rubric("lamp_qa")
    name = str(rubric.get("name") or "?")
    scale = rubric.get("scale")
    if isinstance(scale, Mapping) and _is_number(scale.get("min")) and _is_number(scale.get("max")):
        lo, hi = float(scale["min"]), float(scale["max"])
        kind = rubric.get("question_score")
        question = _QUESTION_RANGE.get(kind, (lo, hi)) if isinstance(kind, str) else None
        return ScoreBounds((lo, hi), question, name)
    for ref in (rubric.get("folder"), rubric.get("name")):
        if isinstance(ref, str) and ref:
            found = _bounds_of_rubric(ref)
            if found is not None:
                return found
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bounds_of_rubric(ref: str) -> ScoreBounds | None:
    from judgekit.errors import RubricError
    from judgekit.rubric import load_rubric

    try:
        spec = load_rubric(ref).spec
    except RubricError:
        return None
    lo, hi = spec.scale.min, spec.scale.max
    return ScoreBounds((lo, hi), _QUESTION_RANGE.get(spec.question_score, (lo, hi)), spec.name)


def check_score_values(sf: ScoreFile, name: str) -> None:
    """Raise :class:`InputError` on the first non-finite or out-of-scale score (overall, question, aspect).

    A NaN compares false with every floor and difference, so without this a file of NaNs would pass.
    """
    bounds = score_bounds(sf)
    question_range = bounds.question if bounds is not None else None
    for q in sf.per_question_scores:
        _check_value(q.score, question_range, bounds, f"{name}: question {q.id!r}: score")
        for a in q.details:
            where = f"{name}: question {q.id!r}, aspect {a.aspect!r}: score"
            _check_value(a.score, bounds.aspect if bounds is not None else None, bounds, where)
    _check_value(sf.score, question_range, bounds, f"{name}: overall score")


def _check_value(
    value: float | None, allowed: tuple[float, float] | None, bounds: ScoreBounds | None, where: str
) -> None:
    if value is None:
        return
    shown = json.dumps(value)  # NaN, Infinity, -Infinity: as the file spells them
    if not math.isfinite(value):
        raise InputError(f"{where} {shown} is not a finite number; the gate cannot judge it")
    if allowed is not None and not allowed[0] - _SLACK <= value <= allowed[1] + _SLACK:
        rubric = f" of rubric {bounds.rubric!r}" if bounds is not None else ""
        raise InputError(f"{where} {shown} is outside the scale{rubric} ({allowed[0]:g}..{allowed[1]:g})")


def _nothing_checked(checks: Sequence[Check], config_given: bool, baseline_given: bool) -> str | None:
    """Why no check judged anything (every one skipped), or ``None`` when something was checked."""
    if any(c.status != "skip" for c in checks):
        return None
    if not config_given and not baseline_given:
        return (
            "nothing to check: give --baseline FILE (a paired regression test against a stored score file) "
            "and/or --config FILE with floors or a drift set"
        )
    skipped = "; ".join(f"{c.name}: {c.message}" for c in checks)
    return (
        f"nothing to check, every check was skipped ({skipped}); give --baseline FILE, "
        "or floors or a drift set in the config"
    )


# ----------------------------------------------------------------------------------------------------------
# The gate
# ----------------------------------------------------------------------------------------------------------


def gate(
    candidate: str | Path | ScoreFile,
    baseline: str | Path | ScoreFile | None = None,
    config: str | Path | GateConfig | None = None,
    *,
    strict: bool | None = None,
    drift_scores: str | Path | ScoreFile | None = None,
    drift_judge: str | None = None,
    drift_judge_options: Any = None,
    cache: str | Path | bool = True,
    drift_fresh: bool | None = None,
) -> GateResult:
    """Run the checks of ``config`` on ``candidate`` (against ``baseline`` if given); never writes files.

    ``drift_scores`` (a score file of the pinned set) overrides ``drift.scores`` in the config; otherwise the
    drift set is re-scored with :func:`judgekit.score`, using the candidate's rubric and judge settings (from
    its ``meta``) and ``drift_judge`` / ``drift_judge_options`` (a :class:`~judgekit.judges.JudgeOptions`) when
    given. With the score cache kept, an unchanged judge costs no judge call; ``drift_fresh`` (or
    ``drift.fresh``) bypasses the cache so that a model changed under the same name is caught.
    """
    cfg = config if isinstance(config, GateConfig) else load_config(config)
    cand = candidate if isinstance(candidate, ScoreFile) else load_score_file(candidate)
    base = baseline if isinstance(baseline, ScoreFile) or baseline is None else load_score_file(baseline)
    is_strict = cfg.provenance.strict if strict is None else strict
    check_score_values(cand, _name(candidate, "candidate"))
    if base is not None:
        check_score_values(base, _name(baseline, "baseline"))

    checks = floor_checks(cand, cfg.floors)
    stats: PairedStats | None = None
    regressed: list[QuestionChange] = []
    missing: dict[str, list[str]] = {}
    if base is not None:
        reg_checks, stats, regressed, missing = compare(cand, base, cfg)
        checks += reg_checks
    else:
        if cfg.regression is not None:
            checks.append(
                Check(
                    name="regression",
                    kind="regression",
                    status="skip",
                    message="no baseline given (--baseline): regression checks skipped",
                )
            )
    drift_info: dict[str, Any] | None = None
    drift_file: ScoreFile | None = None
    if cfg.drift is not None:
        from judgekit.gate_drift import drift_checks

        drift_result = drift_checks(
            cfg.drift,
            cand,
            drift_scores=drift_scores,
            judge=drift_judge,
            judge_options=drift_judge_options,
            cache=cache,
            fresh=cfg.drift.fresh if drift_fresh is None else drift_fresh,
        )
        checks += drift_result.checks
        drift_info = drift_result.info
        drift_file = drift_result.scores
    prov, mismatches = provenance_check(cand, base, drift_file, is_strict)
    checks.append(prov)
    nothing = _nothing_checked(checks, config is not None, base is not None)
    if nothing is not None:
        raise ConfigError(nothing)
    inputs: dict[str, Any] = {
        "candidate": _describe(candidate, cand),
        "baseline": _describe(baseline, base) if base is not None else None,
    }
    return GateResult(
        passed=not any(c.status == "fail" for c in checks),
        checks=checks,
        regression=stats,
        regressed=regressed,
        missing={k: v for k, v in missing.items() if v},
        mismatches=mismatches,
        inputs=inputs,
        config=cfg.model_dump(mode="json"),
        drift=drift_info,
    )


def _name(source: Any, role: str) -> str:
    """How error messages name an input: its path, or its role when given as an object."""
    return role if isinstance(source, ScoreFile) else str(source)


def _describe(source: Any, sf: ScoreFile) -> dict[str, Any]:
    return {
        "path": None if isinstance(source, ScoreFile) else str(source),
        "score": sf.score,
        "questions": len(sf.per_question_scores),
        "coverage": sf.coverage.ratio,
        "rubric": sf.meta.get("rubric", {}).get("name") if isinstance(sf.meta.get("rubric"), dict) else None,
        "judge": sf.meta.get("judge", {}).get("identity") if isinstance(sf.meta.get("judge"), dict) else None,
    }


make_module_callable(__name__, gate)
