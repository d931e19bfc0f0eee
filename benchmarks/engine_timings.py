"""Benchmark: the same aggregation expressions on PostgreSQL and Spark (local mode) at 10M order lines.

    python benchmarks/engine_timings.py [--lines 10000000]

Starts a throw-away PostgreSQL server (Debian binaries, as the tests do) and a local Spark session; loads
generated lines (COPY into PostgreSQL, Parquet for Spark) and times rfm_summary, monthly totals and the
12-month window per account. Loading time is reported separately.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from aggregate_scale import END, generate  # noqa: E402

from kamlib.data import aggregate as agg  # noqa: E402
from kamlib.analysis.rfm import rfm_summary  # noqa: E402


def time_queries(tx) -> dict:
    out = {}
    for name, fn in (("rfm_s", lambda: rfm_summary(tx, observation_end=END, time_unit="W")),
                     ("monthly_s", lambda: agg.execute(agg.monthly_totals(tx, end=END))),
                     ("window_s", lambda: agg.execute(agg.window_by_account(tx, start="2025-01-01", end=END)))):
        t = time.perf_counter()
        fn()
        out[name] = round(time.perf_counter() - t, 2)
    return out


def postgres(path: Path) -> dict:
    import ibis
    import psycopg
    from engines import PostgresServer, pg_bin
    if pg_bin() is None:
        return {"engine": "postgres", "error": "PostgreSQL binaries not installed"}
    server = PostgresServer().start()
    try:
        t = time.perf_counter()
        with psycopg.connect(server.url(), autocommit=True) as con:
            con.execute("CREATE TABLE transactions (account_id TEXT, order_date DATE, revenue DOUBLE PRECISION, "
                        "gross_margin DOUBLE PRECISION)")
            for part in sorted(path.glob("*.parquet")):
                df = pd.read_parquet(part)
                with con.cursor().copy("COPY transactions FROM STDIN WITH (FORMAT csv)") as cp:
                    cp.write(df.to_csv(header=False, index=False).encode())
            con.execute("ANALYZE transactions")
        load = time.perf_counter() - t
        tx = ibis.connect(server.url()).table("transactions")
        return {"engine": "postgres", "load_s": round(load, 1), **time_queries(tx)}
    finally:
        server.stop()


def spark(path: Path) -> dict:
    import ibis
    from pyspark.sql import SparkSession
    warehouse = tempfile.mkdtemp(prefix="spark-warehouse-")   # not a spark-warehouse/ in the working dir
    session = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "8").config("spark.driver.memory", "4g")
               .config("spark.sql.warehouse.dir", warehouse).getOrCreate())
    try:
        t = time.perf_counter()
        session.read.parquet(str(path)).createOrReplaceTempView("transactions")
        load = time.perf_counter() - t
        tx = ibis.pyspark.connect(session).table("transactions")
        return {"engine": "spark", "load_s": round(load, 1), **time_queries(tx)}
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)


def duckdb_run(path: Path) -> dict:
    import ibis

    from kamlib.data import engine
    tx = ibis.duckdb.from_connection(engine.connect()).read_parquet(f"{path}/*.parquet")
    return {"engine": "duckdb", "load_s": 0.0, **time_queries(tx)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=10_000_000)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp) / "tx", a.lines)
        rows = []
        for fn in (duckdb_run, postgres, spark):
            rows.append(fn(path))
            print(pd.DataFrame(rows).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
