"""NLTK's untrained Punkt sentence splitter with the same output, at a fraction of the cost.

METEOR and BLEU tokenise a text as ``nltk.word_tokenize`` does, first into sentences with Punkt.
Untrained, Punkt's parameters are empty (no abbreviations, collocations, sentence starters or
orthographic statistics), so whether a candidate break (``.``, ``?`` or ``!``) ends a sentence
depends on a short context string (the word before, the mark, the word after) only through its
characters' classes (lower- or upper-case letter, digit, punctuation), never on which letter or
digit it is. :class:`MemoPunkt` memoises that decision per context *shape* (ASCII letters and digits
replaced by one representative each) and walks the candidates and the boundary realignment in one
plain loop instead of NLTK's chain of generators. :func:`memo_punkt` checks it against NLTK's own
``tokenize`` on probe texts before using it, and tests compare the two on random texts.
"""

from __future__ import annotations

import string
from typing import Any

from judgekit.lexical._memo import remember
from judgekit.lexical._words import PROBE, unwrapped

# ASCII letters and digits -> one letter per case and one digit: a context's shape.
_SHAPE = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase + string.digits, "a" * 26 + "A" * 26 + "0" * 10
)
# Texts the fast splitter must split as NLTK does before it is used.
_PROBES = (
    PROBE,
    'He said "Go." Then (quietly.) she left! Did he? Yes... A. B. Smith paid $3.50. e.g. this.\n\nNew.',
    "No break here\n\nbut a paragraph. And 1. 2. 3. items.) 'Quoted.' [x.] ”Curly.” «Guil.» -- end",
    "  leading space. trailing space.  \n",
    "",
)

_CLASS: list[type] = []


def memo_punkt() -> Any:
    """An untrained ``PunktSentenceTokenizer`` whose ``tokenize`` is :class:`MemoPunkt`'s."""
    if not _CLASS:
        _CLASS.append(_define())
    splitter = _CLASS[0]()
    splitter.check()
    return splitter


def _define() -> type:
    from nltk.tokenize import PunktSentenceTokenizer

    class MemoPunkt(PunktSentenceTokenizer):  # type: ignore[misc]
        """``tokenize(text)`` as NLTK's, with decisions memoised per context shape."""

        def __init__(self) -> None:
            super().__init__()
            self._decisions: dict[str, bool] = {}
            self._context_re = unwrapped(self._lang_vars.period_context_re())
            self._realign_re = unwrapped(self._lang_vars.re_boundary_realignment)
            self._fast = True

        def check(self) -> None:
            """Use the plain loop only if it splits the probe texts exactly as NLTK does."""
            for text in _PROBES:
                if self._sentences(text) != list(super().sentences_from_text(text)):
                    self._fast = False

        def text_contains_sentbreak(self, text: str) -> bool:
            key = text.translate(_SHAPE)
            decisions = self._decisions
            if key in decisions:
                return decisions[key]
            return remember(decisions, key, bool(super().text_contains_sentbreak(text)))

        def tokenize(self, text: str, realign_boundaries: bool = True) -> list[str]:
            if self._fast and realign_boundaries:
                return self._sentences(text)
            return list(super().tokenize(text, realign_boundaries))

        def _sentences(self, text: str) -> list[str]:
            spans = _realigned(text, self._breaks(text), self._realign_re)
            return [text[start:stop] for start, stop in spans]

        def _breaks(self, text: str) -> list[tuple[int, int]]:
            """NLTK's ``_slices_from_text``: (start, stop) of each sentence before realignment.

            A candidate's context runs from the start of the word before the mark (after the last
            ASCII whitespace since the previous candidate's word, else that word's start) to the
            token after it; a candidate whose word overlaps the next candidate's is dropped.
            """
            contexts: list[tuple[Any, str]] = []
            previous: Any = None
            word_start = word_stop = 0
            for match in self._context_re.finditer(text):
                before = text[word_stop : match.start()]
                space = max(
                    before.rfind(" "),
                    before.rfind("\n"),
                    before.rfind("\t"),
                    before.rfind("\r"),
                    before.rfind("\x0b"),
                    before.rfind("\x0c"),
                )  # the last of string.whitespace, as NLTK looks for it
                start = space + word_stop + 1 if space > 0 else word_start
                if previous is not None and word_stop <= start:
                    contexts.append(
                        (
                            previous,
                            text[word_start:word_stop] + previous.group() + previous.group("after_tok"),
                        )
                    )
                previous, word_start, word_stop = match, start, match.start()
            if previous is not None:
                contexts.append(
                    (previous, text[word_start:word_stop] + previous.group() + previous.group("after_tok"))
                )
            spans: list[tuple[int, int]] = []
            last_break = 0
            for match, context in contexts:
                if self.text_contains_sentbreak(context):
                    spans.append((last_break, match.end()))
                    last_break = match.start("next_tok") if match.group("next_tok") else match.end()
            spans.append((last_break, len(text.rstrip())))
            return spans

    return MemoPunkt


def _realigned(text: str, spans: list[tuple[int, int]], realign_re: Any) -> list[tuple[int, int]]:
    """NLTK's ``_realign_boundaries``: closing quotes and brackets after a break join the sentence
    before it; empty sentences are dropped."""
    out: list[tuple[int, int]] = []
    shift = 0
    for k, (start, stop) in enumerate(spans):
        start += shift
        if k + 1 == len(spans):
            if text[start:stop]:
                out.append((start, stop))
            break
        next_start, next_stop = spans[k + 1]
        m = realign_re.match(text[next_start:next_stop])
        if m:
            out.append((start, next_start + len(m.group(0).rstrip())))
            shift = m.end()
        else:
            shift = 0
            if text[start:stop]:
                out.append((start, stop))
    return out
