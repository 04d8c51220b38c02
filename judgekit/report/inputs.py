"""Reading the report's inputs: each file is a score file, a validate report, a gate result or a compare
result, told apart by the keys each one always has."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from judgekit.errors import InputError
from judgekit.gate import GateResult
from judgekit.results import ScoreFile, load_score_file
from judgekit.results import _from_plain_lamp_qa as from_plain_lamp_qa

if TYPE_CHECKING:
    # judgekit.validate pulls in scipy.stats (about a second): imported only for a validate report.
    from judgekit.validate import AgreementReport

Kind = Literal["score", "validate", "gate", "compare"]


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
    Loaded = ScoreFile | AgreementReport | GateResult | CompareResult


@dataclass
class ReportInput:
    """One input, loaded, with what the report needs from beside it (the run log, paired score files)."""

    kind: Kind
    label: str
    data: Loaded
    path: Path | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    log_note: str | None = None
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    paired_diffs: list[float] | None = None


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
    if "inputs" in raw and "settings" in raw and ("dimensions" in raw or "pairwise" in raw):
        return "validate"
    return None


def _from_raw(kind: Kind, raw: dict[str, Any], where: str) -> Loaded:
    try:
        if kind == "validate":
            from judgekit.validate import AgreementReport

            return AgreementReport.model_validate(raw)
        if kind == "gate":
            return GateResult.model_validate({k: v for k, v in raw.items() if k != "judgekit_gate"})
        if kind == "compare":
            return CompareResult.model_validate(raw)
        if "coverage" not in raw and isinstance(raw.get("per_question_scores"), list):
            raw = from_plain_lamp_qa(raw)
        return ScoreFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise InputError(f"{where}: not a valid {kind} file: field {loc!r}: {first['msg']}") from None


def load_input(source: str | Path | Loaded | dict[str, Any], index: int) -> ReportInput:
    """Load one input given as a path, a loaded object or a parsed JSON mapping."""
    if isinstance(source, ScoreFile):
        return ReportInput("score", f"score file {index + 1}", source)
    if isinstance(source, GateResult):
        return ReportInput("gate", f"gate result {index + 1}", source)
    if isinstance(source, CompareResult):
        return ReportInput("compare", f"compare result {index + 1}", source)
    if isinstance(source, BaseModel):
        from judgekit.validate import AgreementReport

        if isinstance(source, AgreementReport):
            return ReportInput("validate", f"validate report {index + 1}", source)
        raise InputError(f"input {index + 1}: a {type(source).__name__} cannot go in a report")
    if isinstance(source, dict):
        kind = detect_kind(source)
        if kind is None:
            raise InputError(f"input {index + 1}: not a score file, validate report, gate or compare result")
        return ReportInput(kind, f"input {index + 1}", _from_raw(kind, source, f"input {index + 1}"))
    path = Path(source)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSON file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    kind = detect_kind(raw)
    if kind is None:
        raise InputError(
            f"{path}: not a judgekit score file, validate report (validate --out), gate result (gate --json) "
            "or compare result"
        )
    data = _from_raw(kind, raw, str(path))
    item = ReportInput(kind, path.name, data, path=path)
    if isinstance(data, ScoreFile):
        _attach_log(item, data)
        _attach_texts(item, data)
    if isinstance(data, GateResult):
        item.paired_diffs = _paired_diffs(data, path.parent)
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
    from judgekit.data import load_dataset, load_responses

    inputs = sf.meta.get("inputs") or {}
    near = item.path.parent if item.path else None
    ds = _resolve((inputs.get("dataset") or {}).get("path"), near)
    rs = _resolve((inputs.get("responses") or {}).get("path"), near)
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


def _paired_diffs(g: GateResult, near: Path) -> list[float] | None:
    """Every paired question's score difference (candidate - baseline), from the score files the gate read."""
    cand = _resolve((g.inputs.get("candidate") or {}).get("path"), near)
    base = _resolve((g.inputs.get("baseline") or {}).get("path"), near)
    if cand is None or base is None:
        return None
    try:
        c, b = load_score_file(cand).by_id(), load_score_file(base).by_id()
    except InputError:
        return None
    out = []
    for qid in sorted(set(c) & set(b)):
        cs, bs = c[qid].score, b[qid].score
        if cs is not None and bs is not None:
            out.append(cs - bs)
    return out
