"""Benchmark: ``fit_table`` on a paper-shaped results table in one process against N processes, in the same run.

The table is simulated (``scaling.simulate.synthetic_results``: 4 supervision x schedule groups, 3 data sizes,
4 ratios, 3 seed-chains, a teacher row), fitted with the shipped settings (every metric the report fits, 100
bootstrap draws). Prints the wall seconds of each, the speed-up and whether the two fits are identical (they
must be: each (group, metric) fit draws from its own seeded generator). Run it on a quiet machine: other jobs
take the cores the processes need.

    python bench/fit_processes.py                 # N = every usable CPU
    python bench/fit_processes.py --processes 4 --n-boot 30
"""

from __future__ import annotations

import argparse
import json
import time

from taskdistill.scaling.fit import FitSettings, fit_table, usable_cpus
from taskdistill.scaling.simulate import DEFAULT_GROUPS, synthetic_results


def timed(df, settings: FitSettings, processes: int):
    t0 = time.perf_counter()
    fits = fit_table(df.copy(), settings, workers=processes)
    seconds = time.perf_counter() - t0
    d = fits.to_dict()
    d.pop("seconds"), d.pop("created")
    return seconds, json.dumps(d, sort_keys=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=usable_cpus())
    ap.add_argument("--n-boot", type=int, default=100)
    args = ap.parse_args()
    df = synthetic_results(groups=DEFAULT_GROUPS[:4], dataset_sizes=(6_000, 25_000, 100_000), seeds=(0, 1, 2),
                           seed=1)
    settings = FitSettings(n_boot=args.n_boot)
    one, a = timed(df, settings, 1)
    many, b = timed(df, settings, args.processes)
    print(f"table: {len(df)} rows, {len(DEFAULT_GROUPS[:4])} groups, {len(settings.metrics)} metrics, "
          f"n_boot {args.n_boot}; usable CPUs {usable_cpus()}")
    print(f"1 process: {one:.1f} s; {args.processes} processes: {many:.1f} s; speed-up {one / many:.2f}x; "
          f"identical fits: {a == b}")


if __name__ == "__main__":
    main()
