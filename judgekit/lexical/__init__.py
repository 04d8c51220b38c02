"""Lexical metrics (ROUGE, METEOR, BLEU) with the field's own libraries' results, over a process pool.

- ROUGE-1/2/L/Lsum (precision, recall, F) as Google's ``rouge-score`` computes them (the reimplementation
  of ROUGE-1.5.5 that LaMP, LongLaMP and Hugging Face ``evaluate`` use), Porter stemming on by default,
  with the reference as the target.
- METEOR as ``nltk.translate.meteor_score`` computes it on tokenised text (alpha 0.9, beta 3, gamma 0.5),
  with WordNet synonyms when NLTK finds WordNet (see :mod:`judgekit.lexical.wordnet`), otherwise exact and
  stem matches only; the report's ``meteor_mode`` says which.
- BLEU through ``nltk.translate.bleu_score.sentence_bleu`` (4-gram, uniform weights) with
  ``SmoothingFunction().method1``.

Corpus-level figures are the mean of item-level scores. Multiple references follow each library's own
convention: rouge-score's ``score_multi`` keeps, per ROUGE type, the reference with the highest F;
nltk's ``meteor_score`` keeps the highest score over references; nltk's BLEU clips n-gram counts
against all references together and uses the closest reference length.

Tokenisation for METEOR and BLEU: each text is split into sentences by NLTK's Punkt algorithm with
its default (untrained) parameters and each sentence into words by NLTK's Treebank-style
``NLTKWordTokenizer``: the same pipeline as ``nltk.word_tokenize`` except for Punkt's pretrained
English abbreviation list, which needs a download; so the result is the same on every machine.
ROUGE uses rouge-score's own tokenizer, which lower-cases and keeps only ``[a-z0-9]`` runs (as
ROUGE-1.5.5 does): text in other scripts has no ROUGE tokens, and the report notes such items.

Speed: ROUGE (``_rouge``), METEOR (``_meteor``, WordNet lemma names from ``_synonyms``) and NLTK's
word and sentence tokenizers (``_words``, ``_sentences``) run through judgekit's own implementations,
which memoise what the libraries recompute for every token (stems, synonyms, each space-separated
chunk's word tokens, Punkt's decision per context shape), compute ROUGE-L's LCS bit-parallel, read
only the lemma names from WordNet's data lines and skip tokenizer rules that cannot fire. Their
results are the libraries' exactly (equal floats; tests compare them with rouge-score and nltk called
directly), and each is used only after agreeing with its library on probe texts at start-up, else
the library itself runs. BLEU calls nltk directly. The pool's workers are forked after the parent has
built and checked the scorers, and get index ranges into the inherited items.

Modules: ``model`` (metric names, the report), ``io`` (reading predictions and references), ``metrics``
(:func:`compute_lexical`), ``worker`` (one item, in whichever process scores it), ``pool`` (the process
pool), ``correlate`` (agreement with the judge), ``format`` (terminal tables).
"""

from judgekit.lexical.correlate import correlate_with_judge
from judgekit.lexical.format import format_correlations, format_table
from judgekit.lexical.io import check_ids, load_predictions, load_references
from judgekit.lexical.metrics import WordNetMissingWarning, compute_lexical
from judgekit.lexical.model import (
    AGGREGATION,
    DEFAULT_METRICS,
    METEOR_NO_WORDNET,
    METEOR_WORDNET,
    METRIC_NAMES,
    MULTI_REFERENCE,
    ROUGE_TYPES,
    TOKENIZATION,
    LexicalReport,
    MeteorMode,
    metric_keys,
    parse_metrics,
)
from judgekit.lexical.pool import available_cpus

__all__ = [
    "AGGREGATION",
    "DEFAULT_METRICS",
    "METEOR_NO_WORDNET",
    "METEOR_WORDNET",
    "METRIC_NAMES",
    "MULTI_REFERENCE",
    "ROUGE_TYPES",
    "TOKENIZATION",
    "LexicalReport",
    "MeteorMode",
    "WordNetMissingWarning",
    "available_cpus",
    "check_ids",
    "compute_lexical",
    "correlate_with_judge",
    "format_correlations",
    "format_table",
    "load_predictions",
    "load_references",
    "metric_keys",
    "parse_metrics",
]
