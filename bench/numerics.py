"""Where do two runs of the same job diverge? Fingerprint the numerically fragile steps in one setting
(thread count, CPU kernels), then compare two fingerprints, or two finished sweep folders.

    python bench/numerics.py fingerprint --model smollm2-135m-instruct --out a.json
    OMP_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \\
        python bench/numerics.py fingerprint --model smollm2-135m-instruct --threads 1 --out b.json
    python bench/numerics.py compare a.json b.json
    python bench/numerics.py compare-sweeps runs/tiny-a runs/tiny-b     # every metric of two results tables
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
import os
import subprocess
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


def compare_sweeps(args) -> None:
    import numpy as np
    import pandas as pd

    dfs = []
    for d in (args.a, args.b):
        out = os.path.join(d, "results.compare.csv")
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "taskdistill"), "sweep", "export", d, "--out", out], check=True,
                       capture_output=True)
        dfs.append(pd.read_csv(out))
    keys = [c for c in ("target", "schedule", "method", "supervision", "dataset_size", "seed") if c in dfs[0]]
    a, b = (df.sort_values(keys).reset_index(drop=True) for df in dfs)
    timing = ("seconds", "_per_s", "wall", "created")
    cols = [c for c in a.columns if "." in c and pd.api.types.is_numeric_dtype(a[c]) and not c.endswith(timing)]
    diff = {c: float(np.nanmax(np.abs(a[c].to_numpy(float) - b[c].to_numpy(float))))
            for c in cols if a[c].notna().any()}
    env = {c: v for c, v in diff.items() if c.startswith(("runtime.", "settings."))}
    metrics = {c: v for c, v in diff.items() if c not in env}
    nz = {c: v for c, v in metrics.items() if v > 0}
    print(f"{len(a)} rows, {len(metrics)} metric columns (timings left out): {len(metrics) - len(nz)} identical")
    for c, v in sorted(nz.items(), key=lambda kv: -kv[1]):
        print(f"  {c}: max |diff| {v:.3g}")
    print("settings that differ: " + (", ".join(c for c, v in env.items() if v > 0) or "none"))


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
    for name in ("compare", "compare-sweeps"):
        c = sub.add_parser(name)
        c.add_argument("a")
        c.add_argument("b")
    t = sub.add_parser("ties")
    t.add_argument("fingerprint")
    t.add_argument("--steps", type=float, nargs="+", default=[1e-6, 1e-5, 1e-4])
    args = ap.parse_args()
    {"fingerprint": fingerprint, "compare": compare, "compare-sweeps": compare_sweeps, "ties": ties}[args.cmd](args)


if __name__ == "__main__":
    main()
