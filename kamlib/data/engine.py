"""DuckDB connections with the user's engine settings (memory limit, threads, spill directory).

Every DuckDB connection kamlib opens (loading files, snapshots, DuckDB-file sources) comes from
:func:`connect`, which applies the settings in the environment variable ``KAM_DUCKDB`` (JSON, e.g.
``{"memory_limit": "6GB", "threads": 2}``). ``kam`` sets it from ``data.duckdb`` in ``kam.yaml``, so the
report's notebook kernels inherit it. Without settings DuckDB's defaults apply (80% of RAM, all cores), except
that kamlib runs at least :data:`MIN_THREADS` threads (see there), keeps DuckDB's progress bar off
(:data:`PROGRESS_BAR`), lets it aggregate small integer keys without hashing (:data:`PERFECT_HASH_BITS`) and
return freed memory to the system (:data:`ALLOCATOR_BACKGROUND_THREADS`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd

ENV = "KAM_DUCKDB"
SETTINGS = ("memory_limit", "threads", "temp_directory", "max_temp_directory_size", "enable_progress_bar")

#: DuckDB's progress bar (queries over 2 s) unless the user turns it on: off, because in a notebook kernel it
#: is a widget that papermill saves into the notebook and nbconvert renders into the report as
#: "FloatProgress(...)" text; the report runner shows its own progress.
PROGRESS_BAR = False

#: Fewest DuckDB threads kamlib runs when the user sets none. With 2 threads or fewer DuckDB's hash aggregation
#: grows one hash table per thread instead of radix-partitioning the groups, which is slow when nearly every
#: row is its own group — the (account, day) group-by behind rfm_summary. On a 2-core machine 3 threads make
#: rfm_summary ~35% and monthly totals ~40% faster at 10M order lines (benchmarks/aggregate_scale.py).
MIN_THREADS = 3

#: DuckDB aggregates by direct array indexing instead of hashing ("perfect hash group-by") when the group keys
#: are integers spanning at most 2**bits values; DuckDB's default is 12 bits (4,096 values). kamlib allows 20
#: bits (1,048,576 values, a few MB per thread), so books with numeric account ids up to that range get it for
#: every per-account group-by: the per-account step of rfm_summary takes half the time at 200k accounts.
PERFECT_HASH_BITS = 20

#: DuckDB's allocator (jemalloc) keeps the memory a query freed — a hash aggregate's tables, the Arrow
#: buffers of a result — for reuse, so each process of a batch would hold the peak of its largest query.
#: Background threads return it to the system within seconds: after grouping 10M order lines by account and
#: day, a process holds ~0.4 GiB less (kamlib runs several processes side by side in a batch).
ALLOCATOR_BACKGROUND_THREADS = True


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
    chosen = settings()
    if "threads" not in chosen and con.execute("SELECT current_setting('threads')").fetchone()[0] < MIN_THREADS:
        chosen["threads"] = MIN_THREADS
    chosen.setdefault("enable_progress_bar", PROGRESS_BAR)
    chosen["perfect_ht_threshold"] = PERFECT_HASH_BITS
    chosen["allocator_background_threads"] = ALLOCATOR_BACKGROUND_THREADS
    for key, value in chosen.items():
        try:
            con.execute(f"SET {key} = ?", [value])
        except duckdb.Error as e:
            con.close()
            raise ValueError(f"DuckDB setting {key} = {value!r} ({ENV}): {e}") from None
    return con


_LOCAL = None


def local_backend():
    """The Ibis DuckDB backend (one per process, with :func:`settings`) that runs expressions over in-memory
    tables only, e.g. ``rfm_summary`` of a pandas frame."""
    global _LOCAL
    if _LOCAL is None:
        import ibis
        _LOCAL = ibis.duckdb.from_connection(connect())
    return _LOCAL


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """The rows of ``sql`` as pandas, with the dtypes DuckDB's ``.df()`` gives (dates as ``datetime64[us]``,
    decimals as floats, integers and booleans with nulls as pandas' nullable types), fetched through Arrow:
    text columns then become pandas strings straight from Arrow's buffers instead of one Python object per
    value — for 16.5M interactions 0.6 s and a 1.3 GiB peak instead of 5.8 s and 4.8 GiB."""
    import pyarrow as pa
    cursor = con.cursor()            # its own results: ``con`` may hold an unfinished one from execute()
    try:
        cursor.execute("SET enable_progress_bar = ?", [settings().get("enable_progress_bar", PROGRESS_BAR)])
        table = cursor.sql(sql, params=params).to_arrow_table()
    finally:
        cursor.close()
    out = {}
    for name, column in zip(table.column_names, table.columns):
        typ = column.type
        if pa.types.is_decimal(typ):
            column, typ = column.cast(pa.float64()), pa.float64()
        if column.null_count and (pa.types.is_integer(typ) or pa.types.is_boolean(typ)):
            out[name] = column.to_pandas(types_mapper=_NULLABLE.get)
        elif pa.types.is_date(typ):
            out[name] = column.to_pandas(date_as_object=False).astype("datetime64[us]")
        else:
            out[name] = column.to_pandas()
    return pd.DataFrame(out, columns=table.column_names)


def _nullable_types() -> dict:
    import pyarrow as pa
    ints = {getattr(pa, f"{s}int{b}")(): getattr(pd, f"{s.upper()}Int{b}Dtype")()
            for s in ("", "u") for b in (8, 16, 32, 64)}
    return {**ints, pa.bool_(): pd.BooleanDtype()}


_NULLABLE = _nullable_types()


def remove_database(path: str | Path) -> None:
    """Delete a DuckDB file and its write-ahead log (a stale log would be replayed into a new file)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
