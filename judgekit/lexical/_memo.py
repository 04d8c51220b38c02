"""Bounded per-process memo tables for the fast metrics (stems, synonyms, tokens, sentence breaks)."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Entries per table before it is emptied and refilled: bounds a worker's memory on huge vocabularies.
LIMIT = 500_000


def remember(memo: dict[K, V], key: K, value: V) -> V:
    """Store and return ``value``; a full table is emptied first."""
    if len(memo) >= LIMIT:
        memo.clear()
    memo[key] = value
    return value
