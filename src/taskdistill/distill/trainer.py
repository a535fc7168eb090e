"""One training loop for every method x supervision combination (and for teacher SFT).

Built on ``accelerate``: run as a plain function it trains on one device; under ``accelerate launch``
it trains data-parallel (DDP, or FSDP via the accelerate config). Design choices, and why:

- **Deterministic batch plan.** Micro-batches come from a seeded, length-bucketed order that is a
  pure function of (seed, epoch), so every process knows the whole plan, a resumed run replays it
  exactly, and optimizer step ``s`` always consumes global micro-batches ``s*G .. s*G+G-1`` with
  ``G = grad_accum * num_processes`` (process ``r`` takes every ``num_processes``-th one).
- **Token-level normalisation over the global batch.** Each micro-batch contributes
  ``sum(weight * loss) / total_weight_of_the_step``, so 1 process with ``grad_accum=2`` and 2
  processes with ``grad_accum=1`` take the same optimizer step (tested with a 2-process gloo run).
- **Logits only where supervised** (``targets.batching.SupervisedLM``) and **no teacher forward**:
  the teacher arrives as cached top-k log-probs (``targets.cache.TopKCache``).
- **Checkpoints** (trainable weights, optimizer state, step) every ``checkpoint_every`` steps,
  written atomically; a rerun with the same settings resumes from the newest one and reaches the
  same final weights as an uninterrupted run (tested with a SIGKILL).
- **Export**: a standard Hugging Face checkpoint in ``out_dir/final`` (LoRA merged), which
  ``from_pretrained`` reloads to the same logits; with a ``task`` it also holds ``task.yaml`` and
  names the task in ``distill_config.json``, so evaluation defaults to that task and refuses another.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from taskdistill.cache import atomic_dir, atomic_write_json, atomic_write_text, content_hash
from taskdistill.distill.config import DistillConfig
from taskdistill.distill.losses import TeacherTopK, blend_weight, blended_cot_loss, cross_entropy, kd_loss
from taskdistill.errors import TaskdistillError
from taskdistill.models.identity import model_hash
from taskdistill.targets.batching import Batch, SupervisedLM, bucketed_batches, collate, core_model
from taskdistill.targets.cache import CacheError, MixedCache, TopKCache
from taskdistill.targets.examples import Example, examples_hash
from taskdistill.targets.record import task_ref, write_task
from taskdistill.task import Task

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
KEEP_CHECKPOINTS = 2


class TrainError(TaskdistillError, ValueError):
    """Inputs a training run cannot use (missing cache or traces, mismatched run folder, ...)."""


# ----------------------------------------------------------------------------------------- helpers

def lr_at(step: int, cfg: DistillConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warm-up, then cosine to
    ``min_lr * lr`` at the last step."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(cfg.steps - cfg.warmup_steps - 1, 1)
    progress = min(max(step - cfg.warmup_steps, 0) / span, 1.0)
    floor = cfg.min_lr
    return cfg.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def _position_weights(ex: Example, cfg: DistillConfig) -> list[float]:
    """Loss weight of each supervised position: ``label`` KD looks at answer tokens only; answer
    tokens get ``answer_weight`` in every other mode."""
    if cfg.supervision == "label":
        return [1.0 if s == "answer" else 0.0 for s in ex.segments]
    return [cfg.answer_weight if s == "answer" else 1.0 for s in ex.segments]


def _teacher_for(batch: Batch, cache: TopKCache | MixedCache, cache_idx: Sequence[int]) -> TeacherTopK:
    ids, lps, tails = [], [], []
    for i in batch.indices:
        a, b, c = cache.get(cache_idx[i])
        ids.append(a)
        lps.append(b)
        tails.append(c)
    return TeacherTopK(torch.cat(ids), torch.cat(lps), torch.cat(tails))


def _position_losses(logits: torch.Tensor, batch: Batch, teacher: TeacherTopK | None, cfg: DistillConfig,
                     lam: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-position loss and components (unreduced) for the configured supervision."""
    if cfg.supervision == "sft":
        ce = cross_entropy(logits, batch.targets, reduction="none")
        return ce, {"ce": ce}
    assert teacher is not None
    if cfg.supervision in ("label", "cot"):
        kl = kd_loss(logits, teacher, cfg.temperature, cfg.kd, reduction="none")
        return kl, {"kl": kl}
    # reduction="none": per-position blend and per-position components (the trainer weights them)
    per, parts = blended_cot_loss(logits, batch.targets, teacher, lam, cfg.temperature, variant=cfg.kd,
                                  reduction="none")
    return per, parts


@torch.no_grad()
def heldout_metrics(model, examples: Sequence[Example], *, cache: TopKCache | None = None,
                    temperature: float = 1.0, batch_size: int = 16, pad_id: int = 0) -> dict[str, float]:
    """Held-out token metrics at the supervised positions: mean CE on answer tokens and on all
    target tokens, and (with a teacher cache) mean forward KL to the teacher over all of them."""
    if not examples:
        return {}
    lm = core_model(model)
    was_training = lm.training
    lm.eval()
    wrapper = SupervisedLM(lm)
    device = next(lm.parameters()).device
    cache_idx = cache.check_examples(examples) if cache is not None else None
    sums = {"ce_answer": 0.0, "ce_all": 0.0, "kl": 0.0}
    n_ans = n_all = 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        batch = collate([examples[i] for i in idx], list(range(len(idx))), pad_id).to(device)
        logits = wrapper(batch.input_ids, batch.attention_mask, batch.pos_b, batch.pos_t).float()
        ce = cross_entropy(logits, batch.targets, reduction="none")
        sums["ce_all"] += float(ce.sum())
        sums["ce_answer"] += float(ce[batch.is_answer].sum())
        n_all += ce.numel()
        n_ans += int(batch.is_answer.sum())
        if cache_idx is not None:
            teacher = _teacher_for(batch, cache, [cache_idx[i] for i in idx])
            teacher = TeacherTopK(*(t.to(device) for t in teacher))
            sums["kl"] += float(kd_loss(logits, teacher, temperature, "forward", reduction="sum"))
    if was_training:
        lm.train()
    out = {"ce_answer": sums["ce_answer"] / max(n_ans, 1), "ce_all": sums["ce_all"] / max(n_all, 1),
           "n_examples": len(examples), "n_positions": n_all}
    if cache_idx is not None:
        out["kl"] = sums["kl"] / max(n_all, 1)
    return out


def _checkpoints(out_dir: Path) -> list[Path]:
    root = out_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-")
                  and (p / "state.json").exists())


def _trainable(model) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(out_dir: Path, step: int, model, optimizer, run_hash: str) -> None:
    from safetensors.torch import save_file

    final = out_dir / "checkpoints" / f"step-{step:06d}"
    with atomic_dir(final) as tmp:
        # clone: tied/shared tensors cannot be written to safetensors as views of one another
        save_file({n: p.detach().cpu().clone().contiguous() for n, p in _trainable(model).items()},
                  str(tmp / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        atomic_write_json(tmp / "state.json", {"step": step, "run_hash": run_hash})
    for old in _checkpoints(out_dir)[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(ckpt: Path, model, optimizer) -> int:
    from safetensors.torch import load_file

    state = json.loads((ckpt / "state.json").read_text())
    saved = load_file(str(ckpt / "trainable.safetensors"))
    params = _trainable(model)
    if set(saved) != set(params):
        raise TrainError(f"{ckpt}: checkpoint holds other parameters than the model "
                         f"({len(saved)} vs {len(params)}); was it written for another student?")
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(saved[n].to(p.device, p.dtype))
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True, map_location="cpu"))
    return int(state["step"])


def _apply_lora(model, cfg: DistillConfig):
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = [t for t in cfg.lora_targets if t not in names]
    if missing:
        raise TrainError(f"lora_targets {missing} are not module names of this model "
                         f"(e.g. {sorted(n for n in names if n.endswith('proj'))[:8]})")
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.lora_targets), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lcfg)


def _validate(examples: Sequence[Example], cfg: DistillConfig, cache: TopKCache | MixedCache | None,
              vocab: int) -> None:
    if not examples:
        raise TrainError("no training examples")
    if cfg.needs_cache and cache is None:
        raise TrainError(f"supervision {cfg.supervision!r} distils from teacher logits and needs a teacher "
                         "cache (taskdistill teacher annotate / write_topk_cache); use supervision 'sft' "
                         "to train on the targets alone")
    if cfg.needs_traces:
        # with label_mix, answer-only rows are part of the blend; the traces must still be there
        mix = cfg.supervision == "blended" and cfg.label_mix
        if mix and not any(ex.has_trace for ex in examples):
            raise TrainError("supervision 'blended' needs reasoning traces, but none of the "
                             f"{len(examples)} examples has one; add the cot-format examples "
                             "(teacher traces)")
        no_trace = [ex.id for ex in examples if not ex.has_trace and not (mix and ex.fmt == "label")]
        if no_trace:
            raise TrainError(f"supervision {cfg.supervision!r} needs reasoning traces, but {len(no_trace)} "
                             f"example(s) have none (e.g. {no_trace[:3]}); build them with fmt='cot' and "
                             "teacher traces")
    if cache is not None and int(cache.meta.get("vocab", vocab)) != vocab:
        raise CacheError(f"{cache.path}: teacher vocab {cache.meta.get('vocab')} != student vocab {vocab}")
    too_long = [ex.id for ex in examples if len(ex.input_ids) > cfg.max_length]
    if too_long:
        raise TrainError(f"{len(too_long)} example(s) exceed max_length={cfg.max_length} "
                         f"(e.g. {too_long[:3]}); rebuild them with the same max_length")


# ------------------------------------------------------------------------------------------- train

def _check_inputs(examples: Sequence[Example], cfg: DistillConfig, cache, eval_examples, eval_cache, task,
                  vocab: int, quiet: bool):
    """Pass 1: the examples, the teacher cache and the task fit together; returns (each example's index
    in the cache, the held-out cache, or None when the eval examples are not in it)."""
    _validate(examples, cfg, cache, vocab)
    if task is not None and cache is not None:
        for c in getattr(cache, "caches", [cache]):
            if c.task_hash is not None and c.task_hash != task.hash:
                raise CacheError(f"{c.path}: teacher cache was written for another task (hash {c.task_hash}) "
                                 f"than {task.name!r} (hash {task.hash}); annotate for this task")
    cache_idx = cache.check_examples(examples) if cache is not None else None
    eval_cache = eval_cache if eval_cache is not None else (cache if cfg.needs_cache else None)
    if eval_cache is not None and eval_examples:
        try:
            eval_cache.check_examples(eval_examples)
        except CacheError:
            if not quiet:
                print("note: eval examples are not in the teacher cache; held-out KL is not reported")
            eval_cache = None
    return cache_idx, eval_cache


def _claim_run(out_dir: Path, run_hash: str, accelerator, record: dict) -> bool:
    """Pass 2: ``out_dir`` holds this run or none (another run's folder is an error); records the run in
    ``run.json``. True when the run already finished (``final`` exists)."""
    run_file = out_dir / "run.json"
    if run_file.exists():
        prev = json.loads(run_file.read_text())
        if prev.get("run_hash") != run_hash:
            raise TrainError(f"{out_dir} holds another run (run_hash {prev.get('run_hash')} != {run_hash}: "
                             "other settings, data, teacher, student or process count); use another --out")
        if (out_dir / "final").is_dir():
            return True
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_write_json(run_file, {"run_hash": run_hash, **record})
    return False


def _trainable_model(model, cfg: DistillConfig):
    """Pass 3: the model in the run's dtype, with LoRA adapters (``lora``) or every weight trainable."""
    torch.manual_seed(cfg.seed)
    model.to(DTYPES[cfg.dtype])
    if cfg.method == "lora":
        model = _apply_lora(model, cfg)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    model.train()
    return model


def _resume(out_dir: Path, run_hash: str, model, optimizer, accelerator) -> int:
    """Pass 4: load the newest checkpoint of this run (if any) and cut the log back to it; returns the
    step to start from."""
    start_step = 0
    ckpts = _checkpoints(out_dir)
    if ckpts:
        state = json.loads((ckpts[-1] / "state.json").read_text())
        if state.get("run_hash") == run_hash:
            start_step = _load_checkpoint(ckpts[-1], model, optimizer)
    log_file = out_dir / "train_log.jsonl"
    if accelerator.is_main_process:
        rows = []
        if start_step and log_file.exists():
            rows = [r for r in log_file.read_text().splitlines()
                    if r.strip() and json.loads(r).get("step", 0) <= start_step]
        atomic_write_text(log_file, "".join(r + "\n" for r in rows))
    return start_step


class _Loop:
    """Pass 5: the optimisation loop's state and its two actions, one optimizer step and one held-out
    evaluation, both appending to ``train_log.jsonl``."""

    def __init__(self, model, wrapper, optimizer, params, accelerator, examples: Sequence[Example],
                 cfg: DistillConfig, cache, cache_idx, eval_examples, eval_cache, pad_id: int, log_file: Path):
        self.model, self.wrapper, self.optimizer, self.params = model, wrapper, optimizer, params
        self.accelerator, self.examples, self.cfg = accelerator, examples, cfg
        self.cache, self.cache_idx = cache, cache_idx
        self.eval_examples, self.eval_cache = eval_examples, eval_cache
        self.pad_id, self.log_file = pad_id, log_file
        self.world, self.rank = accelerator.num_processes, accelerator.process_index
        self.device = accelerator.device
        self.lengths = [len(ex.input_ids) for ex in examples]
        self.weights = [_position_weights(ex, cfg) for ex in examples]
        self.weight_sums = [sum(w) for w in self.weights]
        self.epoch_cache: dict[int, list[list[int]]] = {}
        self.t0, self.tokens_seen = time.perf_counter(), 0

    def micro_batch(self, g: int) -> list[int]:
        """Global micro-batch ``g`` of the seeded, length-bucketed plan (a pure function of seed and epoch)."""
        cfg = self.cfg
        n_batches = math.ceil(len(self.examples) / cfg.batch_size)
        epoch, j = divmod(g, n_batches)
        if epoch not in self.epoch_cache:
            self.epoch_cache.clear()
            self.epoch_cache[epoch] = bucketed_batches(self.lengths, cfg.batch_size, seed=cfg.seed, epoch=epoch,
                                                       bucket_size=cfg.bucket_size)
        return self.epoch_cache[epoch][j]

    def log(self, row: dict) -> None:
        if self.accelerator.is_main_process:
            with open(self.log_file, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    def evaluate(self, step: int) -> dict:
        """Held-out metrics (main process), logged as an ``eval`` row."""
        out = {}
        if self.eval_examples and self.accelerator.is_main_process:
            out = heldout_metrics(self.model, self.eval_examples, cache=self.eval_cache, temperature=1.0,
                                  pad_id=self.pad_id)
            self.log({"step": step, "eval": out})
        self.accelerator.wait_for_everyone()
        return out

    def step(self, step: int) -> dict:
        """One optimizer step over the global batch (this process's share of its micro-batches), with the
        loss normalised by the global batch's supervised weight; returns the logged row."""
        cfg, accelerator, device, examples = self.cfg, self.accelerator, self.device, self.examples
        G = cfg.grad_accum * self.world
        lam = blend_weight(step, cfg.blend_lambda, cfg.blend_warmup) if cfg.supervision == "blended" else 1.0
        global_batches = [self.micro_batch(step * G + j) for j in range(G)]
        total_w = sum(self.weight_sums[i] for b in global_batches for i in b)
        if total_w <= 0:
            raise TrainError(f"step {step}: no supervised tokens with non-zero weight in the batch")
        lr = lr_at(step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        mine = global_batches[self.rank::self.world]
        sums = {"loss": torch.zeros((), device=device), "kl": torch.zeros((), device=device),
                "ce": torch.zeros((), device=device), "tokens": torch.zeros((), device=device)}
        parts: dict = {}
        for m, idx in enumerate(mine):
            batch = collate([examples[i] for i in idx], idx, self.pad_id).to(device)
            w = torch.tensor([x for i in idx for x in self.weights[i]], device=device)
            teacher = None
            if self.cache is not None and cfg.needs_cache:
                teacher = TeacherTopK(*(t.to(device) for t in _teacher_for(batch, self.cache, self.cache_idx)))
            sync = m == len(mine) - 1
            ctx = accelerator.no_sync(self.wrapper) if not sync else contextlib.nullcontext()
            with ctx:
                logits = self.wrapper(batch.input_ids, batch.attention_mask, batch.pos_b, batch.pos_t)
                per, parts = _position_losses(logits, batch, teacher, cfg, lam)
                loss_sum = (per * w).sum()
                if not torch.isfinite(loss_sum):
                    raise TrainError(f"step {step}: non-finite loss {float(loss_sum)} "
                                     f"(examples {[examples[i].id for i in idx[:3]]}...); lower lr")
                accelerator.backward(loss_sum * self.world / total_w)
            sums["loss"] += loss_sum.detach()
            for key, v in parts.items():
                sums[key] += (v.detach() * w).sum()
            sums["tokens"] += batch.n_tokens
        grad_norm = None
        if cfg.max_grad_norm:
            grad_norm = float(accelerator.clip_grad_norm_(self.params, cfg.max_grad_norm))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        reduced = accelerator.reduce(torch.stack(list(sums.values())), reduction="sum").cpu().tolist()
        red = dict(zip(sums, reduced, strict=True))
        self.tokens_seen += int(red["tokens"])
        elapsed = time.perf_counter() - self.t0
        row = {"step": step + 1, "loss": red["loss"] / total_w, "lr": lr, "lambda": lam,
               "tokens": int(red["tokens"]), "tok_s": self.tokens_seen / max(elapsed, 1e-9),
               "grad_norm": grad_norm}
        for key in ("kl", "ce"):
            if key in parts:
                row[key] = red[key] / total_w
        self.log(row)
        return row


def _export(accelerator, wrapper, cfg: DistillConfig, tokenizer, out_dir: Path, run_hash: str,
            task: Task | None) -> Path:
    """Pass 6: a plain Hugging Face checkpoint in ``out_dir/final`` (LoRA merged), with
    ``distill_config.json`` and the task; the training checkpoints are removed."""
    final = out_dir / "final"
    accelerator.wait_for_everyone()
    lm = accelerator.unwrap_model(wrapper).model
    if cfg.method == "lora":
        lm = lm.merge_and_unload()
    lm.eval()
    if accelerator.is_main_process:
        with atomic_dir(final) as tmp:
            lm.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            from taskdistill.info import runtime

            atomic_write_json(tmp / "distill_config.json", {
                "run_hash": run_hash, "config": cfg, "task": task_ref(task) if task is not None else None,
                "runtime": runtime()})  # threads, CPU kernels, BLAS: docs/reproducibility.md
            if task is not None:
                write_task(tmp, task)
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def train(model, tokenizer, examples: Sequence[Example], cfg: DistillConfig, out_dir: str | Path, *,
          cache: TopKCache | MixedCache | None = None, eval_examples: Sequence[Example] | None = None,
          eval_cache: TopKCache | None = None, quiet: bool = False,
          on_step: Callable[[int, dict], None] | None = None, task: Task | None = None,
          device: str | None = "auto") -> Path:
    """Train ``model`` on ``examples`` per ``cfg``; return ``out_dir/final`` (a plain HF checkpoint).

    ``model`` is modified in place (LoRA adapters are merged back into it at the end). ``cache``
    must hold every example (looked up by id + content hash); ``eval_cache`` defaults to ``cache``.
    Rerunning with the same inputs resumes from the newest checkpoint, or returns at once when the
    final checkpoint exists. ``on_step(step, row)`` is called after each optimizer step (tests use it
    to kill the process mid-run). ``task``: the task the examples were built for; it is part of the
    run hash and recorded with the exported student (``task.yaml``), and a cache written for another
    task is refused. ``device``: ``auto`` trains on the GPU when there is one, ``cpu`` on the CPU
    (``models.resolve_device``); not part of the run hash."""
    from accelerate import Accelerator

    from taskdistill.progress import make_progress

    out_dir = Path(out_dir)
    vocab = core_model(model).get_output_embeddings().weight.shape[0]
    cache_idx, eval_cache = _check_inputs(examples, cfg, cache, eval_examples, eval_cache, task, vocab, quiet)

    # cpu=True when there is no GPU (or ``device`` asks for the CPU): under torchrun / `accelerate launch
    # --multi_gpu` on a CPU-only machine this selects gloo DDP (MULTI_CPU) instead of silently running N
    # independent copies. Accelerate places the model on the process's GPU otherwise.
    from taskdistill.models import resolve_device

    accelerator = Accelerator(cpu=resolve_device(device).type == "cpu")
    world = accelerator.num_processes
    ident = [cfg, examples_hash(examples), cache.teacher_hash if cache else None, model_hash(model), world]
    if task is not None:  # runs without a task keep their earlier hash (and resume)
        ident.append(task.hash)
    run_hash = content_hash(*ident)
    record = {"config": cfg, "n_examples": len(examples), "data_hash": examples_hash(examples),
              "num_processes": world, "teacher_hash": cache.teacher_hash if cache else None,
              "cache": str(cache.path) if cache else None, "task": task_ref(task) if task is not None else None}
    if _claim_run(out_dir, run_hash, accelerator, record):
        return out_dir / "final"

    model = _trainable_model(model, cfg)
    params = list(_trainable(model).values())
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    wrapper, optimizer = accelerator.prepare(SupervisedLM(model), optimizer)
    start_step = _resume(out_dir, run_hash, model, optimizer, accelerator)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    loop = _Loop(model, wrapper, optimizer, params, accelerator, examples, cfg, cache, cache_idx, eval_examples,
                 eval_cache, pad_id, out_dir / "train_log.jsonl")
    if start_step == 0:
        loop.evaluate(0)
    loop.t0 = time.perf_counter()  # throughput counts training time only
    with make_progress(quiet or not accelerator.is_main_process) as progress:
        bar = progress.add_task(f"{cfg.method}/{cfg.supervision}", total=cfg.steps, completed=start_step,
                                info="")
        for step in range(start_step, cfg.steps):
            row = loop.step(step)
            info = " ".join(f"{k} {row[k]:.3f}" for k in ("loss", "kl", "ce") if k in row)
            progress.update(bar, advance=1, info=f"{info} | {row['tok_s']:.0f} tok/s")
            done = step + 1
            if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and done < cfg.steps:
                if accelerator.is_main_process:
                    _save_checkpoint(out_dir, done, model, optimizer, run_hash)
                accelerator.wait_for_everyone()
            if cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.steps:
                loop.evaluate(done)
            if on_step is not None:
                on_step(done, row)
    loop.evaluate(cfg.steps)
    return _export(accelerator, wrapper, cfg, tokenizer, out_dir, run_hash, task)


def load_log(out_dir: str | Path) -> list[dict]:
    """Rows of a run's ``train_log.jsonl`` (training steps and ``eval`` rows)."""
    f = Path(out_dir) / "train_log.jsonl"
    return [json.loads(r) for r in f.read_text().splitlines() if r.strip()] if f.exists() else []


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
