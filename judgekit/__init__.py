"""judgekit: evaluate generated text with LLM judges, and know how far to trust the number.

The public API. Light modules are imported here; heavy ones (scipy, nltk, litellm) load on first use, so
``import judgekit`` and ``judgekit --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgekit._lazy import lazy_getattr
from judgekit._version import __version__
from judgekit.errors import (
    ConfigError,
    DeadlineReached,
    InputError,
    Interrupted,
    JudgeError,
    JudgekitError,
    RubricError,
    SaveFailed,
)

if TYPE_CHECKING:
    from judgekit.judges.base import CallFailed, Completion, Judge, JudgeParams, TransientError
    from judgekit.judges.factory import JudgeOptions
    from judgekit.lexical.metrics import compute_lexical
    from judgekit.results import ScoreFile, load_score_file
    from judgekit.rubric.core import Rubric
    from judgekit.rubric.load import load_rubric
    from judgekit.rubric_dir import list_rubrics
    from judgekit.run.batch.settings import BatchSettings
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.core import ascore, score
    from judgekit.scoring.estimation import Estimate, EstimateSettings, estimate
    from judgekit.scoring.settings import ScoreSettings

# Each name from the module that defines it. validate and gate are their packages (callable modules).
_LAZY = {
    "BatchSettings": "judgekit.run.batch.settings",
    "EngineSettings": "judgekit.run.engine",
    "Estimate": "judgekit.scoring.estimation",
    "EstimateSettings": "judgekit.scoring.estimation",
    "estimate": "judgekit.scoring.estimation",
    "CallFailed": "judgekit.judges.base",
    "Completion": "judgekit.judges.base",
    "Judge": "judgekit.judges.base",
    "JudgeOptions": "judgekit.judges.factory",
    "JudgeParams": "judgekit.judges.base",
    "TransientError": "judgekit.judges.base",
    "ScoreFile": "judgekit.results",
    "load_score_file": "judgekit.results",
    "Rubric": "judgekit.rubric.core",
    "list_rubrics": "judgekit.rubric_dir",
    "load_rubric": "judgekit.rubric.load",
    "ScoreSettings": "judgekit.scoring.settings",
    "ascore": "judgekit.scoring.core",
    "score": "judgekit.scoring.core",
    "compute_lexical": "judgekit.lexical.metrics",
    "validate": "judgekit.validate",
    "gate": "judgekit.gate",
}


__getattr__ = lazy_getattr("judgekit", _LAZY)


__all__ = [
    "BatchSettings",
    "CallFailed",
    "Completion",
    "ConfigError",
    "DeadlineReached",
    "EngineSettings",
    "Estimate",
    "EstimateSettings",
    "InputError",
    "Interrupted",
    "Judge",
    "JudgeError",
    "JudgeOptions",
    "JudgeParams",
    "JudgekitError",
    "Rubric",
    "RubricError",
    "SaveFailed",
    "ScoreFile",
    "ScoreSettings",
    "TransientError",
    "__version__",
    "ascore",
    "compute_lexical",
    "estimate",
    "gate",
    "list_rubrics",
    "load_rubric",
    "load_score_file",
    "score",
    "validate",
]
