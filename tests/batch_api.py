"""OpenAI-compatible ``/v1/files`` and ``/v1/batches`` endpoints for the scripted server (tests/server.py).

A batch's lines are answered by the server's own script (queue, rules, default responder), exactly as live
chat completions are, but they are not logged as chat calls: ``server.batches`` is their log. How a batch
ends is scripted by ``server.batch`` (a :class:`BatchScript`, or ``"batch": {...}`` in a JSON script), read
when the batch is polled, so a test can change it while a batch runs:

- ``polls``: retrievals answered ``in_progress`` before the batch ends (0 = it ends at the first poll);
- ``outcome``: ``completed`` | ``expired`` | ``failed`` (the whole batch fails: no output at all);
- ``fail_every``: with ``N > 0``, every Nth line (the 2nd, 4th, ... for N = 2) fails with ``fail_status``
  (an error-file line with ``response.status_code``), the others succeed;
- ``done_before_end``: an expired batch answers its first N lines; the rest are ``batch_expired`` errors;
- ``create_delay``: seconds ``POST /v1/batches`` waits before answering (the batch already exists).

Output files list their lines in reverse input order (providers promise no order), so clients must match
lines by ``custom_id``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import BodyPartReader, web

if TYPE_CHECKING:
    from tests.server import ScriptedServer

Outcome = Literal["completed", "expired", "failed"]
OUTCOMES: tuple[str, ...] = ("completed", "expired", "failed")


@dataclass
class BatchScript:
    """How the server's batches progress and end (see the module docstring)."""

    polls: int = 2
    outcome: Outcome = "completed"
    fail_every: int = 0
    fail_status: int = 500
    done_before_end: int = 0
    create_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown batch outcome {self.outcome!r}; expected one of {OUTCOMES}")

    @classmethod
    def from_dict(cls, data: Any) -> BatchScript:
        if not isinstance(data, dict):
            raise ValueError("'batch' must be an object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown batch key(s): {sorted(unknown)}")
        return cls(**data)


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    lines: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    created_at: int
    status: str = "validating"
    polls: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, Any] | None = None
    completed: int = 0
    failed: int = 0
    ended_at: int | None = None
    retrievals: int = 0
    custom_ids: list[str] = field(default_factory=list)


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


class BatchAPI:
    """The files and batches of one scripted server, and the HTTP handlers that serve them."""

    def __init__(self, server: ScriptedServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        self._batches: dict[str, _Batch] = {}

    def add_routes(self, app: web.Application) -> None:
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/files", self._create_file)
            app.router.add_get(f"{prefix}/files/{{file_id}}", self._get_file)
            app.router.add_get(f"{prefix}/files/{{file_id}}/content", self._file_content)
            app.router.add_post(f"{prefix}/batches", self._create_batch)
            app.router.add_get(f"{prefix}/batches", self._list_batches)
            app.router.add_get(f"{prefix}/batches/{{batch_id}}", self._retrieve_batch)
            app.router.add_post(f"{prefix}/batches/{{batch_id}}/cancel", self._cancel_batch)
        app.router.add_get("/_batches", self._log)

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._batches.clear()

    @property
    def log(self) -> list[dict[str, Any]]:
        """One dict per batch created, oldest first: its id, status, polls, line count and results."""
        with self._lock:
            return [self._log_entry(b) for b in self._batches.values()]

    @staticmethod
    def _log_entry(b: _Batch) -> dict[str, Any]:
        return {
            "id": b.id,
            "status": b.status,
            "input_file_id": b.input_file_id,
            "lines": len(b.lines),
            "custom_ids": list(b.custom_ids),
            "retrievals": b.retrievals,
            "completed": b.completed,
            "failed": b.failed,
            "metadata": b.metadata,
        }

    def content(self, file_id: str) -> bytes:
        """The bytes of a stored file (an uploaded input file, or an output or error file)."""
        with self._lock:
            return bytes(self._files[file_id]["_content"])

    # ---- files

    def _add_file(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        with self._lock:
            file_id = f"file-scripted-{len(self._files) + 1}"
            obj = {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
                "status_details": None,
            }
            self._files[file_id] = {**obj, "_content": content}
        return obj

    async def _create_file(self, http: web.Request) -> web.Response:
        purpose, content, filename = "", b"", "upload.jsonl"
        reader = await http.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "purpose":
                purpose = (await part.read()).decode()
            elif part.name == "file":
                filename = part.filename or filename
                content = bytes(await part.read())
        if purpose != "batch" or not content:
            return web.json_response(_error_body(400, "need purpose=batch and a file"), status=400)
        return web.json_response(self._add_file(content, filename, purpose))

    def _file(self, http: web.Request) -> dict[str, Any] | None:
        with self._lock:
            return self._files.get(http.match_info["file_id"])

    async def _get_file(self, http: web.Request) -> web.Response:
        found = self._file(http)
        if found is None:
            return web.json_response(_error_body(404, "no such file"), status=404)
        return web.json_response({k: v for k, v in found.items() if not k.startswith("_")})

    async def _file_content(self, http: web.Request) -> web.Response:
        found = self._file(http)
        if found is None:
            return web.json_response(_error_body(404, "no such file"), status=404)
        return web.Response(body=found["_content"], content_type="application/octet-stream")

    # ---- batches

    async def _create_batch(self, http: web.Request) -> web.Response:
        body = await http.json()
        with self._lock:
            source = self._files.get(str(body.get("input_file_id")))
        if source is None:
            return web.json_response(_error_body(404, "no such input file"), status=404)
        try:
            lines = [json.loads(ln) for ln in source["_content"].decode().splitlines() if ln.strip()]
            ids = [str(ln["custom_id"]) for ln in lines]
            if any(
                ln.get("url") != body.get("endpoint") or not isinstance(ln.get("body"), dict) for ln in lines
            ):
                raise ValueError("every line needs url = the batch's endpoint and a body")
        except (ValueError, KeyError, TypeError) as err:
            return web.json_response(_error_body(400, f"bad input file: {err}"), status=400)
        if len(set(ids)) != len(ids):
            return web.json_response(_error_body(400, "duplicate custom_id in the input file"), status=400)
        with self._lock:
            batch = _Batch(
                id=f"batch_scripted_{len(self._batches) + 1}",
                input_file_id=source["id"],
                endpoint=str(body.get("endpoint")),
                lines=lines,
                metadata=body.get("metadata"),
                created_at=int(time.time()),
                custom_ids=ids,
            )
            self._batches[batch.id] = batch
        await asyncio.sleep(self._server.batch.create_delay)  # the batch exists before its creator hears so
        return web.json_response(self._object(batch))

    async def _list_batches(self, http: web.Request) -> web.Response:
        with self._lock:
            data = [self._object(b) for b in self._batches.values()]
        return web.json_response({"object": "list", "data": data, "has_more": False})

    async def _retrieve_batch(self, http: web.Request) -> web.Response:
        with self._lock:
            batch = self._batches.get(http.match_info["batch_id"])
        if batch is None:
            return web.json_response(_error_body(404, "no such batch"), status=404)
        script = self._server.batch
        batch.retrievals += 1
        if batch.ended_at is None:
            batch.polls += 1
            if batch.polls > script.polls:
                self._end(batch, script, script.outcome)
            else:
                batch.status = "in_progress"
                batch.completed = len(batch.lines) * batch.polls // (script.polls + 1)
        return web.json_response(self._object(batch))

    async def _cancel_batch(self, http: web.Request) -> web.Response:
        with self._lock:
            batch = self._batches.get(http.match_info["batch_id"])
        if batch is None:
            return web.json_response(_error_body(404, "no such batch"), status=404)
        if batch.ended_at is None:
            self._end(batch, self._server.batch, "cancelled")
        return web.json_response(self._object(batch))

    async def _log(self, http: web.Request) -> web.Response:
        return web.json_response(self.log)

    def _end(self, batch: _Batch, script: BatchScript, outcome: str) -> None:
        """Answer the batch's lines as the script says and write its output and error files."""
        batch.ended_at = int(time.time())
        batch.status = outcome
        if outcome == "failed":
            batch.errors = {
                "object": "list",
                "data": [
                    {"code": "scripted_failure", "message": "the batch failed", "param": None, "line": None}
                ],
            }
            batch.completed = batch.failed = 0
            return
        answered = (
            len(batch.lines) if outcome == "completed" else min(script.done_before_end, len(batch.lines))
        )
        out: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i, line in enumerate(batch.lines):
            if i >= answered:
                code = "batch_expired" if outcome == "expired" else "batch_cancelled"
                message = f"This request could not be executed before the batch was {outcome}."
                errors.append(self._result(line, i, None, {"code": code, "message": message}))
            elif script.fail_every > 0 and (i + 1) % script.fail_every == 0:
                status = script.fail_status
                body = _error_body(status, f"scripted failure of line {i + 1}")
                errors.append(self._result(line, i, {"status_code": status, "body": body}, None))
            else:
                ok, response = self._answer(line, i)
                (out if ok else errors).append(self._result(line, i, response, None))
        batch.completed, batch.failed = len(out), len(errors)
        if out:
            batch.output_file_id = self._jsonl(out[::-1], f"{batch.id}_output.jsonl")
        if errors:
            batch.error_file_id = self._jsonl(errors[::-1], f"{batch.id}_errors.jsonl")

    def _answer(self, line: dict[str, Any], index: int) -> tuple[bool, dict[str, Any]]:
        """(ok, response) for one line, from the server's queue, rules or default responder."""
        from tests.server import build_completion, error_body

        request = line["body"]
        reply, _source, _rule = self._server._next_reply(request)
        if reply.fault is not None or reply.status >= 400:
            status = reply.status if reply.status >= 400 else 500
            body = reply.error_body if reply.error_body is not None else error_body(status)
            return False, {"status_code": status, "body": body}
        completion, _first = build_completion(request, reply, index)
        return True, {"status_code": 200, "request_id": f"req_scripted_{index}", "body": completion}

    @staticmethod
    def _result(
        line: dict[str, Any], index: int, response: dict[str, Any] | None, error: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "id": f"batch_req_{index}",
            "custom_id": line["custom_id"],
            "response": response,
            "error": error,
        }

    def _jsonl(self, rows: list[dict[str, Any]], filename: str) -> str:
        content = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return str(self._add_file(content, filename, "batch_output")["id"])

    def _object(self, b: _Batch) -> dict[str, Any]:
        """The batch as OpenAI's API returns it."""
        ended = b.ended_at
        return {
            "id": b.id,
            "object": "batch",
            "endpoint": b.endpoint,
            "errors": b.errors,
            "input_file_id": b.input_file_id,
            "completion_window": "24h",
            "status": b.status,
            "output_file_id": b.output_file_id,
            "error_file_id": b.error_file_id,
            "created_at": b.created_at,
            "in_progress_at": b.created_at if b.polls else None,
            "expires_at": b.created_at + 86400,
            "finalizing_at": ended,
            "completed_at": ended if b.status == "completed" else None,
            "failed_at": ended if b.status == "failed" else None,
            "expired_at": ended if b.status == "expired" else None,
            "cancelling_at": None,
            "cancelled_at": ended if b.status == "cancelled" else None,
            "request_counts": {"total": len(b.lines), "completed": b.completed, "failed": b.failed},
            "metadata": b.metadata,
        }
