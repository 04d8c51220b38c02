"""Child-process helpers for the local judge's server: a free port, a launcher the kernel kills with its
parent, stopping a process group, and an exit status in words."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading

STOP_GRACE_SECONDS = 10.0

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


def launcher_argv(command: list[str]) -> list[str]:
    """``command`` wrapped in the launcher that ties its life to this process.

    The parent-death signal is tied to the thread that forks, so it is only asked for from the main thread
    (a worker thread could end long before this process does).
    """
    deathsig = threading.current_thread() is threading.main_thread()
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), "1" if deathsig else "0", *command]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, wait, then SIGKILL; always reap."""
    if proc.poll() is not None:
        return
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
        return
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:
        signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise
    signal_group(proc, signal.SIGKILL)
    proc.wait()


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process group of ``proc``, which was started in its own session."""
    # In its own session, the process group id is the pid.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    except AttributeError:  # pragma: no cover - no killpg on this platform
        proc.send_signal(sig)


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
