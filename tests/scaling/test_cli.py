import json

from typer.testing import CliRunner

from taskdistill.cli import app

from .synth import quickstart_results, small_fits, small_results

runner = CliRunner()


def test_fit_writes_fits_for_a_parquet_results_file(tmp_path):
    pq = tmp_path / "q.parquet"
    quickstart_results().to_parquet(pq)
    out = tmp_path / "fits.json"
    res = runner.invoke(app, ["--quiet", "fit", "--results", str(pq), "--out", str(out), "--n-boot", "4"])
    assert res.exit_code == 0, res.output
    assert "collapse" in res.output and out.is_file()
    data = json.loads(out.read_text())
    assert {g["key"]["supervision"] for g in data["groups"]} == {"label", "blended"}
    assert data["settings"]["n_boot"] == 4


def test_recommend_answers_and_says_no_clearly(tmp_path):
    csv = tmp_path / "results.csv"
    small_results().to_csv(csv, index=False)
    fits = small_fits().save(tmp_path / "fits.json")
    res = runner.invoke(app, ["recommend", "--results", str(csv), "--fits", str(fits), "--min-f1", "0.7",
                              "--max-params", "0.7", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["feasible"] and rec["setting"]["params_ratio"] <= 0.7
    res = runner.invoke(app, ["recommend", "--results", str(csv), "--fits", str(fits), "--min-f1", "0.99"])
    assert res.exit_code == 1 and "no setting qualifies" in res.output


def test_cli_errors_are_clear(tmp_path):
    res = runner.invoke(app, ["fit", "--results", str(tmp_path / "nope.csv")])
    assert res.exit_code != 0 and "not found" in res.output
    res = runner.invoke(app, ["fit"])
    assert res.exit_code != 0 and "exactly one" in res.output
    bad = tmp_path / "r.txt"
    bad.write_text("x")
    res = runner.invoke(app, ["recommend", "--results", str(bad), "--min-f1", "0.5"])
    assert res.exit_code != 0 and ".parquet" in res.output


def test_fit_on_a_table_too_small_exits_cleanly(tmp_path):
    csv = tmp_path / "one.csv"
    quickstart_results().iloc[:2].to_csv(csv, index=False)  # the teacher and a single student
    res = runner.invoke(app, ["fit", "--results", str(csv)])
    assert res.exit_code == 2 and "too few points" in res.output and "Traceback" not in res.output
