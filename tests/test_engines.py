"""The same aggregation expressions on PostgreSQL and Spark give what DuckDB gives, and validation runs as
queries on the source."""
import numpy as np
import pandas as pd
import pytest

from kamlib.data import aggregate as agg
from kamlib.analysis import overview
from kamlib.data.loading import load_dataset
from kamlib.analysis.rfm import rfm_summary
from kamlib.data.schema import DataValidationError

from conftest import TODAY
from engines import PostgresServer, pg_bin

MONTH_END = "2026-09-30"


def summaries(ds):
    """Everything the notebooks compute from order lines, as pandas frames."""
    tx = ds.table("transactions")
    out = {
        "rfm": rfm_summary(tx, observation_end=MONTH_END, calibration_end="2025-09-30"),
        "monthly": agg.execute(agg.monthly_by_account(tx, end=MONTH_END)).sort_values(["account_id", "month"]),
        "window": agg.execute(agg.window_by_account(tx, start="2025-10-01", end=MONTH_END)).sort_values("account_id"),
        "last": agg.execute(agg.last_order_by_account(tx, end=MONTH_END)).sort_values("account_id"),
    }
    return {k: v.reset_index(drop=k != "rfm") for k, v in out.items()}


def assert_same(a: dict, b: dict) -> None:
    for key in a:
        x, y = a[key], b[key]
        assert list(x.columns) == list(y.columns), key
        for c in x.columns:
            if pd.api.types.is_numeric_dtype(x[c]):
                np.testing.assert_allclose(x[c].to_numpy(float), y[c].to_numpy(float), rtol=1e-9, err_msg=f"{key}.{c}")
            else:
                assert (pd.to_datetime(x[c]) == pd.to_datetime(y[c])).all() if "date" in c or c in (
                    "month", "last_order", "first_order", "last_purchase") else (x[c].astype(str) == y[c].astype(str)).all(), f"{key}.{c}"


@pytest.fixture(scope="module")
def duck(small_dir):
    return load_dataset(small_dir, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory, small_dir):
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package 'postgresql'; `make system-deps`)")
    server = PostgresServer().start()
    server.load_folder(small_dir, rename={"transactions": "orders", "account_id": "cust_no"})
    yield server
    server.stop()


def test_postgres_gives_the_same_numbers(postgres, duck):
    ds = load_dataset(postgres.url(), analysis_date=MONTH_END, today=TODAY, future_rows="exclude",
                      tables={"transactions": "orders"},
                      columns={name: {"cust_no": "account_id"} for name in
                               ("accounts", "transactions", "costs", "interactions", "opportunities", "payments",
                                "contacts", "tier_changes")})
    assert ds.con is None and ds.source.startswith("postgresql://postgres@")
    assert ds.quality.rows_read == duck.quality.rows_read
    assert ds.quality.exclusions_table()[["table", "reason", "rows"]].equals(
        duck.quality.exclusions_table()[["table", "reason", "rows"]])
    assert_same(summaries(duck), summaries(ds))
    assert overview.book_summary(ds)["revenue_12m"] == pytest.approx(overview.book_summary(duck)["revenue_12m"])


def test_postgres_validation_names_table_column_and_rows(postgres):
    import psycopg
    with psycopg.connect(postgres.url(), autocommit=True) as con:
        con.execute("CREATE DATABASE bad")
    postgres.load_folder(duck_dir(), db="bad")
    with psycopg.connect(postgres.url("bad"), autocommit=True) as con:
        con.execute("UPDATE transactions SET account_id = 'NOPE' WHERE ctid IN (SELECT ctid FROM transactions LIMIT 2)")
    with pytest.raises(DataValidationError, match=r"transactions: column 'account_id': 2 row\(s\) refer to "
                                                  r"accounts that are not in the accounts table \(e.g. \['NOPE'\]\)"):
        load_dataset(postgres.url("bad"), analysis_date=MONTH_END, today=TODAY, future_rows="exclude")


_DIR = {}


def duck_dir():
    return _DIR["small"]


@pytest.fixture(autouse=True)
def _remember(small_dir):
    _DIR["small"] = small_dir


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    import shutil
    if shutil.which("java") is None:
        pytest.skip("Java not found (Debian package 'openjdk-17-jre-headless'; `make system-deps`)")
    pyspark = pytest.importorskip("pyspark")
    session = (pyspark.sql.SparkSession.builder.master("local[2]").appName("kamlib-tests")
               .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
               .getOrCreate())
    yield session
    session.stop()


def test_spark_gives_the_same_numbers(spark, small_dir, duck):
    import ibis

    from kamlib.data.sources import load_from_backend
    for name in ("accounts", "transactions", "costs", "interactions", "opportunities", "payments", "contacts",
                 "tier_changes"):
        df = pd.read_csv(small_dir / f"{name}.csv", dtype={"phone": str})
        for c in df.columns:
            if c in ("acquired_on", "churned_on", "won_back_on", "order_date", "period", "date", "created_on",
                     "closed_on", "invoice_date", "due_date", "paid_date"):
                df[c] = pd.to_datetime(df[c]).dt.date
        spark.createDataFrame(df.astype(object).where(df.notna(), None)).createOrReplaceTempView(name)
    ds = load_from_backend(ibis.pyspark.connect(spark), analysis_date=MONTH_END, today=TODAY,
                           future_rows="exclude", label="spark")
    assert ds.quality.rows_read == duck.quality.rows_read
    assert_same(summaries(duck), summaries(ds))


def test_report_from_postgres_with_mapping(postgres, tmp_path):
    """The monthly batch reads a warehouse through kam.yaml: table and column names mapped, nothing copied."""
    import json

    from kamlib.cli import main
    (tmp_path / "kam.yaml").write_text(
        f"data:\n  source: {postgres.url()}\n  tables: {{transactions: orders}}\n"
        "  columns: {accounts: {cust_no: account_id}, transactions: {cust_no: account_id}, "
        "costs: {cust_no: account_id}, interactions: {cust_no: account_id}, "
        "opportunities: {cust_no: account_id}, payments: {cust_no: account_id}, "
        "contacts: {cust_no: account_id}, tier_changes: {cust_no: account_id}}\n")
    out = tmp_path / "r"
    assert main(["report", "--config", str(tmp_path / "kam.yaml"), "--month", "2026-09", "--out", str(out),
                 "--quiet", "--today", TODAY, "--notebooks", "01_account_overview"]) == 0
    run = json.loads((out / "2026-09" / "run.json").read_text())
    assert run["parameters"]["data_dir"].startswith("postgresql://")
    assert json.loads((out / "2026-09" / "metrics.json").read_text())["metrics"]["revenue_12m"] > 0


def test_rows_of_many_accounts_are_the_rows_of_an_in_list(small_dir, monkeypatch):
    """of_accounts semi-joins an in-memory table of the accounts above IN_LIST_LIMIT: the same rows as the IN list."""
    ds = load_dataset(small_dir, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    ids = sorted(ds.accounts["account_id"])[::3] + ["NOT-AN-ACCOUNT"]
    tx = ds.table("transactions")

    def rows(limit):
        monkeypatch.setattr(agg, "IN_LIST_LIMIT", limit)
        return agg.of_accounts(tx, ids).execute().sort_values(["account_id", "order_date", "revenue"]).reset_index(drop=True)

    by_list, by_join = rows(10**9), rows(0)
    assert len(by_list) > 0 and set(by_list["account_id"]) < set(ids)
    pd.testing.assert_frame_equal(by_list, by_join)
