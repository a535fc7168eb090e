"""Reading ``transfer_sets.json`` (the transfer sets a sweep looked for, and their tasks) beside a results table."""

from __future__ import annotations

import json

import pytest

from taskdistill.errors import InputError
from taskdistill.report.transfer import TRANSFER_FILE, transfer_beside

SET = {"name": "real-dev", "split": "/data/real.csv", "task": "finheadlines-coarse", "found": True, "hash": "ab"}


def test_transfer_sets_are_read_beside_the_table(tmp_path):
    (tmp_path / TRANSFER_FILE).write_text(json.dumps({"format": 1, "sets": [SET]}))
    assert transfer_beside(tmp_path / "results.csv") == [SET]
    assert transfer_beside(tmp_path / "elsewhere" / "results.csv") is None
    assert transfer_beside(None) is None


@pytest.mark.parametrize("content, why", [
    ("{not json", "cannot read a transfer-set list"),
    (json.dumps({"format": 2, "sets": [SET]}), "not a transfer-set list of format 1"),
    (json.dumps({"format": 1, "sets": [{"name": "real-dev", "split": "x", "found": True}]}),
     "sets[0]: missing field(s) task"),
])
def test_a_broken_transfer_file_is_an_input_error_naming_it(tmp_path, content, why):
    (tmp_path / TRANSFER_FILE).write_text(content)
    with pytest.raises(InputError) as exc:
        transfer_beside(tmp_path / "results.csv")
    assert why in str(exc.value) and TRANSFER_FILE in str(exc.value)
