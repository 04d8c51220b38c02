"""Running the items through a process pool (fork where safe, else spawn) or in-process, with a bar."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from judgekit.errors import ConfigError
from judgekit.lexical.worker import TASKS, Config, init_worker, score_chunk, score_item, score_range, setup

# Below this much text (characters over all predictions and references) a pool costs more than it
# saves. Forked workers start in milliseconds; spawned ones re-import NLTK and reload WordNet.
_POOL_MIN_CHARS = {"fork": 100_000, "spawn": 2_000_000}


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Helper threads known not to hold locks a worker needs (workers never use tqdm).
_FORK_SAFE_THREADS = ("tqdm_monitor",)


def start_method() -> str:
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


def plan(n: int, total_chars: int, processes: int | None) -> tuple[int, str | None]:
    """(number of processes, start method or None for in-process)."""
    if processes is not None and processes < 1:
        raise ConfigError(f"processes must be at least 1, got {processes}")
    if n < 2:
        return 1, None
    method = start_method()
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


def run_tasks(
    tasks: list[tuple[str, str, tuple[str, ...]]],
    config: Config,
    workers: int,
    method: str | None,
    progress: bool,
) -> list[tuple[str, dict[str, float], tuple[str, ...]]]:
    results: list[tuple[str, dict[str, float], tuple[str, ...]]] = []
    if method is None:
        setup(config)
        with _progress_bar(len(tasks), progress) as advance:
            for task in tasks:
                results.append(score_item(task))
                advance(1)
        return results
    # Small chunks keep every core busy to the end; imap returns them in input order.
    size = max(1, min(64, math.ceil(len(tasks) / (workers * 8))))
    ctx = multiprocessing.get_context(method)
    if method == "fork":
        # Forked workers inherit the scorers, built and checked once here, and the tasks: each
        # chunk travels as a (start, stop) pair, not as text.
        setup(config)
        TASKS[:] = tasks
        work: Callable[[Any], list[Any]] = score_range
        chunks: Iterator[Any] = ((start, start + size) for start in range(0, len(tasks), size))
    else:
        work, chunks = score_chunk, _chunks(tasks, size)
    try:
        # The bar (and tqdm's monitor thread) starts only after the workers are forked.
        with (
            ctx.Pool(workers, initializer=init_worker, initargs=(config,)) as pool,
            _progress_bar(len(tasks), progress) as advance,
        ):
            for chunk in pool.imap(work, chunks):
                results.extend(chunk)
                advance(len(chunk))
    finally:
        TASKS.clear()
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
