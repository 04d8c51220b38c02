"""Scoring one item, in a pool worker or in-process: the scorers are built once per process."""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import signal
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from judgekit.lexical._meteor import FastMeteor, MemoStemmer
from judgekit.lexical._rouge import FastRouge
from judgekit.lexical._sentences import memo_punkt
from judgekit.lexical._words import fast_word_tokenizer


@dataclass(frozen=True)
class Config:
    rouge_types: tuple[str, ...]
    meteor: bool
    bleu: bool
    stemmer: bool
    use_wordnet: bool


class NoWordNet:
    """Stands in for NLTK's WordNet reader when WordNet is missing: no synsets, so no synonym stage."""

    def synsets(self, lemma: str, *args: object, **kwargs: object) -> list[object]:
        return []


STATE: dict[str, Any] = {}


def setup(config: Config) -> None:
    """Build the scorers once per process (the pool's initializer; also used in-process).

    A worker forked from a process that built them for the same config keeps them (with their
    memo tables and start-up checks) and only opens WordNet's files anew.
    """
    if STATE.get("config") == config:
        if STATE.get("pid") != os.getpid():
            if STATE["wordnet"] is not None:
                _reopen_wordnet_files(STATE["wordnet"])
            STATE["pid"] = os.getpid()
        return
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.translate.bleu_score import SmoothingFunction

    from judgekit.lexical.wordnet import meteor_wordnet

    wordnet: Any = NoWordNet()
    if config.meteor and config.use_wordnet:
        wordnet = meteor_wordnet()
        if wordnet is None:
            raise RuntimeError("WordNet was found by the parent process but does not load in a worker")
        if multiprocessing.parent_process() is not None:  # a child process, e.g. a pool worker
            _reopen_wordnet_files(wordnet)
    porter = PorterStemmer()
    stems = MemoStemmer(porter)
    rouge_stem = stems.stem if config.stemmer else None
    words = NLTKWordTokenizer()
    STATE.clear()
    STATE.update(
        pid=os.getpid(),
        config=config,
        wordnet=wordnet if config.meteor and config.use_wordnet else None,
        rouge=_checked_rouge(config.rouge_types, rouge_stem, config.stemmer) if config.rouge_types else None,
        sentences=memo_punkt(),
        words=fast_word_tokenizer(words),
        meteor=_checked_meteor(stems, porter, wordnet) if config.meteor else None,
        smoothing=SmoothingFunction().method1,
    )


# Texts the fast ROUGE and METEOR must score exactly as the libraries do before they are used
# (a guard against another library version behaving differently): repeats, crossings, stems,
# synonyms, several lines, punctuation only, non-Latin script, empty.
_PROBES = (
    (
        "The cats were running quickly.\nA dog ran; the cat runs!",
        "the cat ran quickly\nThe dogs were running",
    ),
    ("a b a c b a d\n\nb a", "b a b d c a a\nd"),
    ("Large car is red, and the automobile was big.", "the big auto is red; a large car"),
    ("... !!", "?"),
    ("東京は晴れです", "Zürich café naïve"),
    ("", "something"),
)


def _checked_rouge(rouge_types: tuple[str, ...], stem: Callable[[str], str] | None, use_stemmer: bool) -> Any:
    """The fast ROUGE scorer, or rouge-score's own if the two disagree on :data:`_PROBES`."""
    from rouge_score import rouge_scorer

    fast = FastRouge(rouge_types, stem)
    slow = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer)
    for target, prediction in _PROBES:
        for targets in ([target], [target, prediction, target.upper()]):
            if fast.score_multi(targets, prediction) != slow.score_multi(targets, prediction):
                return slow
    return fast


def _checked_meteor(stems: MemoStemmer, porter: Any, wordnet: Any) -> Callable[..., float]:
    """The fast METEOR, or nltk's ``meteor_score`` if the two disagree on :data:`_PROBES`."""
    from nltk.translate.meteor_score import meteor_score

    fast = FastMeteor(stems, wordnet)

    def slow(refs: Sequence[Sequence[str]], hyp: Sequence[str]) -> float:
        return float(meteor_score(refs, hyp, stemmer=porter, wordnet=wordnet))

    for target, prediction in _PROBES:
        hyp = prediction.split()
        for refs in ([target.split()], [target.split(), prediction.upper().split()]):
            if fast.score(refs, hyp) != slow(refs, hyp):
                return slow
    return fast.score


def init_worker(config: Config) -> None:
    """The pool's initializer."""
    # Ctrl-C reaches the whole process group: the parent alone handles it (leaving the pool ends
    # the workers), instead of every worker printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup(config)
    # A forked worker inherits the parent's objects (WordNet alone is ~0.5M of them): leave them
    # out of the cyclic garbage collector, whose full passes would walk (and copy-on-write) them all.
    gc.freeze()


def _reopen_wordnet_files(reader: Any) -> None:
    """Give a forked worker its own handles on WordNet's data files.

    NLTK's reader keeps the data files open and reads a synset with ``seek`` + ``readline``. A
    forked child shares the parent's open file descriptions, file offset included, so two workers
    seeking at once read each other's lines (NLTK then returns None for the synset and METEOR
    fails). Forgetting the inherited handles makes the reader open fresh ones in this process.
    """
    if isinstance(getattr(reader, "_data_file_map", None), dict):
        reader._data_file_map = {}


def word_tokens(text: str) -> list[str]:
    words = STATE["words"]
    return [tok for sent in STATE["sentences"].tokenize(text) for tok in words(sent)]


_ROUGE_CHAR = re.compile("[a-z0-9]")


def _rouge_blind(text: str) -> bool:
    """True if the text has letters or digits but none that ROUGE's [a-z0-9] tokenizer keeps."""
    return _ROUGE_CHAR.search(text.lower()) is None and any(ch.isalnum() for ch in text)


def score_item(task: tuple[str, str, tuple[str, ...]]) -> tuple[str, dict[str, float], tuple[str, ...]]:
    from nltk.translate.bleu_score import sentence_bleu

    item_id, prediction, references = task
    config: Config = STATE["config"]
    scores: dict[str, float] = {}
    flags: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.rouge_types:
            result = STATE["rouge"].score_multi(list(references), prediction)  # targets first
            for rouge_type in config.rouge_types:
                s = result[rouge_type]
                scores[f"{rouge_type}_p"] = float(s.precision)
                scores[f"{rouge_type}_r"] = float(s.recall)
                scores[f"{rouge_type}_f"] = float(s.fmeasure)
            if _rouge_blind(prediction) or any(_rouge_blind(r) for r in references):
                flags.append("rouge_blind")
        if config.meteor or config.bleu:
            hyp = word_tokens(prediction)
            refs = [word_tokens(r) for r in references]
            if config.meteor:
                scores["meteor"] = float(STATE["meteor"](refs, hyp))
            if config.bleu:
                scores["bleu"] = float(sentence_bleu(refs, hyp, smoothing_function=STATE["smoothing"]))
    if not prediction.strip():
        flags.append("empty_prediction")
    if any(not r.strip() for r in references):
        flags.append("empty_reference")
    return item_id, scores, tuple(flags)


# The items of the run in progress, set before a pool is forked (its workers then get index ranges).
TASKS: list[tuple[str, str, tuple[str, ...]]] = []


def score_range(bounds: tuple[int, int]) -> list[tuple[str, dict[str, float], tuple[str, ...]]]:
    """Score ``TASKS[start:stop]`` (in a forked worker, the parent's list as it was at the fork)."""
    start, stop = bounds
    return [score_item(t) for t in TASKS[start:stop]]


def score_chunk(
    tasks: Sequence[tuple[str, str, tuple[str, ...]]],
) -> list[tuple[str, dict[str, float], tuple[str, ...]]]:
    return [score_item(t) for t in tasks]
