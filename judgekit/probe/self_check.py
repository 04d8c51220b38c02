"""The ``self`` probe: does the judge favour its own model's outputs beyond what a reference judge sees?

A raw "the judge scores its own outputs higher" mixes self-preference with real quality, so the effect is a
difference in differences against a reference judge (Panickssery et al. 2024): per unit,
``d_own = S_self(own) - S_ref(own)`` and ``d_other = S_self(other) - S_ref(other)``; the effect is the mean of
``d_own - d_other`` over units scored in all four runs. Its CI resamples whole questions (a question's units
are not independent); the p-value is a sign-flip test on the per-unit ``d_own - d_other``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from judgekit.errors import ConfigError
from judgekit.judges.panel_spec import JudgeSpec, PanelJudge
from judgekit.stats.resampling import Resample, bootstrap, percentile_ci

if TYPE_CHECKING:
    from judgekit.results import ScoreFile

DEFINITION = (
    "mean over units of (self judge - reference judge) on the self model's responses minus the same on the "
    "other responses (difference in differences)"
)
CI = "95% percentile bootstrap over questions (whole questions resampled), paired"


def spec_name(spec: JudgeSpec) -> str:
    """How a judge spec is named in messages and in the output."""
    if isinstance(spec, PanelJudge):
        return spec.label
    return spec.strip() if isinstance(spec, str) else str(getattr(spec, "identity", spec))


def check_self_options(
    probes: Sequence[str],
    judge: JudgeSpec | Sequence[JudgeSpec],
    self_model: str | None,
    self_responses: object,
    reference_judge: JudgeSpec | None,
) -> None:
    """One-line errors before any judge call: the probe's options are all given and consistent."""
    given = [n for n, v in (("--self", self_model), ("--self-responses", self_responses)) if v is not None]
    if reference_judge is not None:
        given.append("--reference-judge")
    if "self" not in probes:
        if given:
            raise ConfigError(f"{given[0]} is for the 'self' probe; add self to --probes")
        return
    for flag, value in (
        ("--self", self_model),
        ("--self-responses", self_responses),
        ("--reference-judge", reference_judge),
    ):
        if value is None:
            raise ConfigError(f"probe 'self' needs {flag}")
    judges = (
        [judge] if isinstance(judge, str | PanelJudge) or not isinstance(judge, Sequence) else list(judge)
    )
    names = [spec_name(j) for j in judges]
    assert self_model is not None and reference_judge is not None
    if len(names) != 1 or names[0] != self_model.strip():
        raise ConfigError(
            f"--self {self_model!r} must name the judge of the run (--judge {' '.join(names)!r}): the self "
            "probe measures the judge on its own model's outputs"
        )
    if spec_name(reference_judge) == names[0]:
        raise ConfigError("--reference-judge must be another judge than --judge")


def _scores(sf: ScoreFile) -> dict[tuple[str, int], tuple[str, float | None]]:
    return {(q.id, j): (a.aspect, a.score) for q in sf.per_question_scores for j, a in enumerate(q.details)}


def self_units(
    self_own: ScoreFile, self_other: ScoreFile, ref_own: ScoreFile, ref_other: ScoreFile
) -> list[dict[str, Any]]:
    """One row per unit of the four runs; ``diff`` (``d_own - d_other``) is None unless all four scored it."""
    so, sx, ro, rx = (_scores(sf) for sf in (self_own, self_other, ref_own, ref_other))
    units: list[dict[str, Any]] = []
    for key, (aspect, s_so) in so.items():
        s_sx, s_ro, s_rx = (m.get(key, (aspect, None))[1] for m in (sx, ro, rx))
        row: dict[str, Any] = {"id": key[0], "aspect": aspect, "self_own": s_so, "ref_own": s_ro}
        row.update(self_other=s_sx, ref_other=s_rx, d_own=None, d_other=None, diff=None)
        if None not in (s_so, s_ro, s_sx, s_rx):
            assert s_so is not None and s_ro is not None and s_sx is not None and s_rx is not None
            row.update(d_own=s_so - s_ro, d_other=s_sx - s_rx)
            row["diff"] = row["d_own"] - row["d_other"]
        units.append(row)
    return units


def question_bootstrap_ci(
    ids: Sequence[str], diffs: Sequence[float], *, resamples: int, seed: int, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile CI of the mean unit difference, whole questions drawn with replacement."""
    if not diffs or resamples <= 0:
        return None, None
    codes = {q: k for k, q in enumerate(dict.fromkeys(ids))}
    d = np.asarray(diffs, dtype=np.float64)

    def mean(res: Resample) -> Any:
        w = res.items.astype(np.float64)
        return (w @ d) / w.sum(axis=1)

    groups = np.asarray([codes[q] for q in ids], dtype=np.int64)
    means = bootstrap({"mean": mean}, d.size, groups=groups, n_boot=resamples, seed=seed)["mean"]
    lo, hi, _ = percentile_ci(means, level)
    return lo, hi
