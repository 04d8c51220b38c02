"""Helpers for the `judgekit label` tests: inputs built from the examples, the server as a real process, and
plain HTTP calls to it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.proc_tools import cli_env, popen

LAMP = REPO / "examples" / "lamp_qa"
PAIRS = REPO / "examples" / "pairwise"


def lamp_set(folder: Path, n: int) -> tuple[Path, Path]:
    """``n`` LaMP-QA items (the example questions repeated under new ids, each keeping its aspects)."""
    base = json.loads((LAMP / "dataset.json").read_text())
    answers = json.loads((LAMP / "responses.json").read_text())
    rows, responses = [], {}
    for k in range(n):
        src = base[k % len(base)]
        rows.append({**src, "id": f"{src['id']}-{k:02d}"})
        responses[f"{src['id']}-{k:02d}"] = answers[src["id"]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.json").write_text(json.dumps(rows))
    (folder / "responses.json").write_text(json.dumps(responses))
    return folder / "dataset.json", folder / "responses.json"


def pair_set(folder: Path, n: int) -> tuple[Path, Path, Path]:
    """``n`` pairs (the example pairs repeated under new ids): dataset, responses A, responses B."""
    base = json.loads((PAIRS / "dataset.json").read_text())
    side_a = json.loads((PAIRS / "responses_a.json").read_text())
    side_b = json.loads((PAIRS / "responses_b.json").read_text())
    rows, a, b = [], {}, {}
    for k in range(n):
        src = base[k % len(base)]
        new = f"{src['id']}-{k:02d}"
        rows.append({**src, "id": new})
        a[new], b[new] = side_a[src["id"]], side_b[src["id"]]
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "pairs.json", folder / "a.json", folder / "b.json"
    for path, data in zip(paths, (rows, a, b), strict=True):
        path.write_text(json.dumps(data))
    return paths


class LabelServer:
    """``python -m judgekit label ARGS`` running; ``url`` is the address it printed (with its token)."""

    def __init__(self, *args: str | Path) -> None:
        self.args = [str(a) for a in args]
        # popen: default signal dispositions, so the server gets Ctrl-C as a user's does even when the
        # suite runs from a background job with SIGINT ignored.
        self.proc = popen(
            [sys.executable, "-m", "judgekit", "label", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("open http"):
                self.url = line.split()[1]
                break
        if not self.url:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait(10)
            raise AssertionError(f"judgekit label did not start (exit {self.proc.returncode}): {err}")

    @property
    def origin(self) -> str:
        return self.url.split("/", 3)[0] + "//" + self.url.split("/", 3)[2]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a user stops it; returns the exit code and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err

    def __enter__(self) -> LabelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http(
    url: str, body: Any = None, *, origin: str | None = None, content_type: str = "application/json",
    host: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    """GET (no body) or POST JSON; returns the status and the parsed JSON (or text) answer."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", content_type)
    if origin is not None:
        req.add_header("Origin", origin)
    if host is not None:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def lamp_server(folder: Path, n: int, labels: Path, *extra: str) -> LabelServer:
    """A server on ``n`` LaMP-QA items (built in ``folder``) for annotator "a"."""
    dataset, responses = lamp_set(folder, n)
    return LabelServer(
        "--dataset", dataset, "--responses", responses, "--labels", labels, "--annotator", "a", *extra
    )


def validate_pairs(folder: Path, labels: Path, ids: list[str]) -> dict[str, Any]:
    """``judgekit validate --pairwise`` of a judge that prefers response 1 on every pair, against ``labels``;
    returns the pairwise block of its report."""
    from tests.conftest import run_cli

    verdicts = folder / "verdicts.jsonl"
    verdicts.write_text("".join(json.dumps({"id": i, "winner_original": "1", "winner_swapped": "1"}) + "\n"
                                for i in ids))  # fmt: skip
    out = folder / "pw.json"
    proc = run_cli("validate", "--pairwise", "--judge", str(verdicts), "--human", str(labels), "--n-boot", "0",
                   "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())["pairwise"]
    return report
