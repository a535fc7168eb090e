"""Do LLM paraphrases of template headlines help a classifier on real headlines?

1. Sources: ``--sources`` template headlines (the FinHeadlineMix grammar, default difficulty, labels
   round-robin, seed ``--source-seed``).
2. Paraphrase them with a local instruct model (``taskdistill.data.synth.paraphrase``; greedy,
   batched, chat template). Rewrites are appended to ``OUT/rewrites.jsonl`` batch by batch, so a
   killed run resumes where it stopped.
3. Keep a paraphrase only if it passes the pipeline's malformed-output filter, differs from its
   source, keeps its label under a label checker (a bag-of-words probe trained on a template corpus,
   ``--fast`` per label, seed 0; ``--check label|group``), is not an exact/normalised duplicate and
   (unless ``--no-semantic-dedup``) not a near duplicate of a source (MiniLM cosine >= 0.9, as the
   pipeline's semantic dedup).
4. Measure: the BoW probe of ``bench/transfer.py`` trained on, per seed in ``--seeds``:
   (a) the template corpus (``--fast`` per label, that seed);
   (a+src) (a) plus the N source templates of the kept paraphrases (a control: N more rows);
   (b) (a) plus the N kept paraphrases (added);
   (b=) (a) with N random template rows replaced by the N kept paraphrases (same size);
   scored by coarse macro-F1 and accuracy on the real development CSV (13 categories).

    nice -n 10 python bench/paraphrase.py --model qwen2.5-coder-0.5b-instruct --sources 300 --out /tmp/para
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer import fast_corpus, probe, read_real  # noqa: E402


def sources(n: int, seed: int):
    from taskdistill.data.synth.templates import SIMPLE, Difficulty, generate

    rng = random.Random(seed)
    labs = list(SIMPLE)
    return [generate(rng, labs[i % len(labs)], Difficulty()) for i in range(n)]


def rewrite_resumable(srcs, args, task, log: Path) -> tuple[list[str], dict]:
    """Rewrites of ``srcs`` (cached in ``log``, one JSON line per source) and the generation cost."""
    import torch

    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for d, s in zip(done, srcs, strict=False):
        if d["source"] != s.headline:
            sys.exit(f"{log}: row for {d['source']!r} does not match this run's sources; use another --out")
    todo = srcs[len(done):]
    if todo:
        from taskdistill.data.synth.paraphrase import Paraphraser

        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        para = Paraphraser(args.model, task, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
        print(f"loaded {args.model} in {time.perf_counter() - t0:.1f} s; {len(todo)} headlines to rewrite", flush=True)
        with log.open("a") as fh:
            for b in range(0, len(todo), args.batch_size):
                chunk = todo[b:b + args.batch_size]
                before = (para.stats.seconds, para.stats.new_tokens)
                outs = para.rewrite([s.headline for s in chunk])
                sec, tok = para.stats.seconds - before[0], para.stats.new_tokens - before[1]
                for s, o in zip(chunk, outs, strict=True):
                    fh.write(json.dumps(dict(source=s.headline, rewrite=o, seconds=sec / len(chunk),
                                             new_tokens=tok / len(chunk), threads=args.threads,
                                             batch_size=args.batch_size, model=args.model)) + "\n")
                fh.flush()
                print(f"  {len(done) + b + len(chunk)}/{len(srcs)}: {tok / sec:.1f} new tokens/s, "
                      f"{sec / len(chunk):.2f} s/headline", flush=True)
        done = [json.loads(line) for line in log.read_text().splitlines()]
    sec = sum(d["seconds"] for d in done)
    tok = sum(d["new_tokens"] for d in done)
    cost = dict(headlines=len(done), minutes=round(sec / 60, 2), new_tokens=int(tok),
                tokens_per_s=round(tok / sec, 2) if sec else 0.0, s_per_headline=round(sec / len(done), 2) if done else 0.0,
                threads=done[0]["threads"] if done else args.threads, batch_size=done[0]["batch_size"] if done else 0)
    return [d["rewrite"] for d in done], cost


def main() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    from taskdistill.data.synth.paraphrase import ProbeChecker, check_paraphrases
    from taskdistill.task import load_task

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--dev", default=str(Path(__file__).resolve().parents[2] / "shared/data/real-headlines-dev.csv"))
    ap.add_argument("--out", required=True, help="folder for rewrites.jsonl (resumable) and results.json")
    ap.add_argument("--sources", type=int, default=300)
    ap.add_argument("--source-seed", type=int, default=1000)
    ap.add_argument("--fast", type=int, default=150, help="template headlines per label in the training corpus")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--check", choices=["label", "group"], default="label")
    ap.add_argument("--no-semantic-dedup", dest="semantic_dedup", action="store_false",
                    help="skip the MiniLM near-duplicate check against the sources")
    ap.add_argument("--threshold", type=float, default=0.9, help="near-duplicate cosine (the pipeline's default)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--generate-only", action="store_true")
    a = ap.parse_args()

    fine, coarse = load_task("finheadlines"), load_task("finheadlines-coarse")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    srcs = sources(a.sources, a.source_seed)
    rewrites, cost = rewrite_resumable(srcs, a, fine, out / "rewrites.jsonl")
    print("generation cost:", json.dumps(cost))
    if a.generate_only:
        return
    srcs = srcs[:len(rewrites)]

    base0 = fast_corpus(a.fast, 0)
    checker = ProbeChecker(base0["headline"], base0["label"], fine, level=a.check)
    embedder = None
    if a.semantic_dedup:
        from taskdistill.data.synth.embed import shared_embedder

        embedder = shared_embedder()
    res = check_paraphrases(srcs, rewrites, fine, checker.ok, embedder=embedder, threshold=a.threshold)
    print("paraphrase fates:", dict(res.counts))
    pd.DataFrame(res.pairs, columns=["source", "rewrite", "fate"]).to_csv(out / "fates.csv", index=False)
    kept = pd.DataFrame({"headline": [s.headline for s in res.kept], "label": [s.label for s in res.kept]})
    src_rows = pd.DataFrame({"headline": [s.fields["source"] for s in res.kept], "label": kept["label"]})
    n = len(kept)

    dev = read_real(a.dev, coarse)
    groups = list(fine.group_names)
    gold = dev["label"].tolist()
    rows = []
    for seed in a.seeds:
        base = fast_corpus(a.fast, seed)[["headline", "label"]]
        rng = random.Random(seed)
        same = base.drop(index=rng.sample(range(len(base)), n)) if n else base
        arms = {"(a) template": base,
                "(a+src) template + N sources": pd.concat([base, src_rows], ignore_index=True),
                "(b) template + N paraphrases": pd.concat([base, kept], ignore_index=True),
                "(b=) template, N replaced by paraphrases": pd.concat([same, kept], ignore_index=True)}
        for arm, train in arms.items():
            pred = [fine.group(x) for x in probe(train, dev["headline"].tolist(), seed)]
            rows.append(dict(seed=seed, arm=arm, train_rows=len(train),
                             macro_f1=f1_score(gold, pred, labels=groups, average="macro", zero_division=0),
                             accuracy=accuracy_score(gold, pred)))
    df = pd.DataFrame(rows)
    summ = df.groupby("arm", sort=False).agg(train_rows=("train_rows", "first"), macro_f1_mean=("macro_f1", "mean"),
                                             macro_f1_min=("macro_f1", "min"), macro_f1_max=("macro_f1", "max"),
                                             accuracy_mean=("accuracy", "mean")).round(4)
    print(f"\nkept paraphrases N={n} of {len(rewrites)}; dev n={len(dev)}; seeds {a.seeds}; check={a.check}")
    print(summ.to_string())
    (out / "results.json").write_text(json.dumps(dict(cost=cost, counts=dict(res.counts), n_kept=n, args=vars(a),
                                                      per_seed=rows), indent=1))


if __name__ == "__main__":
    main()
