"""A compact index of WordNet's lemma names, so METEOR's synonym stage is ready in milliseconds.

METEOR's synonym stage needs, per word, only the lemma names of ``wordnet.synsets(word)``. NLTK's
WordNet reader parses all four index files (about 150,000 lemmas) and the exception lists into
dicts when it is created, which costs every ``judgekit lexical`` run seconds before the first item.
This index holds, per lemma and part of speech, the lemma names of the lemma's synsets, and per
exception form (``geese``) its base forms, as sorted keys in one file built once from the same
WordNet files: by ``python -m judgekit.lexical.wordnet install`` (setup), else on first use. Loading it
reads the file, checks its CRC and splits the key list; a lookup is a binary search.

:meth:`WordNetIndex.lemma_names` repeats what ``synsets`` does in NLTK 3.10: lower-case the word,
then per part of speech (noun, verb, adjective, adverb) NLTK's ``_morphy`` (the exception list,
else each of NLTK's substitution rules once; keep the forms that are lemmas of that part of
speech), and the names of the synsets of each form, without the syntactic marker (``galore(ip)``).
The substitution rules are copied from NLTK into the file when it is built.

The file records what it was built from (format, NLTK version, size and modification time of each
source file, and their SHA-256) and a CRC of its body: a stale or corrupt file is rebuilt. After a
build the index is compared with NLTK's own reader on a sample of words (every part of speech,
inflections, exceptions, multiword lemmas); if they differ (another NLTK's ``_morphy``), the file
is marked unverified and METEOR uses NLTK's reader instead.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import sys
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

FORMAT = 1
MAGIC = b"judgekit-wordnet-index\n"
INDEX_NAME = "judgekit-synonyms.idx"
POS = ("n", "v", "a", "r")  # nltk.corpus.reader.wordnet.POS_LIST, in its order
_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
SOURCE_FILES = tuple(f"{kind}.{_FILES[p]}" for kind in ("index", "data") for p in POS) + tuple(
    f"{_FILES[p]}.exc" for p in POS
)
_MARKER = re.compile(r"(.*?)(\([^()]*\))?$")
_SEP = "\x1f"  # between a record's eight fields (names per part of speech, then exceptions)

# Words the build checks against NLTK besides its sample: every part of speech, adjective markers,
# inflections, exceptions (irregular forms), multiword lemmas, capitals and a word WordNet lacks.
CHECK_WORDS = (
    "galore", "outback", "handy", "ran", "geese", "better", "best", "car", "quickly", "set", "xqzv",
    "running", "happier", "proudest", "went", "mice", "children", "hot_dog", "ice_cream", "New_York",
    "Dog", "AUTO", "buses", "wolves", "boxes", "churches", "women", "flies", "dies", "used", "uses",
    "", "s", "ies", "a", "I",
)  # fmt: skip


class CorruptIndex(Exception):
    """The index file is missing, unreadable or corrupt (internal: the caller rebuilds)."""


class _Lemma:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class _Synset:
    """Stands in for all of a word's synsets in ``synsets()``: nltk's METEOR reads only lemma names."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str]) -> None:
        self._names = sorted(set(names))

    def lemmas(self) -> list[_Lemma]:
        return [_Lemma(n) for n in self._names]


class WordNetIndex:
    """The lemma names of ``wordnet.synsets(word)`` from an index file (see the module docstring)."""

    def __init__(
        self, meta: dict[str, Any], keys: list[bytes], offsets: array[int], records: bytes, body: memoryview
    ) -> None:
        self.meta = meta
        self.body = body  # the file's body, to write it again with new metadata
        self.path: Path | None = None  # where it was read from or saved
        self._keys = keys
        self._offsets = offsets
        self._records = records
        self._rules: list[list[tuple[str, str]]] = [
            [(old, new) for old, new in meta["rules"][p]] for p in POS
        ]
        self._cache: dict[str, list[str] | None] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> Iterator[str]:
        return (k.decode("utf-8") for k in self._keys)

    def _record(self, form: str) -> list[str] | None:
        """The eight fields stored for ``form`` (names per part of speech, exceptions), or None."""
        if form in self._cache:
            return self._cache[form]
        key = form.encode("utf-8", "surrogatepass")
        i = bisect.bisect_left(self._keys, key)
        found = None
        if i < len(self._keys) and self._keys[i] == key:
            found = self._records[self._offsets[i] : self._offsets[i + 1]].decode("utf-8").split(_SEP)
        self._cache[form] = found
        return found

    def _morphy(self, form: str, p: int) -> list[str]:
        """NLTK 3.10's ``_morphy(form, POS[p])``: the forms of ``form`` that are lemmas of that part of speech."""
        record = self._record(form)
        exceptions = record[4 + p] if record is not None else ""
        if exceptions:  # "=base base ..." when form is in the exception list
            forms = [form, *exceptions[1:].split()]
        else:
            forms = [form]
            forms += [form[: -len(old)] + new for old, new in self._rules[p] if form.endswith(old)]
        out: list[str] = []
        for candidate in forms:
            found = self._record(candidate)
            if found is not None and found[p] and candidate not in out:
                out.append(candidate)
        return out

    def lemma_names(self, word: str) -> list[str]:
        """The lemma names of ``wordnet.synsets(word)`` (each name once per part of speech and form)."""
        lemma = word.lower()
        out: list[str] = []
        for p in range(4):
            for form in self._morphy(lemma, p):
                record = self._record(form)
                assert record is not None
                out += record[p].split(" ")
        return out

    def synsets(self, word: str, *args: object, **kwargs: object) -> list[_Synset]:
        """For nltk's ``meteor_score(..., wordnet=index)``: one stand-in synset holding all the names."""
        names = self.lemma_names(word)
        return [_Synset(names)] if names else []


# --- building ------------------------------------------------------------------------------------


def _source_files(corpus: Path) -> dict[str, bytes]:
    """The WordNet files the index is built from, from a corpus folder or an nltk ``wordnet.zip``."""
    if corpus.is_dir():
        return {name: (corpus / name).read_bytes() for name in SOURCE_FILES}
    with zipfile.ZipFile(corpus) as zf:
        members = {Path(m).name: m for m in zf.namelist() if not m.endswith("/")}
        return {name: zf.read(members[name]) for name in SOURCE_FILES}


def source_stamp(corpus: Path) -> dict[str, Any]:
    """What an index built from ``corpus`` depends on: format, NLTK version, each file's size and mtime."""
    import nltk

    paths = [corpus / name for name in SOURCE_FILES] if corpus.is_dir() else [corpus]
    files = {}
    for path in paths:
        st = path.stat()
        files[path.name] = [st.st_size, st.st_mtime_ns]
    return {"format": FORMAT, "nltk": nltk.__version__, "source": str(corpus), "files": files}


def _lines(data: bytes) -> Iterator[tuple[int, str]]:
    """(byte offset, text) of each line of a WordNet file, license header lines (leading space) skipped."""
    pos = 0
    for raw in data.split(b"\n"):
        if raw and not raw.startswith(b" "):
            yield pos, raw.decode("utf-8")
        pos += len(raw) + 1


def _strip_marker(name: str) -> str:
    """``name`` without its syntactic marker, by NLTK's own pattern (``galore(ip)`` -> ``galore``)."""
    return _MARKER.match(name).group(1)  # type: ignore[union-attr]  # matches every string


def _synset_names(data: bytes) -> dict[int, list[str]]:
    """Lemma names of each synset in a data file, by the byte offset NLTK seeks to."""
    out: dict[int, list[str]] = {}
    for offset, line in _lines(data):
        fields = line.split("|", 1)[0].split()
        if line[:8] != f"{offset:08d}" or len(fields) < 4:
            continue  # NLTK finds no synset at an offset whose line does not start with it
        count = int(fields[3], 16)
        out[offset] = [_strip_marker(name) for name in fields[4 : 4 + 2 * count : 2]]
    return out


def _lemma_offsets(data: bytes) -> dict[str, dict[str, list[int]]]:
    """NLTK's ``_lemma_pos_offset_map`` for one index file: lemma -> pos -> synset offsets."""
    out: dict[str, dict[str, list[int]]] = {}
    for _, line in _lines(data):
        tokens = line.split()
        n_synsets, n_pointers = int(tokens[2]), int(tokens[3])
        start = 4 + n_pointers + 2
        out.setdefault(tokens[0], {})[tokens[1]] = [int(t) for t in tokens[start : start + n_synsets]]
    return out


def _exceptions(data: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in data.decode("utf-8").split("\n"):
        terms = line.split()
        if terms:
            out[terms[0]] = terms[1:]
    return out


def build_records(files: dict[str, bytes]) -> dict[str, list[str]]:
    """Key -> eight fields: the names of its synsets per part of speech, then its exception bases."""
    records: dict[str, list[str]] = {}

    def fields(key: str) -> list[str]:
        found = records.get(key)
        if found is None:
            found = records[key] = [""] * 8
        return found

    for p, pos in enumerate(POS):
        names = _synset_names(files[f"data.{_FILES[pos]}"])
        for lemma, by_pos in _lemma_offsets(files[f"index.{_FILES[pos]}"]).items():
            offsets = by_pos.get(pos)
            if offsets:
                union = sorted({n for offset in offsets for n in names.get(offset, ())})
                if union:
                    fields(lemma)[p] = " ".join(union)
        for form, bases in _exceptions(files[f"{_FILES[pos]}.exc"]).items():
            fields(form)[4 + p] = "=" + " ".join(bases)
    return records


def _nltk_rules() -> dict[str, list[list[str]]]:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    rules = WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS
    return {p: [[old, new] for old, new in rules[p]] for p in POS}


def encode_body(records: dict[str, list[str]]) -> tuple[bytes, dict[str, int]]:
    """Keys (sorted, one a line), the records' offsets (uint32, little-endian), then the records."""
    keys = sorted(k.encode("utf-8") for k in records)
    offsets = array("I", [0])
    blobs = []
    for key in keys:
        blob = _SEP.join(records[key.decode("utf-8")]).encode("utf-8")
        blobs.append(blob)
        offsets.append(offsets[-1] + len(blob))
    if sys.byteorder != "little":
        offsets.byteswap()
    key_blob = b"\n".join(keys)
    body = key_blob + offsets.tobytes() + b"".join(blobs)
    return body, {"count": len(keys), "keys_len": len(key_blob), "crc32": zlib.crc32(body)}


def encode(meta: dict[str, Any], body: bytes) -> bytes:
    """The file: magic line, one JSON line of metadata (with the body's layout and CRC), the body."""
    head = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return MAGIC + head + b"\n" + body


def decode(data: bytes) -> WordNetIndex:
    """An index from a file's bytes; CorruptIndex if they are not a complete, intact index file."""
    if not data.startswith(MAGIC):
        raise CorruptIndex("not a judgekit WordNet index")
    end = data.find(b"\n", len(MAGIC))
    try:
        meta = json.loads(data[len(MAGIC) : end])
        count, keys_len, crc = int(meta["count"]), int(meta["keys_len"]), int(meta["crc32"])
    except (ValueError, KeyError, TypeError) as err:
        raise CorruptIndex(f"unreadable header ({err})") from None
    body = memoryview(data)[end + 1 :]
    if end < 0 or zlib.crc32(body) != crc:
        raise CorruptIndex("checksum mismatch")
    keys = bytes(body[:keys_len]).split(b"\n") if count else []
    offsets = array("I")
    offsets.frombytes(body[keys_len : keys_len + 4 * (count + 1)])
    if sys.byteorder != "little":
        offsets.byteswap()
    if len(keys) != count or len(offsets) != count + 1:
        raise CorruptIndex("truncated")
    try:
        return WordNetIndex(meta, keys, offsets, bytes(body[keys_len + 4 * (count + 1) :]), body)
    except (KeyError, TypeError, ValueError) as err:
        raise CorruptIndex(f"unreadable rules ({err})") from None


def build(corpus: Path) -> WordNetIndex:
    """Build the index (in memory, unverified) from the WordNet files in ``corpus``."""
    stamp = source_stamp(corpus)
    files = _source_files(corpus)
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        digest.update(files[name])
    body, layout = encode_body(build_records(files))
    meta = {"stamp": stamp, "sha256": digest.hexdigest(), "rules": _nltk_rules(), "verified": False, **layout}
    return decode(encode(meta, body))


def sample_words(index: WordNetIndex, every: int = 97) -> list[str]:
    """Words to compare with NLTK: :data:`CHECK_WORDS`, every ``every``-th key (lemmas, multiword
    lemmas and exception forms), and inflected forms of some of them."""
    keys = list(index.keys())
    picked = keys[::every]
    inflected = [k + suffix for k in keys[:: every * 5] for suffix in ("s", "es", "ed", "ing", "er", "est")]
    multiword = [k for k in keys if "_" in k][::every]
    return [*CHECK_WORDS, *picked, *inflected, *multiword]


def differences(index: WordNetIndex, reader: Any, words: Iterable[str]) -> list[str]:
    """The words whose lemma names (as a set) differ between the index and NLTK's reader."""
    return [
        w
        for w in words
        if set(index.lemma_names(w)) != {lemma.name() for s in reader.synsets(w) for lemma in s.lemmas()}
    ]


def index_paths(corpus: Path) -> Iterator[Path]:
    """Where the index for ``corpus`` may live: in the corpus folder, else under judgekit's cache dir."""
    if corpus.is_dir():
        yield corpus / INDEX_NAME
    from judgekit.io import cache_dir

    name = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:16]
    yield cache_dir() / "wordnet" / f"synonyms-{name}.idx"


def read(path: Path) -> WordNetIndex:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorruptIndex(f"{path}: {err.strerror}") from None
    return decode(data)


def write(index: WordNetIndex, path: Path) -> None:
    """Write ``index`` (its metadata as it is now) to ``path`` atomically: readers see the old file or
    the new one, never a part."""
    data = encode(index.meta, bytes(index.body))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure(corpus: Path, make_reader: Callable[[], Any], *, force: bool = False) -> tuple[WordNetIndex, bool]:
    """The index for ``corpus``, verified or not (``meta["verified"]``), and whether it was built now.

    A fresh, intact file is used as it is (unless ``force``); otherwise the index is built, checked
    against NLTK's reader of the same files (``make_reader()``, called only then) and saved
    in the first of :func:`index_paths` that can be written (``index.path``; None if none can).
    """
    stamp = source_stamp(corpus)
    if not force:
        for path in index_paths(corpus):
            try:
                found = read(path)
            except CorruptIndex:
                continue
            if found.meta.get("stamp") == stamp:
                found.path = path
                return found, False
    index = build(corpus)
    reader = make_reader()
    words = sample_words(index)
    try:
        index.meta["verified"] = reader is not None and not differences(index, reader, words)
    except Exception:  # NLTK's reader failing on the sample: the two do not agree either
        index.meta["verified"] = False
    index.meta["checked_words"] = len(words)
    for path in index_paths(corpus):
        try:
            write(index, path)
        except OSError:
            continue
        index.path = path
        break
    return index, True
