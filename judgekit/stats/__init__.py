"""Statistics for judge scores, one family per module, re-exported here.

``ppi``: prediction-powered inference (PPI++) for a mean; ``power``: power of the gate's paired regression
check; ``multiple``: Holm's adjustment; ``bradley_terry``: Bradley-Terry strengths from pairwise verdicts.
See docs/statistics.md for the methods and their references.
"""

from judgekit.stats.bradley_terry import bradley_terry, comparisons_connected, fit_batch, win_matrix
from judgekit.stats.multiple import holm
from judgekit.stats.paired import PairedStats, bootstrap_means, paired_test, sign_flip_means
from judgekit.stats.power import POWER_METHODS, PowerMethod, detectable_drop, power_of, questions_needed
from judgekit.stats.ppi import MeanCI, PPIResult, ppi_lambda, ppi_mean, ppi_mean_from_items

__all__ = [
    "POWER_METHODS",
    "MeanCI",
    "PPIResult",
    "PairedStats",
    "PowerMethod",
    "bootstrap_means",
    "bradley_terry",
    "comparisons_connected",
    "detectable_drop",
    "fit_batch",
    "holm",
    "paired_test",
    "power_of",
    "ppi_lambda",
    "ppi_mean",
    "ppi_mean_from_items",
    "questions_needed",
    "sign_flip_means",
    "win_matrix",
]
