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

Reported per arm: wall and CPU time of the pruning step (importance + slicing; model loading excluded;
on a shared machine CPU time is the comparable number), peak RSS of the process, the peak RSS *during
the pruning step* (the kernel's high-water mark is reset after loading, ``/proc/self/clear_refs``) and its
growth over the RSS after loading (the weights are paged in first: safetensors maps them lazily, and
paging them in is not the pruner's allocation), parameters, and the in-domain quality of the pruned
model *before any distillation*: gold-label NLL, accuracy over the 35 classes
(``taskdistill.evaluate.indomain.score_labels`` on ``--n-test`` test headlines). The unpruned model's
NLL is measured in the same run as the baseline. Ratios are against Torch-Pruning.

Optional depth arms (not in the default list; Torch-Pruning has no layer removal to compare with) prune
whole layers only, to ``--depth-target``, ranking layers two ways:

  depth-block_influence   activation importance, layers by 1 - cos(h_in, h_out) (one pass)
  depth-skip_loss         activation importance, layers by the loss increase when skipped (n_layers replays)

Time is bounded: every arm has ``--arm-timeout`` seconds and the whole run ``--budget`` seconds (an arm
gets what is left, and arms that no longer fit are reported as skipped); the defaults (64 calibration
texts, 60 test headlines, 1 thread) finish in about 5-12 minutes on SmolLM2 on a shared 2-core CPU.
One intra-op thread by default: on an oversubscribed CPU a second thread's barriers stall for seconds.

    nice -n 10 python bench/prune.py --model smollm2-135m-instruct --target 0.58 --n-test 60 --n-calib 64 \
        --json bench_prune.json
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
DEPTH_ARMS = ("depth-block_influence", "depth-skip_loss")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading covers only what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


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

    from taskdistill.evaluate.indomain import score_labels
    from taskdistill.task import load_task

    task = load_task("finheadlines")
    probs = score_labels(model, tok, task, rows[task.input_field].tolist(), progress=False)
    gold = np.array([task.index(lab) for lab in rows["label"]])
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
    # Ratios nudged half a unit so TP's rounding lands on the plan: it removes ceil(ratio * heads) query
    # heads (then ceil(that / kv_heads) per KV group); with the exact float 1 - 6/9 = 0.33333333333333337
    # that ceil is 4, and TP 1.6.1 was seen to prune no head at all (tiny 9-head / 3-KV Llama), while
    # 2.5/9 prunes exactly one per group. For the MLP it keeps int(n * (1 - ratio)) neurons.
    head_ratio = (cfg.num_attention_heads - plan.heads - 0.5) / cfg.num_attention_heads
    mlp_ratio = 1 - (plan.intermediate + 0.5) / cfg.intermediate_size
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
    got = (min(heads), min(kv), min(inter))
    if got != (plan.heads, plan.kv_heads, plan.intermediate):
        raise RuntimeError(f"Torch-Pruning produced heads/kv/mlp {got}, not the planned "
                           f"{(plan.heads, plan.kv_heads, plan.intermediate)}: the comparison would be unfair")
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
    depth = arm in DEPTH_ARMS
    if depth:
        plan = plan_shape(model.config, args.depth_target, strategy="depth")
    else:
        plan = plan_shape(model.config, args.target, axes=("heads", "mlp"))
    data = _dataset(args.data)
    calib = None
    if arm == "ours-activation" or depth:
        from taskdistill.prune.calib import calibration_texts

        calib = calibration_texts(tok, data / "train.parquet", n=args.n_calib, seed=args.seed)
    # safetensors weights are memory-mapped and paged in lazily: read every tensor once so that the RSS
    # after loading includes them and the step's growth counts only what the pruning allocates
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.float().sum()
    rss_loaded = _rss_mb()
    hwm_ok = _reset_hwm()
    t0, c0 = time.perf_counter(), time.process_time()
    if arm == "teacher":
        pruned = model
    elif arm == "torch-pruning":
        tp_prune(model, tok, plan)
        pruned = model
    elif depth:
        imp = compute_importance(model, tok, calib, method="activation", cache=False, progress=False,
                                 max_length=args.max_length, layer_score=arm.split("-", 1)[1])
        pruned = apply_plan(model, plan, imp)
        del model
    elif arm in ("ours-activation", "ours-magnitude"):
        method = arm.split("-", 1)[1]
        imp = compute_importance(model, tok, calib, method=method, cache=False, progress=False,
                                 max_length=args.max_length)
        pruned = apply_plan(model, plan, imp)
        del model
    else:
        raise SystemExit(f"unknown arm {arm!r}")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mb()
    step_peak = _hwm_mb() if hwm_ok else None
    step_peak = step_peak if step_peak is not None else peak
    out = {"arm": arm, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak,
           "rss_after_load_mb": rss_loaded, "step_peak_rss_mb": step_peak,
           "peak_growth_mb": step_peak - rss_loaded, "params": count_params(pruned),
           "shape": {"heads": pruned.config.num_attention_heads, "kv_heads": pruned.config.num_key_value_heads,
                     "intermediate": pruned.config.intermediate_size, "hidden": pruned.config.hidden_size,
                     "layers": pruned.config.num_hidden_layers}}
    if depth:
        out["dropped_layers"] = [i for i in range(len(imp.layers))
                                 if i not in pruned.taskdistill_kept["layers"]]
        out["layer_scores"] = [round(float(x), 5) for x in imp.layers]
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
    ap.add_argument("--depth-target", type=float, default=0.9, help="target of the optional depth-* arms")
    ap.add_argument("--n-test", type=int, default=60)
    ap.add_argument("--n-calib", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None, help="dataset folder (train/test.parquet); default: the project's")
    ap.add_argument("--arms", default=",".join(("teacher",) + ARMS))
    ap.add_argument("--json", default=None)
    ap.add_argument("--arm-timeout", type=int, default=300, help="seconds before an arm is reported as failed")
    ap.add_argument("--budget", type=int, default=720, help="seconds for the whole run; arms that no longer "
                    "fit are skipped")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args)), flush=True)
        return
    bad = [a for a in args.arms.split(",") if a not in ("teacher",) + ARMS + DEPTH_ARMS]
    if bad:
        raise SystemExit(f"unknown arm(s) {bad}; choose from {('teacher',) + ARMS + DEPTH_ARMS}")
    results = []
    passthrough = [a for a in sys.argv[1:] if not a.startswith("--json")]
    if args.json:
        passthrough = [a for a in passthrough if a != args.json]
    start = time.perf_counter()
    import importlib.metadata as md

    versions = {}
    for pkg in ("torch", "transformers", "torch-pruning", "accelerate"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    for arm in args.arms.split(","):
        t = time.perf_counter()
        limit = int(min(args.arm_timeout, args.budget - (t - start)))
        if limit < 30:
            res = {"arm": arm, "error": f"skipped: --budget {args.budget} s used up"}
            results.append(res)
            print(json.dumps(res), flush=True)
            continue
        try:
            proc = subprocess.run([sys.executable, __file__, *passthrough, "--worker", arm], capture_output=True,
                                  text=True, timeout=limit)
        except subprocess.TimeoutExpired as exc:
            res = {"arm": arm, "error": f"did not finish within its {limit} s (--arm-timeout/--budget)"}
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
    total = time.perf_counter() - start
    print(f"\n{args.model} -> {args.target:.0%} (heads + MLP), {args.n_test} test headlines, "
          f"{args.n_calib} calibration texts, seed {args.seed}, {args.threads} thread(s); {total:.0f} s in all")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"{'arm':22} {'params':>12} {'time s':>8} {'cpu s':>7} {'peak MB':>8} {'+MB':>7} {'NLL':>7} "
          f"{'acc':>6} {'cpu/TP':>6} {'mem/TP':>6}")
    for r in results:
        if "nll" not in r:
            extra = (f"pruned in {r['seconds']:.2f} s, peak {r['peak_rss_mb']:.0f} MB (+{r['peak_growth_mb']:.0f}); "
                     if "seconds" in r else "")
            print(f"{r['arm']:22} {extra}ERROR {r['error'][-300:]}")
            continue
        vs = base and r["arm"] in ARMS and r["arm"] != "torch-pruning"
        tr = f"{r['cpu_seconds'] / base['cpu_seconds']:.2f}" if vs else "-"
        mr = f"{r['peak_growth_mb'] / base['peak_growth_mb']:.2f}" if vs and base["peak_growth_mb"] > 0 else "-"
        print(f"{r['arm']:22} {r['params']:>12,} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} "
              f"{r['peak_rss_mb']:>8.0f} {r['peak_growth_mb']:>7.0f} {r['nll']:>7.3f} {r['accuracy']:>6.3f} "
              f"{tr:>6} {mr:>6}")
    for arms, what in ((ARMS, "width (heads + MLP)"), (DEPTH_ARMS, f"depth-only to {args.depth_target:.0%}")):
        same_shape = [r for r in ok if r["arm"] in arms]
        if same_shape:
            best = min(same_shape, key=lambda r: r["nll"])
            print(f"{what}: lowest in-domain NLL before distillation: {best['arm']} ({best['nll']:.3f})")
    for r in ok:
        if "dropped_layers" in r:
            print(f"{r['arm']}: dropped layers {r['dropped_layers']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "versions": versions, "total_seconds": total,
                                               "command": " ".join(sys.argv), "results": results}, indent=2))


if __name__ == "__main__":
    main()
