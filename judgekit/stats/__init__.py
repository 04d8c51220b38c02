"""Statistics for judge scores, one family per module, re-exported here.

Agreement with human labels: ``correlation`` (Pearson / Spearman / Kendall tau-b, pooled, per group, system
level), ``summary`` (the three levels with bootstrap CIs), ``alpha`` (Krippendorff), ``kappa`` (Cohen, Scott),
``bias`` (scale use, mean offset), ``ceiling`` (leave-one-annotator-out), ``preference`` (pairwise verdicts).
The bootstrap machinery is in ``bootstrap`` (resamples as multiplicities, percentile intervals) and
``weighted`` (correlations under many resample weights at once); ``arrays`` holds the shared array types.
Other families: ``ppi``: prediction-powered inference (PPI++) for a mean; ``power``: power of the gate's paired
regression check; ``multiple``: Holm's adjustment; ``bradley_terry``: Bradley-Terry strengths from pairwise
verdicts. See docs/statistics.md for the methods and their references.

All are plain functions over numpy arrays, independent of file formats (``judgekit.validate`` loads files).
"""

from judgekit.stats.alpha import (
    ALPHA_LEVELS,
    AlphaDetails,
    AlphaLevel,
    WeightedAlpha,
    alpha_details,
    krippendorff_alpha,
)
from judgekit.stats.bias import mean_offset, round_to_scale, score_shares
from judgekit.stats.bootstrap import (
    Estimate,
    Resample,
    StatFn,
    bootstrap,
    make_estimate,
    percentile_ci,
    resamples,
    single_blas_thread,
)
from judgekit.stats.bradley_terry import bradley_terry, comparisons_connected, fit_batch, win_matrix
from judgekit.stats.ceiling import AnnotatorCeiling, CeilingResult, leave_one_out_ceiling
from judgekit.stats.correlation import (
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
from judgekit.stats.multiple import holm
from judgekit.stats.power import POWER_METHODS, PowerMethod, detectable_drop, power_of, questions_needed
from judgekit.stats.ppi import MeanCI, PPIResult, ppi_lambda, ppi_mean, ppi_mean_from_items
from judgekit.stats.preference import (
    PAIRWISE_CATEGORIES,
    PairwiseAgreement,
    normalize_preference,
    pairwise_agreement,
    pairwise_bootstrap,
)
from judgekit.stats.summary import CorrelationSummary, correlation_summary
from judgekit.stats.weighted import KENDALL_BLOCK, WeightedCorrelations, weighted_correlations

__all__ = [
    "ALPHA_LEVELS",
    "KAPPA_WEIGHTS",
    "KENDALL_BLOCK",
    "METHODS",
    "PAIRWISE_CATEGORIES",
    "POWER_METHODS",
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
    "PairwiseAgreement",
    "PowerMethod",
    "Resample",
    "StatFn",
    "WeightedAlpha",
    "WeightedCorrelations",
    "WeightedKappa",
    "alpha_details",
    "bootstrap",
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
    "single_blas_thread",
    "system_correlations",
    "system_means",
    "weighted_correlations",
    "win_matrix",
]
