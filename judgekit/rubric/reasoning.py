"""Reasoning is not the verdict: a judge's thinking is set apart before its answer is parsed.

Reasoning models (DeepSeek-R1 and its distillations, Qwen3, QwQ, gpt-oss) think before they answer, either
inline in the content (``<think>...</think>``) or in a separate ``reasoning_content`` field of the message.
Their thinking often tries out verdicts it then rejects, so it must never be read as one: the text inside
reasoning blocks is removed before parsing, echo detection and the re-ask's quote of the answer, and kept for
the run log instead. A block that never closes because the answer ran out of tokens is its own failure: the
verdict was never written, and asking again with the same budget would end the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from judgekit.judges.base import Completion
from judgekit.rubric import Rubric
from judgekit.rubric.parse import ParseResult, parse_completion
from judgekit.rubric.reasoning_tags import DEFAULT_TAGS, check_tags

#: How every unscored reason for an answer cut off inside its reasoning begins.
TRUNCATED = "reasoning truncated"
EFFORTS = ("low", "medium", "high")
__all__ = ["DEFAULT_TAGS", "Reading", "Reasoned", "check_tags", "read_completion", "split_reasoning"]


@dataclass(frozen=True, slots=True)
class Reasoned:
    """An answer split into the text that may hold the verdict and the reasoning set apart from it."""

    answer: str | None
    reasoning: str | None
    unclosed: bool = False  # a reasoning block opened and never closed


@lru_cache(maxsize=16)
def _tag_patterns(tags: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    names = "|".join(re.escape(t) for t in tags)
    return (
        re.compile(rf"<\s*({names})\s*>", re.IGNORECASE),
        re.compile(rf"<\s*/\s*({names})\s*>", re.IGNORECASE),
    )


@lru_cache(maxsize=64)
def _closing(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<\s*/\s*{re.escape(tag)}\s*>", re.IGNORECASE)


def split_reasoning(text: str | None, tags: tuple[str, ...] = DEFAULT_TAGS) -> Reasoned:
    """``text`` without its reasoning blocks, and the blocks' contents.

    A closing tag before any opening one ends a block that began with the answer (chat templates of R1-style
    models put the opening ``<think>`` in the prompt). A block that never closes runs to the end of the text.
    """
    if not text or "<" not in text:
        return Reasoned(text, None)
    opening, closing = _tag_patterns(tags)
    kept: list[str] = []
    thought: list[str] = []
    pos = 0
    first_open = opening.search(text)
    first_close = closing.search(text)
    if first_close is not None and (first_open is None or first_close.start() < first_open.start()):
        thought.append(text[: first_close.start()])
        pos = first_close.end()
    while True:
        found = opening.search(text, pos)
        if found is None:
            kept.append(text[pos:])
            break
        kept.append(text[pos : found.start()])
        end = _closing(found.group(1).lower()).search(text, found.end())
        if end is None:
            thought.append(text[found.end() :])
            return Reasoned("".join(kept), _joined(thought), unclosed=True)
        thought.append(text[found.end() : end.start()])
        pos = end.end()
    return Reasoned("".join(kept), _joined(thought))


def _joined(parts: Iterable[str | None]) -> str | None:
    texts = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(texts) if texts else None


def truncated_reason(max_tokens: int | None) -> str:
    """Why an answer cut off inside its reasoning is unscored, and what to do about it."""
    if max_tokens is None:
        return f"{TRUNCATED} at the judge's own token limit: set --max-tokens higher"
    return f"{TRUNCATED} at max_tokens={max_tokens}: raise --max-tokens"


def truncation_note(reasons: Iterable[str]) -> str | None:
    """One line for a run's summary when some of its judgments ran out of tokens inside their reasoning."""
    n = sum(1 for r in reasons if r.startswith(TRUNCATED))
    if not n:
        return None
    return f"{n} judgment{'s' if n != 1 else ''} ran out of tokens inside the judge's reasoning: raise --max-tokens"


@dataclass(frozen=True, slots=True)
class Reading:
    """A completion read against a rubric: the parse, the answer it parsed, the reasoning set apart."""

    parsed: ParseResult
    answer: str | None
    reasoning: str | None
    truncated: bool = False


def read_completion(
    completion: Completion,
    rubric: Rubric,
    slots: tuple[str, ...] | None,
    untrusted: tuple[str, ...],
    tags: tuple[str, ...],
    max_tokens: int | None,
) -> Reading:
    """Set the reasoning apart (inline blocks and the provider's ``reasoning`` field), then parse what is left.

    An answer that stopped at the token limit with no verdict outside an unclosed (or a separate) reasoning
    block is truncated: not parsed at all, since nothing after the reasoning was ever written."""
    split = split_reasoning(completion.text, tags)
    reasoning = _joined([completion.reasoning, split.reasoning])
    stopped = completion.finish_reason == "length"
    if stopped and (split.unclosed or (reasoning and not (split.answer or "").strip())):
        failed = ParseResult(False, reason=truncated_reason(max_tokens))
        return Reading(failed, split.answer, reasoning, truncated=True)
    # without inline blocks the answer is the text as it came (a re-ask quotes it, and its cache key with it)
    answer = split.answer if split.answer == completion.text else (split.answer or "").strip()
    return Reading(parse_completion(answer, rubric, slots, untrusted), answer, reasoning)
