"""Reading ``efficiency.json`` (the quiet re-measurement of a sweep's speed) beside a results table."""

from __future__ import annotations

import json

from taskdistill.report.efficiency import EFFICIENCY_FILE


def test_report_refuses_a_broken_efficiency_file(tmp_path):
    from taskdistill.errors import InputError
    from taskdistill.report.efficiency import efficiency_beside

    (tmp_path / "results.csv").write_text("x\n")
    (tmp_path / EFFICIENCY_FILE).write_text(json.dumps({"format": 1, "models": [{"target": 1.0}]}))
    try:
        efficiency_beside(tmp_path / "results.csv")
    except InputError as exc:
        assert "models[0]: missing field(s) method" in str(exc) and EFFICIENCY_FILE in str(exc)
    else:
        raise AssertionError("a broken efficiency file was read")
    assert efficiency_beside(tmp_path / "elsewhere" / "results.csv") is None
