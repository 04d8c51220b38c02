"""Reading the report's inputs: each file is a score file, a validate report, a gate result or a compare
result, told apart by the keys each one always has.

A score file is read as every command reads one (:mod:`judgekit.score_reader`): duplicate keys, NaN and
off-scale scores refused; its questions stay plain checked dicts (``ReportInput.questions``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from judgekit.errors import InputError
from judgekit.io import read_json_large
from judgekit.results import ScoreFile
from judgekit.score_reader import Row as Row
from judgekit.score_reader import check_values, invalid, rows_of, score_parts, without_questions

if TYPE_CHECKING:
    # Imported only for an input of their kind: judgekit.validate pulls in scipy.stats (about a second),
    # judgekit.gate numpy and its statistics.
    from judgekit.gate import GateResult
    from judgekit.report.labels_section import LabelsInput
    from judgekit.validate import AgreementReport

Kind = Literal["score", "validate", "gate", "compare", "labels", "select"]


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class CompareSystem(_Loose):
    name: str
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rank: float | None = None
    rank_low: float | None = None
    rank_high: float | None = None
    n_questions: int | None = None


class ComparePair(_Loose):
    a: str
    b: str
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    p_adjusted: float | None = None
    n: int | None = None


class CompareResult(_Loose):
    """``judgekit compare``'s output: systems ranked with CIs, and their pairwise differences."""

    systems: list[CompareSystem]
    pairs: list[ComparePair] = []


if TYPE_CHECKING:
    from judgekit.select.result import SelectResult

    Loaded = ScoreFile | AgreementReport | GateResult | CompareResult | LabelsInput | SelectResult


@dataclass
class ReportInput:
    """One input, loaded, with what the report needs from beside it (the run log, paired score files).

    For a score file, ``data`` is the file without its questions (``per_question_scores`` is empty) and
    ``questions`` holds them as checked plain dicts."""

    kind: Kind
    label: str
    data: Loaded
    path: Path | None = None
    questions: list[Row] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    log_note: str | None = None
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    paired_diffs: list[float] | None = None
    #: every file read for this input, besides it (the run log, dataset, responses, the gate's score files)
    read: list[Path] = field(default_factory=list)


def detect_kind(raw: Any) -> Kind | None:
    """The kind of an input by its keys; None when it is none of the four."""
    if not isinstance(raw, dict):
        return None
    if "per_question_scores" in raw:
        return "score"
    if "judgekit_gate" in raw or ("checks" in raw and "passed" in raw):
        return "gate"
    if "systems" in raw and "pairs" in raw:
        return "compare"
    if "chosen" in raw and "split" in raw and "candidates" in raw:
        return "select"
    if "inputs" in raw and "settings" in raw and ("dimensions" in raw or "pairwise" in raw):
        return "validate"
    return None


def _from_raw(kind: Kind, raw: dict[str, Any], where: str) -> Loaded:
    """A validate report, gate result or compare result from its mapping."""
    try:
        if kind == "validate":
            from judgekit.validate import AgreementReport

            return AgreementReport.model_validate(raw)
        if kind == "gate":
            from judgekit.gate import GateResult

            return GateResult.model_validate({k: v for k, v in raw.items() if k != "judgekit_gate"})
        if kind == "select":
            from judgekit.select.result import SelectResult

            return SelectResult.model_validate(raw)
        return CompareResult.model_validate(raw)
    except ValidationError as err:
        raise invalid(kind, where, err) from None


def _from_mapping(raw: dict[str, Any], kind: Kind, where: str, label: str, path: Path | None) -> ReportInput:
    if kind == "score":
        head, rows = score_parts(raw, where)
        check_values(head, rows, where)
        return ReportInput(kind, label, head, path=path, questions=rows)
    return ReportInput(kind, label, _from_raw(kind, raw, where), path=path)


def load_input(
    source: str | Path | Loaded | dict[str, Any], index: int, scores: str | Path | None = None
) -> ReportInput:
    """Load one input given as a path, a loaded object or a parsed JSON mapping; ``scores`` is the judge's
    score file to set beside a labels file."""
    if isinstance(source, ScoreFile):
        label = f"score file {index + 1}"
        return ReportInput("score", label, without_questions(source), questions=rows_of(source))
    if isinstance(source, CompareResult):
        return ReportInput("compare", f"compare result {index + 1}", source)
    if isinstance(source, BaseModel):
        from judgekit.gate import GateResult

        if isinstance(source, GateResult):
            return ReportInput("gate", f"gate result {index + 1}", source)
        from judgekit.validate import AgreementReport

        if isinstance(source, AgreementReport):
            return ReportInput("validate", f"validate report {index + 1}", source)
        raise InputError(f"input {index + 1}: a {type(source).__name__} cannot go in a report")
    if isinstance(source, dict):
        kind = detect_kind(source)
        if kind is None:
            raise InputError(f"input {index + 1}: not a score file, validate report, gate or compare result")
        return _from_mapping(source, kind, f"input {index + 1}", f"input {index + 1}", None)
    path = Path(cast("str | Path", source))
    from judgekit.report.labels_section import is_labels_file, load_labels

    if is_labels_file(path):
        return ReportInput("labels", path.name, load_labels(path, scores), path=path)
    raw = read_json_large(path)
    kind = detect_kind(raw)
    if kind is None:
        raise InputError(
            f"{path}: not a judgekit score file, validate report (validate --out), gate result (gate --json), "
            "compare result or labels file (judgekit label)"
        )
    item = _from_mapping(raw, kind, str(path), path.name, path)
    if isinstance(item.data, ScoreFile):
        _attach_log(item, item.data)
        _attach_texts(item, item.data)
    elif item.kind == "gate":
        item.paired_diffs = _paired_diffs(cast("GateResult", item.data), path.parent, item.read)
    return item


def _resolve(name: Any, near: Path | None) -> Path | None:
    """A path recorded in an input: as written (absolute or relative to the working folder), else beside
    the input file."""
    if not isinstance(name, str) or not name:
        return None
    p = Path(name)
    if p.is_file():
        return p
    if near is not None and not p.is_absolute() and (near / p).is_file():
        return near / p
    if near is not None and (near / p.name).is_file():
        return near / p.name
    return None


def _attach_log(item: ReportInput, sf: ScoreFile) -> None:
    """The run log (``meta.log``, else ``<out>.log.jsonl`` beside the score file): judges' raw answers."""
    near = item.path.parent if item.path else None
    candidates = [sf.meta.get("log")]
    if item.path is not None:
        candidates.append(item.path.stem + ".log.jsonl")
    log = next((p for p in (_resolve(c, near) for c in candidates) if p is not None), None)
    item.read += [log] if log is not None else []
    if log is None:
        item.log_note = "no run log found beside the score file: judges' raw answers are not shown"
        return
    rows = []
    try:
        with log.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    if isinstance(row, dict) and row.get("type") == "call":
                        rows.append(row)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        item.log_note = f"run log {log.name} could not be read ({err}): judges' raw answers are not shown"
        return
    item.log = rows
    item.log_note = f"judges' raw answers from the run log {log.name}"


def _attach_texts(item: ReportInput, sf: ScoreFile) -> None:
    """Question and response texts from the dataset and responses the run recorded, when still there."""
    inputs = sf.meta.get("inputs") or {}
    near = item.path.parent if item.path else None
    ds = _resolve((inputs.get("dataset") or {}).get("path"), near)
    rs = _resolve((inputs.get("responses") or {}).get("path"), near)
    item.read += [p for p in (ds, rs) if p is not None]
    if ds is None and rs is None:
        return
    from judgekit.data import load_dataset, load_responses

    try:
        if ds is not None:
            for it in load_dataset(ds):
                q = it.fields.get("question")
                if isinstance(q, str):
                    item.texts.setdefault(it.id, {})["question"] = q
        if rs is not None:
            for qid, text in load_responses(rs).items():
                item.texts.setdefault(qid, {})["response"] = text
    except (InputError, OSError, ValueError):
        item.texts = {}


def _paired_diffs(g: GateResult, near: Path, read: list[Path]) -> list[float] | None:
    """Every paired question's score difference (candidate - baseline), from the score files the gate read."""
    cand = _resolve((g.inputs.get("candidate") or {}).get("path"), near)
    base = _resolve((g.inputs.get("baseline") or {}).get("path"), near)
    if cand is None or base is None:
        return None
    read += [cand, base]
    try:
        c, b = _scores_by_id(cand), _scores_by_id(base)
    except InputError:
        return None
    out = []
    for qid in sorted(set(c) & set(b)):
        cs, bs = c[qid], b[qid]
        if cs is not None and bs is not None:
            out.append(cs - bs)
    return out


def _scores_by_id(path: Path) -> dict[str, float | None]:
    from judgekit.score_reader import read_score_file

    _, rows = read_score_file(path)
    return {q["id"]: q["score"] for q in rows}
