"""Calls saved by ``judgekit select --race`` against scoring all of dev, end to end as a user runs it.

    python benchmarks/bench_select.py [--items 200] [--worse 4]

Synthetic labels 1-5 on ``--items`` items (30% held out as test); candidates on scripted servers
(``tests/server.py``, in this process): ``good`` writes the true label, ``near`` is one point off on every
fourth item, and ``--worse`` candidates answer with no relation to the truth. The same ``judgekit select``
command runs twice, each with a fresh cache: without ``--race`` (baseline: every candidate scores all of
dev) and with it. Prints the dev calls counted at the servers, the ratio, the wall time and the choice of
each; target: racing saves at least 40% of the dev calls and chooses the same candidate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.select_fixtures import (  # noqa: E402
    KEY_ENV,
    candidates_yaml,
    exact,
    items_called,
    noise,
    off_by_one_every,
    script_judge,
    truth,
    write_inputs,
)
from tests.server import ScriptedServer  # noqa: E402


def run(folder: Path, cands: Path, paths: dict[str, Path], race: bool) -> tuple[dict[str, object], float]:
    out = folder / ("race.json" if race else "full.json")
    env = {
        **os.environ,
        KEY_ENV: "sk-bench",
        "PYTHONPATH": str(REPO),
        "JUDGEKIT_CACHE_DIR": str(folder / out.stem),
    }
    args = [
        sys.executable, "-m", "judgekit", "select", "--candidates", str(cands), "--dataset", str(paths["dataset"]),
        "--responses", str(paths["responses"]), "--human", str(paths["human"]), "--out", str(out),
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run([*args, *(["--race"] if race else [])], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(out.read_text()), wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--worse", type=int, default=4)
    a = parser.parse_args()
    labels = truth(a.items)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_inputs(folder, labels)
        names = ["good", "near", *(f"worse{k}" for k in range(a.worse))]
        servers = {n: ScriptedServer().start() for n in names}
        try:
            for n, s in servers.items():
                script_judge(
                    s, labels, exact if n == "good" else off_by_one_every(4) if n == "near" else noise
                )
            cands = candidates_yaml(
                folder / "c.yaml", [{"name": n, "server": servers[n], "price": 1.0} for n in names]
            )
            report = {}
            for race in (False, True):
                result, wall = run(folder, cands, paths, race)
                test = set(result["split"]["test"])  # type: ignore[index]
                dev_calls = sum(len(items_called(s) - test) for s in servers.values())
                calls = sum(len(s.calls) for s in servers.values())
                report[race] = (dev_calls, calls, wall, result)
                for s in servers.values():
                    s.clear_calls()
        finally:
            for s in servers.values():
                s.stop()
    n_dev = len(report[False][3]["split"]["dev"])  # type: ignore[index]
    print(f"{a.items} items ({n_dev} dev), {len(names)} candidates, machine: {os.cpu_count()} cores")
    for race, label in ((False, "full dev (baseline)"), (True, "--race")):
        dev_calls, calls, wall, result = report[race]
        stopped = {c["name"]: c["stopped_after"] for c in result["candidates"] if c["stopped_after"]}  # type: ignore[index]
        print(
            f"  {label:<20} dev calls {dev_calls:5d}  all calls {calls:5d}  wall {wall:6.1f} s  "
            f"chosen {result['chosen']['name']}  stopped {stopped or '-'}"  # type: ignore[index]
        )
    saved = 1 - report[True][0] / report[False][0]
    same = report[True][3]["chosen"]["name"] == report[False][3]["chosen"]["name"]  # type: ignore[index]
    print(
        f"  ratio race/full dev calls = {report[True][0] / report[False][0]:.2f}  (saved {saved:.0%}; target >= 40%)"
    )
    print(f"  same choice: {same}")


if __name__ == "__main__":
    main()
