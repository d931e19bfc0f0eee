"""This month's actions on hand-built data: each defect appears once, ranked by the money at stake."""
import pandas as pd
import pytest

from kamlib.analysis import actions, segmentation
from kamlib.data.loading import load_dataset

from conftest import TODAY, tiny_accounts, write_tables

END = pd.Timestamp("2026-09-30")


def _book(tmp_path, extra_interactions=None):
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
    if extra_interactions is not None:
        inter = pd.concat([inter, extra_interactions], ignore_index=True)
    pay = pd.DataFrame({"invoice_id": ["I1", "I2"], "account_id": ["A3", "A4"],
                        "invoice_date": ["2026-07-01", "2026-08-01"], "due_date": ["2026-08-31", "2026-10-31"],
                        "paid_date": [None, None], "amount": [8_000.0, 900.0]})
    folder = write_tables(tmp_path, accounts=acc, transactions=tx, interactions=inter, payments=pay)
    return load_dataset(folder, analysis_date=END, today=TODAY)


RISK = actions.ChurnRisk(0.2, {"visits_90d": 0.97, "unresolved_complaints_90d": 2.0})


def test_each_defect_appears_once_ranked_by_money_at_stake(tmp_path):
    ds = _book(tmp_path)
    table = actions.account_table(ds).assign(p_alive=[0.9, 0.2, 0.9, 0.9])    # A2: valuable, probably lapsed
    got = actions.this_month(ds, table, alert_value_share=0.5, risk=RISK)
    # money plausibly at risk: A2 20,000 x (1 - 0.2); A3 its overdue amount; A1 (15 visits short of 24) its
    # margin x the rise in 12-month churn probability, 0.8 - 0.8 ** (0.97 ** -15)
    visits = 50_000.0 * (0.8 - 0.8 ** (0.97 ** -15))
    assert got[["account_id", "kind"]].values.tolist() == [
        ["A2", "churn_alert"], ["A3", "overdue_invoices"], ["A1", "visits_behind"]]
    assert got["money_at_stake"].tolist() == pytest.approx([16_000.0, 8_000.0, visits])
    assert 4_000 < visits < 5_000                          # not the whole margin of A1 (50,000)
    assert list(got.index) == [1, 2, 3]
    text = actions.reasons(got).tolist()
    assert text[0] == "P(alive) is 20%: one of the top 50% accounts by value, it may have lapsed"
    assert text[1] == "1 invoice overdue, the oldest 30 days past due"
    # the full calendar weeks of the last 13 weeks: 12 (2026-06-29 .. 2026-09-20), two visits a week required
    assert text[2] == "9 in-person visits in the last 12 weeks, the policy asks for 24"
    assert "逾期" in actions.reasons(got, "zh").iloc[1]
    # one manager's list; an account not yet due (A4's invoice) is no action
    assert actions.this_month(ds, table, manager="Li Na", alert_value_share=0.5, risk=RISK).equals(got)
    with pytest.raises(ValueError, match="manager='Nobody' is not known; the valid ones are: 'Li Na'"):
        actions.this_month(ds, table, manager="Nobody", risk=RISK)
    assert "A4" not in set(got["account_id"])


def test_valuable_means_the_top_share_by_value_and_unsupported_links_are_not_available(tmp_path):
    ds = _book(tmp_path)
    table = actions.account_table(ds).assign(p_alive=[0.9, 0.2, 0.1, 0.9])
    # top 20% of four accounts by margin is A1 alone: A2 and A3 (P(alive) low) are not valuable enough
    assert actions.valuable(table).tolist() == [True, False, False, False]
    assert "churn_alert" not in set(actions.this_month(ds, table, risk=RISK)["kind"])
    by_clv = table.assign(clv=[1.0, 9e6, 1.0, 1.0])              # by CLV when there is one: A2
    assert actions.valuable(by_clv).tolist() == [False, True, False, False]
    # no hazard ratio supported for visits: money at stake not available (NaN, never 0), ranked last
    got = actions.this_month(ds, table, risk=actions.ChurnRisk(0.2, {}))
    row = got[got["kind"] == "visits_behind"]
    assert row["money_at_stake"].isna().all() and row.index[0] == got.index[-1]


def test_stale_complaints_are_data_hygiene_not_actions(tmp_path):
    extra = pd.DataFrame({"account_id": ["A3", "A4"], "kind": "complaint",
                          "date": [END - pd.Timedelta(days=30), END - pd.Timedelta(days=900)]})
    ds = _book(tmp_path, extra)
    table = actions.account_table(ds)
    got = actions.this_month(ds, table, risk=RISK, stale_after_days=180)
    complaint = got[got["kind"] == "open_complaint"]
    assert complaint["account_id"].tolist() == ["A3"]
    # A3: 5,000 margin x (0.8 - 0.8 ** 2.0) for one unresolved complaint
    assert complaint["money_at_stake"].iloc[0] == pytest.approx(5_000 * (0.8 - 0.8 ** 2.0))
    hygiene = actions.data_hygiene(ds, table, stale_after_days=180)
    assert hygiene["account_id"].tolist() == ["A4"] and hygiene["money_at_stake"].isna().all()
    assert actions.reasons(hygiene).iloc[0].startswith("1 complaint open for 900 days (longer than 180 days)")
    assert "A4" not in set(got.loc[got["kind"] == "open_complaint", "account_id"])


def test_whitespace_and_missing_tables(tmp_path):
    ds = _book(tmp_path)
    table = actions.account_table(ds)                  # without a CLV valuation: no churn alerts
    ws = pd.DataFrame({"account_id": ["A4"], "product_category": ["y"], "status": ["not bought"],
                       "potential": [3_000.0]})
    got = actions.this_month(ds, table, ws=ws, risk=RISK)
    assert "churn_alert" not in set(got["kind"])
    row = got[got["kind"] == "whitespace"].iloc[0]
    assert row["account_id"] == "A4" and row["money_at_stake"] == 3_000.0
    assert actions.reasons(got[got["kind"] == "whitespace"]).iloc[0] == "most of its peers buy y, this account does not"
    assert isinstance(segmentation.whitespace(ds), pd.DataFrame)


def test_one_list_on_a_simulated_book_behind_every_report(small_dir):
    """The segmentation report and the scorecard (book_actions) and the manager reports (book_tables) give the
    same actions; a visit shortfall puts at risk a fraction of the account's margin, never all of it."""
    from kamlib.analysis import clv, portfolio

    sample_ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    risk = actions.ChurnRisk.of(sample_ds)
    assert 0 < risk.churn_12m < 1
    assert all(hr != 1 for hr in risk.hazard_ratios.values())
    value = clv.value_accounts(sample_ds, n_draws=0)
    seg = segmentation.account_frame(sample_ds, value.frame["clv"])
    views = actions.book_actions(sample_ds, value, seg.frame)
    tables = portfolio.book_tables(sample_ds, n_draws=0)
    cols = ["account_id", "kind", "money_at_stake"]
    pd.testing.assert_frame_equal(views[cols], tables.actions[cols])
    visits = views[views["kind"] == "visits_behind"].join(tables.accounts["margin_12m"], on="account_id")
    assert len(visits) and (visits["money_at_stake"].fillna(0) < 0.5 * visits["margin_12m"]).all()
    assert visits["money_at_stake"].isna().all() == ("visits_90d" not in risk.hazard_ratios)
    assert views["money_at_stake"].dropna().is_monotonic_decreasing
    assert set(views["kind"]) <= set(actions.KINDS)
