"""Distillation speed: our trainer with the cached teacher top-k vs TRL distilling online.

Same student, same teacher, same rows, same batch size and step count, on this CPU, in one run:

- ``ours``: ``taskdistill.distill.trainer.train`` (logit KD, forward KL over every target token,
  ``cot`` supervision) reading teacher top-k log-probs from the offline cache; the teacher is not in
  memory while training. The one-off cache pass is timed separately (``cache`` arm) and also
  reported amortised over the run.
- ``trl``: ``trl.experimental.gkd.GKDTrainer`` with ``lmbda=0`` (no on-policy sampling) and
  ``beta=0`` (its generalised JSD reduces to forward KL), teacher resident and run online each step.

Each arm runs in its own subprocess so peak RSS is that arm's alone. Teacher: SmolLM2-135M-Instruct.
Student: the teacher pruned to 58% with the pruning stage (magnitude importance, no calibration
pass), falling back to keeping every other layer if the pruning stage is unavailable.

    python bench/distill_speed.py                  # ~5-10 min on 2 cores
    python bench/distill_speed.py --steps 2 --batch-size 4 --tiny   # seconds: plumbing check

Writes ``distill_speed.json`` into the work folder and prints the ratio ours / TRL.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rows(args):
    import pandas as pd

    if args.data:
        df = pd.read_parquet(args.data)
    else:
        from taskdistill.data.default import ensure_dataset

        df = pd.read_parquet(ensure_dataset(quiet=True) / "train.parquet")
    n = args.steps * args.batch_size
    if len(df) < n:
        raise SystemExit(f"need {n} rows, data has {len(df)}")
    return df.sample(n=n, random_state=0).reset_index(drop=True)


def _teacher_spec(args) -> str:
    return "tiny:llama" if args.tiny else args.teacher


def _examples(tok, df, args):
    from taskdistill.targets.examples import build_examples
    from taskdistill.task import load_task

    return build_examples(tok, load_task("finheadlines"), df, fmt="cot", max_length=args.max_length)


def arm_prepare(args, work: Path) -> dict:
    """Student checkpoint + the rows both arms train on."""
    import torch

    from taskdistill.models import load_model

    df = _rows(args)
    df.to_parquet(work / "rows.parquet")
    student_dir = work / "student"
    how = "existing"
    if not (student_dir / "config.json").exists():
        teacher, tok = load_model(_teacher_spec(args), quiet=True)
        try:
            from taskdistill.prune import prune_model, save_pruned

            student, report = prune_model(teacher, tok, 0.58, method="magnitude", progress=False, cache=False)
            save_pruned(student, tok, student_dir, report, overwrite=True)
            how = "pruned to 58% (magnitude)"
        except Exception as exc:  # the pruning stage is someone else's; a truncated student still benches
            print(f"pruning unavailable ({exc}); keeping every other layer instead", file=sys.stderr)
            keep = list(range(0, teacher.config.num_hidden_layers, 2))
            teacher.model.layers = torch.nn.ModuleList(teacher.model.layers[i] for i in keep)
            teacher.config.num_hidden_layers = len(keep)
            teacher.save_pretrained(student_dir)
            tok.save_pretrained(student_dir)
            how = "every other layer"
    from taskdistill.models.arch import count_params

    s, _ = load_model(student_dir, quiet=True)
    t, _ = load_model(_teacher_spec(args), quiet=True)
    return {"student": how, "student_params": count_params(s), "teacher_params": count_params(t)}


def arm_cache(args, work: Path) -> dict:
    import shutil

    import pandas as pd

    from taskdistill.models import load_model
    from taskdistill.targets.cache import write_topk_cache

    teacher, tok = load_model(_teacher_spec(args), quiet=True)
    ex = _examples(tok, pd.read_parquet(work / "rows.parquet"), args)
    shutil.rmtree(work / "cache", ignore_errors=True)  # time a fresh pass, not a cache hit
    t0 = time.perf_counter()
    write_topk_cache(teacher, tok, ex, work / "cache", k=args.k, batch_size=args.batch_size, quiet=True)
    return {"cache_s": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb(),
            "tokens": sum(len(e.input_ids) for e in ex)}


def arm_ours(args, work: Path) -> dict:
    import shutil

    import pandas as pd

    from taskdistill.distill.config import DistillConfig
    from taskdistill.distill.trainer import load_log, train
    from taskdistill.models import load_model
    from taskdistill.targets.cache import TopKCache

    student, tok = load_model(work / "student", quiet=True)
    ex = _examples(tok, pd.read_parquet(work / "rows.parquet"), args)
    cfg = DistillConfig(method="logit", supervision="cot", steps=args.steps, batch_size=args.batch_size,
                        lr=1e-5, warmup_steps=0, max_length=args.max_length, max_grad_norm=1.0)
    shutil.rmtree(work / "ours_run", ignore_errors=True)
    t0 = time.perf_counter()
    train(student, tok, ex, cfg, work / "ours_run", cache=TopKCache.open(work / "cache"), quiet=True)
    total = time.perf_counter() - t0
    rows = [r for r in load_log(work / "ours_run") if "loss" in r]
    tokens = sum(r["tokens"] for r in rows)
    loop_s = tokens / rows[-1]["tok_s"]
    return {"tokens": tokens, "train_s": loop_s, "call_s": total, "tok_s": tokens / loop_s,
            "peak_rss_mb": peak_rss_mb(), "loss": [r["loss"] for r in rows]}


def arm_trl(args, work: Path) -> dict:
    import pandas as pd
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl.experimental.gkd import GKDConfig, GKDTrainer
    from trl.experimental.utils import DataCollatorForChatML

    from taskdistill.models import load_model
    from taskdistill.task import load_task
    from taskdistill.task.prompts import messages, target_text

    student, tok = load_model(work / "student", quiet=True)
    teacher, _ = load_model(_teacher_spec(args), quiet=True)
    student.train()
    df = pd.read_parquet(work / "rows.parquet")
    task = load_task("finheadlines")
    ds = Dataset.from_list([{"messages": messages(task, h, "cot") + [
        {"role": "assistant", "content": target_text(task, lab, "cot", r)}]}
        for h, lab, r in zip(df[task.input_field], df["label"], df["rationale"], strict=True)])
    base = DataCollatorForChatML(tokenizer=tok, max_length=args.max_length)
    counted = {"tokens": 0}

    def collate(batch):
        out = base(batch)
        counted["tokens"] += int(out["attention_mask"].sum())
        return out

    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            times.append(time.perf_counter())

        def on_step_end(self, *a, **k):
            times[-1] = time.perf_counter() - times[-1]

    cfg = GKDConfig(output_dir=str(work / "trl_run"), per_device_train_batch_size=args.batch_size,
                    max_steps=args.steps, learning_rate=1e-5, lr_scheduler_type="constant", lmbda=0.0,
                    beta=0.0, temperature=1.0, max_length=args.max_length, logging_steps=1,
                    save_strategy="no", report_to=[], use_cpu=True, dataloader_num_workers=0, seed=0,
                    disable_tqdm=True, max_grad_norm=1.0, bf16=False, fp16=False)
    trainer = GKDTrainer(model=student, teacher_model=teacher, args=cfg, train_dataset=ds,
                         processing_class=tok, data_collator=collate, callbacks=[Timer()])
    t0 = time.perf_counter()
    trainer.train()
    total = time.perf_counter() - t0
    loop_s = sum(times) if times else total
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    del torch
    return {"tokens": counted["tokens"], "train_s": loop_s, "call_s": total,
            "tok_s": counted["tokens"] / loop_s, "peak_rss_mb": peak_rss_mb(), "loss": losses}


ARMS = {"prepare": arm_prepare, "cache": arm_cache, "ours": arm_ours, "trl": arm_trl}


def _run_arm(name: str, argv: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--arm", name, *argv]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"arm {name} failed:\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--teacher", default="smollm2-135m-instruct")
    ap.add_argument("--tiny", action="store_true", help="tiny:llama teacher (plumbing check, not a benchmark)")
    ap.add_argument("--data", default=None, help="parquet with id, headline, label, rationale "
                    "(default: finheadlinemix-mini train split)")
    ap.add_argument("--work", default=None, help="work folder (default: $TASKDISTILL_HOME/bench/distill_speed)")
    ap.add_argument("--arm", choices=sorted(ARMS), default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from taskdistill.cache import stage_dir

    work = Path(args.work) if args.work else stage_dir("bench") / ("distill_speed_tiny" if args.tiny
                                                                  else "distill_speed")
    work.mkdir(parents=True, exist_ok=True)
    if args.arm:
        print(json.dumps(ARMS[args.arm](args, work)))
        return
    argv = [a for a in sys.argv[1:]]
    if "--work" not in argv:
        argv += ["--work", str(work)]
    setup = _run_arm("prepare", argv)
    cache = _run_arm("cache", argv)
    ours = _run_arm("ours", argv)
    trl = _run_arm("trl", argv)
    result = {
        "settings": {k: v for k, v in vars(args).items() if k != "arm"},
        "setup": setup, "cache": cache, "ours": ours, "trl": trl,
        "speedup_tok_s": ours["tok_s"] / trl["tok_s"],
        "speedup_incl_cache": trl["train_s"] / (ours["train_s"] + cache["cache_s"]),
        "peak_rss_ratio_ours_over_trl": ours["peak_rss_mb"] / trl["peak_rss_mb"],
        "torch": torch.__version__,
    }
    (work / "distill_speed.json").write_text(json.dumps(result, indent=2))
    print(f"student: {setup['student']} ({setup['student_params']:,} / {setup['teacher_params']:,} params)")
    print(f"{'arm':6} {'tokens':>7} {'train s':>8} {'tok/s':>7} {'peak MB':>8}")
    for name, r in (("ours", ours), ("trl", trl)):
        print(f"{name:6} {r['tokens']:7d} {r['train_s']:8.1f} {r['tok_s']:7.1f} {r['peak_rss_mb']:8.0f}")
    print(f"teacher cache pass (one-off, reused by every student/seed/method): {cache['cache_s']:.1f} s")
    print(f"speed-up ours/TRL tokens/s: {result['speedup_tok_s']:.2f}x "
          f"(incl. this run's cache pass: {result['speedup_incl_cache']:.2f}x); "
          f"peak RSS ours/TRL: {result['peak_rss_ratio_ours_over_trl']:.2f}")
    print(f"written: {work / 'distill_speed.json'}")


if __name__ == "__main__":
    main()
