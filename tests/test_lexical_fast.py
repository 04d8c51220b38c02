"""judgekit's fast lexical paths against the libraries they stand in for (NLTK, rouge-score).

Each fast path (word tokens from memoised chunks, Punkt decisions per context shape, WordNet lemma
names read from the data lines, METEOR's alignment on position arrays) is compared here with the
library itself on inputs built to reach its edge cases; the expected values always come from the
library, never from judgekit.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import pytest

from judgekit.lexical import compute_lexical, worker

# Chunks with every character NLTK's word-tokenizer rules look at, contractions, quotes, closers,
# periods, non-ASCII letters and Unicode whitespace inside a chunk.
_PIECES = (
    *"abcXY09.,:;'\"`!?()[]{}<>-*$%&@#«»“”‘’–—\n\t",
    *("can", "not", "cannot", "CANNOT", "gonna", "wanna", "gimme", "'t", "is", "'s", "n't", "'ll", "'re"),
    *("''", "``", "--", "...", "\u00a0", "é", "Ⅻ", "d'ye", "more'n", "'tis", "'twas", "İ", "ß", "K", "ﬁ"),
)
_PLAIN = ("word", "The", "x", "it", "Ok", "9")


def _chunk(rng: random.Random) -> str:
    return "".join(
        rng.choice(_PIECES) if rng.random() < 0.4 else rng.choice(_PLAIN) for _ in range(rng.randint(1, 4))
    )


def test_word_tokens_from_chunks_identical_to_nltk() -> None:
    """Single-space separated chunks (the memoised path) and a few sentences it must leave whole."""
    from nltk.tokenize import NLTKWordTokenizer

    from judgekit.lexical._words import ChunkedWordTokenizer, FastWordTokenizer

    nltk_words = NLTKWordTokenizer()
    chunked = ChunkedWordTokenizer(FastWordTokenizer(nltk_words).tokenize)
    rng = random.Random(11)
    sentences = [" ".join(_chunk(rng) for _ in range(rng.randint(2, 9))) for _ in range(6000)]
    sentences += [
        'He said "no." )',  # last chunk all closers: the final period sits in the chunk before
        "dogs' 'tis fine.",  # ' ' between chunks
        "a  b.",  # double space
        "cannot gonna wanna gimme lemme gotta more'n d'ye 'tis 'twas.",
        "word. \n",
        "x " * 500 + "end.",
    ]
    for sentence in sentences:
        assert chunked.tokenize(sentence) == nltk_words.tokenize(sentence), sentence
    assert len(chunked._middle) > 1000  # the chunk memo did the work, not the whole-sentence fallback


def test_sentence_splitter_fast_path_identical_to_nltk() -> None:
    from nltk.tokenize import PunktSentenceTokenizer

    from judgekit.lexical._sentences import memo_punkt

    nltk_sents = PunktSentenceTokenizer()
    fast = memo_punkt()
    assert fast._fast  # the probes agreed, so the plain loop (not NLTK's generators) is in use
    rng = random.Random(12)
    marks = (*".?!.?!.,:;'\"`()[]{}<>-*«»“”‘’–—\n\t ", "...", ". ", "! ", "? ", ".\n", "\n\n", "  ")
    words = ("A.", "b.", "1.", "3.5", "Mr.", "e.g.", "U.S.", ".)", '."', "Word", "word", "Σ.", " 'S", "9")
    texts = [
        "".join(
            rng.choice(marks) if rng.random() < 0.5 else rng.choice(words) for _ in range(rng.randint(0, 40))
        )
        for _ in range(6000)
    ]
    for text in texts:
        assert fast.tokenize(text) == nltk_sents.tokenize(text), text


def test_wordnet_lemma_names_identical_to_synsets() -> None:
    from judgekit.lexical._synonyms import LemmaNames
    from judgekit.lexical.wordnet import load_wordnet

    wordnet = load_wordnet()
    if wordnet is None:
        pytest.skip("WordNet is not installed (python -m judgekit.lexical.wordnet install)")
    names = LemmaNames(wordnet)
    assert names.names == names._direct  # agreed with synsets() on the probe words
    rng = random.Random(13)
    lemmas = sorted(wordnet.all_lemma_names())
    words = [*rng.sample(lemmas, 2000), "ran", "geese", "better", "happier", "proudest", "went", "xqzv", ""]
    for word in words:
        expected = sorted(lemma.name() for synset in wordnet.synsets(word) for lemma in synset.lemmas())
        assert sorted(names._direct(word)) == expected, word


def _libraries(prediction: str, reference: str, wordnet: Any) -> dict[str, float]:
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    rouge = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(
        reference, prediction
    )
    sents, words = PunktSentenceTokenizer(), NLTKWordTokenizer()

    def tokens(text: str) -> list[str]:
        return [tok for sent in sents.tokenize(text) for tok in words.tokenize(sent)]

    out = {
        f"{t}_{k}": float(getattr(rouge[t], f))
        for t in rouge
        for k, f in (("p", "precision"), ("r", "recall"), ("f", "fmeasure"))
    }
    out["meteor"] = float(
        meteor_score([tokens(reference)], tokens(prediction), stemmer=PorterStemmer(), wordnet=wordnet)
    )
    return out


def test_long_repetitive_and_odd_texts_identical_to_the_libraries() -> None:
    """Very long texts, heavy repetition (many equal-length LCS choices and METEOR ties), punctuation
    only, empty, non-Latin script, through the pool and in-process."""
    from judgekit.lexical.wordnet import load_wordnet

    wordnet = load_wordnet() or worker.NoWordNet()
    rng = random.Random(14)
    vocab = [
        "the",
        "cat",
        "sat",
        "on",
        "a",
        "mat",
        "The",
        "Cat",
        "ran",
        "running",
        "runs",
        "car",
        "auto",
        "automobile",
        "big",
        "large",
        ".",
        ",",
        ";",
        "!",
        "?",
    ]
    long_a = " ".join(rng.choice(vocab) for _ in range(3000))
    long_b = " ".join(rng.choice(vocab) for _ in range(2500))
    cases = {
        "long": (long_a, long_b),
        "long-same": (long_a, long_a),
        "repeat": ("a a a a b a a a a", "a b a b a b a a"),
        "repeat-long": ("x y " * 400, "y x " * 399 + "x"),
        "punct": ("... !!! ???", "?!"),
        "empty-pred": ("", "the cat sat."),
        "empty-ref": ("the cat sat.", ""),
        "unicode": ("Zürich café naïve résumé. 東京は晴れです", "Zurich cafe naive resume. 東京"),
        "newlines": ("One line\nanother line.\n\nA third!", "one line. another\nline"),
    }
    preds = {k: p for k, (p, _) in cases.items()}
    refs = {k: [r] for k, (_, r) in cases.items()}
    metrics = ["rouge1", "rouge2", "rougeL", "meteor"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {k: _libraries(p, r, wordnet) for k, (p, r) in cases.items()}
        worker.STATE.clear()
        single = compute_lexical(preds, refs, metrics, processes=1)
        pooled = compute_lexical(preds, refs, metrics, processes=2)
    assert single.items == expected
    assert pooled.items == expected
