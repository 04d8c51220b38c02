"""The run log (JSONL), appended as the run goes, so a killed or interrupted run still leaves a readable log.

Rows, in order: one ``header`` (what is known before the first call: inputs, rubric, judges, settings), then
per judgment its ``call`` rows and one ``verdict`` row as soon as it finishes, then one ``summary`` with the
totals and how the run ended (``status``: ok, failed, stopped, interrupted, error). A log without a summary
is one whose process was killed. Every text that could hold a secret goes through ``clean`` first. A write
that fails (disk full) is never silent: the rows stay buffered and the next row raises SaveFailed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic_core import to_json

from judgekit.errors import ConfigError, SaveFailed
from judgekit.run._turn import flush_at_turn_end
from judgekit.run.jobs import JobResult
from judgekit.scrub import scrub

if TYPE_CHECKING:
    from judgekit.results import ScoreFile, Totals

_ROWS_PER_WRITE = 2000  # a turn that makes more (a large cached rerun) writes them as they come, in blocks


def default_log_path(out: Path) -> Path:
    """The run log beside a score file: ``scores.json`` -> ``scores.log.jsonl``."""
    return out.with_name(out.stem + ".log.jsonl")


def result_rows(judge: str, result: JobResult, clean: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    """The call rows of one judgment, then its verdict row."""
    plan = result.job.plan
    for c in result.calls:
        yield {
            "type": "call",
            "judge": judge,
            "id": plan.item_id,
            "targets": list(plan.targets),
            "sample": result.job.sample,
            "turn": c.turn,
            "key": c.key,
            "status": c.status,
            "completion": clean(c.text) if c.text is not None else None,
            "reasoning": clean(c.reasoning) if c.reasoning is not None else None,
            "parse_error": c.parse_error,
            "tries": [clean(t) for t in c.tries],
            "latency_s": round(c.latency_s, 4),
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "reasoning_tokens": c.reasoning_tokens,
            "cost_usd": c.cost_usd,
        }
    yield {
        "type": "verdict",
        "judge": judge,
        "id": plan.item_id,
        "targets": list(plan.targets),
        "sample": result.job.sample,
        "status": "scored" if result.ok else "unscored",
        "verdicts": result.verdicts,
        "scores": result.scores,
        "method": result.method if result.ok else None,
        "reason": clean(result.reason) if result.reason else None,
    }


class RunLog:
    """An open run log. Rows are written and flushed as they come; inside an event loop, the rows of one turn
    of the loop (a cached rerun's thousands of judgments) go out together, in one write, as that turn ends."""

    def __init__(self, path: str | Path, clean: Callable[[str], str]) -> None:
        self.path = Path(path)
        self._clean = clean
        self._pending: list[bytes] = []
        self._judges: dict[str, str] = {}  # each judge's identity, redacted once
        self._flush_due = False
        self.error: OSError | None = None  # the write that failed; the log takes no more rows after it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot write the run log ({err.strerror or err})") from None

    def _write(self, rows: list[dict[str, Any]]) -> None:
        # pydantic-core's encoder: the rows json.dumps wrote (NaN too), without its spaces, 3-4x faster
        self._pending.extend(to_json(r, inf_nan_mode="constants") + b"\n" for r in rows)
        if self.error is not None:  # the run must stop: every row after a failed write says so
            raise self.failure()
        if len(self._pending) >= _ROWS_PER_WRITE:
            self.flush()
        elif not self._flush_due:
            self._flush_due = flush_at_turn_end(self._flush_deferred)

    def _flush_deferred(self) -> None:
        # As an event-loop callback, an exception would only reach asyncio's handler: the error is kept in
        # self.error instead, and the next row raises it.
        with contextlib.suppress(SaveFailed):
            self.flush()

    def failure(self) -> SaveFailed:
        """The one line that says the log failed to write and what it is missing."""
        verdicts = sum(1 for row in self._pending if row.startswith(b'{"type":"verdict"'))
        why = self.error.strerror if self.error is not None and self.error.strerror else self.error
        return SaveFailed(
            f"cannot write the run log {self.path}: {why}; {len(self._pending)} row(s) not written "
            f"({verdicts} judgment(s)), so the run stopped"
        )

    def flush(self) -> None:
        """Write the rows not yet written, in one write, and flush them to the OS; the rows leave the buffer
        only once written. Raises SaveFailed when they cannot be."""
        self._flush_due = False
        if self.error is not None:
            raise self.failure()
        if self._file is None or not self._pending:
            self._pending = []
            return
        try:
            self._file.write(scrub(b"".join(self._pending)))  # no secret of the run reaches the log
            self._file.flush()
        except OSError as err:
            self.error = err
            raise self.failure() from None
        self._pending = []

    def header(self, meta: dict[str, Any]) -> None:
        self._write([{"type": "header", "meta": meta}])

    def judgment(self, judge: str, result: JobResult) -> None:
        name = self._judges.get(judge)
        if name is None:
            name = self._judges[judge] = self._clean(judge)
        self._write(list(result_rows(name, result, self._clean)))

    def summary(self, status: str, **fields: Any) -> None:
        row: dict[str, Any] = {"type": "summary", "status": status, **fields}
        if isinstance(row.get("error"), str):
            row["error"] = self._clean(row["error"])
        self._write([row])

    def end(
        self, status: str, totals: Totals, error: str | None = None, result: ScoreFile | None = None
    ) -> None:
        """Write the summary row (how the run ended, the totals so far, the result's figures) and close."""
        fields: dict[str, Any] = {"totals": totals.model_dump()}
        if result is not None:
            fields.update(
                score=result.score,
                coverage=result.coverage.model_dump(),
                concurrency_changes=result.meta.get("concurrency_changes", []),
                score_method=result.meta.get("score_method"),
            )
        if error:
            fields["error"] = error
        try:
            self.summary(status, **fields)
        finally:
            self.close()

    def close(self) -> None:
        """Write what is left and close; raises SaveFailed (once closed) when rows could not be written."""
        try:
            if self.error is None:
                self.flush()
        finally:
            if self._file is not None:
                with contextlib.suppress(OSError):  # its buffer holds what failed to write: said already
                    self._file.close()
                self._file = None
