"""``probe()``: re-judge a sample of questions under counterfactual edits and measure each effect with a CI.

Every run goes through :func:`judgekit.scoring.core.ascore` (same engine, same cache), on inputs written to a
temporary folder. An effect is the mean over units (question x aspect) of the paired difference
``edited - original`` on the rubric's scale, with a seeded percentile bootstrap CI and a two-sided sign-flip
permutation p-value. Units unscored in either run are left out and counted.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judgekit.data.inputs import read_json_or_jsonl
from judgekit.errors import ConfigError, InputError
from judgekit.judges.panel_spec import JudgeSpec
from judgekit.probe import self_check as probe_self
from judgekit.probe.self_check import check_self_options, self_units
from judgekit.results import ScoreFile
from judgekit.rubric import Rubric
from judgekit.rubric.load import builtin_rubrics_dir
from judgekit.scoring.core import ascore
from judgekit.scoring.inputs import RunInputs, load_inputs
from judgekit.scoring.settings import ScoreSettings
from judgekit.stats.paired import bootstrap_means, sign_flip_means
from judgekit.stats.resampling import percentile_ci
from judgekit.yamlfile import read_mapping, validate

PROBES = ("verbosity", "aspect_order", "position", "injection", "self")
TEST = "two-sided sign-flip permutation test of the mean difference (exact when 2^n <= resamples)"


class ProbeTexts(BaseModel):
    """The sentences the edits add (``rubrics/_probes.yaml``; ``--probe-texts`` overrides it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    filler: list[str] = Field(min_length=1, description="content-free sentences for the verbosity probe")
    padding_ratio: float = Field(1.0, gt=0, le=20, description="padding length / response length")
    injection: list[str] = Field(min_length=1, description="sentences claiming the top score")


def load_probe_texts(path: str | Path | None = None) -> ProbeTexts:
    p = Path(path) if path is not None else builtin_rubrics_dir() / "_probes.yaml"
    texts = validate(p, ProbeTexts, read_mapping(p, "a probe texts file"))
    if any(not s.strip() for s in [*texts.filler, *texts.injection]):
        raise ConfigError(f"{p}: filler and injection sentences must not be empty")
    return texts


@dataclass
class Effect:
    """One probe's result: the mean paired difference with its CI and p-value."""

    name: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int
    unscored: int
    definition: str
    not_applicable: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(row.pop("extra"))
        return row


def effect_stats(
    diffs: Sequence[float], *, resamples: int, seed: int, level: float = 0.95
) -> tuple[float | None, float | None, float | None, float | None]:
    """``(mean, ci_low, ci_high, p)``: percentile bootstrap CI of the mean (units drawn with replacement,
    :func:`judgekit.stats.paired.bootstrap_means`) and a two-sided sign-flip p-value."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return None, None, None, None
    mean = float(d.mean())
    lo = hi = None
    if resamples > 0:
        lo, hi, _ = percentile_ci(bootstrap_means(d, resamples, seed), level)
    return mean, lo, hi, sign_flip_p(d, resamples=resamples, seed=seed)


def sign_flip_p(d: np.ndarray[Any, np.dtype[np.float64]], *, resamples: int, seed: int) -> float:
    """Two-sided sign-flip permutation p-value of the mean of ``d`` (exact when 2^n <= resamples)."""
    mean = float(d.mean())
    flipped, exact = sign_flip_means(d, max(resamples, 10_000), seed)
    eps = 1e-9 * max(1.0, float(np.abs(d).max()))
    hits = int(np.count_nonzero(np.abs(flipped) >= abs(mean) - eps))
    p = hits / flipped.size if exact else (1 + hits) / (flipped.size + 1)
    return min(1.0, p)


@dataclass
class _Inputs:
    rubric: Rubric
    rows: list[dict[str, Any]]
    answers: dict[str, Any]
    aspects_field: str | None


def _sample_rows(path: str | Path, ids: list[str], sample: int | None, seed: int) -> list[dict[str, Any]]:
    raw = read_json_or_jsonl(path)
    if not isinstance(raw, list):
        raise InputError(f"{path}: probe needs a dataset that is a JSON list (or JSON Lines) of rows")
    rows = [r for r in raw if isinstance(r, dict)]
    if all("id" in r for r in rows):
        by_id = {str(r["id"]): r for r in rows}
    elif len(rows) == len(
        ids
    ):  # no ids in the file (LLMBar, AlpacaEval): its rows in order, ids made explicit
        by_id = {i: {**r, "id": i} for i, r in zip(ids, rows, strict=True)}
    else:
        raise InputError(f"{path}: probe needs one row per item, each with an 'id' or none of them with one")
    chosen = list(range(len(ids)))
    if sample is not None and sample < len(ids):
        chosen = sorted(np.random.default_rng(seed).choice(len(ids), size=sample, replace=False).tolist())
    return [by_id[ids[k]] for k in chosen]


def _pad(text: str, texts: ProbeTexts, rng: np.random.Generator) -> str:
    added: list[str] = []
    target = texts.padding_ratio * len(text)
    while not added or sum(len(s) + 1 for s in added) < target:
        added.append(texts.filler[int(rng.integers(len(texts.filler)))])
    return text.rstrip() + "\n\n" + " ".join(added)


def _inject(text: str, texts: ProbeTexts, rng: np.random.Generator) -> str:
    return text.rstrip() + "\n\n" + texts.injection[int(rng.integers(len(texts.injection)))]


Unit = dict[str, Any]


def _unit_scores(sf: ScoreFile) -> dict[str, list[tuple[str, float | None]]]:
    return {q.id: [(a.aspect, a.score) for a in q.details] for q in sf.per_question_scores}


def _paired(
    orig: dict[str, list[tuple[str, float | None]]],
    edited: dict[str, list[tuple[str, float | None]]],
    order: dict[str, list[int]],
) -> list[Unit]:
    """One row per unit (edited unit ``j`` is original unit ``order[id][j]``); ``diff`` None when unscored."""
    units: list[Unit] = []
    for qid, scores in edited.items():
        for j, (aspect, s) in enumerate(scores):
            o = orig[qid][order[qid][j] if qid in order else j][1]
            diff = None if s is None or o is None else s - o
            units.append({"id": qid, "aspect": aspect, "original": o, "edited": s, "diff": diff})
    return units


async def aprobe(
    dataset: str | Path,
    responses: str | Path | None = None,
    *,
    responses_a: str | Path | None = None,
    responses_b: str | Path | None = None,
    judge: JudgeSpec | Sequence[JudgeSpec] = "local",
    settings: ScoreSettings | None = None,
    probes: Sequence[str] = ("verbosity", "injection"),
    sample: int | None = None,
    seed: int = 0,
    bootstrap: int = 2000,
    texts: ProbeTexts | None = None,
    cache: str | Path | bool = True,
    self_model: str | None = None,
    self_responses: str | Path | None = None,
    reference_judge: JudgeSpec | None = None,
) -> dict[str, Any]:
    """Run ``probes`` on ``sample`` questions (seeded; all when ``None``); returns ``{"probes", "meta"}``.

    The ``self`` probe needs ``self_model`` (the judge's spec), ``self_responses`` (that model's responses to
    the dataset; ``responses`` are the other system's) and ``reference_judge``."""
    inputs = RunInputs.of(
        dataset=dataset, responses=responses, responses_a=responses_a, responses_b=responses_b,
        judge=judge, settings=settings, cache=cache,
    )  # fmt: skip
    settings = inputs.settings
    texts = texts or load_probe_texts()
    rubric = inputs.rubric()
    _check_probes(probes, rubric)
    check_self_options(probes, judge, self_model, self_responses, reference_judge)
    items, answers, _ = inputs.load(rubric)
    own = load_inputs(rubric, settings, dataset, self_responses, None, None)[1] if self_responses else {}
    if sample is not None and sample < 1:
        raise ConfigError("--sample: must be at least 1")
    rows = _sample_rows(dataset, [it.id for it in items], sample, seed)
    with tempfile.TemporaryDirectory(prefix="judgekit-probe-") as tmp:
        prober = _Prober(
            Path(tmp), rubric, rows, answers, judge, settings, cache, texts, seed, bootstrap,
            pairs_in_dataset=responses_a is None,
        )  # fmt: skip
        prober.own_answers, prober.reference_judge = own, reference_judge
        results = [await prober.probe(name) for name in probes]
    runs = prober.runs
    return {
        "probes": [e.to_json() for e in results],
        "meta": {
            "rubric": rubric.name,
            "judge": runs[0].meta.get("judge", {}).get("identity") if runs else None,
            "calls": sum(r.totals.calls for r in runs),
            "cache_hits": sum(r.totals.cache_hits for r in runs),
            "mode": settings.mode or rubric.spec.mode,
            "questions": len(rows),
            "questions_available": len(items),
            "sample": sample,
            "seed": seed,
            "bootstrap": bootstrap,
            "ci": "95% percentile bootstrap over units, paired",
            "test": TEST,
            "texts": texts.model_dump(),
        },
    }


def _check_probes(probes: Sequence[str], rubric: Rubric) -> None:
    unknown = [p for p in probes if p not in PROBES]
    if unknown or not probes:
        raise ConfigError(
            f"--probes: unknown probe {unknown[0] if unknown else ''!r}; choose from {', '.join(PROBES)}"
        )
    for name in probes:
        if name == "position" and not rubric.pairwise:
            raise ConfigError(
                f"probe 'position' needs a pairwise rubric; {rubric.name!r} judges one response"
            )
        if name in ("verbosity", "injection", "self") and rubric.pairwise:
            raise ConfigError(
                f"probe {name!r} edits one response per item; rubric {rubric.name!r} judges pairs"
            )
        if name == "aspect_order" and "all_aspects" not in rubric.spec.modes:
            raise ConfigError(
                f"probe 'aspect_order' needs a rubric with an all_aspects mode; {rubric.name!r} has none"
            )


class _Prober:
    """One probe session: the sampled rows written once, every run through ``ascore`` (same engine and
    cache as ``score``), the original run shared by the probes that edit responses."""

    def __init__(
        self,
        folder: Path,
        rubric: Rubric,
        rows: list[dict[str, Any]],
        answers: dict[str, Any],
        judge: JudgeSpec | Sequence[JudgeSpec],
        settings: ScoreSettings,
        cache: str | Path | bool,
        texts: ProbeTexts,
        seed: int,
        bootstrap: int,
        *,
        pairs_in_dataset: bool,
    ) -> None:
        self.folder, self.rubric, self.rows, self.answers = folder, rubric, rows, answers
        self.judge, self.settings, self.cache, self.texts = judge, settings, cache, texts
        self.seed, self.bootstrap, self.pairs_in_dataset = seed, bootstrap, pairs_in_dataset
        self.ids = [str(r["id"]) for r in rows]
        self.runs: list[ScoreFile] = []
        self.data_path = self._write("dataset.json", rows)
        self._original: ScoreFile | None = None
        self.own_answers: dict[str, Any] = {}
        self.reference_judge: JudgeSpec | None = None

    def _write(self, name: str, data: Any) -> Path:
        path = self.folder / name
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    async def _run(
        self,
        data: Path,
        answers_of: dict[str, Any] | None,
        settings: ScoreSettings | None = None,
        judge: JudgeSpec | None = None,
    ) -> ScoreFile:
        settings = settings or self.settings
        common: dict[str, Any] = {"judge": judge or self.judge, "settings": settings, "cache": self.cache}
        if self.rubric.pairwise and self.pairs_in_dataset:
            sf = await ascore(data, **common)
        elif self.rubric.pairwise:
            a = self._write("a.json", {i: self.answers[i]["a"] for i in self.ids})
            b = self._write("b.json", {i: self.answers[i]["b"] for i in self.ids})
            sf = await ascore(data, responses_a=a, responses_b=b, **common)
        else:
            resp = self._write("responses.json", answers_of or {i: self.answers[i] for i in self.ids})
            sf = await ascore(data, resp, **common)
        self.runs.append(sf)
        return sf

    async def probe(self, name: str) -> Effect:
        rng = np.random.default_rng(self.seed)
        if name in ("verbosity", "injection"):
            return await self._edited_response(name, rng)
        if name == "aspect_order":
            return await self._aspect_order(rng)
        if name == "self":
            return await self._self_preference()
        return await self._position()

    async def _self_preference(self) -> Effect:
        """Four runs: the judge and the reference judge, each on the own and the other responses."""
        assert self.reference_judge is not None
        self._original = self._original or await self._run(self.data_path, None)
        own = {i: self.own_answers[i] for i in self.ids}
        self_own = await self._run(self.data_path, own)
        ref_other = await self._run(self.data_path, None, judge=self.reference_judge)
        ref_own = await self._run(self.data_path, own, judge=self.reference_judge)
        units = self_units(self_own, self._original, ref_own, ref_other)
        eff = _effect("self", units, probe_self.DEFINITION, self.bootstrap, self.seed)
        scored = [u for u in units if u["diff"] is not None]
        eff.ci_low, eff.ci_high = probe_self.question_bootstrap_ci(
            [u["id"] for u in scored], [u["diff"] for u in scored], resamples=self.bootstrap, seed=self.seed
        )
        eff.extra.update(
            ci=probe_self.CI,
            mean_d_own=float(np.mean([u["d_own"] for u in scored])) if scored else None,
            mean_d_other=float(np.mean([u["d_other"] for u in scored])) if scored else None,
            self_judge=self._original.meta.get("judge", {}).get("identity"),
            reference_judge=ref_own.meta.get("judge", {}).get("identity"),
        )
        return eff

    async def _edited_response(self, name: str, rng: np.random.Generator) -> Effect:
        self._original = self._original or await self._run(self.data_path, None)
        edit = _pad if name == "verbosity" else _inject
        edited_answers = {i: edit(self.answers[i], self.texts, rng) for i in self.ids}
        edited = await self._run(self.data_path, edited_answers)
        units = _paired(_unit_scores(self._original), _unit_scores(edited), {})
        what = (
            "padded with content-free sentences"
            if name == "verbosity"
            else "with an injected top-score claim"
        )
        return _effect(name, units, f"score of the response {what} - original", self.bootstrap, self.seed)

    async def _aspect_order(self, rng: np.random.Generator) -> Effect:
        all_settings = self.settings.model_copy(update={"mode": "all_aspects"})
        field_name = self.rubric.spec.inputs.aspects or "rubric_aspects"
        orders: dict[str, list[int]] = {}
        permuted_rows = []
        for row in self.rows:
            n = len(row.get(field_name) or [])
            perm = rng.permutation(n).tolist()
            if n > 1 and perm == list(range(n)):
                perm = perm[1:] + perm[:1]
            orders[str(row["id"])] = perm
            permuted_rows.append({**row, field_name: [row[field_name][k] for k in perm]})
        base = await self._run(self.data_path, None, all_settings)
        edited = await self._run(self._write("permuted.json", permuted_rows), None, all_settings)
        single = {q for q, perm in orders.items() if len(perm) < 2}
        units = _paired(
            _unit_scores(base), {q: s for q, s in _unit_scores(edited).items() if q not in single}, orders
        )
        eff = _effect(
            "aspect_order",
            units,
            "aspect score with the aspect list permuted - unpermuted (all_aspects mode)",
            self.bootstrap,
            self.seed,
        )
        eff.not_applicable = sum(len(_unit_scores(base)[q]) for q in single)
        return eff

    async def _position(self) -> Effect:
        sf = await self._run(self.data_path, None)
        units = _position_units(sf, self.rubric)
        eff = _effect(
            "position", units, "A's score shown first - A's score shown second", self.bootstrap, self.seed
        )
        if sf.pairwise is not None and "position_consistency" in sf.pairwise:
            eff.extra["position_consistency"] = sf.pairwise["position_consistency"]
        return eff


def _position_units(sf: ScoreFile, rubric: Rubric) -> list[Unit]:
    """Per pair, A's score shown first (the original order's score as written: the first shown wins high)
    and A's score shown second (the swapped order's score reflected on the scale)."""
    lo, hi = rubric.spec.scale.min, rubric.spec.scale.max
    units: list[Unit] = []
    for q in sf.per_question_scores:
        by = {a.aspect: a.score for a in q.details}
        first, swapped = by.get("original"), by.get("swapped")
        second = None if swapped is None else lo + hi - swapped
        diff = None if first is None or second is None else first - second
        units.append({"id": q.id, "aspect": "pair", "original": second, "edited": first, "diff": diff})
    return units


def _effect(name: str, units: list[Unit], definition: str, bootstrap: int, seed: int) -> Effect:
    diffs = [u["diff"] for u in units if u["diff"] is not None]
    mean, lo, hi, p = effect_stats(diffs, resamples=bootstrap, seed=seed)
    effect = Effect(name, mean, lo, hi, p, len(diffs), len(units) - len(diffs), definition)
    effect.extra["units"] = units
    return effect


def _num(v: float | None, signed: bool = True) -> str:
    return "n/a" if v is None else (f"{v:+.4f}" if signed else f"{v:.4f}")


def terminal_lines(result: dict[str, Any]) -> list[str]:
    """The effects as a table: one row per probe."""
    lines = [f"{'probe':<14}{'effect':>9}  {'95% CI':<21}{'p':>8}{'n':>7}{'unscored':>10}"]
    for e in result["probes"]:
        ci = f"[{_num(e['ci_low'])}, {_num(e['ci_high'])}]"
        p = "n/a" if e["p"] is None else f"{e['p']:.4g}"
        lines.append(f"{e['name']:<14}{_num(e['effect']):>9}  {ci:<21}{p:>8}{e['n']:>7}{e['unscored']:>10}")
    m = result["meta"]
    lines.append(
        f"{m['questions']} of {m['questions_available']} questions; {m['calls']} judge calls, "
        f"{m['cache_hits']} cache hits; p: sign-flip permutation test, two-sided"
    )
    return lines
