"""Lexical metrics throughput: ``judgekit.lexical`` vs a single-process loop over rouge-score and nltk.

10,000 seeded pairs of ~300-word synthetic texts (a prediction is its reference with about a third
of the words replaced and a few spans moved), scored with ROUGE-1/2/L (rouge-score, stemming on)
and METEOR (nltk, with WordNet when installed). The baseline is the plain loop a user would write,
calling ``RougeScorer.score`` and ``meteor_score`` on NLTK's tokenizers. judgekit runs its own
identical implementations (memoised stems, synonyms and sentence breaks, a bit-parallel LCS, tokenizer
rules skipped when they cannot fire, ...) over a process pool on all cores. Prints items/s for both,
the wall-clock speedup against the target (at least 8x on 2 cores, issue 13) and the CPU ratio
(loop CPU / judgekit's CPU, parent and workers: the work per item, which other load on the machine
changes far less than wall time), the machine and /proc/loadavg before and after. judgekit's results
are checked to be identical to the loop's, item by item (exactly equal floats); exit status 1 if not.

Those in-process timings leave out what every run of the command pays once: start-up, reading the
JSON files and making WordNet ready (NLTK's reader parses its index files: seconds; judgekit reads its
lemma-name index, see judgekit/lexical/wordnet_index.py). So the script then also times both end to end, as
subprocesses on the first --e2e-n pairs (default 600): ``python -m judgekit lexical ... --out`` against
benchmarks/lexical_loop.py (the same loop as a script: loads NLTK's WordNet, scores, writes JSON), in
alternating order, medians of --e2e-runs runs; wall, CPU (the subprocess and its workers), the ratio
(target: at least 8x, issue 18), judgekit's time to WordNet-ready in a fresh process (target: under
0.5 s), and whether the two output files hold identical scores.

    python benchmarks/bench_lexical.py            # 10,000 pairs (~10 min on 2 idle cores, mostly the baseline)
    python benchmarks/bench_lexical.py --n 500    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import REPO
from benchmarks.lexical_loop import single_process_loop
from judgekit import lexical
from judgekit.lexical import metrics as lexical_metrics
from judgekit.lexical import pool, worker
from judgekit.lexical.wordnet import load_wordnet

# Common English words (so METEOR's stem and WordNet stages do real work), plus generated rare
# words for a long tail.
_COMMON_TEXT = """
the be to of and a in that have it for not on with he as you do at this but his by from they we say
her she or an will my one all would there their what so up out if about who get which go me when make
can like time no just him know take people into year your good some could them see other than then now
look only come its over think also back after use two how our work first well way even new want because
any these give day most us is was are were been has had did said made found went thought told became
left felt brought began kept held stood heard meant set paid ran sat spoke led read grew lost fell sent
built understood drew broke spent rose drove bought wore chose sought caught fought taught rode shook
house home room door window city street road car train river water fire tree forest mountain field
garden school student teacher book paper letter word story question answer problem idea reason result
change group company system program number part place case point government family friend child woman
man life world hand eye head face body mind heart voice night morning evening week month history music
money market business service power team game news report research study data model method theory
quickly slowly carefully quietly loudly happily sadly easily rarely often always never usually really
big small large little long short high low old young early late important different possible
beautiful strong weak happy sad rich poor free full empty simple difficult clear dark bright warm cold
buy purchase sell begin start finish end help assist show display choose select need require keep hold
"""
COMMON = _COMMON_TEXT.split()


def make_vocabulary(rng: random.Random, rare: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ren", "tos", "vel", "dra", "pin", "sor", "qua", "ber", "lin", "tam"]
    words = set(COMMON)
    while len(words) < len(COMMON) + rare:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make_pairs(n: int, words: int, seed: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]  # Zipf-like frequencies
    rng.shuffle(vocab)
    predictions: dict[str, str] = {}
    references: dict[str, list[str]] = {}
    for i in range(n):
        ref = rng.choices(vocab, weights, k=words)
        pred = [rng.choices(vocab, weights)[0] if rng.random() < 0.35 else w for w in ref]
        for _ in range(3):  # move a few spans
            a = rng.randrange(words - 20)
            span = pred[a : a + 15]
            del pred[a : a + 15]
            b = rng.randrange(len(pred))
            pred[b:b] = span
        for text in (ref, pred):
            for j in range(rng.randint(8, 14), len(text), rng.randint(12, 20)):
                text[j] += "."
        references[f"item{i:05d}"] = [" ".join(ref)]
        predictions[f"item{i:05d}"] = " ".join(pred)
    return predictions, references


TARGET = 8.0  # issue 13: judgekit lexical at least 8x the single-process loop on 2 cores
E2E_TARGET = 8.0  # issue 18: `judgekit lexical` end to end at least 8x the loop's script, 600 pairs
READY_TARGET = 0.5  # issue 18: WordNet ready for METEOR in under 0.5 s

# In a fresh process: import NLTK (the lexical command does anyway), then time judgekit's WordNet for METEOR.
_READY_CODE = """
import json, time
t0 = time.perf_counter()
import nltk.data
t1 = time.perf_counter()
from judgekit.lexical.wordnet import meteor_wordnet
w = meteor_wordnet()
t2 = time.perf_counter()
print(json.dumps({"import_nltk": t1 - t0, "ready": t2 - t1, "kind": type(w).__name__}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children and their children
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command as a user would; (wall s, CPU s of it and its children, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout


def end_to_end(
    predictions: dict[str, str], references: dict[str, list[str]], runs: int, processes: int | None
) -> bool:
    """The user's view: `judgekit lexical` and the loop's script as subprocesses, start-up, data loading and
    WordNet included, in alternating order; prints medians, the ratio and whether the outputs are identical."""
    n = len(references)
    with tempfile.TemporaryDirectory(prefix="bench-lexical-") as tmp:
        folder = Path(tmp)
        (folder / "p.json").write_text(json.dumps(predictions), encoding="utf-8")
        (folder / "r.json").write_text(json.dumps(references), encoding="utf-8")
        loop_cmd = [sys.executable, str(REPO / "benchmarks" / "lexical_loop.py"), *(str(folder / f) for f in ("p.json", "r.json", "loop.json"))]  # fmt: skip
        jk_cmd = [sys.executable, "-m", "judgekit", "lexical", "--predictions", str(folder / "p.json"),
                  "--references", str(folder / "r.json"), "--metrics", "rouge1,rouge2,rougeL,meteor",
                  "--out", str(folder / "jk.json")]  # fmt: skip
        if processes is not None:
            jk_cmd += ["--processes", str(processes)]
        loop_runs: list[tuple[float, float]] = []
        jk_runs: list[tuple[float, float]] = []
        loads: list[float] = []
        identical = True
        for k in range(runs):
            for side in ("loop", "judgekit") if k % 2 == 0 else ("judgekit", "loop"):
                if side == "loop":
                    wall, cpu, _ = _run(loop_cmd)
                    loop_runs.append((wall, cpu))
                    baseline = json.loads((folder / "loop.json").read_text(encoding="utf-8"))
                    loads.append(baseline["wordnet_load_s"])
                else:
                    wall, cpu, _ = _run(jk_cmd)
                    jk_runs.append((wall, cpu))
            ours = json.loads((folder / "jk.json").read_text(encoding="utf-8"))
            identical = identical and ours["items"] == baseline["items"]
        ready = [json.loads(_run([sys.executable, "-c", _READY_CODE])[2]) for _ in range(runs)]
    lw, lc = (statistics.median(x) for x in zip(*loop_runs, strict=True))
    jw, jc = (statistics.median(x) for x in zip(*jk_runs, strict=True))
    ready_s = statistics.median(r["ready"] for r in ready)
    print(f"end to end, {n} pairs: subprocesses as a user runs them (start-up, JSON loading, WordNet included); "
          f"median of {runs} runs, alternating order")  # fmt: skip
    print(f"  plain loop script     : {lw:8.2f} s wall {lc:8.2f} s CPU  (NLTK's WordNet reader: {statistics.median(loads):.2f} s of it)")  # fmt: skip
    print(f"  judgekit lexical      : {jw:8.2f} s wall {jc:8.2f} s CPU")
    print(f"  speedup (wall)        : {lw / jw:8.2f}x   target: at least {E2E_TARGET:g}x (issue 18) -> "
          f"{'met' if lw / jw >= E2E_TARGET else 'NOT met'}")  # fmt: skip
    print(f"  CPU ratio             : {lc / jc:8.2f}x   (loop CPU / judgekit's CPU, parent + workers)")
    print(f"  WordNet ready         : {ready_s:8.3f} s    ({ready[0]['kind']}; median of {runs} fresh processes, after "
          f"import nltk {statistics.median(r['import_nltk'] for r in ready):.2f} s, which the loop pays too) target: under "
          f"{READY_TARGET:g} s -> {'met' if ready_s < READY_TARGET else 'NOT met'}")  # fmt: skip
    print(
        f"  outputs identical     : {'yes' if identical else 'NO'}  (judgekit's --out items vs the loop's, exact floats)"
    )
    return identical


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.partition(":")[2].strip() for line in lines if line.startswith("model name")]
    return models[0] if models else platform.processor() or "unknown CPU"


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="number of pairs (default 10000)")
    parser.add_argument("--words", type=int, default=300, help="words per text (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=None, help="pool size (default: all cores)")
    parser.add_argument(
        "--block", type=int, default=1000, help="items per alternating timing block (default 1000)"
    )
    parser.add_argument("--verbose", action="store_true", help="print the running times after each block")
    parser.add_argument(
        "--e2e-n", type=int, default=600, help="pairs for the end-to-end comparison (default 600; 0: skip)"
    )
    parser.add_argument("--e2e-runs", type=int, default=3, help="end-to-end runs per side (default 3)")
    args = parser.parse_args(argv)

    predictions, references = make_pairs(args.n, args.words, args.seed)
    t0 = time.perf_counter()
    wn = load_wordnet()  # loaded once, before both timings
    load_s = time.perf_counter() - t0
    wordnet: object = wn if wn is not None else worker.NoWordNet()
    mode = lexical.METEOR_WORDNET if wn is not None else lexical.METEOR_NO_WORDNET
    metrics = ["rouge1", "rouge2", "rougeL", "meteor"]

    print(
        f"{args.n} pairs of ~{args.words}-word texts (seed {args.seed}); ROUGE-1/2/L (stemming) + METEOR "
        f"({mode}); WordNet load {load_s:.1f}s, excluded from both timings"
    )
    versions = lexical_metrics._versions()
    print(
        f"machine: {lexical.available_cpus()} cores ({_cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()}; rouge-score {versions['rouge-score']}, nltk {versions['nltk']}"
    )
    print(f"/proc/loadavg before: {_loadavg()}")

    # Alternate blocks of single-process and pooled work (which runs first alternates too), so a
    # change in other load on the machine hits both sides alike.
    ids = list(references)
    blocks = [ids[i : i + args.block] for i in range(0, len(ids), args.block)]
    single_s = single_cpu = pool_s = pool_cpu = 0.0
    baseline: dict[str, dict[str, float]] = {}
    pooled: dict[str, dict[str, float]] = {}
    processes = 1
    loads = [os.getloadavg()[0]]
    for k, block in enumerate(blocks):
        preds = {i: predictions[i] for i in block}
        refs = {i: references[i] for i in block}
        for side in ("single", "pool") if k % 2 == 0 else ("pool", "single"):
            if side == "single":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    c0, t0 = time.process_time(), time.perf_counter()
                    baseline.update(single_process_loop(preds, refs, wordnet))
                    single_s += time.perf_counter() - t0
                    single_cpu += time.process_time() - c0
            else:
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                c0, t0 = time.process_time(), time.perf_counter()
                report = lexical.compute_lexical(preds, refs, metrics, processes=args.processes)
                pool_s += time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                # the parent's own CPU (splitting, collecting, the report) plus its workers'
                pool_cpu += time.process_time() - c0
                pool_cpu += (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
                pooled.update(report.items)
                processes = report.processes
        loads.append(os.getloadavg()[0])
        if args.verbose:
            print(f"  block {k + 1}/{len(blocks)}: single {single_s:.0f}s, pool {pool_s:.0f}s", flush=True)

    wall_ratio, cpu_ratio = single_s / pool_s, single_cpu / pool_cpu
    print(
        f"single-process loop   : {single_s:8.1f} s wall {single_cpu:8.1f} s CPU  {args.n / single_s:8.1f} items/s"
    )
    print(
        f"judgekit, {processes} procs     : {pool_s:8.1f} s wall {pool_cpu:8.1f} s CPU  "
        f"{args.n / pool_s:8.1f} items/s (start method {pool.start_method()}, pool start-up included)"
    )
    print(
        f"speedup (wall)        : {wall_ratio:8.2f}x   target: at least {TARGET:g}x on 2 cores "
        f"(issue 13) -> {'met' if wall_ratio >= TARGET else 'NOT met'}"
    )
    print(
        f"CPU ratio             : {cpu_ratio:8.2f}x   (loop CPU / judgekit's CPU, parent + workers: "
        f"the work per item, which other load on the machine does not change much)"
    )
    print(
        f"timed in {len(blocks)} alternating blocks of {args.block}; 1-min load average min/max during the run: "
        f"{min(loads):.2f} / {max(loads):.2f} on {lexical.available_cpus()} cores (other work lowers the wall speedup)"
    )
    print(f"/proc/loadavg after: {_loadavg()}")
    identical = pooled == baseline
    print(f"results identical to the single-process loop: {'yes' if identical else 'NO'}")
    if args.e2e_n > 0:
        preds, refs = make_pairs(args.e2e_n, args.words, args.seed)  # the same first pairs as above
        identical = end_to_end(preds, refs, args.e2e_runs, args.processes) and identical
        print(f"/proc/loadavg after the end-to-end runs: {_loadavg()}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
