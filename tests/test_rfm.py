"""rfm_summary: the published CDNOW summary, hand-computed cases, and the calibration/holdout split."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis.rfm import rfm_summary
from conftest import ROOT


def cdnow_transactions() -> pd.DataFrame:
    raw = pd.read_csv(ROOT / "data/cdnow/CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["orig", "account_id", "date", "cds", "revenue"])
    raw["order_date"] = pd.to_datetime(raw["date"].astype(str))
    return raw


def test_cdnow_summary_equals_published_file():
    s = rfm_summary(cdnow_transactions(), observation_end="1998-06-30", calibration_end="1997-09-30")
    pub = pd.read_csv(ROOT / "data/cdnow/cdnow_customers_summary_with_transactions.csv").set_index("ID")
    assert len(s) == len(pub) == 2357
    s = s.loc[pub.index]
    assert (s["frequency"] == pub["x"]).all()
    # the published file rounds to 2 decimals
    assert np.abs(s["recency"] - pub["t_x"]).max() <= 0.005 + 1e-9
    assert np.abs(s["T"] - pub["T"]).max() <= 0.005 + 1e-9
    assert np.abs(s["monetary_value"] - pub["zbar"]).max() <= 0.005 + 1e-6
    assert (s["duration_holdout"] == 39.0).all()
    assert s["frequency_holdout"].sum() > 0


def test_hand_computed_case():
    tx = pd.DataFrame({
        "account_id": ["a", "a", "a", "a", "b", "c"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-02-12", "2024-01-08",
                                      "2024-03-10"]),
        "revenue": [10.0, 5.0, 30.0, 50.0, 7.0, 99.0]})
    s = rfm_summary(tx, observation_end="2024-02-26")
    assert list(s.index) == ["a", "b"]          # c bought after the end
    a = s.loc["a"]
    assert a["frequency"] == 2                   # same-day purchases collapse; first is not a repeat
    assert a["recency"] == pytest.approx(6.0)    # 42 days
    assert a["T"] == pytest.approx(8.0)          # 56 days
    assert a["monetary_value"] == pytest.approx(40.0)
    b = s.loc["b"]
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    assert b["T"] == pytest.approx(7.0)
    d = rfm_summary(tx, observation_end="2024-02-26", time_unit="D")
    assert d.loc["a", "T"] == 56.0


def test_holdout_columns():
    tx = pd.DataFrame({"account_id": ["a", "a", "a", "a", "b"],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-05", "2024-02-20",
                                                     "2024-02-10"]),
                       "revenue": [1.0, 2.0, 3.0, 5.0, 9.0]})
    s = rfm_summary(tx, observation_end="2024-03-01", calibration_end="2024-01-31", time_unit="D")
    assert list(s.index) == ["a"]                # b first bought in the holdout
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "frequency_holdout"] == 2
    assert s.loc["a", "monetary_value_holdout"] == 4.0
    assert s.loc["a", "duration_holdout"] == 30.0


def test_weekly_collapse():
    tx = pd.DataFrame({"account_id": ["a"] * 3,
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-10"]),
                       "revenue": [1.0, 2.0, 4.0]})
    s = rfm_summary(tx, observation_end="2024-01-31", collapse="W")
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "monetary_value"] == 4.0


def test_bad_arguments():
    tx = pd.DataFrame({"account_id": ["a"], "order_date": pd.to_datetime(["2024-01-01"]), "revenue": [1.0]})
    with pytest.raises(KeyError, match="value"):
        rfm_summary(tx, observation_end="2024-02-01", value_col="value")
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(tx, observation_end="2024-02-01", time_unit="fortnight")
    with pytest.raises(ValueError, match="after observation_end"):
        rfm_summary(tx, observation_end="2024-02-01", calibration_end="2024-03-01")


def test_numeric_account_ids_are_aggregated_without_hashing():
    # kamlib.data.engine.PERFECT_HASH_BITS: ids spanning 100,000 values need 17 bits, above DuckDB's default of 12,
    # so a plain connection hashes them and kamlib's indexes an array (half the time of the per-account step)
    import duckdb
    import ibis

    from kamlib.data import aggregate as agg, engine
    tx = pd.DataFrame({"account_id": [0, 99_999, 99_999, 5], "revenue": [1.0, 2.0, 3.0, 4.0],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-09", "2024-01-03"])})

    def per_account_plan(con) -> str:
        con.register("tx_frame", tx)
        con.execute("CREATE TABLE tx AS SELECT * FROM tx_frame")   # a table has the min/max statistics
        sql = ibis.to_sql(agg.rfm_expr(ibis.duckdb.from_connection(con).table("tx"), end="2024-01-31"),
                          dialect="duckdb")
        return con.execute("EXPLAIN " + sql).fetchall()[0][1]
    assert "Perfect Hash Group By" not in per_account_plan(duckdb.connect())
    assert "Perfect Hash Group By" in per_account_plan(engine.connect())
    s = rfm_summary(tx, observation_end="2024-01-31", time_unit="D")
    assert s.loc[99_999, "frequency"] == 1 and s.loc[99_999, "monetary_value"] == 3.0
