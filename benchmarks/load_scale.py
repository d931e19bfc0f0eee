"""Benchmark: loading and validating a folder of order lines (kamlib.load_dataset), in memory and straight
into a DuckDB file (what `kam report` does), and a DuckDB-file source validated in place.

    python benchmarks/load_scale.py [--sizes 10000000 100000000] [--formats parquet csv] [--memory-limit 5GB]

Lines: 5 per order on average over the 2,000 bundled sample accounts and 4.7 years. Each measurement runs
in a fresh subprocess, so peak memory (max RSS) is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from aggregate_scale import in_subprocess  # noqa: E402
from order_lines import dates, draw_lines  # noqa: E402
CHUNK = 5_000_000
ANALYSIS_DATE, TODAY = "2026-08-31", "2026-11-23"


def generate(folder: Path, n: int, fmt: str, seed: int = 0) -> Path:
    """accounts.csv (the bundled sample's) and n transaction lines as one Parquet or CSV file."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_csv(ROOT / "data/sample/accounts.csv")
    first = pd.Timestamp(dates(np.array([0]))[0])       # lines start here: accounts acquired by then (an order
    accounts["acquired_on"] = pd.to_datetime(accounts["acquired_on"]).clip(upper=first).dt.date  # before it is an error)
    accounts.to_csv(folder / "accounts.csv", index=False)
    ids = accounts["account_id"].to_numpy().astype(str)
    rng = np.random.default_rng(seed)
    categories = np.array(["bearings", "hydraulics", "fasteners"])
    pq_path = folder / "transactions.parquet"
    with pq.ParquetWriter(pq_path, pa.schema([("order_id", pa.string()), ("account_id", pa.string()),
                                              ("order_date", pa.date32()), ("product_category", pa.string()),
                                              ("revenue", pa.float64()), ("gross_margin", pa.float64()),
                                              ("discount", pa.float64())])) as w:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            account, day, order = draw_lines(rng, m, n_accounts=len(ids), n_days=1700, lines_per_order=5)
            revenue = rng.gamma(2.0, 500.0, m)
            w.write_table(pa.table({
                "order_id": pa.array(order + start).cast(pa.string()), "account_id": pa.array(ids[account]),
                "order_date": pa.array(dates(day)).cast(pa.date32()),
                "product_category": pa.array(categories[rng.integers(0, 3, m)]),
                "revenue": revenue, "gross_margin": revenue * rng.uniform(0.05, 0.4, m),   # margin below revenue
                "discount": rng.uniform(0, 0.2, m)}))
    if fmt == "csv":
        duckdb.connect().execute(f"COPY (SELECT * FROM '{pq_path}') TO '{folder / 'transactions.csv'}' (HEADER)")
        pq_path.unlink()
    return folder


def run_load(source: str, database: str | None) -> dict:
    from kamlib.data.loading import load_dataset
    t = time.perf_counter()
    ds = load_dataset(source, analysis_date=ANALYSIS_DATE, today=TODAY, database=database, future_rows="exclude")
    return {"load_s": round(time.perf_counter() - t, 1), "lines": ds.quality.rows_read["transactions"]}


def measure(source: Path, database: Path | None, memory_limit: str | None = None) -> dict:
    env = dict(os.environ)
    if memory_limit:
        env["KAM_DUCKDB"] = json.dumps({"memory_limit": memory_limit})
    r = in_subprocess("load_scale", "run_load", str(source), None if database is None else str(database), env=env)
    if "peak_mib" in r:
        r["peak_gib"] = round(r.pop("peak_mib") / 1024, 1)
    return r


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000_000, 100_000_000])
    p.add_argument("--formats", nargs="*", default=["parquet", "csv"], choices=["parquet", "csv"])
    p.add_argument("--in-memory-max", type=int, default=100_000_000,
                   help="largest size also loaded in memory (100M lines need ~14 GiB)")
    p.add_argument("--memory-limit", help="DuckDB memory limit for the loads, e.g. 5GB (default: DuckDB's)")
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            for fmt in a.formats:
                folder = generate(Path(tmp) / f"{fmt}{n}", n, fmt)
                db = Path(tmp) / "work.duckdb"
                modes = [("folder, in memory", None)] if n <= a.in_memory_max else []
                modes.append(("folder, into a DuckDB file", db))
                for mode, database in modes:
                    rows.append({"lines": n, "format": fmt, "mode": mode,
                                 **measure(folder, database, a.memory_limit)})
                    print(pd.DataFrame(rows).to_string(index=False), flush=True)
                if fmt == "parquet":   # the finished file as a source: validated in place, nothing copied
                    db.unlink(missing_ok=True)
                    import duckdb
                    con = duckdb.connect(str(db))
                    con.execute(f"CREATE TABLE transactions AS SELECT * FROM '{folder / 'transactions.parquet'}'")
                    con.execute(f"CREATE TABLE accounts AS SELECT * FROM read_csv('{folder / 'accounts.csv'}')")
                    con.close()
                    rows.append({"lines": n, "format": "duckdb", "mode": "DuckDB file source", **measure(db, None)})
                    print(pd.DataFrame(rows).to_string(index=False), flush=True)
                db.unlink(missing_ok=True)
    print("\n" + pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
