"""Semantic dedup at corpus scale: time and peak memory of our index vs a naive full-matrix baseline.

Data: "random but realistic" embeddings — unit vectors (dim 384) drawn around 5,000 topic centres
with a per-row spread, so a share of each topic's rows are near-duplicates (like the paper's one-shot
batch, which lost ~65%) and the rest are distinct.

Methods (all stream the corpus in batches of 4,096, as the pipeline does):
- ``naive``: the whole N x N similarity matrix at once, then the greedy keep pass. Its memory is
  N^2 * 4 bytes (40 GB at 100k), so it runs on a subsample (``--naive-n``, default 8,000) and its time
  and memory are EXTRAPOLATED quadratically to N; the report says so.
- ``exact``: ``SemanticIndex(mode="exact")``, blocked exact search, memory ~ corpus + one block.
- ``clustered``: ``SemanticIndex(mode="clustered")``, 256 k-means partitions, 4 probed per query.

Peak memory is measured with ``tracemalloc`` (numpy reports its buffers to it), from after the data
is generated to the end of the dedup, so it is the method's own working set. Exact search at 500k
costs ~N^2 dot products (tens of minutes on 2 cores): it runs only with ``--exact-max`` >= N.

    python bench/dedup.py                    # 100k and 500k; exact only at 100k
    python bench/dedup.py --sizes 20000 --exact-max 20000 --naive-n 4000   # quick
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from taskdistill.data.synth.dedup import SemanticIndex


def make_embeddings(n: int, dim: int = 384, centres: int = 5000, seed: int = 0) -> np.ndarray:
    """Unit vectors around ``centres`` topics; each row's noise scale is drawn in [0.008, 0.03], so
    copies of a topic range from near-duplicates (cosine ~0.98) to clearly distinct (~0.75)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 50000):
        m = min(50000, n - s)
        scale = rng.uniform(0.008, 0.03, size=(m, 1)).astype(np.float32)
        x = c[rng.integers(0, centres, m)] + rng.normal(size=(m, dim)).astype(np.float32) * scale
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def naive(x: np.ndarray, thr: float) -> np.ndarray:
    sims = x @ x.T  # the full matrix
    np.fill_diagonal(sims, -1.0)
    keep = np.ones(len(x), bool)
    close = sims >= thr
    for j in range(1, len(x)):
        if (close[j, :j] & keep[:j]).any():
            keep[j] = False
    return keep


def run_index(x: np.ndarray, mode: str, thr: float, batch: int = 4096) -> np.ndarray:
    idx = SemanticIndex(dim=x.shape[1], threshold=thr, mode=mode, n_clusters=256, n_probe=4, train_size=20000)
    return np.concatenate([idx.add_batch(x[s:s + batch]) for s in range(0, len(x), batch)])


CPU: dict[str, float] = {}


def measure(fn, *a):
    """(result, wall seconds, peak traced bytes); the process CPU seconds go to ``CPU[fn name]`` —
    on a shared machine CPU time is the comparable number, wall time depends on the neighbours."""
    tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    out = fn(*a)
    dt = time.perf_counter() - t
    CPU[f"{fn.__name__}:{a[1] if len(a) > 1 and isinstance(a[1], str) else ''}"] = round(time.process_time() - c, 2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100000, 500000])
    ap.add_argument("--exact-max", type=int, default=100000, help="largest N for the exact blocked search")
    ap.add_argument("--naive-n", type=int, default=8000, help="subsample size for the full-matrix baseline")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    thr = args.threshold
    results = []
    sub = make_embeddings(args.naive_n, seed=1)
    kn, tn, mn = measure(naive, sub, thr)
    naive_cpu = CPU["naive:"]
    ke, te, me = measure(run_index, sub, "exact", thr)
    assert np.array_equal(kn, ke), "blocked exact search must match the full matrix"
    print(f"CPU seconds: {CPU}")
    print(f"baseline on {args.naive_n:,} (measured): naive {tn:.2f}s / {mn / 2**20:.0f} MiB, "
          f"exact blocked {te:.2f}s / {me / 2**20:.0f} MiB, identical keep masks")
    for n in args.sizes:
        for k in [k for k in CPU if k != "naive:"]:
            del CPU[k]  # each size reports its own CPU seconds
        x = make_embeddings(n, seed=1)
        scale = (n / args.naive_n) ** 2
        row = dict(n=n, naive_seconds_extrapolated=round(tn * scale, 1),
                   naive_cpu_seconds_extrapolated=round(CPU["naive:"] * scale, 1),
                   naive_peak_mib_extrapolated=round(mn * scale / 2**20), naive_measured_on=args.naive_n)
        kc, tc, mc = measure(run_index, x, "clustered", thr)
        row.update(clustered_seconds=round(tc, 1), clustered_peak_mib=round(mc / 2**20), clustered_kept=int(kc.sum()))
        if n <= args.exact_max:
            kx, tx, mx = measure(run_index, x, "exact", thr)
            row.update(exact_seconds=round(tx, 1), exact_peak_mib=round(mx / 2**20), exact_kept=int(kx.sum()),
                       clustered_agreement=round(float((kx == kc).mean()), 5),
                       clustered_missed_dups=int((kc & ~kx).sum()))
        row["corpus_mib"] = round(x.nbytes / 2**20)
        row["cpu_seconds"] = {k: v for k, v in CPU.items() if k != "naive:"}
        CPU["naive:"] = naive_cpu
        results.append(row)
        print(json.dumps(row))
        cpu_ratio = row["naive_cpu_seconds_extrapolated"] / max(CPU["run_index:clustered"], 1e-9)
        print(f"N={n:,}: clustered {tc:.1f}s ({row['naive_seconds_extrapolated'] / max(tc, 1e-9):.0f}x faster than "
              f"naive* in wall time, {cpu_ratio:.0f}x in CPU time), peak {row['clustered_peak_mib']} MiB vs naive* {row['naive_peak_mib_extrapolated']:,} MiB"
              + (f"; exact blocked {row['exact_seconds']}s ({row['naive_seconds_extrapolated'] / row['exact_seconds']:.1f}x), "
                 f"peak {row['exact_peak_mib']} MiB, clustered agrees on {row['clustered_agreement']:.2%}"
                 if "exact_seconds" in row else "")
              + "   (* naive extrapolated quadratically from the measured subsample)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(threshold=thr, threads=args.threads, numpy=np.__version__, results=results, baseline_subsample=dict(
                n=args.naive_n, naive_seconds=round(tn, 3), naive_peak_mib=round(mn / 2**20),
                exact_seconds=round(te, 3), exact_peak_mib=round(me / 2**20))), fh, indent=1)


if __name__ == "__main__":
    main()
