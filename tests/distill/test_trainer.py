"""The trainer on tiny models: learning, resume after SIGKILL, LoRA export, DDP parity, bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from taskdistill.distill.config import DistillConfig
from taskdistill.distill.trainer import TrainError, heldout_metrics, load_log, lr_at, train
from taskdistill.targets.cache import CacheError
from taskdistill.targets.examples import build_examples
from taskdistill.targets.record import recorded_task
from taskdistill.task import load_task

from .conftest import FH, MAXLEN, SHAPE, make_df

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("_train_script.py")


def resume_cfg(**kw) -> DistillConfig:
    base = dict(method="logit", supervision="blended", steps=6, batch_size=4, grad_accum=1, lr=3e-3,
                warmup_steps=1, blend_lambda=0.7, blend_warmup=2, checkpoint_every=2, max_length=MAXLEN,
                bucket_size=2, seed=3)
    base.update(kw)
    return DistillConfig(**base)


def _student():
    from taskdistill.models import make_tiny_model

    return make_tiny_model("llama", seed=0, **SHAPE)


def _subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}:{env.get('PYTHONPATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_lr_schedule():
    cfg = DistillConfig(steps=11, warmup_steps=2, lr=1.0, min_lr=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.5) and lr_at(1, cfg) == pytest.approx(1.0)
    assert lr_at(2, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(0.1)
    assert lr_at(6, cfg) == pytest.approx(0.55)


def test_distillation_lowers_heldout_kl(small, teacher, tmp_path):
    from taskdistill.targets.cache import TopKCache, write_topk_cache

    model, tok = small
    train_ex = build_examples(tok, FH, make_df(24), fmt="label", max_length=MAXLEN)
    held = build_examples(tok, FH, make_df(8, offset=50), fmt="label", max_length=MAXLEN)
    write_topk_cache(teacher, tok, train_ex + held, tmp_path / "cache", k=16, quiet=True, task_hash=FH.hash)
    cache = TopKCache.open(tmp_path / "cache")
    before = heldout_metrics(model, held, cache=cache)
    cfg = DistillConfig(supervision="label", steps=12, batch_size=8, lr=1e-2, warmup_steps=1,
                        max_length=MAXLEN)
    with pytest.raises(CacheError, match="another task"):  # a cache of finheadlines, trained for another task
        train(model, tok, train_ex, cfg, tmp_path / "other", cache=cache, task=load_task("finheadlines-coarse"))
    final = train(model, tok, train_ex, cfg, tmp_path / "run", cache=cache, eval_examples=held, quiet=True,
                  task=FH)
    after = heldout_metrics(model, held, cache=cache)
    assert after["kl"] < 0.5 * before["kl"], (before, after)
    log = load_log(tmp_path / "run")
    steps = [r for r in log if "loss" in r]
    evals = [r for r in log if "eval" in r]
    assert len(steps) == 12 and all("kl" in r and "ce" not in r for r in steps)
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 12
    assert evals[-1]["eval"]["kl"] == pytest.approx(after["kl"], rel=1e-4)
    assert (final / "config.json").exists() and (final / "distill_config.json").exists()
    # the student records its task: name + hash in distill_config.json, the definition in task.yaml
    assert json.loads((final / "distill_config.json").read_text())["task"] == {"name": FH.name, "hash": FH.hash}
    assert recorded_task(final).hash == FH.hash
    # a finished run is not redone (same initial student, settings, data, teacher and task)
    fresh, _ = _student()
    assert train(fresh, tok, train_ex, cfg, tmp_path / "run", cache=cache, quiet=True, task=FH) == final
    with pytest.raises(TrainError, match="holds another run"):  # the task is part of the run's identity
        train(fresh, tok, train_ex, cfg, tmp_path / "run", cache=cache, quiet=True)
    assert len([r for r in load_log(tmp_path / "run") if "loss" in r]) == 12


def test_kill_and_resume_reaches_same_weights(cot_examples, cot_cache, tmp_path):
    from safetensors.torch import load_file

    killed = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "resumed"), str(cot_cache.path),
                             "6", "1", "3"], env=_subprocess_env(), cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    ckpts = sorted((tmp_path / "resumed" / "checkpoints").iterdir())
    assert [p.name for p in ckpts] == ["step-000002"]
    assert not (tmp_path / "resumed" / "final").exists()

    model, tok = _student()
    final_resumed = train(model, tok, cot_examples, resume_cfg(), tmp_path / "resumed", cache=cot_cache,
                          quiet=True)
    model2, _ = _student()
    final_straight = train(model2, tok, cot_examples, resume_cfg(), tmp_path / "straight", cache=cot_cache,
                           quiet=True)
    a = load_file(str(final_resumed / "model.safetensors"))
    b = load_file(str(final_straight / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    log = [r for r in load_log(tmp_path / "resumed") if "loss" in r]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]  # the killed step 3 was replayed once
    straight = [r["loss"] for r in load_log(tmp_path / "straight") if "loss" in r]
    assert [r["loss"] for r in log] == pytest.approx(straight, rel=1e-6)
    assert log[0]["lambda"] == 0.0 and log[-1]["lambda"] == pytest.approx(0.7)


def test_lora_exports_merged_checkpoint(cot_examples, cot_cache, tmp_path):
    from transformers import AutoModelForCausalLM

    from taskdistill.targets.batching import collate, supervised_logits

    model, tok = _student()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = DistillConfig(method="lora", supervision="cot", steps=4, batch_size=4, lr=5e-3, warmup_steps=1,
                        lora_r=4, lora_alpha=8, lora_targets=("q_proj", "v_proj", "down_proj"),
                        max_length=MAXLEN)
    final = train(model, tok, cot_examples, cfg, tmp_path / "lora", cache=cot_cache, quiet=True)
    reloaded = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32).eval()
    assert not any("lora" in n for n, _ in reloaded.named_parameters())
    sd = reloaded.state_dict()
    assert not torch.equal(sd["model.layers.0.self_attn.q_proj.weight"],
                           base["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(sd["model.layers.0.self_attn.k_proj.weight"],
                       base["model.layers.0.self_attn.k_proj.weight"])  # not a LoRA target
    batch = collate(cot_examples[:4], [0, 1, 2, 3], tok.pad_token_id)
    torch.testing.assert_close(supervised_logits(reloaded, batch), supervised_logits(model, batch),
                               rtol=1e-5, atol=1e-5)


def test_two_process_gloo_matches_one_process(cot_examples, cot_cache, tmp_path):
    """1 process x grad_accum 2 and 2 processes (gloo DDP) x grad_accum 1 take the same steps."""
    env = _subprocess_env()
    # `--multi_gpu` is accelerate's multi-process launcher; with no GPU the trainer selects gloo on CPU
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "29533", str(SCRIPT), str(tmp_path / "ddp"), str(cot_cache.path), "4", "1"]
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / "ddp" / "run.json").read_text())["num_processes"] == 2
    ddp = [r for r in load_log(tmp_path / "ddp") if "loss" in r]
    model, tok = _student()
    train(model, tok, cot_examples, resume_cfg(steps=4, grad_accum=2), tmp_path / "single", cache=cot_cache,
          quiet=True)
    single = [r for r in load_log(tmp_path / "single") if "loss" in r]
    assert len(ddp) == len(single) == 4
    assert [r["tokens"] for r in ddp] == [r["tokens"] for r in single]
    assert [r["loss"] for r in ddp] == pytest.approx([r["loss"] for r in single], rel=1e-4)
    assert single[-1]["loss"] != pytest.approx(single[0]["loss"], rel=1e-3)  # it actually trained


def test_bad_inputs_give_clear_errors(small, cot_examples, cot_cache, tmp_path):
    model, tok = small
    with pytest.raises(TrainError, match="needs a teacher cache"):
        train(model, tok, cot_examples, DistillConfig(supervision="blended", max_length=MAXLEN), tmp_path / "a")
    labels = build_examples(tok, FH, make_df(4), fmt="label", max_length=MAXLEN)
    with pytest.raises(TrainError, match="needs reasoning traces"):
        train(model, tok, labels, DistillConfig(supervision="cot", max_length=MAXLEN), tmp_path / "b",
              cache=cot_cache)
    with pytest.raises(CacheError, match="format"):
        train(model, tok, labels, DistillConfig(supervision="label", max_length=MAXLEN), tmp_path / "c",
              cache=cot_cache)
    other = build_examples(tok, FH, make_df(4, offset=300), fmt="cot", max_length=MAXLEN)
    with pytest.raises(CacheError, match="not in the teacher cache"):
        train(model, tok, other, DistillConfig(supervision="blended", max_length=MAXLEN), tmp_path / "d",
              cache=cot_cache)
    with pytest.raises(TrainError, match="lora_targets"):
        train(model, tok, cot_examples, DistillConfig(method="lora", lora_targets=("nope",), max_length=MAXLEN,
                                                      steps=2, warmup_steps=0), tmp_path / "e", cache=cot_cache)
    cfg = DistillConfig(supervision="sft", steps=1, warmup_steps=0, max_length=MAXLEN)
    train(model, tok, labels, cfg, tmp_path / "f")
    with pytest.raises(TrainError, match="holds another run"):
        train(model, tok, labels, cfg.model_copy(update={"lr": 0.5}), tmp_path / "f")
    from taskdistill.errors import TaskdistillError

    with pytest.raises(TaskdistillError, match="holds another run"):  # resuming with another seed: exit 2
        train(model, tok, labels, cfg.model_copy(update={"seed": 1}), tmp_path / "f")
    with pytest.raises(ValueError, match="warmup_steps"):
        DistillConfig(steps=5, warmup_steps=5)


def test_position_weights_per_supervision(cot_examples):
    from taskdistill.distill.trainer import _position_weights

    ex = cot_examples[0]
    n_ans = ex.segments.count("answer")
    label = _position_weights(ex, DistillConfig(supervision="label", max_length=MAXLEN))
    assert sum(label) == n_ans and all(w == 0 for w, s in zip(label, ex.segments, strict=True) if s == "trace")
    blended = _position_weights(ex, DistillConfig(supervision="blended", answer_weight=2.0, max_length=MAXLEN))
    assert sum(blended) == (ex.n_supervised - n_ans) + 2 * n_ans


def test_blended_mixes_answer_only_rows(small, teacher, cot_examples, cot_cache, tmp_path):
    """blended + label_mix trains on CoT rows and answer-only rows through one MixedCache; without
    label_mix (or with no trace at all) the answer-only rows are refused."""
    from taskdistill.targets.cache import MixedCache, TopKCache, write_topk_cache

    model, tok = small
    labels = build_examples(tok, FH, make_df(24), fmt="label", max_length=MAXLEN)
    write_topk_cache(teacher, tok, labels, tmp_path / "nolab", k=32, quiet=True)
    with pytest.raises(CacheError, match="disagree on task_hash"):  # caches written for different tasks
        MixedCache([cot_cache, TopKCache.open(tmp_path / "nolab")])
    write_topk_cache(teacher, tok, labels, tmp_path / "lab", k=32, quiet=True, task_hash=FH.hash)
    mixed = MixedCache([cot_cache, TopKCache.open(tmp_path / "lab")])
    idx = mixed.check_examples(cot_examples + labels)
    assert idx == list(range(48)) and mixed.n == 48
    assert torch.equal(mixed.get(30)[1], TopKCache.open(tmp_path / "lab").get(6)[1])
    cfg = DistillConfig(supervision="blended", steps=3, batch_size=8, warmup_steps=0, lr=3e-3,
                        max_length=MAXLEN, bucket_size=1)
    train(model, tok, cot_examples + labels, cfg, tmp_path / "run", cache=mixed, quiet=True)
    rows = [r for r in load_log(tmp_path / "run") if "loss" in r]
    assert len(rows) == 3 and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    with pytest.raises(TrainError, match="needs reasoning traces"):
        train(model, tok, labels, cfg, tmp_path / "x", cache=mixed)
    with pytest.raises(TrainError, match="needs reasoning traces"):
        train(model, tok, cot_examples + labels, cfg.model_copy(update={"label_mix": False}), tmp_path / "y",
              cache=mixed)
    with pytest.raises(CacheError, match="two caches of the same format"):
        MixedCache([cot_cache, cot_cache])
