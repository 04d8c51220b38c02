"""A warm interpreter that forks one child per ``python -m judgekit`` a test runs (see tests/forked_cli.py).

Started once per pytest session with the socket path to listen on. It imports the third-party libraries a
judgekit run loads (litellm alone costs about 3 s of CPU per process) and every judgekit module, and runs
nothing. Each child then runs ``judgekit.__main__`` under the environment, working directory and arguments
the test gave, with module state as a fresh import leaves it (a child whose path leads to another copy of
judgekit imports that copy instead).

Per request the server forks a handler, which forks the child, reports its pid, waits for it and reports its
exit status the way ``subprocess`` does (a negative number for a signal). The request's three file
descriptors become the child's stdin, stdout and stderr.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.machinery
import io
import json
import os
import pkgutil
import signal
import socket
import sys
from typing import Any, NoReturn

PRELOAD = (
    "litellm",
    "litellm.router",
    "openai",
    "aiohttp",
    "pydantic",
    "jinja2",
    "numpy",
    "scipy.stats",
    "tqdm",
    "yaml",
)
_BASE_PATH = [p for p in sys.path[1:] if p not in os.environ.get("PYTHONPATH", "").split(os.pathsep)]


_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_preloaded_origin: str | None = None


def _preload() -> None:
    """The libraries, then every judgekit module: importing them runs no judgekit code that reads the
    environment, the working directory or the clock, so a child gets them as a fresh import would."""
    global _preloaded_origin
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    sys.path.insert(0, _REPO)
    try:
        import judgekit

        for info in pkgutil.walk_packages(judgekit.__path__, "judgekit."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
        _preloaded_origin = judgekit.__file__
    finally:
        sys.path.remove(_REPO)


def _keep_or_drop_judgekit() -> None:
    """Keep the preloaded judgekit only if the child's path would import that same copy."""
    spec = importlib.machinery.PathFinder.find_spec("judgekit", sys.path)
    if spec is None or spec.origin != _preloaded_origin:
        for name in [m for m in sys.modules if m == "judgekit" or m.startswith("judgekit.")]:
            del sys.modules[name]
        importlib.invalidate_caches()


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    size = int.from_bytes(data[:8], "big")
    body = data[8:]
    while len(body) < size:
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise EOFError("request cut short")
        body += chunk
    return json.loads(body), list(fds)


def _stream(fd: int, mode: str, env: dict[str, str]) -> io.TextIOWrapper:
    """A standard stream as a new interpreter makes it for this fd and environment."""
    encoding, _, errors = env.get("PYTHONIOENCODING", "").partition(":")
    encoding = encoding or "utf-8"
    if fd == 2:
        errors = errors or "backslashreplace"
    interactive = os.isatty(fd)
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    raw = io.FileIO(fd, mode, closefd=False)
    if mode == "rb":
        return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors=errors or "strict")
    return io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=encoding,
        errors=errors or "strict",
        line_buffering=interactive or fd == 2,
        write_through=unbuffered,
    )


def _become(req: dict[str, Any], fds: list[int]) -> NoReturn:
    """Turn this forked process into ``python -m judgekit ARGS`` (never returns)."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    if req.get("new_session"):
        os.setsid()
    if req.get("default_signals"):
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        # ... and then what a new interpreter does at start when it finds SIGINT at its default
        signal.signal(signal.SIGINT, signal.default_int_handler)
    env: dict[str, str] = req["env"]
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(env)
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [req["cwd"], *extra, *_BASE_PATH]
    _keep_or_drop_judgekit()
    sys.stdin = sys.__stdin__ = _stream(0, "rb", env)  # type: ignore[misc]
    sys.stdout = sys.__stdout__ = _stream(1, "wb", env)  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = _stream(2, "wb", env)  # type: ignore[misc]
    sys.argv = ["-m", *req["args"]]
    import runpy

    # The private runner is what `python -m` itself calls: __main__, sys.argv[0] and __spec__ as it sets them.
    runpy._run_module_as_main("judgekit", alter_argv=True)  # type: ignore[attr-defined]
    raise SystemExit(0)


def _handle(conn: socket.socket) -> NoReturn:
    """One request, in a process forked from the server: fork the child, report its pid, then its status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        req, fds = _read_request(conn)
    except (OSError, EOFError, ValueError):
        os._exit(1)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _become(req, fds)
    for fd in fds:
        os.close(fd)
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status, usage = os.wait4(pid, 0)
    done = {"returncode": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(done).encode() + b"\n")
    os._exit(0)


def serve(path: str) -> None:
    parent = os.getppid()
    _preload()
    # Out of the collector's sight: without this every child's exit walks the whole preloaded heap
    # (1.0 s of CPU, against 0.17 s), and its collections copy the pages they touch.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".new")
    server.listen(64)
    os.rename(path + ".new", path)  # the path appears only once it accepts connections
    server.settimeout(2.0)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # the pytest process is gone: so is the need for us
                return
            continue
        conn.settimeout(None)
        if os.fork() == 0:
            server.close()
            _handle(conn)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
