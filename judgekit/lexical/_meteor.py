"""METEOR with the same results as ``nltk.translate.meteor_score.meteor_score``, faster.

nltk aligns a hypothesis to a reference in three stages (exact, Porter stem, WordNet synonym). Each
stage walks the unmatched hypothesis words from last to first and pairs each with the last unmatched
reference word that matches it; the stem stage hands its *stemmed* words on to the synonym stage,
which looks up WordNet synonyms of those stems. nltk stems every unmatched word and queries WordNet
for every unmatched hypothesis word on every call; both depend on the word alone, so here they are
computed once per word type per process. The alignment rules and the score's arithmetic are nltk's
(same order of operations, nltk's own default alpha, beta and gamma), so the floats are identical;
tests/test_lexical.py checks this against nltk itself on random and edge-case inputs.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from typing import Any

from judgekit.lexical._memo import remember


class MemoStemmer:
    """A stemmer's ``stem`` memoised per word (NLTK's Porter stemmer is a pure function of the word)."""

    def __init__(self, stemmer: Any) -> None:
        self._stemmer = stemmer
        self._memo: dict[str, str] = {}

    def stem(self, word: str) -> str:
        memo = self._memo
        if word in memo:
            return memo[word]
        return remember(memo, word, str(self._stemmer.stem(word)))


class FastMeteor:
    """``meteor_score(references, hypothesis, stemmer=..., wordnet=...)`` on tokenised text."""

    def __init__(self, stemmer: MemoStemmer, wordnet: Any) -> None:
        from nltk.translate.meteor_score import single_meteor_score

        defaults = inspect.signature(single_meteor_score).parameters
        self._alpha: float = defaults["alpha"].default
        self._beta: float = defaults["beta"].default
        self._gamma: float = defaults["gamma"].default
        self._stemmer = stemmer
        self._wordnet = wordnet
        self._synonyms: dict[str, frozenset[str]] = {}

    def _synonyms_of(self, word: str) -> frozenset[str]:
        """The word and its WordNet lemma names without ``_`` (the multi-word ones), as nltk builds it."""
        found = self._synonyms.get(word)
        if found is None:
            names = {
                lemma.name()
                for synset in self._wordnet.synsets(word)
                for lemma in synset.lemmas()
                if lemma.name().find("_") < 0
            }
            names.add(word)
            found = remember(self._synonyms, word, frozenset(names))
        return found

    def score(self, references: Sequence[Sequence[str]], hypothesis: Sequence[str]) -> float:
        """The highest single-reference score (nltk's ``max`` over references)."""
        hyp = [w.lower() for w in hypothesis]
        return max(self._single([w.lower() for w in ref], hyp) for ref in references)

    def _single(self, ref: list[str], hyp: list[str]) -> float:
        matches = self._align(hyp, ref)
        matches_count = len(matches)
        alpha, beta, gamma = self._alpha, self._beta, self._gamma
        try:
            precision = float(matches_count) / len(hyp)
            recall = float(matches_count) / len(ref)
            fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
            chunk_count = float(_count_chunks(matches))
            frag_frac = chunk_count / matches_count
        except ZeroDivisionError:
            return 0.0
        penalty = gamma * frag_frac**beta
        result: float = (1 - penalty) * fmean
        return result

    def _align(self, hyp: list[str], ref: list[str]) -> list[tuple[int, int]]:
        """nltk's alignment: exact, then stem, then synonym stage; pairs sorted by hypothesis position."""
        hyp_left = list(enumerate(hyp))
        ref_left = list(enumerate(ref))
        matches = _match_stage(hyp_left, ref_left, None)
        stem = self._stemmer.stem
        hyp_left = [(i, stem(w)) for i, w in hyp_left]
        ref_left = [(j, stem(w)) for j, w in ref_left]
        matches += _match_stage(hyp_left, ref_left, None)
        if hyp_left and ref_left:
            matches += _match_stage(hyp_left, ref_left, self._synonyms_of)
        matches.sort(key=lambda pair: pair[0])
        return matches


def _match_stage(
    hyp_left: list[tuple[int, str]],
    ref_left: list[tuple[int, str]],
    synonyms: Any,
) -> list[tuple[int, int]]:
    """One stage: each unmatched hypothesis word, last first, takes the last matching unmatched
    reference word (equal words, or with ``synonyms`` a reference word among the hypothesis word's
    synonyms). Matched entries are removed from both lists in place."""
    positions: dict[str, list[int]] = {}
    for k, (_, word) in enumerate(ref_left):
        positions.setdefault(word, []).append(k)
    matched_hyp: set[int] = set()
    matched_ref: set[int] = set()
    out: list[tuple[int, int]] = []
    for h in range(len(hyp_left) - 1, -1, -1):
        word = hyp_left[h][1]
        if synonyms is None:
            found = positions.get(word)
            if not found:
                continue
            k = found.pop()
        else:
            candidates = synonyms(word)
            if len(candidates) < len(positions):
                present = [c for c in candidates if c in positions]
            else:
                present = [c for c in positions if c in candidates]
            k = -1
            best: list[int] | None = None
            for candidate in present:
                found = positions[candidate]
                if found and found[-1] > k:
                    k, best = found[-1], found
            if best is None:
                continue
            best.pop()
        matched_hyp.add(h)
        matched_ref.add(k)
        out.append((hyp_left[h][0], ref_left[k][0]))
    if out:
        hyp_left[:] = [pair for h, pair in enumerate(hyp_left) if h not in matched_hyp]
        ref_left[:] = [pair for k, pair in enumerate(ref_left) if k not in matched_ref]
    return out


def _count_chunks(matches: list[tuple[int, int]]) -> int:
    """Runs of matches adjacent in both hypothesis and reference (nltk counts 1 for no matches)."""
    chunks = 1
    for (h0, r0), (h1, r1) in itertools.pairwise(matches):
        if not (h1 == h0 + 1 and r1 == r0 + 1):
            chunks += 1
    return chunks
