"""The results store: one SQLite file per sweep folder (``<sweep>/results.sqlite``).

Why SQLite: a sweep is written by several processes (local workers, Ray tasks on a shared
filesystem) and read while it runs (``sweep status``); SQLite gives atomic, idempotent inserts
(``INSERT OR IGNORE`` keyed by the cell hash), so a cell that is killed after its evaluation was
stored, or run twice by two workers, never yields a duplicate row, and a kill -9 mid-write loses
nothing that was committed.

Tables
- ``cells``: every cell of the grid with its status (pending / running / done / failed), the
  process that holds it, timings, and the traceback of the last failure.
- ``results``: one row per evaluated model: the axis settings, the full evaluation record, and
  provenance (every stage setting, node keys, git commit, package versions).
- ``node_times``: measured seconds per computed stage node, used for the ETA.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from taskdistill.errors import TaskdistillError

DB_NAME = "results.sqlite"
AXES = ("dataset_size", "target", "method", "supervision", "schedule", "seed")
STATUSES = ("pending", "running", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, idx INTEGER, label TEXT, settings TEXT, node_key TEXT, stages TEXT,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    started REAL, finished REAL, seconds REAL, host TEXT, pid INTEGER, error TEXT
);
CREATE TABLE IF NOT EXISTS results (
    cell_id TEXT PRIMARY KEY, settings TEXT NOT NULL, record TEXT NOT NULL, provenance TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS node_times (
    key TEXT PRIMARY KEY, stage TEXT NOT NULL, seconds REAL NOT NULL, finished REAL NOT NULL, cpu_seconds REAL
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfer (
    cell_id TEXT NOT NULL, name TEXT NOT NULL, node_key TEXT NOT NULL, record TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (cell_id, name)
);
"""


class StoreError(TaskdistillError, RuntimeError):
    """A sweep folder without a usable results store."""


class Store:
    """Thin wrapper over the SQLite file; every method opens a short transaction."""

    def __init__(self, sweep_dir: str | Path, create: bool = True):
        self.dir = Path(sweep_dir)
        self.path = self.dir / DB_NAME
        if not create and not self.path.is_file():
            raise StoreError(f"{self.dir}: not a sweep folder (no {DB_NAME}); run `taskdistill sweep run` first")
        self.dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=120)
        try:
            conn.execute("PRAGMA busy_timeout=120000")
            conn.execute("PRAGMA journal_mode=WAL")  # readers (status) never block the writers
            conn.executescript(SCHEMA)
            cols = {row[1] for row in conn.execute("PRAGMA table_info(node_times)")}
            if "cpu_seconds" not in cols:  # a sweep folder from before CPU time was recorded
                conn.execute("ALTER TABLE node_times ADD COLUMN cpu_seconds REAL")
        finally:
            conn.close()

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=120000")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    # ---- meta ---------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO meta(k, v) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._conn() as c:
            row = c.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # ---- cells --------------------------------------------------------------------------------
    def register_cells(self, cells: list[dict[str, Any]]) -> None:
        """Add cells that are not known yet (a rerun of the same grid adds nothing)."""
        with self._conn() as c:
            c.executemany(
                "INSERT OR IGNORE INTO cells(cell_id, idx, label, settings, node_key, stages) "
                "VALUES (:cell_id, :idx, :label, :settings, :node_key, :stages)",
                [{**cell, "settings": json.dumps(cell["settings"]), "stages": json.dumps(cell["stages"])}
                 for cell in cells])
            # A cell whose result exists is done, whatever its status says (kill after insert).
            c.execute("UPDATE cells SET status = 'done' WHERE cell_id IN (SELECT cell_id FROM results)")

    def claim(self, cell_id: str) -> bool:
        """Mark a cell running by this process. False if it is already done (nothing to do)."""
        with self._conn() as c:
            if c.execute("SELECT 1 FROM results WHERE cell_id = ?", (cell_id,)).fetchone():
                c.execute("UPDATE cells SET status = 'done' WHERE cell_id = ?", (cell_id,))
                return False
            c.execute("UPDATE cells SET status = 'running', attempts = attempts + 1, started = ?, host = ?, "
                      "pid = ?, error = NULL WHERE cell_id = ?",
                      (time.time(), socket.gethostname(), os.getpid(), cell_id))
        return True

    def fail(self, cell_id: str, error: str) -> None:
        with self._conn() as c:
            c.execute("UPDATE cells SET status = 'failed', finished = ?, error = ?, "
                      "seconds = ? - started WHERE cell_id = ?", (time.time(), error, time.time(), cell_id))

    def add_result(self, cell_id: str, settings: dict[str, Any], record: dict[str, Any],
                   provenance: dict[str, Any]) -> bool:
        """Insert a cell's result once (idempotent) and mark the cell done. True if newly inserted."""
        now = time.time()
        with self._conn() as c:
            cur = c.execute("INSERT OR IGNORE INTO results(cell_id, settings, record, provenance, created) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (cell_id, json.dumps(settings), json.dumps(record, default=str),
                             json.dumps(provenance, default=str), now))
            c.execute("UPDATE cells SET status = 'done', finished = ?, seconds = ? - started, error = NULL "
                      "WHERE cell_id = ?", (now, now, cell_id))
            return cur.rowcount == 1

    def cells(self) -> list[dict[str, Any]]:
        with self._conn() as c:
            c.row_factory = sqlite3.Row
            rows = c.execute("SELECT * FROM cells ORDER BY idx").fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["settings"] = json.loads(d["settings"])
            d["stages"] = json.loads(d["stages"]) if d["stages"] else []
            out.append(d)
        return out

    # ---- transfer sets (sweep/transfer.py) ----------------------------------------------------------
    def set_transfer(self, cell_id: str, name: str, node_key: str, record: dict[str, Any]) -> None:
        """A cell's model scored on the transfer set ``name`` (replaced when the set's file changes)."""
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO transfer(cell_id, name, node_key, record, created) "
                      "VALUES (?, ?, ?, ?, ?)", (cell_id, name, node_key, json.dumps(record, default=str),
                                                 time.time()))

    def transfer(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{cell_id: {name: record}}`` of every stored transfer score."""
        with self._conn() as c:
            rows = c.execute("SELECT cell_id, name, record FROM transfer").fetchall()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for cid, name, rec in rows:
            out.setdefault(cid, {})[name] = json.loads(rec)
        return out

    # ---- timings ------------------------------------------------------------------------------
    def add_node_time(self, key: str, stage: str, seconds: float, cpu_seconds: float | None = None) -> None:
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO node_times(key, stage, seconds, finished, cpu_seconds) "
                      "VALUES (?, ?, ?, ?, ?)", (key, stage, seconds, time.time(), cpu_seconds))

    def node_records(self) -> dict[str, dict[str, Any]]:
        """Every timed node: stage, wall seconds, CPU seconds of its worker process (None in folders from before
        CPU time was recorded) and finish time."""
        with self._conn() as c:
            rows = c.execute("SELECT key, stage, seconds, cpu_seconds, finished FROM node_times").fetchall()
        return {k: {"stage": st, "seconds": sec, "cpu_seconds": cpu, "finished": fin} for k, st, sec, cpu, fin in rows}

    def node_times(self) -> dict[str, tuple[str, float]]:
        with self._conn() as c:
            rows = c.execute("SELECT key, stage, seconds FROM node_times").fetchall()
        return {k: (s, sec) for k, s, sec in rows}

    # ---- results ------------------------------------------------------------------------------
    def results(self) -> list[dict[str, Any]]:
        with self._conn() as c:
            rows = c.execute("SELECT r.cell_id, r.settings, r.record, r.provenance, r.created, c.idx "
                             "FROM results r LEFT JOIN cells c USING(cell_id) "
                             "ORDER BY c.idx, r.created").fetchall()
        return [{"cell_id": cid, "settings": json.loads(s), "record": json.loads(rec),
                 "provenance": json.loads(prov), "created": created}
                for cid, s, rec, prov, created, _ in rows]


def _flatten_record(record: dict[str, Any]) -> dict[str, Any]:
    from taskdistill.evaluate.record import flatten_record

    flat = flatten_record(record)
    return {k: (json.dumps(v, default=str) if isinstance(v, list | tuple | dict) else v) for k, v in flat.items()}


METRIC_PREFIXES = ("indomain.", "mmlu.")
TRANSFER_COLUMNS = ("macro_f1", "macro_f1_stderr", "accuracy", "accuracy_stderr", "nll", "brier", "n", "error")


def _split_metrics(row: dict[str, Any]) -> dict[str, Any]:
    """Keep ``indomain.*`` / ``mmlu.*`` columns numeric (fits read every such column as a metric);
    their descriptive strings (MMLU variant, scoring settings) move to ``info.<name>``."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k.startswith(METRIC_PREFIXES) and not (v is None or isinstance(v, int | float)):
            out[f"info.{k}"] = v
        elif k.startswith(METRIC_PREFIXES) and isinstance(v, bool):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def load_results(sweep_dir: str | Path, include_failed: bool = False):
    """All result rows of a sweep as a DataFrame: axes, ``params_ratio``, ``status``, flattened metrics.

    The teacher is a row too (target 1.0, method "teacher", supervision and schedule "none"), and so is
    each pruned-but-undistilled model of ``prune.evaluate`` (method "pruned", supervision "none", schedule
    "oneshot", no dataset size).
    ``include_failed`` adds failed cells (metrics NaN, ``error`` set), so a report can list them."""
    import pandas as pd

    store = Store(sweep_dir, create=False)
    # transfer sets of the last run (sweep/transfer.py): their scores join the rows as transfer.<name>.*
    sets = store.get_meta("transfer", []) or []
    scores = store.transfer() if sets else {}
    rows = []
    for r in store.results():
        row: dict[str, Any] = {"cell_id": r["cell_id"]}
        row.update({a: r["settings"].get(a) for a in AXES})
        row["status"] = "done"
        row.update(_split_metrics(_flatten_record(r["record"])))
        for k in ("params_ratio", "params_ratio_nonemb", "params", "params_nonemb"):
            if k in r["provenance"]:
                row[k] = r["provenance"][k]
        if "mmlu.gold_loglik_per_char" in row and "mmlu.gold_ll_per_char" not in row:
            row["mmlu.gold_ll_per_char"] = row["mmlu.gold_loglik_per_char"]  # the name fits use
        for ts in sets:
            rec = scores.get(r["cell_id"], {}).get(ts["name"])
            if rec is not None and rec.get("split_hash") == ts.get("hash"):  # a stale file's scores never show
                row.update({f"transfer.{ts['name']}.{k}": rec.get(k) for k in TRANSFER_COLUMNS})
        row["git_commit"] = r["provenance"].get("git_commit")
        row["created"] = r["created"]
        rows.append(row)
    if include_failed:
        for c in store.cells():
            if c["status"] == "failed":
                row = {"cell_id": c["cell_id"], **{a: c["settings"].get(a) for a in AXES}, "status": "failed",
                       "error": (c["error"] or "").strip().splitlines()[-1:] or [""]}
                row["error"] = row["error"][0]
                rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["cell_id", *AXES, "params_ratio", "params_ratio_nonemb", "status"])
    df.attrs["transfer"] = sets  # the report says which sets were found, and where it looked for the others
    return df


def export_results(sweep_dir: str | Path, out: str | Path) -> Path:
    """Write the results table as CSV or parquet (by extension)."""
    from taskdistill.cache import atomic_write_bytes

    out = Path(out)
    df = load_results(sweep_dir)
    if out.suffix == ".csv":
        atomic_write_bytes(out, df.to_csv(index=False).encode())
    elif out.suffix in (".parquet", ".pq"):
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
    else:
        raise StoreError(f"{out}: --out must end in .csv or .parquet")
    return out
