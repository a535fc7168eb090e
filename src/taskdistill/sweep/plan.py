"""``taskdistill sweep plan SPEC``: what a sweep will compute and roughly what it costs, without running it.

The counts are exact: the spec is expanded into its DAG (``dag.expand``) and every distinct node is
counted once, as the runner computes it once (shared teacher, one annotation pass, iterative chains
sharing their earlier steps). "importance" counts the distinct model states that get a calibration
pass (each prune node's input model; the cache serves every other ratio pruned from the same state).

The cost model is deliberately simple: seconds per unit of work for a SmolLM2-135M-sized teacher on
2 CPU cores, fp32, taken from the measurements in the docs (each constant names its source), times
the units of each node, scaled by the node's model size as a fraction of the teacher. It is an order
of magnitude for planning, not a promise; ``taskdistill sweep status`` gives an ETA from measured
stage times once a sweep runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taskdistill.sweep.dag import expand, unique_nodes
from taskdistill.sweep.spec import PRUNED_METHOD, SweepSpec, teacher_weight_bytes

KINDS = ("prepare", "annotate", "importance", "prune", "distill", "eval")

# Measured by `python bench/study_pilot.py --threads 1` on SmolLM2-135M-Instruct (CPU seconds of one
# thread; docs/study.md has the table); the 2-core figures below halve them (2 workers x 1 thread).
IMPORTANCE_CPU_S = 0.21      # activation importance, per calibration text (16 texts, max 64 tokens)
PRUNE_REST_CPU_S = 0.7       # plan + slicing + save of the pruned checkpoint
EVAL_ROW_CPU_S = 0.416       # one in-domain headline (label mode, all labels in one forward)
EVAL_QUESTION_CPU_S = 0.589 + 0.525  # one MMLU question: cloze options + the question-text pass

# Seconds per unit, SmolLM2-135M-Instruct on the 2-core machine (fp32).
COST = {
    # teacher prepare: 220 steps x batch 8 in 14 min 55 s (docs/results.md, "Teacher preparation")
    "prepare_per_example": 895.0 / (220 * 8),
    # annotate: labels 284 s + label top-k 101 s for 1,200 rows; traces 167 s + CoT top-k 48 s for
    # 320 traced rows (docs/results.md, "Annotation")
    "annotate_per_row": (284.0 + 101.0) / 1200,
    "annotate_per_cot_row": (167.0 + 48.0) / 320,
    # importance: activation scores of the teacher on 16 calibration texts (max 64 tokens), CPU-s per
    # text on 1 thread, halved for 2 cores (bench/study_pilot.py, docs/study.md)
    "importance_per_text": IMPORTANCE_CPU_S / 2,
    # prune (plan + slicing + save once scores are cached): the rest of the pilot's prune stage
    "prune": PRUNE_REST_CPU_S / 2,
    # distill: 215.7 tokens/s on 2 threads (docs/distillation.md) x 469 tokens per batch-8 step
    # (docs/results.md) = 2.17 s per step of 8 examples
    "distill_per_example": 469.0 / 215.7 / 8,
    # eval, the teacher on 1 thread, halved for 2 cores (bench/study_pilot.py, docs/study.md): an
    # in-domain headline (one forward over the prompt + the label tree), and an MMLU question
    # (cloze scoring of its options + the question-text pass)
    "eval_per_row": EVAL_ROW_CPU_S / 2,
    "eval_per_question": EVAL_QUESTION_CPU_S / 2,
}
DEFAULT_MMLU_N = 1000
MMLU_ALL = 14042
DEFAULT_EVAL_ROWS = 700


@dataclass
class Plan:
    spec: SweepSpec
    cells: int
    counts: dict[str, int]
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    reused: dict[str, int] = field(default_factory=dict)  # of ``counts``: served by the node cache, not computed
    seconds_left: dict[str, float] = field(default_factory=dict)  # of ``seconds``: what a run still computes

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def total_seconds_left(self) -> float:
        return sum(self.seconds_left.values())


def _eval_seconds(spec: SweepSpec) -> float:
    """Seconds of one evaluation of a teacher-sized model (in-domain rows + MMLU questions)."""
    rows = spec.eval.limit or DEFAULT_EVAL_ROWS
    mmlu = MMLU_ALL if spec.eval.mmlu_n == "all" else spec.eval.mmlu_n
    return int(rows) * COST["eval_per_row"] + mmlu * COST["eval_per_question"]


def plan_sweep(spec: SweepSpec) -> Plan:
    """Stage counts (exact) and estimated seconds (cost model above) of a sweep, computing nothing."""
    cells = expand(spec)
    nodes = list(unique_nodes(cells).values())
    prune_nodes = [n for n in nodes if n.stage == "prune"]

    prep = spec.teacher.prepare.train
    prep_steps, prep_batch = prep.steps, prep.batch_size * prep.grad_accum
    rows = max(spec.grid.dataset_size)
    cot_rows = rows if "cot" in spec.annotate.formats else 0
    if spec.annotate.options.cot_limit is not None:
        cot_rows = min(cot_rows, spec.annotate.options.cot_limit)

    def size(node) -> float:  # the node's model as a fraction of the teacher
        return float(node.params.get("target", 1.0))

    importance_users: dict[str, list] = {}  # activation-scored model state -> the prune nodes that score it
    for n in prune_nodes:
        if n.params["method"] == "activation":
            importance_users.setdefault(n.input("model").key, []).append(n)

    def node_seconds(kind: str, n) -> float:
        if kind == "prepare":
            return prep_steps * prep_batch * COST["prepare_per_example"]
        if kind == "annotate":
            return rows * COST["annotate_per_row"] + cot_rows * COST["annotate_per_cot_row"]
        if kind == "importance":  # n: a prune node whose input state is scored
            model = n.input("model")
            return COST["importance_per_text"] * spec.prune.calib_n * (
                1.0 if model.stage == "teacher" else size(model.input("student")))
        if kind == "prune":
            return COST["prune"]
        if kind == "distill":
            return work_units(spec, n) * COST["distill_per_example"]
        return _eval_seconds(spec) * work_units(spec, n)

    stage_of = {"prepare": "teacher", "annotate": "annotate", "prune": "prune", "distill": "distill",
                "eval": "evaluate"}
    todo = to_compute([c.node for c in cells])
    by_kind: dict[str, list[tuple[object, bool]]] = {
        kind: [(n, n.key not in todo) for n in nodes if n.stage == stage] for kind, stage in stage_of.items()}
    by_kind["importance"] = [(users[0], all(u.key not in todo for u in users)) for users in importance_users.values()]
    counts = {k: len(by_kind[k]) for k in KINDS}
    seconds = {k: sum(node_seconds(k, n) for n, _ in v) for k, v in by_kind.items()}
    # what is left, priced at the seconds per unit of work the spec's own cached nodes took where there are
    # some (distillation and evaluation: the bulk; wall time = node seconds / workers), else the cost model
    rates = measured_rates(spec, [n for k in ("distill", "eval") for n, hit in by_kind[k] if hit])
    workers = spec.execution.workers if spec.execution.executor == "local" else 1

    def left_seconds(kind: str, n) -> float:
        return work_units(spec, n) * rates[kind][0] / workers if kind in rates else node_seconds(kind, n)

    seconds_left = {k: sum(left_seconds(k, n) for n, hit in v if not hit) for k, v in by_kind.items()}
    reused = {k: sum(hit for _, hit in v) for k, v in by_kind.items()}
    notes = [f"training budget: {spec.budget_unit}"
             + (f" ({spec.distill.epochs or 1:g} per distillation over the cell's D rows; steps per "
                f"distillation by D: " + ", ".join(f"{d}: {spec.distill_steps(d)}" for d in spec.grid.dataset_size)
                + ")" if spec.budget_unit == "epochs" else
                f" ({spec.distill.steps} per distillation whatever D is: the data axis is confounded "
                "with training length)")]
    if spec.prune.evaluate:
        pruned = [c for c in cells if c.settings["method"] == PRUNED_METHOD]
        extra = sum(1 for c in pruned if not any(
            n.stage == "distill" and n.input("student").key == c.node.input("model").key for n in nodes))
        notes.append(f"prune.evaluate: {len(pruned)} pruned-but-undistilled rows (the teacher pruned one-shot to "
                     f"each target, evaluated with no distillation; listed, never fitted as students): "
                     f"{len(pruned)} evaluations"
                     + (f", {extra} prune node(s) no student shares (the grid has no one-shot cell there)"
                        if extra else ", no extra pruning (each is a one-shot student's prune node)"))
    notes += _transfer_notes(spec, nodes)
    notes.append(_disk_note(spec, nodes))
    if rates:
        notes.append("left to compute: " + ", ".join(
            f"{k} priced at the time its {n} cached node(s) of this spec took ({rate:.2f} s per unit)"
            for k, (rate, n) in rates.items()) + f", over {workers} worker(s); the rest by the cost model")
    return Plan(spec=spec, cells=len(cells), counts=counts, seconds=seconds, notes=notes, reused=reused,
                seconds_left=seconds_left)


def measured_rates(spec: SweepSpec, done) -> dict[str, tuple[float, int]]:
    """``{kind: (seconds per unit of work, nodes)}``: the recorded wall time of finished nodes over their
    ``work_units``, by plan kind; kinds with no finished node are left out."""
    import json

    from taskdistill.sweep.runner import NODE_FILE, node_dir

    acc: dict[str, list[float]] = {}
    for n in done:
        try:
            sec = float(json.loads((node_dir(n) / NODE_FILE).read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        kind = "eval" if n.stage == "evaluate" else n.stage
        a = acc.setdefault(kind, [0.0, 0.0, 0])
        a[0] += sec
        a[1] += work_units(spec, n)
        a[2] += 1
    return {k: (a[0] / a[1], int(a[2])) for k, a in acc.items() if a[1] > 0}


def to_compute(roots) -> set[str]:
    """The keys of the nodes a run of ``roots`` would compute: the runner works on demand from each root, so a
    node whose finished result is in the node cache (``TASKDISTILL_HOME``) is reused, and its inputs are
    not needed for it (a student deleted by ``keep_models: needed`` is computed again only if an unfinished
    node still needs it)."""
    from taskdistill.sweep.runner import read_node

    todo: set[str] = set()
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n.key in seen:
            continue
        seen.add(n.key)
        if read_node(n) is None:
            todo.add(n.key)
            stack.extend(m for _, m in n.inputs)
    return todo


def _transfer_notes(spec: SweepSpec, nodes) -> list[str]:
    """One line per transfer set (eval.transfer): found or not, how many models are already scored on it
    (in the node cache), and the cost of scoring the rest (the same per-row cost as the in-domain
    evaluation; not in the total above)."""
    from taskdistill.cache import file_hash
    from taskdistill.sweep.transfer import transfer_node

    out = []
    models = [n.input("model") for n in nodes if n.stage == "evaluate"]
    models = list({m.key: m for m in models}.values())
    for ts in spec.transfer_sets:
        if not ts.found():
            out.append(f"transfer set {ts.name}: no file at {ts.split} (skipped)")
            continue
        if ts.path().suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            rows = pq.read_metadata(ts.path()).num_rows
        else:  # CSV: lines less the header (a quoted newline counts twice: an estimate); JSONL: lines
            with open(ts.path(), "rb") as fh:
                rows = sum(1 for _ in fh) - (ts.path().suffix == ".csv")
        digest = file_hash(ts.path())
        scoring = {m.key: transfer_node(spec, ts, digest, m) for m in models}
        left = to_compute(scoring.values())
        todo = [m for m in models if scoring[m.key].key in left]
        sec = sum(rows * COST["eval_per_row"] * model_size(m) for m in todo)
        done = f", {len(models) - len(todo)} already scored (node cache)" if len(todo) < len(models) else ""
        out.append(f"transfer set {ts.name}: {len(models)} models x ~{rows} rows{done}, ~{_fmt_seconds(sec)} more")
    return out


def _disk_note(spec: SweepSpec, nodes) -> str:
    """The student models the node cache holds (the teacher's weights x each model's size), against the free
    space of the cache's disk, and what ``execution.keep_models`` does with them."""
    import shutil

    from taskdistill.cache import home
    from taskdistill.sweep.runner import MODEL_STAGES

    students = [n for n in nodes if n.stage in MODEL_STAGES]
    sizes = sum(model_size(n) for n in students)
    teacher = teacher_weight_bytes(spec)
    total = f"{sizes:.1f} teacher-sizes" + (f", ~{sizes * teacher / 1e9:.1f} GB" if teacher else "")
    line = f"student models: {len(students)} prune and distill nodes, {total} in the node cache"
    if spec.execution.keep_models == "needed":
        return line + " if all were kept; keep_models: needed deletes each once no unfinished cell uses it"
    free = shutil.disk_usage(home()).free
    if teacher and sizes * teacher > free:
        return (line + f": more than the {free / 1e9:.1f} GB free there; set execution.keep_models: needed "
                "(each is deleted once no unfinished cell uses it)")
    return line + " (execution.keep_models: all)"


def work_units(spec: SweepSpec, node) -> float:
    """How much work a node is, relative to the other nodes of its stage: a distillation's examples
    (steps x batch) times its student's size, an evaluation its model's size, anything else 1. The plan
    multiplies these by its cost constants; ``sweep status`` by each stage's measured seconds per unit."""
    if node.stage == "distill":
        batch = spec.distill.batch_size * spec.distill.grad_accum
        return node.params["steps"] * batch * model_size(node.input("student"))
    if node.stage == "evaluate":
        return model_size(node.input("model"))
    return 1.0


def model_size(node) -> float:
    """An evaluated model's parameters as a fraction of the teacher's: the teacher 1, a pruned model its
    target, a distilled student its pruned input's target."""
    if node.stage == "distill":
        node = node.input("student")
    return float(node.params.get("target", 1.0)) if node.stage == "prune" else 1.0


def _fmt_seconds(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def print_plan(plan: Plan, source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    spec = plan.spec
    task = spec.task_obj
    console = Console()
    t = Table(title=f"sweep plan: {spec.name} ({source}); task {task.name} ({task.n_classes} labels); "
                    f"{plan.cells} result rows")
    any_reused = any(plan.reused.values())
    t.add_column("stage")
    t.add_column("count", justify="right")
    if any_reused:
        t.add_column("cached", justify="right")
    t.add_column("est. cost (2 CPU cores, SmolLM2-135M)", justify="right")
    if any_reused:
        t.add_column("left to compute", justify="right")
    for kind in KINDS:
        row = [kind, f"{plan.counts[kind]:,}"]
        row += [f"{plan.reused[kind]:,}", _fmt_seconds(plan.seconds[kind]), _fmt_seconds(plan.seconds_left[kind])] \
            if any_reused else [_fmt_seconds(plan.seconds[kind])]
        t.add_row(*row)
    t.add_row("total", "", *([""] if any_reused else []), _fmt_seconds(plan.total_seconds),
              *([_fmt_seconds(plan.total_seconds_left)] if any_reused else []))
    console.print(t)
    left = sum(plan.counts[k] - plan.reused[k] for k in KINDS)
    from taskdistill.cache import home

    if not left:
        console.print(f"every stage is in the node cache ({home()}): a run computes none and only assembles "
                      "the results")
    elif any_reused:
        console.print(f"{sum(plan.reused.values()):,} of {sum(plan.counts.values()):,} stage runs are served by the "
                      f"node cache ({home()}); a run computes the other {left:,}")
    for note in plan.notes:
        console.print(note)
    console.print("cost model: docs/architecture.md (measured seconds per unit, scaled by model size); an "
                  "order of magnitude, not a promise")
