"""Running judgments: the engine (cache first, retries, re-asks), its limiter and circuit breaker, the cache of
completions, the run log, interrupts, and the batch API driver. Nothing here knows about scores."""

__all__: list[str] = []
