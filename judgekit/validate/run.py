"""``validate()``: check the settings, load both sides, and analyse each dimension (or the preferences)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, InputError
from judgekit.results import ScoreFile
from judgekit.validate.analysis import analyse_dimension
from judgekit.validate.judge_inputs import JudgeScores, Level, judge_name, load_judge
from judgekit.validate.labels import HumanFormat, HumanLabels, load_human
from judgekit.validate.pairwise import PairwiseOptions, validate_pairwise
from judgekit.validate.ppi import PROBABILITY_FIELD
from judgekit.validate.report import AgreementReport
from judgekit.validate.rows import listing
from judgekit.validate.sample import Options
from judgekit.validate.scales import parse_scale


def validate(
    judge: str | Path | Mapping[str, Any] | ScoreFile,
    human: str | Path,
    *,
    dimensions: Sequence[str] | None = None,
    group: str | None = None,
    system: str | None = None,
    scale: str | Sequence[float] | None = None,
    judge_scale: str | Sequence[float] | None = None,
    rubric: str | None = None,
    level: Level = "question",
    human_format: HumanFormat = "auto",
    annotators: Sequence[str] | None = None,
    id_field: str = "id",
    annotator_field: str = "annotator",
    label_field: str = "label",
    length_field: str | None = None,
    responses: str | Path | None = None,
    allow_missing: bool = False,
    ceiling: bool | None = None,
    pairwise: bool = False,
    ppi: bool = False,
    invalid_agree: bool = False,
    n_boot: int = 2000,
    seed: int | None = 0,
    confidence: float = 0.95,
    top: int = 10,
) -> AgreementReport:
    """Measure a judge against human labels; every figure with a percentile bootstrap CI.

    ``judge`` is a file, a ``{id: score}`` mapping, or a ``ScoreFile`` (read at ``level``, no file needed).
    ``group`` / ``system`` name fields (in the judge rows or the label file) holding each item's group
    (e.g. the source document or prompt: per-group correlations, and the bootstrap resamples whole groups)
    and system (system-level correlations). ``scale`` declares the human label scale (``"1-5"``); labels off
    it are errors. ``ceiling``: ``None`` computes the leave-one-annotator-out ceiling when there are two or
    more annotators, ``True`` requires it. ``pairwise=True`` switches to preference verdicts (see
    ``judgekit.stats.pairwise_agreement``). ``ppi=True`` adds the judge-corrected mean human-scale score
    (PPI++; the labelled items must be a random subset). Bad inputs raise one-line ``InputError`` /
    ``ConfigError``.
    """
    _check_settings(n_boot, confidence, dimensions, pairwise=pairwise, ppi=ppi)
    settings: dict[str, Any] = {
        "n_boot": n_boot,
        "seed": seed,
        "confidence": confidence,
        "group": group,
        "system": system,
        "level": level,
        "ci": "percentile bootstrap" + (" over groups" if group else " over items"),
    }
    inputs = {"judge": judge_name(judge), "human": str(human)}
    # with --ppi also each label's selection probability (judgekit label writes it): weighted PPI
    meta_fields = [f for f in (group, system, length_field, PROBABILITY_FIELD if ppi else None) if f]
    if pairwise:
        options = PairwiseOptions(
            group, id_field, annotator_field, label_field, meta_fields, human_format, annotators, allow_missing,
            invalid_agree, n_boot, seed, confidence, top,
        )  # fmt: skip
        report = validate_pairwise(judge, human, options)
        settings["invalid_agree"] = invalid_agree
        return AgreementReport(inputs=inputs, settings=settings, pairwise=report)
    scale_points, judge_points = parse_scale(scale), parse_scale(judge_scale)
    judge_data = load_judge(judge, level=level, rubric=rubric)
    humans = load_human(
        human, dimensions=dimensions, human_format=human_format, annotators=annotators, id_field=id_field,
        annotator_field=annotator_field, label_field=label_field, meta_fields=meta_fields,
    )  # fmt: skip
    lengths = _response_words(responses) if responses is not None else None
    if responses is not None:
        inputs["responses"] = str(responses)
        settings["length"] = "words in --responses"
    opts = Options(
        inputs["judge"], inputs["human"], scale_points, judge_points, group, system, length_field, lengths,
        allow_missing, ceiling, n_boot, seed, confidence, top, ppi,
    )  # fmt: skip
    reports = [
        analyse_dimension(dim, judge_data, key, humans, opts)
        for dim, key in _dimension_keys(dimensions, judge_data, humans, opts)
    ]
    return AgreementReport(inputs=inputs, settings=settings, dimensions=reports)


def _response_words(responses: str | Path) -> dict[str, float]:
    """Each response's length in words, for the length bias."""
    from judgekit.data import load_responses

    return {k: float(len(v.split())) for k, v in load_responses(responses).items()}


def _check_settings(
    n_boot: int, confidence: float, dimensions: Sequence[str] | None, *, pairwise: bool, ppi: bool
) -> None:
    if n_boot < 0:
        raise ConfigError("--n-boot must be 0 or more")
    if not 0 < confidence < 1:
        raise ConfigError("--confidence must be between 0 and 1 (e.g. 0.95)")
    if dimensions is not None and len(set(dimensions)) != len(dimensions):
        raise ConfigError("a --dimension is given twice")
    if pairwise and ppi:
        raise ConfigError("--ppi estimates a mean score; it does not apply to --pairwise verdicts")


def _dimension_keys(
    dimensions: Sequence[str] | None, judge: JudgeScores, humans: HumanLabels, opts: Options
) -> Iterator[tuple[str, str | None]]:
    """Each dimension to analyse with its key in the judge scores (``None``: the judge's one score per id).

    A generator: a dimension the judge lacks is reported after the ones before it were analysed."""
    dims = list(dimensions) if dimensions else sorted(humans.labels)
    missing = [d for d in dims if d not in humans.labels]
    if missing:
        raise InputError(
            f"{opts.human_name}: no labels for dimension(s) {listing(missing)} (found {listing(sorted(humans.labels))})"
        )
    judge_keys = set(judge.scores) | set(judge.unscored)
    if None in judge_keys and len(dims) > 1:
        raise ConfigError(
            f"{opts.judge_name}: one score per id, but {len(dims)} dimensions were asked for; give the judge "
            "rows a 'dimension' field or a 'scores' object, or pass one --dimension"
        )
    found = listing(sorted(str(k) for k in judge_keys))
    for dim in dims:
        key: str | None = None if None in judge_keys else dim
        if key not in judge_keys:
            raise InputError(f"{opts.judge_name}: no judge scores for dimension {dim!r} (found {found})")
        yield dim, key
