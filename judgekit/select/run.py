"""Scoring a candidate on a subset of the labelled items, through the normal :func:`judgekit.scoring.ascore`.

The subset is written as its own dataset and responses files in the work folder beside ``--out``, so the
engine (cache, breaker, coverage floor) runs exactly as for ``judgekit score``, and a subset's prompts are
the same as the full file's: a later, larger subset finds the earlier judgments in the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.errors import CoverageTooLow, InputError, JudgeError
from judgekit.io import atomic_write_json
from judgekit.results import ScoreFile
from judgekit.select.candidates import Candidate, judge_spec, score_settings


@dataclass(frozen=True)
class Inputs:
    """The labelled items' dataset rows and responses, by id."""

    dataset: Path
    rows: dict[str, dict[str, Any]]
    responses: dict[str, str]

    def write_subset(self, ids: Sequence[str], folder: Path, tag: str) -> tuple[Path, Path]:
        """``ids``' rows and responses as files ``folder/TAG.dataset.json`` and ``TAG.responses.json``."""
        folder.mkdir(parents=True, exist_ok=True)
        data, resp = folder / f"{tag}.dataset.json", folder / f"{tag}.responses.json"
        atomic_write_json(data, [self.rows[i] for i in ids])
        atomic_write_json(resp, {i: self.responses[i] for i in ids})
        return data, resp


def load_inputs(dataset: str | Path, responses: str | Path) -> Inputs:
    """Read the dataset rows and the responses (any format ``score`` reads)."""
    from judgekit.data import dataset_rows, load_responses, read_json_or_jsonl

    p = Path(dataset)
    rows: dict[str, dict[str, Any]] = {}
    for row in dataset_rows(p, read_json_or_jsonl(p)):
        if not isinstance(row, dict) or "id" not in row:
            raise InputError(f"{p}: every dataset row needs an 'id'")
        rows[str(row["id"])] = row
    return Inputs(p, rows, load_responses(responses, None))


@dataclass(frozen=True)
class Scored:
    """One candidate's score file on one subset, and where it is."""

    path: Path
    scores: ScoreFile


async def score_subset(
    c: Candidate, inputs: Inputs, ids: Sequence[str], work: Path, tag: str, cache: str | Path | bool
) -> Scored:
    """Score ``ids`` with candidate ``c``; its score file is ``work/NAME/TAG.scores.json``.

    A run below the coverage floor still yields its score file: the unscored share is the parse rate the
    selection reports, and the agreement is measured on what was scored."""
    from judgekit.scoring import ascore

    folder = work / c.name
    data, resp = inputs.write_subset(ids, folder, tag)
    out = folder / f"{tag}.scores.json"
    try:
        result = await ascore(
            data, resp, judge=judge_spec(c), settings=score_settings(c), out=out, cache=cache
        )
    except CoverageTooLow as err:
        if err.score_file is None:
            raise
        result = err.score_file
    except JudgeError as err:  # the judge could not judge: say which candidate (exit 3 stays)
        raise type(err)(f"candidate {c.name!r}: {err}") from None
    return Scored(out, result)


def cost_per_1k(c: Candidate, inputs: Inputs, ids: Sequence[str], work: Path) -> float | None:
    """Dollars per 1,000 judgments on ``ids``, priced as ``score --dry-run`` prices them (no cache)."""
    from judgekit.estimation import EstimateSettings, estimate

    data, resp = inputs.write_subset(ids, work / c.name, "price")
    assume = EstimateSettings(
        price_in=c.price.input if c.price else None, price_out=c.price.output if c.price else None
    )
    est = estimate(data, resp, judge=judge_spec(c), settings=score_settings(c), cache=False, assume=assume)
    if est.cost_usd is None or est.judgments == 0:
        return None
    return est.cost_usd / est.judgments * 1000.0
