"""Benchmark: the aggregation layer on 1M / 10M / 100M generated order lines (Parquet), in DuckDB, against a
pandas group-by on the same data where it fits, and on PostgreSQL and Spark.

    python benchmarks/aggregate_scale.py [--sizes 1000000 10000000 100000000]
                                         [--engines duckdb duckdb_table pandas] [--lines-per-order 1]

Each measurement runs in a fresh subprocess so peak memory (max RSS) is its own; the engines' results are
compared (sizes and sums) and the run stops if they disagree. PostgreSQL / Spark: engine_timings.py.
Targets (issue 8): 100M lines under 60 s on 2 cores and under 8 GiB; DuckDB >= 10x faster than pandas at 10M.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from order_lines import dates, draw_lines  # noqa: E402

CHUNK = 5_000_000
END = "2025-12-31"


def generate(path: Path, n: int, lines_per_order: float = 1, seed: int = 0) -> Path:
    """n order lines for n/50 accounts over 4 years (:func:`order_lines.draw_lines`), written in chunks (row
    groups) to a Parquet folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    accounts = max(n // 50, 10)
    for i, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        account, day, _ = draw_lines(rng, m, n_accounts=accounts, n_days=1460, lines_per_order=lines_per_order)
        t = pa.table({"account_id": pa.array(account).cast(pa.string()), "order_date": pa.array(dates(day)),
                      "revenue": rng.gamma(2.0, 500.0, m), "gross_margin": rng.gamma(2.0, 100.0, m)})
        pq.write_table(t, path / f"part-{i:04d}.parquet")
    return path


def _checksums(rfm: pd.DataFrame, monthly: pd.DataFrame, window: pd.DataFrame) -> dict:
    """Sizes and sums of the three results, compared across engines (same data, same numbers)."""
    return {"accounts": len(rfm), "purchase_days": int(rfm["frequency"].sum()) + len(rfm),
            "repeat_value": float((rfm["monetary_value"] * rfm["frequency"]).sum()),
            "months": len(monthly), "active_account_months": int(monthly["active_accounts"].sum()),
            "window_accounts": len(window), "window_revenue": float(window["revenue"].sum())}


def run_duckdb(path: str, source: str = "parquet") -> dict:
    """The aggregation layer in DuckDB on the Parquet files (read inside each query), or on a DuckDB table
    loaded from them first (``source="table"``: the product path, ``kam report`` loads once and aggregates
    from its snapshot)."""
    import ibis

    from kamlib.data import aggregate as agg, engine
    from kamlib.analysis.rfm import rfm_summary
    con = engine.connect()     # kamlib's connection: the settings in KAM_DUCKDB (see measure)
    backend = ibis.duckdb.from_connection(con)
    out = {}
    if source == "table":
        t = time.perf_counter()
        con.execute(f"CREATE TABLE tx AS SELECT * FROM read_parquet('{path}/*.parquet')")
        out["read_s"] = time.perf_counter() - t
        tx = backend.table("tx")
    else:
        tx = backend.read_parquet(f"{path}/*.parquet")
    t = time.perf_counter()
    rfm = rfm_summary(tx, observation_end=END, time_unit="W")
    t_rfm = time.perf_counter() - t
    t = time.perf_counter()
    monthly = agg.execute(agg.monthly_totals(tx, end=END))
    t_monthly = time.perf_counter() - t
    t = time.perf_counter()
    window = agg.execute(agg.window_by_account(tx, start="2025-01-01", end=END))
    t_window = time.perf_counter() - t
    return {**out, "rfm_s": t_rfm, "monthly_s": t_monthly, "window_s": t_window,
            **_checksums(rfm, monthly, window)}


def run_duckdb_table(path: str) -> dict:
    return run_duckdb(path, source="table")


def run_pandas(path: str) -> dict:
    """The same aggregates with pandas group-bys on a frame read beforehand (``read_s``), written as a
    competent pandas user would: one sorted (account, day) group-by, so each account's first group is its
    first purchase day (no separate sort of the 10M-row frame)."""
    t = time.perf_counter()
    df = pd.read_parquet(path)
    df["order_date"] = pd.to_datetime(df["order_date"])
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    sub = df[df["order_date"] <= END]
    days = (sub.assign(day=sub["order_date"].dt.normalize())
            .groupby(["account_id", "day"], sort=True)["revenue"].sum().reset_index())
    g = days.groupby("account_id", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()   # pandas equivalent of rfm_summary
    total, first_value = g["revenue"].sum(), g["revenue"].first()
    rfm = pd.DataFrame({"frequency": n - 1, "recency": (last - first).dt.days / 7,
                        "T": (pd.Timestamp(END) - first).dt.days / 7,
                        "monetary_value": ((total - first_value) / (n - 1)).where(n > 1, 0.0)})
    t_rfm = time.perf_counter() - t
    t = time.perf_counter()
    monthly = sub.groupby(sub["order_date"].dt.to_period("M")).agg(
        revenue=("revenue", "sum"), gross_margin=("gross_margin", "sum"), active_accounts=("account_id", "nunique"))
    t_monthly = time.perf_counter() - t
    t = time.perf_counter()
    w = df[df["order_date"].between("2025-01-01", END)]
    window = w.groupby("account_id").agg(revenue=("revenue", "sum"), gross_margin=("gross_margin", "sum"),
                                         lines=("revenue", "size"), last_order=("order_date", "max"))
    t_window = time.perf_counter() - t
    return {"read_s": t_read, "rfm_s": t_rfm, "monthly_s": t_monthly, "window_s": t_window,
            **_checksums(rfm, monthly, window)}


def in_subprocess(module: str, function: str, *args, env: dict | None = None) -> dict:
    """Call ``function(*args)`` of ``benchmarks/<module>.py`` in a fresh process, so peak memory (max RSS,
    ``peak_mib``) is its own; returns its result dict, or ``{"error": ...}``."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"from {module} import {function}; r = {function}(*{args!r}); "
            "r['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(engine: str, path: Path, threads: int | None = None) -> dict:
    """Run one engine in a subprocess; returns its timings and peak memory. DuckDB runs with a 6 GB memory
    limit and ``threads`` threads (None: kamlib's default, see kamlib.data.engine.MIN_THREADS)."""
    from kamlib.config import DuckDBConfig
    env = os.environ | DuckDBConfig(memory_limit="6GB", threads=threads).environment()
    return in_subprocess("aggregate_scale", f"run_{engine}", str(path), env=env)


def check_agreement(table: pd.DataFrame) -> None:
    """Stop when engines return different results (checksums of ``_checksums``) for the same data."""
    check = [c for c in ("accounts", "purchase_days", "repeat_value", "months", "active_account_months",
                         "window_accounts", "window_revenue") if c in table]
    for n, runs in table.dropna(subset=check).groupby("lines"):
        spread = (runs[check].max() - runs[check].min()).abs() / runs[check].abs().max().clip(lower=1)
        if (spread > 1e-9).any():
            raise SystemExit(f"engines disagree at {n:,} lines:\n{runs[['engine', *check]].to_string()}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000, 100_000_000])
    p.add_argument("--engines", nargs="*", default=["duckdb", "duckdb_table", "pandas"],
                   help="duckdb (Parquet read in each query), duckdb_table (loaded first), pandas")
    p.add_argument("--pandas-max", type=int, default=10_000_000, help="largest size given to pandas")
    p.add_argument("--lines-per-order", type=float, default=1,
                   help="average order lines per order (1 = every line its own purchase day, the worst case)")
    p.add_argument("--threads", type=int, nargs="*", default=[None],
                   help="DuckDB threads to compare (default: kamlib's default)")
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            t = time.perf_counter()
            path = generate(Path(tmp) / f"tx{n}", n, a.lines_per_order)
            print(f"generated {n:,} lines in {time.perf_counter() - t:.0f} s", flush=True)
            for engine in a.engines:
                if engine == "pandas" and n > a.pandas_max:
                    continue
                for threads in (a.threads if engine != "pandas" else [None]):
                    r = measure(engine, path, threads)
                    name = engine + (f"_{threads}threads" if threads and len(a.threads) > 1 else "")
                    rows.append({"lines": n, "lines_per_order": a.lines_per_order, "engine": name, **r})
                    print(pd.DataFrame(rows).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    check_agreement(table)
    if "pandas" in set(table["engine"]) and len(set(table["engine"])) > 1:
        # pandas reads the files once beforehand; DuckDB either reads them inside each query ("duckdb") or
        # from a table loaded beforehand ("duckdb_table"). Ratios: group-by only, and pandas' read added.
        w = table.pivot(index="lines", columns="engine", values="rfm_s")
        read = table[table["engine"] == "pandas"].set_index("lines")["read_s"]
        ratio = pd.DataFrame({f"{e}{how}": (w["pandas"] + add) / w[e]
                              for e in w.columns if e != "pandas"
                              for how, add in (("_group_by_only", 0), ("_pandas_read_added", read))})
        print("\nrfm_summary speed-up over pandas:\n" + ratio.dropna().round(1).to_string())


if __name__ == "__main__":
    main()
