"""judgekit.lexical.wordnet_index: the lemma-name index METEOR reads instead of loading NLTK's WordNet reader.

Expected synonyms come from NLTK's own WordNet reader (``synsets(word)`` and each synset's lemma
names) or, for the hand-made index, are worked out by hand from NLTK's morphy rules. CI installs
WordNet (scripts/setup.sh); with CI=true the tests that need it fail instead of skipping.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from judgekit.lexical import wordnet, wordnet_index
from judgekit.lexical.wordnet_index import INDEX_NAME, WordNetIndex
from tests import forked_cli

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _installed() -> tuple[Path, Any]:
    """The WordNet folder NLTK finds and NLTK's reader of it (skip, or fail in CI, without them)."""
    corpus, reader = wordnet.find_wordnet(), wordnet.load_wordnet()
    if corpus is None or reader is None or not corpus.is_dir():
        msg = "WordNet not installed (run: python -m judgekit.lexical.wordnet install)"
        if IN_CI:
            pytest.fail(f"CI must install WordNet: {msg}")
        pytest.skip(msg)
    return corpus, reader


def _nltk_names(reader: Any, word: str) -> set[str]:
    return {lemma.name() for synset in reader.synsets(word) for lemma in synset.lemmas()}


def _reader_of(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """NLTK's own reader of a WordNet folder we changed (NLTK opens only folders on its data path)."""
    import nltk.data
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    monkeypatch.setattr(nltk.data, "path", [*nltk.data.path, str(corpus.parent.parent)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WordNetCorpusReader(str(corpus), None)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A copy of the installed WordNet folder, without its index, inside a fresh nltk_data root."""
    corpus, _ = _installed()
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    shutil.copytree(corpus, target, ignore=shutil.ignore_patterns(INDEX_NAME, ".*"))
    return target


# --- the lookups, on an index made by hand -----------------------------------------------------------


def _toy() -> WordNetIndex:
    """Records: dog (noun: dog, domestic_dog, Canis_familiaris; verb: dog, chase), goose (noun),
    geese (noun exception -> goose), fly (noun and verb), big (adjective), quickly (adverb)."""
    records = {
        "dog": ["Canis_familiaris dog domestic_dog", "chase dog", "", "", "", "", "", ""],
        "goose": ["goose", "", "", "", "", "", "", ""],
        "geese": ["", "", "", "", "=goose", "", "", ""],
        "fly": ["fly", "aviate fly pilot", "", "", "", "", "", ""],
        "big": ["", "", "big large", "", "", "", "", ""],
        "quickly": ["", "", "", "quick quickly", "", "", "", ""],
    }
    body, layout = wordnet_index.encode_body(records)
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    rules = WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS
    meta = {"rules": {p: [list(r) for r in rules[p]] for p in wordnet_index.POS}, **layout}
    return wordnet_index.decode(wordnet_index.encode(meta, body))


def test_toy_index_follows_nltk_morphy_rules() -> None:
    index = _toy()
    assert len(index) == 6 and sorted(index.keys()) == ["big", "dog", "fly", "geese", "goose", "quickly"]
    # 'dogs': noun rule s -> '' and verb rule s -> '' both reach 'dog'
    assert sorted(index.lemma_names("dogs")) == ["Canis_familiaris", "chase", "dog", "dog", "domestic_dog"]
    assert sorted(index.lemma_names("Dog")) == sorted(index.lemma_names("dog"))  # lower-cased first
    assert index.lemma_names("geese") == ["goose"]  # the exception list, not the rules
    # 'flies': noun rule ies -> y gives 'fly'; verb rules: s -> 'flie', ies -> 'fly', es -> 'flie'/'fli'
    assert sorted(index.lemma_names("flies")) == ["aviate", "fly", "fly", "pilot"]
    # 'bigger': adjective rules er -> '' gives 'bigg' (not a lemma), er -> e gives 'bigge': none
    assert index.lemma_names("bigger") == []
    assert sorted(index.lemma_names("big")) == ["big", "large"]
    assert index.lemma_names("xqzv") == [] and index.lemma_names("") == []
    # the stand-in synsets nltk's METEOR reads: one holding all names, none for an unknown word
    assert [lemma.name() for lemma in index.synsets("quickly")[0].lemmas()] == ["quick", "quickly"]
    assert index.synsets("xqzv") == []


def test_corrupt_bytes_are_refused() -> None:
    empty, layout = wordnet_index.encode_body({})
    no_rules = {p: [] for p in wordnet_index.POS}
    assert len(wordnet_index.decode(wordnet_index.encode({**layout, "rules": no_rules}, empty))) == 0
    with pytest.raises(wordnet_index.CorruptIndex):  # a header without the morphy rules
        wordnet_index.decode(wordnet_index.encode({**layout, "rules": {}}, empty))
    body, layout = wordnet_index.encode_body({"a": ["x", "", "", "", "", "", "", ""]})
    good = wordnet_index.encode({**layout, "rules": {p: [] for p in wordnet_index.POS}}, body)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    for bad in (b"", b"not an index", good[:-3], bytes(flipped), good.replace(b'"count":1', b'"count":x')):
        with pytest.raises(wordnet_index.CorruptIndex):
            wordnet_index.decode(bad)


# --- against NLTK's reader ---------------------------------------------------------------------------


def test_lemma_names_identical_to_nltk_on_a_sample() -> None:
    """Random lemmas of every part of speech, multiword lemmas, exception forms, inflections, capitals."""
    _, reader = _installed()
    index = wordnet.load_index()
    assert index is not None and index.meta["verified"]
    rng = random.Random(18)
    lemmas = sorted(reader.all_lemma_names())
    multiword = [w for w in lemmas if "_" in w]
    exceptions = sorted({form for pos in "nvar" for form in reader._exception_map[pos]})
    sample = rng.sample(lemmas, 1500)
    words = [
        *sample,
        *rng.sample(multiword, 300),
        *rng.sample(exceptions, 300),
        *(w + rng.choice(("s", "es", "ies", "ed", "ing", "er", "est", "men")) for w in sample[:600]),
        *(w.capitalize() for w in sample[:200]),
        *("ran", "geese", "better", "best", "went", "mice", "children", "happier", "proudest", "xqzv", ""),
    ]
    assert any("_" in w for w in words) and "geese" in words
    different = [w for w in words if set(index.lemma_names(w)) != _nltk_names(reader, w)]
    assert not different, different[:10]
    assert "goose" in index.lemma_names("geese")  # through noun.exc: geese -> goose


def test_meteor_with_the_index_equals_nltk_with_its_reader() -> None:
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    _, reader = _installed()
    index = wordnet.meteor_wordnet()
    assert isinstance(index, WordNetIndex)
    rng = random.Random(3)
    vocab = [
        "car",
        "auto",
        "automobile",
        "big",
        "large",
        "buy",
        "purchase",
        "bought",
        "begin",
        "start",
        "running",
        "ran",
        "dogs",
        "geese",
        "goose",
    ]
    for _ in range(200):
        hyp = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        ref = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        stemmer = PorterStemmer()
        assert meteor_score([ref], hyp, stemmer=stemmer, wordnet=index) == meteor_score(
            [ref], hyp, stemmer=stemmer, wordnet=reader
        )


# --- built at setup, on first use, again when stale or corrupt ---------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **(env or {}))
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    return forked_cli.completed([sys.executable, *args], env=full, timeout=900)


def test_install_builds_the_index_once(tmp_path: Path) -> None:
    source = wordnet.DEBIAN_SOURCE
    if not (source / "data.noun").is_file():
        if IN_CI:
            pytest.fail(f"CI must provide Debian's WordNet files in {source}")
        pytest.skip(f"Debian's WordNet files not in {source}")
    target = tmp_path / "nltk_data"
    first = _cli("-m", "judgekit.lexical.wordnet", "install", "--target", str(target))
    assert first.returncode == 0, first.stderr
    path = target / "corpora" / "wordnet" / INDEX_NAME
    assert f"synonym index built: {path}" in first.stdout
    index = wordnet_index.read(path)
    assert index.meta["verified"] and index.meta["checked_words"] > 1000
    # the stamp names the copied files' sizes, as they are on disk
    corpus = target / "corpora" / "wordnet"
    assert index.meta["stamp"]["files"]["data.noun"][0] == (corpus / "data.noun").stat().st_size
    mtime = path.stat().st_mtime_ns
    second = _cli("-m", "judgekit.lexical.wordnet", "install", "--target", str(target))
    assert second.returncode == 0, second.stderr
    assert f"synonym index up to date: {path}" in second.stdout
    assert path.stat().st_mtime_ns == mtime


def test_first_use_builds_the_index_and_scores_like_nltk(tmp_path: Path, corpus_copy: Path) -> None:
    """`judgekit lexical` on a WordNet folder without an index: builds it, then scores as nltk does."""
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    _, reader = _installed()
    assert not (corpus_copy / INDEX_NAME).exists()
    preds = {"a": "the car is big and the dogs ran", "b": "geese bought an automobile"}
    refs = {"a": ["the auto is large and a dog runs"], "b": ["a goose purchased the car"]}
    (tmp_path / "p.json").write_text(json.dumps(preds), encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(refs), encoding="utf-8")
    out = tmp_path / "out.json"
    env = {"NLTK_DATA": str(corpus_copy.parent.parent)}
    args = ("-m", "judgekit", "lexical", "--predictions", str(tmp_path / "p.json"), "--references",
            str(tmp_path / "r.json"), "--metrics", "meteor", "--processes", "1", "--out", str(out))  # fmt: skip
    proc = _cli(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    index = wordnet_index.read(corpus_copy / INDEX_NAME)
    assert index.meta["verified"] and index.meta["stamp"]["source"] == str(corpus_copy)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["meteor_mode"] == "wordnet"
    for key in preds:
        expected = meteor_score(
            [refs[key][0].split()], preds[key].split(), stemmer=PorterStemmer(), wordnet=reader
        )
        assert report["items"][key]["meteor"] == expected
    mtime = (corpus_copy / INDEX_NAME).stat().st_mtime_ns
    again = _cli(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert (corpus_copy / INDEX_NAME).stat().st_mtime_ns == mtime  # fresh: not built again


def test_stale_index_is_rebuilt_from_the_changed_files(
    corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drop 'quickly' from index.adv: the old index still knows it, the rebuilt one does not, like NLTK."""
    _, reader = _installed()
    old, built = wordnet_index.ensure(corpus_copy, lambda: reader)
    assert built and old.meta["verified"] and "quickly" in set(old.lemma_names("quickly"))
    adv = corpus_copy / "index.adv"
    lines = adv.read_bytes().split(b"\n")
    adv.write_bytes(b"\n".join(ln for ln in lines if not ln.startswith(b"quickly ")))
    changed = _reader_of(corpus_copy, monkeypatch)
    assert "quickly" not in _nltk_names(changed, "quickly")
    new, built = wordnet_index.ensure(corpus_copy, lambda: changed)
    assert built and new.meta["verified"]
    assert new.meta["stamp"]["files"]["index.adv"][0] == adv.stat().st_size
    assert set(new.lemma_names("quickly")) == _nltk_names(changed, "quickly")
    assert wordnet_index.read(corpus_copy / INDEX_NAME).meta["sha256"] != old.meta["sha256"]
    # a new modification time alone (same bytes) also counts as stale: the stamp must match exactly
    os.utime(adv, ns=(adv.stat().st_atime_ns, adv.stat().st_mtime_ns + 10**9))
    _, built = wordnet_index.ensure(corpus_copy, lambda: changed)
    assert built


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupt_index_is_rebuilt(corpus_copy: Path, damage: str) -> None:
    _, reader = _installed()
    wordnet_index.ensure(corpus_copy, lambda: reader)
    path = corpus_copy / INDEX_NAME
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x20
    elif damage == "truncate":
        data = data[: len(data) // 3]
    else:
        data = bytearray(b"\x00" * 1000)
    path.write_bytes(bytes(data))
    index, built = wordnet_index.ensure(corpus_copy, lambda: reader)
    assert built and index.meta["verified"]
    assert wordnet_index.read(path).meta["crc32"] == index.meta["crc32"]  # a whole, intact file again
    assert set(index.lemma_names("cars")) == _nltk_names(reader, "cars")


def test_index_that_disagrees_with_nltk_is_not_used(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from one folder, checked against NLTK's reader of another (without the lemma 'auto'): it is
    marked unverified, kept (no rebuild on every run), and `judgekit lexical` uses NLTK's reader."""
    _, reader = _installed()
    other = tmp_path / "other" / "corpora" / "wordnet"
    shutil.copytree(corpus_copy, other)
    noun = other / "index.noun"
    noun.write_bytes(b"\n".join(ln for ln in noun.read_bytes().split(b"\n") if not ln.startswith(b"auto ")))
    index, built = wordnet_index.ensure(corpus_copy, lambda: _reader_of(other, monkeypatch))
    assert built and not index.meta["verified"]
    again, built = wordnet_index.ensure(corpus_copy, lambda: reader)
    assert not built and not again.meta["verified"]
    code = (
        "import judgekit.lexical.wordnet as w; m = w.meteor_wordnet(); "
        "print(type(m).__name__, w.load_index() is None, sorted({l.name() for s in m.synsets('auto') for l in s.lemmas()}))"
    )
    proc = _cli("-c", code, env={"NLTK_DATA": str(corpus_copy.parent.parent)})
    assert proc.returncode == 0, proc.stderr
    kind, unused, names = proc.stdout.split(" ", 2)
    assert kind == "WordNetCorpusReader" and unused == "True"
    assert "automobile" in names


def test_status_names_the_index() -> None:
    corpus, _ = _installed()
    proc = _cli("-m", "judgekit.lexical.wordnet", "status")
    assert proc.returncode == 0, proc.stderr
    assert f"synonym index: {corpus / INDEX_NAME}" in proc.stdout
