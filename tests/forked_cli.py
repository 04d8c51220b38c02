"""``python -m judgekit ARGS`` as a real process, forked from a warm interpreter instead of started cold.

Most of the suite's CPU went into starting interpreters: each CLI run re-imported litellm, openai, scipy,
pydantic and judgekit (0.8 s of CPU, 3.4 s when litellm loads) before judgekit did anything.
tests/cli_zygote.py imports them once per session and forks a child per run, which runs ``judgekit.__main__``
with the test's arguments, environment and working directory, in its own process with its own pid, file
descriptors, signals and exit status. What a fresh interpreter shows that a fork cannot
(how long start-up takes, which modules a command imports) is tested with real ``python`` processes
elsewhere (test_import_weight, test_doctor, test_report).

``JUDGEKIT_TEST_FORK=0`` runs every CLI test in a cold ``python -m judgekit`` instead.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import locale
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ZYGOTE = Path(__file__).with_name("cli_zygote.py")
# Variables read only while an interpreter starts: a child forked from the server cannot honour a new value.
_STARTUP_ONLY = (
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUTF8",
    "PYTHONSAFEPATH",
)

_lock = threading.Lock()
# CPU seconds the forked children used (with what they waited for): a cold child's would show in this
# process's RUSAGE_CHILDREN, a forked one's does not, so a profile of the suite adds this.
cpu_seconds = [0.0]
_server: tuple[subprocess.Popen[bytes], str] | None = None


class Unavailable(RuntimeError):
    """The fork server cannot be reached: the suite goes on with cold processes."""


_unavailable: list[str] = []  # why, once the server could not be reached


def enabled(env: Mapping[str, str]) -> bool:
    if os.environ.get("JUDGEKIT_TEST_FORK", "1") == "0" or _unavailable:
        return False
    return all(env.get(k) == os.environ.get(k) for k in _STARTUP_ONLY)


SERVER_ENV = "JUDGEKIT_TEST_FORK_SERVER"  # set by the pytest controller: one server shared by its workers


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """Start the fork server in the background (it loads its libraries while pytest collects)."""
    # A socket's path holds at most 107 bytes: under a long TMPDIR, /tmp.
    short = len(tempfile.gettempdir()) > 60 and os.path.isdir("/tmp")
    folder = tempfile.mkdtemp(prefix="jk-zygote-", dir="/tmp" if short else None)
    path = os.path.join(folder, "s")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([sys.executable, str(ZYGOTE), path], stdin=subprocess.DEVNULL, env=env)
    atexit.register(_stop, proc, folder)
    return proc, path


def _connect() -> socket.socket:
    """A connection to the fork server (the controller's, else this process's own, started on first use);
    waits while the server is still loading its libraries."""
    global _server
    with _lock:
        path = os.environ.get(SERVER_ENV)
        if not path:
            if _server is None or _server[0].poll() is not None:
                _server = start_server()
            path = _server[1]
    deadline = time.monotonic() + 120
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            return conn
        except OSError as err:
            conn.close()
            gone = not os.path.isdir(os.path.dirname(path)) or (
                _server is not None and _server[0].poll() is not None
            )
            if (
                gone
                or time.monotonic() > deadline
                or not isinstance(err, FileNotFoundError | ConnectionRefusedError)
            ):
                _unavailable.append(f"the CLI fork server at {path} cannot be reached ({err})")
                sys.__stderr__.write(f"tests: {_unavailable[0]}; CLI tests run cold from here on\n")
                raise Unavailable(_unavailable[0]) from None
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes], folder: str) -> None:
    proc.kill()
    proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


class ForkedProcess:
    """The parts of ``subprocess.Popen`` the tests use, for a child of the fork server. Its exit status
    arrives on the server connection as one JSON line."""

    def __init__(self, args: Sequence[str], conn: socket.socket, pid: int, buffered: bytes) -> None:
        self.args = list(args)
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: IO[Any] | None = None
        self.stderr: IO[Any] | None = None
        self._conn = conn
        self._buf = buffered
        self._readers: list[threading.Thread] = []
        self._output: dict[str, Any] = {}

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if b"\n" in self._buf:
                line, _, self._buf = self._buf.partition(b"\n")
                done = json.loads(line)
                self.returncode = int(done["returncode"])
                cpu_seconds[0] += float(done["cpu"])
                self._conn.close()
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self._conn.settimeout(left)
            try:
                chunk = self._conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                raise RuntimeError("the CLI fork server lost the child's exit status")
            self._buf += chunk
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(timeout=0.0)
        except subprocess.TimeoutExpired:
            return None

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Read both pipes to their end (in threads, as ``subprocess`` does with a selector), then wait."""
        if not self._readers:
            for name in ("stdout", "stderr"):
                stream = getattr(self, name)
                if stream is not None:
                    thread = threading.Thread(target=self._drain, args=(name, stream), daemon=True)
                    thread.start()
                    self._readers.append(thread)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._readers:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self._output.get("stdout"), self._output.get("stderr")

    def _drain(self, name: str, stream: IO[Any]) -> None:
        self._output[name] = stream.read()
        stream.close()

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> ForkedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        self.wait()


def spawn(
    args: Sequence[str],
    env: Mapping[str, str],
    stdin: int,
    stdout: int,
    stderr: int,
    cwd: str | None = None,
    default_signals: bool = False,
    new_session: bool = False,
) -> ForkedProcess:
    """Start ``python -m judgekit ARGS`` (``args`` without the interpreter) with these three descriptors."""
    conn = _connect()
    request = {
        "args": list(args),
        "env": dict(env),
        "cwd": str(cwd or os.getcwd()),
        "default_signals": default_signals,
        "new_session": new_session,
    }
    body = json.dumps(request).encode()
    socket.send_fds(conn, [len(body).to_bytes(8, "big") + body], [stdin, stdout, stderr])
    buf = b""
    while b"\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            conn.close()
            raise RuntimeError("the CLI fork server did not start the child")
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return ForkedProcess([sys.executable, "-m", "judgekit", *args], conn, int(json.loads(line)["pid"]), rest)


def run(
    args: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None = None,
    input: str | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, -m, judgekit, *args], capture_output=True, text=True)``, forked."""
    encoding = locale.getpreferredencoding(False)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if input is not None:
            inp.write(input.encode(encoding))
            inp.seek(0)
        stdin_fd = inp.fileno() if input is not None else os.open(os.devnull, os.O_RDONLY)
        try:
            proc = spawn(args, env, stdin_fd, out.fileno(), err.fileno(), cwd=cwd)
        finally:
            if input is None:
                os.close(stdin_fd)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(
                proc.args, timeout or 0.0, _read(out, encoding), _read(err, encoding)
            ) from None
        return subprocess.CompletedProcess(proc.args, proc.wait(), _read(out, encoding), _read(err, encoding))


def _read(f: IO[bytes], encoding: str) -> str:
    """The text ``subprocess`` would give: decoded, with universal newlines (a progress bar's \\r too)."""
    f.seek(0)
    return io.TextIOWrapper(io.BytesIO(f.read()), encoding=encoding).read()


def completed(
    cmd: Sequence[str], env: Mapping[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True, ...)`` for a ``[python, -m, judgekit, ...]``
    command: forked when it can be, cold otherwise."""
    full_env = dict(os.environ if env is None else env)
    if list(cmd[:3]) == [sys.executable, "-m", "judgekit"] and enabled(full_env):
        with contextlib.suppress(Unavailable):
            return run(
                cmd[3:],
                full_env,
                timeout=kwargs.get("timeout"),
                input=kwargs.get("input"),
                cwd=kwargs.get("cwd"),
            )
    return subprocess.run(list(cmd), capture_output=True, text=True, env=full_env, **kwargs)


_PIPE_OPTIONS = {"stdin", "stdout", "stderr", "text", "env", "cwd", "start_new_session"}


def popen(cmd: Sequence[str], default_signals: bool, **kwargs: Any) -> ForkedProcess | None:
    """``subprocess.Popen(cmd, **kwargs)`` for a ``[python, -m, judgekit, ...]`` command, forked; ``None``
    when it cannot be (another command, an option the fork server does not reproduce, or forking off)."""
    env = dict(os.environ if kwargs.get("env") is None else kwargs["env"])
    if list(cmd[:3]) != [sys.executable, "-m", "judgekit"] or not enabled(env) or set(kwargs) - _PIPE_OPTIONS:
        return None
    if kwargs.get("stdin") not in (None, subprocess.DEVNULL):
        return None
    text = bool(kwargs.get("text"))
    encoding = locale.getpreferredencoding(False)
    opened: list[int] = []
    parent_ends: dict[str, int] = {}

    def target(name: str, inherited: int) -> int:
        option = kwargs.get(name)
        if option is None:
            return inherited
        if option == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
        elif option == subprocess.PIPE:
            read, fd = os.pipe()
            parent_ends[name] = read
        elif isinstance(option, int):
            return option
        else:
            return int(option.fileno())
        opened.append(fd)
        return fd

    stdin = target("stdin", 0)
    stdout = target("stdout", 1)
    stderr = stdout if kwargs.get("stderr") == subprocess.STDOUT else target("stderr", 2)
    try:
        proc = spawn(
            cmd[3:],
            env,
            stdin,
            stdout,
            stderr,
            cwd=None if kwargs.get("cwd") is None else str(kwargs["cwd"]),
            default_signals=default_signals,
            new_session=bool(kwargs.get("start_new_session")),
        )
    except BaseException as err:
        for fd in parent_ends.values():
            os.close(fd)
        if isinstance(err, Unavailable):
            return None
        raise
    finally:
        for fd in opened:
            os.close(fd)
    for name, fd in parent_ends.items():
        stream: IO[Any] = open(fd, encoding=encoding) if text else open(fd, "rb")  # noqa: SIM115
        setattr(proc, name, stream)
    return proc
