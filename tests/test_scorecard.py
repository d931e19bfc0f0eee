"""Pipeline, payments, complaints and the manager scorecard on hand-computed data; generator recovery."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import economics as ec
from kamlib.analysis import scorecard as sc
from kamlib.data.loading import load_dataset
from kamlib.data.schema import DataValidationError

from conftest import TODAY, tiny_accounts, write_tables


def book(tmp_path, name="b", **extra):
    acc = tiny_accounts(ids=("A1", "A2", "A3"), acquired=("2024-01-10", "2024-02-01", "2025-12-01"))
    acc["account_manager"] = ["Li", "Li", "Wang"]
    tx = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "order_date": ["2026-01-05", "2026-02-01", "2026-03-01"],
                       "revenue": [1000.0, 2000.0, 500.0], "gross_margin": [100.0, 200.0, 50.0],
                       "product_category": "x"})
    folder = write_tables(tmp_path / name, accounts=acc, transactions=tx, **extra)
    return load_dataset(folder, analysis_date="2026-06-30", today=TODAY)


OPPS = pd.DataFrame({
    "opportunity_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
    "account_id": ["A1", "A1", "A1", None, "A3", None, "A2"],
    "prospect_name": [None, None, None, "Prospect X", "Co A3", "Prospect Y", None],
    "account_manager": ["Li", "Li", "Li", "Wang", "Wang", "Wang", "Li"],
    "created_on": ["2025-09-01", "2025-10-01", "2026-05-01", "2025-08-01", "2025-11-01", "2026-06-01", "2024-05-01"],
    "closed_on": ["2025-10-15", "2025-11-01", "2026-08-01", "2025-09-01", "2025-12-01", None, "2024-06-01"],
    "outcome": ["won", "lost", "won", "lost", "won", "open", "won"],
    "amount": [100.0, 200.0, 300.0, 50.0, 80.0, 10.0, 70.0],
    "stage": ["won", "proposal", "won", "qualification", "won", "negotiation", "won"],
})
PAYMENTS = pd.DataFrame({
    "invoice_id": ["I1", "I2", "I3", "I4", "I5"],
    "account_id": ["A1", "A1", "A2", "A2", "A3"],
    "invoice_date": ["2025-12-01", "2026-05-01", "2026-05-15", "2026-06-20", "2024-01-01"],
    "due_date": ["2025-12-31", "2026-05-31", "2026-06-14", "2026-07-20", "2024-01-31"],
    "paid_date": ["2026-01-10", None, "2026-06-10", None, None],
    "amount": [100.0, 200.0, 300.0, 400.0, 50.0],
})


def test_win_rates_existing_vs_new_by_hand(tmp_path):
    ds = book(tmp_path, opportunities=OPPS)
    # O3 closes after the analysis date: treated as open (and counted as an adjustment)
    assert ds.quality.adjustments[0]["column"] == "closed_on" and ds.quality.adjustments[0]["values"] == 1
    o = sc.classify_opportunities(ds)
    assert o.set_index("opportunity_id")["existing"].to_dict() == {
        "O1": True, "O2": True, "O3": True, "O4": False, "O5": False, "O6": False, "O7": True}
    r = sc.win_rates(o, "2025-07-01", "2026-06-30")
    assert r.loc[True, ["closed", "won"]].tolist() == [2, 1] and r.loc[False, ["closed", "won"]].tolist() == [2, 1]
    lo, hi = sc.wilson_interval(1, 2)
    assert r.loc[True, "lower"] == pytest.approx(lo) and lo == pytest.approx(0.0945, abs=1e-4)
    assert r.loc[True, "cycle_days"] == pytest.approx((44 + 31) / 2)
    f = sc.funnel(o, "2025-07-01", "2026-06-30")
    assert f["opportunities"].tolist() == [6, 5, 4, 2]                       # O3 closes later: not won yet
    m = sc.headline(ds, ec.book_flows(ds))
    assert m.values["win_rate_existing"] == 0.5 and m.values["win_rate_new"] == 0.5
    assert np.isnan(sc.wilson_interval(0, 0)).all()                        # NaN: no data, not 0


def test_payments_dso_ageing_late_by_hand(tmp_path):
    ds = book(tmp_path, payments=PAYMENTS)
    pay = ds.payments
    # open at 2026-06-30: I2 (200, 30 days past due), I4 (400, not due), I5 (50, 881 days past due)
    r = sc.receivables(pay, "2026-06-30").set_index("invoice_id")
    assert set(r.index) == {"I2", "I4", "I5"}
    assert r.loc["I2", "bucket"] == "0-30" and r.loc["I4", "bucket"] == "not due" and r.loc["I5", "bucket"] == "90+"
    ag = sc.ageing(pay, "2026-06-30")
    assert ag["amount"].tolist() == [400.0, 200.0, 0.0, 0.0, 50.0]
    # invoiced in the window: I1..I4 = 1000; open 650, of which I5 (881 days past due) is doubtful debt and
    # stays out: 600 -> DSO 219 (237.25 with it)
    assert sc.dso(pay, "2025-07-01", "2026-06-30") == pytest.approx(600 / 1000 * 365)
    assert sc.dso(pay, "2025-07-01", "2026-06-30", doubtful_after_days=1000) == pytest.approx(650 / 1000 * 365)
    assert sc.doubtful(pay, "2026-06-30")["invoice_id"].tolist() == ["I5"]
    # due in the window: I1 (late), I2 (unpaid), I3 (on time) -> 2/3
    assert sc.late_share(pay, "2025-07-01", "2026-06-30") == pytest.approx(2 / 3)
    by_mgr = sc.dso(pay, "2025-07-01", "2026-06-30", by=ds.accounts.set_index("account_id")["account_manager"])
    assert by_mgr["Li"] == pytest.approx(600 / 1000 * 365)
    # a young book: invoicing starts inside the window, so the invoiced amount covers fewer days than a year
    # (I2, I3, I4 from 2026-05-01: 61 days to 2026-06-30; open I2 + I4 = 600 of 900 invoiced)
    young = pay[pay["invoice_date"] >= "2026-04-01"]
    assert sc.dso(young, "2025-07-01", "2026-06-30") == pytest.approx(600 / 900 * 61)
    assert sc.late_share_by_account(pay, "2026-06-30").to_dict() == {"A1": 1.0, "A2": 0.0, "A3": 1.0}


@pytest.mark.parametrize("at", ["2026-06-30", "2026-06-12", "2026-01-05", "2023-12-31"])
def test_open_invoices_selected_in_the_engine_are_the_receivables(tmp_path, at):
    # the deck and the workbook read only the invoices open at the date; their receivables and ageing must be
    # those of the whole payments table (2026-06-12: I3 still open, paid 06-10 is not; 2026-01-05: I1 open)
    ds = book(tmp_path, payments=PAYMENTS)
    opened = sc.open_invoices(ds, at)
    assert len(opened) < len(ds.payments)
    def rows(pay):
        r = sc.receivables(pay, at).sort_values("invoice_id").reset_index(drop=True)
        dates = ["invoice_date", "due_date", "paid_date"]
        return r.astype(dict.fromkeys(dates, "datetime64[us]"))           # the engine's dates come in seconds
    pd.testing.assert_frame_equal(rows(opened), rows(ds.payments), check_dtype=False)
    pd.testing.assert_frame_equal(sc.ageing(opened, at), sc.ageing(ds.payments, at))
    assert sorted(sc.open_invoices(ds)["invoice_id"]) == ["I2", "I4", "I5"]      # the analysis date by default
    assert sc.open_invoices(book(tmp_path, "none")) is None                      # no payments table


def test_complaint_pairing_and_resolution(tmp_path):
    inter = pd.DataFrame({"account_id": ["A1", "A1", "A1", "A1", "A2"],
                          "date": ["2026-01-01", "2026-01-03", "2026-01-01", "2026-01-20", "2026-02-01"],
                          "kind": ["complaint", "complaint", "complaint_resolved", "complaint_resolved", "complaint"]})
    ds = book(tmp_path, interactions=inter)
    c = sc.complaints(ds, first_contact_days=0).sort_values(["account_id", "complained_on"])
    assert c["resolution_days"].tolist()[:2] == [0, 17] and np.isnan(c["resolution_days"].iloc[2])
    assert c["first_contact"].tolist() == [True, False, False]
    churned = pd.Series(pd.NaT, index=pd.Index(["A1", "A2", "A3"]))
    s = sc.complaint_summary(c, churned, "2025-07-01", "2026-06-30")
    assert s["complaints"] == 3 and s["median_resolution_days"] == 8.5 and s["resolved_share"] == pytest.approx(2 / 3)


def test_absent_tables_are_not_available(tmp_path):
    ds = book(tmp_path)
    assert sc.classify_opportunities(ds) is None and sc.complaints(ds) is None
    m = sc.headline(ds, ec.book_flows(ds))
    assert all(v is None for v in m.values.values())
    assert set(m.reasons) == set(m.values) and "opportunities" in m.reasons["win_rate_new"]


def test_bad_pipeline_and_payment_rows_are_named(tmp_path):
    bad = OPPS.copy()
    bad.loc[1, "closed_on"] = "2025-09-01"                                   # before created
    with pytest.raises(DataValidationError, match="opportunities.csv: column 'closed_on': 1 row.*closed before"):
        book(tmp_path, "b1", opportunities=bad)
    bad = OPPS.copy()
    bad.loc[0, "closed_on"] = None
    with pytest.raises(DataValidationError, match="won or lost but have no closed_on.*line 2"):
        book(tmp_path, "b2", opportunities=bad)
    bad = PAYMENTS.copy()
    bad.loc[2, "account_id"] = "ZZ"
    with pytest.raises(DataValidationError, match="payments.csv: column 'account_id'.*not in the accounts"):
        book(tmp_path, "b3", payments=bad)


def test_scorecard_on_hand_book(tmp_path):
    ds = book(tmp_path, opportunities=OPPS, payments=PAYMENTS)
    churned = pd.Series(pd.NaT, index=ds.accounts["account_id"])
    card = sc.manager_scorecard(ds, churned_on=churned)
    assert card.index.tolist()[-1] == "team median"
    assert card.loc["Li", "accounts"] == 2 and card.loc["Wang", "accounts"] == 1     # a manager with one account
    assert card.loc["Li", "margin_12m"] == 300 and card.loc["Wang", "win_rate"] == 0.5
    assert card.loc[["Li", "Wang"], "score"].between(0, 100).all()
    assert sorted(card.loc[["Li", "Wang"], "rank"]) == [1, 2]
    assert card.loc["team median", "score"] == pytest.approx(card.loc[["Li", "Wang"], "score"].median())
    assert card.loc["team median", ["rank", "rank_win_rate"]].isna().all()
    with pytest.raises(ValueError, match="unknown KPI weight"):
        sc.manager_scorecard(ds, churned_on=churned, weights={"charisma": 1.0})


def test_generator_win_rates_recovered(small_book, small_dir):
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    r = sc.win_rates(sc.classify_opportunities(ds), "2020-01-01", "2026-09-30")
    truth = small_book.truth
    for flag, key in ((True, "win_rate_existing"), (False, "win_rate_new")):
        assert r.loc[flag, "lower"] <= truth[key] <= r.loc[flag, "upper"], r


def test_doubtful_debt_is_out_of_dso_and_late_share_and_reported_on_its_own():
    end = pd.Timestamp("2026-09-30")
    pay = pd.DataFrame({
        "invoice_id": ["I1", "I2", "I3", "I4"], "account_id": ["A1", "A1", "A2", "A2"],
        "invoice_date": pd.to_datetime(["2025-01-01", "2026-08-01", "2026-07-01", "2026-03-01"]),
        "due_date": pd.to_datetime(["2025-02-01", "2026-08-31", "2026-07-31", "2026-03-31"]),
        "paid_date": pd.to_datetime([None, None, "2026-07-20", "2026-04-15"]),
        "amount": [5000.0, 1000.0, 2000.0, 3000.0]})
    bad = sc.doubtful(pay, end)
    assert list(bad["invoice_id"]) == ["I1"] and (end - pd.Timestamp("2025-02-01")).days > 365
    # open and collectable at the end: I2 (1000); invoiced in the window: I2, I3, I4 = 6000
    assert sc.dso(pay, "2025-10-01", end) == pytest.approx(1000 / 6000 * 365)
    assert sc.dso(pay, "2025-10-01", end, doubtful_after_days=10_000) == pytest.approx(6000 / 6000 * 365)
    # due in the window: I2 (unpaid, late), I3 (on time), I4 (late)
    assert sc.late_share(pay, "2025-10-01", end) == pytest.approx(2 / 3)


def test_monthly_margin_by_manager_by_hand(tmp_path):
    # aggregated per manager and month in the engine (the pages' and scorecard's margin panels)
    got = sc.monthly_margin_by_manager(book(tmp_path))
    assert got.index.tolist() == ["Li", "Wang"]
    assert [c.strftime("%Y-%m") for c in got.columns] == ["2026-01", "2026-02", "2026-03"]
    assert got.to_numpy().tolist() == [[100.0, 200.0, 0.0], [0.0, 0.0, 50.0]]
    assert sc.monthly_margin_by_manager(book(tmp_path, "two"), months=2).columns.size == 2
