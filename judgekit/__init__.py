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
    from judgekit.judges import CallFailed, Completion, Judge, JudgeOptions, JudgeParams, TransientError
    from judgekit.results import ScoreFile, load_score_file
    from judgekit.rubric import Rubric, list_rubrics, load_rubric
    from judgekit.run.batch import BatchSettings
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.core import ScoreSettings, ascore, score
    from judgekit.scoring.estimation import Estimate, EstimateSettings, estimate

_LAZY = {
    "BatchSettings": "judgekit.run.batch",
    "EngineSettings": "judgekit.run.engine",
    "Estimate": "judgekit.scoring.estimation",
    "EstimateSettings": "judgekit.scoring.estimation",
    "estimate": "judgekit.scoring.estimation",
    "CallFailed": "judgekit.judges",
    "Completion": "judgekit.judges",
    "Judge": "judgekit.judges",
    "JudgeOptions": "judgekit.judges",
    "JudgeParams": "judgekit.judges",
    "TransientError": "judgekit.judges",
    "ScoreFile": "judgekit.results",
    "load_score_file": "judgekit.results",
    "Rubric": "judgekit.rubric",
    "list_rubrics": "judgekit.rubric",
    "load_rubric": "judgekit.rubric",
    "ScoreSettings": "judgekit.scoring.core",
    "ascore": "judgekit.scoring.core",
    "score": "judgekit.scoring.core",
    "compute_lexical": "judgekit.lexical",
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
