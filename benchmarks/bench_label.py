"""`judgekit label` on a 10,000-item LaMP-QA dataset: time from the command's start to the page being ready
(the printed URL fetched, the page's script and state loaded, the first item's JSON received), and the time
for the next item (a submit answered with the next item, the label fsync'd first; and a plain look at the
next item). Baseline, measured in the same run: reading the dataset with ``json.load`` in this process.
Targets (issue 20): ready in under 2 s; the next item in under 100 ms. Server-side paging: the page gets one
item per request, never the dataset.

    python benchmarks/bench_label.py               # 10,000 items, 3 starts, 50 submits per start
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO, synthetic_lamp_qa


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        data: bytes = r.read()
        return data


def _post(url: str, origin: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Origin": origin},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (the figure other processes' load disturbs least)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(dataset: Path, responses: Path, labels: Path, submits: int) -> dict[str, Any]:
    """Start the CLI, wait for the page to be ready, time the next items, stop it with Ctrl-C."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "judgekit", "label", "--dataset", str(dataset), "--responses", str(responses),
         "--labels", str(labels), "--annotator", "bench"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        if line.startswith("open http"):
            url = line.split()[1]
            break
    if not url:
        raise SystemExit(f"judgekit label did not start: {proc.stderr.read() if proc.stderr else ''}")
    page = _get(url)
    _get(url + "label.js")
    _get(url + "label.css")
    _get(url + "api/state")
    view = json.loads(_get(url + "api/item"))
    ready = time.perf_counter() - t0
    cpu = _cpu_seconds(proc.pid)
    origin = url.split("/", 3)[0] + "//" + url.split("/", 3)[2]
    submit_ms, look_ms = [], []
    for _ in range(submits):
        body = {"pos": view["pos"], "id": view["item"]["id"], "note": "",
                "labels": {a["aspect"]: "1" for a in view["item"]["aspects"]}}  # fmt: skip
        t = time.perf_counter()
        view = _post(url + "api/label", origin, body)
        submit_ms.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        _get(url + f"api/item?after={view['pos']}")
        look_ms.append(1000 * (time.perf_counter() - t))
    proc.send_signal(2)
    proc.communicate(timeout=30)
    return {"ready": ready, "cpu": cpu, "page_bytes": len(page), "submit_ms": submit_ms, "look_ms": look_ms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--submits", type=int, default=50)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {Path('/proc/loadavg').read_text().split()[:3]}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dataset, responses = synthetic_lamp_qa(folder, args.items, 3)
        size = dataset.stat().st_size + responses.stat().st_size
        t, c = time.perf_counter(), time.process_time()
        with open(dataset) as f:
            json.load(f)
        with open(responses) as f:
            json.load(f)
        baseline, baseline_cpu = time.perf_counter() - t, time.process_time() - c
        runs = [
            one_start(dataset, responses, folder / f"labels{k}.jsonl", args.submits)
            for k in range(args.starts)
        ]
    ready = statistics.median(r["ready"] for r in runs)
    submit = [ms for r in runs for ms in r["submit_ms"]]
    look = [ms for r in runs for ms in r["look_ms"]]
    p95 = statistics.quantiles(submit, n=20)[-1]
    print(f"dataset: {args.items:,} items x 3 aspects, {size / 1e6:.1f} MB (dataset + responses)")
    cpu = statistics.median(r["cpu"] for r in runs)
    print(f"baseline json.load of both files           {baseline:.3f} s wall, {baseline_cpu:.3f} s CPU")
    for k, r in enumerate(runs, 1):
        print(f"  start {k}: page ready {r['ready']:.3f} s wall, server CPU {r['cpu']:.2f} s "
              f"(page {r['page_bytes']:,} bytes)")  # fmt: skip
    print(f"CLI start -> page ready (median of {len(runs)})  {ready:.3f} s wall, {cpu:.2f} s CPU  "
          f"(target < 2 s; {ready / baseline:.1f}x the baseline wall, {cpu / baseline_cpu:.1f}x its CPU)")  # fmt: skip
    print(f"submit -> next item (fsync'd), median      {statistics.median(submit):.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(submit):.1f} ms  (target < 100 ms; n = {len(submit)})")  # fmt: skip
    print(
        f"next item without a submit, median         {statistics.median(look):.1f} ms, max {max(look):.1f} ms"
    )
    fast = statistics.median(submit) < 100
    print(f"ready < 2 s: {'met' if ready < 2 else 'missed'} on wall time, {'met' if cpu < 2 else 'missed'} on CPU "
          f"time; next item < 100 ms: {'met' if fast else 'missed'} (median)")  # fmt: skip


if __name__ == "__main__":
    main()
