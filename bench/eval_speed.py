"""Evaluation speed and exactness, measured in one run against baselines from the same run.

1. In-domain scoring: our 35-label trie scoring (prompt keys/values computed once, shared label
   prefixes computed once) vs the naive baseline that runs the 35 ``prompt + [[label]]`` sequences
   as one padded batch per headline (35 full forwards). Target: >= 5x. Also checks the scores agree.
2. MMLU (both scorings): our scorer vs lm-evaluation-harness's HFLM on the same questions, the same
   model object and the same batch size. Reports questions/s for each (target: faster than lm-eval
   in cloze) and checks PARITY: every per-choice log-likelihood within 1e-4 of lm-eval's and
   identical accuracies. Exits 1 on any parity mismatch.

Run (real teacher, nice'd; lm-eval from requirements-dev.txt):
    HF_HUB_OFFLINE=1 nice -n 10 python bench/eval_speed.py --n-mmlu 50 --n-headlines 8 --json out.json
``--model tiny:llama`` runs the same code on a tiny random model in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HEADLINES = [
    "Acme Corp raises full-year revenue guidance after strong third quarter",
    "Globex shares fall 8% as CEO departs unexpectedly",
    "Moody's downgrades Initech to Ba2 on rising leverage",
    "Umbrella Pharma wins FDA approval for migraine drug",
    "Stark Industries to acquire Wayne Tech in $4.2bn deal",
    "Hooli declares quarterly dividend of 25 cents per share",
    "Analyst upgrades Vandelay Industries to buy, price target $45",
    "Workers at Cyberdyne plant vote to strike over pay",
    "Soylent Corp misses quarterly earnings estimates",
    "Regulators fine Massive Dynamic $30m over disclosure failures",
    "Tyrell Corp launches new line of industrial robots",
    "Oscorp stock hits 52-week high on takeover rumours",
]


@torch.no_grad()
def naive_label_scores(model, tok, headlines, fmt="label"):
    """Baseline: per headline, one padded batch of the 35 full ``prompt + [[label]]`` sequences."""
    from taskdistill.evaluate.indomain import label_token_ids
    from taskdistill.task import load_task
    from taskdistill.task.prompts import render_prompt

    task = load_task("finheadlines")
    cands = label_token_ids(tok, task)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    out = []
    for h in headlines:
        ctx = tok.encode(render_prompt(tok, task, h, fmt), add_special_tokens=False)
        seqs = [ctx + c for c in cands]
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        att = torch.zeros_like(ids)
        for i, s in enumerate(seqs):  # right padding: positions of real tokens start at 0
            ids[i, :len(s)] = torch.tensor(s)
            att[i, :len(s)] = 1
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=att).logits.float(), -1)
        out.append([sum(float(logp[i, len(ctx) - 1 + j, t]) for j, t in enumerate(c)) for i, c in enumerate(cands)])
    return np.array(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--n-headlines", type=int, default=8, help="0 skips the in-domain comparison")
    ap.add_argument("--n-mmlu", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; on a shared, oversubscribed CPU 1 is faster than 2")
    ap.add_argument("--scorings", default="cloze,letter")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from taskdistill.evaluate.general import load_items, score_items, stratified_sample
    from taskdistill.evaluate.indomain import score_label_logprobs
    from taskdistill.evaluate.reference import compare, lmeval_mmlu
    from taskdistill.models import load_model
    from taskdistill.task import load_task

    model, tok = load_model(args.model, quiet=True)
    res: dict = {"model": args.model, "batch_size": args.batch_size, "threads": args.threads, "seed": args.seed}
    ok = True

    if args.n_headlines > 0:
        heads = (HEADLINES * (args.n_headlines // len(HEADLINES) + 1))[:args.n_headlines]
        task = load_task("finheadlines")
        score_label_logprobs(model, tok, task, heads[:1], batch_size=1, progress=False)  # warm-up
        t0 = time.perf_counter()
        ours, _ = score_label_logprobs(model, tok, task, heads, batch_size=args.batch_size, progress=False)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive = naive_label_scores(model, tok, heads)
        t_naive = time.perf_counter() - t0
        diff = float(np.max(np.abs(ours - naive)))
        res["indomain"] = {"n": len(heads), "ours_s": t_ours, "naive_s": t_naive, "ours_headlines_per_s": len(heads) / t_ours,
                           "naive_headlines_per_s": len(heads) / t_naive, "speedup": t_naive / t_ours,
                           "max_abs_diff": diff}
        print(f"in-domain  ours {len(heads) / t_ours:.2f} headlines/s  naive {len(heads) / t_naive:.2f} headlines/s  "
              f"speedup {t_naive / t_ours:.1f}x  max|diff| {diff:.2e}", flush=True)
        if diff > args.tol:
            print(f"MISMATCH: KV-reuse label scores differ from naive by {diff:.2e}", flush=True)
            ok = False

    items = stratified_sample(load_items()[0], args.n_mmlu, args.seed)
    for scoring in args.scorings.split(","):
        t0 = time.perf_counter()
        lls = score_items(model, tok, items, scoring=scoring, batch_size=args.batch_size, progress=False)
        t_ours = time.perf_counter() - t0
        ref = lmeval_mmlu(model, tok, items, scoring=scoring, batch_size=args.batch_size)
        cmp = compare(lls, ref["loglik"], tol=args.tol)
        gold = np.array([it.answer for it in items])
        acc = float(np.mean([int(np.argmax(ll)) == g for ll, g in zip(lls, gold, strict=True)]))
        row = {"n": len(items), "ours_s": t_ours, "lmeval_s": ref["seconds"],
               "ours_q_per_s": len(items) / t_ours, "lmeval_q_per_s": len(items) / ref["seconds"],
               "speedup": ref["seconds"] / t_ours, "acc_ours": acc, "acc_lmeval": ref["acc"], **cmp}
        if scoring == "cloze":
            lens = [np.array([len(c) for c in it.choices], dtype=float) for it in items]
            row["acc_norm_ours"] = float(np.mean([int(np.argmax(ll / ln)) == g
                                                  for ll, ln, g in zip(lls, lens, gold, strict=True)]))
            row["acc_norm_lmeval"] = ref["acc_norm"]
        res[f"mmlu_{scoring}"] = row
        same_acc = abs(acc - ref["acc"]) < 1e-12 and (scoring != "cloze"
                                                       or abs(row["acc_norm_ours"] - row["acc_norm_lmeval"]) < 1e-12)
        print(f"mmlu {scoring:6s} ours {row['ours_q_per_s']:.2f} q/s  lm-eval {row['lmeval_q_per_s']:.2f} q/s  "
              f"speedup {row['speedup']:.2f}x  acc {acc:.3f} vs {ref['acc']:.3f}  max|dll| {cmp['max_abs_diff']:.2e}",
              flush=True)
        if not (cmp["within_tol"] and cmp["same_predictions"] and same_acc):
            print(f"PARITY MISMATCH in {scoring}: {cmp}", flush=True)
            ok = False
    res["parity_ok"] = ok
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    print("PARITY OK" if ok else "PARITY FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
