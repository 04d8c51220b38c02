"""Keeping the cyclic garbage collector off a run's many long-lived objects, which form no cycles.

Planning 10,000 judgments, reading them from the cache and building their score file allocate hundreds of
thousands of objects that all stay alive until the run ends: the collector would traverse them again and
again (a quarter to a third of a cached rerun's time) and free nothing. Reference counting frees them as
usual; only cycles wait for the collector.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_runs = 0  # run_scope()s open: only inside one does collector_paused() freeze what it kept
_unfreeze = False  # whether the last run to end unfreezes (nothing was frozen when the first began)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No collection inside; after it, inside a :func:`run_scope`, what it allocated and kept is frozen, so
    turning the collector back on does not traverse it all at once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _runs:
                gc.freeze()
            gc.enable()


@contextlib.contextmanager
def run_scope() -> Iterator[None]:
    """A run: objects frozen by :func:`collector_paused` inside it go back to the collector as the last run
    open ends (unless the caller had frozen objects of its own: those stay as the caller left them)."""
    global _runs, _unfreeze
    if not _runs:
        _unfreeze = gc.get_freeze_count() == 0
    _runs += 1
    try:
        yield
    finally:
        _runs -= 1
        if not _runs and _unfreeze:
            gc.unfreeze()


def tune_for_cli() -> None:
    """Fewer, cheaper cyclic collections for this process: the modules loaded so far are frozen (never
    scanned again), and a collection waits for 10,000 new objects instead of 700. A run keeps its inputs,
    plans and results to the end, so the default thresholds rescanned them again and again: 1.4-1.9 s of
    10,000 calls against a fast server went to the collector (0.2-0.5 s now)."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
