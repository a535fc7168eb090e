"""Study pilot: what one unit of each stage costs for the students of the reproduction study.

For the teacher and for students pruned from it iteratively to 79 / 58 / 37 / 16 % of its parameters,
measures on this machine (CPU seconds of this process, and wall seconds):

- one prune stage: activation importance on ``--n-calib`` in-domain calibration texts of the input
  model + shape plan + slicing + save (reported per calibration text and in total);
- one distillation step (batch ``--batch-size``, max length ``--max-length``): logit KD with label
  supervision and with blended supervision (gold-rationale CoT rows + answer-only rows, one mixed
  teacher top-k cache, as ``Annotations.training_set`` builds it), and LoRA KD (label) once, at
  ``--lora-target``. The first ``--warmup`` steps of each run are not counted;
- one in-domain evaluation per headline (label mode: all label strings scored in one forward);
- one general-knowledge evaluation per MMLU question: cloze scoring of the options, and the
  question-text pass (``text_gain``) separately;
- the teacher top-k cache pass per training example (what annotation costs beside trace generation).

A few steps / items per cell, not full runs: about 200 CPU-seconds with the defaults (the result in
bench/results/study_pilot.json, the table in docs/study.md); each margin model below adds its own. The teacher
top-k caches come from the model given as ``--teacher`` (the base model is enough for timing: cost
does not depend on the weights). Run it with one thread so that CPU seconds are comparable across
machines and with other jobs running beside it (wall seconds are printed too, but they grow with the
machine's load)::

    HF_HUB_OFFLINE=1 nice -n 10 python bench/study_pilot.py --threads 1 --json bench/results/study_pilot.json
    python bench/study_pilot.py --tiny --steps 2 --n-calib 4 --n-headlines 4 --n-mmlu 4   # plumbing, seconds

``--cost SPEC --from-json PILOT.json`` measures nothing: it prices every distinct node of a sweep spec
(a spec YAML or a preset name; the DAG ``taskdistill sweep plan`` counts, including the evaluated
pruned-only models of ``prune.evaluate``, and the scoring of every evaluated model on each
``eval.transfer`` set found) with the pilot's per-ratio figures and prints CPU hours and wall hours per
stage kind (see ``grid_cost`` for the assumptions)::

    python bench/study_pilot.py --cost configs/study.yaml --from-json bench/results/study_pilot.json

``--margin-model DIR --margin-n N`` also scores the question texts of N subject-stratified MMLU
questions with that model (a prepared teacher) and prints how many standard errors its ``text_gain``
sits above the floor (0), and the questions needed for 4 and 10 SE: the go/no-go of the
general-knowledge collapse finding.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@contextmanager
def clock(out: dict, key: str):
    """Add this block's CPU seconds (process, all threads) and wall seconds to ``out[key]``."""
    c0, w0 = time.process_time(), time.perf_counter()
    yield
    out[key] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}


def per(block: dict, n: int) -> dict:
    return {"cpu_s": block["cpu_s"] / n, "wall_s": block["wall_s"] / n, "n": n}


def load_splits(args, task):
    import pandas as pd

    if args.data:
        folder = Path(args.data)
    else:
        from taskdistill.data.default import ensure_dataset

        folder = Path(ensure_dataset(quiet=True))
    train, test = folder / "train.parquet", folder / "test.parquet"
    for f in (train, test):
        if not f.is_file():
            raise SystemExit(f"{folder}: no {f.name} (give --data a dataset folder with train/test.parquet)")
    return train, pd.read_parquet(train), pd.read_parquet(test)


def build_caches(teacher, tok, task, rows, args, work: Path) -> dict:
    """Label and CoT (gold rationale) examples of ``rows`` with the teacher's top-k caches."""
    from taskdistill.targets.cache import MixedCache, TopKCache, write_topk_cache
    from taskdistill.targets.examples import build_examples

    out: dict = {"timing": {}}
    for fmt in ("label", "cot"):
        ex = build_examples(tok, task, rows, fmt=fmt, max_length=args.max_length)
        d = work / f"topk_{fmt}"
        shutil.rmtree(d, ignore_errors=True)
        with clock(out["timing"], fmt):
            write_topk_cache(teacher, tok, ex, d, k=args.k, batch_size=args.batch_size, quiet=True,
                             task_hash=task.hash)
        out["timing"][fmt] = per(out["timing"][fmt], len(ex))
        out["timing"][fmt]["tokens_per_example"] = sum(len(e.input_ids) for e in ex) / len(ex)
        out[fmt] = (ex, TopKCache.open(d))
    cot_ex, cot_cache = out["cot"]
    lab_ex, lab_cache = out["label"]
    out["blended"] = (cot_ex + lab_ex, MixedCache([cot_cache, lab_cache]))
    return out


def time_distill(student, tok, task, examples, cache, *, method: str, supervision: str, args, work: Path) -> dict:
    """Per-step CPU / wall seconds of ``train`` after ``--warmup`` steps (a fresh copy of the student)."""
    from taskdistill.distill.config import DistillConfig
    from taskdistill.distill.trainer import train

    model = copy.deepcopy(student)
    n = args.warmup + args.steps
    cfg = DistillConfig(method=method, supervision=supervision, steps=n, batch_size=args.batch_size, lr=2e-4,
                        warmup_steps=0, max_length=args.max_length, checkpoint_every=0, seed=0)
    marks: list[tuple[float, float, int]] = []

    def on_step(step: int, row: dict) -> None:
        marks.append((time.process_time(), time.perf_counter(), int(row["tokens"])))

    out_dir = work / f"run-{method}-{supervision}"
    shutil.rmtree(out_dir, ignore_errors=True)
    c0, w0 = time.process_time(), time.perf_counter()
    train(model, tok, examples, cfg, out_dir, cache=cache, quiet=True, on_step=on_step, task=task)
    c1, w1 = time.process_time(), time.perf_counter()
    shutil.rmtree(out_dir, ignore_errors=True)
    base = marks[args.warmup - 1] if args.warmup else (c0, w0, 0)
    k = len(marks) - args.warmup
    tokens = sum(m[2] for m in marks[args.warmup:])
    del model
    return {"cpu_s": (marks[-1][0] - base[0]) / k, "wall_s": (marks[-1][1] - base[1]) / k,
            "tokens_per_step": tokens / k, "n": k,
            # the rest of the call: setup (optimizer, accelerate) + the warm-up steps + export of the checkpoint
            "call_cpu_s": c1 - c0, "call_wall_s": w1 - w0}


def time_eval(model, tok, task, test_df, items, all_items, args) -> dict:
    from taskdistill.evaluate.general import score_items, text_measures, unigram_counts
    from taskdistill.evaluate.indomain import evaluate_indomain

    out: dict = {}
    with clock(out, "indomain"):
        m = evaluate_indomain(model, tok, test_df, task, limit=args.n_headlines, batch_size=args.eval_batch_size,
                              progress=False)
    out["indomain"] = per(out["indomain"], args.n_headlines)
    out["indomain"]["macro_f1"] = m.get("macro_f1")
    with clock(out, "mmlu_cloze"):
        score_items(model, tok, items, scoring="cloze", batch_size=args.eval_batch_size, progress=False)
    out["mmlu_cloze"] = per(out["mmlu_cloze"], len(items))
    counts = unigram_counts(tok, all_items)  # once per tokenizer (memoised), not per model
    with clock(out, "mmlu_text"):
        block, _, _ = text_measures(model, tok, items, counts, batch_size=args.eval_batch_size)
    out["mmlu_text"] = per(out["mmlu_text"], len(items))
    out["mmlu_text"]["text_gain"] = block["text_gain"]
    return out


def margin(model_spec: str, n: int, args) -> dict:
    """text_gain of ``model_spec`` on ``n`` subject-stratified MMLU questions, in SE above its floor."""
    from taskdistill.evaluate.general import (
        load_items,
        n_for_margin,
        stratified_sample,
        text_measures,
        unigram_counts,
    )
    from taskdistill.models import load_model

    model, tok = load_model(model_spec, quiet=True)
    all_items, _ = load_items(None)
    items = stratified_sample(all_items, n, args.seed)
    t: dict = {}
    with clock(t, "text"):
        block, _, _ = text_measures(model, tok, items, unigram_counts(tok, all_items),
                                    batch_size=args.eval_batch_size)
    z = block["text_gain"] / block["text_gain_stderr"]
    return {"model": model_spec, "n": len(items), "text_gain": block["text_gain"],
            "text_gain_stderr": block["text_gain_stderr"], "text_gain_frac": block["text_gain_frac"],
            "margin_se": z, "n_for_4se": n_for_margin(z, len(items), 4) if z > 0 else None,
            "n_for_10se": n_for_margin(z, len(items), 10) if z > 0 else None, "timing": t["text"]}


# Trace generation is not timed by the pilot: docs/results.md measured 167 s for 320 greedy traces of
# at most 96 new tokens on 2 threads; counted at twice that per trace for one thread (an upper bound).
TRACE_CPU_S = 2 * 167.0 / 320

# Stage kinds of the cost table, in the order a sweep runs them (``transfer``: the models scored on the
# spec's ``eval.transfer`` sets after the cells, sweep/transfer.py)
COST_KINDS = ("prepare", "annotate", "prune", "distill", "eval", "transfer")
ALONE = ("prepare", "annotate")  # run alone on one worker of one thread, before the cells


def transfer_rows(path) -> int:
    """Rows of a transfer set's file (CSV / JSONL / parquet), read as the evaluation reads it."""
    from taskdistill.data.loader import read_table

    return len(read_table(path)[0])


def grid_cost(result: dict, spec) -> dict:
    """CPU seconds and wall seconds per stage kind of a sweep spec, priced with the pilot's figures.

    ``spec``: a ``SweepSpec`` or a spec YAML / preset name. The nodes are the distinct nodes of the
    spec's DAG (``sweep.dag``), the ones ``taskdistill sweep plan`` counts, plus one transfer node per
    evaluated model and transfer set found (``sweep.transfer``):

    - distill node: steps x the pilot's CPU-s per step at the node's ratio (nearest measured ratio,
      scaled by its size), for its method and supervision; a blended step is priced for the spec's
      share of traced rows (the pilot's blended batches are half traced rows);
    - prune node: importance on ``calib_n`` texts of the input model + slicing and saving;
    - evaluate node: ``limit`` headlines + ``mmlu_n`` questions (cloze + question text) at the ratio of
      its model (the teacher, a distilled student, or a pruned-but-undistilled model: ``prune.evaluate``);
    - transfer node: the set's rows at the pilot's per-headline in-domain cost, at the model's ratio;
    - teacher preparation: its steps at a 100% label step (the 79% step / 0.79) + scoring the test
      rows after training and ``before_limit`` before; annotation: the label pass (scoring + top-k)
      over the pool and traces (``TRACE_CPU_S`` + CoT top-k) for ``cot_limit`` rows.
    Wall: preparation and annotation run alone on one worker (wall = CPU); every other stage is spread
    over ``execution.workers`` workers of ``execution.threads`` thread(s) each, assuming the DAG keeps
    them busy (wall = CPU / workers). The transfer scoring runs after the cells in the sweep's own
    process, whose torch uses one thread per core: priced like the cells (CPU / workers), which assumes
    those threads scale as well as separate workers would (with no gain at all its wall would be its
    CPU hours)."""
    import math

    from taskdistill.sweep.dag import expand, unique_nodes
    from taskdistill.sweep.spec import PRESETS, SweepSpec, load_spec, preset_path

    if not isinstance(spec, SweepSpec):
        source = str(spec)
        spec = load_spec(preset_path(source) if source in PRESETS else source)
    else:
        source = spec.name
    models = {round(m["target"], 4): m for m in result["models"]}
    ratios = sorted(models)

    def at(target: float):
        r = min(ratios, key=lambda x: abs(x - target))
        return models[r], target / r

    def ratio(node) -> float:
        """An evaluated model's parameters as a fraction of the teacher's."""
        if node.stage == "teacher":
            return 1.0
        if node.stage == "distill":
            node = node.input("student")
        return float(node.params["target"])  # a prune node: the teacher (or a student) pruned to target

    teacher = models[1.0]
    pilot_mix = 0.5
    d_max = max(spec.grid.dataset_size)
    opts = spec.annotate.options
    pool = min(opts.limit or d_max, d_max)
    cot_rows = min(opts.cot_limit or pool, pool) if "cot" in spec.annotate.formats else 0
    share = cot_rows / pool
    mix = share / (1 + share)  # traced rows among a blended cell's examples (traced + every answer-only row)
    batch = spec.distill.batch_size * spec.distill.grad_accum
    pilot_batch = int(result["settings"]["batch_size"])
    cpu: dict[str, float] = dict.fromkeys(COST_KINDS, 0.0)
    counts = dict.fromkeys(COST_KINDS, 0)
    rows = spec.eval.limit or 700
    mmlu = 14042 if spec.eval.mmlu_n == "all" else int(spec.eval.mmlu_n)
    nodes = list(unique_nodes(expand(spec)).values())
    for node in nodes:
        if node.stage == "distill":
            m, scale = at(ratio(node))
            d = m["distill"]
            lab = d["logit/label"]["cpu_s"]
            # the pilot's blended step is half label rows, half traced rows: price the traced share
            traced = {"label": 0.0, "blended": mix, "cot": 1.0}[node.params["supervision"]]
            step = lab + (d["logit/blended"]["cpu_s"] - lab) * traced / pilot_mix
            if node.params["method"] == "lora":
                lora = next((x["distill"]["lora/label"]["cpu_s"] / x["distill"]["logit/label"]["cpu_s"]
                             for x in result["models"] if "lora/label" in x.get("distill", {})), 1.0)
                step *= lora
            cpu["distill"] += node.params["steps"] * step * scale * batch / pilot_batch
            counts["distill"] += 1
        elif node.stage == "prune":
            size = ratio(node.input("model"))  # importance runs on the input model: the teacher or a student
            p = min((x["prune"] for x in result["models"] if "prune" in x),
                    key=lambda x: abs(x["input_fraction"] - size))
            imp_per_text = p["importance_wall_s"] / p["n_calib"] * (p["cpu_s"] / p["wall_s"])
            rest = p["cpu_s"] - imp_per_text * p["n_calib"]
            cpu["prune"] += imp_per_text * spec.prune.calib_n + rest
            counts["prune"] += 1
        elif node.stage == "evaluate":
            src = node.input("model")
            m, scale = (teacher, 1.0) if src.stage == "teacher" else at(ratio(src))
            e = m["eval"]
            cpu["eval"] += scale * (rows * e["indomain"]["cpu_s"]
                                    + mmlu * (e["mmlu_cloze"]["cpu_s"] + e["mmlu_text"]["cpu_s"]))
            counts["eval"] += 1
        elif node.stage == "teacher":
            prep = spec.teacher.prepare
            steps, pbatch = prep.train.steps, prep.train.batch_size * prep.train.grad_accum
            step100 = models[ratios[-2]]["distill"]["logit/label"]["cpu_s"] / ratios[-2]
            eval_rows = (prep.eval_limit or 700) * len(prep.eval_splits) + (prep.before_limit or 0)
            cpu["prepare"] += steps * step100 * pbatch / pilot_batch + eval_rows * teacher["eval"]["indomain"]["cpu_s"]
            counts["prepare"] += 1
        elif node.stage == "annotate":
            c = result["topk_cache_per_example"]
            cpu["annotate"] += pool * (teacher["eval"]["indomain"]["cpu_s"] + c["label"]["cpu_s"])
            cpu["annotate"] += cot_rows * (TRACE_CPU_S + c["cot"]["cpu_s"])
            counts["annotate"] += 1
    # transfer sets: every evaluated model (each distinct one once, as the transfer nodes are keyed by
    # the model) scored on each set whose file is there
    evaluated = list({n.input("model").key: n.input("model") for n in nodes if n.stage == "evaluate"}.values())
    transfer = []
    for ts in spec.transfer_sets:
        n_rows = transfer_rows(ts.path()) if ts.found() else 0
        transfer.append({"name": ts.name, "split": ts.split, "found": ts.found(), "rows": n_rows})
        if not ts.found():
            continue
        for src in evaluated:
            m, scale = (teacher, 1.0) if src.stage == "teacher" else at(ratio(src))
            cpu["transfer"] += scale * n_rows * m["eval"]["indomain"]["cpu_s"]
            counts["transfer"] += 1
    workers = spec.execution.workers
    wall = {k: (v if k in ALONE else v / workers) for k, v in cpu.items()}
    return {"spec": source, "cells": len(expand(spec)), "counts": counts, "cpu_s": cpu, "wall_s": wall,
            "workers": workers, "threads": spec.execution.threads, "traced_share": mix, "transfer": transfer,
            "steps_by_D": {d: spec.distill_steps(d) for d in spec.grid.dataset_size},
            "total_cpu_h": sum(cpu.values()) / 3600, "total_wall_h": sum(wall.values()) / 3600,
            "ceil": math.ceil(sum(wall.values()) / 3600)}


def print_cost(c: dict) -> None:
    sets = "; ".join(f"transfer set {t['name']}: " + (f"{t['rows']} rows" if t["found"] else
                                                      f"no file at {t['split']} (not priced)")
                     for t in c["transfer"])
    print(f"# {c['spec']}: {c['cells']} result rows; priced with the pilot's 1-thread CPU seconds; wall = CPU for "
          f"preparation and annotation (one worker), CPU / {c['workers']} for the rest ({c['workers']} workers x "
          f"{c['threads']} thread; the transfer scoring on the sweep's own process, one thread per core); traced share of blended examples "
          f"{c['traced_share']:.0%}; steps per stage by D: {c['steps_by_D']}" + (f"; {sets}" if sets else ""))
    print("| stage | nodes | CPU hours | wall hours |")
    print("|---|---|---|---|")
    for k in c["cpu_s"]:
        print(f"| {k} | {c['counts'][k]} | {c['cpu_s'][k] / 3600:.2f} | {c['wall_s'][k] / 3600:.2f} |")
    print(f"| total | | {c['total_cpu_h']:.1f} | {c['total_wall_h']:.1f} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="smollm2-135m-instruct", help="model to prune from (and the top-k source)")
    ap.add_argument("--tiny", action="store_true", help="tiny:llama instead of --teacher (plumbing, not a benchmark)")
    ap.add_argument("--targets", type=float, nargs="+", default=[0.79, 0.58, 0.37, 0.16])
    ap.add_argument("--lora-target", type=float, default=0.58, help="the student LoRA is timed on")
    ap.add_argument("--data", default=None, help="dataset folder (train/test.parquet); default: the built-in "
                    "finheadlines dataset")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=None, help="default 128 (384 with --tiny: byte-level "
                    "tokenizer)")
    ap.add_argument("--k", type=int, default=64, help="teacher top-k kept per position")
    ap.add_argument("--steps", type=int, default=3, help="timed distillation steps per run")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--n-calib", type=int, default=16, help="calibration texts per prune stage")
    ap.add_argument("--n-headlines", type=int, default=24)
    ap.add_argument("--n-mmlu", type=int, default=16)
    ap.add_argument("--eval-batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--margin-model", nargs="*", default=[], help="models whose text_gain margin to measure")
    ap.add_argument("--margin-n", type=int, default=300)
    ap.add_argument("--json", type=Path, default=Path("study_pilot.json"))
    ap.add_argument("--cost", default=None, metavar="SPEC", help="price a sweep spec with --from-json; measures nothing")
    ap.add_argument("--from-json", type=Path, default=None, help="a pilot result (for --cost)")
    args = ap.parse_args(argv)
    if args.cost:
        if args.from_json is None or not args.from_json.is_file():
            ap.error("--cost needs --from-json FILE, a pilot result written by this script")
        from taskdistill.errors import TaskdistillError

        try:
            result = json.loads(args.from_json.read_text())
        except json.JSONDecodeError as exc:
            ap.exit(2, f"{args.from_json}: line {exc.lineno}: not JSON ({exc.msg})\n")
        try:
            print_cost(grid_cost(result, args.cost))
        except TaskdistillError as exc:
            ap.exit(2, f"{exc}\n")
        except KeyError as exc:
            ap.exit(2, f"{args.from_json}: no {exc} in this pilot result (write one with this script)\n")
        return
    if args.warmup < 0 or args.steps < 1:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    if args.max_length is None:
        args.max_length = 384 if args.tiny else 128

    import torch

    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the checkpoint-writing bars of every pruned student
    from taskdistill.evaluate.general import load_items, stratified_sample
    from taskdistill.models import load_model
    from taskdistill.models.arch import count_params
    from taskdistill.prune import prune_model, save_pruned
    from taskdistill.prune.calib import calibration_texts
    from taskdistill.task import load_task

    t_start_cpu, t_start = time.process_time(), time.perf_counter()
    task = load_task("finheadlines")
    spec = "tiny:llama" if args.tiny else args.teacher
    teacher, tok = load_model(spec, quiet=True)
    ref = count_params(teacher)
    train_path, train_df, test_df = load_splits(args, task)
    rows = train_df.sample(n=(args.warmup + args.steps) * args.batch_size, random_state=args.seed)
    all_items, _ = load_items(None)
    items = stratified_sample(all_items, args.n_mmlu, args.seed)
    calib = calibration_texts(tok, task, train_path, n=args.n_calib, seed=args.seed)
    work = Path(tempfile.mkdtemp(prefix="study-pilot-"))
    result: dict = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                    "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                    "load_avg_start": os.getloadavg(), "models": []}
    try:
        caches = build_caches(teacher, tok, task, rows, args, work)
        result["topk_cache_per_example"] = caches["timing"]
        print(f"teacher top-k cache: label {caches['timing']['label']['cpu_s']:.3f} CPU-s/example, "
              f"cot {caches['timing']['cot']['cpu_s']:.3f}", flush=True)
        ev = time_eval(teacher, tok, task, test_df, items, all_items, args)
        result["models"].append({"target": 1.0, "params": ref, "fraction": 1.0, "eval": ev})
        print(f"teacher: eval {ev['indomain']['cpu_s']:.3f} CPU-s/headline, "
              f"{ev['mmlu_cloze']['cpu_s']:.3f} CPU-s/MMLU q", flush=True)
        model = teacher
        for target in args.targets:
            rec: dict = {"target": target}
            with clock(rec, "prune"):
                student, report = prune_model(model, tok, target, calib_texts=calib, reference_params=ref,
                                              cache=False, progress=False, task=task)
                save_pruned(student, tok, work / f"s{target}", report, overwrite=True)
            rec["prune"]["importance_wall_s"] = report["seconds"]["importance"]
            rec["prune"]["n_calib"] = len(calib)
            rec["prune"]["input_fraction"] = count_params(model) / ref
            rec["params"] = count_params(student)
            rec["fraction"] = rec["params"] / ref
            rec["distill"] = {}
            runs = [("logit", "label"), ("logit", "blended")]
            if abs(target - args.lora_target) < 1e-9:
                runs.append(("lora", "label"))
            for method, sup in runs:
                ex, cache = caches["blended" if sup == "blended" else "label"]
                rec["distill"][f"{method}/{sup}"] = time_distill(student, tok, task, ex, cache, method=method,
                                                                supervision=sup, args=args, work=work)
            rec["eval"] = time_eval(student, tok, task, test_df, items, all_items, args)
            result["models"].append(rec)
            d = rec["distill"]
            print(f"{target:.0%}: {rec['params']:,} params; prune {rec['prune']['cpu_s']:.1f} CPU-s; step "
                  f"label {d['logit/label']['cpu_s']:.2f} blended {d['logit/blended']['cpu_s']:.2f} CPU-s; eval "
                  f"{rec['eval']['indomain']['cpu_s']:.3f} CPU-s/headline "
                  f"{rec['eval']['mmlu_cloze']['cpu_s']:.3f} CPU-s/MMLU q", flush=True)
            if model is not teacher:
                del model
            model = student  # iterative: the next ratio is pruned from this one
        result["margins"] = [margin(m, args.margin_n, args) for m in args.margin_model]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["total"] = {"cpu_s": time.process_time() - t_start_cpu, "wall_s": time.perf_counter() - t_start}
    result["load_avg_end"] = os.getloadavg()
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    print(f"written: {args.json}")


def print_table(result: dict) -> None:
    print(f"\nCPU seconds per unit, {result['threads']} thread(s) (wall in brackets; load average at start "
          f"{result['load_avg_start'][0]:.1f}, end {result['load_avg_end'][0]:.1f} on {result['cpu_count']} cores)")
    print("| model | params | prune stage (importance on n texts) | step logit/label | step logit/blended "
          "| step lora/label | in-domain / headline | MMLU cloze / q | MMLU text / q |")
    print("|---|---|---|---|---|---|---|---|---|")

    def f(b, spec=".2f"):
        return "-" if b is None else f"{b['cpu_s']:{spec}} ({b['wall_s']:{spec}})"

    for m in result["models"]:
        d = m.get("distill", {})
        name = "teacher" if m["target"] == 1.0 else f"{m['target']:.0%}"
        pr = m.get("prune")
        prs = "-" if pr is None else f"{pr['cpu_s']:.1f} ({pr['wall_s']:.1f}) on {pr['n_calib']}"
        print(f"| {name} | {m['params'] / 1e6:.1f}M ({m['fraction']:.1%}) | {prs} | {f(d.get('logit/label'))} | "
              f"{f(d.get('logit/blended'))} | {f(d.get('lora/label'))} | {f(m['eval']['indomain'], '.3f')} | "
              f"{f(m['eval']['mmlu_cloze'], '.3f')} | {f(m['eval']['mmlu_text'], '.3f')} |")
    c = result["topk_cache_per_example"]
    print(f"teacher top-k cache pass: label {c['label']['cpu_s']:.3f} CPU-s/example "
          f"({c['label']['tokens_per_example']:.0f} tokens), cot {c['cot']['cpu_s']:.3f} "
          f"({c['cot']['tokens_per_example']:.0f} tokens)")
    for mg in result.get("margins", []):
        print(f"text_gain margin of {mg['model']} on {mg['n']} MMLU questions: {mg['text_gain']:.3f} ± "
              f"{mg['text_gain_stderr']:.3f} nats/token (frac {mg['text_gain_frac']:.3f}) = {mg['margin_se']:.1f} SE "
              f"above 0; 4 SE needs {mg['n_for_4se']} questions, 10 SE {mg['n_for_10se']}")
    print(f"pilot total: {result['total']['cpu_s']:.0f} CPU-s, {result['total']['wall_s']:.0f} s wall")


if __name__ == "__main__":
    main()
