"""Credentials written in an endpoint URL (``--api-base http://user:PASSWORD@host/v1?api-key=KEY``) are sent to
the server and reach no file the run writes: not the score file (``meta.judge.api_base``, ``meta.command``),
the run log, the cache's SQLite file, nor the HTML report; nor the terminal when the judge cannot be reached."""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import socket
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.proc_tools import write_inputs
from tests.server import ScriptedServer

PASSWORD = "PASSWORD-h7Qz2w"
KEY = "KEY-9fLm3xQ0"
#: what could leak: each secret, and the way a URL or JSON could spell a piece of it
LEAKS = [PASSWORD, KEY, "h7Qz2w", "9fLm3xQ0"]


def _url(port: int) -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{port}/v1?api-key={KEY}&api-version=2024-06-01"


def _leaks(folder: Path) -> dict[str, list[str]]:
    """Each file under ``folder`` (SQLite's -wal / -shm files included) that holds a secret, and which."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [s for s in LEAKS if s.encode() in data]
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="--report needs matplotlib")
def test_url_credentials_reach_the_server_and_no_file(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    dataset, responses = write_inputs(tmp_path, 3)
    out, cache, report = tmp_path / "scores.json", tmp_path / "cache" / "c.sqlite", tmp_path / "report.html"
    proc = run_cli(
        "score", "--judge", "openai/judge", "--api-base", _url(scripted_server.port),
        "--dataset", str(dataset), "--responses", str(responses), "--out", str(out), "--cache", str(cache),
        "--report", str(report), "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # the credentials were used: HTTP Basic from the URL's user:password, the query string kept
    calls = scripted_server.calls
    assert len(calls) == 3 * 5
    basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert {c["authorization"] for c in calls} == {basic}
    assert {(c["path"], c["query"]) for c in calls} == {
        ("/v1/chat/completions", f"api-key={KEY}&api-version=2024-06-01")
    }
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"scores.json", "scores.log.jsonl", "c.sqlite", "report.html"} <= written
    assert _leaks(tmp_path) == {}
    assert not any(s in proc.stdout + proc.stderr for s in LEAKS)
    # what is recorded says where the judge was, and that credentials were there
    meta = json.loads(out.read_text())["meta"]
    port = scripted_server.port
    assert meta["judge"]["api_base"] == (
        f"http://[redacted]@127.0.0.1:{port}/v1?api-key=[redacted]&api-version=2024-06-01"
    )
    assert f"openai/judge@http://127.0.0.1:{port}/v1|" in meta["judge"]["identity"]
    assert f"--api-base 'http://[redacted]@127.0.0.1:{port}/v1?api-key=[redacted]" in meta["command"]
    header = json.loads(out.with_name("scores.log.jsonl").read_text().splitlines()[0])
    assert header["meta"]["judge"]["api_base"] == meta["judge"]["api_base"]


def test_a_failed_run_keeps_the_credentials_out_too(tmp_path: Path) -> None:
    """Nothing listens on the port: every call is refused, the run stops (exit 3, the judge could not judge,
    no score file), and neither its messages nor its run log hold the credentials."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dataset, responses = write_inputs(tmp_path, 1)
    out = tmp_path / "scores.json"
    proc = run_cli(
        "score", "--judge", "openai/judge", "--api-base", _url(port), "--dataset", str(dataset),
        "--responses", str(responses), "--out", str(out), "--cache", str(tmp_path / "c.sqlite"),
        "--max-retries", "0", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "connection refused" in proc.stderr
    assert not any(s in proc.stdout + proc.stderr for s in LEAKS), proc.stderr
    assert not out.exists()
    log = out.with_name("scores.log.jsonl").read_text()
    assert '"status":"stopped"' in log.replace(" ", "") and "connection" in log
    assert _leaks(tmp_path) == {}


def test_redact_and_url_secrets() -> None:
    """Worked by hand: the password (percent-encoded and decoded), a lone user as token, key-named params."""
    from judgekit.scrub import redact, url_secrets

    assert url_secrets("https://bob:p%40ss-word@h.example/v1?api-key=K1234&api-version=2024-06-01") == [
        "p%40ss-word",
        "K1234",
        "p@ss-word",
    ]
    assert url_secrets("https://tok-abcdef@h.example/v1") == ["tok-abcdef"]
    assert url_secrets("http://127.0.0.1:8000/v1") == []
    text = "calling https://bob:pw@h.example/v1?x=1&access_token=abc&sig=zz failed"
    assert (
        redact(text)
        == "calling https://[redacted]@h.example/v1?x=1&access_token=[redacted]&sig=[redacted] failed"
    )


def test_scrub_spellings_and_placeholders() -> None:
    """A secret is scrubbed as written, JSON-escaped and HTML-escaped; a placeholder key (OPENAI_API_KEY=none)
    and a number-like one are left alone: they would rewrite every "none" and every such number in a file."""
    from judgekit.scrub import remember, scrub

    secret = 'pw"<&>-Zq81x'
    remember([secret, "none", "12345678.5"])
    data = json.dumps({"a": secret, "b": "none", "c": 12345678.5}).encode() + html.escape(secret).encode()
    assert scrub(data) == b'{"a": "[redacted]", "b": "none", "c": 12345678.5}[redacted]'
