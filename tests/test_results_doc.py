"""Published study results (``results/<name>/``) are rebuilt from their committed files.

For every folder with a ``RESULTS.md``: ``taskdistill report`` on the committed results table and fits
rebuilds the committed ``report/report.md`` (the first line, which names the time and the input path,
aside), and every number in ``RESULTS.md`` outside code blocks and links appears in that report. So no
number in a published summary is typed by hand or left behind by a rerun.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskdistill.cli import app

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p.parent for p in (ROOT / "results").glob("*/RESULTS.md"))
NUMBER = re.compile(r"(?<![\w.\-/])[-+−]?\d[\d,]*(?:\.\d+)?(?![\w])")


def numbers(markdown: str) -> set[str]:
    """The numbers a reader sees: not those inside code, link targets or headings' anchors."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return {m.group(0).lstrip("+").replace("−", "-") for m in NUMBER.finditer(text)}


def _body(md: str) -> list[str]:
    return [line for line in md.splitlines() if not line.startswith("Generated ")]


def test_number_extraction():
    found = numbers("F1 at r = 0.37: 0.812 [0.790, 0.830], 1,600 rows; `taskdistill run 5` [x](a/b9.md) 2-core")
    assert found == {"0.37", "0.812", "0.790", "0.830", "1,600", "2"}


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_results_md_numbers_come_from_the_rebuilt_report(folder: Path, tmp_path):
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", "--results", str(folder / "results.csv"), "--fits",
                                   str(folder / "fits.json.gz"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rebuilt = (out / "report.md").read_text()
    assert _body(rebuilt) == _body((folder / "report" / "report.md").read_text()), \
        "the committed report differs from the one `taskdistill report` builds from the committed files"
    missing = sorted(n for n in numbers((folder / "RESULTS.md").read_text()) if n not in rebuilt)
    assert not missing, f"numbers in {folder.name}/RESULTS.md that the report does not state: {missing}"
