"""Batching writes per turn of the event loop: what arrives in one turn is written together as it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def flush_at_turn_end(flush: Callable[[], None]) -> bool:
    """Run ``flush`` as the running event loop's current turn ends, or at once without a running loop.

    Returns whether it was deferred (the caller then waits for it instead of asking again)."""
    try:
        asyncio.get_running_loop().call_soon(flush)
    except RuntimeError:
        flush()
        return False
    return True
