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


def test_subtotal_rows_in_any_case_and_none_when_no_cell_could_be_one():
    import duckdb

    from kamlib.data import exports
    con = duckdb.connect()
    con.execute("CREATE TABLE t (name VARCHAR, amount VARCHAR, n INTEGER)")
    con.execute("INSERT INTO t VALUES ('Acme', '1', 1), ('Total Petroleum 华东', '2', 2), (NULL, '3', 3)")
    assert exports.subtotal_rows(con, "t") is not None      # 'Total' in a name: checked in full, not a total row
    assert con.execute(f"SELECT count(*) FROM t WHERE {exports.subtotal_rows(con, 't')}").fetchall()[0][0] == 0
    con.execute("INSERT INTO t VALUES (' Grand TOTAL ', '6', 4), ('SubTotal:', '3', 5), ('本页小计', '3', 6)")
    found = con.execute(f"SELECT n FROM t WHERE {exports.subtotal_rows(con, 't')} ORDER BY n").fetchall()
    assert [r[0] for r in found] == [4, 5, 6]
    assert all("total" in w for w in exports.SUBTOTAL_WORDS)    # what the first, cheap scan looks for
    con.execute("DELETE FROM t WHERE n >= 2")
    assert exports.subtotal_rows(con, "t") is None
    con.execute("CREATE TABLE numbers (n INTEGER)")
    assert exports.subtotal_rows(con, "numbers") is None


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


# --- 3. sheets, files and the month they cover -------------------------------------------------------------

def _sheet(book: openpyxl.Workbook, title: str, frame: pd.DataFrame, hidden=False):
    ws = book.create_sheet(title)
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append(list(row))
    if hidden:
        ws.sheet_state = "hidden"
    return ws


def test_hidden_sheets_are_not_read_unless_named(book):
    data, tx, clean = book
    (data / "transactions.csv").unlink()
    old = tx[tx["order_date"] <= "2026-06-30"]
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "transactions", old, hidden=True)          # an old copy, hidden, named like the table
    _sheet(wb, "transactions (2)", tx)                    # the export to read
    wb.save(data / "销售数据.xlsx")
    ds = _load(data)
    np.testing.assert_allclose(_revenue(ds), clean)
    assert any("hidden sheet 'transactions' not read" in n["note"] for n in ds.quality.notes)
    named = _load(data, tables={"transactions": "transactions"}, analysis_date="2026-06-30")
    assert len(_revenue(named)) < len(clean)             # named in data.tables: read


def test_a_hidden_first_sheet_of_a_tables_own_workbook_is_skipped(book):
    data, tx, clean = book
    (data / "transactions.csv").unlink()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "old", tx[tx["order_date"] <= "2026-06-30"], hidden=True)
    _sheet(wb, "Sheet1", tx)
    wb.save(data / "transactions.xlsx")
    np.testing.assert_allclose(_revenue(_load(data)), clean)


def test_look_alike_files_are_refused_naming_them_with_dates_and_rows(book):
    data, tx, _ = book
    tx.to_csv(data / "transactions (1).csv", index=False)
    with pytest.raises(DataValidationError, match=r"2 files or sheets could be this table: transactions \(1\).csv "
                                                  rf"\(saved [-0-9: ]+, {len(tx):,} rows\); transactions.csv .*keep one"):
        _load(data)


def test_files_that_match_no_table_are_listed(book):
    data, _, _ = book
    pd.DataFrame({"a": [1]}).to_excel(data / "回款.xlsx", index=False)
    ds = _load(data)
    assert any(n["note"].startswith("回款.xlsx: matches no table, not read") for n in ds.quality.notes)


def test_an_analysis_month_the_data_do_not_cover_is_refused_naming_the_last_order(book):
    data, tx, _ = book
    tx[tx["order_date"] <= "2026-06-30"].to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"does not cover the analysis month 2026-09: order lines 2026-07: 0, "
                                                  r"2026-08: 0, 2026-09: 0.*the data end on 2026-06-30.*"
                                                  r"data.month_coverage: false"):
        _load(data, for_report=True)
    assert _load(data, for_report=True, month_coverage=False).analysis_date == pd.Timestamp(MONTH_END)
    _load(data, for_report=True, analysis_date="2026-06-30")          # a month the data cover


# --- 4. dates -------------------------------------------------------------------------------------------

def test_two_digit_years_and_years_before_1990_are_refused_naming_the_lines(book):
    data, tx, _ = book
    tx.loc[3, "order_date"] = "26-01-05"
    tx.loc[8, "order_date"] = "22/1/1"
    tx.loc[10, "order_date"] = "1026-03-01"
    tx.to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        _load(data)
    text = str(caught.value)
    assert "2 row(s) have a two-digit year" in text and "line 5: '26-01-05'" in text and "line 10: '22/1/1'" in text
    assert "format the column in Excel as a date with a four-digit year" in text
    assert "1 row(s) are dated before 1990" in text and "line 12: '1026-03-01'" in text and "data.min_year" in text


def test_the_minimum_year_is_a_setting(book):
    data, _, _ = book
    acc = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False)
    acc.loc[0, "acquired_on"] = "1985-03-01"
    acc.to_csv(data / "accounts.csv", index=False)
    with pytest.raises(DataValidationError, match=r"accounts.csv: column 'acquired_on': 1 row\(s\) are dated before 1990"):
        _load(data)
    assert _load(data, min_year=1980).has("accounts")


def test_orders_before_their_accounts_acquisition_are_errors_naming_the_lines(book):
    data, tx, _ = book
    acc = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False).set_index("account_id")
    first = tx.index[0]
    tx.loc[first, "order_date"] = str((pd.Timestamp(acc.loc[tx.loc[first, "account_id"], "acquired_on"])
                                       - pd.Timedelta(days=3)).date())
    tx.to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=rf"1 row\(s\) are dated before their account was acquired.*"
                                                  rf"\(line {first + 2}: "):
        _load(data)


def test_excel_serial_numbers_in_a_text_date_column_are_read_as_dates(book):
    data, tx, clean = book
    dates = "SELECT order_date FROM transactions"
    expected = _load(data).con.execute(dates).df()["order_date"]
    serial = (pd.to_datetime(tx["order_date"]) - pd.Timestamp("1899-12-30")).dt.days.astype(str)
    tx["order_date"] = tx["order_date"].where(tx.index % 3 > 0, serial)
    tx.to_csv(data / "transactions.csv", index=False)
    ds = _load(data)
    np.testing.assert_allclose(_revenue(ds), clean)
    pd.testing.assert_series_equal(ds.con.execute(dates).df()["order_date"], expected)
    adj = pd.DataFrame(ds.quality.adjustments).set_index("reason")
    assert adj.loc["Excel serial numbers read as dates", "values"] == (tx.index % 3 == 0).sum()


# --- 2. units and 6. scales ------------------------------------------------------------------------------

def test_amounts_in_wan_yuan_are_scaled_from_the_header_or_the_setting(book):
    data, tx, clean = book
    wan = tx.assign(revenue=pd.to_numeric(tx["revenue"]) / 10_000,
                    gross_margin=pd.to_numeric(tx["gross_margin"]) / 10_000)
    wan.rename(columns={"revenue": "销售额（万元）", "gross_margin": "毛利(万元)"}).to_csv(data / "transactions.csv",
                                                                                   index=False)
    ds = _load(data)
    np.testing.assert_allclose(_revenue(ds), clean, atol=0.006)
    adj = pd.DataFrame(ds.quality.adjustments).query("table == 'transactions'")
    assert set(adj["reason"]) == {"amounts in 万元 multiplied by 10,000"} and set(adj["column"]) == {"revenue",
                                                                                                  "gross_margin"}
    wan.to_csv(data / "transactions.csv", index=False)
    ds = _load(data, units={"transactions": {"revenue": "万元", "gross_margin": "万元"}})
    np.testing.assert_allclose(_revenue(ds), clean, atol=0.006)


def _discounts(ds) -> pd.Series:
    return ds.con.execute("SELECT discount FROM transactions").df()["discount"]


def test_discounts_in_percent_are_refused_unless_the_setting_or_the_header_says_so(book):
    data, tx, _ = book
    clean = _discounts(_load(data))
    d = pd.to_numeric(tx["discount"].replace("", None))
    tx.assign(discount=(d * 100).round(6)).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"column 'discount': \d+ row\(s\) are above 1.*data.discount in "
                                                  r"kam.yaml: percent"):
        _load(data)
    np.testing.assert_allclose(_discounts(_load(data, discount="percent")), clean)
    tx.assign(discount=(d * 100).round(6)).rename(columns={"discount": "折扣率(%)"}).to_csv(
        data / "transactions.csv", index=False)
    np.testing.assert_allclose(_discounts(_load(data)), clean)


def test_price_ratios_are_refused_unless_the_setting_says_so(book):
    data, tx, _ = book
    clean = _discounts(_load(data))
    d = pd.to_numeric(tx["discount"].replace("", None))
    tx.assign(discount=(1 - d).round(10)).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"look like price ratios.*data.discount in kam.yaml"):
        _load(data)
    np.testing.assert_allclose(_discounts(_load(data, discount="price_ratio")), clean, atol=1e-9)


def test_lines_in_another_currency_are_converted_at_the_given_rate_or_refused(book):
    data, tx, clean = book
    usd = tx.index % 20 == 0
    r = pd.to_numeric(tx["revenue"])
    m = pd.to_numeric(tx["gross_margin"])
    out = tx.assign(币别=np.where(usd, "美元", "人民币"), revenue=np.where(usd, (r / 8).round(4), r),
                    gross_margin=np.where(usd, (m / 8).round(4), m))
    out.to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"column 'currency': \d+ row\(s\) are in USD, not in the report "
                                                  r"currency CNY, and kam.yaml gives no rate: add currency_rates"):
        _load(data)
    ds = _load(data, currency_rates={"USD": 8})
    np.testing.assert_allclose(_revenue(ds), clean, atol=0.01)
    assert any(a["reason"] == "amounts in USD converted at 8 CNY per USD" for a in ds.quality.adjustments)


# --- 5. encodings ----------------------------------------------------------------------------------------

TRADITIONAL_NAMES = ["台灣精密機械股份有限公司", "香港環球貿易有限公司", "高雄鋼鐵工業", "新竹電子科技", "臺中塑膠製品廠"]


def test_big5_with_traditional_headers_reads_like_the_utf8_file(book):
    data, _, _ = book
    acc = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False)
    acc["name"] = [TRADITIONAL_NAMES[i % 5] + str(i) for i in range(len(acc))]
    acc.to_csv(data / "accounts.csv", index=False)
    names = _load(data).accounts["name"].tolist()
    acc.rename(columns={"account_id": "客戶編號", "name": "客戶名稱", "tier": "客戶級別"}).to_csv(
        data / "accounts.csv", index=False, encoding="big5")
    assert _load(data).accounts["name"].tolist() == names
    with pytest.raises(DataValidationError, match="the headers look like text in another encoding.*data.encoding"):
        _load(data, encoding="gb18030")


def test_gbk_is_still_read_as_gbk():
    from kamlib.data.readers import plausibility
    text = "客户编号,客户名称\nC1,上海宏达机械设备有限公司\n"
    assert plausibility(text) == 1.0
    assert plausibility(text.encode("gbk").decode("big5", errors="replace")) < 0.8


# --- 10. every refusal names the fix ---------------------------------------------------------------------

def test_formulas_without_saved_values_are_refused_with_the_fix(book):
    data, tx, _ = book
    (data / "transactions.csv").unlink()
    wb = openpyxl.Workbook()
    ws = _sheet(wb, "Sheet1", tx.head(50), hidden=False)
    wb.remove(wb["Sheet"])
    col = list(tx.columns).index("revenue") + 1
    ws.cell(row=5, column=col).value = "=1+1"                      # openpyxl saves formulas without values
    wb.save(data / "transactions.xlsx")
    with pytest.raises(DataValidationError, match=r"1 cell\(s\) hold a formula without a saved value \(first: cell "
                                                  r"[A-Z]+5\).*open and save it in Excel"):
        _load(data)


def test_a_csv_line_with_more_fields_than_the_header_is_named(book):
    data, tx, _ = book
    lines = (data / "transactions.csv").read_text(encoding="utf-8").splitlines()
    lines[1500] = lines[1500] + ",1,234"
    (data / "transactions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"line 1501 has \d+ fields but the header has \d+ fields.*double quotes"):
        _load(data)


def test_a_line_starting_with_a_hash_is_data_not_a_comment(book):
    data, tx, _ = book
    tx["order_id"] = "#" + tx["order_id"].astype(str)
    tx[["order_id"] + [c for c in tx.columns if c != "order_id"]].to_csv(data / "transactions.csv", index=False)
    assert _load(data).quality.rows_read["transactions"] == len(tx)


def test_ids_that_lost_their_leading_zeros_are_named_with_the_fix(book):
    data, tx, _ = book
    acc = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False)
    ids = {a: f"{i + 1:05d}" for i, a in enumerate(acc["account_id"])}
    acc.assign(account_id=acc["account_id"].map(ids)).to_csv(data / "accounts.csv", index=False)
    tx.assign(account_id=tx["account_id"].map(ids).str.lstrip("0")).to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=r"matches '0+\d+' after removing leading zeros or '.0'.*format the id "
                                                  r"column as text"):
        _load(data)


def test_title_rows_above_the_header_are_named_with_the_fix(book):
    data, tx, _ = book
    text = (data / "transactions.csv").read_text(encoding="utf-8")
    pad = "," * (len(tx.columns) - 1)
    (data / "transactions.csv").write_text(f"销售明细表{pad}\n期间：2026年{pad}\n" + text, encoding="utf-8")
    with pytest.raises(DataValidationError, match="the header seems to be on row 3 .*delete the rows above the header"):
        _load(data)


def test_a_merged_two_row_header_is_named_with_the_fix(book):
    data, tx, _ = book
    (data / "transactions.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["客户", None, "金额", None, None, None, None, None])
    ws.merge_cells("A1:B1")
    ws.merge_cells("C1:E1")
    ws.append(list(tx.columns))
    for row in tx.head(20).itertuples(index=False):
        ws.append(list(row))
    wb.save(data / "transactions.xlsx")
    with pytest.raises(DataValidationError, match="the header seems to be on row 2 .*two-row merged header"):
        _load(data)


def test_a_cover_sheet_first_names_the_sheet_read_and_the_others(book):
    data, tx, clean = book
    (data / "transactions.csv").unlink()
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    wb.active["A1"] = "2026年10月销售报表"
    _sheet(wb, "明细", tx)
    wb.save(data / "transactions.xlsx")
    with pytest.raises(DataValidationError, match=r"read sheet '封面'; the workbook also has sheet\(s\) '明细': name the "
                                                  r"sheet to read in kam.yaml \(data.tables"):
        _load(data)
    np.testing.assert_allclose(_revenue(_load(data, tables={"transactions": "明细"})), clean)


def test_unknown_codes_name_data_values(book):
    data, _, _ = book
    acc = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False)
    acc.loc[2, "tier"] = "金牌"
    acc.to_csv(data / "accounts.csv", index=False)
    with pytest.raises(DataValidationError, match="outside the allowed set.*data.values"):
        _load(data)
