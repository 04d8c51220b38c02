"""Shared pieces for the benchmarks: synthetic LaMP-QA data and the scripted server as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def synthetic_lamp_qa(folder: Path, questions: int, aspects: int) -> tuple[Path, Path]:
    """Write a LaMP-QA dataset and responses with questions x aspects judgments."""
    rows, responses = [], {}
    for q in range(questions):
        qid = f"q{q:06d}"
        rows.append(
            {
                "id": qid,
                "question": f"Question {q}: how should I plan a week of training for event {q % 17}?",
                "narrative": f"I am user {q}; I run {q % 5 + 2} times a week and have {q % 3 + 1} children.",
                "rubric_aspects": [
                    {
                        "aspect": f"Aspect {a} of {q}",
                        "reason": f"Reason {a} for question {q}.",
                        "evidence": f"Evidence {a}: the user said something about topic {a * q % 11}.",
                    }
                    for a in range(aspects)
                ],
            }
        )
        responses[qid] = [
            {
                "output": f"A response to question {q} covering topics "
                + " ".join(f"t{(q * 7 + k) % 97}" for k in range(60))
            }
        ]
    ds, rs = folder / "dataset.json", folder / "responses.json"
    ds.write_text(json.dumps(rows))
    rs.write_text(json.dumps(responses))
    return ds, rs


class ServerProcess:
    """``python -m tests.server`` in its own process, so it does not share a core's GIL with the client."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.server", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()

    def calls(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.base_url.rsplit("/v1", 1)[0] + "/_calls") as r:
            return len(json.loads(r.read()))

    def reset(self) -> None:
        import urllib.request

        req = urllib.request.Request(self.base_url.rsplit("/v1", 1)[0] + "/_reset", data=b"{}", method="POST")
        urllib.request.urlopen(req).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
