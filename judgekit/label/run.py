"""Set up a labelling run (read and check every input before any port is opened) and serve it."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, InputError
from judgekit.label.queue import Queue, annotator_order, overlap_set
from judgekit.label.store import LabelStore
from judgekit.label.task import LabelTask, build_task


@dataclass
class LabelOptions:
    """The inputs of ``judgekit label`` (see its --help)."""

    dataset: str
    labels: str
    annotator: str
    rubric: str = "lamp_qa"
    responses: str | None = None
    responses_a: str | None = None
    responses_b: str | None = None
    scores: str | None = None
    sample: int | None = None
    select: str = "random"
    overlap: float = 0.2
    seed: int = 0
    show_judge: bool = False


def load_task(opts: LabelOptions) -> LabelTask:
    """Items and responses read exactly as ``judgekit score`` reads them."""
    from judgekit.rubric import load_rubric
    from judgekit.scoring.inputs import load_inputs
    from judgekit.scoring.settings import ScoreSettings

    rubric = load_rubric(opts.rubric)
    items, responses, _ = load_inputs(
        rubric,
        ScoreSettings(rubric=opts.rubric),
        opts.dataset,
        opts.responses,
        opts.responses_a,
        opts.responses_b,
    )
    return build_task(rubric, items, responses)


def judge_view(score_file: Any, path: str, ids: set[str]) -> dict[str, Any]:
    """Per item: the judge's question score, each aspect's score and parsed answer, and the judge's raw
    answers from the run log beside the score file when there is one (--show-judge)."""
    from judgekit.report.inputs import load_input

    calls: dict[str, list[dict[str, Any]]] = {}
    for row in load_input(path, 0).log:  # the report's reader of the run log
        call = {"targets": row.get("targets"), "completion": row.get("completion")}
        calls.setdefault(str(row.get("id")), []).append(call)
    out: dict[str, Any] = {}
    for q in score_file.per_question_scores:
        if q.id not in ids:
            raise InputError(f"{path}: id {q.id!r} is not in the dataset")
        out[q.id] = {
            "score": q.score,
            "details": [{"aspect": d.aspect, "score": d.score, "answer": d.fields} for d in q.details],
            "raw": calls.get(q.id, []),
        }
    return out


def select(task: LabelTask, opts: LabelOptions, score_file: Any) -> list[Any]:
    """The items to offer, in the design's order, each with its selection probability
    (:func:`judgekit.label.selection.plan_selection`)."""
    from judgekit.label.selection import judge_views, plan_selection

    judge = None
    if score_file is not None:
        scale = task.rubric.spec.scale
        judge = judge_views(score_file, scale=(scale.min, scale.max))
    elif opts.select != "random":
        raise ConfigError(f"--select {opts.select} needs the judge's scores: give --scores")
    return plan_selection(list(task.items), opts.select, opts.sample, opts.seed, judge)  # type: ignore[arg-type]


def _check_paths(opts: LabelOptions) -> None:
    from judgekit.io import check_no_overwrite

    labels = Path(opts.labels)
    inputs = [
        ("--dataset", opts.dataset),
        ("--responses", opts.responses),
        ("--responses-a", opts.responses_a),
        ("--responses-b", opts.responses_b),
        ("--scores", opts.scores),
    ]
    check_no_overwrite(inputs, [("--labels", labels)])  # labels go to a file of their own
    if labels.exists() and not labels.is_file():
        raise ConfigError(f"--labels {labels}: not a file")
    if not labels.parent.is_dir():
        raise ConfigError(f"--labels {labels}: the folder {labels.parent} does not exist")


def prepare(opts: LabelOptions) -> Any:
    """Everything checked and loaded; returns the session the server will run."""
    from judgekit.label.app import Session

    if not opts.annotator.strip():
        raise ConfigError("--annotator is empty")
    if not 0 <= opts.overlap <= 1:
        raise ConfigError(f"--overlap must be between 0 and 1, got {opts.overlap}")
    _check_paths(opts)
    task = load_task(opts)
    ids = list(task.items)
    score_file = None
    if opts.scores is not None:
        from judgekit.results import load_score_file
        from judgekit.score_reader import check_score_values

        score_file = load_score_file(opts.scores)
        check_score_values(score_file, str(opts.scores))  # as every command that reads score files
    picks = select(task, opts, score_file)
    probability = {p.id: p.probability for p in picks}
    chosen = [p.id for p in picks]
    store = LabelStore.open(opts.labels)
    queue = Queue(
        annotator=opts.annotator.strip(),
        order=annotator_order(chosen, opts.seed, opts.annotator.strip(), keep_design=opts.select != "random"),
        overlap=overlap_set(chosen, opts.overlap, opts.seed),
        task=task,
        store=store,
    )
    return Session(
        task=task,
        queue=queue,
        seed=opts.seed,
        probability=probability,
        judge=judge_view(score_file, str(opts.scores), set(ids)) if opts.show_judge else None,
        token=secrets.token_urlsafe(24),
        hosts=frozenset(),
    )


def check_host(host: str, allow_remote: bool) -> bool:
    """Whether ``host`` is a loopback address; a non-loopback one needs ``allow_remote``."""
    if host == "localhost":
        return True
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise ConfigError(f"--host {host!r}: expected an IP address (or localhost)") from None
    if not loopback and not allow_remote:
        raise ConfigError(
            f"--host {host} is not a loopback address: anyone who can reach it could label; "
            "add --allow-remote if that is what you want"
        )
    return loopback


def _host_names(host: str, port: int) -> frozenset[str]:
    names = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else {host}
    if ":" in host:
        names = {f"[{host}]"}
    return frozenset(f"{n}:{port}" for n in names)


def url_of(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{token}/"


async def serve(opts: LabelOptions, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Bind, announce the URL, and serve until cancelled (Ctrl-C)."""
    import socket

    from aiohttp import web

    from judgekit.label.app import build_app

    existed = Path(opts.labels).exists()
    session = prepare(opts)  # bad input stops here, before any port is opened
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        labels = Path(opts.labels)
        if not existed and labels.exists() and labels.stat().st_size == 0:
            labels.unlink()  # nothing was served: leave no empty file behind
        raise ConfigError(f"cannot listen on {host}:{port} ({err.strerror})") from None
    bound = sock.getsockname()[1]
    session.hosts = _host_names(host, bound)
    runner = web.AppRunner(build_app(session), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        announce(url_of(host, bound, session.token))
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
