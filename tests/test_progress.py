"""The one progress display: every long loop draws the same bar on stderr (never on stdout)."""

from __future__ import annotations

import io

from rich.console import Console

from taskdistill.progress import make_progress, progress_bar


def test_make_progress_shows_a_named_live_field_and_stays_off_stdout(capsys):
    out = io.StringIO()
    with make_progress(info="counts", console=Console(file=out, width=120, force_terminal=False)) as bar:
        task = bar.add_task("cells", total=4, counts="")
        bar.update(task, advance=3, counts="3 done, 1 failed")
    text = out.getvalue()
    assert "cells" in text and "3/4" in text and "3 done, 1 failed" in text
    with make_progress(quiet=True) as bar:  # quiet: nothing anywhere
        bar.add_task("x", total=1, info="")
    with progress_bar(2, "scoring", enabled=True) as advance:
        advance(2)
    captured = capsys.readouterr()
    assert captured.out == ""


def test_transient_bar_is_removed_when_done():
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True)
    with make_progress(info=False, transient=True, console=console) as bar:
        bar.add_task("fitting", total=1, completed=1)
    assert "fitting" not in out.getvalue().rsplit("\x1b[2K", 1)[-1]
