"""Where do two runs of the same job diverge? Fingerprint the numerically fragile steps in one setting
(thread count, CPU kernels), then compare two fingerprints, or two runs (sweep folders or results tables).

    python bench/numerics.py fingerprint --model smollm2-135m-instruct --out a.json
    OMP_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \\
        python bench/numerics.py fingerprint --model smollm2-135m-instruct --threads 1 --out b.json
    python bench/numerics.py compare a.json b.json
    python bench/numerics.py compare-sweeps runs/tiny-a runs/tiny-b     # every metric of two results tables
    python bench/numerics.py compare-sweeps results/finheadlines-cpu/results.csv runs/study   # shared cells
    python bench/numerics.py ties a.json      # what rounding near-tied pruning scores would change

A fingerprint holds, for ``--model`` on the task's default data: the activation importance scores of
``--n-calib`` calibration texts, the units kept at each ``--targets`` ratio and the smallest score gap at
each keep/drop boundary (how close a pruning choice is to a tie), and the greedy chain-of-thought traces
of ``--n-traces`` train headlines (the annotate stage's settings: batch 16, 64 new tokens). The
environment (``taskdistill.info.runtime()``) is recorded with it. docs/reproducibility.md has results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def fingerprint(args) -> None:
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    from taskdistill.data.default import ensure_dataset
    from taskdistill.info import runtime
    from taskdistill.models import load_model
    from taskdistill.prune.apply import apply_plan
    from taskdistill.prune.calib import calibration_texts
    from taskdistill.prune.importance import compute_importance
    from taskdistill.prune.plan import plan_shape
    from taskdistill.task import load_task
    from taskdistill.teacher.generate import generate_local

    task = load_task(args.task)
    data = ensure_dataset(quiet=True)
    model, tok = load_model(args.model, quiet=True)
    t0 = time.perf_counter()
    texts = calibration_texts(tok, task, data / "train.parquet", n=args.n_calib, seed=0)
    imp = compute_importance(model, tok, texts, cache=False, progress=False, task_hash=task.hash)
    scores = {k: getattr(imp, k).double() for k in ("heads", "neurons", "channels", "layers")}

    def gap(s, k):  # (k-th largest - (k+1)-th largest) / largest: 0 = an exact tie at the boundary
        v = torch.sort(s, descending=True).values
        return float((v[k - 1] - v[k]) / v.abs().max()) if 0 < k < len(v) else None

    plans = {}
    for target in args.targets:
        p = plan_shape(model.config, target)
        kept = apply_plan(model, p, imp).taskdistill_kept
        gaps = {"neurons": min(gap(s, p.intermediate) or 1.0 for s in scores["neurons"]),
                "channels": gap(scores["channels"], p.hidden), "layers": gap(scores["layers"], p.layers)}
        plans[str(target)] = {"kept": kept, "boundary_gap": gaps}
    t1 = time.perf_counter()
    rows = pd.read_parquet(data / "train.parquet").sample(n=args.n_traces, random_state=1)
    traces = generate_local(model, tok, task, rows[task.input_field].tolist(), max_new_tokens=64, batch_size=16)
    out = {"model": args.model, "runtime": runtime(), "importance": {k: v.tolist() for k, v in scores.items()},
           "plans": plans, "traces": traces,
           "seconds": {"importance": t1 - t0, "traces": time.perf_counter() - t1}}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"{args.out}: {json.dumps(out['runtime'])}; {out['seconds']}")


def _flat(x):
    if isinstance(x, list):
        for v in x:
            yield from _flat(v)
    else:
        yield x


def compare(args) -> None:
    a, b = (json.load(open(p)) for p in (args.a, args.b))
    print("A:", json.dumps(a["runtime"]))
    print("B:", json.dumps(b["runtime"]))
    for k in a["importance"]:
        x, y = list(_flat(a["importance"][k])), list(_flat(b["importance"][k]))
        rel = max(abs(u - v) / max(abs(u), 1e-30) for u, v in zip(x, y, strict=True))
        print(f"importance {k:8s}: {'identical' if x == y else 'differs'}, max relative diff {rel:.1e}")
    for t, pa in a["plans"].items():
        same = pa["kept"] == b["plans"][t]["kept"]
        g = pa["boundary_gap"]
        print(f"pruning to {t}: kept units {'identical' if same else 'DIFFER'}; smallest boundary gap / max score: "
              + ", ".join(f"{k} {v:.1e}" for k, v in g.items() if v is not None))
    ta, tb = a["traces"], b["traces"]
    diff = [i for i, (u, v) in enumerate(zip(ta, tb, strict=True)) if u != v]
    print(f"greedy traces: {len(ta) - len(diff)}/{len(ta)} identical")
    for i in diff[:5]:
        u, v = ta[i], tb[i]
        j = next((j for j in range(min(len(u), len(v))) if u[j] != v[j]), min(len(u), len(v)))
        print(f"  #{i} first differs at char {j}: {u[max(0, j - 25):j + 30]!r} vs {v[max(0, j - 25):j + 30]!r}")


def ties(args) -> None:
    """What rounding scores to a step q (a fraction of the largest score) before ranking would change."""
    import torch
    from transformers import AutoConfig

    from taskdistill.models.load import resolve_model_dir
    from taskdistill.prune.plan import plan_shape

    fp = json.load(open(args.fingerprint))
    config = AutoConfig.from_pretrained(resolve_model_dir(fp["model"], quiet=True))
    neurons, channels = torch.tensor(fp["importance"]["neurons"]), torch.tensor(fp["importance"]["channels"])

    def top(s, k, q=None):
        if q:
            s = torch.round(s / (s.abs().max() * q))
        return torch.sort(torch.sort(s, descending=True, stable=True).indices[:k]).values.tolist()

    for q in args.steps:
        for target in fp["plans"]:
            p = plan_shape(config, float(target))
            changed = sum(top(n, p.intermediate) != top(n, p.intermediate, q) for n in neurons)
            ch = top(channels, p.hidden) != top(channels, p.hidden, q)
            print(f"q={q:g} target {target}: kept neurons change in {changed}/{len(neurons)} layers; "
                  f"kept hidden channels {'change' if ch else 'unchanged'}")


def _results_table(path: str):
    """A results table as the fit and the report read it: a results file (.csv / .parquet) or a sweep folder."""
    from pathlib import Path

    from taskdistill.scaling.cli import read_sweep
    from taskdistill.scaling.table import load_table

    p = Path(path)
    return load_table(sweep=p, read_sweep=read_sweep) if p.is_dir() else load_table(results=p)


# the metrics a reader of the study looks at first: their spread is printed whatever the other columns do
HEADLINE = ("indomain.macro_f1", "indomain.nll", "mmlu.text_gain_frac", "mmlu.acc", "transfer.real-dev.macro_f1")


def compare_sweeps(args) -> None:
    """Every metric of the finished rows two runs share (matched by cell id): identical columns, and the
    largest and mean absolute difference of the others."""
    import numpy as np
    import pandas as pd

    a, b = (_results_table(p) for p in (args.a, args.b))
    a, b = (df[df["status"] == "done"].set_index("cell_id") for df in (a, b))
    n_a, n_b = len(a), len(b)
    shared = a.index.intersection(b.index)
    if shared.empty:
        sys.exit(f"{args.a} and {args.b} have no finished cell in common (cell ids differ: not the same spec?)")
    a, b = a.loc[shared], b.loc[shared]
    timing = ("seconds", "_per_s", "wall", "created", "latency_ms_batch1")
    cols = [c for c in a.columns if "." in c and c in b.columns and not c.endswith(timing)
            and pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c])]
    diff = {}
    for c in cols:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        both = np.isfinite(x) & np.isfinite(y)
        if both.any():
            d = np.abs(x[both] - y[both])
            diff[c] = (float(d.max()), float(d.mean()), int(both.sum()))
    env = {c: v for c, v in diff.items() if c.startswith(("runtime.", "settings."))}
    metrics = {c: v for c, v in diff.items() if c not in env}
    nz = {c: v for c, v in metrics.items() if v[0] > 0}
    print(f"{len(shared)} finished rows in common ({n_a} in the first, {n_b} in the second), {len(metrics)} "
          f"metric columns (timings left out): {len(metrics) - len(nz)} identical")
    rest = sorted((c for c in nz if c not in HEADLINE), key=lambda c: -nz[c][0])
    for c in [c for c in HEADLINE if c in metrics] + rest[: args.top]:
        mx, mean, n = metrics[c]
        print(f"  {c}: max |diff| {mx:.3g}, mean |diff| {mean:.3g} over {n} rows")
    if len(rest) > args.top:
        print(f"  ... and {len(rest) - args.top} more columns that differ")
    print("settings that differ: " + (", ".join(c for c, v in env.items() if v[0] > 0) or "none"))
    text = [c for c in ("runtime.cpu_capability", "runtime.cpu", "runtime.blas") if c in a.columns and c in b.columns]
    for c in text:
        va, vb = sorted(set(a[c].astype(str))), sorted(set(b[c].astype(str)))
        if va != vb:
            print(f"{c}: {', '.join(va)} vs {', '.join(vb)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fingerprint")
    f.add_argument("--model", default="smollm2-135m-instruct")
    f.add_argument("--task", default="finheadlines")
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--n-calib", type=int, default=32)
    f.add_argument("--n-traces", type=int, default=96)
    f.add_argument("--targets", type=float, nargs="+", default=[0.79, 0.58])
    f.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c = sub.add_parser("compare-sweeps", help="two sweep folders or results tables (.csv / .parquet)")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--top", type=int, default=12, help="other differing columns to list, largest first")
    t = sub.add_parser("ties")
    t.add_argument("fingerprint")
    t.add_argument("--steps", type=float, nargs="+", default=[1e-6, 1e-5, 1e-4])
    args = ap.parse_args()
    {"fingerprint": fingerprint, "compare": compare, "compare-sweeps": compare_sweeps, "ties": ties}[args.cmd](args)


if __name__ == "__main__":
    main()
