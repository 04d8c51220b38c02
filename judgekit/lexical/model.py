"""The lexical metrics' names, what each records about its conventions, and the report they make."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError

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
