"""Render a report in headless Chromium: a screenshot, and a check that every figure loaded without console
errors. ``python -m taskdistill.report.screenshot REPORT.html OUT.png`` (the README image is made this way).

Chromium runs with networking features off and a throw-away profile; the report needs no network (its
images are data URIs), so anything it tried to fetch would itself be a bug.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000")


class ChromiumMissing(RuntimeError):
    """No Chromium binary on PATH (Debian: ``apt-get install -y chromium``)."""


@dataclass
class RenderCheck:
    images_total: int
    images_loaded: int
    console_errors: list[str]

    @property
    def ok(self) -> bool:
        return self.images_total > 0 and self.images_total == self.images_loaded and not self.console_errors


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing("no chromium on PATH; install it (Debian: apt-get install -y chromium)")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="td-chromium-") as profile:
        cmd = [find_chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def screenshot(html: str | Path, png: str | Path, *, width: int = 1280, height: int = 2400,
               timeout: float = 120) -> Path:
    """Save a ``width x height`` screenshot of the top of ``html`` to ``png``."""
    html, png = Path(html).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri()], timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}")
    return png


def check_render(html: str | Path, *, timeout: float = 120) -> RenderCheck:
    """Load ``html``, dump the DOM after the load event; read the image counts the report's own script
    records on ``<body>``, and collect console errors from Chromium's log."""
    html = Path(html).resolve()
    proc = _run(["--enable-logging=stderr", "--v=0", "--dump-dom", html.as_uri()], timeout)
    dom = proc.stdout
    total = re.search(r'data-images-total="(\d+)"', dom)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    if total is None or loaded is None:
        raise RuntimeError(f"the report's load check did not run (rc={proc.returncode}); stderr: {proc.stderr[-2000:]}")
    errors = [line for line in proc.stderr.splitlines()
              if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line or "error" in line.lower())]
    return RenderCheck(int(total.group(1)), int(loaded.group(1)), errors)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m taskdistill.report.screenshot REPORT.html OUT.png", file=sys.stderr)
        return 2
    chk = check_render(argv[0])
    out = screenshot(argv[0], argv[1])
    print(f"{out}: {chk.images_loaded}/{chk.images_total} figures loaded, {len(chk.console_errors)} console errors")
    for e in chk.console_errors:
        print("  " + e)
    return 0 if chk.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
