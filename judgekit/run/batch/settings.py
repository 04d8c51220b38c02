"""How a ``--batch`` run uses the provider's batch API (kept apart so :mod:`judgekit.scoring.settings` imports no
network code)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Fallback = Literal["live", "unscored"]


class BatchSettings(BaseModel):
    """``score --batch``: poll interval, what happens to lines the batch did not answer, batch size."""

    model_config = ConfigDict(extra="forbid")

    poll: float = Field(30.0, gt=0, le=3600, description="seconds between two polls of a running batch")
    fallback: Fallback = Field(
        "live",
        description="lines that failed, or a batch that expired or failed: 'live' judges them with live "
        "calls (same retries, limiter and breaker), 'unscored' leaves them unscored with their reason",
    )
    max_lines: int = Field(
        50_000, ge=1, description="requests per batch at most (OpenAI's limit: 50,000 and 200 MB)"
    )
    max_bytes: int = Field(190_000_000, ge=1_000, description="bytes of JSONL per batch at most")
