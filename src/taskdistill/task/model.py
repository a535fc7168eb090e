"""The ``Task``: what is classified, into which labels, and how a model is asked and answers.

A task is data (a YAML file validated by pydantic), passed explicitly to every stage. Its
``hash`` folds every field that changes what a model sees or how an answer is read, so two tasks
never share a cached stage output.
"""

from __future__ import annotations

import math
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taskdistill.cache import content_hash
from taskdistill.errors import TaskdistillError

FORMATS = ("label", "cot")
BUILTIN = ("finheadlines", "finheadlines-coarse")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_COLUMNS = ("id", "label", "category", "rationale", "kind", "iteration")


class TaskError(TaskdistillError, ValueError):
    """A task file or name that cannot be used; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelSpec(_Strict):
    answer: str = Field(description="the exact string a model emits inside the answer format")
    definition: str = Field("", description="one line: what this label means (shown to annotators and LLM backends)")
    group: str | None = Field(None, description="optional coarser group; enables group-level metrics")
    priority: int | None = Field(None, description="lower wins when one input reports several events")
    precedence: str = Field("", description="how this label ranks against others, in words")

    @field_validator("answer")
    @classmethod
    def _answer(cls, v: str) -> str:
        if not v or v != v.strip():
            raise ValueError("must be non-empty with no leading or trailing spaces")
        if any(ch in v for ch in "[]\n\r\t"):
            raise ValueError("must not contain brackets, tabs or newlines")
        return v


class Instructions(_Strict):
    label: str = Field(description="system instruction when the model answers directly")
    cot: str = Field(description="system instruction when the model reasons in <think></think> first")


class Derive(_Strict):
    """This task's data comes from another task's data by mapping each label to its group."""
    task: str
    map: Literal["group"] = "group"


class Task(_Strict):
    name: str
    description: str = ""
    input_field: str = Field("text", description="column holding the text to classify")
    instructions: Instructions
    answer_format: str = Field("[[{label}]]", description="how an answer is written; must contain {label}")
    groups: tuple[str, ...] | None = Field(None, description="group order (defaults to first appearance)")
    labels: tuple[LabelSpec, ...]
    aliases: dict[str, str] = Field(default_factory=dict, description="other spellings found in files -> label")
    derive: Derive | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
        return v

    @field_validator("input_field")
    @classmethod
    def _input_field(cls, v: str) -> str:
        if not _FIELD.match(v) or v in RESERVED_COLUMNS:
            raise ValueError(f"must be an identifier and not one of the reserved columns {RESERVED_COLUMNS}")
        return v

    @field_validator("answer_format")
    @classmethod
    def _answer_format(cls, v: str) -> str:
        if v.count("{label}") != 1:
            raise ValueError("must contain '{label}' exactly once, e.g. '[[{label}]]'")
        pre, post = v.split("{label}")
        if not pre or not post:
            raise ValueError("needs text before and after {label} so an answer can be found, e.g. '[[{label}]]'")
        return v

    @model_validator(mode="after")
    def _check(self) -> Task:
        answers = [lab.answer for lab in self.labels]
        if len(answers) < 2:
            raise ValueError("labels: a classification task needs at least 2 labels")
        dup = sorted({a for a in answers if answers.count(a) > 1})
        if dup:
            raise ValueError(f"labels: duplicate answer(s) {dup}")
        grouped = [lab.group is not None for lab in self.labels]
        if any(grouped) and not all(grouped):
            missing = [lab.answer for lab in self.labels if lab.group is None]
            raise ValueError(f"labels: either every label has a group or none does; no group on {missing[:5]}")
        if self.groups is not None:
            if not all(grouped):
                raise ValueError("groups: listed, but the labels have no group")
            used = {lab.group for lab in self.labels}
            if set(self.groups) != used or len(set(self.groups)) != len(self.groups):
                raise ValueError(f"groups: must list each group used by the labels exactly once; "
                                 f"unused {sorted(set(self.groups) - used)}, unlisted {sorted(used - set(self.groups))}")
        for src, dst in self.aliases.items():
            if dst not in answers:
                raise ValueError(f"aliases: {src!r} maps to {dst!r}, which is not a label")
            if src in answers:
                raise ValueError(f"aliases: {src!r} is already a label")
        return self

    def model_copy(self, *, update=None, deep: bool = False):  # type: ignore[override]
        """A copy re-validated from scratch, so derived facts (hash, label index) are never stale."""
        data = self.model_dump(mode="python")
        data.update(update or {})
        return type(self).model_validate(data)

    # ----------------------------------------------------------------- derived facts
    @cached_property
    def label_names(self) -> tuple[str, ...]:
        """The answer strings, in label order (index = class id)."""
        return tuple(lab.answer for lab in self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def has_groups(self) -> bool:
        return self.labels[0].group is not None

    @cached_property
    def group_names(self) -> tuple[str, ...]:
        """Groups in order (``groups`` if given, else first appearance); empty when the task has none."""
        if not self.has_groups:
            return ()
        if self.groups is not None:
            return tuple(self.groups)
        return tuple(dict.fromkeys(lab.group for lab in self.labels))

    @cached_property
    def _index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.label_names)}

    def index(self, label: str) -> int:
        try:
            return self._index[label]
        except KeyError:
            raise KeyError(f"unknown label {label!r}; not one of the {self.n_classes} labels of task "
                           f"{self.name!r}") from None

    def group(self, label: str) -> str:
        """The group of ``label`` (the label itself when the task has no groups)."""
        lab = self.labels[self.index(label)]
        return lab.group if lab.group is not None else lab.answer

    def canonical(self, value: str) -> str | None:
        """``value`` as a label (through ``aliases``), or None when it is not one."""
        if value in self._index:
            return value
        return self.aliases.get(value)

    def resolve(self, labels: list[str]) -> str:
        """The label that wins when an input reports all of ``labels`` (lowest priority, then order)."""
        if not labels:
            raise ValueError("resolve() needs at least one label")
        big = 1 << 30
        return min(labels, key=lambda a: (self.labels[self.index(a)].priority or big, self.index(a)))

    def chance(self, level: Literal["label", "group"] = "label") -> dict[str, float]:
        """Scores of a uniform random guess over the labels, with labels equally frequent.

        accuracy and macro-F1 = 1/K, NLL = ln K, Brier = 1 - 1/K at label level. At group level the
        guess is still uniform over labels, mapped to groups: accuracy = sum_g (n_g / K)^2, macro-F1
        the mean over groups of n_g / K, NLL = mean over labels of -ln(n_g / K), Brier from the group
        probabilities n_g / K."""
        k = self.n_classes
        if level == "label" or not self.has_groups:
            return {"accuracy": 1 / k, "macro_f1": 1 / k, "nll": math.log(k), "brier": 1 - 1 / k}
        sizes = [sum(1 for lab in self.labels if lab.group == g) for g in self.group_names]
        p = [n / k for n in sizes]
        acc = sum(q * q for q in p)
        nll = -sum(q * math.log(q) for q in p)
        brier = sum(q * ((1 - q) ** 2 + sum(r * r for r in p) - q * q) for q in p)
        return {"accuracy": acc, "macro_f1": sum(p) / len(p), "nll": nll, "brier": brier}

    # ----------------------------------------------------------------- identity
    @cached_property
    def hash(self) -> str:
        """Content hash of everything that changes what a model sees or how an answer is read."""
        return content_hash("task", self.model_dump(mode="json"))

    @property
    def answer_prefix(self) -> str:
        return self.answer_format.split("{label}")[0]

    @property
    def answer_suffix(self) -> str:
        return self.answer_format.split("{label}")[1]

    def answer_text(self, label: str) -> str:
        return self.answer_prefix + label + self.answer_suffix

    def describe(self) -> dict:
        """A short summary for `task show` and reports."""
        return {"name": self.name, "hash": self.hash, "input_field": self.input_field,
                "n_classes": self.n_classes, "groups": list(self.group_names),
                "derive": self.derive.model_dump() if self.derive else None,
                "chance": {"label": self.chance("label"),
                           **({"group": self.chance("group")} if self.has_groups else {})}}


# --------------------------------------------------------------------- loading
def _validate(raw: object, source: str) -> Task:
    if not isinstance(raw, dict):
        raise TaskError(f"{source}: top level must be a mapping, got {type(raw).__name__}")
    try:
        return Task.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        if err["loc"]:
            loc = ".".join(str(p) for p in err["loc"])
        else:  # whole-task checks name their field first ("labels: duplicate ...")
            loc, _, msg = msg.partition(": ") if ": " in msg else ("<root>", "", msg)
        raise TaskError(f"{source}: field '{loc}': {msg}{more}") from None


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("taskdistill.task").joinpath("builtin", f"{name}.yaml")))


_CACHE: dict[str, Task] = {}


def load_task(spec: str | Path | Task) -> Task:
    """A built-in task by name, or a task YAML file by path. A ``Task`` is returned as is."""
    if isinstance(spec, Task):
        return spec
    key = str(spec)
    if key in _CACHE:  # only built-ins are cached: a user's file may be edited between loads
        return _CACHE[key]
    if key in BUILTIN:
        path = builtin_path(key)
    else:
        path = Path(key).expanduser()
        if not path.is_file():
            raise TaskError(f"task {key!r}: not a built-in task ({', '.join(BUILTIN)}) and no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    task = _validate(raw, str(path))
    if task.derive is not None:
        parent = load_task(task.derive.task)
        if not parent.has_groups:
            raise TaskError(f"{path}: field 'derive.task': task {parent.name!r} has no groups to map to")
        missing = sorted(set(parent.group_names) - set(task.label_names))
        if missing:
            raise TaskError(f"{path}: field 'labels': derived from {parent.name!r} but lacks its group(s) {missing}")
        if parent.input_field != task.input_field:
            raise TaskError(f"{path}: field 'input_field': must equal {parent.name!r}'s {parent.input_field!r}")
    if key in BUILTIN:
        _CACHE[key] = task
    return task


def derive_labels(task: Task, labels: list[str]) -> list[str]:
    """Map labels of ``task.derive.task`` onto ``task``'s labels (identity when not derived)."""
    if task.derive is None:
        return list(labels)
    parent = load_task(task.derive.task)
    return [parent.group(lab) for lab in labels]


def init_yaml(name: str, labels: list[str], input_field: str = "text") -> str:
    """A commented task YAML for ``labels``, ready to edit (validated before it is returned)."""
    q = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    lines = [
        f"# Task {name}: edit the definitions, then check it with `taskdistill task validate FILE`.",
        "# name: lowercase, used in cache keys and reports.",
        f"name: {name}",
        "description: \"\"",
        "# input_field: the column of your data that holds the text to classify.",
        f"input_field: {input_field}",
        "# instructions: the system prompt, per supervision format. Keep them short: every prompt token",
        "# costs training and scoring time. The model learns the labels from the data, not the prompt.",
        "instructions:",
        f"  label: {q('Classify the text. Answer as [[label]].')}",
        f"  cot: {q('Classify the text. Reason briefly in <think></think>, then answer as [[label]].')}",
        "# answer_format: how a model writes its answer; {label} is replaced by one answer string.",
        "answer_format: \"[[{label}]]\"",
        "# labels: one entry per class. answer = the exact label string in your data.",
        "# Optional per label: group (a coarser category: enables group-level metrics; all or none),",
        "# priority (lower wins when one text fits several labels) and precedence (that rule, in words).",
        "labels:",
    ]
    for lab in labels:
        lines.append(f"  - {{answer: {q(lab)}, definition: \"\"}}")
    lines += ["# aliases: other spellings of a label found in files, e.g. {\"Mgmt change\": \"executive change\"}",
              "aliases: {}", ""]
    text = "\n".join(lines)
    _validate(yaml.safe_load(text), f"task {name!r}")
    return text
