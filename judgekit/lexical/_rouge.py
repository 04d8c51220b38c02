"""ROUGE-N, ROUGE-L and ROUGE-Lsum with the same results as ``rouge_score.RougeScorer``, faster.

rouge-score spends most of its time in two places: the Porter stemmer, run again on every token of
every text, and ROUGE-L's longest common subsequence, a Python dynamic-programming table of
len(target) x len(prediction) cells. Here each distinct raw token is tokenised and stemmed once per
process (the result depends on the token alone), and the LCS comes from a bit-parallel algorithm
(Hyyrö 2004) on Python integers: one pass over the prediction with a few big-integer operations per
token. The column bit vectors it produces give any cell of rouge-score's table, so ROUGE-Lsum's
backtrack picks the very same LCS as rouge-score's. Counts are exact integers and the ratios and F
use rouge-score's own ``fmeasure``, so the floats are identical (tests/test_lexical.py checks this
against rouge-score itself on random and edge-case texts).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from judgekit.lexical._memo import remember

# rouge-score's tokenizer: lower-case, replace every run of characters outside [a-z0-9] by a space,
# split on whitespace, stem tokens longer than 3 characters, drop tokens that are not [a-z0-9]+.
# The tokens are therefore the maximal [a-z0-9] runs of the lower-cased text, each mapped alone.
_RUN = re.compile("[a-z0-9]+")
_VALID = re.compile(r"^[a-z0-9]+$")


class RougeTokenizer:
    """rouge-score's default tokenizer with a per-process memo of each raw token's final form."""

    def __init__(self, stem: Callable[[str], str] | None) -> None:
        self._stem = stem
        self._memo: dict[str, str] = {}  # raw token -> final form, "" for a token rouge-score drops

    def _form(self, raw: str) -> str:
        token = self._stem(raw) if self._stem is not None and len(raw) > 3 else raw
        return remember(self._memo, raw, token if _VALID.match(token) else "")

    def tokenize(self, text: str) -> list[str]:
        raws = _RUN.findall(text.lower())
        forms: list[str | None] = list(map(self._memo.get, raws))
        if None in forms:
            forms = [self._form(raw) if form is None else form for raw, form in zip(raws, forms, strict=True)]
        if "" in forms:
            forms = [form for form in forms if form]
        return forms  # type: ignore[return-value]


def _ngrams(tokens: Sequence[str], n: int) -> Counter[Any]:
    """n-gram counts; unigrams are counted as the tokens themselves (the hits come out the same)."""
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*(tokens[k:] for k in range(n)), strict=False))


def _column_vectors(ref: Sequence[str], can: Sequence[str]) -> list[int]:
    """Bit-parallel LCS: entry j holds column j of the LCS table of ``ref`` x ``can[:j]``.

    Bit i-1 of column j is 0 exactly where ``table[i][j] = table[i-1][j] + 1``, so
    ``table[i][j]`` is the number of 0 bits among the low i bits.
    """
    masks: dict[str, int] = {}
    for i, token in enumerate(ref):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(ref)) - 1
    v = full
    columns = [v]
    for token in can:
        m = masks.get(token)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
        columns.append(v)
    return columns


def lcs_length(ref: Sequence[str], can: Sequence[str]) -> int:
    """Length of a longest common subsequence: rouge-score's ``_lcs_table(ref, can)[-1][-1]``."""
    if len(can) < len(ref):
        ref, can = can, ref  # the bit vectors run over the shorter sequence
    masks: dict[str, int] = {}
    for i, token in enumerate(ref):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(ref)) - 1
    v = full
    for token in can:
        m = masks.get(token)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return len(ref) - v.bit_count()


def lcs_indices(ref: Sequence[str], can: Sequence[str]) -> list[int]:
    """Indices into ``ref`` of the LCS that rouge-score's ``lcs_ind`` (its table backtrack) returns."""
    columns = _column_vectors(ref, can)

    def cell(i: int, j: int) -> int:
        return i - (columns[j] & ((1 << i) - 1)).bit_count()

    i, j = len(ref), len(can)
    out: list[int] = []
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            out.append(i - 1)
            i -= 1
            j -= 1
        elif cell(i, j - 1) > cell(i - 1, j):
            j -= 1
        else:
            i -= 1
    out.reverse()
    return out


class FastRouge:
    """``RougeScorer(rouge_types, use_stemmer=...)`` (split_summaries off) for one or more targets."""

    def __init__(self, rouge_types: Sequence[str], stem: Callable[[str], str] | None) -> None:
        from rouge_score import scoring

        for rouge_type in rouge_types:
            if rouge_type not in ("rougeL", "rougeLsum") and not re.fullmatch("rouge[1-9]", rouge_type):
                raise ValueError(f"unsupported ROUGE type {rouge_type!r}")
        self.rouge_types = tuple(rouge_types)
        self._tokenizer = RougeTokenizer(stem)
        self._fmeasure: Callable[[float, float], float] = scoring.fmeasure
        self._score: Callable[..., Any] = scoring.Score

    def tokenize(self, text: str) -> list[str]:
        return self._tokenizer.tokenize(text)

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Any]:
        """Per ROUGE type, the Score of the first target with the highest F (``score_multi``)."""
        whole = any(t != "rougeLsum" for t in self.rouge_types)
        pred_tokens = self.tokenize(prediction) if whole else []
        pred_sents = self._sentences(prediction) if "rougeLsum" in self.rouge_types else []
        pred_ngrams: dict[int, Counter[Any]] = {}
        best: dict[str, Any] = {}
        for target in targets:
            target_tokens = self.tokenize(target) if whole else []
            target_ngrams: dict[int, Counter[Any]] = {}
            for rouge_type in self.rouge_types:
                if rouge_type == "rougeL":
                    score = self._lcs_score(target_tokens, pred_tokens)
                elif rouge_type == "rougeLsum":
                    score = self._summary_lcs_score(self._sentences(target), pred_sents)
                else:
                    n = int(rouge_type[5:])
                    if n not in pred_ngrams:
                        pred_ngrams[n] = _ngrams(pred_tokens, n)
                    if n not in target_ngrams:
                        target_ngrams[n] = _ngrams(target_tokens, n)
                    score = self._ngram_score(target_ngrams[n], pred_ngrams[n])
                kept = best.get(rouge_type)
                if kept is None or score.fmeasure > kept.fmeasure:
                    best[rouge_type] = score
        return best

    def _ratios(self, hits: int, target_count: int, prediction_count: int) -> Any:
        precision = hits / prediction_count
        recall = hits / target_count
        return self._score(precision=precision, recall=recall, fmeasure=self._fmeasure(precision, recall))

    def _ngram_score(self, target: Counter[Any], prediction: Counter[Any]) -> Any:
        hits = 0
        for gram, count in target.items():
            other = prediction.get(gram)
            if other:
                hits += count if count < other else other
        return self._ratios(hits, max(target.total(), 1), max(prediction.total(), 1))

    def _lcs_score(self, target: Sequence[str], prediction: Sequence[str]) -> Any:
        if not target or not prediction:
            return self._score(precision=0, recall=0, fmeasure=0)
        return self._ratios(lcs_length(target, prediction), len(target), len(prediction))

    def _sentences(self, text: str) -> list[list[str]]:
        """ROUGE-Lsum's sentences: the text's non-empty lines, each tokenised."""
        return [self.tokenize(line) for line in text.split("\n") if line]

    def _summary_lcs_score(self, ref_sents: list[list[str]], can_sents: list[list[str]]) -> Any:
        """Summary-level LCS (ROUGE paper 3.2) with ROUGE-1.5.5's guard against counting a token twice."""
        zero = self._score(precision=0, recall=0, fmeasure=0)
        if not ref_sents or not can_sents:
            return zero
        m = sum(map(len, ref_sents))
        n = sum(map(len, can_sents))
        if not n or not m:
            return zero
        ref_counts: Counter[str] = Counter()
        can_counts: Counter[str] = Counter()
        for sent in ref_sents:
            ref_counts.update(sent)
        for sent in can_sents:
            can_counts.update(sent)
        hits = 0
        for ref in ref_sents:
            union = sorted(set().union(*(lcs_indices(ref, can) for can in can_sents)))
            for token in (ref[i] for i in union):
                if can_counts[token] > 0 and ref_counts[token] > 0:
                    hits += 1
                    can_counts[token] -= 1
                    ref_counts[token] -= 1
        return self._ratios(hits, m, n)
