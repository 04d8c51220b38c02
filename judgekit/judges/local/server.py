"""llama.cpp's OpenAI-compatible server on 127.0.0.1 for one judging run: :class:`LocalServer`.

It starts ``python -m llama_cpp.server`` on a free loopback port, waits until it answers, and stops it
afterwards; judging then goes through litellm exactly like any other backend::

    with LocalServer() as server:
        litellm.completion(model=server.model, api_base=server.api_base, api_key="none",
                           response_format=local_response_format(schema), messages=...)

Neither litellm nor llama_cpp is imported here.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from judgekit.errors import JudgeError
from judgekit.judges.base import JudgeDown
from judgekit.judges.local.command import (
    DEFAULT_ALIAS,
    DEFAULT_CHAT_FORMAT,
    DEFAULT_N_CTX,
    DEFAULT_STARTUP_TIMEOUT,
    alias_for,
    default_threads,
    env_server_command,
    llama_cpp_available,
    server_env,
)
from judgekit.judges.local.logtail import tail
from judgekit.judges.local.model import INSTALL_HINT, check_gguf, default_model_path
from judgekit.judges.local.probe import answers, listens, no_proxy_for_loopback
from judgekit.judges.local.process import describe_exit, free_port, launcher_argv, terminate
from judgekit.judges.opening import to_thread_to_end

_PORT_ATTEMPTS = 3
_POLL_SECONDS = 0.25
_DEATH_POLL_SECONDS = 0.05
_EXIT_HINTS: dict[int, str] = {
    signal.SIGILL.value: " - this llama.cpp build uses an instruction the CPU lacks; `judgekit doctor` checks the "
    "build, and docs/local_judge.md says how to rebuild it portable",
    signal.SIGKILL.value: " - killed from outside, often by the kernel when memory ran out",
}

_ACTIVE: weakref.WeakSet[LocalServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # pragma: no cover - exercised at interpreter exit
    for server in list(_ACTIVE):
        with contextlib.suppress(Exception):
            server.stop()


@dataclass
class _Startup:
    """One :meth:`LocalServer.start`: the model served, when it began, and which port attempt this is."""

    model_path: Path
    began: float = field(default_factory=time.monotonic)
    attempt: int = 0


class LocalServer:
    """llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port, for one judging run.

    Use as a context manager (``with`` or ``async with``), or call :meth:`start` / :meth:`stop`
    (:meth:`astart` / :meth:`astop` from async code). Once started, pass :attr:`model`, :attr:`api_base`
    and ``api_key="none"`` to litellm (:meth:`litellm_kwargs`).

    The server never outlives the judge: :meth:`stop` terminates it (then kills it after a grace period),
    context managers call it on any exit including Ctrl-C, an ``atexit`` hook covers a forgotten stop, and
    on Linux the kernel sends it SIGKILL if this process dies (when started from the main thread).
    :meth:`check_alive` tells whether it died under us (e.g. SIGILL from a build for another CPU).
    The server runs in its own session, so Ctrl-C in the terminal reaches judgekit first and in-flight
    requests are not cut off underneath it.

    Args:
        model_path: a GGUF file; ``None`` for the default Gemma 3 270M (assembled on first use). Once
            started, :attr:`model_path` is the resolved file actually served.
        alias: the model name the server answers to; ``model`` is ``"openai/" + alias``.
        n_ctx: context window in tokens.
        n_threads: CPU threads for prompt processing and generation; default :func:`default_threads`
            (all usable cores but one). llama.cpp's threads spin-wait on each other, so a thread count
            equal to the core count collapses when anything else runs: on a busy 2-core machine a 600-token
            judge call took 11-26 s with 2 threads and 1.7-3.5 s with 1.
        chat_format: llama-cpp-python chat format; default ``"gemma"`` for the default model (its GGUF
            carries no chat template) and the GGUF's own template for ``model_path``.
        logprobs: allow ``logprobs``/``top_logprobs`` in requests. This makes llama-cpp-python keep the
            logits of every prompt token (``--logits_all``), which slows prompt processing, so it is off
            by default; without it a request that asks for logprobs fails.
        startup_timeout: seconds to wait for the model to load and the server to answer.
        log_path: where the server's stdout/stderr go; default a temporary file, removed after a clean stop.
        extra_args: further ``llama_cpp.server`` flags, e.g. ``["--chat_format", "gemma"]``.
        server_command: the program to run instead of ``python -m llama_cpp.server``, e.g.
            ``["/opt/native-venv/bin/python", "-m", "llama_cpp.server"]`` (another build) or
            ``["nice", "-n", "10", sys.executable, "-m", "llama_cpp.server"]``. It gets the same flags
            (``--model``, ``--model_alias``, ``--host``, ``--port``, ...) and must exec the server, not fork
            it (readiness checks that the listening socket is its own). Default: the environment variable
            ``JUDGEKIT_LOCAL_SERVER_CMD`` (split like a shell does), else this interpreter's llama_cpp.server.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        alias: str | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        chat_format: str | None = None,
        logprobs: bool = False,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        log_path: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        server_command: Sequence[str] | None = None,
    ) -> None:
        self.model_path: Path | None = Path(model_path).expanduser() if model_path is not None else None
        if alias is None:
            alias = DEFAULT_ALIAS if self.model_path is None else alias_for(self.model_path.stem)
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads if n_threads is not None else default_threads()
        if chat_format is None and self.model_path is None:
            chat_format = DEFAULT_CHAT_FORMAT
        self.chat_format = chat_format
        self.logprobs = logprobs
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self.server_command = list(server_command) if server_command is not None else None
        self._user_log = Path(log_path) if log_path is not None else None
        self.log_path: Path | None = None
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public properties

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:PORT/v1``; only valid while the server runs."""
        if self.port is None:
            raise JudgeError("the local judge server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        """The litellm model string, e.g. ``openai/local-gemma``."""
        return f"openai/{self.alias}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def litellm_kwargs(self) -> dict[str, Any]:
        """``model``, ``api_base`` and ``api_key`` for ``litellm.(a)completion``."""
        return {"model": self.model, "api_base": self.api_base, "api_key": "none"}

    def check_alive(self) -> None:
        """Raise :class:`JudgeDown` (one line: how it ended, and its log) if the server exited on its own.

        A server stopped by :meth:`stop` is not "dead"; one that crashed (SIGILL from a llama.cpp build for
        another CPU, an out-of-memory kill, a Python error) is, and no retry can bring it back.
        """
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if code is not None:
            raise JudgeDown(self._with_log(f"the local judge server died: {self._ended(code)}"))

    async def wait_dead(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the server to have exited: True if it has.

        When the server dies mid-call, the client can see the dropped connection a moment before the
        kernel reports the exit, so a failed call waits briefly before calling it a transient error.
        """
        import asyncio

        deadline = time.monotonic() + seconds
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return proc is not None
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_DEATH_POLL_SECONDS)

    def command(self, port: int, model_path: Path) -> list[str]:
        """The server command line (without the launcher wrapper)."""
        args = [
            *(self.server_command or env_server_command() or [sys.executable, "-m", "llama_cpp.server"]),
            "--model", str(model_path),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            "--n_gpu_layers", "0",
            "--logits_all", "true" if self.logprobs else "false",
        ]  # fmt: skip
        if self.chat_format:
            args += ["--chat_format", self.chat_format]
        return [*args, *self.extra_args]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalServer:
        """Start the server and block until it answers ``GET /v1/models`` (or raise :class:`JudgeError`)."""
        startup = _Startup(self._prepare())
        with self._stopped_on_error():
            self._spawn(startup.model_path)
            while not self._advance(startup, self._check()):
                time.sleep(_POLL_SECONDS)
        return self

    async def astart(self) -> LocalServer:
        """Async :meth:`start`: the event loop keeps running while the model loads."""
        import asyncio

        startup = _Startup(await asyncio.to_thread(self._prepare))
        try:
            # Spawn from the loop's thread (not a worker thread), so the parent-death signal is tied to it.
            self._spawn(startup.model_path)
            while not self._advance(startup, await asyncio.to_thread(self._check)):
                await asyncio.sleep(_POLL_SECONDS)
        except BaseException:  # failed or cancelled: stop it (keeping its log) without stalling the loop
            await to_thread_to_end(functools.partial(self.stop, keep_log=True))
            raise
        return self

    def stop(self, *, keep_log: bool = False) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after a grace period) and reap it. Idempotent.

        The log of a server that had already exited on its own is kept: the error message points to it.
        """
        with self._lock:
            proc, self._proc = self._proc, None
            self.port = None
        _ACTIVE.discard(self)
        if proc is not None:
            keep_log = keep_log or proc.poll() is not None
            terminate(proc)
        if not keep_log and self._user_log is None and self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None

    async def astop(self) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalServer:
        return await self.astart()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # In a thread, so the loop runs on during the grace period; finished even if the run is cancelled.
        await to_thread_to_end(self.stop)

    def __repr__(self) -> str:
        where = f"port {self.port}" if self.port is not None else "stopped"
        return f"LocalServer({self.model_path or 'default model'}, alias={self.alias!r}, {where})"

    # ------------------------------------------------------------------ startup, step by step

    def _prepare(self) -> Path:
        """Check what starting needs (llama.cpp or a server command, a GGUF file) and settle the model."""
        if self.running:
            raise JudgeError("the local judge server is already running")
        if self.server_command is None and env_server_command() is None and not llama_cpp_available():
            raise JudgeError(INSTALL_HINT)
        path = check_gguf(default_model_path() if self.model_path is None else self.model_path)
        self.model_path = path  # from now on the resolved file, also for the default model
        return path

    @contextlib.contextmanager
    def _stopped_on_error(self) -> Iterator[None]:
        """Stop the server (keeping its log) if starting fails or is interrupted."""
        try:
            yield
        except BaseException:
            self.stop(keep_log=True)
            raise

    def _spawn(self, model_path: Path) -> None:
        """Start the server process on a free port, its output going to the log."""
        port = free_port()
        command = self.command(port, model_path)
        log = self._open_log()
        try:
            log.write(f"$ {shlex.join(command)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                launcher_argv(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_env(),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as err:
            raise JudgeError(f"cannot start the local judge server: {err}") from None
        finally:
            log.close()
        no_proxy_for_loopback()
        with self._lock:
            self._proc = proc
            self.port = port
        _ACTIVE.add(self)

    def _open_log(self) -> IO[bytes]:
        if self._user_log is not None:
            self._user_log.parent.mkdir(parents=True, exist_ok=True)
            self.log_path = self._user_log
            return self._user_log.open("ab")
        if self.log_path is not None:  # reuse the file of a previous attempt
            return self.log_path.open("ab")
        handle = tempfile.NamedTemporaryFile(prefix="judgekit-llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(handle.name)
        return handle

    def _check(self) -> str:
        """One readiness probe: ``"ready"``, ``"starting"`` or ``"exited"``."""
        proc, port = self._proc, self.port
        if proc is None or port is None or proc.poll() is not None:
            return "exited"
        if answers(port, self.alias):
            # Another server that grabbed the port first could answer with the same alias (e.g. a second
            # judgekit run): only a listening socket held by our process counts.
            if proc.poll() is not None:
                return "exited"
            return "ready" if listens(proc.pid, port) is not False else "starting"
        return "starting"

    def _advance(self, startup: _Startup, state: str) -> bool:
        """Act on one probe: True once ready; after an exit, respawn on another port or raise."""
        if state == "ready":
            self.startup_seconds = time.monotonic() - startup.began
            return True
        if state == "exited":
            self._after_exit(startup.attempt)
            startup.attempt += 1
            self._spawn(startup.model_path)
        elif time.monotonic() > startup.began + self.startup_timeout:
            raise JudgeError(
                self._with_log(f"the local judge server did not answer within {self.startup_timeout:g}s")
            )
        return False

    def _after_exit(self, attempt: int) -> None:
        """Return if the server lost a race for its port and attempts remain; else raise why it exited."""
        proc = self._proc
        code = proc.poll() if proc is not None else None
        log_end = tail(self.log_path).lower()
        self.stop(keep_log=True)
        port_taken = "address already in use" in log_end or "errno 98" in log_end
        if port_taken and attempt + 1 < _PORT_ATTEMPTS:
            return  # someone grabbed the port between our probe and the server's bind: try another
        raise JudgeError(self._with_log(f"the local judge server exited during startup: {self._ended(code)}"))

    # ------------------------------------------------------------------ messages

    def _ended(self, code: int | None) -> str:
        """How the server ended, with a hint for the signals that have a usual cause."""
        return describe_exit(code) + _EXIT_HINTS.get(-(code or 0), "")

    def _with_log(self, message: str) -> str:
        """``message`` followed by the log's path and its end (error lines if any), on one line."""
        return f"{message}; log {self.log_path}: {tail(self.log_path) or '(empty)'}"
