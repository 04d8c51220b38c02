"""Statistics for judge scores, one family per module, re-exported here.

Agreement with human labels: ``correlation`` (Pearson / Spearman / Kendall tau-b, pooled, per group, system
level), ``summary`` (the three levels with bootstrap CIs), ``alpha`` (Krippendorff), ``kappa`` (Cohen, Scott),
``bias`` (scale use, mean offset), ``ceiling`` (leave-one-annotator-out), ``preference`` (pairwise verdicts).
The bootstrap machinery is in ``bootstrap`` (resamples as multiplicities, percentile intervals) and
``weighted`` (correlations under many resample weights at once); ``arrays`` holds the shared array types.
Other families: ``ppi``: prediction-powered inference (PPI++) for a mean; ``active``: active inference (labels
drawn with unequal, known probabilities); ``power``: power of the gate's paired
regression check; ``multiple``: Holm's adjustment; ``bradley_terry``: Bradley-Terry strengths from pairwise
verdicts. See docs/statistics.md for the methods and their references.

All are plain functions over numpy arrays, independent of file formats (``judgekit.validate`` loads files).

Submodules load on first use (scipy is heavy): ``from judgekit.stats import paired_test`` does not
import the correlation code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgekit._lazy import lazy_getattr

if TYPE_CHECKING:
    from judgekit.stats.active import ActiveResult, active_mean, active_probabilities
    from judgekit.stats.alpha import (
        ALPHA_LEVELS,
        AlphaDetails,
        AlphaLevel,
        WeightedAlpha,
        alpha_details,
        krippendorff_alpha,
    )
    from judgekit.stats.bias import (
        mean_offset,
        round_to_scale,
        score_shares,
    )
    from judgekit.stats.ceiling import (
        AnnotatorCeiling,
        CeilingResult,
        leave_one_out_ceiling,
    )
    from judgekit.stats.correlate import (
        METHODS,
        Method,
        correlation,
        correlations,
        factorize,
        group_averaged_correlations,
        per_group_correlations,
        rowwise_correlations,
        system_correlations,
        system_means,
    )
    from judgekit.stats.kappa import (
        KAPPA_WEIGHTS,
        KappaResult,
        KappaWeights,
        WeightedKappa,
        cohen_kappa,
        disagreement_weights,
    )
    from judgekit.stats.multiple import (
        holm,
    )
    from judgekit.stats.paired import (
        PairedStats,
        bootstrap_means,
        paired_test,
        sign_flip_means,
    )
    from judgekit.stats.power import (
        POWER_METHODS,
        PowerMethod,
        detectable_drop,
        power_of,
        questions_needed,
    )
    from judgekit.stats.ppi import (
        MeanCI,
        PPIResult,
        ppi_lambda,
        ppi_mean,
        ppi_mean_from_items,
    )
    from judgekit.stats.preference import (
        PAIRWISE_CATEGORIES,
        PairwiseAgreement,
        normalize_preference,
        pairwise_agreement,
        pairwise_bootstrap,
    )
    from judgekit.stats.ranking import (
        bradley_terry,
        comparisons_connected,
        fit_batch,
        win_matrix,
    )
    from judgekit.stats.resampling import (
        Estimate,
        Resample,
        StatFn,
        bootstrap,
        make_estimate,
        percentile_ci,
        resamples,
        single_blas_thread,
    )
    from judgekit.stats.summary import (
        CorrelationSummary,
        correlation_summary,
    )
    from judgekit.stats.weighted import (
        KENDALL_BLOCK,
        WeightedCorrelations,
        weighted_correlations,
    )

_LAZY: dict[str, str] = {
    "ActiveResult": "judgekit.stats.active",
    "active_mean": "judgekit.stats.active",
    "active_probabilities": "judgekit.stats.active",
    "ALPHA_LEVELS": "judgekit.stats.alpha",
    "AlphaDetails": "judgekit.stats.alpha",
    "AlphaLevel": "judgekit.stats.alpha",
    "AnnotatorCeiling": "judgekit.stats.ceiling",
    "CeilingResult": "judgekit.stats.ceiling",
    "CorrelationSummary": "judgekit.stats.summary",
    "Estimate": "judgekit.stats.resampling",
    "KAPPA_WEIGHTS": "judgekit.stats.kappa",
    "KENDALL_BLOCK": "judgekit.stats.weighted",
    "KappaResult": "judgekit.stats.kappa",
    "KappaWeights": "judgekit.stats.kappa",
    "METHODS": "judgekit.stats.correlate",
    "MeanCI": "judgekit.stats.ppi",
    "Method": "judgekit.stats.correlate",
    "PAIRWISE_CATEGORIES": "judgekit.stats.preference",
    "POWER_METHODS": "judgekit.stats.power",
    "PPIResult": "judgekit.stats.ppi",
    "PairedStats": "judgekit.stats.paired",
    "PairwiseAgreement": "judgekit.stats.preference",
    "PowerMethod": "judgekit.stats.power",
    "Resample": "judgekit.stats.resampling",
    "StatFn": "judgekit.stats.resampling",
    "WeightedAlpha": "judgekit.stats.alpha",
    "WeightedCorrelations": "judgekit.stats.weighted",
    "WeightedKappa": "judgekit.stats.kappa",
    "alpha_details": "judgekit.stats.alpha",
    "bootstrap": "judgekit.stats.resampling",
    "bootstrap_means": "judgekit.stats.paired",
    "bradley_terry": "judgekit.stats.ranking",
    "cohen_kappa": "judgekit.stats.kappa",
    "comparisons_connected": "judgekit.stats.ranking",
    "correlation": "judgekit.stats.correlate",
    "correlation_summary": "judgekit.stats.summary",
    "correlations": "judgekit.stats.correlate",
    "detectable_drop": "judgekit.stats.power",
    "disagreement_weights": "judgekit.stats.kappa",
    "factorize": "judgekit.stats.correlate",
    "fit_batch": "judgekit.stats.ranking",
    "group_averaged_correlations": "judgekit.stats.correlate",
    "holm": "judgekit.stats.multiple",
    "krippendorff_alpha": "judgekit.stats.alpha",
    "leave_one_out_ceiling": "judgekit.stats.ceiling",
    "make_estimate": "judgekit.stats.resampling",
    "mean_offset": "judgekit.stats.bias",
    "normalize_preference": "judgekit.stats.preference",
    "paired_test": "judgekit.stats.paired",
    "pairwise_agreement": "judgekit.stats.preference",
    "pairwise_bootstrap": "judgekit.stats.preference",
    "per_group_correlations": "judgekit.stats.correlate",
    "percentile_ci": "judgekit.stats.resampling",
    "power_of": "judgekit.stats.power",
    "ppi_lambda": "judgekit.stats.ppi",
    "ppi_mean": "judgekit.stats.ppi",
    "ppi_mean_from_items": "judgekit.stats.ppi",
    "questions_needed": "judgekit.stats.power",
    "resamples": "judgekit.stats.resampling",
    "round_to_scale": "judgekit.stats.bias",
    "rowwise_correlations": "judgekit.stats.correlate",
    "score_shares": "judgekit.stats.bias",
    "sign_flip_means": "judgekit.stats.paired",
    "single_blas_thread": "judgekit.stats.resampling",
    "system_correlations": "judgekit.stats.correlate",
    "system_means": "judgekit.stats.correlate",
    "weighted_correlations": "judgekit.stats.weighted",
    "win_matrix": "judgekit.stats.ranking",
}


__getattr__ = lazy_getattr("judgekit.stats", _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ALPHA_LEVELS",
    "KAPPA_WEIGHTS",
    "KENDALL_BLOCK",
    "METHODS",
    "PAIRWISE_CATEGORIES",
    "POWER_METHODS",
    "ActiveResult",
    "AlphaDetails",
    "AlphaLevel",
    "AnnotatorCeiling",
    "CeilingResult",
    "CorrelationSummary",
    "Estimate",
    "KappaResult",
    "KappaWeights",
    "MeanCI",
    "Method",
    "PPIResult",
    "PairedStats",
    "PairwiseAgreement",
    "PowerMethod",
    "Resample",
    "StatFn",
    "WeightedAlpha",
    "WeightedCorrelations",
    "WeightedKappa",
    "active_mean",
    "active_probabilities",
    "alpha_details",
    "bootstrap",
    "bootstrap_means",
    "bradley_terry",
    "cohen_kappa",
    "comparisons_connected",
    "correlation",
    "correlation_summary",
    "correlations",
    "detectable_drop",
    "disagreement_weights",
    "factorize",
    "fit_batch",
    "group_averaged_correlations",
    "holm",
    "krippendorff_alpha",
    "leave_one_out_ceiling",
    "make_estimate",
    "mean_offset",
    "normalize_preference",
    "paired_test",
    "pairwise_agreement",
    "pairwise_bootstrap",
    "per_group_correlations",
    "percentile_ci",
    "power_of",
    "ppi_lambda",
    "ppi_mean",
    "ppi_mean_from_items",
    "questions_needed",
    "resamples",
    "round_to_scale",
    "rowwise_correlations",
    "score_shares",
    "sign_flip_means",
    "single_blas_thread",
    "system_correlations",
    "system_means",
    "weighted_correlations",
    "win_matrix",
]
