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


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def print_info(timings: bool = False) -> None:
    import torch

    console = Console()
    t = Table(title="taskdistill", show_header=False)
    for k, v in versions().items():
        t.add_row(k, v)
    t.add_row("torch threads", str(torch.get_num_threads()))
    t.add_row("device", "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
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
