"""``taskdistill info``: what this installation has and where it keeps things."""

from __future__ import annotations

import platform
import time
from importlib import metadata

from rich.console import Console
from rich.table import Table

from taskdistill import __version__, assets
from taskdistill.cache import home

PACKAGES = ("torch", "transformers", "peft", "accelerate", "safetensors", "gguf", "sentence-transformers",
            "numpy", "scipy", "pandas", "pydantic")


def versions() -> dict[str, str]:
    """Installed versions of the packages that can change a result (recorded with every result)."""
    out = {"taskdistill": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# Environment variables that change which CPU kernels (and so which float rounding) torch uses.
NUMERIC_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS",
               "ONEDNN_MAX_CPU_ISA", "CUBLAS_WORKSPACE_CONFIG")


def runtime() -> dict[str, str | int | None]:
    """What besides the package versions decides the last bits of a float result: torch's thread count, the
    CPU kernels it dispatches to, the BLAS it was built with, the CPU, and the environment variables that
    override them (recorded with every result; see docs/reproducibility.md)."""
    import os
    import re

    import torch

    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    out: dict[str, str | int | None] = {
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas": blas.group(1) if blas else None,
        "cpu": cpu,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    }
    out.update({k: os.environ[k] for k in NUMERIC_ENV if k in os.environ})
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def print_info(timings: bool = False) -> None:
    console = Console()
    t = Table(title="taskdistill", show_header=False)
    for k, v in versions().items():
        t.add_row(k, v)
    for k, v in runtime().items():
        t.add_row(k.replace("_", " "), str(v))
    t.add_row("cache (TASKDISTILL_HOME)", str(home()))
    console.print(t)

    a = Table(title="offline assets")
    for col in ("asset", "installed", "size", "path / install with"):
        a.add_column(col)
    for row in assets.asset_status():
        a.add_row(row["name"], "yes" if row["installed"] else "NO", _mb(row["bytes"]) if row["installed"] else "-",
                  row["path"] if row["installed"] else row["install"])
    console.print(a)

    if timings:
        from taskdistill.models import load_model

        for attempt in ("first", "second"):
            t0 = time.perf_counter()
            load_model("smollm2-135m-instruct", quiet=True)
            console.print(f"load_model('smollm2-135m-instruct') {attempt} call: {time.perf_counter() - t0:.2f} s")
