"""The month's workbook on hand-made tables: it opens with openpyxl, has its sheets in the report language,
typed cells (money format, dates), a frozen header and a filter, and its totals are the tables'."""
import datetime as dt

import openpyxl
import pandas as pd
import pytest

from kamlib.report.workbook import write_workbook
from kamlib.text.i18n import tv


def _tables():
    accounts = pd.DataFrame({"name": ["甲公司", "Beta Co"], "tier": ["A", "C"], "account_manager": ["Li Na", "Chen Jing"],
                             "margin_12m": [120_000.5, 30_000.25], "p_alive": [0.9, 0.4], "clv": [300_000.0, 50_000.0],
                             "clv_lower": [250_000.0, 40_000.0], "clv_upper": [350_000.0, 60_000.0],
                             "strategy": ["support_develop", "cut_cost_exit"], "suggested_tier": ["strategic", "C"]},
                            index=pd.Index(["A1", "A2"], name="account_id"))
    actions = pd.DataFrame({"account_id": ["A1", "A2"], "account_manager": ["Li Na", "Chen Jing"],
                            "name": ["甲公司", "Beta Co"], "tier": ["A", "C"], "kind": ["visits_behind", "overdue_invoices"],
                            "money_at_stake": [120_000.5, 8_000.0], "detail": [{}, {}]},
                           index=pd.RangeIndex(1, 3, name="rank"))
    card = pd.DataFrame({"accounts": [1, 1], "margin_12m": [120_000.5, 30_000.25], "score": [70.0, 40.0],
                         "rank_score": [1, 2]}, index=["Li Na", "Chen Jing"])
    ws = pd.DataFrame({"account_id": ["A2"], "product_category": ["packaging"], "status": ["not bought"],
                       "margin": [0.0], "peer_median_margin": [5_000.0], "peer_share": [0.8], "peers": [6],
                       "opportunity": [5_000.0]})
    rec = pd.DataFrame({"invoice_id": ["I1"], "account_id": ["A2"], "invoice_date": pd.to_datetime(["2026-08-01"]),
                        "due_date": pd.to_datetime(["2026-08-31"]), "amount": [8_000.0], "days_past_due": [61],
                        "bucket": ["61-90"]})
    return accounts, actions, card, ws, rec


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_sheets_types_and_totals(tmp_path, lang):
    accounts, actions, card, ws, rec = _tables()
    path = write_workbook(tmp_path / "workbook.xlsx", metrics={"revenue_12m": 1_000_000.0, "churn_rate_12m": 0.18,
                                                               "cac": None},
                          notes={"cac": "no acquisition costs"}, accounts=accounts, actions=actions,
                          reasons=pd.Series(["r1", "r2"], index=actions.index), scorecard=card, whitespace=ws,
                          receivables=rec, lang=lang)
    wb = openpyxl.load_workbook(path)
    names = wb.sheetnames
    assert len(names) == 6
    if lang == "zh":
        assert names == ["核心指标", "客户", "本月行动", "客户经理考核", "交叉销售空白", "应收账款"]
        assert [c.value for c in wb["客户"][1]][:4] == ["客户编号", "客户名称", "客户级别", "客户经理"]
        assert wb["客户"]["J2"].value == tv("support_develop", "zh") != "support_develop"   # codes in Chinese
    for sheet in wb:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        assert all(sheet.column_dimensions[c].width for c in "AB")
    accounts_sheet, actions_sheet, metric_sheet, rec_sheet = wb[names[1]], wb[names[2]], wb[names[0]], wb[names[5]]
    margin = [c.value for c in accounts_sheet["E"][1:]]
    assert sum(margin) == pytest.approx(accounts["margin_12m"].sum())
    assert "¥" in accounts_sheet["E2"].number_format
    assert sum(c.value for c in actions_sheet["G"][1:]) == pytest.approx(actions["money_at_stake"].sum())
    assert {c.value for c in actions_sheet["B"][1:]} == {"Li Na", "Chen Jing"}          # filterable by manager
    values = {r[1]: r[3] for r in metric_sheet.iter_rows(min_row=2, values_only=True)}
    assert 1_000_000.0 in values.values() and 0.18 in values.values()
    assert rec_sheet["D2"].is_date and rec_sheet["D2"].value == dt.datetime(2026, 8, 1)


def test_no_number_in_the_workbook_is_left_in_general_format(tmp_path):
    """Raw float digits (0.02552982962593463, 736791.4299999999) read as an unfinished export: every number
    carries a format — money, percent, whole count or two decimals — on every sheet, headline metrics included."""
    accounts, actions, card, _, rec = _tables()
    card = card.assign(dso_days=[34.4711, 48.9], retention_rate=[0.845, 0.8])
    ws = pd.DataFrame({"account_id": ["A2"], "product_category": ["packaging"], "status": ["below peers"],
                       "margin": [17_728.51], "revenue_share": [0.0255298], "peer_median_revenue_share": [0.137026],
                       "peer_median_margin_share": [0.126771], "peer_share": [1.0], "peers": [4],
                       "account_margin": [736_791.4299999999], "potential": [75_675.26187]})
    metrics = {"revenue_12m": 1_000_000.0, "churn_rate_12m": 0.18, "clv_holdout_mae": 3.573565225750274,
               "gini_revenue": 0.6110321, "dso_days": 41.23, "accounts_at_risk": 0, "cac_to_retention_cost_ratio": 2.95,
               "finding_complaint_p_adjusted": 1.2e-32}
    path = write_workbook(tmp_path / "workbook.xlsx", metrics=metrics, notes={}, accounts=accounts,
                          actions=actions, reasons=pd.Series(["r1", "r2"], index=actions.index), scorecard=card,
                          whitespace=ws, receivables=rec)
    book = openpyxl.load_workbook(path)
    general = [(sheet.title, cell.coordinate, cell.value) for sheet in book.worksheets
               for row in sheet.iter_rows(min_row=2) for cell in row
               if isinstance(cell.value, (int, float)) and cell.number_format == "General"]
    assert general == []
    sheet = book.worksheets[4]                                                  # cross-sell whitespace
    formats = {c.value: sheet.cell(2, c.column).number_format for c in sheet[1]}
    assert formats["Share of revenue"] == "0.0%" and formats["Potential"].endswith("#,##0.00")
