"""The baseline of bench_lexical.py: the plain rouge-score + nltk loop a user would write, as a script.

    python benchmarks/lexical_loop.py PREDICTIONS.json REFERENCES.json OUT.json

PREDICTIONS is ``{id: text}``, REFERENCES ``{id: [text]}`` (one reference per item). Loads NLTK's
WordNet (``nltk.corpus.wordnet``, as users do), then scores every item with ROUGE-1/2/L (stemming on)
and METEOR on NLTK's Punkt + Treebank tokens, and writes ``{"items": {id: scores},
"wordnet_load_s": seconds}``. It imports nothing from judgekit.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any


def single_process_loop(
    predictions: dict[str, str], references: dict[str, list[str]], wordnet: object
) -> dict[str, dict[str, float]]:
    """One process, a plain loop calling rouge-score and nltk directly."""
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    sentences, words, porter = PunktSentenceTokenizer(), NLTKWordTokenizer(), PorterStemmer()

    def tokens(text: str) -> list[str]:
        return [tok for sent in sentences.tokenize(text) for tok in words.tokenize(sent)]

    out: dict[str, dict[str, float]] = {}
    for item_id, refs in references.items():
        prediction = predictions[item_id]
        rouge = scorer.score(refs[0], prediction)  # target first
        scores = {}
        for t in ("rouge1", "rouge2", "rougeL"):
            scores[f"{t}_p"] = float(rouge[t].precision)
            scores[f"{t}_r"] = float(rouge[t].recall)
            scores[f"{t}_f"] = float(rouge[t].fmeasure)
        scores["meteor"] = float(
            meteor_score([tokens(r) for r in refs], tokens(prediction), stemmer=porter, wordnet=wordnet)
        )
        out[item_id] = scores
    return out


def main(argv: list[str]) -> int:
    predictions_path, references_path, out_path = argv
    with open(predictions_path, encoding="utf-8") as fh:
        predictions: dict[str, str] = json.load(fh)
    with open(references_path, encoding="utf-8") as fh:
        references: dict[str, list[str]] = json.load(fh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nltk.corpus  # noqa: F401  (NLTK itself first: wordnet_load_s is the reader alone, like judgekit's)

        t0 = time.perf_counter()
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        load_s = time.perf_counter() - t0
        items = single_process_loop(predictions, references, wordnet)
    result: dict[str, Any] = {"items": items, "wordnet_load_s": load_s}
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
