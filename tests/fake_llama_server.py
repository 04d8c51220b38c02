"""A stand-in for ``python -m llama_cpp.server`` that can crash on cue, for the local judge's fault tests.

judgekit runs it through ``JUDGEKIT_LOCAL_SERVER_CMD``: it accepts llama_cpp.server's flags (``--model``,
``--model_alias``, ``--host``, ``--port``; the rest are ignored), serves ``GET /v1/models`` and
``POST /v1/chat/completions`` on 127.0.0.1 with the scripted server's default responder (valid verdicts for
the request's JSON schema, see tests/README.md), one request at a time as llama.cpp does, and after
``--answers N`` answered calls kills itself with ``--die-with`` (default SIGILL, as a llama.cpp build for
another CPU does at its first completion). Its own options:

    --answers N        answer N chat calls, then die on the next one (default: never die)
    --die-with NAME    the signal to die with (default ILL)
    --delay S          seconds each answer takes (default 0)
    --startup-delay S  seconds before it listens, as a model loading (default 0)
    --pid-file PATH    write this process's pid there once listening
    --calls-file PATH  append one line per answered chat call

Run: ``JUDGEKIT_LOCAL_SERVER_CMD="python tests/fake_llama_server.py --answers 3" judgekit score ...
--judge local:model.gguf`` (any file starting with ``GGUF`` passes judgekit's model check).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server import Reply, build_completion

CRASH_LOG_LINE = "ggml_compute_forward_mul_mat: running the AMX tile kernel"


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fake_llama_server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--model_alias", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answers", type=int, default=-1)
    parser.add_argument("--die-with", default="ILL")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--startup-delay", type=float, default=0.0)
    parser.add_argument("--pid-file", default=None)
    parser.add_argument("--calls-file", default=None)
    args, _llama_flags = parser.parse_known_args(argv)
    return args


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.server.args.model_alias}]})
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"detail": "Not Found"})
            return
        with self.server.lock:  # llama.cpp's server computes one completion at a time
            args = self.server.args
            if 0 <= args.answers <= self.server.answered:
                self.server.die()
            time.sleep(args.delay)
            self.server.answered += 1
            body, _content = build_completion(request, Reply(), self.server.answered)
            self._send(200, body)
            print(f"fake llama.cpp: answered call {self.server.answered}", flush=True)
            if args.calls_file:
                with open(args.calls_file, "a", encoding="utf-8") as handle:
                    handle.write(f"{os.getpid()}\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__((args.host, args.port), _Handler)
        self.args = args
        self.answered = 0
        self.lock = threading.Lock()

    def die(self) -> None:
        # A moment first, as a crash in prompt processing would: the answers already sent reach the client.
        time.sleep(0.5)
        print(CRASH_LOG_LINE, flush=True)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the test's directory
        os.kill(os.getpid(), signal.Signals["SIG" + self.args.die_with.upper().removeprefix("SIG")])


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # also while "loading"
    time.sleep(args.startup_delay)
    server = _Server(args)
    print(f"fake llama.cpp: serving {args.model_alias} on http://{args.host}:{args.port}", flush=True)
    if args.pid_file:
        Path(args.pid_file).write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
