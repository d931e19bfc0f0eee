"""ERP exports read exactly as they say, or refused with the cause and the fix (issue 36): each test builds
the export a Kingdee / Yonyou / SAP-via-Excel user would have from the small book's clean files and checks
that it loads to the clean book's numbers, or is refused naming the lines and the kam.yaml key that fixes it."""
import datetime as dt
import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kamlib.data.loading import load_dataset
from kamlib.data.schema import DataValidationError

from conftest import TODAY

MONTH_END = "2026-09-30"


def _load(folder, **kw):
    kw.setdefault("analysis_date", MONTH_END)
    return load_dataset(folder, today=TODAY, future_rows="exclude", **kw)


def _revenue(ds) -> pd.Series:
    """Revenue of the loaded order lines in file order."""
    return ds.con.execute("SELECT revenue FROM transactions").df()["revenue"]


@pytest.fixture
def book(small_dir, tmp_path):
    """A writable copy of the small book, its transactions as text, and the clean revenue loaded."""
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    tx = pd.read_csv(data / "transactions.csv", dtype=str, keep_default_na=False)
    return data, tx, _revenue(_load(small_dir))


# --- 1. revenue is net of VAT ---------------------------------------------------------------------------

def _yonyou(tx: pd.DataFrame, *, net=True, tax=True, gross=True) -> pd.DataFrame:
    """Transactions as Yonyou exports them: 无税金额 (net), 税额 (13% VAT), 含税金额 (gross)."""
    out = tx.drop(columns="revenue")
    r = pd.to_numeric(tx["revenue"])
    vat = (r * 0.13).round(2)
    if net:
        out["无税金额"] = r
    if tax:
        out["税额"] = vat
    if gross:
        out["含税金额"] = (r + vat).round(2)
    return out


def test_net_amount_is_revenue_and_the_tax_inclusive_column_is_not(book):
    data, tx, clean = book
    _yonyou(tx).to_csv(data / "transactions.csv", index=False, encoding="gbk")
    np.testing.assert_allclose(_revenue(_load(data)), clean)


def test_a_tax_inclusive_amount_alone_is_refused_with_the_fix(book):
    data, tx, _ = book
    _yonyou(tx, net=False, tax=False).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"'含税金额' holds amounts including VAT.*"
                                                  r"data.revenue_includes_tax: true.*data.vat_rate"):
        _load(data)


def test_tax_inclusive_revenue_is_made_net_with_the_vat_column_or_the_rate(book):
    data, tx, clean = book
    _yonyou(tx, net=False).to_csv(data / "transactions.csv", index=False)
    ds = _load(data, revenue_includes_tax=True)
    np.testing.assert_allclose(_revenue(ds), clean, atol=1e-6)
    adj = pd.DataFrame(ds.quality.adjustments)
    assert "the VAT column (税额) subtracted" in adj["reason"].iloc[0]
    _yonyou(tx, net=False, tax=False).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match="no VAT column .* set data.vat_rate"):
        _load(data, revenue_includes_tax=True)
    ds = _load(data, revenue_includes_tax=True, vat_rate=0.13)
    np.testing.assert_allclose(_revenue(ds), clean, atol=0.01)      # gross rounded to cents, then divided


def test_two_revenue_columns_are_an_error_naming_both_and_the_choice(book):
    data, tx, _ = book
    both = _yonyou(tx, tax=False, gross=False)
    both["销售额"] = both["无税金额"]
    both.to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"columns '无税金额' and '销售额' could both be 'revenue'; choose one "
                                                  r"in kam.yaml \(data.columns: \{transactions: \{无税金额: revenue\}\}\)"):
        _load(data)
    ds = _load(data, columns={"transactions": {"销售额": "revenue"}})       # the user's choice
    assert ds.has("transactions")


def test_a_mapping_onto_a_name_the_file_has_is_an_error_not_a_traceback(book, capsys):
    from kamlib.cli import main
    data, tx, _ = book
    tx.assign(销售额=tx["revenue"]).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match="could both be 'revenue'; remove or rename one"):
        _load(data)
    with pytest.raises(DataValidationError, match="are both read as 'revenue': data.columns in kam.yaml maps a column "
                                                  "onto a name the file already has"):
        _load(data, columns={"transactions": {"销售额": "revenue"}})
    (data.parent / "kam.yaml").write_text("data:\n  columns: {transactions: {销售额: revenue}}\n", encoding="utf-8")
    assert main(["validate", "--config", str(data.parent / "kam.yaml"), "--data", str(data), "--month", "2026-09",
                 "--out", str(data.parent / "r")]) == 2
    assert "Traceback" not in capsys.readouterr().err


# --- 7. rows that are not orders -------------------------------------------------------------------------

def test_subtotal_and_total_rows_are_left_out_and_counted(book):
    data, tx, clean = book
    rows, subtotals = [], 0.0
    for i, line in tx.iterrows():
        rows.append(line.to_dict())
        if i % 50 == 49:        # a 小计 line repeating date and category, as a 序时簿 writes it
            total = pd.to_numeric(tx["revenue"].iloc[i - 49:i + 1]).sum()
            rows.append({**line.to_dict(), "account_id": "小计", "order_id": "", "revenue": f"{total:.2f}",
                         "gross_margin": "0"})
            subtotals += total
    grand = pd.to_numeric(tx["revenue"]).sum()
    rows.append({c: "" for c in tx.columns} | {"account_id": "合计:", "revenue": f"{grand:.2f}"})
    pd.DataFrame(rows).to_csv(data / "transactions.csv", index=False)
    ds = _load(data)
    np.testing.assert_allclose(_revenue(ds), clean)
    ex = ds.quality.exclusions_table().set_index("reason")
    row = ex.loc["subtotal or total row (小计 / 合计 / 总计)"]
    assert row["rows"] == len(tx) // 50 + 1 and row["amount"] == pytest.approx(subtotals + grand)
    assert ds.quality.rows_read["transactions"] == len(rows)


def test_returns_marked_by_business_type_are_returns_whatever_their_sign(book):
    data, tx, clean = book
    returns = pd.DataFrame({**tx.iloc[:40].to_dict("list"), "order_id": [f"R{i}" for i in range(40)]})
    marked = pd.concat([tx.assign(业务类型="普通销售"), returns.assign(业务类型=["销售退货", "红字发票"] * 20)])
    marked.to_csv(data / "transactions.csv", index=False)      # positive amounts, marked 退货 / 红字
    ds = _load(data)
    np.testing.assert_allclose(_revenue(ds), clean)
    ex = ds.quality.exclusions_table().set_index("reason")
    counted = ex.loc["return (marked 退货 / 红字 in its business type)"]
    in_month = pd.to_datetime(returns["order_date"]) <= MONTH_END
    assert counted["rows"] == in_month.sum()
    assert counted["amount"] == pytest.approx(pd.to_numeric(returns["revenue"])[in_month].sum())


# --- 8. duplicates are identical file lines ---------------------------------------------------------------

def test_lines_that_differ_only_in_columns_kamlib_does_not_read_are_not_duplicates(book):
    data, tx, clean = book
    tx = tx.assign(行号=range(1, len(tx) + 1), 物料编码="M-1")
    twice = tx.iloc[:30].assign(行号=lambda f: f["行号"] + 100_000)       # same order line, another line number
    again = tx.iloc[30:50]                                                # exported twice exactly
    pd.concat([tx, twice, again]).to_csv(data / "transactions.csv", index=False)
    ds = _load(data)
    ex = ds.quality.exclusions_table().set_index("reason")
    in_month = (pd.to_datetime(again["order_date"]) <= MONTH_END) & (pd.to_numeric(again["revenue"]) > 0)
    assert ex.loc["order line repeated exactly (duplicate)", "rows"] == in_month.sum()
    assert len(_revenue(ds)) == len(clean) + ((pd.to_datetime(twice["order_date"]) <= MONTH_END)
                                              & (pd.to_numeric(twice["revenue"]) > 0)).sum()


# --- 9. a header-only optional table is missing -----------------------------------------------------------

def test_a_header_only_optional_table_is_not_available_with_its_reason(book):
    from kamlib.analysis import segmentation
    data, _, _ = book
    pd.read_csv(data / "interactions.csv").head(0).to_csv(data / "interactions.csv", index=False)
    ds = _load(data)
    assert not ds.has("interactions") and "interactions" not in ds.quality.rows_read
    assert any(n["table"] == "interactions" and "the file has no rows" in n["note"] for n in ds.quality.notes)
    metrics = segmentation.account_frame(ds).metrics()
    assert metrics["service_compliance_rate"] is None           # not available, never 0.0%
