"""Input files: ``inputs`` reads datasets and single responses, ``pairs`` the two responses of pairwise
rubrics (two files, or the LLMBar, AlpacaEval and MT-Bench layouts)."""

from judgekit.data.inputs import (
    DEFAULT_MAX_RESPONSE_CHARS,
    Aspect,
    Item,
    check_unique_ids,
    dataset_rows,
    file_sha256,
    load_dataset,
    load_responses,
    match_ids,
    read_json_or_jsonl,
    row_item_id,
)
from judgekit.data.pairs import PAIR_LAYOUTS, PairTexts, load_pairs, load_turns, normalize_label

__all__ = [
    "DEFAULT_MAX_RESPONSE_CHARS",
    "PAIR_LAYOUTS",
    "Aspect",
    "Item",
    "PairTexts",
    "check_unique_ids",
    "dataset_rows",
    "file_sha256",
    "load_dataset",
    "load_pairs",
    "load_responses",
    "load_turns",
    "match_ids",
    "normalize_label",
    "read_json_or_jsonl",
    "row_item_id",
]
