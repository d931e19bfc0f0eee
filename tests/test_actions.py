"""This month's actions on hand-built data: each defect appears once, ranked by the money at stake."""
import pandas as pd
import pytest

from kamlib.analysis import actions, segmentation
from kamlib.data.loading import load_dataset

from conftest import TODAY, tiny_accounts, write_tables

END = pd.Timestamp("2026-09-30")


def _book(tmp_path):
    acc = tiny_accounts(ids=("A1", "A2", "A3", "A4"), acquired=("2024-01-01",) * 4)
    acc["tier"] = ["strategic", "A", "C", "C"]
    margin = {"A1": 50_000.0, "A2": 20_000.0, "A3": 5_000.0, "A4": 1_000.0}
    tx = pd.DataFrame({"account_id": list(margin), "order_date": "2026-06-15", "revenue": [4 * m for m in
                                                                                             margin.values()],
                       "gross_margin": list(margin.values()), "product_category": "x"})
    a1 = pd.date_range(END - pd.Timedelta(days=90), END, freq="9D")           # about one visit in 9 days
    a2 = pd.date_range(END - pd.Timedelta(days=100), END, freq="3D")          # more than weekly: compliant
    inter = pd.DataFrame({"account_id": ["A1"] * len(a1) + ["A2"] * len(a2), "kind": "visit",
                          "date": list(a1) + list(a2)})
    pay = pd.DataFrame({"invoice_id": ["I1", "I2"], "account_id": ["A3", "A4"],
                        "invoice_date": ["2026-07-01", "2026-08-01"], "due_date": ["2026-08-31", "2026-10-31"],
                        "paid_date": [None, None], "amount": [8_000.0, 900.0]})
    folder = write_tables(tmp_path, accounts=acc, transactions=tx, interactions=inter, payments=pay)
    return load_dataset(folder, analysis_date=END, today=TODAY)


def test_each_defect_appears_once_ranked_by_money_at_stake(tmp_path):
    ds = _book(tmp_path)
    table = actions.account_table(ds).assign(p_alive=[0.9, 0.2, 0.9, 0.9])    # A2: valuable, probably lapsed
    got = actions.this_month(ds, table)
    assert got[["account_id", "kind", "money_at_stake"]].values.tolist() == [
        ["A1", "visits_behind", 50_000.0], ["A2", "churn_alert", 20_000.0], ["A3", "overdue_invoices", 8_000.0]]
    assert list(got.index) == [1, 2, 3]
    text = actions.reasons(got).tolist()
    # the full calendar weeks of the last 13 weeks: 12 (2026-06-29 .. 2026-09-20), two visits a week required
    assert text[0] == "9 in-person visits in the last 12 weeks, the policy asks for 24"
    assert text[1] == "P(alive) is 20%: a valuable account that may have lapsed"
    assert text[2] == "1 invoice overdue, the oldest 30 days past due"
    assert "逾期" in actions.reasons(got, "zh").iloc[2]
    # one manager's list; an account not yet due (A4's invoice) is no action
    assert actions.this_month(ds, table, manager="Li Na").equals(got)       # the only manager: every action
    with pytest.raises(ValueError, match="manager='Nobody' is not known; the valid ones are: 'Li Na'"):
        actions.this_month(ds, table, manager="Nobody")
    assert "A4" not in set(got["account_id"])


def test_whitespace_and_missing_tables(tmp_path):
    ds = _book(tmp_path)
    table = actions.account_table(ds)                  # without a CLV valuation: no churn alerts
    ws = pd.DataFrame({"account_id": ["A4"], "product_category": ["y"], "status": ["not bought"],
                       "opportunity": [3_000.0]})
    got = actions.this_month(ds, table, ws=ws)
    assert "churn_alert" not in set(got["kind"])
    row = got[got["kind"] == "whitespace"].iloc[0]
    assert row["account_id"] == "A4" and row["money_at_stake"] == 3_000.0
    assert actions.reasons(got[got["kind"] == "whitespace"]).iloc[0] == "most of its peers buy y, this account does not"
    assert isinstance(segmentation.whitespace(ds), pd.DataFrame)
