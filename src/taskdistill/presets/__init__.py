"""Sweep presets shipped with the package (``taskdistill run NAME``): ``tiny`` (CI, tiny random
models), ``quickstart`` (the embedded default, minutes on 2 CPU cores) and ``paper`` (the paper's grid,
for a cluster). The repository's ``configs/`` folder links here."""
