"""Statistics for judge scores, one family per module, re-exported here.

``ppi``: prediction-powered inference (PPI++) for a mean; ``power``: power of the gate's paired regression
check; ``multiple``: Holm's adjustment; ``bradley_terry``: Bradley-Terry strengths from pairwise verdicts.
See docs/statistics.md for the methods and their references.
"""

from judgekit.stats.bradley_terry import bradley_terry, comparisons_connected, fit_batch, win_matrix
from judgekit.stats.multiple import holm
from judgekit.stats.power import POWER_METHODS, PowerMethod, detectable_drop, power_of, questions_needed
from judgekit.stats.ppi import MeanCI, PPIResult, ppi_lambda, ppi_mean, ppi_mean_from_items

__all__ = [
    "POWER_METHODS",
    "MeanCI",
    "PPIResult",
    "PowerMethod",
    "bradley_terry",
    "comparisons_connected",
    "detectable_drop",
    "fit_batch",
    "holm",
    "power_of",
    "ppi_lambda",
    "ppi_mean",
    "ppi_mean_from_items",
    "questions_needed",
    "win_matrix",
]
