"""The one dev/test split of the labelled items: seeded, and by group when asked, so that one group's items
(one document, one prompt) never straddle it."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from judgekit.errors import ConfigError, InputError


def split_ids(
    ids: Sequence[str], test_share: float, seed: int, groups: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """``(dev, test)`` ids, each in the input order. Whole groups (``groups[id]``) go to one side."""
    if not 0 < test_share < 1:
        raise ConfigError(f"--test-share must be between 0 and 1, got {test_share:g}")
    if groups is not None:
        missing = [i for i in ids if i not in groups]
        if missing:
            raise InputError(f"--group: item {missing[0]!r} has no group value")
    unit_of = {i: (groups[i] if groups is not None else i) for i in ids}
    units = sorted(set(unit_of.values()))
    if len(units) < 4:
        what = "groups" if groups is not None else "labelled items"
        raise InputError(f"only {len(units)} {what}: need at least 4 to split into dev and test")
    random.Random(seed).shuffle(units)
    n_test = min(len(units) - 2, max(1, round(test_share * len(units))))
    test_units = set(units[:n_test])
    dev = [i for i in ids if unit_of[i] not in test_units]
    test = [i for i in ids if unit_of[i] in test_units]
    return dev, test
