"""The lemma names of a word's WordNet synsets, as ``wordnet.synsets(word)`` gives them, cheaper.

METEOR's synonym stage needs, per word, only the names of the lemmas of the word's synsets. NLTK's
``synsets`` builds a full ``Synset`` for each (definition, examples, pointers, one ``Lemma`` object
per name) from its line in WordNet's data file, read through NLTK's seekable unicode stream; that
is most of METEOR's cost on the first items a process scores. :class:`LemmaNames` finds the same
synsets the same way (NLTK's own ``_morphy`` and lemma index, parts of speech in NLTK's order) and
reads only the lemma names from each data line, through a plain binary file of its own, opened again in
a forked child (so workers never share a file offset). Names are stripped of their syntactic marker (``galore(ip)``)
as NLTK does. It runs only after agreeing with ``synsets`` on :data:`PROBE_WORDS`, else
``synsets`` is used; a synset already built by NLTK is read from NLTK's cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

# Words whose synsets cover every part of speech, adjective markers ("galore(ip)", "outback(a)",
# "ready_to_hand(p)"), inflections, exceptions (irregular forms) and a word WordNet lacks.
PROBE_WORDS = ("galore", "outback", "handy", "ran", "geese", "better", "car", "quickly", "set", "xqzv")


def _strip_marker(name: str) -> str:
    """``name`` without a trailing ``(...)`` syntactic marker holding no parentheses."""
    if name.endswith(")"):
        k = name.rfind("(")
        if k >= 0 and ")" not in name[k + 1 : -1]:
            return name[:k]
    return name


class LemmaNames:
    """``names(word)``: the lemma names of ``wordnet.synsets(word)``, in no particular order."""

    def __init__(self, wordnet: Any) -> None:
        self._wordnet = wordnet
        self._files: dict[str, BinaryIO] = {}
        self._pid = os.getpid()
        self._by_synset: dict[tuple[str, int], list[str]] = {}
        self.names: Callable[[str], Iterable[str]] = self._from_synsets
        try:
            agrees = all(sorted(self._direct(w)) == sorted(self._from_synsets(w)) for w in PROBE_WORDS)
        except (AttributeError, KeyError, OSError, ValueError, TypeError):
            agrees = False  # another NLTK version or reader: NLTK's synsets it is
        if agrees:
            self.names = self._direct

    def __del__(self) -> None:
        for data in self._files.values():
            data.close()

    def _from_synsets(self, word: str) -> list[str]:
        return [lemma.name() for synset in self._wordnet.synsets(word) for lemma in synset.lemmas()]

    def _direct(self, word: str) -> list[str]:
        wn = self._wordnet
        lemma = word.lower()
        index = wn._lemma_pos_offset_map
        out: list[str] = []
        for pos in ("n", "v", "a", "r"):  # nltk.corpus.reader.wordnet.POS_LIST
            for form in wn._morphy(lemma, pos, True):
                for offset in index[form].get(pos, []):
                    out += self._synset_names(pos, offset)
        return out

    def _synset_names(self, pos: str, offset: int) -> list[str]:
        key = (pos, offset)
        found = self._by_synset.get(key)
        if found is not None:
            return found
        cached = self._wordnet._synset_offset_cache[pos].get(offset)
        if cached is not None:
            found = [lemma.name() for lemma in cached.lemmas()]
        else:
            if self._pid != os.getpid():
                # A forked child: the inherited handles share their file offset with the parent's.
                self._files, self._pid = {}, os.getpid()
            data = self._files.get(pos)
            if data is None:
                path = self._wordnet.abspath(f"data.{self._wordnet._FILEMAP[pos]}").path
                data = self._files[pos] = open(path, "rb")  # noqa: SIM115 (kept open, like NLTK's)
            data.seek(offset)
            line = data.readline().decode("utf-8")
            if line[:8] != f"{offset:08d}":
                raise ValueError(f"WordNet data.{pos}: no synset at offset {offset}")
            fields = line.split("|", 1)[0].split()
            count = int(fields[3], 16)
            found = [_strip_marker(name) for name in fields[4 : 4 + 2 * count : 2]]
        self._by_synset[key] = found
        return found
