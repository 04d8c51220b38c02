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

The package, in the order data flows: ``config`` (the YAML file) -> ``inputs`` (refuse NaN / out-of-scale
scores) -> ``checks`` (one function per check) and ``regression`` (candidate vs baseline), ``drift`` (with
``agreement``) -> ``result`` (the models) -> ``report`` (JUnit, Markdown, terminal); ``run`` holds ``gate()``.
The paired tests live in :mod:`judgekit.stats.paired`.
"""

from judgekit._callable import make_module_callable
from judgekit.gate.checks import floor_checks, provenance_check, provenance_mismatches
from judgekit.gate.config import (
    Drift,
    Floors,
    GateConfig,
    PerQuestion,
    Provenance,
    Regression,
    ValidateOptions,
    load_config,
)
from judgekit.gate.inputs import ScoreBounds, check_score_values, score_bounds
from judgekit.gate.plan import Plan, plan
from judgekit.gate.regression import compare
from judgekit.gate.report import junit_xml, markdown_summary, terminal_lines
from judgekit.gate.result import AspectChange, Check, GateResult, Kind, Power, QuestionChange, Status
from judgekit.gate.run import gate
from judgekit.score_reader import PROVENANCE_FIELDS
from judgekit.stats.paired import PairedStats, bootstrap_means, paired_test, sign_flip_means

__all__ = [
    "PROVENANCE_FIELDS",
    "AspectChange",
    "Check",
    "Drift",
    "Floors",
    "GateConfig",
    "GateResult",
    "Kind",
    "PairedStats",
    "PerQuestion",
    "Plan",
    "Power",
    "Provenance",
    "QuestionChange",
    "Regression",
    "ScoreBounds",
    "Status",
    "ValidateOptions",
    "bootstrap_means",
    "check_score_values",
    "compare",
    "floor_checks",
    "gate",
    "junit_xml",
    "load_config",
    "markdown_summary",
    "paired_test",
    "plan",
    "provenance_check",
    "provenance_mismatches",
    "score_bounds",
    "sign_flip_means",
    "terminal_lines",
]

# ``import judgekit.gate`` rebinds ``judgekit.gate`` to this package: keep ``judgekit.gate(...)`` callable.
make_module_callable(__name__, gate)
