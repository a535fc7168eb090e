"""The offline teacher cache: top-k log-probs (+ tail mass) at every supervised position.

One teacher pass per teacher x dataset x format serves every student, compression ratio, seed and
method of a sweep: training then runs no teacher forward at all (that is most of the speed-up over
online distillation, see ``bench/distill_speed.py``).

Layout of a cache folder::

    plan.json                  what is being written (teacher_hash, data_hash, task_hash, fmt, k, n, ...)
    shard-00000.safetensors    ids [P, k] int32, logprobs [P, k] float32, tail [P] float32,
                               offsets [n_shard + 1] int64 (row range of each example)
    ...
    index.json                 per example: id, content hash, shard, slot
    meta.json                  plan + caller meta + "complete": true; written last

Shards are written atomically one by one, so a killed writer resumes at the first missing shard.
Log-probs are stored at temperature 1; a training temperature is applied to them at train time
(see ``taskdistill.distill.losses`` for the tail-bucket approximation).

The task the examples were built for is part of the plan (``task_hash``), so a cache written for one
task is never read for another, even when their prompts happen to tokenise alike.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from taskdistill.cache import atomic_write_json
from taskdistill.errors import TaskdistillError
from taskdistill.models.identity import model_hash
from taskdistill.targets.batching import collate, supervised_logits
from taskdistill.targets.examples import Example, examples_hash

SHARD_EXAMPLES = 256
FORMAT_VERSION = 1


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, numerically stable (Mächler 2012)."""
    x = x.clamp(max=0.0)
    return torch.where(x > -math.log(2), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def tail_logmass(topk_logprobs: torch.Tensor) -> torch.Tensor:
    """log of the probability mass outside the top-k (``-inf`` when the top-k holds it all)."""
    return _log1mexp(torch.logsumexp(topk_logprobs.float(), dim=-1).clamp(max=0.0))


class CacheError(TaskdistillError, ValueError):
    """A teacher cache that is missing, incomplete, or built for another teacher/dataset/format."""


def _shard_name(i: int) -> str:
    return f"shard-{i:05d}.safetensors"


def _infer_fmt(examples: Sequence[Example]) -> str:
    fmts = {ex.fmt for ex in examples}
    if len(fmts) != 1:
        raise CacheError(f"examples mix formats {sorted(fmts)}; a cache holds one format")
    return fmts.pop()


@torch.no_grad()
def _cache_plan(teacher_model, examples: Sequence[Example], meta: dict, k: int, shard_examples: int,
                task_hash: str | None) -> dict:
    """What a cache holds (teacher, examples, task, format, k, sizes): a cache folder is reused only for
    the same plan. Pops ``teacher_hash`` and ``fmt`` from ``meta``."""
    vocab = teacher_model.get_output_embeddings().weight.shape[0]
    if not 1 <= k <= vocab:
        raise CacheError(f"k={k} must be in [1, vocab={vocab}]")
    return {
        "version": FORMAT_VERSION,
        "teacher_hash": meta.pop("teacher_hash", None) or model_hash(teacher_model),
        "data_hash": examples_hash(examples),
        "task_hash": task_hash,
        "fmt": meta.pop("fmt", None) or _infer_fmt(examples),
        "k": k,
        "n": len(examples),
        "vocab": vocab,
        "shard_examples": shard_examples,
        "positions": sum(ex.n_supervised for ex in examples),
    }


def _claim(out_dir: Path, plan: dict) -> bool:
    """Record ``plan`` in a new folder, or check an existing folder holds the same plan; True when that
    cache is already complete. A folder holding another plan is an error."""
    plan_file = out_dir / "plan.json"
    if not plan_file.exists():
        atomic_write_json(plan_file, plan)
        return False
    old = json.loads(plan_file.read_text())
    if old != json.loads(json.dumps(plan)):
        diff = {key: (old.get(key), plan[key]) for key in plan if old.get(key) != plan[key]}
        raise CacheError(f"{out_dir}: holds a cache for another plan {diff}; use another folder or delete this one")
    return (out_dir / "meta.json").exists()


def _topk_batch(teacher_model, examples: Sequence[Example], idx: list[int], k: int, pad_id: int,
                per_example: dict) -> int:
    """One teacher forward over examples ``idx``: each one's top-k ids, log-probs and tail mass at its
    supervised positions go into ``per_example``; returns the batch's token count."""
    batch = collate([examples[i] for i in idx], idx, pad_id)
    logits = supervised_logits(teacher_model, batch).float()
    logp = torch.log_softmax(logits, dim=-1)
    top_lp, top_ids = logp.topk(k, dim=-1)
    tail = tail_logmass(top_lp)
    start = 0
    for i in idx:
        n = examples[i].n_supervised
        per_example[i] = (top_ids[start:start + n].to(torch.int32).cpu(), top_lp[start:start + n].cpu(),
                          tail[start:start + n].cpu())
        start += n
    return batch.n_tokens


def _write_shard(path: Path, chunk: list[int], per_example: dict) -> None:
    """The shard's examples in order, concatenated with offsets, written atomically (whole or absent)."""
    from safetensors.torch import save_file

    offsets = [0]
    for i in chunk:
        offsets.append(offsets[-1] + per_example[i][0].shape[0])
    tensors = {name: torch.cat([per_example[i][j] for i in chunk]).contiguous()
               for j, name in enumerate(("ids", "logprobs", "tail"))}
    tensors["offsets"] = torch.tensor(offsets, dtype=torch.int64)
    tmp = path.parent / f".{path.name}.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, path)


def write_topk_cache(teacher_model, tokenizer, examples: Sequence[Example], out_dir: str | Path, *,
                     k: int = 64, meta: dict | None = None, batch_size: int = 8,
                     shard_examples: int = SHARD_EXAMPLES, quiet: bool = False,
                     task_hash: str | None = None) -> Path:
    """Run the teacher once over ``examples`` and store its top-k distribution at each supervised
    position. ``task_hash`` (``task.hash`` of the task the examples were built for) is part of the
    plan. ``meta`` may carry ``teacher_hash`` (else the weights are fingerprinted) and anything
    the caller wants recorded (teacher spec, dataset path, ...). Returns ``out_dir``; a complete
    cache with the same plan is returned untouched, a partial one is resumed (shard by shard)."""
    from taskdistill.progress import make_progress

    if not examples:
        raise CacheError("no examples to annotate")
    meta = dict(meta or {})
    out_dir = Path(out_dir)
    plan = _cache_plan(teacher_model, examples, meta, k, shard_examples, task_hash)
    if _claim(out_dir, plan):
        return out_dir

    was_training = teacher_model.training
    teacher_model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    n_shards = (len(examples) + shard_examples - 1) // shard_examples
    index = []
    with make_progress(quiet) as progress:
        bar = progress.add_task("teacher top-k", total=len(examples), info="")
        for s in range(n_shards):
            chunk = list(range(s * shard_examples, min(len(examples), (s + 1) * shard_examples)))
            index.extend({"id": examples[i].id, "hash": examples[i].content_hash(), "shard": s,
                          "slot": j} for j, i in enumerate(chunk))
            if (out_dir / _shard_name(s)).exists():
                progress.advance(bar, len(chunk))
                continue
            # sort by length inside the shard so batches pad little; the shard keeps the list order
            order = sorted(chunk, key=lambda i: len(examples[i].input_ids))
            per_example: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
            for b in range(0, len(order), batch_size):
                idx = order[b:b + batch_size]
                n_tokens = _topk_batch(teacher_model, examples, idx, k, pad_id, per_example)
                progress.update(bar, advance=len(idx), info=f"{n_tokens} tok/batch")
            _write_shard(out_dir / _shard_name(s), chunk, per_example)
    if was_training:
        teacher_model.train()
    atomic_write_json(out_dir / "index.json", index)
    atomic_write_json(out_dir / "meta.json", {**plan, **meta, "complete": True})
    return out_dir


class TopKCache:
    """Read side of the cache. ``get(i)`` -> (topk_ids [P, k] int64, topk_logprobs [P, k] float32,
    tail_logmass [P] float32) for example ``i`` of the list the cache was built from; ``lookup``
    finds an example by id and checks its content hash, so a subset of the annotated data (a
    data-size sweep) trains from the same cache."""

    def __init__(self, path: Path, meta: dict, index: list[dict]):
        self.path = path
        self.meta = meta
        self._index = index
        self._by_id = {row["id"]: i for i, row in enumerate(index)}
        self._shards: dict[int, dict[str, torch.Tensor]] = {}

    @classmethod
    def open(cls, path: str | Path, *, expect_teacher: str | None = None, expect_data: str | None = None,
             expect_fmt: str | None = None, expect_task: str | None = None) -> TopKCache:
        path = Path(path)
        if not path.is_dir():
            raise CacheError(f"teacher cache not found: {path} (write it with `taskdistill teacher "
                             "annotate` or taskdistill.targets.cache.write_topk_cache)")
        meta_file = path / "meta.json"
        if not meta_file.exists():
            what = "an unfinished cache (rerun the writer to resume it)" if (path / "plan.json").exists() \
                else "not a teacher cache (no meta.json)"
            raise CacheError(f"{path}: {what}")
        try:
            meta = json.loads(meta_file.read_text())
            index = json.loads((path / "index.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CacheError(f"{path}: unreadable cache metadata ({exc})") from exc
        for key, want in (("teacher_hash", expect_teacher), ("data_hash", expect_data), ("fmt", expect_fmt),
                          ("task_hash", expect_task)):
            if want is not None and meta.get(key) != want:
                what = {"teacher_hash": "teacher", "data_hash": "dataset", "fmt": "format", "task_hash": "task"}[key]
                raise CacheError(f"{path}: cache {key} is {meta.get(key)!r} but {want!r} was expected "
                                 f"(the cache was built for another {what}; re-annotate or pass the "
                                 "matching cache)")
        if len(index) != meta.get("n"):
            raise CacheError(f"{path}: index has {len(index)} rows but meta says n={meta.get('n')}")
        return cls(path, meta, index)

    @property
    def n(self) -> int:
        return int(self.meta["n"])

    @property
    def k(self) -> int:
        return int(self.meta["k"])

    @property
    def fmt(self) -> str:
        return str(self.meta["fmt"])

    @property
    def teacher_hash(self) -> str:
        return str(self.meta["teacher_hash"])

    @property
    def data_hash(self) -> str:
        return str(self.meta["data_hash"])

    @property
    def task_hash(self) -> str | None:
        return self.meta.get("task_hash")

    def __len__(self) -> int:
        return self.n

    def _shard(self, s: int) -> dict[str, torch.Tensor]:
        if s not in self._shards:
            from safetensors.torch import load_file

            f = self.path / _shard_name(s)
            if not f.exists():
                raise CacheError(f"{self.path}: shard {f.name} is missing")
            self._shards[s] = load_file(str(f))
        return self._shards[s]

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not 0 <= i < self.n:
            raise IndexError(f"example {i} outside cache of {self.n}")
        row = self._index[i]
        sh = self._shard(row["shard"])
        a, b = int(sh["offsets"][row["slot"]]), int(sh["offsets"][row["slot"] + 1])
        return sh["ids"][a:b].long(), sh["logprobs"][a:b], sh["tail"][a:b]

    def lookup(self, example: Example) -> int:
        """Index of ``example`` in the cache; errors if it is absent or its tokens differ."""
        i = self._by_id.get(example.id)
        if i is None:
            raise CacheError(f"{self.path}: example {example.id!r} is not in the teacher cache "
                             f"(cache data_hash {self.data_hash}); annotate this dataset first")
        if self._index[i]["hash"] != example.content_hash():
            raise CacheError(f"{self.path}: example {example.id!r} was tokenised differently when the "
                             "cache was written (other tokenizer, format, trace or max_length)")
        return i

    def check_examples(self, examples: Sequence[Example]) -> list[int]:
        """Cache indices of ``examples`` (all must be present with identical content)."""
        fmts = {ex.fmt for ex in examples}
        if fmts and fmts != {self.fmt}:
            raise CacheError(f"{self.path}: cache format is {self.fmt!r} but the examples are "
                             f"{sorted(fmts)}")
        return [self.lookup(ex) for ex in examples]


class MixedCache:
    """Several one-format caches of the same teacher read as one: the blended supervision trains on
    the CoT examples *and* the answer-only (label-format) examples of a dataset, whose teacher
    distributions live in two caches. ``check_examples`` routes each example to the cache of its
    format; the returned indices are global (cache order, then index within it), so the trainer
    uses it exactly like a ``TopKCache``."""

    def __init__(self, caches: Sequence[TopKCache]):
        if not caches:
            raise CacheError("MixedCache needs at least one cache")
        fmts = [c.fmt for c in caches]
        if len(set(fmts)) != len(fmts):
            raise CacheError(f"MixedCache: two caches of the same format {fmts}")
        for key in ("teacher_hash", "vocab", "task_hash"):
            vals = {str(c.meta.get(key)) for c in caches}
            if len(vals) != 1:
                raise CacheError(f"MixedCache: caches disagree on {key} ({sorted(vals)}): "
                                 f"{[str(c.path) for c in caches]}")
        self.caches = list(caches)
        self._offset = {}
        off = 0
        for c in self.caches:
            self._offset[c.fmt] = off
            off += c.n
        self.meta = {"teacher_hash": caches[0].teacher_hash, "vocab": caches[0].meta.get("vocab"),
                     "fmt": "+".join(fmts), "n": off}
        self.path = " + ".join(str(c.path) for c in caches)

    @property
    def n(self) -> int:
        return int(self.meta["n"])

    @property
    def teacher_hash(self) -> str:
        return self.caches[0].teacher_hash

    def __len__(self) -> int:
        return self.n

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        for c in reversed(self.caches):
            off = self._offset[c.fmt]
            if i >= off:
                return c.get(i - off)
        raise IndexError(f"example {i} outside mixed cache of {self.n}")

    def check_examples(self, examples: Sequence[Example]) -> list[int]:
        by_fmt = {c.fmt: c for c in self.caches}
        out = []
        for ex in examples:
            c = by_fmt.get(ex.fmt)
            if c is None:
                raise CacheError(f"{self.path}: no cache for format {ex.fmt!r} (example {ex.id!r})")
            out.append(self._offset[ex.fmt] + c.lookup(ex))
        return out
