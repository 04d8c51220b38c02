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

    python benchmarks/bench_lexical.py            # 10,000 pairs (~10 min on 2 idle cores, mostly the baseline)
    python benchmarks/bench_lexical.py --n 500    # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judgekit import lexical
from judgekit.lexical import metrics as lexical_metrics
from judgekit.lexical import pool, worker
from judgekit.wordnet import load_wordnet

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


def single_process_loop(
    predictions: dict[str, str], references: dict[str, list[str]], wordnet: object
) -> dict[str, dict[str, float]]:
    """The baseline: one process, a plain loop calling rouge-score and nltk directly."""
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    sentences, words, porter = PunktSentenceTokenizer(), NLTKWordTokenizer(), PorterStemmer()

    def tokens(text: str) -> list[str]:
        return [tok for sent in sentences.tokenize(text) for tok in words.tokenize(sent)]

    out: dict[str, dict[str, float]] = {}
    for item_id, refs in references.items():
        prediction = predictions[item_id]
        rouge = scorer.score(refs[0], prediction)  # target first
        scores = {}
        for t in ("rouge1", "rouge2", "rougeL"):
            scores[f"{t}_p"] = float(rouge[t].precision)
            scores[f"{t}_r"] = float(rouge[t].recall)
            scores[f"{t}_f"] = float(rouge[t].fmeasure)
        scores["meteor"] = float(
            meteor_score([tokens(r) for r in refs], tokens(prediction), stemmer=porter, wordnet=wordnet)
        )
        out[item_id] = scores
    return out


TARGET = 8.0  # issue 13: judgekit lexical at least 8x the single-process loop on 2 cores


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
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
