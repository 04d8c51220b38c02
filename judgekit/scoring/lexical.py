"""The lexical part of a score file (``score --references``): ROUGE, METEOR and BLEU beside the judge's scores.

:func:`lexical_inputs` checks the references before any judge is called; :func:`lexical_report` computes the
metrics once the judge has scored, before the questions are built (each with its own figures,
:func:`question_figures`); :func:`lexical_section` then sets them beside the judge's question scores.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgekit.errors import ConfigError
from judgekit.results import QuestionResult
from judgekit.rubric import Rubric
from judgekit.scoring.aggregate import QuestionExtras

if TYPE_CHECKING:
    from judgekit.lexical import LexicalReport


@dataclass(frozen=True)
class LexicalInputs:
    """Each item's response and its references, and the metrics asked for (``None``: the defaults)."""

    predictions: dict[str, str]
    references: dict[str, list[str]]
    metrics: list[str] | None


def lexical_inputs(
    rubric: Rubric,
    references: str | Path | None,
    reference_field: str | None,
    answers: dict[str, Any],
    metrics: Sequence[str] | None,
) -> LexicalInputs | None:
    """The references of every response (``None`` without ``references``); a one-line error if any is missing."""
    if not references:
        return None
    if rubric.pairwise:
        raise ConfigError("--references (lexical metrics) needs a rubric that judges one response per item")
    from judgekit import lexical

    refs = lexical.load_references(references, reference_field)
    missing = sorted(set(answers) - set(refs))
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise ConfigError(f"{references}: no reference for {len(missing)} id(s): {shown}")
    return LexicalInputs(answers, {k: refs[k] for k in answers}, list(metrics) if metrics else None)


def lexical_report(inputs: LexicalInputs) -> LexicalReport:
    """The metrics of every response against its references (a missing WordNet: one warning line)."""
    from judgekit import lexical

    kwargs: dict[str, Any] = {} if inputs.metrics is None else {"metrics": inputs.metrics}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lexical.WordNetMissingWarning)
        report = lexical.compute_lexical(inputs.predictions, inputs.references, **kwargs)
    for w in caught:  # one line, not Python's two-line warning
        if issubclass(w.category, lexical.WordNetMissingWarning):
            logging.getLogger("judgekit").warning("judgekit: warning: %s", str(w.message).splitlines()[0])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return report


def question_figures(report: LexicalReport) -> dict[str, QuestionExtras]:
    """Per item id, the question's own figures, for the question to be built with."""
    return {item_id: {"lexical": figures} for item_id, figures in report.items.items()}


def lexical_section(report: LexicalReport, questions: Sequence[QuestionResult]) -> dict[str, Any]:
    """The score file's ``lexical``: overall figures and their correlation with the judge's question scores."""
    from judgekit import lexical

    judge_scores = {q.id: q.score for q in questions}
    return {
        "overall": report.overall,
        "aggregation": report.aggregation,
        "meteor_mode": report.meteor_mode,
        "correlation_with_judge": lexical.correlate_with_judge(report, judge_scores),
    }
