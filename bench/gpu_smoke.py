"""GPU smoke test: prune -> distill (logit and LoRA, bf16) -> evaluate on CUDA, on the embedded default.

What it runs (the same public APIs as the CLI and the sweep; nothing is mocked):

1. the teacher (default SmolLM2-135M-Instruct, fp32 on the device) and the embedded default dataset
   (``finheadlinemix-mini``, built on first use: a one-off CPU cost, timed as "setup");
2. activation-importance pruning to ``--target`` of the teacher's parameters on ``--n-calib``
   in-domain calibration texts, on the device;
3. the teacher's top-k cache over ``--n-rows`` label-format training rows, on the device;
4. logit-KD and LoRA-KD distillation of the pruned student in bfloat16 (``--steps`` steps each);
5. evaluation of both students: ``--n-headlines`` test headlines (in-domain) and ``--n-mmlu`` MMLU
   questions (cloze + question text), in bfloat16 on the device;
6. a CPU figure: the same logit-KD distillation for ``--cpu-steps`` steps in a child process that
   cannot see the GPU (fp32, every CPU thread), to print CUDA tokens/s beside CPU tokens/s.

The pipeline (steps 2-5) must finish within ``--budget-s`` (default 300 s); the script exits 1
when it does not, and with the exception when any step fails. Without a CUDA device it prints
``skipped: no CUDA device`` and exits 0. It needs a CUDA build of torch
(``pip install torch --index-url https://download.pytorch.org/whl/cu126``, matching the driver).

    python bench/gpu_smoke.py                                  # on a GPU machine
    python bench/gpu_smoke.py --device cpu --tiny              # the same code path on tiny:llama, CPU (a check, not a benchmark)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def log(msg: str) -> None:
    print(msg, flush=True)


def _examples(tok, task, rows, max_length: int):
    from taskdistill.targets.examples import build_examples

    return build_examples(tok, task, rows, fmt="label", max_length=max_length)


def _distill(student, tok, task, examples, cache, *, method: str, dtype: str, steps: int, args, out_dir: Path) -> dict:
    """Train a copy of ``student``; return the trained model, tokens/s of the loop and the final loss."""
    from taskdistill.distill.config import DistillConfig
    from taskdistill.distill.trainer import load_log, train

    model = copy.deepcopy(student)
    cfg = DistillConfig(method=method, supervision="label", steps=steps, batch_size=args.batch_size,
                        lr=2e-4 if method == "logit" else 1e-3, warmup_steps=min(2, steps - 1),
                        max_length=args.max_length, dtype=dtype, checkpoint_every=0, seed=args.seed)
    shutil.rmtree(out_dir, ignore_errors=True)
    t0 = time.perf_counter()
    train(model, tok, examples, cfg, out_dir, cache=cache, quiet=True, task=task)
    seconds = time.perf_counter() - t0
    rows = [r for r in load_log(out_dir) if "loss" in r]
    tokens = sum(r["tokens"] for r in rows)
    # the log's tok_s is cumulative (tokens so far / seconds so far); leave the first step out (CUDA
    # kernels, allocator and optimizer state warm up there)
    cum = [sum(r["tokens"] for r in rows[:i + 1]) for i in range(len(rows))]
    elapsed = [c / r["tok_s"] for c, r in zip(cum, rows, strict=True)]
    tok_s = (cum[-1] - cum[0]) / (elapsed[-1] - elapsed[0]) if len(rows) > 1 else rows[-1]["tok_s"]
    return {"model": model, "steps": len(rows), "tokens": tokens, "tok_s": tok_s,
            "loss_first": rows[0]["loss"], "loss_last": rows[-1]["loss"], "seconds": seconds,
            "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
            "device": str(next(model.parameters()).device)}


def cpu_arm(args) -> None:
    """Child process (no GPU visible): logit-KD steps of the saved student, fp32; prints one JSON line."""
    import torch

    from taskdistill.models import load_model
    from taskdistill.targets.cache import TopKCache
    from taskdistill.task import load_task

    assert not torch.cuda.is_available(), "the CPU arm must not see a GPU (CUDA_VISIBLE_DEVICES='')"
    import pandas as pd

    work = Path(args.work)
    task = load_task("finheadlines")
    student, tok = load_model(work / "student", quiet=True)
    ex = _examples(tok, task, pd.read_parquet(work / "rows.parquet"), args.max_length)
    r = _distill(student, tok, task, ex, TopKCache.open(work / "topk"), method="logit", dtype="float32",
                 steps=args.cpu_steps, args=args, out_dir=work / "cpu-run")
    r.pop("model")
    r["threads"] = torch.get_num_threads()
    print(json.dumps(r))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cuda (default; pick the GPU with CUDA_VISIBLE_DEVICES) or cpu (code-path check)")
    ap.add_argument("--data", default=None, help="dataset folder (train/test.parquet); default: the embedded "
                    "finheadlinemix-mini, built on first use")
    ap.add_argument("--tiny", action="store_true", help="tiny:llama teacher (code-path check, not a benchmark)")
    ap.add_argument("--teacher", default="smollm2-135m-instruct", help="model spec (a prepared teacher folder works)")
    ap.add_argument("--target", type=float, default=0.58)
    ap.add_argument("--n-calib", type=int, default=64)
    ap.add_argument("--n-rows", type=int, default=512, help="training rows (teacher top-k cache)")
    ap.add_argument("--steps", type=int, default=40, help="distillation steps per method")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=None, help="default 128 (384 with --tiny)")
    ap.add_argument("--n-headlines", type=int, default=350)
    ap.add_argument("--n-mmlu", type=int, default=200)
    ap.add_argument("--cpu-steps", type=int, default=4, help="steps of the CPU figure, the first untimed "
                    "(0 = skip it)")
    ap.add_argument("--budget-s", type=float, default=300.0, help="fail when the pipeline takes longer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=Path("gpu_smoke.json"))
    ap.add_argument("--work", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cpu-arm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.max_length is None:
        args.max_length = 384 if args.tiny else 128
    if args.steps < 2 or args.cpu_steps == 1:
        ap.error("--steps must be >= 2 and --cpu-steps 0 or >= 2 (the first step is not timed)")
    if args.cpu_arm:
        cpu_arm(args)
        return 0
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the trainer (accelerate) would otherwise pick a visible GPU

    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        log(f"skipped: no CUDA device (torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
            "run with --device cpu --tiny to check the code path")
        return 0
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    import pandas as pd

    from taskdistill.evaluate.record import evaluate_model
    from taskdistill.models import load_model
    from taskdistill.models.arch import count_params
    from taskdistill.prune import prune_model, save_pruned
    from taskdistill.prune.calib import calibration_texts
    from taskdistill.targets.cache import TopKCache, write_topk_cache
    from taskdistill.task import load_task

    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    result: dict = {"device": str(device), "device_name": dev_name, "torch": torch.__version__,
                    "cuda": torch.version.cuda, "settings": {k: str(v) if isinstance(v, Path) else v
                                                             for k, v in vars(args).items()}}
    log(f"device: {device} ({dev_name}); torch {torch.__version__}")
    task = load_task("finheadlines")
    spec = "tiny:llama" if args.tiny else args.teacher

    # -- setup (one-off, cached across runs): the embedded dataset and the converted teacher ----------
    t0 = time.perf_counter()
    if args.data:
        data = Path(args.data)
    else:
        from taskdistill.data.default import ensure_dataset

        data = Path(ensure_dataset(quiet=True))
    for split in ("train", "test"):
        if not (data / f"{split}.parquet").is_file():
            raise SystemExit(f"{data}: no {split}.parquet (--data takes a dataset folder)")
    teacher, tok = load_model(spec, device=device, quiet=True)
    result["setup_s"] = time.perf_counter() - t0
    log(f"setup (dataset {data.name}, teacher {spec}): {result['setup_s']:.1f} s")

    work = Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    try:
        t_pipe = time.perf_counter()
        train_df = pd.read_parquet(data / "train.parquet")
        # -- prune --------------------------------------------------------------------------------
        t = time.perf_counter()
        calib = calibration_texts(tok, task, data / "train.parquet", n=args.n_calib, seed=args.seed)
        student, report = prune_model(teacher, tok, args.target, calib_texts=calib, cache=False, progress=False,
                                      task=task)
        assert next(student.parameters()).device.type == device.type, "the pruned student left the device"
        save_pruned(student, tok, work / "student", report, overwrite=True)
        result["prune"] = {"seconds": time.perf_counter() - t, "params": count_params(student),
                           "teacher_params": count_params(teacher),
                           "fraction": report["fraction_of_reference"]}
        log(f"prune to {args.target:.0%}: {result['prune']['params']:,} params "
            f"({report['fraction_of_reference']:.1%}) in {result['prune']['seconds']:.1f} s")

        # -- teacher top-k cache --------------------------------------------------------------------
        t = time.perf_counter()
        rows = train_df.sample(n=min(args.n_rows, len(train_df)), random_state=args.seed)
        rows.to_parquet(work / "rows.parquet")
        ex = _examples(tok, task, rows, args.max_length)
        write_topk_cache(teacher, tok, ex, work / "topk", k=64, batch_size=args.batch_size, quiet=True,
                         task_hash=task.hash)
        cache = TopKCache.open(work / "topk")
        result["topk_cache"] = {"seconds": time.perf_counter() - t, "examples": len(ex)}
        log(f"teacher top-k cache: {len(ex)} examples in {result['topk_cache']['seconds']:.1f} s")
        del teacher
        if device.type == "cuda":
            torch.cuda.empty_cache()

        # -- distill + evaluate, logit and LoRA, bf16 -----------------------------------------------
        result["students"] = {}
        for method in ("logit", "lora"):
            r = _distill(student, tok, task, ex, cache, method=method, dtype="bfloat16", steps=args.steps,
                         args=args, out_dir=work / f"run-{method}")
            model = r.pop("model").eval()
            if r["device"].split(":")[0] != device.type or r["dtype"] != "bfloat16":
                raise SystemExit(f"{method}: trained on {r['device']} in {r['dtype']}, expected {device.type} "
                                 "bfloat16")
            log(f"distill {method} bf16: {r['steps']} steps, {r['tok_s']:.0f} tokens/s, loss "
                f"{r['loss_first']:.3f} -> {r['loss_last']:.3f} ({r['seconds']:.1f} s)")
            t = time.perf_counter()
            rec = evaluate_model(model, data / "test.parquet", task=task, tokenizer=tok, limit=args.n_headlines,
                                 mmlu_n=args.n_mmlu, efficiency=False, progress=False, resume=False,
                                 batch_size=32 if device.type == "cuda" else 16, seed=args.seed)
            ind, mm = rec["indomain"], rec["mmlu"]
            r["eval"] = {"seconds": time.perf_counter() - t, "device": rec["settings"]["device"],
                         "dtype": rec["settings"]["dtype"], "headlines": args.n_headlines,
                         "macro_f1": ind["macro_f1"], "accuracy": ind["accuracy"],
                         "mmlu_n": mm["n"], "mmlu_acc": mm["acc"], "text_gain_frac": mm.get("text_gain_frac")}
            log(f"eval {method}: macro-F1 {ind['macro_f1']:.3f} on {args.n_headlines} headlines, MMLU acc "
                f"{mm['acc']:.3f} / text_gain_frac {mm.get('text_gain_frac', float('nan')):.3f} on {mm['n']} "
                f"questions ({rec['settings']['dtype']} on {rec['settings']['device']}; "
                f"{r['eval']['seconds']:.1f} s)")
            result["students"][method] = r
            del model
        result["pipeline_s"] = time.perf_counter() - t_pipe

        # -- the CPU figure ---------------------------------------------------------------------------
        if args.cpu_steps > 0:
            cmd = [sys.executable, __file__, "--cpu-arm", "--work", str(work), "--steps", str(args.steps),
                   "--cpu-steps", str(args.cpu_steps), "--n-rows", str(args.n_rows), "--batch-size",
                   str(args.batch_size), "--max-length", str(args.max_length), "--seed", str(args.seed)]
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if res.returncode != 0:
                raise SystemExit(f"CPU arm failed:\n{res.stderr[-3000:]}")
            result["cpu"] = json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = result.get("cpu")
    log("")
    log(f"| run | device | dtype | tokens/s |{' vs CPU fp32 |' if cpu else ''}")
    log(f"|---|---|---|---|{'---|' if cpu else ''}")
    for method, r in result["students"].items():
        ratio = f" {r['tok_s'] / cpu['tok_s']:.1f}x |" if cpu else ""
        log(f"| distill {method}/label | {r['device']} | {r['dtype']} | {r['tok_s']:.0f} |{ratio}")
    if cpu:
        log(f"| distill logit/label | cpu ({cpu['threads']} threads) | float32 | {cpu['tok_s']:.0f} | 1.0x |")
    ok = result["pipeline_s"] <= args.budget_s
    result["ok"] = ok
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    log(f"pipeline (prune -> top-k cache -> distill logit + LoRA -> eval x2) on {device}: "
        f"{result['pipeline_s']:.1f} s (budget {args.budget_s:.0f} s; setup {result['setup_s']:.1f} s not counted)")
    log(f"written: {args.json}")
    if not ok:
        log(f"FAILED: the pipeline took {result['pipeline_s']:.0f} s, over the {args.budget_s:.0f} s budget")
        return 1
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
