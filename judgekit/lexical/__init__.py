"""Lexical metrics (ROUGE, METEOR, BLEU) with the field's own libraries' results, over a process pool.

- ROUGE-1/2/L/Lsum (precision, recall, F) as Google's ``rouge-score`` computes them (the reimplementation
  of ROUGE-1.5.5 that LaMP, LongLaMP and Hugging Face ``evaluate`` use), Porter stemming on by default,
  with the reference as the target.
- METEOR as ``nltk.translate.meteor_score`` computes it on tokenised text (alpha 0.9, beta 3, gamma 0.5),
  with WordNet synonyms when NLTK finds WordNet (see :mod:`judgekit.wordnet`), otherwise exact and
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

Speed: ROUGE (``_rouge``), METEOR (``_meteor``) and NLTK's word and sentence tokenizers (``_words``)
run through judgekit's own implementations, which memoise per word type what the libraries recompute
for every token (stems, WordNet synonyms, sentence-break decisions), compute ROUGE-L's LCS
bit-parallel and skip tokenizer rules that cannot fire. Their results are the libraries' exactly
(equal floats; tests compare them with rouge-score and nltk called directly), and each is used only
after agreeing with its library on probe texts at start-up, else the library itself runs. BLEU calls
nltk directly.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.data import read_json_or_jsonl
from judgekit.errors import ConfigError, InputError, where
from judgekit.lexical._meteor import FastMeteor, MemoStemmer
from judgekit.lexical._rouge import FastRouge
from judgekit.lexical._words import fast_word_tokenizer, memo_punkt

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
METRIC_NAMES = (*ROUGE_TYPES, "meteor", "bleu")
DEFAULT_METRICS: tuple[str, ...] = ("rouge1", "rougeL", "meteor", "bleu")
AGGREGATION = "mean of item-level scores"
MeteorMode = Literal["wordnet", "exact+stem (WordNet not found)"]
METEOR_WORDNET: MeteorMode = "wordnet"
METEOR_NO_WORDNET: MeteorMode = "exact+stem (WordNet not found)"

MULTI_REFERENCE = {
    "rouge": "rouge-score score_multi: per ROUGE type, the reference with the highest F (its P, R, F)",
    "meteor": "nltk meteor_score: the highest score over references",
    "bleu": "nltk sentence_bleu: n-grams clipped against all references, closest reference length",
}
TOKENIZATION = {
    "rouge": "rouge-score default tokenizer: lower-case, [a-z0-9]+ runs, Porter stem for tokens > 3 chars",
    "meteor": "NLTK Punkt (untrained) sentences + NLTKWordTokenizer words; METEOR lower-cases",
    "bleu": "NLTK Punkt (untrained) sentences + NLTKWordTokenizer words; case-sensitive",
}

# Below this much text (characters over all predictions and references) a pool costs more than it
# saves. Forked workers start in milliseconds; spawned ones re-import NLTK and reload WordNet.
_POOL_MIN_CHARS = {"fork": 100_000, "spawn": 2_000_000}
_MAX_LISTED = 5


class WordNetMissingWarning(UserWarning):
    """METEOR ran without WordNet (exact and stem matches only)."""


class LexicalReport(BaseModel):
    """Item-level and overall lexical metrics; ``overall`` is the mean of the item-level scores."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[str]
    n: int
    aggregation: str = AGGREGATION
    overall: dict[str, float]
    items: dict[str, dict[str, float]]
    meteor_mode: MeteorMode | None = None
    stemmer: bool = True
    references_per_item: dict[str, int] = Field(default_factory=dict)
    multi_reference: dict[str, str] = Field(default_factory=dict)
    tokenization: dict[str, str] = Field(default_factory=dict)
    processes: int = 1
    notes: list[str] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)

    def headline(self) -> list[str]:
        """The keys a summary shows and correlates: each ROUGE type's F, then METEOR and BLEU."""
        return metric_keys(self.metrics, headline=True)


# --------------------------------------------------------------------------------------------------
# metric names


def parse_metrics(spec: str | Iterable[str]) -> tuple[str, ...]:
    """``"rouge1,rougeL,meteor"`` (or a list) -> canonical names; ConfigError for an unknown name."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    canonical = {m.lower(): m for m in METRIC_NAMES}
    out: list[str] = []
    unknown: list[str] = []
    for part in parts:
        name = part.strip()
        if not name:
            continue
        match = canonical.get(name.lower())
        if match is None:
            unknown.append(name)
        elif match not in out:
            out.append(match)
    if unknown:
        raise ConfigError(
            f"unknown metric {', '.join(repr(u) for u in unknown)}; valid metrics: {', '.join(METRIC_NAMES)}"
        )
    if not out:
        raise ConfigError(f"no metrics given; valid metrics: {', '.join(METRIC_NAMES)}")
    return tuple(out)


def metric_keys(metrics: Iterable[str], *, headline: bool = False) -> list[str]:
    """Item-level keys: ``rouge1_p``, ``rouge1_r``, ``rouge1_f``, ..., ``meteor``, ``bleu``."""
    keys: list[str] = []
    for m in metrics:
        if m in ROUGE_TYPES:
            keys.extend([f"{m}_f"] if headline else [f"{m}_p", f"{m}_r", f"{m}_f"])
        else:
            keys.append(m)
    return keys


# --------------------------------------------------------------------------------------------------
# reading predictions and references


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _row_id(path: Path, row: Mapping[str, Any], index: int, id_field: str) -> str:
    if id_field not in row:
        raise InputError(f"{where(path, field=id_field)}: row {index} has no {id_field!r} field")
    value = row[id_field]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"{where(path, field=id_field)}: row {index}: expected a string id, got {_describe(value)}"
        )
    return str(value)


def _pick_field(
    path: Path, item_id: str, obj: Mapping[str, Any], field: str | None, defaults: Sequence[str]
) -> Any:
    if field is not None:
        if field not in obj:
            keys = ", ".join(repr(k) for k in list(obj)[:8])
            raise InputError(f"{where(path, item_id, field)}: missing (fields present: {keys or 'none'})")
        return obj[field]
    for name in defaults:
        if name in obj:
            return obj[name]
    keys = ", ".join(repr(k) for k in list(obj)[:8])
    wanted = " or ".join(repr(d) for d in defaults)
    option = "--prediction-field" if "prediction" in defaults else "--reference-field"
    raise InputError(
        f"{where(path, item_id)}: no {wanted} field (fields present: {keys or 'none'}); "
        f"name the field with {option}"
    )


def _texts(path: Path, item_id: str, value: Any, field: str | None, defaults: Sequence[str]) -> list[str]:
    """A value -> list of texts: a string, a list of strings, or a list of ``{field: string}``."""
    label = field or defaults[0]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if not value:
            raise InputError(f"{where(path, item_id, label)}: empty list (no text)")
        out: list[str] = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                entry = _pick_field(path, item_id, entry, field, defaults)
            if not isinstance(entry, str):
                raise InputError(
                    f"{where(path, item_id, label)}: entry {i}: expected a string, got {_describe(entry)}"
                )
            out.append(entry)
        return out
    raise InputError(
        f"{where(path, item_id, label)}: expected a string or a list of strings, got {_describe(value)}"
    )


def _load_texts(
    path: str | Path, field: str | None, defaults: Sequence[str], id_field: str
) -> dict[str, list[str]]:
    p = Path(path)
    data = read_json_or_jsonl(p)
    rows: list[Any] | None = None
    if isinstance(data, dict) and isinstance(data.get("golds"), list) and "task" in data:
        rows = data["golds"]  # LaMP / LongLaMP: {"task": ..., "golds": [{"id", "output"}]}
        if field is None:
            defaults = ("output",)
    elif isinstance(data, list):
        rows = data
    elif not isinstance(data, dict):
        raise InputError(f"{p}: expected a JSON object {{id: text}} or a list of rows, got {_describe(data)}")

    out: dict[str, list[str]] = {}
    if rows is None:
        assert isinstance(data, dict)
        for item_id, value in data.items():
            if isinstance(value, dict):
                value = _pick_field(p, item_id, value, field, defaults)
            out[item_id] = _texts(p, item_id, value, field, defaults)
    else:
        duplicates: list[str] = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise InputError(f"{p}: row {index}: expected an object, got {_describe(row)}")
            item_id = _row_id(p, row, index, id_field)
            if item_id in out:
                duplicates.append(item_id)
                continue
            out[item_id] = _texts(p, item_id, _pick_field(p, item_id, row, field, defaults), field, defaults)
        if duplicates:
            raise InputError(f"{p}: duplicate ids: {_listing(duplicates)}")
    if not out:
        raise InputError(f"{p}: no items")
    return out


def load_references(
    path: str | Path, reference_field: str | None = None, *, id_field: str = "id"
) -> dict[str, list[str]]:
    """Read references as ``{id: [text, ...]}`` (one or more references per item).

    Accepted shapes: ``{id: text}``, ``{id: [text, ...]}``, ``{id: [{"output": text}, ...]}``,
    ``{id: {"output": text}}``, a JSON list or JSONL of rows ``{"id": ..., "output": ...}`` (the
    dataset / LongLaMP layout), and LaMP's ``{"task": ..., "golds": [{"id", "output"}]}``. The text
    field is ``reference_field`` if given, else ``output``, else ``reference``.
    """
    return _load_texts(path, reference_field, ("output", "reference"), id_field)


def load_predictions(
    path: str | Path, prediction_field: str | None = None, *, id_field: str = "id"
) -> dict[str, str]:
    """Read predictions as ``{id: text}``; same shapes as :func:`load_references`.

    Where an item has a list of outputs (the LaMP-QA / judgekit response shape
    ``{id: [{"output": text}]}``), the first one is the prediction. The text field is
    ``prediction_field`` if given, else ``output``, else ``prediction``.
    """
    texts = _load_texts(path, prediction_field, ("output", "prediction"), id_field)
    return {item_id: values[0] for item_id, values in texts.items()}


def _listing(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_MAX_LISTED])
    more = len(ids) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def check_ids(
    predictions: Mapping[str, object],
    references: Mapping[str, object],
    *,
    predictions_name: str = "predictions",
    references_name: str = "references",
) -> None:
    """InputError listing a few ids that are in one mapping but not the other."""
    no_pred = [i for i in references if i not in predictions]
    no_ref = [i for i in predictions if i not in references]
    problems = []
    if no_pred:
        problems.append(
            f"{len(no_pred)} id(s) in {references_name} missing from {predictions_name}: {_listing(no_pred)}"
        )
    if no_ref:
        problems.append(
            f"{len(no_ref)} id(s) in {predictions_name} missing from {references_name}: {_listing(no_ref)}"
        )
    if problems:
        raise InputError("ids do not match: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------------
# scoring one item (runs in the worker processes, or in-process when there is no pool)


@dataclass(frozen=True)
class _Config:
    rouge_types: tuple[str, ...]
    meteor: bool
    bleu: bool
    stemmer: bool
    use_wordnet: bool


class _NoWordNet:
    """Stands in for NLTK's WordNet reader when WordNet is missing: no synsets, so no synonym stage."""

    def synsets(self, lemma: str, *args: object, **kwargs: object) -> list[object]:
        return []


_STATE: dict[str, Any] = {}


def _setup(config: _Config) -> None:
    """Build the scorers once per process (the pool's initializer; also used in-process)."""
    if _STATE.get("config") == config and _STATE.get("pid") == os.getpid():
        return
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.translate.bleu_score import SmoothingFunction

    from judgekit.wordnet import load_wordnet

    wordnet: Any = _NoWordNet()
    if config.meteor and config.use_wordnet:
        wordnet = load_wordnet()
        if wordnet is None:
            raise RuntimeError("WordNet was found by the parent process but does not load in a worker")
        if multiprocessing.parent_process() is not None:  # a child process, e.g. a pool worker
            _reopen_wordnet_files(wordnet)
    porter = PorterStemmer()
    stems = MemoStemmer(porter)
    rouge_stem = stems.stem if config.stemmer else None
    words = NLTKWordTokenizer()
    _STATE.clear()
    _STATE.update(
        pid=os.getpid(),
        config=config,
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


def _init_worker(config: _Config) -> None:
    """The pool's initializer."""
    # Ctrl-C reaches the whole process group: the parent alone handles it (leaving the pool ends
    # the workers), instead of every worker printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _setup(config)


def _reopen_wordnet_files(reader: Any) -> None:
    """Give a forked worker its own handles on WordNet's data files.

    NLTK's reader keeps the data files open and reads a synset with ``seek`` + ``readline``. A
    forked child shares the parent's open file descriptions, file offset included, so two workers
    seeking at once read each other's lines (NLTK then returns None for the synset and METEOR
    fails). Forgetting the inherited handles makes the reader open fresh ones in this process.
    """
    if isinstance(getattr(reader, "_data_file_map", None), dict):
        reader._data_file_map = {}


def _word_tokens(text: str) -> list[str]:
    words = _STATE["words"]
    return [tok for sent in _STATE["sentences"].tokenize(text) for tok in words(sent)]


_ROUGE_CHAR = re.compile("[a-z0-9]")


def _rouge_blind(text: str) -> bool:
    """True if the text has letters or digits but none that ROUGE's [a-z0-9] tokenizer keeps."""
    return _ROUGE_CHAR.search(text.lower()) is None and any(ch.isalnum() for ch in text)


def _score_item(task: tuple[str, str, tuple[str, ...]]) -> tuple[str, dict[str, float], tuple[str, ...]]:
    from nltk.translate.bleu_score import sentence_bleu

    item_id, prediction, references = task
    config: _Config = _STATE["config"]
    scores: dict[str, float] = {}
    flags: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.rouge_types:
            result = _STATE["rouge"].score_multi(list(references), prediction)  # targets first
            for rouge_type in config.rouge_types:
                s = result[rouge_type]
                scores[f"{rouge_type}_p"] = float(s.precision)
                scores[f"{rouge_type}_r"] = float(s.recall)
                scores[f"{rouge_type}_f"] = float(s.fmeasure)
            if _rouge_blind(prediction) or any(_rouge_blind(r) for r in references):
                flags.append("rouge_blind")
        if config.meteor or config.bleu:
            hyp = _word_tokens(prediction)
            refs = [_word_tokens(r) for r in references]
            if config.meteor:
                scores["meteor"] = float(_STATE["meteor"](refs, hyp))
            if config.bleu:
                scores["bleu"] = float(sentence_bleu(refs, hyp, smoothing_function=_STATE["smoothing"]))
    if not prediction.strip():
        flags.append("empty_prediction")
    if any(not r.strip() for r in references):
        flags.append("empty_reference")
    return item_id, scores, tuple(flags)


def _score_chunk(
    tasks: Sequence[tuple[str, str, tuple[str, ...]]],
) -> list[tuple[str, dict[str, float], tuple[str, ...]]]:
    return [_score_item(t) for t in tasks]


# --------------------------------------------------------------------------------------------------
# the pool


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Helper threads known not to hold locks a worker needs (workers never use tqdm).
_FORK_SAFE_THREADS = ("tqdm_monitor",)


def _start_method() -> str:
    """fork where it is safe (POSIX, no other threads): workers inherit loaded WordNet; else spawn."""
    methods = multiprocessing.get_all_start_methods()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if (
        "fork" in methods
        and sys.platform != "darwin"
        and threading.current_thread() is threading.main_thread()
        and all(t.name in _FORK_SAFE_THREADS for t in others)
    ):
        return "fork"
    return "spawn"


def _plan(n: int, total_chars: int, processes: int | None) -> tuple[int, str | None]:
    """(number of processes, start method or None for in-process)."""
    if processes is not None and processes < 1:
        raise ConfigError(f"processes must be at least 1, got {processes}")
    if n < 2:
        return 1, None
    method = _start_method()
    if processes is None:
        workers = min(available_cpus(), n)
        if workers < 2 or total_chars < _POOL_MIN_CHARS[method]:
            return 1, None
        return workers, method
    workers = min(processes, n)
    return (workers, method) if workers > 1 else (1, None)


def _chunks(tasks: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(tasks), size):
        yield tasks[start : start + size]


def _run(
    tasks: list[tuple[str, str, tuple[str, ...]]],
    config: _Config,
    workers: int,
    method: str | None,
    progress: bool,
) -> list[tuple[str, dict[str, float], tuple[str, ...]]]:
    results: list[tuple[str, dict[str, float], tuple[str, ...]]] = []
    if method is None:
        _setup(config)
        with _progress_bar(len(tasks), progress) as advance:
            for task in tasks:
                results.append(_score_item(task))
                advance(1)
        return results
    # Small chunks keep every core busy to the end; imap returns them in input order.
    size = max(1, min(64, math.ceil(len(tasks) / (workers * 8))))
    ctx = multiprocessing.get_context(method)
    # The bar (and tqdm's monitor thread) starts only after the workers are forked.
    with (
        ctx.Pool(workers, initializer=_init_worker, initargs=(config,)) as pool,
        _progress_bar(len(tasks), progress) as advance,
    ):
        for chunk in pool.imap(_score_chunk, _chunks(tasks, size)):
            results.extend(chunk)
            advance(len(chunk))
    return results


@contextlib.contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[int], object]]:
    """A tqdm bar on stderr, or a no-op: a disabled tqdm bar still starts a monitor thread."""
    if not enabled:
        yield lambda n: None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc="lexical", unit="item", file=sys.stderr)
    try:
        yield bar.update
    finally:
        bar.close()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in ("rouge-score", "nltk"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def compute_lexical(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    *,
    stemmer: bool = True,
    processes: int | None = None,
    progress: bool = False,
) -> LexicalReport:
    """Score each prediction against its reference(s) and average over items.

    ``predictions`` maps id -> text, ``references`` maps id -> list of reference texts (one or more);
    the ids must match exactly (InputError listing the differences). ``metrics`` are names from
    :data:`METRIC_NAMES` (or a comma-separated string). ``processes``: None picks all CPUs when
    the input is large enough to gain from a pool, 1 scores in-process, N uses N worker processes.
    Results are identical whichever is used. ``stemmer`` is rouge-score's ``use_stemmer`` (METEOR
    always uses its Porter stem stage). Without WordNet, METEOR runs on exact and stem matches and
    a :class:`WordNetMissingWarning` is issued; ``report.meteor_mode`` records the mode.
    """
    names = parse_metrics(metrics)
    check_ids(predictions, references)
    if not references:
        raise InputError("no items to score")
    tasks: list[tuple[str, str, tuple[str, ...]]] = []
    total_chars = 0
    for item_id, refs in references.items():
        prediction = predictions[item_id]
        if not isinstance(prediction, str):
            raise InputError(
                f"{where('predictions', item_id)}: expected a string, got {_describe(prediction)}"
            )
        ref_list = [refs] if isinstance(refs, str) else list(refs)
        if not ref_list:
            raise InputError(f"{where('references', item_id)}: no reference text")
        for r in ref_list:
            if not isinstance(r, str):
                raise InputError(f"{where('references', item_id)}: expected strings, got {_describe(r)}")
        tasks.append((item_id, prediction, tuple(ref_list)))
        total_chars += len(prediction) + sum(len(r) for r in ref_list)

    meteor_mode: MeteorMode | None = None
    use_wordnet = False
    if "meteor" in names:
        from judgekit.wordnet import load_wordnet

        use_wordnet = load_wordnet() is not None  # loaded here, so forked workers inherit it
        meteor_mode = METEOR_WORDNET if use_wordnet else METEOR_NO_WORDNET
        if not use_wordnet:
            warnings.warn(
                "WordNet not found: METEOR uses exact and stem matches only "
                "(fix: python -m judgekit.wordnet install)",
                WordNetMissingWarning,
                stacklevel=2,
            )
    config = _Config(
        rouge_types=tuple(m for m in names if m in ROUGE_TYPES),
        meteor="meteor" in names,
        bleu="bleu" in names,
        stemmer=stemmer,
        use_wordnet=use_wordnet,
    )
    workers, method = _plan(len(tasks), total_chars, processes)
    results = _run(tasks, config, workers, method, progress)

    keys = metric_keys(names)
    items = {item_id: scores for item_id, scores, _ in results}
    overall = {k: math.fsum(s[k] for s in items.values()) / len(items) for k in keys}
    flagged: dict[str, list[str]] = {}
    for item_id, _, flags in results:
        for flag in flags:
            flagged.setdefault(flag, []).append(item_id)
    notes = []
    if "empty_prediction" in flagged:
        ids = flagged["empty_prediction"]
        notes.append(f"{len(ids)} empty prediction(s), scored 0: {_listing(ids)}")
    if "empty_reference" in flagged:
        ids = flagged["empty_reference"]
        notes.append(f"{len(ids)} item(s) with an empty reference: {_listing(ids)}")
    if "rouge_blind" in flagged:
        ids = flagged["rouge_blind"]
        notes.append(
            f"{len(ids)} item(s) have text with no [a-z0-9] tokens, which rouge-score's tokenizer "
            f"ignores (non-Latin script?): {_listing(ids)}"
        )
    counts: dict[str, int] = {}
    for _, _, refs in tasks:
        counts[str(len(refs))] = counts.get(str(len(refs)), 0) + 1
    families = {"rouge" if m in ROUGE_TYPES else m for m in names}
    return LexicalReport(
        metrics=list(names),
        n=len(items),
        overall=overall,
        items=items,
        meteor_mode=meteor_mode,
        stemmer=stemmer,
        references_per_item=dict(sorted(counts.items(), key=lambda kv: int(kv[0]))),
        multi_reference={f: MULTI_REFERENCE[f] for f in ("rouge", "meteor", "bleu") if f in families},
        tokenization={f: TOKENIZATION[f] for f in ("rouge", "meteor", "bleu") if f in families},
        processes=workers,
        notes=notes,
        versions=_versions(),
    )


# --------------------------------------------------------------------------------------------------
# agreement with the judge


def correlate_with_judge(
    report: LexicalReport,
    judge_scores: Mapping[str, float | None],
    metrics: Sequence[str] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Spearman rho and Kendall tau (scipy, tau-b) between each lexical metric and the judge score.

    Computed across the ids present in both, skipping judge scores that are None or NaN. Returns
    ``{metric_key: {"spearman", "spearman_p", "kendall", "kendall_p", "n"}}`` for the headline keys
    (each ROUGE type's F, METEOR, BLEU) unless ``metrics`` lists item keys. A coefficient is None
    when fewer than 3 pairs remain or either side is constant.
    """
    from scipy import stats

    keys = list(metrics) if metrics is not None else report.headline()
    ids = [
        i
        for i in report.items
        if i in judge_scores and judge_scores[i] is not None and not math.isnan(float(judge_scores[i]))  # type: ignore[arg-type]
    ]
    judge = [float(judge_scores[i]) for i in ids]  # type: ignore[arg-type]
    out: dict[str, dict[str, float | None]] = {}
    for key in keys:
        values = [report.items[i][key] for i in ids if key in report.items[i]]
        entry: dict[str, float | None] = {
            "spearman": None,
            "spearman_p": None,
            "kendall": None,
            "kendall_p": None,
            "n": len(values),
        }
        if len(values) == len(ids) and len(ids) >= 3 and len(set(values)) > 1 and len(set(judge)) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = stats.spearmanr(values, judge)
                tau = stats.kendalltau(values, judge)
            entry["spearman"] = _finite(rho.statistic)
            entry["spearman_p"] = _finite(rho.pvalue)
            entry["kendall"] = _finite(tau.statistic)
            entry["kendall_p"] = _finite(tau.pvalue)
        out[key] = entry
    return out


def _finite(x: Any) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# presentation


def format_table(report: LexicalReport) -> str:
    """A readable overall table: one row per metric, P / R / F for ROUGE."""
    mode = f", METEOR: {report.meteor_mode}" if report.meteor_mode else ""
    lines = [
        f"{report.n} items; {report.aggregation}; stemming {'on' if report.stemmer else 'off'}{mode}",
        f"{'metric':<11}{'P':>9}{'R':>9}{'F / score':>11}",
    ]
    for m in report.metrics:
        if m in ROUGE_TYPES:
            p, r, f = (report.overall[f"{m}_{x}"] for x in "prf")
            lines.append(f"{m:<11}{p:>9.4f}{r:>9.4f}{f:>11.4f}")
        else:
            lines.append(f"{m:<11}{'':>9}{'':>9}{report.overall[m]:>11.4f}")
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)


def format_correlations(correlations: Mapping[str, Mapping[str, float | None]]) -> str:
    """Spearman / Kendall table (lexical metric vs judge score)."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [f"{'metric':<11}{'n':>6}{'spearman':>10}{'p':>8}{'kendall':>9}{'p':>8}"]
    for key, c in correlations.items():
        n = c.get("n")
        lines.append(
            f"{key:<11}{int(n or 0):>6}{num(c.get('spearman')):>10}{num(c.get('spearman_p')):>8}"
            f"{num(c.get('kendall')):>9}{num(c.get('kendall_p')):>8}"
        )
    return "\n".join(lines)
