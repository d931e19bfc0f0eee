"""Real data as Chinese companies export it: GBK and BOM CSV, Excel files and workbooks, Chinese headers,
codes, dates and amounts load to exactly the data set of the clean files; duplicates are counted and left
out; every problem is reported in one run; data that cannot carry a report is refused before it runs."""
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kamlib.cli import main
from kamlib.data import aliases
from kamlib.data.loading import load_dataset
from kamlib.data.schema import DataValidationError

from conftest import TODAY

MONTH_END = "2026-09-30"
TABLES = ("accounts", "transactions", "costs", "interactions", "opportunities", "payments", "contacts",
          "tier_changes")


def _chinese(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Headers and codes as a Chinese ERP writes them (the first built-in alias of each)."""
    out = frame.copy()
    for (t, column), codes in aliases.VALUES.items():
        if t == table and column in out:
            back = {}
            for theirs, ours in codes.items():
                back.setdefault(ours, theirs)
            out[column] = out[column].map(lambda v: back.get(v, v))
    names = {col: heads[0] for col, heads in aliases.HEADERS[table].items()}
    return out.rename(columns=names)


def _amounts(values: pd.Series, style: str) -> pd.Series:
    fmt = {"yuan_sign": lambda v: f"￥{v:,}", "thousands": lambda v: f"{v:,}", "yuan": lambda v: f"{v}元"}[style]
    return values.map(lambda v: fmt(v) if pd.notna(v) else "")


def _dates(values: pd.Series, style: str) -> pd.Series:
    d = pd.to_datetime(values)
    fmt = {"slash": lambda x: f"{x.year}/{x.month}/{x.day}", "chinese": lambda x: f"{x.year}年{x.month}月{x.day}日"}
    return d.map(lambda x: fmt[style](x) if pd.notna(x) else "")


def _excel(frames: dict[str, pd.DataFrame], path: Path, date_columns=()) -> None:
    """An .xlsx with one sheet per frame; ``date_columns`` become Excel date cells."""
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for sheet, frame in frames.items():
            frame = frame.copy()
            for c in date_columns:
                if c in frame:
                    frame[c] = pd.to_datetime(frame[c]).dt.date
            frame.to_excel(xl, sheet_name=sheet, index=False)


@pytest.fixture(scope="module")
def clean_and_messy(small_dir, tmp_path_factory):
    """The small book (account names in Chinese, some very long) as clean files and as a Chinese company
    would export it."""
    clean = tmp_path_factory.mktemp("clean")
    shutil.copytree(small_dir, clean, dirs_exist_ok=True)
    acc = pd.read_csv(clean / "accounts.csv", dtype=str, keep_default_na=False)
    acc["name"] = [f"上海宏达机械设备有限公司华东区域销售服务中心{i}" if i % 7 == 0 else f"华泰化工{i}号"
                   for i in range(len(acc))]
    acc.to_csv(clean / "accounts.csv", index=False)
    messy = tmp_path_factory.mktemp("exports")
    read = {t: pd.read_csv(clean / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}
    acc = _chinese("accounts", read["accounts"])
    acc["建档日期"] = _dates(acc["建档日期"], "slash")
    acc.to_csv(messy / "accounts.csv", index=False, encoding="gbk")                       # GBK, Excel's default
    tx = read["transactions"].copy()
    for c in ("revenue", "gross_margin", "discount"):
        tx[c] = pd.to_numeric(tx[c].replace("", None))
    tx = _chinese("transactions", tx)
    _excel({"Sheet1": tx}, messy / "销售明细.xlsx", date_columns=("订单日期",))           # mapped in data.tables
    costs = read["costs"].copy()
    costs["amount"] = _amounts(pd.to_numeric(costs["amount"]), "yuan_sign")
    _chinese("costs", costs).to_csv(messy / "Costs.CSV", index=False, encoding="utf-8-sig")  # BOM, capitals
    inter = read["interactions"].copy()
    inter["date"] = _dates(inter["date"], "chinese")
    _chinese("interactions", inter).to_csv(messy / "interactions.csv", index=False, encoding="gb18030")
    opp = read["opportunities"].copy()
    opp["amount"] = _amounts(pd.to_numeric(opp["amount"]), "yuan")
    pay = read["payments"].copy()
    pay["amount"] = _amounts(pd.to_numeric(pay["amount"]), "thousands")
    _excel({"opportunities": opp, "payments": pay}, messy / "回款与商机.xlsx",            # one workbook, 2 sheets
           date_columns=("created_on", "invoice_date", "due_date"))
    _chinese("contacts", read["contacts"]).to_csv(messy / "contacts.csv", index=False, encoding="gbk")
    _chinese("tier_changes", read["tier_changes"]).to_csv(messy / "tier_changes.csv", index=False, encoding="gbk")
    return clean, messy


def _tables(ds) -> dict[str, pd.DataFrame]:
    return {t: ds.con.execute(f"SELECT * FROM {t}").df().sort_values(list(ds.con.execute(
        f"SELECT * FROM {t}").df().columns)).reset_index(drop=True) for t in ds.tables}


def test_the_same_book_exported_as_chinese_files_loads_to_the_same_data(clean_and_messy):
    clean_dir, messy = clean_and_messy
    clean = load_dataset(clean_dir, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    exported = load_dataset(messy, analysis_date=MONTH_END, today=TODAY, future_rows="exclude",
                            tables={"transactions": "销售明细"})
    assert exported.tables == clean.tables == TABLES
    a, b = _tables(clean), _tables(exported)
    for t in TABLES:
        pd.testing.assert_frame_equal(a[t], b[t][a[t].columns], check_dtype=False, obj=t)
    assert exported.quality.summary().equals(clean.quality.summary())


def test_the_report_metrics_of_the_exports_equal_the_clean_files(clean_and_messy, tmp_path):
    import json
    clean_dir, messy = clean_and_messy
    (tmp_path / "kam.yaml").write_text("data:\n  tables: {transactions: 销售明细}\n", encoding="utf-8")
    got = {}
    for label, folder in (("clean", clean_dir), ("messy", messy)):
        out = tmp_path / label
        assert main(["report", "--config", str(tmp_path / "kam.yaml"), "--data", str(folder), "--month",
                     "2026-09", "--out", str(out), "--quiet", "--today", TODAY, "--jobs", "1",
                     "--notebooks", "01_account_overview", "04_segmentation_strategy"]) == 0
        got[label] = json.loads((out / "2026-09" / "metrics.json").read_text())["metrics"]
        for nb in (out / "2026-09" / "executed").glob("*.ipynb"):     # Chinese names in an English report
            text = nb.read_text(encoding="utf-8")
            assert "missing from font" not in text and '"name": "stderr"' not in text, nb.name
    # the same numbers (to the last bits a parallel sum may order differently)
    assert got["messy"].keys() == got["clean"].keys() and len(got["clean"]) >= 10
    for key, value in got["clean"].items():
        assert got["messy"][key] == (value if value is None else pytest.approx(value, rel=1e-9, abs=1e-12)), key


def test_order_lines_exported_twice_are_counted_and_left_out(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    tx = pd.read_csv(data / "transactions.csv")
    twice = tx[(tx["order_date"] <= MONTH_END) & (tx["revenue"] > 0)].sample(300, random_state=1)
    pd.concat([tx, twice]).to_csv(data / "transactions.csv", index=False)
    clean = load_dataset(small_dir, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    ex = ds.quality.exclusions_table().set_index("reason")
    assert ex.loc["order line repeated exactly (duplicate)", "rows"] == 300
    assert ex.loc["order line repeated exactly (duplicate)", "amount"] == pytest.approx(twice["revenue"].sum())
    assert _tables(ds)["transactions"].equals(_tables(clean)["transactions"])
    kept = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude", duplicates="keep")
    assert kept.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == \
        clean.con.execute("SELECT count(*) FROM transactions").fetchone()[0] + 300
    with pytest.raises(DataValidationError, match="300 row.* repeat an earlier order line exactly"):
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude", duplicates="error")


def test_four_defects_in_three_files_are_reported_at_once(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    acc = pd.read_csv(data / "accounts.csv")
    acc.loc[3, "tier"] = "Gold"
    acc.to_csv(data / "accounts.csv", index=False)
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx.loc[5, "revenue"] = "12,5"
    tx.loc[9, "order_date"] = "next week"
    tx.to_csv(data / "transactions.csv", index=False)
    costs = pd.read_csv(data / "costs.csv")
    costs.loc[2, "kind"] = None
    costs.to_csv(data / "costs.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    err = caught.value
    assert len(err.problems) == 4 and str(err).startswith("4 problems in the data")
    found = {(p.source.split("/")[-1], p.column) for p in err.problems}
    assert found == {("accounts.csv", "tier"), ("transactions.csv", "revenue"), ("transactions.csv", "order_date"),
                     ("costs.csv", "kind")}
    text = str(err)
    assert "line 5: 'Gold'" in text and "line 7: '12,5'" in text and "decimal comma" in text
    assert "line 11: 'next week'" in text and "line 4: empty" in text and "None" not in text


def test_kam_validate_lists_every_problem_and_writes_a_page(small_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    (data / "costs.xls").write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    (data / "costs.csv").unlink()
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx.loc[0, "account_id"] = "NOBODY"
    tx.to_csv(data / "transactions.csv", index=False)
    assert main(["validate", "--data", str(data), "--month", "2026-09", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "2 problems" in err and "costs.xls: is an old Excel format" in err and "NOBODY" in err
    page = (tmp_path / "r" / "data-quality.html").read_text(encoding="utf-8")
    assert "NOBODY" in page and "costs.xls" in page


@pytest.mark.parametrize("defect, says", [
    ("header_only", r"transactions.csv: has no order lines \(a header without rows\?\)"),
    ("before_all_data", "has no order with positive revenue on or before the end of the analysis month 2021-06"),
    ("few_accounts", "the purchase models need at least 10"),
])
def test_data_that_cannot_carry_a_report_is_refused_by_validation(small_dir, tmp_path, defect, says):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    month = "2021-06-30" if defect == "before_all_data" else MONTH_END
    tx = pd.read_csv(data / "transactions.csv")
    if defect == "header_only":
        tx.head(0).to_csv(data / "transactions.csv", index=False)
    elif defect == "few_accounts":
        tx[tx["account_id"].isin(tx["account_id"].unique()[:4])].to_csv(data / "transactions.csv", index=False)
    with pytest.raises(DataValidationError, match=says):
        load_dataset(data, analysis_date=month, today=TODAY, future_rows="exclude", for_report=True)


def test_undecodable_csv_names_file_offset_line_and_fix(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    _chinese("accounts", pd.read_csv(small_dir / "accounts.csv")).to_csv(data / "accounts.csv", index=False,
                                                                       encoding="gbk")
    lines = (data / "accounts.csv").read_bytes().split(b"\n")
    lines[6] = lines[6].replace("上海".encode("gbk"), b"\xff\xff", 1) if "上海".encode("gbk") in lines[6] \
        else lines[6] + b"\xff"                                                      # one damaged byte
    (data / "accounts.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(DataValidationError, match=r"accounts.csv: cannot be decoded as gb18030 at byte \d+ "
                                                  r"\(line 7\); save it as .xlsx or as 'CSV UTF-8'.*data.encoding"):
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")


def test_file_names_match_in_any_case_and_formats_are_not_skipped(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    (data / "transactions.csv").rename(data / "Transactions.CSV")
    pd.read_csv(data / "costs.csv").to_excel(data / "COSTS.xlsx", index=False)
    (data / "costs.csv").unlink()
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    assert "costs" in ds.tables and ds.quality.rows_read["costs"] == len(pd.read_csv(small_dir / "costs.csv"))
    pd.read_csv(small_dir / "costs.csv").to_csv(data / "costs.csv", index=False)
    with pytest.raises(DataValidationError, match="2 files or sheets could be this table: COSTS.xlsx .*costs.csv"):
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")


def test_header_and_code_aliases(tmp_path):
    assert aliases.rename_map("transactions", [" 客户编号 ", "订单日期", "Revenue", "毛利额", "备注"]) == {
        " 客户编号 ": "account_id", "订单日期": "order_date", "Revenue": "revenue", "毛利额": "gross_margin"}
    assert aliases.rename_map("accounts", ["cust_no"], {"CUST_NO": "account_id"}) == {"cust_no": "account_id"}
    assert aliases.value_map("accounts", "tier")["特级"] == "strategic"
    assert aliases.value_map("accounts", "tier", {"accounts": {"tier": {"金牌": "A"}}})["金牌"] == "A"


def test_excel_cells_read_as_a_csv_export_would(tmp_path):
    from kamlib.data.readers import TableFile, read_xlsx
    frame = pd.DataFrame({"id": [1001, 1002], "day": [dt.date(2026, 10, 5), dt.date(2026, 1, 1)],
                          "amount": [1234.5, 7.0], "name": ["上海", None]})
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    got = read_xlsx(TableFile(tmp_path / "t.xlsx"))
    assert got.to_dict("list") == {"id": ["1001", "1002"], "day": ["2026-10-05", "2026-01-01"],
                                   "amount": ["1234.5", "7"], "name": ["上海", None]}


def test_margin_above_revenue_and_negative_costs_are_errors(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    tx = pd.read_csv(data / "transactions.csv")
    row = tx.index[tx["revenue"] > 0][0]
    tx.loc[row, "gross_margin"] = tx.loc[row, "revenue"] + 1
    tx.to_csv(data / "transactions.csv", index=False)
    costs = pd.read_csv(data / "costs.csv")
    costs.loc[0, "amount"] = -500
    costs.to_csv(data / "costs.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    text = str(caught.value)
    assert f"line {row + 2}:" in text and "gross margin above their revenue" in text
    assert "costs.csv: column 'amount': 1 row(s) are negative" in text


def test_a_missing_interactions_table_makes_visit_kpis_not_available_never_zero(small_dir, tmp_path):
    import numpy as np

    from kamlib.analysis import scorecard, segmentation, service
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    (data / "interactions.csv").unlink()
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    seg = segmentation.account_frame(ds)
    metrics = seg.metrics()
    assert metrics["service_compliance_rate"] is None and metrics["unprofitable_accounts_after_cost_to_serve"] is None
    assert set(seg.reasons) == {"service_compliance_rate", "unprofitable_accounts_after_cost_to_serve"}
    assert seg.frame["cost_to_serve"].isna().all() and (seg.frame["service_flag"] == "").all()
    assert service.visit_compliance(ds.accounts, None, "2026-01-01", "2026-09-30") is None
    churned = pd.to_datetime(ds.accounts.set_index("account_id")["churned_on"])
    card = scorecard.manager_scorecard(ds, churned_on=churned, compliance=seg.compliance)
    assert "visit_compliance" not in card and "visit_compliance" in card.attrs["missing_kpis"]
    # the composite is the weighted mean over the KPIs that exist, weights re-normalised
    kpis = [k for k in scorecard.DEFAULT_WEIGHTS if k in card]
    w = pd.Series({k: scorecard.DEFAULT_WEIGHTS[k] for k in kpis})
    managers = card.drop(index="team median")
    pct = pd.DataFrame({k: managers[k].rank(ascending=k not in scorecard.LOWER_IS_BETTER, pct=True) for k in kpis})
    expected = 100 * (pct * w).sum(axis=1) / (pct.notna() * w).sum(axis=1)
    np.testing.assert_allclose(managers["score"], expected)


def test_a_database_source_that_cannot_carry_a_report_is_refused_too(small_dir, tmp_path):
    import duckdb
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE accounts AS SELECT * FROM read_csv('{small_dir / 'accounts.csv'}')")
    con.execute(f"CREATE TABLE transactions AS SELECT * FROM read_csv('{small_dir / 'transactions.csv'}') "
                "WHERE account_id IN (SELECT account_id FROM accounts ORDER BY account_id LIMIT 3)")
    con.close()
    assert load_dataset(db, analysis_date=MONTH_END, today=TODAY, future_rows="exclude").tables
    with pytest.raises(DataValidationError, match=r"warehouse.duckdb:transactions: has orders from 3 account"):
        load_dataset(db, analysis_date=MONTH_END, today=TODAY, future_rows="exclude", for_report=True)


def test_codes_with_quotes_map_in_sql(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    acc = pd.read_csv(data / "accounts.csv")
    acc.loc[0, "tier"] = "Gold's"
    acc.to_csv(data / "accounts.csv", index=False)
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude",
                      values={"accounts": {"tier": {"Gold's": "A"}}})
    assert ds.accounts.loc[ds.accounts["account_id"] == acc.loc[0, "account_id"], "tier"].item() == "A"
