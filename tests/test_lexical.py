"""judgekit.lexical and `judgekit lexical`: published reference values, input shapes, edge cases, CLI.

Reference values come from tests/data/rouge_meteor (ROUGE-1.5.5 ground truth published with
rouge-score, and nltk's METEOR doctests), never from running judgekit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from judgekit import lexical
from judgekit.errors import ConfigError, InputError
from judgekit.lexical import (
    LexicalReport,
    compute_lexical,
    correlate_with_judge,
    load_predictions,
    load_references,
    parse_metrics,
    pool,
    worker,
)
from tests import forked_cli
from tests.proc_tools import popen

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "rouge_meteor"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _lines(name: str) -> list[str]:
    with open(DATA / name, encoding="utf-8") as fh:
        return fh.readlines()  # with the trailing newline, as the published test does


def _one(prediction: str, references: list[str], metrics: list[str], **kw: Any) -> dict[str, float]:
    report = compute_lexical({"x": prediction}, {"x": references}, metrics, processes=1, **kw)
    return report.items["x"]


def _wordnet_or_skip() -> None:
    from judgekit.lexical.wordnet import wordnet_available

    if not wordnet_available():
        msg = "WordNet not installed (run: python -m judgekit.lexical.wordnet install)"
        if IN_CI:
            pytest.fail(f"CI must install WordNet: {msg}")
        pytest.skip(msg)


# --- ROUGE against ROUGE-1.5.5 ----------------------------------------------------------------------

ROUGE_CASES = (
    EXPECTED["rouge_against_ROUGE-1.5.5"]["cases"]
    + EXPECTED["rouge_against_ROUGE-1.5.5"]["not_in_published_test_but_verified_here_with_rouge-score_0.1.2"]
)


@pytest.mark.parametrize(
    "case",
    ROUGE_CASES,
    ids=lambda c: f"pair{c['pair']}-{c['type']}-{'stem' if c['use_stemmer'] else 'nostem'}",
)
def test_rouge_matches_rouge155(case: dict[str, Any]) -> None:
    target = _lines("target.txt")[case["pair"]]
    prediction = _lines("prediction.txt")[case["pair"]]
    scores = _one(prediction, [target], [case["type"]], stemmer=case["use_stemmer"])
    t = case["type"]
    assert scores[f"{t}_p"] == pytest.approx(case["precision"], abs=5e-6)
    assert scores[f"{t}_r"] == pytest.approx(case["recall"], abs=5e-6)
    assert scores[f"{t}_f"] == pytest.approx(case["fmeasure"], abs=5e-6)


def test_rouge_target_first_order_matters() -> None:
    # Swapping target and prediction swaps P and R: the wrapper must pass the reference as target.
    scores = _one("testing", ["testing one two"], ["rouge1"], stemmer=False)
    assert scores["rouge1_p"] == pytest.approx(1.0)
    assert scores["rouge1_r"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "case",
    [c for c in EXPECTED["rouge_small_unit_cases_from_rouge_scorer_test"] if "target" in c],
    ids=lambda c: f"{c['type']}:{c['prediction'] or 'empty'}",
)
def test_rouge_small_cases(case: dict[str, Any]) -> None:
    types = ["rouge1", "rouge2", "rougeL"] if case["type"] == "any" else [case["type"]]
    scores = _one(case["prediction"], [case["target"]], types, stemmer=False)
    for t in types:
        assert scores[f"{t}_p"] == pytest.approx(case["precision"], abs=1e-9)
        assert scores[f"{t}_r"] == pytest.approx(case["recall"], abs=1e-9)
        assert scores[f"{t}_f"] == pytest.approx(case["fmeasure"], abs=1e-9)


def test_rouge_multi_reference_takes_best_f() -> None:
    (case,) = [c for c in EXPECTED["rouge_small_unit_cases_from_rouge_scorer_test"] if "targets_multi" in c]
    scores = _one(case["prediction"], case["targets_multi"], ["rouge1", "rouge2", "rougeL"], stemmer=False)
    for key, value in case["score_multi"].items():
        assert scores[key] == pytest.approx(value)


def test_corpus_figure_is_mean_of_items() -> None:
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    report = compute_lexical(
        {"a": predictions[0], "b": predictions[1]},
        {"a": [targets[0]], "b": [targets[1]]},
        ["rouge1"],
        stemmer=False,
        processes=1,
    )
    cases = {c["pair"]: c for c in ROUGE_CASES if c["type"] == "rouge1" and not c["use_stemmer"]}
    assert report.overall["rouge1_f"] == pytest.approx(
        (cases[0]["fmeasure"] + cases[1]["fmeasure"]) / 2, abs=1e-5
    )
    assert report.aggregation == "mean of item-level scores"
    assert report.n == 2


# --- METEOR against nltk's doctests ------------------------------------------------------------------

M = EXPECTED["meteor_nltk"]


def test_tokenizer_keeps_pretokenised_words() -> None:
    worker.setup(worker.Config((), True, False, True, False))
    for key in ("hypothesis1", "hypothesis2", "reference1", "reference2", "reference3"):
        assert worker.word_tokens(" ".join(M[key])) == M[key]


def test_meteor_published_values() -> None:
    published = M["published"]
    h1 = " ".join(M["hypothesis1"])
    refs = [" ".join(M[k]) for k in ("reference1", "reference2", "reference3")]
    multi = _one(h1, refs, ["meteor"])["meteor"]
    assert (
        round(multi, 4)
        == published["round(meteor_score([reference1, reference2, reference3], hypothesis1), 4)"]
    )
    single = _one(h1, refs[:1], ["meteor"])["meteor"]
    assert round(single, 4) == published["round(single_meteor_score(reference1, hypothesis1), 4)"]
    none = _one("non matching hypothesis", ["this is a cat"], ["meteor"])["meteor"]
    assert (
        round(none, 4)
        == published["round(meteor_score([['this','is','a','cat']], ['non','matching','hypothesis']), 4)"]
    )


def _no_wordnet(monkeypatch: pytest.MonkeyPatch) -> None:
    import judgekit.lexical.wordnet

    monkeypatch.setattr(judgekit.lexical.wordnet, "load_wordnet", lambda: None)
    monkeypatch.setattr(judgekit.lexical.wordnet, "meteor_wordnet", lambda: None)
    worker.STATE.clear()


def test_meteor_without_wordnet_exact_and_stem(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_wordnet(monkeypatch)
    local = M["computed_here_not_published (nltk 3.10.3, wordnet stub returning no synsets)"]
    h1, h2 = " ".join(M["hypothesis1"]), " ".join(M["hypothesis2"])
    r1, r2, r3 = (" ".join(M[k]) for k in ("reference1", "reference2", "reference3"))
    with pytest.warns(lexical.WordNetMissingWarning):
        report = compute_lexical(
            {"h2": h2, "h1r2": h1, "h1r3": h1, "h2r2": h2, "syn": "the car is red"},
            {"h2": [r1, r2, r3], "h1r2": [r2], "h1r3": [r3], "h2r2": [r2], "syn": ["the auto is red"]},
            ["meteor"],
            processes=1,
        )
    assert report.meteor_mode == "exact+stem (WordNet not found)"
    assert round(report.items["h2"]["meteor"], 4) == local["hypothesis2_multi_ref"]
    assert round(report.items["h1r2"]["meteor"], 4) == local["h1_vs_r2"]
    assert round(report.items["h1r3"]["meteor"], 4) == local["h1_vs_r3"]
    assert round(report.items["h2r2"]["meteor"], 4) == local["h2_vs_r2"]
    exact_only = report.items["syn"]["meteor"]
    worker.STATE.clear()
    monkeypatch.undo()
    # the synonym stage is the only difference: with WordNet 'car' matches 'auto'
    from judgekit.lexical.wordnet import wordnet_available

    if wordnet_available():
        assert _one("the car is red", ["the auto is red"], ["meteor"])["meteor"] > exact_only


def test_meteor_uses_wordnet_when_installed() -> None:
    """CI installs WordNet (python -m judgekit.lexical.wordnet install); there this must not skip."""
    _wordnet_or_skip()
    worker.STATE.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", lexical.WordNetMissingWarning)
        report = compute_lexical({"s": "the car is red"}, {"s": ["the auto is red"]}, ["meteor"], processes=1)
    assert report.meteor_mode == "wordnet"
    # 4 of 4 words aligned in one chunk: only a synonym match can align 'car' with 'auto'
    assert report.items["s"]["meteor"] > 0.9


# --- BLEU ---------------------------------------------------------------------------------------------


def test_bleu_identical_and_disjoint() -> None:
    assert _one("the cat sat on the mat", ["the cat sat on the mat"], ["bleu"])["bleu"] == pytest.approx(1.0)
    assert _one("dogs bark loudly today", ["the cat sat on the mat"], ["bleu"])["bleu"] < 0.01


def test_bleu_multi_reference_clips_against_all() -> None:
    one = _one("the cat sat on the mat", ["a cat sat on a mat"], ["bleu"])["bleu"]
    both = _one("the cat sat on the mat", ["a cat sat on a mat", "the cat sat on the mat"], ["bleu"])["bleu"]
    assert both == pytest.approx(1.0)
    assert one < both


# --- edge cases ---------------------------------------------------------------------------------------

ALL = ["rouge1", "rouge2", "rougeL", "rougeLsum", "meteor", "bleu"]


def test_empty_prediction_scores_zero_and_is_noted() -> None:
    report = compute_lexical(
        {"e": "", "w": "   "}, {"e": ["a reference"], "w": ["another one"]}, ALL, processes=1
    )
    for scores in report.items.values():
        assert all(v == 0.0 for v in scores.values())
    assert any("2 empty prediction" in n for n in report.notes)


def test_empty_reference_scores_zero_and_is_noted() -> None:
    report = compute_lexical({"e": "some prediction"}, {"e": [""]}, ALL, processes=1)
    assert all(v == 0.0 for v in report.items["e"].values())
    assert any("empty reference" in n for n in report.notes)


def test_non_ascii_text() -> None:
    report = compute_lexical(
        {"fr": "Le café est très bon à Zürich", "ja": "東京は晴れです", "mix": "naïve résumé"},
        {"fr": ["Le café est très bon à Zürich"], "ja": ["東京は晴れです"], "mix": ["naive resume"]},
        ALL,
        processes=1,
    )
    assert report.items["fr"]["rouge1_f"] == pytest.approx(1.0)
    assert report.items["fr"]["meteor"] > 0.9
    # rouge-score keeps only [a-z0-9]: Japanese has no ROUGE tokens; METEOR and BLEU see the text
    assert report.items["ja"]["rouge1_f"] == 0.0
    assert report.items["ja"]["meteor"] > 0.4
    assert any("'ja'" in n and "tokenizer" in n for n in report.notes)


def test_very_long_texts() -> None:
    words = [f"w{i % 997}" for i in range(2000)]
    text = " ".join(words)
    report = compute_lexical(
        {"long": text}, {"long": [text]}, ["rouge1", "rougeL", "meteor", "bleu"], processes=1
    )
    for key in ("rouge1_f", "rougeL_f", "bleu"):
        assert report.items["long"][key] == pytest.approx(1.0)
    assert report.items["long"]["meteor"] > 0.99


def test_missing_id_is_a_clear_error() -> None:
    with pytest.raises(InputError) as err:
        compute_lexical({"a": "x", "z": "y"}, {"a": ["x"], "b": ["y"], "c": ["z"]}, ["rouge1"])
    msg = str(err.value)
    assert "'b'" in msg and "'c'" in msg and "'z'" in msg and "\n" not in msg


def test_unknown_metric_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        parse_metrics("rouge1,rougeX,meteor")
    assert "rougeX" in str(err.value)
    for name in lexical.METRIC_NAMES:
        assert name in str(err.value)
    assert parse_metrics("ROUGE1, rougel ,meteor,meteor") == ("rouge1", "rougeL", "meteor")


# --- identical to the libraries -------------------------------------------------------------------
# judgekit memoises stems, synonyms and sentence-break decisions, computes the LCS bit-parallel and
# skips tokenizer rules that cannot fire. Every float must still equal what rouge-score and nltk
# return when called directly (as a user would), on random and edge-case text.

_WORDS = (
    "the The THE a an is are was were be cat cats dog dogs car cars auto automobile big large great "
    "run runs running ran runner quickly quick red blue house houses home set sets setting put "
    "it it's It's can't cannot Cannot gonna wanna gimme lemme gotta more'n d'ye 'tis 'twas I'm they'll "
    "you're we've won't don't o'clock rock'n'roll 3.88 3:30 10% $5 #1 @me a&b x*y e-mail "
    "U.S. Dr. Mr. e.g. i.e. etc. ... .. . , ; : ! ? !! ?! -- - — – ‒ ― ( ) [ ] { } < > "
    "\" ' `` '' ` « » “ ” ‘ ’ „ café naïve résumé Zürich straße İstanbul ıi ſ K ﬁ 東京 晴れ "
    "Ελλάδα Москва 123 4th 2nd x1 a1b2"
)
_SEPARATORS = (" ", " ", " ", " ", "  ", "\n", "\t", " \n ", "\x1c", "\u00a0", "\u2003", "\r\n", "")
_EDGE_TEXTS = (
    "",
    " ",
    "\n\n",
    "...",
    "!!! ???",
    "a",
    "a a a a a a",
    "the the the cat the",
    "東京は晴れです",
    "Ελλάδα και Москва",
    "\"Quoted,\" he said. 'Single' and ``tex'' style.",
    "Line one.\nLine two!\n\nLine three?",
    "cannot gonna wanna 'tis 'twas d'ye",
    "Mr. Smith went to Washington D.C. in the U.S. He liked it.",
    "ends with spaces .   ",
    "tab\tseparated\twords.",
)


def _random_text(rng: Any, words: int) -> str:
    vocab = _WORDS.split()
    out = []
    for _ in range(words):
        out.append(rng.choice(vocab))
        out.append(rng.choice(_SEPARATORS))
    return "".join(out).strip(" ") if rng.random() < 0.8 else "".join(out)


def _random_cases(seed: int, n: int) -> list[tuple[str, list[str]]]:
    import random

    rng = random.Random(seed)
    cases: list[tuple[str, list[str]]] = []
    for text in _EDGE_TEXTS:
        cases.append((text, [rng.choice(_EDGE_TEXTS)]))
        cases.append((rng.choice(_EDGE_TEXTS), [text, _random_text(rng, 8)]))
    for _ in range(n):
        pred = _random_text(rng, rng.randint(0, 40))
        refs = [_random_text(rng, rng.randint(0, 40)) for _ in range(rng.choice((1, 1, 2, 3)))]
        if rng.random() < 0.3:  # a reference close to the prediction: long LCS, many exact matches
            words = pred.split(" ")
            head = words[: len(words) // 3]
            rng.shuffle(head)
            refs[0] = " ".join(words[len(head) :] + head)
        cases.append((pred, refs))
    return cases


def _library_scores(prediction: str, references: list[str], stemmer: bool, wordnet: Any) -> dict[str, float]:
    """The plain loop a user would write over rouge-score and nltk."""
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=stemmer)
    sents, words = PunktSentenceTokenizer(), NLTKWordTokenizer()

    def tokens(text: str) -> list[str]:
        return [tok for sent in sents.tokenize(text) for tok in words.tokenize(sent)]

    if len(references) == 1:
        rouge = scorer.score(references[0], prediction)
    else:
        rouge = scorer.score_multi(references, prediction)
    out = {}
    for t in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        out[f"{t}_p"] = float(rouge[t].precision)
        out[f"{t}_r"] = float(rouge[t].recall)
        out[f"{t}_f"] = float(rouge[t].fmeasure)
    refs, hyp = [tokens(r) for r in references], tokens(prediction)
    out["meteor"] = float(meteor_score(refs, hyp, stemmer=PorterStemmer(), wordnet=wordnet))
    out["bleu"] = float(sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction().method1))
    return out


@pytest.mark.parametrize("stemmer", [True, False])
def test_every_score_identical_to_the_libraries(stemmer: bool) -> None:
    from judgekit.lexical.wordnet import load_wordnet

    wordnet = load_wordnet() or worker.NoWordNet()
    cases = _random_cases(seed=1 if stemmer else 2, n=400)
    preds = {str(k): pred for k, (pred, _) in enumerate(cases)}
    refs = {str(k): ref for k, (_, ref) in enumerate(cases)}
    worker.STATE.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compute_lexical(preds, refs, ALL, stemmer=stemmer, processes=1)
        expected = {k: _library_scores(preds[k], refs[k], stemmer, wordnet) for k in preds}
    different = [(k, preds[k], refs[k]) for k in preds if report.items[k] != expected[k]]
    assert not different, different[:3]
    assert report.items == expected  # exactly equal floats, every item, every metric


def test_meteor_identical_with_and_without_synonyms() -> None:
    """Synonym-heavy text with crossings and repeats, with WordNet and with the no-WordNet stand-in."""
    import random

    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    from judgekit.lexical._meteor import FastMeteor, MemoStemmer
    from judgekit.lexical.wordnet import load_wordnet

    synonyms = "car auto automobile machine big large great huge small little buy purchase bought begin"
    stems = "start started starting end finish help assist aid show display choose select pick run"
    vocab = f"{synonyms} {stems} running runs ran Car AUTO Big set put place house home dog dogs".split()
    rng = random.Random(5)
    readers = [worker.NoWordNet()]
    wordnet = load_wordnet()
    if wordnet is not None:
        readers.append(wordnet)
    for reader in readers:
        fast = FastMeteor(MemoStemmer(PorterStemmer()), reader)
        for _ in range(300):
            hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
            refs = [[rng.choice(vocab) for _ in range(rng.randint(0, 25))] for _ in range(rng.randint(1, 3))]
            expected = meteor_score(refs, hyp, stemmer=PorterStemmer(), wordnet=reader)
            assert fast.score(refs, hyp) == expected, (hyp, refs)


def test_lcs_matches_rouge_score_table_cell_by_cell() -> None:
    import random

    from rouge_score import rouge_scorer

    from judgekit.lexical._rouge import _column_vectors, lcs_indices, lcs_length

    rng = random.Random(3)
    for _ in range(300):
        alphabet = "abcdefgh"[: rng.randint(1, 8)]
        ref = [rng.choice(alphabet) for _ in range(rng.randint(0, 30))]
        can = [rng.choice(alphabet) for _ in range(rng.randint(0, 30))]
        table = rouge_scorer._lcs_table(ref, can)
        columns = _column_vectors(ref, can)
        for i in range(len(ref) + 1):
            for j in range(len(can) + 1):
                assert i - (columns[j] & ((1 << i) - 1)).bit_count() == table[i][j]
        assert lcs_length(ref, can) == table[-1][-1] == lcs_length(can, ref)
        assert lcs_indices(ref, can) == rouge_scorer.lcs_ind(ref, can)


def test_word_tokenizer_and_sentence_splitter_identical_to_nltk() -> None:
    import random

    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer

    from judgekit.lexical._sentences import memo_punkt
    from judgekit.lexical._words import PROBE, FastWordTokenizer

    rng = random.Random(9)
    nltk_words, nltk_sents = NLTKWordTokenizer(), PunktSentenceTokenizer()
    fast_words, fast_sents = FastWordTokenizer(nltk_words), memo_punkt()
    texts = [PROBE, PROBE.upper(), *_EDGE_TEXTS] + [
        _random_text(rng, rng.randint(0, 60)) for _ in range(1500)
    ]
    for text in texts:
        assert fast_words.tokenize(text) == nltk_words.tokenize(text), text
        assert fast_sents.tokenize(text) == nltk_sents.tokenize(text), text
        assert fast_sents.tokenize(text) == nltk_sents.tokenize(text), text  # from the memo this time


def test_regex_whitespace_is_whitespace_to_split() -> None:
    """The tokenizer may skip NLTK's whitespace-run rule on ASCII text because every character the
    regex engine's \\s matches there also separates words for str.split()."""
    import regex

    ascii_space = regex.compile(r"\s")
    for code in range(128):
        if ascii_space.match(chr(code)):
            assert chr(code).isspace(), code


def test_fast_implementations_are_in_use() -> None:
    """On the pinned rouge-score and nltk the probes agree, so the fast paths (not the fallbacks) run."""
    from judgekit.lexical._meteor import FastMeteor
    from judgekit.lexical._rouge import FastRouge
    from judgekit.lexical._words import ChunkedWordTokenizer

    worker.setup(worker.Config(("rouge1", "rougeLsum"), True, False, True, False))
    assert isinstance(worker.STATE["rouge"], FastRouge)
    assert isinstance(worker.STATE["meteor"].__self__, FastMeteor)
    assert isinstance(worker.STATE["words"].__self__, ChunkedWordTokenizer)
    worker.STATE.clear()


# --- process pool -----------------------------------------------------------------------------------


_VOCAB = "the a cat dog sat ran over under mat house quickly slowly red blue big small car auto"


def _corpus(n: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    import random

    rng = random.Random(7)
    vocab = _VOCAB.split()
    preds = {f"i{k}": " ".join(rng.choice(vocab) for _ in range(40)) for k in range(n)}
    refs = {
        f"i{k}": [" ".join(rng.choice(vocab) for _ in range(40)) for _ in range(1 + k % 2)] for k in range(n)
    }
    return preds, refs


def test_pool_matches_single_process() -> None:
    preds, refs = _corpus(24)
    metrics = ["rouge1", "rouge2", "rougeL", "meteor", "bleu"]
    single = compute_lexical(preds, refs, metrics, processes=1)
    pooled = compute_lexical(preds, refs, metrics, processes=2)
    assert single.processes == 1 and pooled.processes == 2
    assert pooled.items == single.items
    assert pooled.overall == single.overall
    assert list(pooled.items) == list(refs)


def test_forked_workers_read_wordnet_safely() -> None:
    """Forked workers must not share WordNet's open data files (a shared file offset garbles reads).

    Words the process has not looked up yet force synset reads from disk in both workers at once.
    """
    _wordnet_or_skip()
    import random

    from judgekit.lexical.wordnet import load_wordnet

    wn = load_wordnet()
    names = sorted(n for n in wn.all_lemma_names("n") if "_" not in n)[5::13]
    rng = random.Random(11)
    preds = {str(i): " ".join(rng.choice(names) for _ in range(60)) for i in range(200)}
    refs = {str(i): [" ".join(rng.choice(names) for _ in range(60))] for i in range(200)}
    pooled = compute_lexical(preds, refs, ["meteor"], processes=2)
    single = compute_lexical(preds, refs, ["meteor"], processes=1)
    assert pooled.processes == 2
    assert pooled.items == single.items


def test_spawned_pool_matches_single_process() -> None:
    preds, refs = _corpus(8)
    config = worker.Config(("rouge1", "rougeL"), False, True, True, False)
    tasks = [(i, preds[i], tuple(refs[i])) for i in refs]
    in_process = pool.run_tasks(tasks, config, 1, None, False)
    spawned = pool.run_tasks(tasks, config, 2, "spawn", False)
    assert spawned == in_process


def test_report_round_trips_as_json() -> None:
    report = compute_lexical({"a": "x y"}, {"a": ["x y z"]}, ["rouge1"], processes=1)
    again = LexicalReport.model_validate_json(report.model_dump_json())
    assert again == report


# --- correlation with the judge ------------------------------------------------------------------------


def test_correlate_with_judge() -> None:
    items = {f"q{i}": {"rouge1_f": i / 10, "meteor": (10 - i) / 10, "bleu": 0.5} for i in range(6)}
    report = LexicalReport(
        metrics=["rouge1", "meteor", "bleu"], n=6, overall={}, items=items, meteor_mode="wordnet"
    )
    judge: dict[str, float | None] = {f"q{i}": float(i) for i in range(6)}
    judge["q5"] = None
    judge["other"] = 3.0
    out = correlate_with_judge(report, judge)
    assert out["rouge1_f"]["spearman"] == pytest.approx(1.0)
    assert out["rouge1_f"]["kendall"] == pytest.approx(1.0)
    assert out["meteor"]["spearman"] == pytest.approx(-1.0)
    assert out["rouge1_f"]["n"] == 5
    assert out["bleu"]["spearman"] is None  # constant metric: undefined, not 0
    assert set(out) == {"rouge1_f", "meteor", "bleu"}
    short = correlate_with_judge(report, {"q0": 1.0, "q1": 2.0})
    assert short["rouge1_f"]["spearman"] is None and short["rouge1_f"]["n"] == 2


# --- loading --------------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_shapes(tmp_path: Path) -> None:
    assert load_references(_write(tmp_path, "a.json", {"1": "r"})) == {"1": ["r"]}
    assert load_references(_write(tmp_path, "b.json", {"1": ["r", "s"]})) == {"1": ["r", "s"]}
    assert load_references(_write(tmp_path, "c.json", {"1": [{"output": "r"}, {"output": "s"}]})) == {
        "1": ["r", "s"]
    }
    rows = [{"id": "1", "input": "q", "output": "r"}, {"id": 2, "reference": ["s", "t"]}]
    assert load_references(_write(tmp_path, "d.json", rows)) == {"1": ["r"], "2": ["s", "t"]}
    jsonl = "\n".join(json.dumps(r) for r in rows) + "\n"
    assert load_references(_write(tmp_path, "e.jsonl", jsonl)) == {"1": ["r"], "2": ["s", "t"]}
    lamp = {"task": "LaMP_4", "golds": [{"id": "110", "output": "A headline"}]}
    assert load_references(_write(tmp_path, "f.json", lamp)) == {"110": ["A headline"]}
    assert load_references(_write(tmp_path, "g.json", [{"id": "1", "answer": "r"}]), "answer") == {"1": ["r"]}
    assert load_references(_write(tmp_path, "h.json", [{"key": "k1", "output": "r"}]), id_field="key") == {
        "k1": ["r"]
    }
    # predictions: LaMP-QA responses take the first output
    responses = {"q1": [{"output": "first"}, {"output": "second"}], "q2": "plain"}
    assert load_predictions(_write(tmp_path, "p.json", responses)) == {"q1": "first", "q2": "plain"}
    assert load_predictions(_write(tmp_path, "p2.json", lamp)) == {"110": "A headline"}
    assert load_predictions(_write(tmp_path, "p3.json", "\ufeff" + json.dumps({"a": "bom ok"}))) == {
        "a": "bom ok"
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"a": "x",', "invalid JSON"),
        (b'{"a": "caf\xe9"}', "not UTF-8"),
        ("", "empty"),
        ({"a": 3}, "id 'a'"),
        ({"a": None}, "got null"),
        ({"a": []}, "empty list"),
        ({"a": [{"text": "x"}]}, "no 'output' or 'reference' field"),
        ([{"id": "a", "output": "x"}, {"id": "a", "output": "y"}], "duplicate ids: 'a'"),
        ([{"output": "x"}], "no 'id' field"),
        ([{"id": True, "output": "x"}], "string id"),
        ("[1, 2]", "expected an object"),
        ("42", "expected a JSON object"),
        ('{"a": "x"}\n{"b": ', "invalid JSON"),
    ],
)
def test_load_errors_are_one_line(tmp_path: Path, content: Any, expected: str) -> None:
    path = _write(tmp_path, "bad.json", content)
    with pytest.raises(InputError) as err:
        load_references(path)
    msg = str(err.value)
    assert expected in msg
    assert str(path) in msg
    assert "\n" not in msg


def test_jsonl_single_row_is_a_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "one.jsonl", json.dumps({"id": "q1", "output": "only row"}) + "\n")
    assert load_references(path) == {"q1": ["only row"]}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_predictions(tmp_path / "nope.json")


def test_named_field_missing_lists_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, "ds.json", [{"id": "1", "question": "q", "narrative": "n"}])
    with pytest.raises(InputError) as err:
        load_references(path, "answer")
    assert "field 'answer'" in str(err.value) and "'question'" in str(err.value)


# --- CLI ----------------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path | None = None, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = (
        [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "judgekit", "lexical", *args]
    )
    return forked_cli.completed(cmd, env=env, cwd=cwd, timeout=600)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("judgekit: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def longlamp_files(tmp_path: Path) -> tuple[Path, Path]:
    """The LongLaMP layout: dataset rows with an 'output' reference, predictions keyed by id."""
    targets, predictions = _lines("target.txt"), _lines("prediction.txt")
    dataset = [
        {"id": "u1", "input": "Write a review", "output": targets[0], "profile": []},
        {"id": "u2", "input": "Write a review", "output": targets[1], "profile": []},
    ]
    preds = {"u1": predictions[0], "u2": predictions[1]}
    return _write(tmp_path, "test.json", dataset), _write(tmp_path, "preds.json", preds)


def test_cli_longlamp_layout(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, preds = longlamp_files
    out = tmp_path / "out" / "lexical.json"
    out.parent.mkdir()
    proc = run_cli(
        "--predictions", str(preds), "--references", str(dataset), "--metrics", "rouge1,rougeL",
        "--no-stemmer", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "rouge1" in proc.stdout and "mean of item-level scores" in proc.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    cases = {(c["pair"], c["type"]): c for c in ROUGE_CASES if not c["use_stemmer"]}
    assert report["items"]["u2"]["rouge1_f"] == pytest.approx(cases[(1, "rouge1")]["fmeasure"], abs=5e-6)
    assert report["items"]["u1"]["rougeL_r"] == pytest.approx(cases[(0, "rougeL")]["recall"], abs=5e-6)
    assert report["aggregation"] == "mean of item-level scores"
    assert report["n"] == 2
    assert not [p for p in out.parent.iterdir() if p.name != "lexical.json"]  # no temp file left


def test_cli_default_metrics_with_meteor(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, preds = longlamp_files
    out = tmp_path / "r.json"
    proc = run_cli("--predictions", str(preds), "--dataset", str(dataset), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["metrics"] == ["rouge1", "rougeL", "meteor", "bleu"]
    assert report["meteor_mode"] in ("wordnet", "exact+stem (WordNet not found)")
    assert f"METEOR: {report['meteor_mode']}" in proc.stdout
    if IN_CI:
        assert report["meteor_mode"] == "wordnet"


def test_cli_missing_id(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, _ = longlamp_files
    preds = _write(tmp_path, "p.json", {"u1": "text"})
    out = tmp_path / "never.json"
    proc = run_cli("--predictions", str(preds), "--references", str(dataset), "--out", str(out))
    _assert_one_line_error(proc, "'u2'", str(preds))
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--metrics", "rouge1,bogus"], ["bogus", "rougeLsum"]),
        (["--benchmark", "lamp-9"], ["lamp-9", "longlamp"]),
        (["--benchmark", "lamp-4", "--metrics", "rouge1"], ["--metrics", "--benchmark"]),
        (["--reference-field", "answer"], ["field 'answer'"]),
    ],
)
def test_cli_bad_options(
    tmp_path: Path, longlamp_files: tuple[Path, Path], args: list[str], fragments: list[str]
) -> None:
    dataset, preds = longlamp_files
    out = tmp_path / "never.json"
    proc = run_cli("--predictions", str(preds), "--references", str(dataset), "--out", str(out), *args)
    _assert_one_line_error(proc, *fragments)
    assert not out.exists()


def test_cli_bad_input_files(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, _ = longlamp_files
    bad = _write(tmp_path, "bad.json", b"\xff\xfe garbage")
    out = tmp_path / "never.json"
    proc = run_cli("--predictions", str(bad), "--references", str(dataset), "--out", str(out))
    _assert_one_line_error(proc, str(bad), "UTF-8")
    proc = run_cli("--predictions", str(tmp_path / "nope.json"), "--references", str(dataset))
    _assert_one_line_error(proc, "file not found")
    proc = run_cli(
        "--predictions", str(dataset), "--references", str(dataset), "--out", str(tmp_path / "no/x.json")
    )
    _assert_one_line_error(proc, "does not exist")
    assert not out.exists()


def test_cli_existing_output_kept_on_error(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, preds = longlamp_files
    out = _write(tmp_path, "keep.json", {"old": True})
    proc = run_cli(
        "--predictions", str(preds), "--references", str(dataset), "--metrics", "nope", "--out", str(out)
    )
    _assert_one_line_error(proc, "nope")
    assert json.loads(out.read_text(encoding="utf-8")) == {"old": True}


def test_cli_warns_in_one_line_without_wordnet(tmp_path: Path, longlamp_files: tuple[Path, Path]) -> None:
    dataset, preds = longlamp_files
    out = tmp_path / "r.json"
    code = (
        "import sys, judgekit.lexical.wordnet as w; w.meteor_wordnet = lambda: None; "
        "from judgekit.cli.main import main; sys.exit(main(['lexical', *sys.argv[1:]]))"
    )
    proc = run_cli(
        "--predictions", str(preds), "--references", str(dataset), "--metrics", "meteor", "--out", str(out),
        code=code,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warning_lines = [line for line in proc.stderr.splitlines() if "WordNet" in line]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("judgekit: warning: ")
    assert json.loads(out.read_text(encoding="utf-8"))["meteor_mode"] == "exact+stem (WordNet not found)"
    assert "exact+stem" in proc.stdout


def test_cli_ctrl_c_stops_the_pool_cleanly(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group) mid-run: exit 130, one line, no output file."""
    import random
    import signal
    import time

    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("needs Linux's /proc/PID/task/TID/children to see the workers start")
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(500)]
    # Long enough to be running 0.5 s after the workers start on an idle machine (~10 s of CPU).
    rows = [{"id": str(i), "output": " ".join(rng.choices(vocab, k=600))} for i in range(3000)]
    dataset = _write(tmp_path, "big.json", rows)
    preds = _write(tmp_path, "p.json", {r["id"]: " ".join(rng.choices(vocab, k=600)) for r in rows})
    out = tmp_path / "never.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [
        sys.executable,
        "-m",
        "judgekit",
        "lexical",
        "--predictions",
        str(preds),
        "--references",
        str(dataset),
    ]
    cmd += ["--metrics", "rouge1,rougeL,bleu", "--processes", "2", "--out", str(out)]
    proc = popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:  # wait for the workers
            if children.exists() and len(children.read_text().split()) >= 2:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        assert proc.poll() is None, "finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip() == "judgekit: interrupted"
    assert not out.exists()


def test_cli_help_has_examples() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert (
        "examples:" in proc.stdout
        and "--benchmark" in proc.stdout
        and "judgekit.lexical.wordnet install" in proc.stdout
    )
