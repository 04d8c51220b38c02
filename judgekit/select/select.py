"""``select()``: split, score every candidate on dev (all of it, or racing), compare, choose, and run the chosen
one, alone, on test."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, InputError
from judgekit.io import atomic_write_text, check_writable
from judgekit.select import paired
from judgekit.select.agreement import Agreement, agreement, check_metric
from judgekit.select.candidates import Candidate, load_candidates
from judgekit.select.choose import Point, choose, frontier
from judgekit.select.pairwise import position_consistency
from judgekit.select.propose import Proposer, propose
from judgekit.select.race import Race, race_dev
from judgekit.select.result import CandidateResult, Chosen, SelectResult, Split, Variant
from judgekit.select.run import Inputs, Scored, cost_per_1k, load_inputs, score_subset
from judgekit.select.split import split_ids


@dataclass
class SelectOptions:
    candidates: Path
    dataset: Path
    responses: Path | None
    human: Path
    out: Path
    metric: str = "auto"  # spearman, or accuracy for pairwise rubrics
    group: str | None = None
    test_share: float = 0.3
    budget: float | None = None
    margin: float | None = None
    race: bool = False
    seed: int = 0
    n_boot: int = 2000
    cache: str | Path | bool = True
    report: Path | None = None
    propose: int = 0
    proposer: str | None = None
    proposer_api_base: str | None = None
    proposer_api_key_env: str | None = None
    responses_a: Path | None = None
    responses_b: Path | None = None

    @property
    def variants_dir(self) -> Path:
        """Where ``--propose`` writes its rubric folders, beside ``out``."""
        return self.out.parent / f"{self.out.stem}.variants"

    @property
    def work(self) -> Path:
        """The folder of the subset files and candidate score files, beside ``out``."""
        return self.out.parent / f"{self.out.stem}.work"


@dataclass
class Prepared:
    """What the checks read once, before any judge call."""

    candidates: list[Candidate]
    inputs: Inputs
    dev: list[str]
    test: list[str]
    groups: dict[str, str] | None
    costs: dict[str, float | None] = field(default_factory=dict)
    proposer: Proposer | None = None


def prepare(opts: SelectOptions, price_dir: Path) -> Prepared:
    """Every check that can fail before a call: options, candidates, inputs, labels, split, prices, paths.
    The pricing writes its subset files under ``price_dir``."""
    for flag, value in (("--budget", opts.budget), ("--margin", opts.margin)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"{flag} must be a number of 0 or more")
    _check_paths(opts)
    candidates = load_candidates(opts.candidates)
    pairwise = _check_rubrics(candidates, opts)
    check_metric(opts.metric, opts.group)
    inputs = load_inputs(opts.dataset, opts.responses, _pair_files(opts, pairwise))
    ids, groups = _labelled(opts, inputs, pairwise)
    dev, test = split_ids(ids, opts.test_share, opts.seed, groups)
    prepared = Prepared(candidates, inputs, dev, test, groups, proposer=_proposer(opts))
    fresh = not price_dir.exists()
    try:
        prepared.costs = {c.name: cost_per_1k(c, inputs, dev, price_dir) for c in candidates}
    except BaseException:
        if fresh:  # a bad input found while pricing leaves nothing behind
            import shutil

            shutil.rmtree(price_dir, ignore_errors=True)
        raise
    return prepared


def _proposer(opts: SelectOptions) -> Proposer | None:
    """``--propose``'s proposer, checked (its model, endpoint and key) before any call."""
    import os

    from judgekit.judges.factory import JudgeOptions

    if opts.propose < 0:
        raise ConfigError("--propose must be 0 or more")
    if not opts.propose:
        if opts.proposer is not None:
            raise ConfigError("--proposer needs --propose N")
        return None
    if opts.proposer is None:
        raise ConfigError("--propose needs --proposer MODEL")
    key = None
    if opts.proposer_api_key_env:
        key = os.environ.get(opts.proposer_api_key_env)
        if not key:
            raise ConfigError(
                f"--proposer-api-key-env: environment variable {opts.proposer_api_key_env} is not set"
            )
    if opts.proposer_api_base is not None:
        from judgekit.judges.litellm_judge import check_api_base

        check_api_base(opts.proposer_api_base, "--proposer-api-base")
    return Proposer(opts.proposer, JudgeOptions(api_base=opts.proposer_api_base, api_key=key), opts.propose)


def _check_paths(opts: SelectOptions) -> None:
    named = (opts.candidates, opts.dataset, opts.responses, opts.responses_a, opts.responses_b, opts.human)
    inputs = {Path(p).resolve() for p in named if p is not None}
    outputs = (("--out", opts.out), ("--report", opts.report), ("work folder", opts.work),
               ("variants folder", opts.variants_dir))  # fmt: skip
    for flag, path in outputs:
        if path is not None and Path(path).resolve() in inputs:
            raise ConfigError(f"{flag} {path} is one of the inputs: it would be overwritten")
    if opts.report is not None and opts.report.resolve() == opts.out.resolve():
        raise ConfigError("--report and --out name the same file")
    check_writable(opts.out, "--out")
    if opts.report is not None:
        check_writable(opts.report, "--report")


def _check_rubrics(candidates: list[Candidate], opts: SelectOptions) -> bool:
    """Whether the candidates judge pairs (all or none may); resolves ``--metric auto`` and checks it fits."""
    from judgekit.rubric import load_rubric

    kinds = {c.name: load_rubric(c.rubric).pairwise for c in candidates}
    pairwise = next(iter(kinds.values()))
    for name, kind in kinds.items():
        if kind != pairwise:
            raise ConfigError(f"candidate {name!r}: pairwise and single-response rubrics cannot be compared")
    if opts.metric == "auto":
        opts.metric = "accuracy" if pairwise else "spearman"
    if pairwise and opts.metric != "accuracy":
        raise ConfigError(f"--metric {opts.metric}: pairwise rubrics are measured by accuracy")
    if not pairwise and opts.metric == "accuracy":
        raise ConfigError("--metric accuracy is for pairwise rubrics")
    if pairwise and opts.propose:
        raise ConfigError("--propose is not available for pairwise rubrics yet")
    return pairwise


def _pair_files(opts: SelectOptions, pairwise: bool) -> tuple[Path, Path] | None:
    """The inputs as ``score`` takes them: --responses, or for pairs --responses-a/-b or a pair dataset."""
    a, b = opts.responses_a, opts.responses_b
    if not pairwise:
        if a is not None or b is not None:
            raise ConfigError("--responses-a/--responses-b are for pairwise rubrics (give --responses)")
        if opts.responses is None:
            raise ConfigError("give --responses (the responses to judge)")
        return None
    if opts.responses is not None:
        raise ConfigError("pairwise rubrics compare two responses: give --responses-a and --responses-b "
                          "(or a pair dataset), not --responses")  # fmt: skip
    if (a is None) != (b is None):
        raise ConfigError("give both --responses-a and --responses-b")
    return (a, b) if a is not None and b is not None else None


def _labelled(opts: SelectOptions, inputs: Inputs, pairwise: bool) -> tuple[list[str], dict[str, str] | None]:
    """The labelled ids (label file order) and, with ``--group``, each one's group (from the labels)."""
    from judgekit.validate import load_human

    humans = load_human(opts.human, meta_fields=[opts.group] if opts.group else [], pairwise=pairwise)
    if len(humans.labels) != 1:
        raise InputError(f"{opts.human}: labels for {len(humans.labels)} dimensions; select needs one")
    ids = list(next(iter(humans.labels.values())))
    for i in ids:
        if i not in inputs.rows or i not in (inputs.pairs if inputs.pairs is not None else inputs.responses):
            where = opts.dataset if i not in inputs.rows else opts.responses
            raise InputError(f"{opts.human}: labelled id {i!r} is not in {where}")
    if opts.group is None:
        return ids, None
    groups = {}
    for i in ids:
        value = humans.meta.get(i, {}).get(opts.group)
        if value is None or value == "":
            raise InputError(f"{opts.human}: id {i!r} has no value for the --group field {opts.group!r}")
        groups[i] = str(value)
    return ids, groups


def measure(opts: SelectOptions, scored: Scored) -> Agreement:
    return agreement(scored.path, opts.human, opts.metric, opts.group, opts.n_boot, opts.seed)


async def _dev_round(opts: SelectOptions, p: Prepared) -> Race:
    """Every candidate on all of dev (the race with a single round)."""
    return await race_dev(opts, p, measure, rounds=[len(p.dev)])


def dry_run(opts: SelectOptions) -> Prepared:
    """Every check and every candidate's price on dev, with no judge call and nothing written."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="judgekit-select-") as tmp:
        return prepare(opts, Path(tmp))


async def aselect(opts: SelectOptions) -> SelectResult:
    p = prepare(opts, opts.work)
    race = await (race_dev(opts, p, measure) if opts.race else _dev_round(opts, p))
    variants = await _variants(opts, p, race) if p.proposer is not None else []
    points = {
        name: Point(a.figure.value if a.figure.value is not None else -math.inf, p.costs[name])
        for name, a in race.found.items()
        if name not in race.stopped
    }
    on_front = frontier(points)

    def diff(a: str, b: str) -> paired.Difference | None:
        return paired.difference(race.found[a], race.found[b], opts.metric, p.groups, opts.n_boot, opts.seed)

    name, reason = choose(points, opts.budget, opts.margin, diff)
    chosen_c = next(c for c in p.candidates if c.name == name)
    test_scored = await score_subset(chosen_c, p.inputs, p.test, opts.work, "test", opts.cache)
    test = measure(opts, test_scored)
    result = SelectResult(
        metric=opts.metric,
        split=Split(dev=p.dev, test=p.test, seed=opts.seed, group=opts.group),
        candidates=[_candidate_row(c, p, race, name in on_front) for c in p.candidates for name in [c.name]],
        pairs=paired.all_pairs(race.found, opts.metric, p.groups, opts.n_boot, opts.seed),
        chosen=Chosen(name=name, reason=reason, test=test.figure, score_file=str(test_scored.path)),
        settings=_settings(opts),
        race=race.summary() if opts.race else None,
        variants=variants,
    )
    atomic_write_text(opts.out, result.model_dump_json(indent=2), "\n")
    if opts.report is not None:
        from judgekit.report import write_report

        write_report([opts.out], opts.report)
    return result


async def _variants(opts: SelectOptions, p: Prepared, race: Race) -> list[Variant]:
    """Rubric variants of the best dev candidate; each valid one is scored on dev as one more candidate."""
    assert p.proposer is not None
    alive = {n: a for n, a in race.found.items() if n not in race.stopped and a.figure.value is not None}
    if not alive:
        return []
    best_name = max(alive, key=lambda n: alive[n].figure.value or -math.inf)
    best = next(c for c in p.candidates if c.name == best_name)
    variants = await propose(best, alive[best_name], p.inputs, p.proposer, opts.variants_dir)
    for v in variants:
        if not v.valid:
            continue
        c = best.model_copy(update={"name": v.name, "rubric": v.folder})
        p.candidates.append(c)
        p.costs[c.name] = cost_per_1k(c, p.inputs, p.dev, opts.work)
        scored = await score_subset(c, p.inputs, p.dev, opts.work, "dev", opts.cache)
        race.record(c.name, scored)
        race.found[c.name] = measure(opts, scored)
    return variants


def _candidate_row(c: Candidate, p: Prepared, race: Race, on_front: bool) -> CandidateResult:
    a = race.found.get(c.name)
    last = race.last.get(c.name)
    calls = race.calls.get(c.name, 0)
    totals = last.scores.totals if last else None
    cov = last.scores.coverage if last else None
    return CandidateResult(
        name=c.name,
        spec=c.model_dump(exclude={"name"}, exclude_none=True),
        dev=a.figure if a else None,
        cost_per_1k=p.costs[c.name],
        parse_rate=(1.0 - cov.ratio) if cov and cov.total else 0.0,
        stopped_after=race.stopped.get(c.name),
        on_frontier=on_front,
        calls=calls,
        calls_saved=race.saved.get(c.name, 0),
        prompt_tokens=race.tokens.get(c.name, (0, 0))[0],
        completion_tokens=race.tokens.get(c.name, (0, 0))[1],
        latency_s=(totals.wall_time_s / totals.calls) if totals and totals.calls else None,
        score_file=str(last.path) if last else None,
        position_consistency=position_consistency(last.scores)
        if last and p.inputs.pairs is not None
        else None,
    )


def _settings(opts: SelectOptions) -> dict[str, Any]:
    return {
        "candidates": str(opts.candidates),
        "dataset": str(opts.dataset),
        "responses": str(opts.responses) if opts.responses is not None else None,
        "responses_a": str(opts.responses_a) if opts.responses_a is not None else None,
        "responses_b": str(opts.responses_b) if opts.responses_b is not None else None,
        "human": str(opts.human),
        "test_share": opts.test_share,
        "budget": opts.budget,
        "margin": opts.margin,
        "race": opts.race,
        "n_boot": opts.n_boot,
        "kappa_weights": "quadratic" if opts.metric == "kappa" else None,
    }


def select(opts: SelectOptions) -> SelectResult:
    """Blocking :func:`aselect`: choose a candidate and write ``opts.out``."""
    from judgekit.run.interrupts import run_blocking

    return run_blocking(lambda: aselect(opts))
