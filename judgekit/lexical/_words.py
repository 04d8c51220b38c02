"""NLTK's Treebank-style word tokenizer with the same output, skipping rules that cannot fire.

``NLTKWordTokenizer.tokenize`` applies about 27 regular-expression substitutions to each sentence, in
a fixed order, through NLTK's time-limited ``regex`` wrapper; on ordinary prose nearly all of them
find nothing and leave the text as it was. Each rule here carries the characters or strings that any
match of its pattern must contain; when the current text contains none of them the substitution is a
no-op and is skipped. The rules, their order and their replacements are read from NLTK's tokenizer
class itself, and a rule whose pattern is not in :data:`_NEEDS` (another NLTK version) always runs,
so the output is NLTK's by construction; :func:`fast_word_tokenizer` also checks it on a probe text
that fires every rule before using it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from judgekit.lexical._memo import remember

# pattern source -> strings, one of which every match contains (so its absence means no match)
_NEEDS: dict[str, tuple[str, ...]] = {
    "([«“‘„]|[`]+)": ("«", "“", "‘", "„", "`"),
    r"^\"": ('"',),
    r"(``)": ("``",),
    r"([ \(\[{<])(\"|\'{2})": ('"', "''"),
    r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)": ("'",),
    r"([»”’])": ("»", "”", "’"),
    r"''": ("''",),
    r'"': ('"',),
    r"([^' ])('[sS]|'[mM]|'[dD]|') ": ("'",),
    r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": ("'",),
    r"([^\.])(\.)([\]\)}>" + "\"\\'" + "»”’ " + r"]*+)\s*$": (".",),
    r"([^\.])(\.)([\]\)}>" + "\"\\'" + r"]*)\s*$": (".",),
    r"([:,])([^\d])": (":", ","),
    r"([:,])$": (":", ","),
    r"\.{2,}": ("..",),
    r"[;@#$%&]": (";", "@", "#", "$", "%", "&"),
    r"[\u2012-\u2015]": ("\u2012", "\u2013", "\u2014", "\u2015"),
    r"[?!]": ("?", "!"),
    r"([^'])' ": ("' ",),
    r"[*]": ("*",),
    r"[\]\[\(\)\{\}\<\>]": ("]", "[", "(", ")", "{", "}", "<", ">"),
    r"--": ("--",),
}
# Case-insensitive contraction patterns -> the lower-case letters every match spells. Skipped only
# for ASCII text (Unicode case folding lets a few non-ASCII letters match ASCII ones).
_NEEDS_LOWER: dict[str, str] = {
    r"(?i)\b(can)(?#X)(not)\b": "cannot",
    r"(?i)\b(d)(?#X)('ye)\b": "d'ye",
    r"(?i)\b(gim)(?#X)(me)\b": "gimme",
    r"(?i)\b(gon)(?#X)(na)\b": "gonna",
    r"(?i)\b(got)(?#X)(ta)\b": "gotta",
    r"(?i)\b(lem)(?#X)(me)\b": "lemme",
    r"(?i)\b(more)(?#X)('n)\b": "more'n",
    r"(?i)\b(wan)(?#X)(na)(?=\s)": "wanna",
    r"(?i) ('t)(?#X)(is)\b": "'tis",
    r"(?i) ('t)(?#X)(was)\b": "'twas",
}
# A probe that fires every rule of NLTK 3.10's tokenizer.
PROBE = (
    "\"Hello,\" she said: 'I cannot... gonna wanna go--now!' (It's 3:30; costs $5 & more'n 10%.) "
    "«Quote» “smart” ‘single’ – — 'tis 'twas d'ye gimme lemme gotta *star* [x] {y} <z> "
    "won't I'm they'll you're we've ``old'' 'quoted' end.\"' "
)

# How a rule is skipped: never / when the text holds none of its strings / (ASCII text) when the
# lower-cased text lacks its letters / the whitespace normaliser, see _apply.
_ALWAYS, _STRINGS, _LOWER, _SPACES = range(4)


class _Rule:
    __slots__ = ("kind", "needs", "pattern", "replacement")

    def __init__(self, pattern: Any, replacement: str) -> None:
        source = getattr(pattern, "pattern", None)
        flags = getattr(pattern, "flags", 0)
        self.pattern = unwrapped(pattern)
        self.replacement = replacement
        self.kind: int = _ALWAYS
        self.needs: Any = ()
        if not isinstance(source, str) or flags & re.VERBOSE:
            return
        if source in _NEEDS_LOWER:
            self.kind, self.needs = _LOWER, _NEEDS_LOWER[source]
        elif source == r"\s+" and replacement == " ":
            self.kind = _SPACES
        elif source in _NEEDS:
            self.kind, self.needs = _STRINGS, _NEEDS[source]

    def may_fire(self, text: str) -> bool:
        """False only if the substitution certainly leaves ``text`` unchanged (_SPACES: see _apply)."""
        if self.kind == _STRINGS:
            return any(s in text for s in self.needs)
        if self.kind == _LOWER:
            return not text.isascii() or self.needs in text.lower()
        return True


def unwrapped(pattern: Any) -> Any:
    """NLTK >= 3.9 wraps each pattern in ``nltk.redos.TimedPattern``, which runs the ``regex`` engine
    under a 5 s time limit and costs more than the match itself on a short sentence. These fixed
    NLTK patterns run in linear time, so they are compiled with the same engine, source and flags,
    without the wrapper; a plain ``re`` pattern (older NLTK) is kept as it is."""
    if type(pattern).__name__ != "TimedPattern":
        return pattern
    import regex  # type: ignore[import-untyped]

    return regex.compile(pattern.pattern, pattern.flags)


_PLAIN = re.compile(r"[A-Za-z0-9 ]*\Z")


class FastWordTokenizer:
    """``NLTKWordTokenizer().tokenize(text)`` (no parenthesis conversion), rule by rule."""

    def __init__(self, tokenizer: Any) -> None:
        t = tokenizer
        self._head = _Rules(
            [
                *(_Rule(p, r) for p, r in t.STARTING_QUOTES),
                *(_Rule(p, r) for p, r in t.PUNCTUATION),
                _Rule(*t.PARENS_BRACKETS),
                _Rule(*t.DOUBLE_DASHES),
            ]
        )
        self._tail = _Rules(
            [
                *(_Rule(p, r) for p, r in t.ENDING_QUOTES),
                *(_Rule(p, r" \1 \2 ") for p in t.CONTRACTIONS2),
                *(_Rule(p, r" \1 \2 ") for p in t.CONTRACTIONS3),
            ]
        )

        rules = self._head.rules + self._tail.rules
        self._lower_needs = tuple(r.needs for r in rules if r.kind == _LOWER)
        # With every rule's needs known, ASCII letters, digits and spaces alone fire none of the
        # rules needing strings (all need punctuation or quotes) and, without a contraction's
        # letters, none of the others: such text splits on spaces.
        self._plain_ok = all(r.kind != _ALWAYS for r in rules)

    def tokenize(self, text: str) -> list[str]:
        if self._plain_ok and _PLAIN.match(text):
            lower = text.lower()
            if not any(needs in lower for needs in self._lower_needs):
                return text.split()
        text = self._head.apply(text)
        return self._tail.apply(" " + text + " ").split()


class _Rules:
    """An ordered list of substitutions, indexed by the first characters of the strings they need.

    The candidates for a text are the rules with no strings to look for and those indexed by a
    character of the text. A substitution can only bring in characters of its replacement template
    (the rest of its output is text that was there), so after one fires, only the later rules indexed
    by those characters join the remaining candidates.
    """

    def __init__(self, rules: list[_Rule]) -> None:
        self.rules = rules
        self.by_char: dict[str, list[int]] = {}
        self.unindexed: list[int] = []
        for k, rule in enumerate(rules):
            if rule.kind == _STRINGS:
                for first in {n[0] for n in rule.needs}:
                    self.by_char.setdefault(first, []).append(k)
            else:
                self.unindexed.append(k)
        self.chars = frozenset(self.by_char)
        self.brings: list[set[int]] = []
        for k, rule in enumerate(rules):
            template = rule.replacement if isinstance(rule.replacement, str) else "".join(self.chars)
            self.brings.append(
                {j for ch in self.chars.intersection(template) for j in self.by_char[ch] if j > k}
            )

    def apply(self, text: str) -> str:
        rules = self.rules
        found = set(self.unindexed)
        for ch in self.chars.intersection(text):
            found.update(self.by_char[ch])
        candidates = sorted(found)
        lower: str | None = None
        pos = 0
        while pos < len(candidates):
            k = candidates[pos]
            pos += 1
            rule = rules[k]
            kind = rule.kind
            if kind == _STRINGS:
                if not any(s in text for s in rule.needs):
                    continue
            elif kind == _LOWER:
                if text.isascii():
                    if lower is None:
                        lower = text.lower()
                    if rule.needs not in lower:
                        continue
            elif (
                # Replacing each whitespace run by one space changes nothing that the final split()
                # sees when the text is ASCII (where the engine's \s is whitespace to str.split),
                # so it can be skipped if no later rule, which might depend on spacing, can fire.
                kind == _SPACES
                and text.isascii()
                and not any(rules[j].may_fire(text) for j in candidates[pos:])
            ):
                continue
            new = rule.pattern.sub(rule.replacement, text)
            if new != text:
                text, lower = new, None
                if self.brings[k]:
                    candidates = sorted(self.brings[k].union(candidates[pos:]))
                    pos = 0
        return text


# What NLTK's final-period rules let follow the period: closing quotes and brackets (and spaces).
_CLOSERS = frozenset("])}>\"'»”’")


class ChunkedWordTokenizer:
    r"""A sentence's word tokens put together from memoised tokens of its space-separated chunks.

    Every rule of the tokenizer matches either inside a chunk or at a chunk's edge, where what it
    sees of the neighbourhood is the separating space: the rules with a space or ``\s`` in their
    pattern use it as the first or last character of a match; lookarounds and ``\b`` see one
    character; replacements keep the space. So a chunk comes out the same in any sentence, given
    whether it is first (``^``), last (``$``: the final-period and trailing-colon rules) or in
    between, and is tokenised once per position with a plain word as stand-in neighbour
    (``a``). Sentences where that reasoning does not hold run whole: a single chunk, an empty one
    (a double space), a last chunk ending in whitespace or a closing quote or bracket (the
    final-period rule can then reach into the chunk before), and ``' '`` (NLTK's ``([^'])' `` rule
    could take the space both as the end of one match and as the start of the next).
    """

    def __init__(self, tokenize: Callable[[str], list[str]]) -> None:
        self._tokenize = tokenize
        self._first: dict[str, list[str] | None] = {}
        self._middle: dict[str, list[str] | None] = {}
        self._last: dict[str, list[str] | None] = {}

    def tokenize(self, sentence: str) -> list[str]:
        chunks = sentence.split(" ")
        last = chunks[-1]
        if len(chunks) < 2 or "" in chunks or last[-1] in _CLOSERS or last[-1].isspace() or "' '" in sentence:
            return self._tokenize(sentence)
        first = self._first.get(chunks[0]) or self._chunk(self._first, chunks[0], "", " a")
        end = self._last.get(last) or self._chunk(self._last, last, "a ", "")
        if first is None or end is None:
            return self._tokenize(sentence)
        inner = chunks[1:-1]
        middle = self._middle
        found = list(map(middle.get, inner))
        if None in found:
            for k, chunk in enumerate(inner):
                if found[k] is None:
                    found[k] = self._chunk(middle, chunk, "a ", " a")
                    if found[k] is None:
                        return self._tokenize(sentence)
        return [*first, *itertools.chain.from_iterable(found), *end]  # type: ignore[arg-type]

    def _chunk(
        self, memo: dict[str, list[str] | None], chunk: str, before: str, after: str
    ) -> list[str] | None:
        """The chunk's tokens between stand-in neighbours (None: they did not come out as ``a``)."""
        if chunk in memo:
            return memo[chunk]
        tokens = self._tokenize(before + chunk + after)
        if before:
            tokens = tokens[1:] if tokens[:1] == ["a"] else None  # type: ignore[assignment]
        if after and tokens is not None:
            tokens = tokens[:-1] if tokens[-1:] == ["a"] else None  # type: ignore[assignment]
        return remember(memo, chunk, tokens)


def fast_word_tokenizer(tokenizer: Any) -> Callable[[str], list[str]]:
    """The fast tokenizer's ``tokenize`` if it agrees with ``tokenizer`` on :data:`PROBE`, else NLTK's."""
    fast = ChunkedWordTokenizer(FastWordTokenizer(tokenizer).tokenize)
    for text in (PROBE, PROBE.upper(), PROBE.replace(" ", "  "), PROBE.replace(".", ". x")):
        if fast.tokenize(text) != tokenizer.tokenize(text):
            return tokenizer.tokenize  # type: ignore[no-any-return]
    return fast.tokenize
