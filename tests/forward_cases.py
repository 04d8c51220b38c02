"""Score runs whose files must not change when the scorer is restructured (tests/test_results_forward.py).

Each case is a real ``judgekit score`` process against the scripted server. The expected files in
``tests/data/forward/`` were written ONCE by the main checkout before the change (47550e4), with

    cd WORKTREE && PYTHONPATH=$PWD python -m tests.forward_cases /work/main tests/data/forward

and are compared after :func:`normalise` (the server's port, the run's paths, times and versions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import forked_cli
from tests.server import Reply, ScriptedServer, user_message

REPO = Path(__file__).resolve().parent.parent
EXPECTED = REPO / "tests" / "data" / "forward"
LAMP = REPO / "examples" / "lamp_qa"
REF = REPO / "examples" / "reference"
PAIR = REPO / "examples" / "pairwise"
PASSWORD = "pw-forward-0123456789"  # a credential in the panel's endpoint URL: identities are redacted
LEAK = "sk-forward-leak-abcdef0123456789"  # a key a failing judge echoes: the reasons are redacted
CASES = ("plain", "panel", "pairwise", "references", "failing")


def _rules_panel(server: ScriptedServer) -> None:
    """Three judges (models) with their own verdicts per item; judge-c fails r5 (a partly scored unit)."""
    plan = {
        "r1": ("correct", "correct", "incorrect"),
        "r2": ("partially_correct", "incorrect", "correct"),
        "r3": ("correct", "correct", "correct"),
        "r4": ("incorrect", "incorrect", "partially_correct"),
        "r5": ("correct", "partially_correct", None),
    }
    for item in json.loads((REF / "dataset.json").read_text()):
        for model, verdict in zip(("judge-a", "judge-b", "judge-c"), plan[item["id"]], strict=True):
            match = {"model": model, "user_contains": item["input"]}
            reply = Reply.error(500, f"judge-c is down: {LEAK}") if verdict is None else None
            server.add_rule(match, reply or Reply(content=json.dumps({"reason": "r", "verdict": verdict})))


def _rules_pairwise(server: ScriptedServer) -> None:
    """p1: the response shown first (orders disagree); p2: A; p3: B; p4: a tie in both orders."""
    a, b = (
        json.loads((PAIR / "responses_a.json").read_text()),
        json.loads((PAIR / "responses_b.json").read_text()),
    )
    pairs = {
        it["id"]: (it["input"], a[it["id"]], b[it["id"]])
        for it in json.loads((PAIR / "dataset.json").read_text())
    }
    want = {"p1": "first", "p2": "a", "p3": "b", "p4": "tie"}

    def reply(request: dict[str, Any]) -> Reply:
        text = user_message(request)
        item_id, (_, ta, tb) = next((k, v) for k, v in pairs.items() if v[0] in text)
        first = "a" if text.index(ta) < text.index(tb) else "b"
        w = want[item_id]
        winner = w if w in ("first", "tie") else ("first" if w == first else "second")
        return Reply(content=json.dumps({"winner": winner}))

    server.add_rule(None, reply)


def _rules_failing(server: ScriptedServer) -> None:
    """Half the example's questions fail with an error that quotes a key: coverage below the floor."""
    for qid in ("lqa-001", "lqa-003", "lqa-005"):
        item = next(it for it in json.loads((LAMP / "dataset.json").read_text()) if it["id"] == qid)
        server.add_rule({"user_contains": item["question"]}, Reply.error(400, f"bad request, key {LEAK}"))


def _args(case: str, base_url: str, out: Path) -> list[str]:
    lamp = ["--dataset", str(LAMP / "dataset.json"), "--responses", str(LAMP / "responses.json")]
    common = ["--out", str(out), "--cache", str(out.with_suffix(".sqlite")), "--no-progress"]
    if case == "panel":
        url = base_url.replace("://", f"://alice:{PASSWORD}@")
        judges = ["--judge", "openai/judge-a", "--judge", "openai/judge-b", "--judge", "openai/judge-c"]
        files = ["--dataset", str(REF / "dataset.json"), "--responses", str(REF / "responses.json")]
        extra = ["--rubric", "reference", "--max-retries", "0", "--min-coverage", "0", "--api-base", url]
        return ["score", *files, *judges, *extra, *common]
    if case == "pairwise":
        files = ["--dataset", str(PAIR / "dataset.json"), "--responses-a", str(PAIR / "responses_a.json")]
        files += ["--responses-b", str(PAIR / "responses_b.json"), "--rubric", "pairwise"]
        return ["score", *files, "--judge", "openai/judge", "--api-base", base_url, *common]
    extra = {
        "plain": [],
        "references": ["--references", str(LAMP / "references.json"), "--metrics", "rouge1,rougeL"],
        "failing": ["--max-retries", "0"],
    }[case]
    return ["score", *lamp, "--judge", "openai/judge", "--api-base", base_url, *extra, *common]


RULES: dict[str, Callable[[ScriptedServer], None]] = {
    "panel": _rules_panel,
    "pairwise": _rules_pairwise,
    "failing": _rules_failing,
}


def run_case(case: str, checkout: Path, workdir: Path) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """Run ``case`` with the judgekit of ``checkout``; returns the process, the score file's text and the
    server's base URL."""
    models = ("judge-a", "judge-b", "judge-c") if case == "panel" else ("judge",)
    with ScriptedServer(models=models) as server:
        RULES.get(case, lambda s: None)(server)
        out = workdir / f"{case}.json"
        env = {**os.environ, "PYTHONPATH": str(checkout), "JUDGEKIT_CACHE_DIR": str(workdir / "jk-cache")}
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        proc = forked_cli.completed(
            [sys.executable, "-m", "judgekit", *_args(case, server.base_url, out)],
            env=env,
            cwd=workdir,  # not the repository: `python -m` would import its judgekit first
            timeout=300,
        )
        return proc, out.read_text() if out.exists() else "", server.base_url


_VOLATILE_META = ("judgekit_version", "started_at", "finished_at", "versions")


def normalise(text: str, base_url: str, workdir: Path, checkout: Path = REPO) -> Any:
    """The score file with what differs from run to run replaced: the server's port, the run's folders
    (the checkout run, the inputs' repository, the temporary one), times and versions. Key order is kept
    (dicts keep it)."""
    port = base_url.rsplit(":", 1)[1].split("/", 1)[0]
    text = text.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT").replace(str(workdir), "TMP")
    text = text.replace(str(checkout), "REPO").replace(str(REPO), "REPO")
    data = json.loads(text)
    data["totals"]["wall_time_s"] = "T"
    _blank(data["meta"])
    return data


def _blank(meta: dict[str, Any]) -> None:
    for key, value in meta.items():
        if key in _VOLATILE_META:
            meta[key] = "X"
        elif isinstance(value, dict):
            _blank(value)


def main(argv: list[str]) -> int:
    checkout, dest = Path(argv[0]).resolve(), Path(argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            proc, text, base_url = run_case(case, checkout, Path(tmp))
            print(case, proc.returncode, proc.stderr.strip().splitlines()[-1:] if proc.stderr else "")
            normalised = normalise(text, base_url, Path(tmp), checkout)
            (dest / f"{case}.json").write_text(json.dumps(normalised, indent=2, ensure_ascii=False) + "\n")
            (dest / f"{case}.exit").write_text(f"{proc.returncode}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
