"""The labelling server (aiohttp.web): the page, its assets, and a small JSON API that hands out one item at a
time and appends each submit to the labels file before answering.

Every path starts with the run's secret token (``/TOKEN/...``), so the page's relative URLs carry it and any
request without it gets 403, ``GET /`` included. POSTs must come from the page's own origin and carry JSON;
the Host header must name the address the server listens on (no DNS rebinding).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from judgekit.label.queue import Queue
from judgekit.label.task import LabelTask, first_shown

ASSETS = {"label.js": "text/javascript", "label.css": "text/css", "index.html": "text/html"}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'none'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


@dataclass
class Session:
    """One annotator's run: the task, their queue, and what they submitted (for undo)."""

    task: LabelTask
    queue: Queue
    seed: int
    probability: dict[str, float]
    judge: dict[str, Any] | None  # item id -> the judge's score and answer, with --show-judge
    token: str
    hosts: frozenset[str]  # Host header values the server answers to
    submits: list[int] = field(default_factory=list)  # positions, newest last

    def state(self) -> dict[str, Any]:
        return {
            **self.task.describe(),
            "annotator": self.queue.annotator,
            "total": len(self.queue.order),
            "show_judge": self.judge is not None,
        }

    def item(self, pos: int | None) -> dict[str, Any]:
        """The page's view of position ``pos`` (None: nothing left to label)."""
        progress = self.queue.progress()
        if pos is None:
            return {"done": True, "progress": progress}
        item_id = self.queue.order[pos]
        first = first_shown(self.seed, self.queue.annotator, item_id) if self.task.kind == "pair" else ""
        saved = self.queue.saved(item_id)
        out: dict[str, Any] = {
            "done": False,
            "pos": pos,
            "number": pos + 1,
            "progress": progress,
            "item": self.task.view(item_id, first),
            "saved": None,
        }
        if saved is not None:
            rows = list(saved.values())
            out["saved"] = {
                "labels": {self._key(lid): r["label"] for lid, r in saved.items()},
                "note": rows[0].get("note") or "",
            }
        if self.judge is not None:
            out["judge"] = self.judge.get(item_id)
        return out

    def _key(self, label_id: str) -> str:
        """The page's name for a label: the aspect on a checklist, "" for an item's one label."""
        return label_id.rpartition("::")[2] if self.task.kind == "checklist" else ""

    def rows(self, pos: int, labels: dict[str, Any], note: str) -> list[dict[str, Any]]:
        """The label rows of one submit; raises ValueError on a value the task does not take."""
        item_id = self.queue.order[pos]
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        order = first_shown(self.seed, self.queue.annotator, item_id) if self.task.kind == "pair" else None
        out = []
        for lid in self.task.label_ids(item_id):
            key = self._key(lid)
            value = self.task.value_of(labels.get(key))
            if value is None:
                raise ValueError(f"no valid label for {key or item_id!r}")
            out.append(
                {
                    "id": lid,
                    "annotator": self.queue.annotator,
                    "label": value,
                    "order": order,
                    "note": note,
                    "time": now,
                    "probability": self.probability[item_id],
                }
            )
        return out


SESSION = web.AppKey("session", Session)
FILES = web.AppKey("assets", dict)


def _deny(reason: str) -> web.Response:
    return web.Response(status=403, text=f"forbidden: {reason}\n", headers=_HEADERS)


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    s: Session = request.app[SESSION]
    parts = request.path.split("/", 2)
    if len(parts) < 3 or not hmac.compare_digest(parts[1].encode(), s.token.encode()):
        return _deny("this page needs the URL judgekit label printed (with its token)")
    if request.host not in s.hosts:
        return _deny(f"unexpected Host {request.host!r}")
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.host}":
            return _deny(f"cross-origin request from {origin!r}")
        if request.content_type != "application/json":
            return _deny("POSTs carry JSON")
    response: web.StreamResponse = await handler(request)
    response.headers.update(_HEADERS)
    return response


def _asset(name: str) -> bytes:
    return resources.files("judgekit.label").joinpath("assets", name).read_bytes()


async def _page(request: web.Request) -> web.Response:
    name = request.match_info.get("name") or "index.html"
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.Response(body=request.app[FILES][name], content_type=ASSETS[name], charset="utf-8")


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[SESSION].state())


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _item(request: web.Request) -> web.Response:
    """``?at=N`` that position; ``?after=N`` / ``?before=N`` the next / previous one; nothing: resume."""
    s: Session = request.app[SESSION]
    q = s.queue
    q.sync()
    size = len(q.order)
    if (at := _int(request.query.get("at"))) is not None:
        pos = at if 0 <= at < size and q.eligible(at) else None
    elif (after := _int(request.query.get("after"))) is not None:
        pos = q.after(after)
    elif (before := _int(request.query.get("before"))) is not None:
        pos = q.before(before)
    else:
        pos = q.resume()
    return web.json_response(s.item(pos))


async def _label(request: web.Request) -> web.Response:
    s: Session = request.app[SESSION]
    try:
        body = await request.json()
        pos = int(body["pos"])
        if not 0 <= pos < len(s.queue.order) or s.queue.order[pos] != body["id"]:
            raise ValueError("position and id do not match")
        note = body.get("note") or ""
        if not isinstance(note, str) or not isinstance(body.get("labels"), dict):
            raise ValueError("labels must be an object and note a string")
        rows = s.rows(pos, body["labels"], note[:10_000])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
        return web.json_response({"error": str(err)}, status=400)
    s.queue.store.append(rows)  # on disk (fsync) before the page moves on
    s.queue.sync()
    s.submits.append(pos)
    return web.json_response(s.item(s.queue.after(pos)))


async def _undo(request: web.Request) -> web.Response:
    """Withdraw this session's last submit (a row with a null label per label id) and show that item."""
    s: Session = request.app[SESSION]
    if not s.submits:
        return web.json_response({"error": "nothing to undo"}, status=409)
    pos = s.submits.pop()
    item_id = s.queue.order[pos]
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    rows = [
        {"id": lid, "annotator": s.queue.annotator, "label": None, "order": None, "note": "undo", "time": now,
         "probability": s.probability[item_id]}
        for lid in s.task.label_ids(item_id)
    ]  # fmt: skip
    s.queue.store.append(rows)
    s.queue.sync()
    return web.json_response(s.item(pos))


def build_app(session: Session) -> web.Application:
    app = web.Application(middlewares=[_guard], client_max_size=1 << 20)
    app[SESSION] = session
    app[FILES] = {name: _asset(name) for name in ASSETS}
    t = "/" + session.token
    app.router.add_get(t + "/", _page)
    app.router.add_get(t + "/{name}", _page)
    app.router.add_get(t + "/api/state", _state)
    app.router.add_get(t + "/api/item", _item)
    app.router.add_post(t + "/api/label", _label)
    app.router.add_post(t + "/api/undo", _undo)
    return app
