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
from collections.abc import Iterable, Sequence
from typing import Any

from judgekit.lexical._memo import remember
from judgekit.lexical._synonyms import LemmaNames
from judgekit.lexical.wordnet_index import WordNetIndex


class MemoStemmer:
    """A stemmer's ``stem`` memoised per word (NLTK's Porter stemmer is a pure function of the word)."""

    def __init__(self, stemmer: Any) -> None:
        self._stemmer = stemmer
        self.memo: dict[str, str] = {}

    def stem(self, word: str) -> str:
        memo = self.memo
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
        # judgekit's lemma-name index answers directly; NLTK's reader goes through LemmaNames.
        self._lemma_names = (
            wordnet.lemma_names if isinstance(wordnet, WordNetIndex) else LemmaNames(wordnet).names
        )
        self._synonyms: dict[str, frozenset[str]] = {}

    def _synonyms_of(self, word: str) -> frozenset[str]:
        """The word and its WordNet lemma names without ``_`` (the multi-word ones), as nltk builds it."""
        found = self._synonyms.get(word)
        if found is None:
            names = {name for name in self._lemma_names(word) if name.find("_") < 0}
            names.add(word)
            found = remember(self._synonyms, word, frozenset(names))
        return found

    def score(self, references: Sequence[Sequence[str]], hypothesis: Sequence[str]) -> float:
        """The highest single-reference score (nltk's ``max`` over references)."""
        hyp = list(map(str.lower, hypothesis))
        return max(self._single(list(map(str.lower, ref)), hyp) for ref in references)

    def _single(self, ref: list[str], hyp: list[str]) -> float:
        matches_count, chunk_count = self._align(hyp, ref)
        alpha, beta, gamma = self._alpha, self._beta, self._gamma
        try:
            precision = float(matches_count) / len(hyp)
            recall = float(matches_count) / len(ref)
            fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
            frag_frac = float(chunk_count) / matches_count
        except ZeroDivisionError:
            return 0.0
        penalty = gamma * frag_frac**beta
        result: float = (1 - penalty) * fmean
        return result

    def _align(self, hyp: list[str], ref: list[str]) -> tuple[int, int]:
        """nltk's alignment (exact, then stem, then synonym stage): (matches, chunks).

        ``ref_at[i]`` is the reference position matched to hypothesis position ``i`` (-2: none).
        Each stage walks the hypothesis positions still unmatched from last to first, so the
        lists of unmatched positions are kept in that order (reference ones in ascending order).
        """
        ref_at = [-2] * len(hyp)
        hyp_left = _match_stage(range(len(hyp) - 1, -1, -1), hyp, range(len(ref)), ref, ref_at)
        if hyp_left:
            ref_left = _unmatched(len(ref), ref_at)
            hyp_stems = self._stems(hyp, hyp_left)
            ref_stems = self._stems(ref, ref_left)
            hyp_left = _match_stage(hyp_left, hyp_stems, ref_left, ref_stems, ref_at)
            if hyp_left:
                ref_left = _unmatched(len(ref), ref_at)
                if ref_left:
                    self._synonym_stage(hyp_left, hyp_stems, ref_left, ref_stems, ref_at)
        return _count(ref_at)

    def _stems(self, words: list[str], left: list[int]) -> list[str]:
        """``words`` with the ones at positions ``left`` stemmed (the others are not looked at)."""
        memo = self._stemmer.memo
        stem = self._stemmer.stem
        out = words[:]
        for k in left:
            word = words[k]
            out[k] = memo.get(word) or stem(word)
        return out

    def _synonym_stage(
        self,
        hyp_left: list[int],
        hyp_words: list[str],
        ref_left: list[int],
        ref_words: list[str],
        ref_at: list[int],
    ) -> None:
        """Each hypothesis word, last first, takes the last unmatched reference word among its
        synonyms (the reference position is the largest, as nltk's reverse scan finds)."""
        positions = _positions(ref_left, ref_words)
        for i in hyp_left:
            candidates = self._synonyms_of(hyp_words[i])
            best = -1
            best_list: list[int] | None = None
            if len(candidates) < len(positions):
                for word in candidates:
                    found = positions.get(word)
                    if found and found[-1] > best:
                        best, best_list = found[-1], found
            else:
                for word, found in positions.items():
                    if found and found[-1] > best and word in candidates:
                        best, best_list = found[-1], found
            if best_list is not None:
                best_list.pop()
                ref_at[i] = best


def _match_stage(
    hyp_left: Iterable[int],
    hyp_words: list[str],
    ref_left: Iterable[int],
    ref_words: list[str],
    ref_at: list[int],
) -> list[int]:
    """Exact or stem stage: each unmatched hypothesis word (in ``hyp_left``'s order, last first)
    takes the last unmatched equal reference word. Returns the hypothesis positions left over."""
    positions = _positions(ref_left, ref_words)
    left: list[int] = []
    for i in hyp_left:
        found = positions.get(hyp_words[i])
        if found:
            ref_at[i] = found.pop()
        else:
            left.append(i)
    return left


def _positions(ref_left: Iterable[int], ref_words: list[str]) -> dict[str, list[int]]:
    """Each word's positions among ``ref_left``, in that order."""
    positions: dict[str, list[int]] = {}
    for j in ref_left:
        word = ref_words[j]
        found = positions.get(word)
        if found is None:
            positions[word] = [j]
        else:
            found.append(j)
    return positions


def _unmatched(n_ref: int, ref_at: list[int]) -> list[int]:
    """Reference positions no hypothesis position is matched to, ascending."""
    taken = set(ref_at)
    return [j for j in range(n_ref) if j not in taken]


def _count(ref_at: list[int]) -> tuple[int, int]:
    """(matches, chunks): runs of matches adjacent in both hypothesis and reference, as nltk counts
    them (1 for no matches; the score is then 0 anyway)."""
    matches = len(ref_at) - ref_at.count(-2)
    if not matches:
        return 0, 1
    # A match continues a chunk when the previous hypothesis position is matched to the previous
    # reference position; -2 marks no match, and -2 + 1 is no position.
    continuing = sum(
        1 for previous, current in itertools.pairwise(ref_at) if current >= 0 and previous + 1 == current
    )
    return matches, matches - continuing
