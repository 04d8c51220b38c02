"""Scoring a candidate on a subset of the labelled items, through the normal :func:`judgekit.scoring.core.ascore`.

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
    """The labelled items' dataset rows and responses, by id (for pairwise rubrics both responses of each
    pair in ``pairs``, ``{"a": text, "b": text}``, and ``responses`` empty)."""

    dataset: Path
    rows: dict[str, dict[str, Any]]
    responses: dict[str, str]
    pairs: dict[str, dict[str, str]] | None = None

    def write_subset(self, ids: Sequence[str], folder: Path, tag: str) -> dict[str, Path]:
        """``ids``' rows and responses as files ``folder/TAG.dataset.json`` and ``TAG.responses.json`` (or
        ``TAG.responses_a.json`` and ``TAG.responses_b.json``): ``ascore``'s file arguments."""
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / f"{tag}.dataset.json"
        atomic_write_json(data, [self.rows[i] for i in ids])
        if self.pairs is None:
            resp = folder / f"{tag}.responses.json"
            atomic_write_json(resp, {i: self.responses[i] for i in ids})
            return {"dataset": data, "responses": resp}
        files = {"dataset": data}
        for side in ("a", "b"):
            files[f"responses_{side}"] = folder / f"{tag}.responses_{side}.json"
            atomic_write_json(files[f"responses_{side}"], {i: self.pairs[i][side] for i in ids})
        return files


def load_inputs(
    dataset: str | Path, responses: str | Path | None, pair_files: tuple[Path, Path] | None = None
) -> Inputs:
    """Read the dataset rows and the responses (any format ``score`` reads)."""
    from judgekit.data import dataset_rows, load_responses, read_json_or_jsonl

    p = Path(dataset)
    if responses is None:
        return _load_pairs(p, pair_files)
    rows: dict[str, dict[str, Any]] = {}
    for row in dataset_rows(p, read_json_or_jsonl(p)):
        if not isinstance(row, dict) or "id" not in row:
            raise InputError(f"{p}: every dataset row needs an 'id'")
        rows[str(row["id"])] = row
    return Inputs(p, rows, load_responses(responses, None))


def _load_pairs(dataset: Path, pair_files: tuple[Path, Path] | None) -> Inputs:
    """Pairs as ``score`` reads them (two response files, or a pair dataset), each written back for a subset
    as a row ``{id, input, ...}`` with its two responses in two files."""
    from judgekit.data.pairs import load_pairs

    a, b = pair_files if pair_files is not None else (None, None)
    items, pairs = load_pairs(dataset, a, b, max_chars=None)
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        history = item.fields.get("history") or {}
        if any(history.values()):
            raise InputError(f"{dataset}: item {item.id!r} is a later turn of a conversation; select judges "
                             "single-turn pairs only")  # fmt: skip
        rows[item.id] = {
            **{k: v for k, v in item.fields.items() if k not in ("history", "turn", "turns", "votes")},
            "id": item.id,
        }
    return Inputs(dataset, rows, {}, dict(pairs))


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
    from judgekit.scoring.core import ascore

    folder = work / c.name
    files = inputs.write_subset(ids, folder, tag)
    out = folder / f"{tag}.scores.json"
    try:
        result = await ascore(
            files["dataset"], files.get("responses"), responses_a=files.get("responses_a"),
            responses_b=files.get("responses_b"), judge=judge_spec(c), settings=score_settings(c), out=out,
            cache=cache,
        )  # fmt: skip
    except CoverageTooLow as err:
        if err.score_file is None:
            raise
        result = err.score_file
    except JudgeError as err:  # the judge could not judge: say which candidate (exit 3 stays)
        raise type(err)(f"candidate {c.name!r}: {err}") from None
    return Scored(out, result)


def cost_per_1k(c: Candidate, inputs: Inputs, ids: Sequence[str], work: Path) -> float | None:
    """Dollars per 1,000 judgments on ``ids``, priced as ``score --dry-run`` prices them (no cache)."""
    from judgekit.scoring.estimation import EstimateSettings, estimate

    files = inputs.write_subset(ids, work / c.name, "price")
    assume = EstimateSettings(
        price_in=c.price.input if c.price else None, price_out=c.price.output if c.price else None
    )
    est = estimate(
        files["dataset"], files.get("responses"), responses_a=files.get("responses_a"),
        responses_b=files.get("responses_b"), judge=judge_spec(c), settings=score_settings(c), cache=False,
        assume=assume,
    )  # fmt: skip
    if est.cost_usd is None or est.judgments == 0:
        return None
    return est.cost_usd / est.judgments * 1000.0
