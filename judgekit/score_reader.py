"""Reading score files: one parser and one set of checks for every command that reads them (gate, compare,
report, validate).

A file is refused, with one line, when it is not JSON, names a key twice in one object (``json`` would keep
the last value and drop the others), or holds a score that is not a finite number or lies outside its rubric's
scale: a NaN compares false with every floor and every difference, so a file of NaNs would pass any check, and
a question score of 5.0 on a 0..1 scale would rank first in a comparison. The scale comes from the score
file's ``meta.rubric`` (see :func:`score_bounds`).

A score file's questions stay plain dicts (:data:`Row`): a large file has tens of thousands of aspect objects,
and building a pydantic model for each costs more than what the commands do with them. They are checked
against the declared types of ``QuestionResult`` / ``AspectResult`` by a cheap strict pass; anything that pass
does not accept goes through full pydantic validation, so a bad file fails with pydantic's one-line message
and a file pydantic would coerce (e.g. a number written as a string) still loads.

A file's ``meta`` is read back here too (:func:`meta_value`, :data:`PROVENANCE_FIELDS`, the judge spec and
settings that reproduce a run): the gate needs it, and it must not load the scorer that writes it
(:mod:`judgekit.scoring.provenance`).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from judgekit.errors import InputError, RubricError
from judgekit.io import read_json_large
from judgekit.results import ScoreFile
from judgekit.results import _from_plain_lamp_qa as from_plain_lamp_qa

if TYPE_CHECKING:
    from judgekit.scoring.settings import ScoreSettings

#: One question of a score file as read here: QuestionResult's fields, its ``details`` a list of
#: AspectResult-shaped dicts; optional keys may be absent (read them with ``.get`` and the model's default).
Row = dict[str, Any]

#: The range of a question score, by the rubric's ``question_score`` (``None``: the rubric's own scale).
_QUESTION_RANGE: dict[str, tuple[float, float] | None] = {"normalized": (0.0, 1.0), "pairwise": (0.0, 1.0)}
_SLACK = 1e-9


def read_score_file(path: str | Path) -> tuple[ScoreFile, list[Row]]:
    """A score file as (the file without its questions, its questions as checked rows); :class:`InputError`
    with one line when it is not a valid score file or holds a score :func:`check_values` refuses."""
    p = Path(path)
    raw = read_json_large(p, what="score file")
    if not isinstance(raw, dict) or "per_question_scores" not in raw:
        raise InputError(f"{p}: not a score file (no per_question_scores)")
    head, rows = score_parts(raw, str(p))
    check_values(head, rows, str(p))
    return head, rows


# ---- the value checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreBounds:
    """The valid range of unit (aspect) scores and of question / overall scores in a score file."""

    aspect: tuple[float, float]
    question: tuple[float, float] | None
    rubric: str


def score_bounds(sf: ScoreFile) -> ScoreBounds | None:
    """The scale a score file's scores must lie in, from where it is known.

    In order: ``meta.rubric.scale`` (with ``meta.rubric.question_score``), the rubric folder recorded in
    ``meta.rubric.folder``, the built-in rubric named by ``meta.rubric.name``; a file without rubric
    metadata is a plain LaMP-QA file (aspects 0..2, questions 0..1). ``None`` when the rubric is unknown.
    """
    rubric = sf.meta.get("rubric")
    if not isinstance(rubric, Mapping):
        return _bounds_of_rubric("lamp_qa")
    name = str(rubric.get("name") or "?")
    scale = rubric.get("scale")
    if isinstance(scale, Mapping) and _is_number(scale.get("min")) and _is_number(scale.get("max")):
        lo, hi = float(scale["min"]), float(scale["max"])
        kind = rubric.get("question_score")
        question = _QUESTION_RANGE.get(kind, (lo, hi)) if isinstance(kind, str) else None
        return ScoreBounds((lo, hi), question, name)
    for ref in (rubric.get("folder"), rubric.get("name")):
        if isinstance(ref, str) and ref:
            found = _bounds_of_rubric(ref)
            if found is not None:
                return found
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@functools.lru_cache(maxsize=32)
def _bounds_of_rubric(ref: str) -> ScoreBounds | None:
    """The scale of a rubric by name or folder (each read once per process: compare reads many files)."""
    from judgekit.rubric import load_rubric

    try:
        spec = load_rubric(ref).spec
    except RubricError:
        return None
    lo, hi = spec.scale.min, spec.scale.max
    return ScoreBounds((lo, hi), _QUESTION_RANGE.get(spec.question_score, (lo, hi)), spec.name)


#: (question id, question score, [(aspect, aspect score), ...]) for each question of a file.
_Scores = Iterable[tuple[str, float | None, Iterable[tuple[str, float | None]]]]


def check_score_values(sf: ScoreFile, name: str) -> None:
    """Raise :class:`InputError` on the first non-finite or out-of-scale score (overall, question, aspect)
    of a loaded score file."""
    questions = ((q.id, q.score, ((a.aspect, a.score) for a in q.details)) for q in sf.per_question_scores)
    _check(sf, questions, name)


def check_values(head: ScoreFile, rows: list[Row], name: str) -> None:
    """:func:`check_score_values` for a file read as (head, rows) by :func:`score_parts`: one tight loop
    (compare reads ten files of 10,000 questions), the message from the same place."""
    bounds = score_bounds(head)
    big = sys.float_info.max  # an unknown scale still refuses NaN and the infinities
    qlo, qhi = _widened(bounds.question if bounds is not None else None, big)
    alo, ahi = _widened(bounds.aspect if bounds is not None else None, big)
    for q in rows:
        score = q["score"]
        if score is not None and not qlo <= score <= qhi:  # a NaN fails every comparison
            _check(head, [(q["id"], score, ())], name)
        for a in q["details"]:
            value = a.get("score")
            if value is not None and not alo <= value <= ahi:
                _check(head, [(q["id"], None, [(a["aspect"], value)])], name)
    _check(head, (), name)


def _widened(allowed: tuple[float, float] | None, big: float) -> tuple[float, float]:
    return (allowed[0] - _SLACK, allowed[1] + _SLACK) if allowed is not None else (-big, big)


def _check(sf: ScoreFile, questions: _Scores, name: str) -> None:
    bounds = score_bounds(sf)
    question_range = bounds.question if bounds is not None else None
    aspect_range = bounds.aspect if bounds is not None else None
    for qid, score, details in questions:
        _check_value(score, question_range, bounds, f"{name}: question {qid!r}: score")
        for aspect, value in details:
            where = f"{name}: question {qid!r}, aspect {aspect!r}: score"
            _check_value(value, aspect_range, bounds, where)
    _check_value(sf.score, question_range, bounds, f"{name}: overall score")


def _check_value(
    value: float | None, allowed: tuple[float, float] | None, bounds: ScoreBounds | None, where: str
) -> None:
    if value is None:
        return
    if allowed is not None and allowed[0] - _SLACK <= value <= allowed[1] + _SLACK:
        return  # the common case, settled by one comparison (a NaN fails it)
    shown = json.dumps(value)  # NaN, Infinity, -Infinity: as the file spells them
    if not math.isfinite(value):
        raise InputError(f"{where} {shown} is not a finite number; no comparison with it means anything")
    if allowed is not None:
        rubric = f" of rubric {bounds.rubric!r}" if bounds is not None else ""
        raise InputError(f"{where} {shown} is outside the scale{rubric} ({allowed[0]:g}..{allowed[1]:g})")


# ---- the structure checks ------------------------------------------------------------------------------

_STATUS = ("scored", "unscored")


def _num(x: Any) -> bool:
    return type(x) is float or type(x) is int


def _opt_num(x: Any) -> bool:
    return x is None or type(x) is float or type(x) is int


def _opt_str(x: Any) -> bool:
    return x is None or type(x) is str


def _num_map(m: Any, nullable: bool) -> bool:
    """None, or a dict of str to numbers (or None where ``nullable``)."""
    if m is None:
        return True
    if type(m) is not dict:
        return False
    check = _opt_num if nullable else _num
    return all(type(k) is str and check(v) for k, v in m.items())


def _unit_ok(a: Any) -> bool:
    """An aspect dict holds exactly the types AspectResult declares (extra keys allowed, as there)."""
    if type(a) is not dict:
        return False
    get = a.get
    score = get("score")
    if type(get("aspect")) is not str or not (score is None or type(score) is float or type(score) is int):
        return False
    if not (_opt_str(get("reason")) and _opt_str(get("method")) and get("status", "scored") in _STATUS):
        return False
    if "samples" in a:
        samples = a["samples"]
        if type(samples) is not list:
            return False
        for x in samples:
            if not (x is None or type(x) is float or type(x) is int):
                return False
    if "fields" in a:
        fields = a["fields"]
        if type(fields) is not dict or not all(type(k) is str for k in fields):
            return False
    judges = get("judges")
    return judges is None or _num_map(judges, True)


def _rows_ok(rows: Any) -> bool:
    """Whether every question holds exactly the types QuestionResult declares, strictly (no coercion)."""
    if type(rows) is not list:
        return False
    for q in rows:
        if type(q) is not dict:
            return False
        get = q.get
        score, details = get("score"), get("details")
        if type(get("id")) is not str or type(details) is not list or "score" not in q:
            return False
        if not (score is None or type(score) is float or type(score) is int):
            return False
        if not (
            _num(get("coverage", 0.0)) and type(get("scored", 0)) is int and type(get("total", 0)) is int
        ):
            return False
        if not (
            _opt_str(get("category")) and _num_map(get("lexical"), False) and _num_map(get("judges"), True)
        ):
            return False
        for a in details:
            if not _unit_ok(a):
                return False
    return True


def rows_of(sf: ScoreFile) -> list[Row]:
    return [q.model_dump() for q in sf.per_question_scores]


def without_questions(sf: ScoreFile) -> ScoreFile:
    return sf.model_copy(update={"per_question_scores": []})


def invalid(kind: str, where: str, err: ValidationError) -> InputError:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return InputError(f"{where}: not a valid {kind} file: field {loc!r}: {first['msg']}")


def score_parts(raw: dict[str, Any], where: str) -> tuple[ScoreFile, list[Row]]:
    """A score file's mapping as (the file without its questions, its questions as checked rows)."""
    if "coverage" not in raw and isinstance(raw.get("per_question_scores"), list):
        raw = from_plain_lamp_qa(raw)
    rows = raw.get("per_question_scores")
    try:
        if _rows_ok(rows):
            return ScoreFile.model_validate({**raw, "per_question_scores": []}), cast("list[Row]", rows)
        # pydantic names the first problem, or accepts what it can coerce.
        full = ScoreFile.model_validate(raw)
    except ValidationError as err:
        raise invalid("score", where, err) from None
    return without_questions(full), rows_of(full)


# ---- provenance: a score file's meta read back ---------------------------------------------------------
# What the gate compares and re-scores with. Whatever resolves a judge or builds settings (the judge registry,
# the scorer's settings) is imported inside the function that needs it: importing the gate loads neither.

#: Judge and rubric settings that must agree for two score files to be comparable.
PROVENANCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("rubric", "name"),
    ("rubric", "content_sha256"),
    ("rubric", "mode"),
    ("judge", "identity"),
    ("judge", "temperature"),
    ("judge", "samples"),
)


def meta_value(meta: Mapping[str, Any], section: str, key: str) -> Any:
    """``meta[section][key]``, or ``None`` when either is missing."""
    part = meta.get(section)
    return part.get(key) if isinstance(part, Mapping) else None


def has_provenance(meta: Mapping[str, Any]) -> bool:
    """Whether ``meta`` records any of the settings in :data:`PROVENANCE_FIELDS`."""
    return any(meta_value(meta, s, k) is not None for s, k in PROVENANCE_FIELDS)


#: What one unit of coverage is, by the mode the rubric judged in (meta.rubric.mode).
_UNITS = {"per_aspect": "aspects", "all_aspects": "aspects", "per_item": "items", "per_order": "pair orders"}


def unit_noun(result: ScoreFile) -> str:
    """The rubric's unit, plural: aspects (LaMP-QA checklists), items (one verdict each), pair orders (a pair
    is judged in both orders)."""
    rubric = result.meta.get("rubric")
    mode = rubric.get("mode") if isinstance(rubric, dict) else None
    return _UNITS.get(str(mode), "units")


def judge_spec_from_meta(meta: Mapping[str, Any]) -> str | None:
    """The ``--judge`` string that produced a score file, recovered from its ``meta.judge.identity``.

    Each judge backend says how its identity maps back (:func:`judgekit.judges.registry.spec_from_meta`):
    ``litellm:MODEL[@API_BASE]|structured=...`` -> ``MODEL``; ``local:FILE:SIZE`` -> ``local``;
    ``python:module:attr`` -> ``module:attr``. ``None`` when the identity is missing or unknown (a panel).
    """
    from judgekit.judges.registry import spec_from_meta

    judge = meta.get("judge")
    return spec_from_meta(judge) if isinstance(judge, dict) else None


def _endpoint_from_meta(judge: dict[str, Any]) -> str | None:
    """The judge's endpoint: ``meta.judge.api_base``, else the one in its identity (a panel-file judge)."""
    if isinstance(judge.get("api_base"), str):
        return str(judge["api_base"])
    from judgekit.judges.registry import endpoint_from_identity

    identity = judge.get("identity")
    return endpoint_from_identity(identity) if isinstance(identity, str) else None


def _rubric_ref(rubric: dict[str, Any]) -> str:
    """The built-in rubric by name when its content is unchanged, else the recorded folder (if it exists)."""
    from judgekit.rubric import load_rubric

    folder = rubric.get("folder")
    name = rubric.get("name")
    ref = name if isinstance(name, str) else "lamp_qa"
    if isinstance(folder, str) and Path(folder).is_dir():
        try:
            same = load_rubric(ref).content_hash == rubric.get("content_sha256")
        except Exception:
            same = False
        if not same:
            ref = folder
    return ref


def settings_from_meta(
    meta: Mapping[str, Any], api_base: str | None = None, api_key: str | None = None
) -> ScoreSettings:
    """:class:`~judgekit.scoring.settings.ScoreSettings` equal to those recorded in a score file's ``meta``.

    ``api_base`` / ``api_key`` override the recorded endpoint (the key is never recorded). Raises pydantic's
    ``ValidationError`` when the recorded values are not valid settings.
    """
    from pydantic import ValidationError

    from judgekit.judges.factory import JudgeOptions
    from judgekit.run.engine import EngineSettings
    from judgekit.scoring.settings import ScoreSettings

    rubric = meta.get("rubric") if isinstance(meta.get("rubric"), dict) else {}
    judge = meta.get("judge") if isinstance(meta.get("judge"), dict) else {}
    assert isinstance(rubric, dict) and isinstance(judge, dict)
    engine_raw = dict(meta["engine"]) if isinstance(meta.get("engine"), dict) else {}
    # the per-call timeout is a judge option (meta.judge.timeout); older files recorded it in meta.engine
    timeout = judge.get("timeout", engine_raw.pop("timeout", None))
    try:
        engine = EngineSettings.model_validate(engine_raw)
    except ValidationError:
        engine = EngineSettings()
    return ScoreSettings(
        rubric=_rubric_ref(rubric),
        mode=rubric.get("mode"),
        samples=judge.get("samples") or 1,
        temperature=judge.get("temperature") or 0.0,
        max_tokens=judge.get("max_tokens"),
        seed=judge.get("seed"),
        reasoning_effort=judge.get("reasoning_effort"),
        judge=JudgeOptions(
            api_base=api_base if api_base is not None else _endpoint_from_meta(judge),
            api_key=api_key,
            structured=judge.get("structured") or "auto",
            **({"timeout": timeout} if timeout is not None else {}),
        ),
        engine=engine,
    )
