"""Generation backends: ``template`` (offline grammar), ``hf`` (local causal LM), ``openai`` (any
OpenAI-compatible chat endpoint). All take the requested labels and the current few-shot examples
per group (the label itself when the task has no groups) and return one ``Sample`` per request; the
filter step downstream decides what survives.

The ``template`` backend is the FinHeadlineMix grammar: it writes headlines for the built-in
``finheadlines`` task only. The model backends work for any task: they are asked for a text *of a
given label*, described by the task's own definition, so the label is the requested one (as in the
paper's category-conditioned generation); their rationale says so, because unlike the template
backend nothing verifies the model obeyed.
"""

from __future__ import annotations

import random

from taskdistill.data.synth.templates import Difficulty, Sample, generate
from taskdistill.errors import TaskdistillError
from taskdistill.task import Task


class BackendError(TaskdistillError, ValueError):
    """A backend that cannot generate for the given task."""


def generation_messages(task: Task, label: str, examples: list[str]) -> list[dict[str, str]]:
    """Chat prompt asking for one new input text of ``task`` whose label is ``label``.

    Built from the task: its description, the label's definition and group, and few-shot examples
    of the label's group."""
    spec = task.labels[task.index(label)]
    what = task.input_field.replace("_", " ")
    shots = "\n".join(f"- {e}" for e in examples[:8])
    group = f" ({spec.group})" if spec.group is not None else ""
    kind = "group" if task.has_groups else "label"
    user = (f"Label: {spec.answer}{group}. {spec.definition}".rstrip() + "\n"
            + (f"Examples of this {kind}:\n{shots}\n" if shots else "")
            + f"Reply with one new, different {what} of this label only.")
    about = f" for this task: {task.description}" if task.description else ""
    return [{"role": "system", "content": f"You write realistic, varied examples of {what} texts{about}"},
            {"role": "user", "content": user}]


def clean_completion(text: str) -> str:
    """First non-empty line, without list bullets or wrapping quotes (the rest is the filter's job)."""
    for line in text.strip().splitlines():
        line = line.strip().lstrip("-*• ").strip().strip('"').strip()
        if line:
            return line
    return ""


class TemplateBackend:
    """The FinHeadlineMix grammar (``templates.py``): headlines of the built-in ``finheadlines`` labels."""

    name = "template"

    def __init__(self, difficulty: Difficulty, task: Task):
        from taskdistill.task import load_task

        grammar = load_task("finheadlines")  # the grammar's labels and precedence (templates.py)
        rules = lambda t: {(lab.answer, lab.priority) for lab in t.labels}  # noqa: E731
        if rules(task) != rules(grammar):
            raise BackendError(f"task {task.name!r}: the template backend is the FinHeadlineMix grammar and writes "
                               "headlines for the finheadlines labels (and their precedence) only; use --backend hf "
                               "or --backend openai for another task")
        self.difficulty, self.task = difficulty, task

    def generate(self, labels: list[str], fewshot: dict[str, list[str]], rng: random.Random) -> list[Sample]:
        return [generate(rng, lab, self.difficulty) for lab in labels]


class HFBackend:
    """Batched sampling from a local causal LM (``load_model`` spec: registry name, tiny:<arch>, folder)."""

    name = "hf"

    def __init__(self, model_spec: str, task: Task, batch_size: int = 16, max_new_tokens: int = 40,
                 temperature: float = 1.0):
        from taskdistill.models import load_model

        self.task = task
        self.model, self.tok = load_model(model_spec)
        self.model.eval()
        self.tok.padding_side = "left"
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.batch_size, self.max_new_tokens, self.temperature = batch_size, max_new_tokens, temperature

    def generate(self, labels: list[str], fewshot: dict[str, list[str]], rng: random.Random) -> list[Sample]:
        import torch

        out: list[Sample] = []
        torch.manual_seed(rng.randrange(2**31))
        for s in range(0, len(labels), self.batch_size):
            chunk = labels[s:s + self.batch_size]
            prompts = [self.tok.apply_chat_template(
                generation_messages(self.task, lab, fewshot.get(self.task.group(lab), [])), tokenize=False,
                add_generation_prompt=True) for lab in chunk]
            enc = self.tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                gen = self.model.generate(**enc, do_sample=True, temperature=self.temperature, top_p=0.95,
                                          max_new_tokens=self.max_new_tokens, pad_token_id=self.tok.pad_token_id)
            texts = self.tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for lab, t in zip(chunk, texts, strict=True):
                out.append(Sample(clean_completion(t), lab, f"Generated by a language model asked for a {lab} {self.task.input_field.replace('_', ' ')}.",
                                  "hf"))
        return out


class OpenAIBackend:
    name = "openai"

    def __init__(self, client, task: Task, temperature: float = 1.0, max_tokens: int = 64):
        self.client, self.task, self.temperature, self.max_tokens = client, task, temperature, max_tokens

    def generate(self, labels: list[str], fewshot: dict[str, list[str]], rng: random.Random) -> list[Sample]:
        out = []
        for lab in labels:
            texts = self.client.chat(generation_messages(self.task, lab, fewshot.get(self.task.group(lab), [])),
                                     temperature=self.temperature, max_tokens=self.max_tokens,
                                     seed=rng.randrange(2**31))
            out.append(Sample(clean_completion(texts[0] if texts else ""), lab,
                              f"Generated by a language model asked for a {lab} {self.task.input_field.replace('_', ' ')}.", "openai"))
        return out
