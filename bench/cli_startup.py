"""How long `taskdistill --help` takes, beside a bare Python start measured in the same run.

    python bench/cli_startup.py [--runs 5] [--limit 1.0]

Prints the median wall time of each and their ratio; exits 1 when the command line's median is above
``--limit`` seconds. Heavy libraries (torch, transformers, pydantic) must be imported inside the commands
that need them, so the command line itself starts quickly.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--limit", type=float, default=1.0, help="seconds allowed for `taskdistill --help`")
    a = ap.parse_args()
    exe = Path(sys.executable).with_name("taskdistill")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-c", "from taskdistill.cli import app; app()"]
    base = _median_seconds([sys.executable, "-c", "pass"], a.runs)
    help_s = _median_seconds([*cli, "--help"], a.runs)
    print(f"python start: {base:.3f} s   taskdistill --help: {help_s:.3f} s   ratio {help_s / base:.1f}x "
          f"(median of {a.runs})")
    return 0 if help_s <= a.limit else 1


if __name__ == "__main__":
    sys.exit(main())
