"""compute_lexical(): score each prediction against its references and average over items."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

from judgekit.errors import InputError, where
from judgekit.lexical import model
from judgekit.lexical.io import check_ids, describe, listing
from judgekit.lexical.model import LexicalReport, MeteorMode
from judgekit.lexical.pool import plan, run_tasks
from judgekit.lexical.worker import Config

Task = tuple[str, str, tuple[str, ...]]
Result = tuple[str, dict[str, float], tuple[str, ...]]


class WordNetMissingWarning(UserWarning):
    """METEOR ran without WordNet (exact and stem matches only)."""


def compute_lexical(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    metrics: Sequence[str] | str = model.DEFAULT_METRICS,
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
    names = model.parse_metrics(metrics)
    check_ids(predictions, references)
    if not references:
        raise InputError("no items to score")
    tasks = _tasks(predictions, references)

    meteor_mode: MeteorMode | None = None
    use_wordnet = False
    if "meteor" in names:
        from judgekit.lexical.wordnet import meteor_wordnet

        use_wordnet = meteor_wordnet() is not None  # loaded here, so forked workers inherit it
        meteor_mode = model.METEOR_WORDNET if use_wordnet else model.METEOR_NO_WORDNET
        if not use_wordnet:
            warnings.warn(
                "WordNet not found: METEOR uses exact and stem matches only "
                "(fix: python -m judgekit.lexical.wordnet install)",
                WordNetMissingWarning,
                stacklevel=2,
            )
    config = Config(
        rouge_types=tuple(m for m in names if m in model.ROUGE_TYPES),
        meteor="meteor" in names,
        bleu="bleu" in names,
        stemmer=stemmer,
        use_wordnet=use_wordnet,
    )
    total_chars = sum(len(prediction) + sum(map(len, refs)) for _, prediction, refs in tasks)
    workers, method = plan(len(tasks), total_chars, processes)
    results = run_tasks(tasks, config, workers, method, progress)
    return _report(names, tasks, results, config, meteor_mode, workers)


def _tasks(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> list[Task]:
    """(id, prediction, references) per item, in the references' order; InputError for a non-text."""
    tasks: list[Task] = []
    for item_id, refs in references.items():
        prediction = predictions[item_id]
        if not isinstance(prediction, str):
            raise InputError(
                f"{where('predictions', item_id)}: expected a string, got {describe(prediction)}"
            )
        ref_list = [refs] if isinstance(refs, str) else list(refs)
        if not ref_list:
            raise InputError(f"{where('references', item_id)}: no reference text")
        for r in ref_list:
            if not isinstance(r, str):
                raise InputError(f"{where('references', item_id)}: expected strings, got {describe(r)}")
        tasks.append((item_id, prediction, tuple(ref_list)))
    return tasks


def _report(
    names: tuple[str, ...],
    tasks: list[Task],
    results: list[Result],
    config: Config,
    meteor_mode: MeteorMode | None,
    workers: int,
) -> LexicalReport:
    keys = model.metric_keys(names)
    items = {item_id: scores for item_id, scores, _ in results}
    overall = {k: math.fsum(s[k] for s in items.values()) / len(items) for k in keys}
    counts: dict[str, int] = {}
    for _, _, refs in tasks:
        counts[str(len(refs))] = counts.get(str(len(refs)), 0) + 1
    families = {"rouge" if m in model.ROUGE_TYPES else m for m in names}
    return LexicalReport(
        metrics=list(names),
        n=len(items),
        overall=overall,
        items=items,
        meteor_mode=meteor_mode,
        stemmer=config.stemmer,
        references_per_item=dict(sorted(counts.items(), key=lambda kv: int(kv[0]))),
        multi_reference={f: model.MULTI_REFERENCE[f] for f in ("rouge", "meteor", "bleu") if f in families},
        tokenization={f: model.TOKENIZATION[f] for f in ("rouge", "meteor", "bleu") if f in families},
        processes=workers,
        notes=_notes(results),
        versions=_versions(),
    )


def _notes(results: list[Result]) -> list[str]:
    """What the figures hide: empty predictions or references, text ROUGE's tokenizer cannot see."""
    flagged: dict[str, list[str]] = {}
    for item_id, _, flags in results:
        for flag in flags:
            flagged.setdefault(flag, []).append(item_id)
    notes = []
    if "empty_prediction" in flagged:
        ids = flagged["empty_prediction"]
        notes.append(f"{len(ids)} empty prediction(s), scored 0: {listing(ids)}")
    if "empty_reference" in flagged:
        ids = flagged["empty_reference"]
        notes.append(f"{len(ids)} item(s) with an empty reference: {listing(ids)}")
    if "rouge_blind" in flagged:
        ids = flagged["rouge_blind"]
        notes.append(
            f"{len(ids)} item(s) have text with no [a-z0-9] tokens, which rouge-score's tokenizer "
            f"ignores (non-Latin script?): {listing(ids)}"
        )
    return notes


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in ("rouge-score", "nltk"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out
