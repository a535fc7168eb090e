"""Bad inputs across the commands, one parametrised test per family: each case must exit with code 2,
print one ``error:`` line naming the offending file/field/value, and leave the folder it ran in exactly
as it was (no output created, nothing changed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from taskdistill.cli import app

FAKE = "tests.sweep.fake_stages:FakeStages"


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (path -> content hash) and every folder."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


def check(argv: list[str], words: list[str], root: Path) -> None:
    before = snapshot(root)
    r = CliRunner().invoke(app, argv)
    text = " ".join(r.output.split())
    assert r.exit_code == 2, (argv, r.exit_code, r.output, r.exception)
    assert "Traceback" not in r.output, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.output
    for w in words:
        assert w in text, (w, r.output)
    assert snapshot(root) == before, "the failed command changed its folder"


def spec_dict(**over) -> dict:
    d = {"name": "rel", "grid": {"dataset_size": [50], "target": [0.5]}, "teacher": {"base": "tiny:llama"},
         "distill": {"steps": 2, "warmup_steps": 0}}
    d.update(over)
    return d


def write_spec(root: Path, d: dict, name: str = "spec.yaml") -> Path:
    p = root / name
    p.write_text(yaml.safe_dump(d))
    return p


@pytest.fixture
def work(tmp_path):
    """The folder a case runs in: a plain file (for '--out is a file'), a folder, and configs."""
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "a-dir.parquet").mkdir()
    return tmp_path


# ---- 1. numeric ranges of command-line options ------------------------------------------------------
RANGES = {
    "generate-noisy": (["data", "generate", "--noisy", "2.0"], ["difficulty.noisy", "2.0"]),
    "generate-size-300": (["data", "generate", "--size", "300"], ["--size 300", "too small", "--size >= 1085"]),
    "generate-size-0": (["data", "generate", "--size", "0"], ["field 'size'", "0"]),
    "generate-threshold": (["data", "generate", "--threshold", "1.5"], ["field 'threshold'", "1.5"]),
    "generate-test-per-class": (["data", "generate", "--test-per-class", "0"], ["test_per_class", "0"]),
    "eval-batch-size": (["eval", "--model", "tiny:llama", "--mmlu", "5", "--batch-size", "0"], ["--batch-size", "0"]),
    "eval-threads": (["eval", "--model", "tiny:llama", "--mmlu", "5", "--threads", "0"], ["--threads", "0"]),
    "eval-limit": (["eval", "--model", "tiny:llama", "--mmlu", "5", "--limit", "0"], ["--limit", "0"]),
    "eval-mmlu": (["eval", "--model", "tiny:llama", "--mmlu", "-3"], ["--mmlu", "-3"]),
    "eval-scoring": (["eval", "--model", "tiny:llama", "--scoring", "bogus"], ["--scoring", "bogus"]),
    "distill-threads": (["distill", "--student", "tiny:llama", "--data", "x.parquet", "--threads", "0"],
                        ["--threads", "0"]),
    "distill-lr": (["distill", "--student", "tiny:llama", "--data", "x.parquet", "--lr", "-1"], ["field 'lr'", "-1"]),
    "distill-steps": (["distill", "--student", "tiny:llama", "--data", "x.parquet", "--steps", "0"],
                      ["field 'steps'", "0"]),
    "prune-target-high": (["prune", "--model", "tiny:llama", "--target", "1.5"], ["--target", "1.5"]),
    "prune-target-zero": (["prune", "--model", "tiny:llama", "--target", "0"], ["--target", "(0, 1]"]),
    "prune-batch-size": (["prune", "--model", "tiny:llama", "--target", "0.5", "--batch-size", "0"],
                         ["--batch-size", "0"]),
    "annotate-k": (["teacher", "annotate", "--teacher", "tiny:llama", "--data", "ds", "--k", "0"], ["--k", "0"]),
    "teacher-lr": (["teacher", "prepare", "--base", "tiny:llama", "--lr", "-1"], ["field 'train.lr'", "-1"]),
    "eval-device": (["eval", "--model", "tiny:llama", "--mmlu", "5", "--device", "tpu"], ["device 'tpu'"]),
    "prune-device": (["prune", "--model", "tiny:llama", "--target", "0.5", "--device", "gpu0"], ["device 'gpu0'"]),
    "distill-device": (["distill", "--student", "tiny:llama", "--data", "x.parquet", "--device", "mps"],
                       ["device 'mps'"]),
    "annotate-device": (["teacher", "annotate", "--teacher", "tiny:llama", "--data", "ds", "--device", "xla"],
                        ["device 'xla'"]),
    "teacher-device": (["teacher", "prepare", "--base", "tiny:llama", "--device", "cuda:x"], ["device 'cuda:x'"]),
}


@pytest.mark.parametrize("case", sorted(RANGES))
def test_option_ranges_are_checked(case, work):
    argv, words = RANGES[case]
    needs_out = argv[0] in ("data", "distill", "prune") and "--out" not in argv and argv[:2] != ["data", "validate"]
    argv = [*argv, "--out", str(work / "out")] if needs_out else argv
    check(argv, words, work)


@pytest.mark.parametrize("case", ["workers", "memory-gb", "executor", "device", "spec-device"])
def test_sweep_run_options_are_checked(case, work):
    spec = write_spec(work, spec_dict(execution={"device": "npu"}) if case == "spec-device" else spec_dict())
    extra, words = {"workers": (["--workers", "-2"], ["--workers", "-2"]),
                    "memory-gb": (["--memory-gb", "-1"], ["--memory-gb", "-1"]),
                    "executor": (["--executor", "slurm"], ["--executor", "slurm"]),
                    "device": (["--device", "npu"], ["--device", "device 'npu'"]),
                    "spec-device": ([], ["execution.device", "device 'npu'"])}[case]
    check(["sweep", "run", str(spec), "--out", str(work / "sw"), *extra], words, work)


# ---- 2. output paths that cannot be outputs ----------------------------------------------------------
def _outs(work: Path, ckpt: Path, data: Path) -> dict[str, tuple[list[str], list[str]]]:
    f, d = work / "a-file", work / "a-dir.parquet"
    return {
        "distill-out-file": (["distill", "--student", str(ckpt), "--data", str(data / "train.parquet"), "--out",
                              str(f)], [str(f), "must be a folder"]),
        "prune-out-file": (["prune", "--model", str(ckpt), "--target", "0.5", "--out", str(f)],
                           [str(f), "must be a folder"]),
        "prune-out-below-file": (["prune", "--model", str(ckpt), "--target", "0.5", "--out", str(f / "x")],
                                 [str(f), "below a file"]),
        "teacher-out-file": (["teacher", "prepare", "--base", str(ckpt), "--data", str(data), "--out", str(f)],
                             [str(f), "must be a folder"]),
        "import-out-file": (["data", "import", str(data / "train.parquet"), "--task", "finheadlines", "--map",
                             "text=headline", "--out", str(f)], [str(f), "must be a folder"]),
        "generate-out-file": (["data", "generate", "--out", str(f)], [str(f), "must be a folder"]),
        "eval-out-dir": (["eval", "--model", str(ckpt), "--data", str(data / "test.parquet"), "--mmlu", "0",
                          "--out", str(d)], [str(d), "must be a file"]),
        "validate-out-dir": (["data", "validate", str(data / "test.parquet"), "--out", str(d)],
                             [str(d), "must be a file"]),
        "task-init-out-dir": (["task", "init", "--name", "t", "--labels", "a,b", "--out", str(d)],
                              [str(d), "is a folder"]),
        "sweep-out-file": (["sweep", "run", str(write_spec(work, spec_dict())), "--out", str(f)],
                           [str(f), "is a file"]),
    }


@pytest.mark.parametrize("case", ["distill-out-file", "prune-out-file", "prune-out-below-file", "teacher-out-file",
                                  "import-out-file", "generate-out-file", "eval-out-dir", "validate-out-dir",
                                  "task-init-out-dir", "sweep-out-file"])
def test_outputs_that_are_the_wrong_kind_of_path(case, work, clean_ckpt, tiny_dataset):
    argv, words = _outs(work, clean_ckpt, tiny_dataset)[case]
    check(argv, words, work)


# ---- 3. config files: typos, wrong types, wrong shapes -------------------------------------------
CONFIGS = {
    "distill-typo": ("distill", "lrr: 0.1\n", ["cfg.yaml", "field 'lrr'"]),
    "distill-wrong-type": ("distill", "steps: many\n", ["cfg.yaml", "field 'steps'", "many"]),
    "distill-list": ("distill", "- steps: 3\n", ["cfg.yaml", "top level must be a mapping"]),
    "distill-bad-yaml": ("distill", "steps: [1\n", ["cfg.yaml", "not valid YAML"]),
    "teacher-typo": ("teacher", "stepz: 3\n", ["cfg.yaml", "field 'stepz'"]),
    "teacher-wrong-type": ("teacher", "lr: fast\n", ["cfg.yaml", "field 'train.lr'", "fast"]),
    "generate-typo": ("generate", "sise: 300\n", ["cfg.yaml", "field 'sise'"]),
    "generate-wrong-type": ("generate", "difficulty: {noisy: lots}\n", ["cfg.yaml", "difficulty.noisy", "lots"]),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_config_files_are_checked(case, work, tiny_dataset):
    command, text, words = CONFIGS[case]
    cfg = work / "cfg.yaml"
    cfg.write_text(text)
    out = str(work / "out")
    argv = {"distill": ["distill", "--student", "tiny:llama", "--data", str(tiny_dataset / "train.parquet")],
            "teacher": ["teacher", "prepare", "--base", "tiny:llama", "--data", str(tiny_dataset)],
            "generate": ["data", "generate"]}[command]
    check([*argv, "--config", str(cfg), "--out", out], words, work)


def test_missing_config_file_is_named(work):
    check(["distill", "--student", "tiny:llama", "--data", "x", "--config", str(work / "nope.yaml"), "--out",
           str(work / "out")], ["config file not found", "nope.yaml"], work)


# ---- 4. sweep specs --------------------------------------------------------------------------------
SPECS = {
    "typo": (lambda d: d["grid"].update(targets=[0.5]), ["field 'grid.targets'"]),
    "wrong-type": (lambda d: d["grid"].update(seed=["x"]), ["field 'grid.seed.0'", "'x'"]),
    "missing-data-path": (lambda d: d.update(data={"path": "no-such-folder"}), ["data.path", "no-such-folder"]),
    "unsupported-teacher": (lambda d: d["teacher"].update(base="tiny:gpt9"), ["teacher.base", "tiny:gpt9"]),
    "missing-teacher-folder": (lambda d: d["teacher"].update(base="./no/such/ckpt"), ["teacher.base", "no/such/ckpt"]),
    "name-dotdot": (lambda d: d.update(name=".."), ["field 'name'", "'..'"]),
    "distill-typo": (lambda d: d["distill"].update(lrr=1), ["field 'distill.lrr'"]),
    "eval-option": (lambda d: d.update(eval={"mmlu": 3}), ["field 'eval.mmlu'"]),
}


@pytest.mark.parametrize("case", sorted(SPECS))
def test_sweep_specs_are_checked_before_any_cell(case, work, monkeypatch):
    monkeypatch.chdir(work)  # the default folder runs/<name> is relative to here
    d = spec_dict()
    mutate, words = SPECS[case]
    mutate(d)
    spec = write_spec(work, d)
    check(["sweep", "run", str(spec)], [str(spec) if case in ("typo", "wrong-type", "name-dotdot") else "", *words],
          work)
    assert not (work / "runs").exists()


def test_sweep_folder_with_another_spec_is_refused(work):
    first = write_spec(work, spec_dict(), "first.yaml")
    sweep = work / "sw"
    r = CliRunner().invoke(app, ["--quiet", "sweep", "run", str(first), "--out", str(sweep), "--stages", FAKE])
    assert r.exit_code == 0, r.output
    other = write_spec(work, spec_dict(teacher={"base": "tiny:qwen2"}), "other.yaml")
    check(["sweep", "run", str(other), "--out", str(sweep), "--stages", FAKE],
          [str(sweep), "different spec", "teacher.base", "--new"], work)
    # --new starts a folder next to it instead; the first one is untouched
    before = snapshot(sweep)
    r = CliRunner().invoke(app, ["--quiet", "sweep", "run", str(other), "--out", str(sweep), "--stages", FAKE,
                                 "--new"])
    assert r.exit_code == 0, r.output
    assert (work / "sw-2" / "results.sqlite").is_file() and snapshot(sweep) == before


# ---- 5. paths that escape their folder ----------------------------------------------------------
@pytest.mark.parametrize("split", ["../../x", "/etc/passwd", "a/b", ".."])
def test_split_names_cannot_escape_the_dataset(split, work, tiny_dataset, clean_ckpt):
    check(["teacher", "annotate", "--teacher", str(clean_ckpt), "--data", str(tiny_dataset), "--split", split],
          ["--split", repr(split)], work)


# ---- 6. calibration files --------------------------------------------------------------------------
def _calib(kind: str, path: Path) -> list[str]:
    if kind == "corrupt":
        path.write_bytes(b"PAR1 this is not a parquet file")
        return [str(path), "not a readable parquet file"]
    if kind == "truncated":
        pd.DataFrame({"headline": ["a b c"] * 50, "label": ["other"] * 50}).to_parquet(path)
        path.write_bytes(path.read_bytes()[:200])
        return [str(path), "not a readable parquet file"]
    if kind == "empty":
        pd.DataFrame({"headline": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(path)
        return [str(path), "no rows"]
    if kind == "no-input-column":
        pd.DataFrame({"text": ["a b c"], "label": ["other"]}).to_parquet(path)
        return [str(path), "'headline' column"]
    if kind == "bad-label":
        pd.DataFrame({"headline": ["a b c"], "label": ["bullish"]}).to_parquet(path)
        return [str(path), "row 0 field 'label'", "'bullish'"]
    pd.DataFrame({"headline": [""], "label": ["other"]}).to_parquet(path)
    return [str(path), "row 0 field 'headline'"]


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "empty", "no-input-column", "bad-label", "empty-text"])
def test_bad_calibration_parquet(kind, work, clean_ckpt):
    calib = work / "calib.parquet"
    words = _calib(kind, calib)
    check(["prune", "--model", str(clean_ckpt), "--target", "0.5", "--calib", str(calib), "--out",
           str(work / "pruned")], words, work)


# ---- 7. texts: control characters and absurd lengths -------------------------------------------
def _rows(text: str) -> pd.DataFrame:
    return pd.DataFrame({"headline": ["Acme raises guidance", text], "label": ["other", "other"]})


@pytest.mark.parametrize("kind", ["nul-validate", "long-validate", "nul-import", "long-import", "nul-eval",
                                  "long-eval"])
def test_control_characters_and_overlong_texts(kind, work, clean_ckpt):
    what, command = kind.split("-")
    text = "Acme\x00Corp beats estimates" if what == "nul" else "word " * 10_000
    f = work / "rows.parquet"
    _rows(text).to_parquet(f)
    words = [str(f), "row 1", "field 'headline'"] + (["'\\x00'"] if what == "nul" else ["50,000 characters"])
    argv = {"validate": ["data", "validate", str(f)],
            "import": ["data", "import", str(f), "--task", "finheadlines", "--map", "text=headline", "--out",
                       str(work / "ds")],
            "eval": ["eval", "--model", str(clean_ckpt), "--data", str(f), "--mmlu", "0", "--out",
                     str(work / "rec.json")]}[command]
    check(argv, words, work)
