"""`bench/numerics.py compare-sweeps`: two runs of one spec compared on the finished cells they share.

The committed study table and a rerun of the same spec on another machine hold different subsets of the
grid, so the comparison matches rows by cell id and says how many it compared. Here two small tables share
two finished cells, one metric differs in one of them, and a cell finished on one side only is left out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _table(rows):  # each cell a distinct model (seed = its number), as the table reader requires
    base = {"status": "done", "method": "logit", "supervision": "label", "dataset_size": 100, "params_ratio": 0.79,
            "runtime.cpu_capability": "AVX512", "indomain.macro_f1": 0.5, "indomain.nll": 1.0,
            "indomain.seconds": 3.0, "task.name": "finheadlines"}
    return pd.DataFrame([{**base, "seed": int(r["cell_id"][1:]), **r} for r in rows])


def test_compare_matches_rows_by_cell_id_and_reports_the_spread(tmp_path):
    a = _table([{"cell_id": "c1"}, {"cell_id": "c2", "indomain.macro_f1": 0.7}, {"cell_id": "c3"}])
    b = _table([{"cell_id": "c2", "indomain.macro_f1": 0.65, "indomain.seconds": 9.0,
                 "runtime.cpu_capability": "AVX2"},
                {"cell_id": "c1"}, {"cell_id": "c4", "indomain.macro_f1": 0.0},
                {"cell_id": "c3", "status": "failed", "indomain.macro_f1": 0.0}])
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "numerics.py"), "compare-sweeps",
                          str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "2 finished rows in common (3 in the first, 3 in the second)" in out
    assert "2 metric columns (timings left out): 1 identical" in out  # seconds are timings, not metrics
    assert "indomain.macro_f1: max |diff| 0.05, mean |diff| 0.025 over 2 rows" in out
    assert "runtime.cpu_capability: AVX512 vs AVX2" in out


def test_compare_with_nothing_in_common_says_so(tmp_path):
    _table([{"cell_id": "c1"}]).to_csv(tmp_path / "a.csv", index=False)
    _table([{"cell_id": "c9"}]).to_csv(tmp_path / "b.csv", index=False)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "numerics.py"), "compare-sweeps",
                          str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], capture_output=True, text=True)
    assert res.returncode == 1 and "no finished cell in common" in res.stderr

