"""``judgekit validate``: how well does a judge agree with human labels, and how far is it from human level?

Inputs (see ``docs/validate.md``):
  judge   rows ``{"id", "score"}`` (JSON list or JSONL; ``"scores": {dimension: value}`` or a ``"dimension"``
          field for several dimensions), a judgekit score file (question or aspect level; a file or a
          ``ScoreFile`` object), raw judge completions ``{"id", "completions": [text, ...]}`` parsed with a
          rubric, or for ``pairwise=True`` rows ``{"id", "winner_original", "winner_swapped"}``.
  human   CSV / TSV / JSON / JSONL labels in long form (``id, annotator, label`` or one column per dimension,
          or a ``dimension`` column), wide form (``id`` plus one column per annotator; ``dimension:annotator``
          columns for several dimensions) or an already-averaged column.

The output is an ``AgreementReport`` (pydantic; ``model_dump_json`` gives agreement.json) and
``format_report`` renders the terminal table. Statistics live in ``judgekit.stats``.

Modules: ``run`` (``validate``), ``judge_inputs`` and ``labels`` (loaders), ``rows`` (shared row checks),
``scales``, ``matching`` and ``sample`` (the matched items), ``analysis`` (one step per statistic),
``pairwise``, ``report`` (the models) and ``format`` (the table).
"""

from judgekit._callable import make_module_callable
from judgekit.validate.format import format_report
from judgekit.validate.judge_inputs import JudgeScores, Level, load_judge
from judgekit.validate.labels import DEFAULT_DIMENSION, HumanFormat, HumanLabels, load_human
from judgekit.validate.report import (
    AgreementReport,
    Alpha,
    AnnotatorRow,
    Bias,
    Ceiling,
    CorrelationLevels,
    Correlations,
    DimensionReport,
    Disagreement,
    Dropped,
    Interval,
    ItemPairs,
    Kappa,
    PairwiseReport,
)
from judgekit.validate.rows import CompletionRow, NumberRow, PairwiseRow
from judgekit.validate.run import validate
from judgekit.validate.scales import parse_scale

__all__ = [
    "DEFAULT_DIMENSION",
    "AgreementReport",
    "Alpha",
    "AnnotatorRow",
    "Bias",
    "Ceiling",
    "CompletionRow",
    "CorrelationLevels",
    "Correlations",
    "DimensionReport",
    "Disagreement",
    "Dropped",
    "HumanFormat",
    "HumanLabels",
    "Interval",
    "ItemPairs",
    "JudgeScores",
    "Kappa",
    "Level",
    "NumberRow",
    "PairwiseReport",
    "PairwiseRow",
    "format_report",
    "load_human",
    "load_judge",
    "parse_scale",
    "validate",
]

make_module_callable(__name__, validate)
