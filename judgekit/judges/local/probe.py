"""Is the local judge's server ready? It answers on its port, and the listening socket is its own."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import urllib.request


@functools.cache
def _direct() -> urllib.request.OpenerDirector:
    """An HTTP opener that ignores proxy settings (imported on first use: urllib.request is slow to load)."""
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(port: int, alias: str) -> bool:
    """True if ``GET /v1/models`` on ``port`` answers with a model named ``alias``."""
    try:
        with _direct().open(f"http://127.0.0.1:{port}/v1/models", timeout=2.0) as response:
            payload = json.loads(response.read().decode("utf-8", "replace"))
    except (OSError, ValueError):  # urllib.error.URLError is an OSError
        return False
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return False
    return any(isinstance(item, dict) and item.get("id") == alias for item in data)


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on 127.0.0.1:``port`` (Linux /proc); None if unknown."""
    try:
        inodes = _listening_inodes(port)
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


def _listening_inodes(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port``, from the kernel's TCP tables."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as handle:
            next(handle, None)
            for line in handle:
                fields = line.split()
                # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the inode.
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def no_proxy_for_loopback() -> None:
    """If an HTTP proxy is configured, make sure litellm/httpx talk to 127.0.0.1 directly."""
    proxies = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    if not any(os.environ.get(key) for key in proxies):
        return
    for key in ("no_proxy", "NO_PROXY"):
        current = [item.strip() for item in os.environ.get(key, "").split(",") if item.strip()]
        if "127.0.0.1" not in current:
            os.environ[key] = ",".join([*current, "127.0.0.1"])
