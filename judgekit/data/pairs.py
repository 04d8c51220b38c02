"""Pairs: two responses per item, for pairwise rubrics, from two response files or from a dataset in the
LLMBar, AlpacaEval or MT-Bench layout; gold labels normalised to ``"1"``, ``"2"`` or ``"tie"``.

Every problem is reported as one line naming the file, the item id and the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judgekit.data.inputs import (
    DEFAULT_MAX_RESPONSE_CHARS,
    Item,
    check_unique_ids,
    dataset_rows,
    load_responses,
    match_ids,
    read_json_or_jsonl,
    row_item_id,
)
from judgekit.errors import InputError, where

PairTexts = dict[str, str]
"""The two responses of a pair: ``{"a": text, "b": text}`` (a = output_1 / --responses-a)."""

PAIR_LAYOUTS = (
    "LLMBar (input, output_1, output_2, label), AlpacaEval (instruction, output_1, output_2, "
    "preference) or MT-Bench judgments (question_id, model_a, model_b, conversation_a, conversation_b, turn, winner)"
)


def normalize_label(value: Any) -> str | None:
    """A gold pairwise label as ``"1"``, ``"2"`` or ``"tie"``; ``None`` for no label.

    Accepts LLMBar's 1/2, AlpacaEval's preference (1 or 2; 1.5 = tie; values in between go to the nearer
    side; -1, 0 or null mean the annotation failed: no label), MT-Bench's winner ("model_a", "model_b",
    "tie", "tie (bothbad)"), and "a"/"b"/"tie".
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if value != value or not 1 <= value <= 2:
            return None
        if value == 1.5:
            return "tie"
        return "1" if value < 1.5 else "2"
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if v in ("1", "a", "model_a", "output_1"):
        return "1"
    if v in ("2", "b", "model_b", "output_2"):
        return "2"
    if v.startswith("tie"):
        return "tie"
    try:
        return normalize_label(float(v))
    except ValueError:
        return None


def _text(path: Path, item_id: str, row: dict[str, Any], field: str) -> str:
    if field not in row:
        raise InputError(f"{where(path, item_id, field)}: missing")
    value = row[field]
    if not isinstance(value, str):
        raise InputError(f"{where(path, item_id, field)}: expected a string, got {type(value).__name__}")
    return value


def _pair_item(
    item_id: str,
    row: dict[str, Any],
    user_turns: list[str],
    a_turns: list[str],
    b_turns: list[str],
    label: str | None,
) -> tuple[Item, PairTexts]:
    """An item judging the last turn of a (possibly multi-turn) conversation with two assistants."""
    fields = dict(row)
    fields["input"] = user_turns[-1]

    def history(answers: list[str]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for question, answer in zip(user_turns[:-1], answers[:-1], strict=True):
            out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return out

    fields["history"] = {"a": history(a_turns), "b": history(b_turns)}
    fields["turn"] = len(user_turns)
    if label is not None:
        fields["label"] = label
    else:
        fields.pop("label", None)
    return Item(id=item_id, fields=fields), {"a": a_turns[-1], "b": b_turns[-1]}


def _row_id(path: Path, row: dict[str, Any], n: int) -> str:
    """``id``, else MT-Bench's ``question_id``, else the 1-based row number (LLMBar and AlpacaEval files have
    no ids)."""
    if "id" in row:
        return row_item_id(path, row, n)
    if "question_id" in row:
        return row_item_id(path, {"id": row["question_id"]}, n)
    return str(n + 1)


def _label_field(path: Path, item_id: str, row: dict[str, Any]) -> str | None:
    for field in ("label", "preference", "winner"):
        if field in row and row[field] is not None:
            label = normalize_label(row[field])
            if label is None and field == "label":
                raise InputError(f"{where(path, item_id, field)}: expected 1, 2 or 'tie', got {row[field]!r}")
            return label
    return None


def _conversation(
    path: Path, item_id: str, row: dict[str, Any], field: str, turn: int
) -> tuple[list[str], list[str]]:
    """User and assistant turns 1..turn of an MT-Bench ``conversation_a``/``conversation_b``."""
    conv = row.get(field)
    if not isinstance(conv, list):
        raise InputError(f"{where(path, item_id, field)}: expected a list of {{role, content}} messages")
    users: list[str] = []
    assistants: list[str] = []
    for k, msg in enumerate(conv):
        loc = f"{field}[{k}]"
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            raise InputError(f"{where(path, item_id, loc)}: expected {{role, content}} with string content")
        role = msg.get("role")
        if role == "user":
            users.append(msg["content"])
        elif role == "assistant":
            assistants.append(msg["content"])
        elif role != "system":
            raise InputError(
                f"{where(path, item_id, loc + '.role')}: expected user or assistant, got {role!r}"
            )
    if len(users) < turn or len(assistants) < turn:
        raise InputError(f"{where(path, item_id, field)}: has no assistant answer for turn {turn}")
    return users[:turn], assistants[:turn]


def _turn(path: Path, item_id: str, row: dict[str, Any]) -> int:
    value = row.get("turn", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where(path, item_id, 'turn')}: expected a turn number (1, 2, ...)")
    return value


def _pairs_in_dataset(path: Path, rows: list[dict[str, Any]]) -> list[tuple[Item, PairTexts]]:
    """Pairs carried by the dataset itself: LLMBar / AlpacaEval rows, or MT-Bench judgment rows."""
    first = rows[0]
    if "conversation_a" in first or "conversation_b" in first:
        return _mt_bench_judgments(path, rows)
    if "output_1" not in first and "output_2" not in first:
        raise InputError(
            f"{path}: no responses to compare: give --responses-a and --responses-b, or a dataset in the "
            f"{PAIR_LAYOUTS} layout"
        )
    out = []
    for n, row in enumerate(rows):
        item_id = _row_id(path, row, n)
        if "input" in row and "instruction" not in row:
            prompt = _text(path, item_id, row, "input")
        elif "instruction" in row:
            prompt = _text(path, item_id, row, "instruction")
            extra = row.get("input")
            if isinstance(extra, str) and extra.strip():  # Alpaca's optional context goes under the task
                prompt = f"{prompt}\n\n{extra}"
        else:
            raise InputError(f"{where(path, item_id, 'input')}: missing (or 'instruction')")
        a = _text(path, item_id, row, "output_1")
        b = _text(path, item_id, row, "output_2")
        out.append(_pair_item(item_id, row, [prompt], [a], [b], _label_field(path, item_id, row)))
    return out


def _mt_bench_judgments(path: Path, rows: list[dict[str, Any]]) -> list[tuple[Item, PairTexts]]:
    """MT-Bench human / GPT-4 pair judgments: one item per (question, model pair, turn).

    Several votes on the same pair and turn (different annotators) become one item whose ``label`` is the
    majority vote ("tie" when the votes split evenly) and whose ``votes`` lists them all.
    """
    groups: dict[tuple[str, str, str, int], list[dict[str, Any]]] = {}
    for n, row in enumerate(rows):
        qid = _row_id(path, row, n)
        for field in ("model_a", "model_b"):
            _text(path, qid, row, field)
        key = (qid, row["model_a"], row["model_b"], _turn(path, qid, row))
        groups.setdefault(key, []).append(row)
    out = []
    for (qid, model_a, model_b, turn), members in groups.items():
        item_id = f"{qid}:{model_a}:{model_b}:turn{turn}" if "id" not in members[0] else qid
        row = members[0]
        users_a, a_turns = _conversation(path, item_id, row, "conversation_a", turn)
        users_b, b_turns = _conversation(path, item_id, row, "conversation_b", turn)
        if users_a != users_b:
            raise InputError(
                f"{where(path, item_id, 'conversation_b')}: asks different questions than conversation_a"
            )
        votes = [normalize_label(m.get("winner")) for m in members]
        counted = Counter(v for v in votes if v is not None).most_common()
        label = None
        if counted:
            label = counted[0][0] if len(counted) == 1 or counted[0][1] > counted[1][1] else "tie"
        fields = {
            k: v for k, v in row.items() if k not in ("conversation_a", "conversation_b", "winner", "judge")
        }
        fields["votes"] = [{"judge": m.get("judge"), "winner": m.get("winner")} for m in members]
        out.append(_pair_item(item_id, fields, users_a, a_turns, b_turns, label))
    return out


def load_turns(path: str | Path, max_chars: int | None = DEFAULT_MAX_RESPONSE_CHARS) -> dict[str, list[str]]:
    """One side of a pair: the responses shapes of :func:`load_responses`, or MT-Bench model answers
    (``{question_id, choices: [{turns: [...]}]}`` rows), as a list of assistant turns per id."""
    p = Path(path)
    data = read_json_or_jsonl(p)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "choices" in data[0]:
        out: dict[str, list[str]] = {}
        for n, row in enumerate(dataset_rows(p, data)):
            item_id = _row_id(p, row, n)
            choices = row.get("choices")
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                raise InputError(f'{where(p, item_id, "choices")}: expected [{{"turns": [...]}}]')
            turns = choices[0].get("turns")
            if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
                raise InputError(f"{where(p, item_id, 'choices[0].turns')}: expected a list of strings")
            if item_id in out:
                raise InputError(f"{p}: duplicate ids: {item_id!r}")
            for t in turns:
                if max_chars is not None and len(t) > max_chars:
                    raise InputError(
                        f"{where(p, item_id, 'choices[0].turns')}: a turn has {len(t):,} characters, above the "
                        f"limit of {max_chars:,} (raise it with --max-response-chars)"
                    )
            out[item_id] = list(turns)
        return out
    return {k: [v] for k, v in load_responses(p, max_chars).items()}


def load_pairs(
    dataset: str | Path,
    responses_a: str | Path | None = None,
    responses_b: str | Path | None = None,
    *,
    required: Iterable[str] = (),
    max_chars: int | None = DEFAULT_MAX_RESPONSE_CHARS,
) -> tuple[list[Item], dict[str, PairTexts]]:
    """Items and their two responses: from ``responses_a``/``responses_b`` files matched to the dataset by id,
    or from a dataset in the LLMBar, AlpacaEval or MT-Bench layout. Each item gets ``input`` (the final user
    turn), ``history`` (``{"a": [...], "b": [...]}`` earlier turns, empty for single-turn data) and, when
    the data has one, a gold ``label`` ("1", "2" or "tie")."""
    p = Path(dataset)
    rows = dataset_rows(p, read_json_or_jsonl(p))
    if not rows:
        raise InputError(f"{p}: the dataset has no items")
    if (responses_a is None) != (responses_b is None):
        raise InputError("give both --responses-a and --responses-b (the two sides of each pair)")
    if responses_a is None or responses_b is None:
        pairs = _pairs_in_dataset(p, rows)
    else:
        pairs = _pairs_from_files(p, rows, Path(responses_a), Path(responses_b), max_chars)
    check_unique_ids(p, [item.id for item, _ in pairs])
    for item, texts in pairs:
        for side, text in texts.items():
            if max_chars is not None and len(text) > max_chars:
                field = "output_1" if side == "a" else "output_2"
                raise InputError(
                    f"{where(p, item.id, field)}: response has {len(text):,} characters, above the limit of "
                    f"{max_chars:,} (raise it with --max-response-chars)"
                )
        for field in required:
            if field not in item.fields:
                raise InputError(f"{where(p, item.id, field)}: missing")
            if not isinstance(item.fields[field], str):
                raise InputError(
                    f"{where(p, item.id, field)}: expected a string, got {type(item.fields[field]).__name__}"
                )
    return [item for item, _ in pairs], {item.id: texts for item, texts in pairs}


def _pairs_from_files(
    path: Path, rows: list[dict[str, Any]], path_a: Path, path_b: Path, max_chars: int | None
) -> list[tuple[Item, PairTexts]]:
    side_a, side_b = load_turns(path_a, max_chars), load_turns(path_b, max_chars)
    ids = [
        _row_id(path, row, n) if ("id" in row or "question_id" in row) else row_item_id(path, row, n)
        for n, row in enumerate(rows)
    ]
    check_unique_ids(path, ids)
    for side, side_path in ((side_a, path_a), (side_b, path_b)):
        match_ids([Item(id=i, fields={}) for i in ids], {k: "" for k in side}, path, side_path)
    out = []
    for item_id, row in zip(ids, rows, strict=True):
        turns = row.get("turns")
        if turns is not None:  # MT-Bench question file: one item per turn
            if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
                raise InputError(f"{where(path, item_id, 'turns')}: expected a list of strings")
            for side, side_path in ((side_a, path_a), (side_b, path_b)):
                if len(side[item_id]) < len(turns):
                    raise InputError(
                        f"{where(side_path, item_id)}: has {len(side[item_id])} turn(s), the question has {len(turns)}"
                    )
            for t in range(1, len(turns) + 1):
                unit_id = item_id if len(turns) == 1 else f"{item_id}:turn{t}"
                out.append(
                    _pair_item(
                        unit_id,
                        row,
                        list(turns[:t]),
                        side_a[item_id][:t],
                        side_b[item_id][:t],
                        _label_field(path, unit_id, row),
                    )
                )
            continue
        prompt = row.get("input", row.get("instruction", row.get("question")))
        if not isinstance(prompt, str):
            raise InputError(f"{where(path, item_id, 'input')}: missing or not a string")
        for side, side_path in ((side_a, path_a), (side_b, path_b)):
            if len(side[item_id]) != 1:
                raise InputError(
                    f"{where(side_path, item_id)}: has {len(side[item_id])} turns, the dataset item has one"
                )
        out.append(
            _pair_item(
                item_id, row, [prompt], side_a[item_id], side_b[item_id], _label_field(path, item_id, row)
            )
        )
    return out
