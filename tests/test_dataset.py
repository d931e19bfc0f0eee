"""Snapshots: a validated data set saved to a DuckDB file and reopened without validating again."""
import duckdb
import pandas as pd
import pytest

from kamlib import DataValidationError, load_dataset, rfm_summary
from conftest import TODAY, tiny_accounts, write_tables


def book(tmp_path):
    tx = pd.DataFrame({"account_id": ["A1", "A1", "A2", "A3", "A2"],
                       "order_date": ["2025-01-15", "2025-06-01", "2025-03-01", "2026-02-10", "2025-04-01"],
                       "revenue": [100.0, 200.0, 50.0, 80.0, -20.0], "gross_margin": [20.0, 50.0, 5.0, 8.0, -4.0],
                       "product_category": ["x"] * 5})
    return write_tables(tmp_path / "data", accounts=tiny_accounts(), transactions=tx)


def assert_same(a, b):
    assert a.tables == b.tables and a.analysis_date == b.analysis_date and a.fingerprint == b.fingerprint
    assert a.quality.rows_read == b.quality.rows_read and a.quality.exclusions == b.quality.exclusions
    for name in a.tables:
        pd.testing.assert_frame_equal(a.frame(name), b.frame(name))


@pytest.mark.parametrize("in_place", [False, True])
def test_snapshot_reopens_the_same_data_set(tmp_path, in_place):
    folder, snap = book(tmp_path), tmp_path / "snap.duckdb"
    kw = dict(analysis_date="2026-10-31", today=TODAY)
    reference = load_dataset(folder, **kw)
    ds = load_dataset(folder, **kw, database=snap if in_place else None)
    assert_same(ds, reference)
    assert ds.quality.rows_excluded == 1                      # the return
    ds.save(snap)
    ds.con.close()
    again = load_dataset(snap)
    assert_same(again, reference)
    tables = {r[0] for r in again.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"accounts", "transactions", "_kam_meta"}   # no working tables left behind
    with pytest.raises(ValueError, match="is a snapshot for 2026-10-31, not 2026-09-30"):
        load_dataset(snap, analysis_date="2026-09-30")


def test_failed_load_releases_the_database_file(tmp_path):
    folder, snap = book(tmp_path), tmp_path / "snap.duckdb"
    (folder / "transactions.csv").write_text("account_id,order_date\nA1,2025-01-01\n")
    with pytest.raises(DataValidationError, match="missing column") as failure:
        load_dataset(folder, analysis_date="2026-10-31", today=TODAY, database=snap)
    snap.unlink()   # while the traceback (as in a notebook's sys.last_traceback) is still alive
    ds = load_dataset(book(tmp_path / "again"), analysis_date="2026-10-31", today=TODAY, database=snap)
    assert len(ds.transactions) == 4 and failure.traceback


def test_duckdb_settings_reach_every_connection(tmp_path, monkeypatch):
    from kamlib.data.engine import ENV
    folder, snap = book(tmp_path), tmp_path / "snap.duckdb"
    monkeypatch.setenv(ENV, '{"memory_limit": "1GB", "threads": 1}')

    def current(con):
        return con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    ds = load_dataset(folder, analysis_date="2026-10-31", today=TODAY, database=snap)
    assert current(ds.con) == ("953.6 MiB", 1)
    ds.save(snap)
    ds.con.close()
    assert current(load_dataset(snap).con) == ("953.6 MiB", 1)
    monkeypatch.setenv(ENV, '{"memory_limit": "lots"}')
    with pytest.raises(ValueError, match="DuckDB setting memory_limit = 'lots'"):
        load_dataset(folder, analysis_date="2026-10-31", today=TODAY)
    monkeypatch.setenv(ENV, '{"memroy_limit": "1GB"}')
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['memroy_limit'\]"):
        load_dataset(folder, analysis_date="2026-10-31", today=TODAY)


def test_every_kam_yaml_duckdb_setting_reaches_duckdb(tmp_path, monkeypatch):
    from kamlib.data import engine
    from kamlib.config import DuckDBConfig
    assert set(DuckDBConfig.model_fields) == set(engine.SETTINGS)
    cfg = DuckDBConfig(memory_limit="1GB", threads=1, temp_directory=str(tmp_path / "spill"),
                       max_temp_directory_size="2GB", enable_progress_bar=True)
    monkeypatch.setenv(engine.ENV, cfg.environment()[engine.ENV])
    con = engine.connect()
    got = [con.execute(f"SELECT current_setting('{k}')").fetchone()[0] for k in engine.SETTINGS]
    assert got == ["953.6 MiB", 1, str(tmp_path / "spill"), "1.8 GiB", True]


def test_duckdb_progress_bar_is_off_unless_turned_on(monkeypatch):
    # on, a query over 2 s in a notebook kernel leaves a FloatProgress widget in the saved notebook and report
    from kamlib.data import engine
    monkeypatch.delenv(engine.ENV, raising=False)
    assert not engine.connect().execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    monkeypatch.setenv(engine.ENV, '{"enable_progress_bar": true}')
    assert engine.connect().execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]


def test_kam_report_passes_duckdb_settings_from_the_config(tmp_path, monkeypatch):
    from kamlib.cli import main
    from kamlib.data.engine import ENV
    seen = {}

    def fake_run_report(**kw):
        import os
        seen["env"] = os.environ.get(ENV)
        raise SystemExit(0)
    monkeypatch.setattr("kamlib.report.runner.run_report", fake_run_report)
    monkeypatch.delenv(ENV, raising=False)
    cfg = tmp_path / "kam.yaml"
    cfg.write_text("data:\n  duckdb:\n    memory_limit: 6GB\n    threads: 2\n")
    with pytest.raises(SystemExit):
        main(["report", "--config", str(cfg), "--data", str(book(tmp_path)), "--month", "2026-10", "--quiet"])
    assert seen["env"] == '{"memory_limit": "6GB", "threads": 2}'


def test_kamlib_runs_duckdb_with_at_least_three_threads_unless_told(monkeypatch):
    # DuckDB <= 2 threads: unpartitioned hash aggregation, slow for the (account, day) group-by (engine.MIN_THREADS)
    from kamlib.data import engine
    monkeypatch.delenv(engine.ENV, raising=False)
    def threads(con):
        return con.execute("SELECT current_setting('threads')").fetchone()[0]
    assert threads(engine.connect()) == max(engine.MIN_THREADS, threads(duckdb.connect()))
    monkeypatch.setenv(engine.ENV, '{"threads": 2}')
    assert threads(engine.connect()) == 2


def test_in_memory_expressions_run_on_kamlibs_duckdb_with_its_settings(monkeypatch):
    from kamlib.data import engine
    monkeypatch.setattr(engine, "_LOCAL", None)
    monkeypatch.setenv(engine.ENV, '{"threads": 1, "memory_limit": "1GB"}')
    tx = pd.DataFrame({"account_id": ["a", "a", "b"], "revenue": [1.0, 2.0, 3.0],
                       "order_date": pd.to_datetime(["2026-01-01", "2026-01-08", "2026-01-02"])})
    rfm = rfm_summary(tx, observation_end="2026-01-31", time_unit="D")      # a pandas frame: an in-memory table
    assert rfm.loc["a", "frequency"] == 1 and rfm.loc["b", "frequency"] == 0
    con = engine._LOCAL.con
    assert con.execute("SELECT current_setting('threads'), current_setting('memory_limit')").fetchone() == (
        1, "953.6 MiB")


def test_frames_fetched_through_arrow_have_the_dtypes_and_values_duckdb_gives():
    # Dataset.frame reads tables through Arrow (faster, a third of the peak memory for text); the frames must
    # be those of DuckDB's own .df(): dates as datetime64[us], decimals as floats, nullable integers/booleans
    from kamlib.data import engine
    con = engine.connect()
    con.execute("SELECT 1").fetchone()              # an unfinished result on the connection must not matter
    sql = """SELECT * FROM (VALUES
        (1.5::DECIMAL(10,2), NULL::INTEGER, 3::INTEGER, true, NULL::BOOLEAN, TIMESTAMP '2020-01-01 10:00',
         DATE '2020-01-02', 'a', 2.5::DOUBLE, 5::UTINYINT, NULL::BIGINT),
        (2.5, 4, 5, false, true, NULL, NULL, NULL, NULL, 6, NULL)) t(d, i, j, b, nb, ts, dt, s, f, u, allnull)
        WHERE j >= ?"""
    got = engine.fetch_frame(con, sql, [0])
    pd.testing.assert_frame_equal(got, con.execute(sql, [0]).df())
    assert str(got["dt"].dtype) == "datetime64[us]" and str(got["i"].dtype) == "Int32"
    # text with no value at all stays text (DuckDB's .df() makes it object there)
    empty = engine.fetch_frame(con, "SELECT NULL::VARCHAR s, 'x' t FROM range(2) WHERE range < ?", [1])
    assert pd.api.types.is_string_dtype(empty["s"]) and empty["s"].isna().all() and empty["t"].tolist() == ["x"]


def test_interactions_of_kinds_and_dates_are_those_of_the_whole_table(tmp_path, monkeypatch):
    from kamlib.data import aggregate
    # analyses read only the interactions they need (visits of a window, complaints) from the engine; the rows
    # must be exactly those a pandas filter of the whole table gives, bounds included, one account's too
    inter = pd.DataFrame({"account_id": ["A1", "A1", "A2", "A2", "A3", "A1"],
                          "date": ["2025-12-31", "2026-01-01", "2026-01-15", "2026-01-31", "2026-02-01", "2026-01-20"],
                          "kind": ["visit", "visit", "complaint", "visit", "visit", "call"],
                          "contact_id": [None, "C1", None, None, None, None]})
    folder = book(tmp_path)
    write_tables(folder, interactions=inter)
    ds = load_dataset(folder, analysis_date="2026-10-31", today=TODAY)
    whole = ds.interactions

    def same(got, want):                                                # the same rows, in any order
        key = [c for c in ("account_id", "date", "kind") if c in want]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True))
    got = ds.interactions_of(["visit"], start="2026-01-01", end="2026-01-31")
    assert sorted(got["date"].dt.strftime("%m-%d")) == ["01-01", "01-31"]
    same(got, whole[(whole["kind"] == "visit") & whole["date"].between("2026-01-01", "2026-01-31")])
    same(ds.interactions_of(["visit", "complaint"]), whole[whole["kind"].isin(["visit", "complaint"])])
    same(ds.interactions_of(["visit"], end="2026-01-01"), whole[(whole["kind"] == "visit")
                                                                & (whole["date"] <= "2026-01-01")])
    one = ds.for_accounts(["A1"]).interactions_of(["visit"])          # a few accounts: their frame filtered
    assert one["account_id"].tolist() == ["A1", "A1"] and one["contact_id"].isna().tolist() == [True, False]
    cases = ({}, {"start": "2026-01-01", "end": "2026-01-31"}, {"columns": ["account_id", "date"]})
    two = ds.for_accounts(["A1", "A2"])
    filtered = [two.interactions_of(["visit", "call"], **kw) for kw in cases]
    assert "interactions" in two._frames
    monkeypatch.setattr(aggregate, "IN_LIST_LIMIT", 0)                  # the same rows from the engine
    for kw, want in zip(cases, filtered):
        fresh = ds.for_accounts(["A1", "A2"])
        same(fresh.interactions_of(["visit", "call"], **kw), want)
        assert "interactions" not in fresh._frames
    assert ds.interactions_of(["meeting"]).empty
    assert ds.interactions_of(["visit"], columns=["account_id", "date"]).columns.tolist() == ["account_id", "date"]
    assert load_dataset(book(tmp_path / "none"), analysis_date="2026-10-31",
                        today=TODAY).interactions_of(["visit"]) is None


def test_duckdb_gives_freed_memory_back_in_every_connection(monkeypatch):
    # each process of a batch would otherwise keep the peak of its largest query (benchmarks/batch_scale.py)
    from kamlib.data import engine
    monkeypatch.setenv(engine.ENV, '{"threads": 1}')
    assert engine.connect().execute("SELECT current_setting('allocator_background_threads')").fetchone()[0]
