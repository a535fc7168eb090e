"""lm-evaluation-harness as the reference for our MMLU numbers (dev dependency ``lm-eval``).

We write the chosen questions to a local jsonl and a task yaml that reproduces lm-eval's own
``mmlu`` (letter) and ``mmlu_continuation`` (cloze) templates over it, so nothing is downloaded
(``HF_HUB_OFFLINE=1``; the ``json`` dataset builder is local). The same model object is wrapped in
lm-eval's ``HFLM``; we read its per-choice log-likelihoods and accuracies back from the logged
samples and compare them with ours (``compare``)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from taskdistill.evaluate.general import MCItem

_TEXT = {
    "letter": "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
    "cloze": "Question: {{question.strip()}}\nAnswer:",
}
_CHOICE = {"letter": '["A", "B", "C", "D"]', "cloze": '"{{choices}}"'}
_DESC = {
    "letter": "The following are multiple choice questions (with answers) about {{subject}}.\n\n",
    "cloze": "The following are questions (with answers) about {{subject}}.\n\n",
}


def _task_yaml(name: str, data: Path, scoring: str) -> str:
    # json.dumps gives YAML-compatible double-quoted strings with \n escapes
    return "\n".join([
        f"task: {name}",
        "dataset_path: json",
        f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data))}",
        "test_split: test",
        "output_type: multiple_choice",
        f"description: {json.dumps(_DESC[scoring])}",
        f"doc_to_text: {json.dumps(_TEXT[scoring])}",
        f"doc_to_choice: {_CHOICE[scoring]}",
        "doc_to_target: answer",
        "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
        "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true",
        "metadata:\n  version: 1.0",
        "",
    ])


def lmeval_mmlu(model, tokenizer, items: list[MCItem], *, scoring: str, batch_size: int = 16) -> dict:
    """Run lm-eval's HFLM on ``items``: per-item option log-likelihoods, contexts, acc, and the
    seconds spent in its ``loglikelihood`` call (``seconds_total`` adds task and dataset setup)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    if any(len(it.choices) != 4 for it in items):
        raise ValueError("the lm-eval reference task covers 4-option MMLU items only")
    with tempfile.TemporaryDirectory(prefix="td-lmeval-") as tmp:
        tmp = Path(tmp)
        data = tmp / "items.jsonl"
        data.write_text("".join(json.dumps({"id": it.id, "subject": it.subject, "question": it.question,
                                            "choices": list(it.choices), "answer": it.answer}) + "\n"
                                for it in items))
        name = f"td_mmlu_{scoring}"
        (tmp / f"{name}.yaml").write_text(_task_yaml(name, data, scoring))
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, device=str(model.device))
        # time only lm-eval's scoring call (its tokenization + forwards), not task/dataset setup
        timing = {"loglikelihood": 0.0}
        scorer = lm.loglikelihood

        def timed(requests, *a, **kw):
            t = time.perf_counter()
            try:
                return scorer(requests, *a, **kw)
            finally:
                timing["loglikelihood"] += time.perf_counter() - t

        lm.loglikelihood = timed
        t0 = time.perf_counter()
        res = simple_evaluate(model=lm, tasks=[name], task_manager=TaskManager(include_path=str(tmp)),
                              num_fewshot=0, log_samples=True, bootstrap_iters=0)
        total = time.perf_counter() - t0
    samples = sorted(res["samples"][name], key=lambda s: s["doc_id"])
    lls = [np.array([r[0][0] for r in s["resps"]], dtype=np.float64) for s in samples]
    contexts = [s["arguments"][0][0] if isinstance(s["arguments"][0], (list, tuple))
                else s["arguments"]["gen_args_0"]["arg_0"] for s in samples]
    metrics = res["results"][name]
    return {"loglik": lls, "contexts": contexts, "acc": float(metrics["acc,none"]),
            "acc_norm": float(metrics.get("acc_norm,none", float("nan"))), "seconds": timing["loglikelihood"],
            "seconds_total": total}


def compare(ours: list[np.ndarray], ref: list[np.ndarray], *, tol: float = 1e-4) -> dict:
    """Largest per-choice |difference|, and whether it and the argmax predictions agree."""
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, ref, strict=True))
    same_pred = all(int(np.argmax(a)) == int(np.argmax(b)) for a, b in zip(ours, ref, strict=True))
    return {"max_abs_diff": diff, "within_tol": diff <= tol, "same_predictions": same_pred, "tol": tol}
