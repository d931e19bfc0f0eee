"""DuckDB connections with the user's engine settings (memory limit, threads, spill directory).

Every DuckDB connection kamlib opens (loading files, snapshots, DuckDB-file sources) comes from
:func:`connect`, which applies the settings in the environment variable ``KAM_DUCKDB`` (JSON, e.g.
``{"memory_limit": "6GB", "threads": 2}``). ``kam`` sets it from ``data.duckdb`` in ``kam.yaml``, so the
report's notebook kernels inherit it. Without settings DuckDB's defaults apply (80% of RAM, all cores).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

ENV = "KAM_DUCKDB"
SETTINGS = ("memory_limit", "threads", "temp_directory", "max_temp_directory_size")


def settings() -> dict:
    """The DuckDB settings from ``KAM_DUCKDB`` ({} when unset)."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{ENV} must be a JSON object of DuckDB settings, got {text!r}: {e}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{ENV} must be a JSON object of DuckDB settings, got {text!r}")
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise ValueError(f"{ENV}: unknown setting(s) {unknown}; allowed: {', '.join(SETTINGS)}")
    return {k: v for k, v in values.items() if v is not None}


def connect(database: str | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory when ``database`` is None) with :func:`settings` applied."""
    con = duckdb.connect(database or ":memory:", read_only=read_only)
    for key, value in settings().items():
        try:
            con.execute(f"SET {key} = ?", [value])
        except duckdb.Error as e:
            con.close()
            raise ValueError(f"DuckDB setting {key} = {value!r} ({ENV}): {e}") from None
    return con


def remove_database(path: str | Path) -> None:
    """Delete a DuckDB file and its write-ahead log (a stale log would be replayed into a new file)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
