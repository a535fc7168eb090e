"""Benchmark: our width pruning (heads + MLP) of SmolLM2 vs Torch-Pruning, in one run.

Every arm prunes the same model to the same shape (``plan_shape(config, target, axes=("heads", "mlp"))``:
query heads per KV group and MLP neurons, hidden and depth untouched) and runs in its own subprocess so
that its peak memory is its own:

  ours-activation   taskdistill activation importance on in-domain calibration prompts (no cache)
  ours-magnitude    taskdistill data-free weight-magnitude importance
  torch-pruning     torch_pruning.BasePruner + GroupMagnitudeImportance(p=2), GQA-aware head pruning
                    (num_heads for q/k/v, prune_num_heads, no head-dim pruning), o_proj/down_proj/lm_head
                    ignored so the hidden width stays; the HF config/attention attributes are then
                    patched by hand (Torch-Pruning only edits tensors) so the model runs and reloads.

Reported per arm: wall time of the pruning step (importance + slicing; model loading excluded), peak RSS
of the process and its growth over the RSS after loading the model, parameters, and the in-domain
quality of the pruned model *before any distillation*: gold-label NLL, accuracy over the 35 classes
(``taskdistill.evaluate.indomain.score_labels`` on ``--n-test`` test headlines). The unpruned model's
NLL is measured in the same run as the baseline. Ratios are against Torch-Pruning.

    python bench/prune.py --model smollm2-135m-instruct --target 0.58 --n-test 100 --json bench_prune.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ARMS = ("ours-activation", "ours-magnitude", "torch-pruning")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _dataset(path: str | None) -> Path:
    from taskdistill.cache import stage_dir

    if path:
        return Path(path)
    try:
        from taskdistill.data.default import dataset_dir

        d = dataset_dir()
        if (d / "test.parquet").exists():
            return d
    except Exception:  # noqa: BLE001 - fall back to any finished dataset folder
        pass
    done = sorted((p for p in stage_dir("data").glob("finheadlinemix-mini-*") if (p / "test.parquet").exists()),
                  key=lambda p: p.stat().st_mtime)
    if not done:
        raise SystemExit("no dataset found: run `taskdistill data` first or pass --data <folder>")
    return done[-1]


def _test_rows(data: Path, n: int, seed: int):
    import pandas as pd

    df = pd.read_parquet(data / "test.parquet")
    return df.sample(n=min(n, len(df)), random_state=seed).reset_index(drop=True)


def evaluate_nll(model, tok, rows) -> dict:
    import numpy as np

    from taskdistill.data.taxonomy import LABELS
    from taskdistill.evaluate.indomain import score_labels

    probs = score_labels(model, tok, rows["headline"].tolist(), progress=False)
    gold = np.array([LABELS.index(lab) for lab in rows["label"]])
    p_gold = np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1.0)
    return {"nll": float(-np.log(p_gold).mean()), "accuracy": float((probs.argmax(1) == gold).mean()),
            "n": len(gold)}


def tp_prune(model, tok, plan) -> None:
    """Torch-Pruning's LLM recipe restricted to heads + MLP, then the HF bookkeeping it leaves to users."""
    import torch_pruning as tp

    cfg = model.config
    cfg._attn_implementation = "eager"  # TP traces the graph; sdpa + cache objects make tracing explode
    ex = tok(["Acme Corp beats quarterly estimates"], return_tensors="pt")["input_ids"]
    num_heads, ratios, ignored = {}, {}, [model.lm_head]
    head_ratio = 1 - plan.heads / cfg.num_attention_heads
    mlp_ratio = 1 - plan.intermediate / cfg.intermediate_size
    for layer in model.model.layers:
        a = layer.self_attn
        num_heads[a.q_proj] = cfg.num_attention_heads
        num_heads[a.k_proj] = cfg.num_key_value_heads
        num_heads[a.v_proj] = cfg.num_key_value_heads
        ratios[a.q_proj] = head_ratio
        ratios[layer.mlp.gate_proj] = mlp_ratio
        ignored += [a.o_proj, layer.mlp.down_proj]  # roots of the hidden-width group: keep hidden intact
    pruner = tp.pruner.BasePruner(
        model, example_inputs=ex, importance=tp.importance.GroupMagnitudeImportance(p=2),
        global_pruning=False, pruning_ratio=0.0, pruning_ratio_dict=ratios, ignored_layers=ignored,
        num_heads=num_heads, prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=head_ratio,
        output_transform=lambda out: out.logits,
        forward_fn=lambda m, x: m(input_ids=x, use_cache=False),
    )
    pruner.step()
    d = plan.head_dim
    heads = {layer.self_attn.q_proj.out_features // d for layer in model.model.layers}
    kv = {layer.self_attn.k_proj.out_features // d for layer in model.model.layers}
    inter = {layer.mlp.gate_proj.out_features for layer in model.model.layers}
    if len(heads) != 1 or len(kv) != 1 or len(inter) != 1:
        raise RuntimeError(f"Torch-Pruning left non-uniform layers: heads {heads}, kv {kv}, mlp {inter}")
    cfg.num_attention_heads, cfg.num_key_value_heads, cfg.intermediate_size = heads.pop(), kv.pop(), inter.pop()
    cfg.head_dim = d
    for layer in model.model.layers:
        layer.self_attn.num_key_value_groups = cfg.num_attention_heads // cfg.num_key_value_heads
    cfg._attn_implementation = "sdpa"


def worker(arm: str, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from taskdistill.models import load_model
    from taskdistill.models.arch import count_params
    from taskdistill.prune import apply_plan, compute_importance, plan_shape

    model, tok = load_model(args.model, quiet=True)
    plan = plan_shape(model.config, args.target, axes=("heads", "mlp"))
    data = _dataset(args.data)
    calib = None
    if arm == "ours-activation":
        from taskdistill.prune.calib import calibration_texts

        calib = calibration_texts(tok, data / "train.parquet", n=args.n_calib, seed=args.seed)
    rss_loaded = _rss_mb()
    t0 = time.perf_counter()
    if arm == "teacher":
        pruned = model
    elif arm == "torch-pruning":
        tp_prune(model, tok, plan)
        pruned = model
    else:
        method = arm.split("-", 1)[1]
        imp = compute_importance(model, tok, calib, method=method, cache=False, progress=False,
                                 max_length=args.max_length)
        pruned = apply_plan(model, plan, imp)
        del model
    seconds = time.perf_counter() - t0
    peak = _peak_mb()
    out = {"arm": arm, "seconds": seconds, "peak_rss_mb": peak, "rss_after_load_mb": rss_loaded,
           "peak_growth_mb": peak - rss_loaded, "params": count_params(pruned),
           "shape": {"heads": pruned.config.num_attention_heads, "kv_heads": pruned.config.num_key_value_heads,
                     "intermediate": pruned.config.intermediate_size, "hidden": pruned.config.hidden_size,
                     "layers": pruned.config.num_hidden_layers}}
    print("PARTIAL " + json.dumps(out), flush=True)  # time/memory survive an evaluation timeout
    # a pruned checkpoint is only useful if it reloads: check every arm the same way
    from transformers import AutoModelForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        pruned.save_pretrained(tmp)
        back = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()
        enc = tok(["Acme Corp beats quarterly estimates"], return_tensors="pt")
        with torch.no_grad():
            diff = (back(**enc).logits - pruned(**enc).logits).abs().max().item()
    out["reload_max_abs_diff"] = diff
    out.update(evaluate_nll(pruned, tok, _test_rows(data, args.n_test, args.seed)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--target", type=float, default=0.58)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--n-calib", type=int, default=128)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None, help="dataset folder (train/test.parquet); default: the project's")
    ap.add_argument("--arms", default=",".join(("teacher",) + ARMS))
    ap.add_argument("--json", default=None)
    ap.add_argument("--arm-timeout", type=int, default=1800, help="seconds before an arm is reported as failed")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args)), flush=True)
        return
    results = []
    passthrough = [a for a in sys.argv[1:] if not a.startswith("--json")]
    if args.json:
        passthrough = [a for a in passthrough if a != args.json]
    for arm in args.arms.split(","):
        t = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, __file__, *passthrough, "--worker", arm], capture_output=True,
                                  text=True, timeout=args.arm_timeout)
        except subprocess.TimeoutExpired as exc:
            res = {"arm": arm, "error": f"did not finish within --arm-timeout {args.arm_timeout} s"}
            partial = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            for ln in partial.splitlines():
                if ln.startswith("PARTIAL "):
                    res.update(json.loads(ln[8:]))
            res["subprocess_seconds"] = time.perf_counter() - t
            results.append(res)
            print(json.dumps(res), flush=True)
            continue
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            res = {"arm": arm, "error": (proc.stderr or proc.stdout)[-2000:]}
        else:
            res = json.loads(lines[-1][7:])
        res["subprocess_seconds"] = time.perf_counter() - t
        results.append(res)
        print(json.dumps(res), flush=True)
    ok = [r for r in results if "nll" in r]
    base = next((r for r in ok if r["arm"] == "torch-pruning"), None)
    print(f"\n{args.model} -> {args.target:.0%} (heads + MLP), {args.n_test} test headlines, seed {args.seed}")
    print(f"{'arm':18} {'params':>12} {'time s':>8} {'peak MB':>8} {'+MB':>7} {'NLL':>7} {'acc':>6} "
          f"{'t/TP':>6} {'mem/TP':>6}")
    for r in results:
        if "nll" not in r:
            extra = (f"pruned in {r['seconds']:.2f} s, peak {r['peak_rss_mb']:.0f} MB (+{r['peak_growth_mb']:.0f}); "
                     if "seconds" in r else "")
            print(f"{r['arm']:18} {extra}ERROR {r['error'][-300:]}")
            continue
        tr = f"{r['seconds'] / base['seconds']:.2f}" if base and r["arm"] != "teacher" else "-"
        mr = f"{r['peak_growth_mb'] / base['peak_growth_mb']:.2f}" if base and r["arm"] != "teacher" else "-"
        print(f"{r['arm']:18} {r['params']:>12,} {r['seconds']:>8.2f} {r['peak_rss_mb']:>8.0f} "
              f"{r['peak_growth_mb']:>7.0f} {r['nll']:>7.3f} {r['accuracy']:>6.3f} {tr:>6} {mr:>6}")
    pruned = [r for r in ok if r["arm"] != "teacher"]
    if pruned:
        best = min(pruned, key=lambda r: r["nll"])
        print(f"lowest in-domain NLL before distillation: {best['arm']} ({best['nll']:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
