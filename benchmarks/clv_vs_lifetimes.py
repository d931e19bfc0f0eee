"""Benchmark: kamlib CLV fits and rfm_summary against the `lifetimes` package (run in its own venv).

    python benchmarks/clv_vs_lifetimes.py [--sizes 10000 100000 1000000] [--tx-sizes 1000000 10000000]

The lifetimes venv is created on first use in benchmarks/.lifetimes-venv (lifetimes needs pandas<2 and
numpy<1.25). Prints fit time, parameter agreement (max relative difference) and the speed-up ratio.
Targets (issue 4): fits >= 10x faster at 1M accounts, estimates within 1e-3; rfm_summary >= 20x at 10M lines
(timed on two order-line shapes: every line its own purchase day, and 5 lines per order).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.models import BGNBD, ParetoNBD
from kamlib.models.simulate import simulate_bgnbd
from kamlib.analysis.rfm import rfm_summary

HERE = Path(__file__).resolve().parent
VENV = HERE / ".lifetimes-venv"
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from order_lines import dates, draw_lines  # noqa: E402


def lifetimes_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print("creating the lifetimes venv (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "lifetimes==0.11.3", "pandas<2", "numpy<1.25",
                        "scipy<1.12"], check=True)
    return py


def run_lifetimes(*args) -> dict:
    out = subprocess.run([str(lifetimes_python()), str(HERE / "lifetimes_worker.py"), *map(str, args)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cdnow() -> pd.DataFrame:
    d = pd.read_csv(ROOT / "data/cdnow/cdnow_customers_summary_with_transactions.csv")
    return pd.DataFrame({"frequency": d["x"].to_numpy(), "recency": d["t_x"].to_numpy(), "T": d["T"].to_numpy()})


def simulated(n: int, seed: int = 0) -> pd.DataFrame:
    """Weekly summaries with daily resolution, like a real rfm_summary (days / 7)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(26 * 7, 104 * 7, n) / 7
    sim = simulate_bgnbd(T, r=0.243, alpha=4.414, a=0.793, b=2.426, rng=rng)
    sim["recency"] = np.floor(sim["recency"] * 7) / 7
    return sim[["frequency", "recency", "T"]]


def bench_fit(name: str, rfm: pd.DataFrame, model: str, skip_lifetimes: bool) -> dict:
    cls = {"bgnbd": BGNBD, "paretonbd": ParetoNBD}[model]
    t = time.perf_counter()
    res = cls().fit(rfm)
    ours = time.perf_counter() - t
    row = {"data": name, "accounts": len(rfm), "model": model, "kamlib_s": round(ours, 3)}
    if not skip_lifetimes:
        with tempfile.NamedTemporaryFile(suffix=".npz") as f:
            np.savez(f.name, **{c: rfm[c].to_numpy(float) for c in ("frequency", "recency", "T")})
            lt = run_lifetimes("fit", model, f.name)
        # lifetimes orders parameters r, alpha, a, b / r, alpha, s, beta like the papers
        rel = np.max(np.abs(np.array(lt["params"]) - res.params.to_numpy()) / res.params.to_numpy())
        row |= {"lifetimes_s": round(lt["seconds"], 3), "speedup": round(lt["seconds"] / ours, 1),
                "max_rel_param_diff": float(f"{rel:.2e}")}
    return row


def order_lines(n_lines: int, lines_per_order: float, ids: str = "int", seed: int = 1) -> pd.DataFrame:
    """``n_lines`` order lines of n_lines / 50 accounts over 1,400 days (:func:`order_lines.draw_lines`); account
    ids are integers (``ids="int"``, as in lifetimes' examples) or text such as ``KA0001234`` (``"text"``)."""
    rng = np.random.default_rng(seed)
    account, day, _ = draw_lines(rng, n_lines, n_accounts=max(n_lines // 50, 10), n_days=1400,
                                 lines_per_order=lines_per_order)
    if ids == "text":
        account = np.char.add("KA", np.char.zfill(account.astype(str), 7)).astype(object)
    return pd.DataFrame({"account_id": account, "order_date": dates(day), "revenue": rng.gamma(2.0, 500.0, n_lines)})


def bench_rfm(n_lines: int, lines_per_order: float, ids: str, skip_lifetimes: bool) -> dict:
    """rfm_summary vs lifetimes' summary_data_from_transaction_data, same outputs (frequency, recency, T and
    monetary value). kamlib is timed on the order lines as a Parquet file (read inside the query) and as a
    DuckDB table (loaded beforehand, as ``kam report`` does; lifetimes also gets its frame loaded beforehand).
    Both sides are warmed up on a tiny input first, so one-off import and compilation costs are not counted.
    Integer account ids let DuckDB aggregate per account without hashing (kamlib.data.engine.PERFECT_HASH_BITS)."""
    import ibis

    from kamlib.data import engine
    tx = order_lines(n_lines, lines_per_order, ids)
    end = "2025-11-30"
    with tempfile.TemporaryDirectory() as tmp:
        pq = Path(tmp) / "tx.parquet"
        tx.to_parquet(pq)
        con = ibis.duckdb.from_connection(engine.connect())      # kamlib's connection and settings
        rfm_summary(tx.head(1000), observation_end=end, time_unit="D")
        con.raw_sql(f"CREATE TABLE tx AS SELECT * FROM read_parquet('{pq}')")
        seconds, results = {}, []
        for source, table in (("parquet", con.read_parquet(str(pq))), ("table", con.table("tx"))):
            t = time.perf_counter()
            results.append(rfm_summary(table, observation_end=end, time_unit="D"))
            seconds[source] = time.perf_counter() - t
        ours = results[0]
        pd.testing.assert_frame_equal(ours, results[1])
        row = {"transactions": n_lines, "lines_per_order": lines_per_order, "ids": ids,
               "purchase_days": int(ours["frequency"].sum() + len(ours)), "accounts": len(ours),
               "kamlib_parquet_s": round(seconds["parquet"], 3), "kamlib_table_s": round(seconds["table"], 3)}
        if not skip_lifetimes:
            csv = Path(tmp) / "tx.csv"
            tx.to_csv(csv, index=False)
            lt = run_lifetimes("rfm", csv, end)
            assert lt["rows"] == len(ours) and abs(lt["frequency_sum"] - ours["frequency"].sum()) < 1e-6
            assert abs(lt["monetary_sum"] - ours["monetary_value"].sum()) < 1e-6 * lt["monetary_sum"]
            row |= {"lifetimes_s": round(lt["seconds"], 3),
                    "speedup_parquet": round(lt["seconds"] / seconds["parquet"], 1),
                    "speedup_table": round(lt["seconds"] / seconds["table"], 1)}
    return row


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--tx-sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    p.add_argument("--lines-per-order", type=float, nargs="*", default=[1, 5],
                   help="order-line shapes for rfm_summary (1 = every line its own purchase day)")
    p.add_argument("--ids", nargs="*", default=["int", "text"], choices=["int", "text"],
                   help="account id types for rfm_summary")
    p.add_argument("--models", nargs="*", default=["bgnbd", "paretonbd"])
    p.add_argument("--no-lifetimes", action="store_true", help="time kamlib only")
    a = p.parse_args(argv)
    rows = [bench_fit("CDNOW", cdnow(), m, a.no_lifetimes) for m in a.models]
    for n in a.sizes:
        data = simulated(n)
        rows += [bench_fit("simulated", data, m, a.no_lifetimes) for m in a.models]
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    fits = pd.DataFrame(rows)
    rfm_rows = []
    for n in a.tx_sizes:
        for k in a.lines_per_order:
            for ids in a.ids:
                rfm_rows.append(bench_rfm(n, k, ids, a.no_lifetimes))
                print(rfm_rows[-1], flush=True)
    print("\nModel fits\n" + fits.to_string(index=False))
    print("\nrfm_summary\n" + pd.DataFrame(rfm_rows).to_string(index=False))


if __name__ == "__main__":
    main()
