import os

import pytest

from taskdistill.cache import (
    atomic_dir,
    atomic_write_json,
    content_hash,
    file_hash,
    home,
    publish_dir,
    work_dir,
)
from taskdistill.config import ConfigError, StrictModel, load_yaml


def test_home_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKDISTILL_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h" and home().is_dir()


def test_content_hash_is_order_independent_and_value_sensitive():
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert content_hash(0.1) != content_hash(0.10000001)


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(final) as d:
        (d / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed")
    assert not final.exists()
    assert os.listdir(tmp_path) == []
    with atomic_dir(final) as d:
        (d / "whole.bin").write_bytes(b"x")
    assert (final / "whole.bin").read_bytes() == b"x"


def test_work_dir_survives_a_failure_and_publishes_once(tmp_path):
    """The resumable work folder keeps its name across attempts; publishing renames it into place, and a
    second finisher of the same content-addressed output leaves the first one's folder as it is."""
    final = tmp_path / "abc"
    work = work_dir(final)
    assert work == tmp_path / ".work-abc" and work.is_dir()
    (work / "part-1").write_text("done")
    assert work_dir(final) == work and (work / "part-1").read_text() == "done"  # a rerun finds its checkpoints
    (work / "meta.json").write_text("{}")
    assert publish_dir(work, final) == final
    assert not work.exists() and sorted(p.name for p in final.iterdir()) == ["meta.json", "part-1"]
    other = work_dir(final)
    (other / "meta.json").write_text('{"late": true}')
    publish_dir(other, final)
    assert not other.exists() and (final / "meta.json").read_text() == "{}"
    assert oct(final.stat().st_mode & 0o777) == "0o755"


def test_atomic_json_and_file_hash(tmp_path):
    p = atomic_write_json(tmp_path / "r.json", {"x": 1})
    h1 = file_hash(p)
    atomic_write_json(p, {"x": 2})
    assert file_hash(p) != h1


class _Cfg(StrictModel):
    lr: float
    steps: int = 10


def test_load_yaml_names_file_and_field(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lr: 0.1\nstep: 3\n")
    with pytest.raises(ConfigError, match=r"(?s)c.yaml.*'step'"):
        load_yaml(f, _Cfg)
    f.write_text("lr: fast\n")
    with pytest.raises(ConfigError, match=r"field 'lr'"):
        load_yaml(f, _Cfg)
    f.write_text("lr: 0.5\n")
    assert load_yaml(f, _Cfg).steps == 10


def test_atomic_json_keeps_numbers_as_numbers(tmp_path):
    import json

    p = atomic_write_json(tmp_path / "m.json", {"f1": 0.5, "n": 3, "path": tmp_path})
    assert json.loads(p.read_text()) == {"f1": 0.5, "n": 3, "path": str(tmp_path)}
    assert oct(p.stat().st_mode & 0o777) == "0o644"


def test_atomic_json_writes_numpy_and_torch_values_as_plain_json(tmp_path):
    import json

    import numpy as np
    import torch

    obj = {"acc": np.float32(0.25), "n": np.int64(7), "probs": np.array([0.5, 0.5]), "t": torch.tensor([1, 2]),
           "ok": np.bool_(True)}
    p = atomic_write_json(tmp_path / "np.json", obj)
    assert json.loads(p.read_text()) == {"acc": 0.25, "n": 7, "probs": [0.5, 0.5], "t": [1, 2], "ok": True}


# --- one writer per output folder, stale temporary outputs ------------------------------------------

import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from taskdistill.cache import clean_stale_tmp, lock_holder, output_lock  # noqa: E402
from taskdistill.errors import OutputLockedError, TaskdistillError  # noqa: E402

_HOLD = """
import sys, time
from pathlib import Path
from taskdistill.cache import {what}
with {what}(Path(sys.argv[1]){extra}) as p:
    {body}
    print("ready", flush=True)
    time.sleep(600)
"""


def _spawn(tmp_path, what, target, extra="", body="pass"):
    """A real second process that enters ``what(target)`` and then hangs until killed."""
    script = tmp_path / f"hold_{what}_{abs(hash((str(target), body)))}.py"
    script.write_text(_HOLD.format(what=what, extra=extra, body=body))
    proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _kill9(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_output_lock_refuses_a_second_process_and_names_the_holder(tmp_path):
    out = tmp_path / "runs" / "a"
    holder = _spawn(tmp_path, "output_lock", out, extra=", command='taskdistill distill --out runs/a'")
    try:
        info = lock_holder(out)
        assert info["pid"] == holder.pid and info["command"] == "taskdistill distill --out runs/a"
        with pytest.raises(OutputLockedError) as err:
            with output_lock(out):
                pytest.fail("entered a folder another process holds")
        msg = str(err.value)
        assert re.search(rf"runs/a: pid {holder.pid} on host \S+ \(taskdistill distill --out runs/a\), "
                         r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d is writing this folder", msg), msg
        assert isinstance(err.value, TaskdistillError)
        assert not out.exists()  # refusing created nothing
        # the same folder spelled differently is the same lock
        with pytest.raises(OutputLockedError), output_lock(out.parent / ".." / "runs" / "a"):
            pass
        with output_lock(tmp_path / "runs" / "b"):  # other folders are free
            pass
    finally:
        _kill9(holder)
    # kill -9 releases the lock: the next writer gets it at once
    assert lock_holder(out) is None
    with output_lock(out, command="second"):
        assert lock_holder(out)["pid"] == os.getpid()
    assert lock_holder(out) is None


def test_output_lock_nests_in_one_thread_but_not_across_threads(tmp_path):
    out = tmp_path / "o"
    seen = []

    def other():
        try:
            with output_lock(out):
                seen.append("entered")
        except OutputLockedError as exc:
            seen.append(str(exc))

    with output_lock(out), output_lock(out):  # a command that calls another stage on its own folder
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(seen) == 1 and f"pid {os.getpid()}" in seen[0]
    with output_lock(out):  # released after the outer block
        pass


def test_atomic_dir_removes_tmp_folders_of_killed_runs_but_not_live_ones(tmp_path):
    final = tmp_path / "node"
    body = "(p / 'half.bin').write_bytes(b'x')"
    killed = _spawn(tmp_path, "atomic_dir", final, body=body)
    _kill9(killed)  # killed mid-write: its temporary folder stays behind
    (stale,) = tmp_path.glob(".node.*.tmp")
    live = _spawn(tmp_path, "atomic_dir", final, body=body + "  # live")
    try:
        (running,) = tmp_path.glob(".node.*.tmp")  # the live run's start removed the killed run's
        assert running != stale and not stale.exists()
        with atomic_dir(final) as d:  # a third run next to the live one
            (d / "whole.bin").write_bytes(b"y")
        assert list(tmp_path.glob(".node.*.tmp")) == [running]  # the live run's folder is untouched
        assert (running / "half.bin").is_file()
        assert (final / "whole.bin").read_bytes() == b"y"
    finally:
        _kill9(live)
    assert clean_stale_tmp(final) == [running]
    assert list(tmp_path.glob(".node.*")) == []


def test_atomic_write_removes_tmp_files_of_killed_writers(tmp_path):
    target = tmp_path / "results.json"
    stale = tmp_path / ".results.json.abcd1234.tmp"
    stale.write_text("half")
    other = tmp_path / ".results.json.b.abcd1234.tmp"  # belongs to results.json.b, not to us
    other.write_text("half")
    atomic_write_json(target, {"ok": 1})
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "results.json"]


def test_output_lock_refuses_the_filesystem_root():
    with pytest.raises(TaskdistillError, match="cannot be used as an output folder"), output_lock("/"):
        pass
