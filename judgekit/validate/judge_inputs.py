"""Judge scores in any supported shape: a mapping, number rows, a judgekit score file, raw completions."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ValidationError

from judgekit.errors import ConfigError, InputError
from judgekit.io import validation_line
from judgekit.results import ScoreFile
from judgekit.validate.rows import CompletionRow, NumberRow, extras, id_text, rows_of

if TYPE_CHECKING:
    from judgekit.rubric import Rubric

Level = Literal["question", "aspect"]
#: How a judge given as a ScoreFile object (not a file) is named in the report and in messages.
SCORE_FILE_NAME = "<score file>"


@dataclass
class JudgeScores:
    """Judge scores per dimension (``None`` key = one unnamed score per id) and per-id extra fields."""

    kind: str
    scores: dict[str | None, dict[str, float]] = field(default_factory=dict)
    unscored: dict[str | None, dict[str, str]] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    scale: tuple[float, float] | None = None


def judge_name(judge: str | Path | Mapping[str, Any] | ScoreFile) -> str:
    """The judge input as the report's ``inputs.judge`` names it."""
    if isinstance(judge, ScoreFile):
        return SCORE_FILE_NAME
    return "<mapping>" if isinstance(judge, Mapping) else str(judge)


def load_judge(
    judge: str | Path | Mapping[str, Any] | ScoreFile,
    *,
    level: Level = "question",
    rubric: str | None = None,
) -> JudgeScores:
    """Read judge scores from any supported shape (see the package docstring)."""
    if isinstance(judge, ScoreFile):
        return _judge_from_scores(judge, SCORE_FILE_NAME, level)
    if isinstance(judge, Mapping):
        return _judge_from_mapping(judge)
    path = Path(judge)
    from judgekit.data import read_json_or_jsonl

    data = read_json_or_jsonl(path)
    if isinstance(data, dict) and isinstance(data.get("per_question_scores"), list):
        from judgekit.results import load_score_file
        from judgekit.score_reader import check_score_values

        scores = load_score_file(path)
        check_score_values(scores, str(path))  # as every command that reads score files
        return _judge_from_scores(scores, str(path), level)
    if level == "aspect":
        raise ConfigError("--level aspect needs a judgekit score file as --judge")
    rows = rows_of(path, data)
    if any("completions" in r for r in rows):
        if rubric is None:
            raise ConfigError(
                f"{path}: holds raw judge completions; name the rubric to parse them (--rubric)"
            )
        return _judge_from_completions(path, rows, rubric)
    if rubric is not None:
        raise ConfigError(
            f"{path}: --rubric is only used with raw completions ({{'id', 'completions'}} rows)"
        )
    return _judge_from_numbers(path, rows)


def _judge_from_mapping(data: Mapping[str, Any]) -> JudgeScores:
    out = JudgeScores(kind="mapping")
    for key, value in data.items():
        item = id_text(key)
        if isinstance(value, Mapping):
            for dim, v in value.items():
                _put_score(out, str(dim), item, v, f"id {item!r}")
        else:
            _put_score(out, None, item, value, f"id {item!r}")
    return out


def _put_score(out: JudgeScores, dim: str | None, item: str, value: Any, where: str) -> None:
    if value is None:
        out.unscored.setdefault(dim, {})[item] = "judge gave no score"
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise InputError(f"{where}: judge score {value!r} is not a finite number")
    target = out.scores.setdefault(dim, {})
    if item in target or item in out.unscored.get(dim, {}):
        label = f" (dimension {dim!r})" if dim else ""
        raise InputError(f"{where}: duplicate judge score{label}")
    target[item] = float(value)


def _judge_from_numbers(path: Path, rows: list[dict[str, Any]]) -> JudgeScores:
    out = JudgeScores(kind="numbers")
    for n, raw in enumerate(rows):
        if "winner_original" in raw:
            raise ConfigError(f"{path}: holds pairwise verdicts; pass --pairwise")
        try:
            row = NumberRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {validation_line(err)}") from None
        where = f"{path}: id {row.id!r}"
        if row.scores is not None:
            for dim, v in row.scores.items():
                _put_score(out, dim, row.id, v, where)
        elif "score" in raw:
            _put_score(out, row.dimension, row.id, row.score, where)
        else:
            raise InputError(f"{where}: no 'score' (or 'scores', or 'completions') field")
        out.meta.setdefault(row.id, {}).update(extras(raw))
    return out


def _judge_from_scores(sf: ScoreFile, name: str, level: Level) -> JudgeScores:
    """A score file's question scores, or its aspect scores as ``"ID::ASPECT"`` ids."""
    out = JudgeScores(kind=f"score_file:{level}")
    for q in sf.per_question_scores:
        if level == "question":
            if q.score is None:
                out.unscored.setdefault(None, {})[q.id] = "score file: question not scored"
            else:
                _put_score(out, None, q.id, q.score, f"{name}: id {q.id!r}")
        else:
            for d in q.details:
                key = f"{q.id}::{d.aspect}"
                if d.score is None:
                    out.unscored.setdefault(None, {})[key] = (
                        f"score file: aspect not scored ({d.reason or 'no reason'})"
                    )
                else:
                    _put_score(out, None, key, d.score, f"{name}: id {key!r}")
        # fields a user added to a question (e.g. a document or system id) can serve as --group / --system
        extra = {k: v for k, v in (q.model_extra or {}).items() if isinstance(v, str | int | float)}
        if q.category is not None:
            extra["category"] = q.category
        keys = [q.id] if level == "question" else [f"{q.id}::{d.aspect}" for d in q.details]
        for key in keys:
            out.meta.setdefault(key, {}).update(extra)
    if not out.scores and not out.unscored:
        raise InputError(f"{name}: the score file has no {level}s")
    return out


def _load_rubric(name: str) -> Rubric:
    from judgekit.errors import RubricError
    from judgekit.rubric import load_rubric

    try:
        return load_rubric(name)
    except RubricError:
        raise
    except (OSError, ValueError) as err:
        raise ConfigError(f"--rubric {name!r}: {err}") from None


def _judge_from_completions(path: Path, rows: list[dict[str, Any]], rubric_name: str) -> JudgeScores:
    """Each id's mean over the samples the rubric's parser could read; unparseable samples are counted."""
    rubric = _load_rubric(rubric_name)
    out = JudgeScores(kind="completions")
    out.scale = (float(rubric.spec.scale.min), float(rubric.spec.scale.max))
    reasons: dict[str | None, Counter[str]] = {}
    counts: dict[str | None, Counter[str]] = {}
    for n, raw in enumerate(rows):
        try:
            row = CompletionRow.model_validate(raw)
        except ValidationError as err:
            raise InputError(f"{path}: row {n + 1}: {validation_line(err)}") from None
        dim = row.dimension
        values, item_reasons = _parse_samples(row.completions, rubric)
        counts.setdefault(dim, Counter()).update(parsed=len(values), unparseable=len(item_reasons))
        reasons.setdefault(dim, Counter()).update(item_reasons)
        if row.id in out.scores.get(dim, {}) or row.id in out.unscored.get(dim, {}):
            raise InputError(f"{path}: id {row.id!r}: duplicate row")
        if values:
            out.scores.setdefault(dim, {})[row.id] = float(np.mean(values))
        else:
            why = item_reasons[0] if item_reasons else "no completions"
            out.unscored.setdefault(dim, {})[row.id] = f"no parseable completion ({why})"
        out.meta.setdefault(row.id, {}).update(extras(raw))
    for dim, tally in counts.items():
        out.samples[dim] = {
            "rubric": rubric.name,
            "match": rubric.spec.output.match,  # which verdict of an answer holding several was read
            "samples": tally["parsed"] + tally["unparseable"],
            "parsed": tally["parsed"],
            "unparseable": tally["unparseable"],
            "reasons": dict(reasons[dim].most_common()),
        }
    return out


def _parse_samples(completions: list[str | None], rubric: Rubric) -> tuple[list[float], list[str]]:
    """The scores the parser read, and the reason for each sample it could not (a reasoning model's thinking
    set apart first, as a scoring run does)."""
    from judgekit.rubric.parse import parse_completion
    from judgekit.rubric.reasoning import split_reasoning

    values: list[float] = []
    failed: list[str] = []
    for text in completions:
        res = parse_completion(split_reasoning(text, rubric.reasoning_tags).answer, rubric)
        score = res.score if res.ok else None
        if score is None or not math.isfinite(score):
            failed.append(res.reason or "no single score in the verdict")
        else:
            values.append(float(score))
    return values, failed
