"""One rich progress-bar style for every long loop (stderr, so JSON and tables on stdout stay clean).

``make_progress`` gives a ``Progress`` with an ``info`` field for live numbers (tokens/s, loss parts);
``progress_bar`` is the simple counted form used by the evaluation loops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress(quiet: bool = False, info: bool | str = True, *, transient: bool = False,
                  console: Console | None = None) -> Progress:
    """The one progress display: description, bar, done/total, elapsed (and remaining) time.

    ``info``: show a live text field after the bar (``True``: the field ``info``; a string: that field's
    name, filled by ``add_task(..., <name>=...)`` / ``update``). ``transient`` removes the bar when done.
    ``console``: where to draw (default: stderr, silent when ``quiet``)."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    if info:
        columns.append(TextColumn(f"{{task.fields[{'info' if info is True else info}]}}"))
    console = console or Console(stderr=True, quiet=quiet)
    return Progress(*columns, console=console, disable=quiet or console.quiet, transient=transient)


@contextlib.contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; shows a bar only when ``enabled`` and there is work."""
    if not enabled or total <= 0:
        yield lambda n: None
        return
    bar = make_progress(info=False)
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
