"""The results table is checked before any fit: impossible values, duplicated models, empty or all-failed
tables and fits from another table are refused with one line naming the row and column."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.scaling import fit_table
from taskdistill.scaling.table import ResultsError, validate

from .synth import FAST, small_results

runner = CliRunner()


@pytest.mark.parametrize("value", [7.5, -2.0, np.inf])
def test_impossible_metric_values_are_refused(value):
    df = small_results().copy()
    i = int(np.flatnonzero((df["status"] == "done").to_numpy())[3])
    df.loc[df.index[i], "indomain.macro_f1"] = value
    with pytest.raises(ResultsError, match=rf"row {i}: indomain.macro_f1 = .* outside its valid range"):
        validate(df)


def test_every_row_twice_is_refused():
    df = small_results().copy()
    with pytest.raises(ResultsError, match="are the same model"):
        fit_table(pd.concat([df, df], ignore_index=True), FAST)


def test_missing_values_are_counted_per_metric():
    df = small_results().copy()
    done = np.flatnonzero((df["status"] == "done").to_numpy())[:3]
    df.loc[df.index[done], "indomain.nll"] = np.nan
    out = validate(df)
    assert out.attrs["dropped"]["indomain.nll"] == {"missing value": 3}


def test_empty_and_all_failed_tables_are_refused():
    df = small_results().copy()
    with pytest.raises(ResultsError, match="no rows"):
        validate(df.iloc[:0])
    with pytest.raises(ResultsError, match="all .* cell\\(s\\) failed"):
        validate(df.assign(status="failed"))


def test_fits_from_another_table_are_refused_by_report(tmp_path):
    a, b = small_results().copy(), small_results(seed=1).copy()
    pa, pb = tmp_path / "a.csv", tmp_path / "b.csv"
    a.to_csv(pa, index=False)
    b.to_csv(pb, index=False)
    r = runner.invoke(app, ["fit", "--results", str(pa), "--n-boot", "5", "--out", str(tmp_path / "fits.json")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", "--results", str(pb), "--fits", str(tmp_path / "fits.json"),
                            "--out", str(tmp_path / "rep")])
    assert r.exit_code == 2 and "computed from another results table" in r.output
    assert not (tmp_path / "rep").exists()
    # the same measurements stored again later by another checkout (a rerun served from the cache) match
    pc = tmp_path / "c.csv"
    a.assign(created="2030-01-01T00:00:00", git_commit="0" * 40).to_csv(pc, index=False)
    r = runner.invoke(app, ["report", "--results", str(pc), "--fits", str(tmp_path / "fits.json"),
                            "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("args", [["fit", "--n-boot", "-1"], ["fit", "--processes", "0"], ["recommend", "--min-f1", "-1"],
                                  ["recommend", "--min-f1", "nan"], ["fit", "."]])
def test_bad_options_exit_2_with_one_line(tmp_path, args):
    p = tmp_path / "r.csv"
    small_results().to_csv(p, index=False)
    if args != ["fit", "."]:
        args = [*args, "--results", str(p)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1
