"""Loading and validation: each bad input gives an error naming the file, column and rows."""
import pandas as pd
import pytest

from kamlib import DataValidationError, load_dataset
from kamlib.data.dates import DateArgumentError
from conftest import TODAY, tiny_accounts, write_tables


def tiny_tx():
    return pd.DataFrame({"account_id": ["A1", "A1", "A2", "A3"],
                         "order_date": ["2025-01-15", "2025-06-01", "2025-03-01", "2026-02-10"],
                         "revenue": [100.0, 200.0, 50.0, 80.0], "gross_margin": [20.0, 50.0, 5.0, 8.0],
                         "product_category": ["x"] * 4})


def load(folder, **kw):
    kw.setdefault("today", TODAY)
    kw.setdefault("analysis_date", "2026-10-31")
    return load_dataset(folder, **kw)


def test_valid_tiny_book_loads(tmp_path):
    ds = load(write_tables(tmp_path, accounts=tiny_accounts(), transactions=tiny_tx()))
    assert len(ds.accounts) == 3 and len(ds.transactions) == 4
    assert ds.transactions["revenue"].sum() == 430.0
    assert not ds.has("costs") and ds.costs is None
    assert ds.quality.rows_read == {"accounts": 3, "transactions": 4}
    assert ds.quality.rows_excluded == 0


def test_missing_column_names_file_and_column(tmp_path):
    write_tables(tmp_path, accounts=tiny_accounts().drop(columns="tier"), transactions=tiny_tx())
    with pytest.raises(DataValidationError, match=r"accounts\.csv: column 'tier': missing column\(s\) tier"):
        load(tmp_path)


def test_missing_margin_and_cost(tmp_path):
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tiny_tx().drop(columns="gross_margin"))
    with pytest.raises(DataValidationError, match=r"gross_margin \(or cost\)"):
        load(tmp_path)


def test_cost_column_gives_margin(tmp_path):
    tx = tiny_tx().drop(columns="gross_margin").assign(cost=[80.0, 150.0, 45.0, 72.0])
    ds = load(write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx))
    assert ds.transactions["gross_margin"].tolist() == [20.0, 50.0, 5.0, 8.0]


def test_unparsable_date_names_line(tmp_path):
    tx = tiny_tx()
    tx.loc[2, "order_date"] = "2025-02-30"
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx)
    with pytest.raises(DataValidationError) as e:
        load(tmp_path)
    msg = str(e.value)
    assert "transactions.csv" in msg and "'order_date'" in msg and "line 4: '2025-02-30'" in msg
    assert e.value.rows == [4]


def test_non_numeric_amount(tmp_path):
    tx = tiny_tx().astype({"revenue": object})
    tx.loc[1, "revenue"] = "12,5O"
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx)
    with pytest.raises(DataValidationError, match=r"column 'revenue': 1 row\(s\) are not numbers \(.*decimal comma.*\) \(line 3: '12,5O'\)"):
        load(tmp_path)


def test_duplicate_account_ids(tmp_path):
    acc = tiny_accounts(ids=("A1", "A2", "A1"))
    write_tables(tmp_path, accounts=acc, transactions=tiny_tx().iloc[:3])
    with pytest.raises(DataValidationError, match=r"column 'account_id': 2 row\(s\) repeat an id .*line 2: 'A1', line 4: 'A1'"):
        load(tmp_path)


def test_unknown_account_in_transactions(tmp_path):
    tx = tiny_tx()
    tx.loc[3, "account_id"] = "ZZ9"
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx)
    with pytest.raises(DataValidationError, match=r"transactions.csv: column 'account_id': 1 row\(s\) refer to accounts that are not in the accounts table \(line 5: 'ZZ9'\)"):
        load(tmp_path)


def test_value_outside_allowed_set(tmp_path):
    acc = tiny_accounts()
    acc.loc[0, "enterprise_type"] = "cooperative"
    write_tables(tmp_path, accounts=acc, transactions=tiny_tx())
    with pytest.raises(DataValidationError, match=r"enterprise_type'.*allowed set.*'cooperative'"):
        load(tmp_path)


def test_missing_value_in_required_column(tmp_path):
    tx = tiny_tx()
    tx.loc[0, "account_id"] = None
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx)
    with pytest.raises(DataValidationError, match=r"'account_id': 1 row\(s\) have no value \(line 2"):
        load(tmp_path)


def test_dates_after_analysis_date_error_by_default(tmp_path):
    tx = tiny_tx().iloc[:3].copy()
    tx.loc[1, "order_date"] = "2026-01-05"
    write_tables(tmp_path, accounts=tiny_accounts().iloc[:2], transactions=tx)
    # the strict date reader refuses the argument before any file is blamed, and names the way out
    with pytest.raises(DateArgumentError, match=r"analysis_date=2025-12-31 is before the last order \(2026-01-05\).*future_rows='exclude'"):
        load(tmp_path, analysis_date="2025-12-31", future_rows="error")


def test_accounts_acquired_after_analysis_date_error(tmp_path):
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tiny_tx().iloc[:3])   # orders up to the date
    with pytest.raises(DataValidationError, match=r"accounts.csv: column 'acquired_on'.*line 4: '2026-02-10'"):
        load(tmp_path, analysis_date="2025-12-31", future_rows="error")


def test_dates_after_analysis_date_excluded_and_counted_in_backfill(tmp_path):
    acc = tiny_accounts()
    acc.loc[0, "churned_on"] = "2026-01-20"
    write_tables(tmp_path, accounts=acc, transactions=tiny_tx())
    ds = load(tmp_path, analysis_date="2025-12-31", future_rows="exclude")
    ex = ds.quality.exclusions_table()
    assert set(ds.accounts["account_id"]) == {"A1", "A2"}
    assert len(ds.transactions) == 3
    tx_row = ex[(ex.table == "transactions")].iloc[0]
    assert tx_row["rows"] == 1 and tx_row["amount"] == 80.0 and "after the analysis date" in tx_row["reason"]
    assert ds.accounts["churned_on"].isna().all()
    assert ds.quality.adjustments[0]["values"] == 1


def test_dates_after_today_always_error(tmp_path):
    tx = tiny_tx()
    tx.loc[0, "order_date"] = "2099-01-15"
    write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx)
    with pytest.raises(DataValidationError, match=r"dated after today \(2026-11-23\); a typo\? \(line 2: '2099-01-15'\)"):
        load(tmp_path, future_rows="exclude")


def test_returns_and_zero_revenue_excluded_and_counted(tmp_path):
    tx = pd.concat([tiny_tx(), pd.DataFrame({
        "account_id": ["A1", "A2", "A2"], "order_date": ["2025-06-05", "2025-03-02", "2025-03-03"],
        "revenue": [-200.0, 0.0, -10.0], "gross_margin": [-50.0, 0.0, -1.0], "product_category": ["x"] * 3})])
    ds = load(write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx))
    ex = ds.quality.exclusions_table().set_index("reason")
    assert ex.loc["return (negative revenue)", "rows"] == 2
    assert ex.loc["return (negative revenue)", "amount"] == -210.0
    assert ex.loc["zero revenue", "rows"] == 1
    assert ds.quality.summary().loc["transactions"].tolist() == [7, 3, 4]
    assert (ds.transactions["revenue"] > 0).all()


def test_parquet_input(tmp_path):
    tiny_accounts().to_parquet(tmp_path / "accounts.parquet")
    tx = tiny_tx()
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx.to_parquet(tmp_path / "transactions.parquet")
    ds = load(tmp_path)
    assert len(ds.transactions) == 4
    assert ds.transactions["order_date"].dtype.kind == "M"


def test_parquet_error_names_row(tmp_path):
    tiny_accounts().to_parquet(tmp_path / "accounts.parquet")
    tx = tiny_tx()
    tx.loc[1, "order_date"] = "not a date"
    tx.to_parquet(tmp_path / "transactions.parquet")
    with pytest.raises(DataValidationError, match=r"transactions.parquet: column 'order_date'.*row 2: 'not a date'"):
        load(tmp_path)


def test_parquet_null_number_and_blank_text_name_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    tiny_accounts().to_parquet(tmp_path / "accounts.parquet")
    tx = pa.Table.from_pandas(tiny_tx(), preserve_index=False)
    tx = tx.set_column(2, "revenue", pa.array([100.0, None, 50.0, 80.0]))
    pq.write_table(tx, tmp_path / "transactions.parquet")
    with pytest.raises(DataValidationError, match=r"column 'revenue': 1 row\(s\) have no value \(row 2: empty\)"):
        load(tmp_path)
    tx = pa.Table.from_pandas(tiny_tx().assign(product_category=["x", "x", "  ", "x"]), preserve_index=False)
    pq.write_table(tx, tmp_path / "transactions.parquet")
    with pytest.raises(DataValidationError, match=r"column 'product_category': 1 row\(s\) have no value \(row 3: empty\)"):
        load(tmp_path)


@pytest.mark.parametrize("with_exclusions", [False, True])
def test_large_file_keeps_file_order(tmp_path, with_exclusions):
    """Many row groups read in parallel: the loaded table is in file order, with and without excluded rows."""
    import numpy as np
    n = 400_000
    rng = np.random.default_rng(3)
    revenue = np.arange(1, n + 1, dtype=float)
    if with_exclusions:
        revenue[rng.choice(n, 1000, replace=False)] = 0.0
    tx = pd.DataFrame({"account_id": rng.choice(["A1", "A2", "A3"], n),
                       "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
                       "revenue": revenue, "gross_margin": 1.0, "product_category": "x"})
    tiny_accounts(acquired=("2024-01-15",) * 3).to_parquet(tmp_path / "accounts.parquet")   # orders after
    tx.to_parquet(tmp_path / "transactions.parquet", row_group_size=20_000)
    ds = load(tmp_path)
    assert ds.quality.rows_excluded == (1000 if with_exclusions else 0)
    np.testing.assert_array_equal(ds.transactions["revenue"].to_numpy(), revenue[revenue > 0])


def test_missing_required_table(tmp_path):
    write_tables(tmp_path, accounts=tiny_accounts())
    with pytest.raises(DataValidationError, match="required table 'transactions' not found"):
        load(tmp_path)


def test_default_analysis_date_is_end_of_last_month(tmp_path):
    ds = load_dataset(write_tables(tmp_path, accounts=tiny_accounts(), transactions=tiny_tx()), today=TODAY)
    assert ds.analysis_date == pd.Timestamp("2026-02-28")


def test_default_analysis_date_reads_the_users_order_date_column(tmp_path):
    folder = write_tables(tmp_path, accounts=tiny_accounts(),
                          transactions=tiny_tx().rename(columns={"order_date": "order_dt"}))
    ds = load_dataset(folder, today=TODAY, columns={"transactions": {"order_dt": "order_date"}})
    assert ds.analysis_date == pd.Timestamp("2026-02-28")
    with pytest.raises(DataValidationError, match=r"transactions.*missing column 'order_date' \(the order date\)"):
        load_dataset(folder, today=TODAY)


def test_fingerprint_changes_with_content(tmp_path):
    a = load(write_tables(tmp_path / "a", accounts=tiny_accounts(), transactions=tiny_tx()))
    tx = tiny_tx()
    tx.loc[0, "revenue"] = 101.0
    b = load(write_tables(tmp_path / "b", accounts=tiny_accounts(), transactions=tx))
    assert a.fingerprint != b.fingerprint and len(a.fingerprint) == 16
