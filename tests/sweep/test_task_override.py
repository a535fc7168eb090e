"""`taskdistill run PRESET --task T --data D`: a preset on a user's own task and imported data."""

import pytest

from taskdistill.config import ConfigError
from taskdistill.data.importer import import_file
from taskdistill.sweep.spec import load_spec, preset_path
from taskdistill.task import load_task

from ..task.toy import write_toy_task


@pytest.fixture
def imported(tmp_path):
    csv, yaml_path = write_toy_task(tmp_path, n_per_label=75)
    task = load_task(yaml_path)
    import_file(csv, task, tmp_path / "data", mapping={"text": "ticket", "label": "queue", "id": "ticket_id"},
                plot=False)
    return yaml_path, tmp_path / "data"


def test_preset_on_a_user_task_is_named_after_it_and_keeps_label_cells_without_rationales(imported):
    yaml_path, data = imported
    spec = load_spec(preset_path("quickstart"), task=str(yaml_path), data=str(data))
    assert spec.name == "quickstart-ticket-routing"
    assert spec.task_obj.name == "ticket-routing" and spec.data.path == str(data.resolve())
    assert spec.grid.supervision == ["label"] and "no rationales" in spec.description


def test_trace_only_spec_without_rationales_is_refused(imported, tmp_path):
    yaml_path, data = imported
    spec_file = tmp_path / "cot.yaml"
    text = preset_path("quickstart").read_text().replace("supervision: [label, blended]", "supervision: [blended]")
    assert "supervision: [blended]" in text
    spec_file.write_text(text)
    with pytest.raises(ConfigError, match="no rationale column"):
        load_spec(spec_file, task=str(yaml_path), data=str(data))
