"""Agreement statistics for the gate's drift check, computed by :func:`judgekit.validate.validate`.

The gate names each figure of a ``judgekit validate`` report with one flat key (``spearman``,
``krippendorff_alpha_interval``, ``cohen_kappa_quadratic``, ...) so a floor can be declared as
``{name: minimum}`` in the gate YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit.errors import ConfigError, InputError
from judgekit.results import ScoreFile

if TYPE_CHECKING:
    from judgekit.gate.config import Drift
    from judgekit.validate import DimensionReport, Interval

_Getter = Callable[["DimensionReport"], "Interval | None"]


def _pooled(method: str) -> _Getter:
    return lambda d: getattr(d.correlations.pooled, method)


def _per_group(method: str) -> _Getter:
    return lambda d: getattr(d.correlations.per_group, method) if d.correlations.per_group else None


def _alpha(level: str) -> _Getter:
    return lambda d: (d.alpha.humans_and_judge or {}).get(level) if d.alpha else None


def _kappa(weights: str, against: str) -> _Getter:
    def get(d: DimensionReport) -> Interval | None:
        if d.kappa is None:
            return None
        table = d.kappa.vs_mean if against == "mean" else d.kappa.vs_majority
        return (table or {}).get(weights)

    return get


#: Statistic name (as written in the gate YAML) -> where ``judgekit validate`` reports it.
STATISTICS: dict[str, _Getter] = {
    **{m: _pooled(m) for m in ("pearson", "spearman", "kendall")},
    **{f"group_{m}": _per_group(m) for m in ("pearson", "spearman", "kendall")},
    **{f"krippendorff_alpha_{lv}": _alpha(lv) for lv in ("nominal", "ordinal", "interval", "ratio")},
    "cohen_kappa": _kappa("unweighted", "mean"),
    "cohen_kappa_linear": _kappa("linear", "mean"),
    "cohen_kappa_quadratic": _kappa("quadratic", "mean"),
    "cohen_kappa_majority": _kappa("unweighted", "majority"),
    "cohen_kappa_majority_linear": _kappa("linear", "majority"),
    "cohen_kappa_majority_quadratic": _kappa("quadratic", "majority"),
}

_WHY_MISSING = {
    "group_": "per-group correlations need drift.options.group",
    "krippendorff": "alpha needs per-annotator labels on the judge's scale",
    "cohen_kappa": "kappa needs the judge on the human label scale",
}


def check_statistic_names(floors: dict[str, float]) -> None:
    unknown = [k for k in floors if k not in STATISTICS]
    if unknown:
        raise ConfigError(
            f"drift.floors: unknown statistic {unknown[0]!r}; choose from {', '.join(STATISTICS)}"
        )


def agreement_statistics(
    scores: ScoreFile, scores_path: Path | None, drift: Drift
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each statistic named in ``drift.floors`` as ``{value, ci_low, ci_high, n, n_boot}`` (``value`` is
    ``None`` where undefined), and ``judgekit validate``'s notes."""
    from judgekit.validate import validate

    opts = drift.options
    kwargs: dict[str, Any] = opts.model_dump(exclude_none=True, exclude={"dimension"})
    if opts.dimension is not None:
        kwargs["dimensions"] = [opts.dimension]
    judge = scores if scores_path is None else scores_path
    report = validate(
        judge, drift.labels, level=drift.level, n_boot=drift.resamples, seed=drift.seed, **kwargs
    )
    if len(report.dimensions) != 1:
        found = ", ".join(repr(d.dimension) for d in report.dimensions)
        raise InputError(
            f"{drift.labels}: labels for several dimensions ({found}); set drift.options.dimension"
        )
    dim = report.dimensions[0]
    out: dict[str, dict[str, Any]] = {}
    notes = list(dim.notes)
    for name in drift.floors:
        interval = STATISTICS[name](dim)
        if interval is None:
            why = next((v for k, v in _WHY_MISSING.items() if name.startswith(k)), "not reported")
            out[name] = {
                "value": None,
                "ci_low": None,
                "ci_high": None,
                "n": dim.n_used,
                "n_boot": 0,
                "why": why,
            }
        else:
            out[name] = interval.model_dump()
    if dim.n_dropped:
        notes.append(
            f"{dim.n_dropped} unit(s) dropped: " + "; ".join(f"{d.count} {d.reason}" for d in dim.dropped)
        )
    return out, notes
