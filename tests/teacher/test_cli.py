"""The teacher commands are wired into the one CLI and turn bad input into a clear message + exit 2."""

from typer.testing import CliRunner

from taskdistill.cli import app

runner = CliRunner()


def test_teacher_commands_are_registered():
    res = runner.invoke(app, ["teacher", "--help"])
    assert res.exit_code == 0 and "prepare" in res.output and "annotate" in res.output


def test_annotate_missing_dataset(tmp_path):
    res = runner.invoke(app, ["teacher", "annotate", "--teacher", "tiny:llama", "--data", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "dataset folder not found" in res.output


def test_annotate_bad_policy(dataset_dir):
    res = runner.invoke(app, ["teacher", "annotate", "--teacher", "tiny:llama", "--data", str(dataset_dir),
                              "--policy", "sometimes"])
    assert res.exit_code == 2 and "'--policy'" in res.output and "'sometimes' is not one of" in res.output
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1


def test_prepare_bad_config(tmp_path, dataset_dir):
    cfg = tmp_path / "t.yaml"
    cfg.write_text("stepz: 3\n")
    res = runner.invoke(app, ["teacher", "prepare", "--base", "tiny:llama", "--data", str(dataset_dir),
                              "--config", str(cfg)])
    assert res.exit_code == 2 and "field 'stepz'" in res.output


def test_annotate_cli_end_to_end(dataset_dir):
    res = runner.invoke(app, ["--quiet", "teacher", "annotate", "--teacher", "tiny:llama", "--data",
                              str(dataset_dir), "--formats", "label", "--k", "4", "--limit", "3",
                              "--max-length", "400"])
    assert res.exit_code == 0, res.output
    from taskdistill.targets import load_annotations

    ann = load_annotations(res.output.strip().splitlines()[-1])
    assert ann.meta["n_rows"] == 3 and ann.topk_cache("label").n == 3
