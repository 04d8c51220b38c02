"""Scoring the candidates on dev, in rounds of growing size (racing, Maron and Moore 1994, with bootstrap
bounds): after each round, a candidate whose paired-difference CI against the leader lies wholly below zero
(below ``-margin`` with ``--margin``) stops. A round's items include the previous round's, so the earlier
judgments come from the cache and each round only calls for its new items. Without ``--race`` there is one
round: all of dev.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from judgekit.errors import InputError
from judgekit.select import paired
from judgekit.select.agreement import Agreement
from judgekit.select.run import Scored, score_subset

if TYPE_CHECKING:
    from judgekit.select.select import Prepared, SelectOptions

FIRST_ROUND_SHARE = 1 / 8  # the first round's share of dev; each later round doubles it
FIRST_ROUND_MIN = 8


@dataclass
class Race:
    """Each candidate's last dev measurement, its score file, calls, and where it stopped."""

    rounds: list[int]  # dev items seen after each round
    n_dev: int
    found: dict[str, Agreement] = field(default_factory=dict)
    last: dict[str, Scored] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    stopped: dict[str, int] = field(default_factory=dict)
    saved: dict[str, int] = field(default_factory=dict)

    def record(self, name: str, scored: Scored) -> None:
        """Count one score run of ``name`` (its calls and tokens) and keep it as its latest."""
        t = scored.scores.totals
        self.calls[name] = self.calls.get(name, 0) + t.calls
        prev = self.tokens.get(name, (0, 0))
        self.tokens[name] = (prev[0] + t.prompt_tokens, prev[1] + t.completion_tokens)
        self.last[name] = scored

    def summary(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "stopped": dict(self.stopped),
            "calls": sum(self.calls.values()),
            "calls_saved": sum(self.saved.values()),
        }


def round_sizes(n_units: int) -> list[int]:
    """Units seen after each round: about an eighth of dev, then doubling, ending with all of it."""
    size = min(n_units, max(FIRST_ROUND_MIN, math.ceil(n_units * FIRST_ROUND_SHARE)))
    sizes = []
    while size < n_units:
        sizes.append(size)
        size *= 2
    return [*sizes, n_units]


def _order(dev: Sequence[str], groups: dict[str, str] | None, seed: int) -> list[list[str]]:
    """Dev as units (groups, or single items) in a seeded order: each round takes the next ones."""
    units: dict[str, list[str]] = {}
    for i in dev:
        units.setdefault(groups[i] if groups is not None else i, []).append(i)
    keys = sorted(units)
    random.Random(seed + 1).shuffle(keys)
    return [units[k] for k in keys]


async def race_dev(
    opts: SelectOptions,
    p: Prepared,
    measure: Callable[[SelectOptions, Scored], Agreement],
    rounds: Sequence[int] | None = None,
) -> Race:
    units = _order(p.dev, p.groups, opts.seed)
    sizes = list(rounds) if rounds is not None else round_sizes(len(units))
    sizes = [min(s, len(units)) for s in sizes]
    cache = opts.cache
    if cache is False and len(sizes) > 1:  # the rounds share judgments through a cache of their own
        cache = opts.work / "race-cache.sqlite"
    seen_at = [sum(len(u) for u in units[:s]) for s in sizes]
    race = Race(seen_at, len(p.dev))
    for k, size in enumerate(sizes):
        final = k == len(sizes) - 1
        chosen = {i for u in units[:size] for i in u}
        ids = [i for i in p.dev if i in chosen]
        for c in p.candidates:
            if c.name in race.stopped:
                continue
            scored = await score_subset(
                c, p.inputs, ids, opts.work, "dev" if final else f"round{k + 1}", cache
            )
            race.record(c.name, scored)
            try:
                race.found[c.name] = measure(opts, scored)
            except InputError:
                if final:
                    raise
                race.found.pop(c.name, None)  # too few items to measure yet: it stays in the race
        if not final:
            _drop(race, opts, p, len(ids))
    return race


def _drop(race: Race, opts: SelectOptions, p: Prepared, n_seen: int) -> None:
    """Stop every candidate whose CI against the leader lies wholly below zero (or ``-margin``)."""
    alive = {n: a for n, a in race.found.items() if n not in race.stopped and a.figure.value is not None}
    if len(alive) < 2:
        return
    leader = max(alive, key=lambda n: alive[n].figure.value or -math.inf)
    bound = -(opts.margin or 0.0)
    for name, a in alive.items():
        if name == leader:
            continue
        d = paired.difference(a, alive[leader], opts.metric, p.groups, opts.n_boot, opts.seed)
        if d is None:
            continue
        _, hi = paired.ci(d.boot)
        if hi is not None and hi < bound:
            race.stopped[name] = n_seen
            cov = race.last[name].scores.coverage
            per_item = cov.total / max(1, n_seen) * _samples(p, name)
            race.saved[name] = round(per_item * (race.n_dev - n_seen))


def _samples(p: Prepared, name: str) -> int:
    return next(c.settings.samples for c in p.candidates if c.name == name)
