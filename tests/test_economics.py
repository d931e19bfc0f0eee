"""Economics, cohorts and survival on small hand-computed books and simulated data."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import cohorts, economics as ec, survival
from kamlib.data.loading import load_dataset

from conftest import TODAY, tiny_accounts, write_tables


def hand_book(tmp_path, *, costs=True, churned=(None, "2025-07-01", "2025-06-30", None), won_back=None,
              analysis_date="2026-06-30", without=()):
    """Analysis month 2026-06: window 2025-07-01 .. 2026-06-30.

    A1 acquired 2024, retained; A2 acquired 2024, churned 2025-07-01 (on the window's first day: churned in
    the window); A3 acquired 2024, churned 2025-06-30 (the day before: not at risk); A4 acquired in the window
    by referral."""
    acc = tiny_accounts(ids=("A1", "A2", "A3", "A4"),
                        acquired=("2024-01-10", "2024-02-01", "2024-03-01", "2025-09-15"))
    acc["churned_on"] = list(churned)
    if won_back is not None:
        acc["won_back_on"] = list(won_back)
    acc["acquisition_channel"] = ["direct", "direct", "agent", "referral"]
    tx = pd.DataFrame({"account_id": ["A1", "A1", "A2", "A3", "A4"],
                       "order_date": ["2025-08-01", "2026-03-01", "2024-05-01", "2024-06-01", "2025-09-20"],
                       "revenue": [1000.0, 3000.0, 500.0, 200.0, 800.0],
                       "gross_margin": [200.0, 600.0, 100.0, 40.0, 160.0], "product_category": "x"})
    tables = {"accounts": acc, "transactions": tx}
    if costs:
        tables["costs"] = pd.DataFrame({"period": ["2025-06-01", "2025-07-01", "2026-06-01", "2025-12-01"],
                                        "kind": ["acquisition", "acquisition", "retention", "retention"],
                                        "amount": [999.0, 5000.0, 300.0, 100.0], "account_id": None})
    for name in ("accounts", "transactions"):
        tables[name] = tables[name][~tables[name]["account_id"].isin(without)]
    tables["transactions"] = tx[tx["order_date"] <= analysis_date]
    folder = write_tables(tmp_path / "book", **tables)
    return load_dataset(folder, analysis_date=analysis_date, today=TODAY)


def test_flows_and_ratios_by_hand(tmp_path):
    ds = hand_book(tmp_path)
    fl = ec.book_flows(ds, ec.ChurnDefinition("recorded"))
    v = fl.measured.values
    assert v["new_accounts_12m"] == 1
    assert fl.accounts["at_risk_start"].tolist() == [True, True, False, False]
    assert v["churned_accounts_12m"] == 1 and v["churn_rate_12m"] == 0.5
    assert v["acquisition_spend_12m"] == 5000 and v["retention_spend_12m"] == 400      # June 2025 is outside
    assert v["cac"] == 5000 and v["retention_cost_per_account"] == 400                 # one retained account
    assert v["cac_to_retention_cost_ratio"] == 12.5 and v["referral_share_new"] == 1.0
    assert v["winback_cost_per_recovered_account"] is None
    assert "win-back" in fl.measured.reasons["winback_cost_per_recovered_account"]
    values, reasons = fl.measured.headline()
    assert set(values) >= {"cac", "churn_rate_12m"} and all(k in values for k in reasons)


def test_win_back_before_the_window_puts_the_account_back_at_risk(tmp_path):
    # A2 churns on the window's first day and is won back in the window: churned (and won back) in the window;
    # A3 churned before the window and was won back before it: in the book at window start, retained
    ds = hand_book(tmp_path, churned=(None, "2025-07-01", "2025-03-01", None),
                   won_back=(None, "2025-09-01", "2025-05-01", None))
    fl = ec.book_flows(ds, ec.ChurnDefinition("recorded"))
    assert fl.accounts["at_risk_start"].tolist() == [True, True, True, False]
    assert fl.accounts["churned"].tolist() == [False, True, False, False]
    assert fl.accounts["retained"].tolist() == [True, False, True, False]
    assert fl.accounts["won_back"].tolist() == [False, True, False, False]
    assert fl.measured.values["churn_rate_12m"] == pytest.approx(1 / 3)


def test_won_back_accounts_are_in_the_book_again_by_quarter_and_cohort(tmp_path):
    # A3 (2024Q1 cohort) churned 2025-03-01 (age 4), won back 2025-05-01 (age 5); A2 churned 2025-07-01 and was
    # won back 2025-09-01, both in 2025Q3 (age 6)
    ds = hand_book(tmp_path, churned=(None, "2025-07-01", "2025-03-01", None),
                   won_back=(None, "2025-09-01", "2025-05-01", None))
    fl = ec.book_flows(ds, ec.ChurnDefinition("recorded"))
    q = ec.flows_by_period(fl, ds)
    assert q.loc["2025Q2", "accounts_at_start"] == 2                       # A3 lapsed on 2025-04-01
    assert q.loc["2025Q3", ["accounts_at_start", "churned"]].tolist() == [3, 1]   # A3 back; A2 churns
    assert q.loc["2025Q3", "retention_rate"] == pytest.approx(2 / 3)
    assert q.loc["2025Q4", ["accounts_at_start", "churned"]].tolist() == [4, 0]   # A2 back, A4 new
    ret = cohorts.cohort_tables(ds, fl.accounts["churned_on"], back_on=fl.accounts["back_on"])["retention"]
    assert ret.loc["2024Q1", [3, 4, 5, 6]].tolist() == pytest.approx([1, 2 / 3, 1, 1])
    lost_for_good = cohorts.cohort_tables(ds, fl.accounts["churned_on"])["retention"]     # without win-backs
    assert lost_for_good.loc["2024Q1", [3, 4, 5, 6]].tolist() == pytest.approx([1, 2 / 3, 2 / 3, 1 / 3])
    assert ec.equity_inputs(fl).accounts == 4                             # everyone is in the book today
    assert ec.equity_inputs(ec.book_flows(hand_book(tmp_path / "b"), ec.ChurnDefinition("recorded"))).accounts == 2


def test_period_tables_show_complete_quarters_only(tmp_path):
    from kamlib.data.periods import last_complete_period
    assert str(last_complete_period("2026-10-31")) == "2026Q3"
    assert str(last_complete_period("2026-09-30")) == "2026Q3" and str(last_complete_period("2026-12-31")) == "2026Q4"
    # 2025Q3 has two months of data; A4 (acquired 2025-09-15) is not in this book yet
    ds = hand_book(tmp_path, analysis_date="2025-08-31", without=("A4",), costs=False)
    t = cohorts.cohort_tables(ds, ds.accounts.set_index("account_id")["churned_on"])
    assert list(t["margin_per_account"].columns) == [0, 1, 2, 3, 4, 5]                # 2024Q1 .. 2025Q2
    # A1's order of 2025-08-01 falls in the incomplete quarter: only A2's and A3's margins (2024Q2) count
    assert t["margin_per_account"].loc["2024Q1"].sum() == pytest.approx((100 + 40) / 3)
    q = ec.flows_by_period(ec.book_flows(ds, ec.ChurnDefinition("recorded")), ds)
    assert q.index[-1] == "2025Q2"
    young = hand_book(tmp_path / "young", analysis_date="2024-02-29", without=("A3", "A4"), costs=False,
                      churned=(None,) * 4)
    empty = cohorts.cohort_tables(young, young.accounts.set_index("account_id")["churned_on"])
    assert empty["retention"].empty and empty["sizes"].empty


def test_missing_costs_are_not_available_not_zero(tmp_path):
    ds = hand_book(tmp_path, costs=False)
    m = ec.book_flows(ds, ec.ChurnDefinition("recorded")).measured
    for key in ("acquisition_spend_12m", "retention_spend_12m", "cac", "retention_cost_per_account",
                "cac_to_retention_cost_ratio"):
        assert m.values[key] is None and m.reasons[key]
    assert ec.equity_inputs(ec.book_flows(ds, ec.ChurnDefinition("recorded"))) is None


def test_inactivity_churn_definition(tmp_path):
    ds = hand_book(tmp_path)
    dates = ec.churn_dates(ds, ec.ChurnDefinition("inactivity", days=180))
    assert dates["A1"] is pd.NaT or pd.isna(dates["A1"])              # last order 2026-03-01 + 180d > analysis date
    assert dates["A2"] == pd.Timestamp("2024-05-01") + pd.Timedelta(days=180)
    with pytest.raises(ValueError, match="churn definition must be one of"):
        ec.ChurnDefinition("vibes")
    with pytest.raises(ValueError, match="needs P\\(alive\\)"):
        ec.churn_dates(ds, ec.ChurnDefinition("p_alive"))


def test_customer_equity_closed_form_and_what_ifs():
    x = ec.EquityInputs(accounts=100, margin=1000, retention=0.8, discount_rate=0.1, new_accounts=20, cac=1500,
                        retention_cost=100, years=3)

    def brute(r, years, new):      # margin 900 at each year end while retained, discounted
        return sum(900 * r ** (t if not new else t - 1) / 1.1 ** t for t in range(1, years + 1))
    existing = 100 * brute(0.8, 3, new=False)
    future = 20 * sum((brute(0.8, 3 - k, new=True) - 1500) / 1.1 ** k for k in range(3))
    ce = ec.customer_equity(x)
    assert ce["existing"] == pytest.approx(existing) and ce["future_cohorts"] == pytest.approx(future)
    assert ec.account_value(900, 0.8, 0.1) == pytest.approx(900 * 0.8 / 0.3)               # for ever
    assert ec.account_value(900, 0.8, 0.1, years=400) == pytest.approx(900 * 0.8 / 0.3)
    assert ec.customer_equity(x, existing_value=5.0)["customer_equity"] == pytest.approx(5 + future)
    w = ec.churn_what_if(x, (1, 2, 5))
    assert w["customer_equity"].is_monotonic_increasing and (w["change"] > 0).all() and w["plausible"].all()
    r = 0.85
    closed = 100 * brute(r, 3, False) + 20 * sum((brute(r, 3 - k, True) - 1500) / 1.1 ** k for k in range(3))
    assert w.loc[5, "customer_equity"] == pytest.approx(closed)
    # break-even: the programme at exactly that cost leaves the existing book's value unchanged
    c = ec.break_even_retention_spend(x, 0.05)
    assert ec.account_value(1000, 0.85, 0.1, 100 + c, years=3) == pytest.approx(
        ec.account_value(1000, 0.8, 0.1, 100, years=3))
    assert ec.programme_what_if(x, 0.0, 0.05)["change"] > 0
    a = ec.acquisition_what_if(x, 0.21, elasticity=0.5)
    assert a["new_accounts"] == pytest.approx(22) and a["cac"] == pytest.approx(1500 * 1.21 / 1.1)
    t = ec.tornado(x)
    assert t["swing"].is_monotonic_decreasing and set(t.index) >= {"retention", "margin", "cac"}
    with pytest.raises(ValueError, match="retention"):
        ec.account_value(1000, 1.5, 0.1)


def test_budget_split_passes_through_today():
    x = ec.EquityInputs(accounts=100, margin=1000, retention=0.8, discount_rate=0.1, new_accounts=20, cac=1500,
                        retention_cost=100, years=3)
    budget = 20 * 1500 + 100 * 100
    curve = ec.budget_split(x, budget, steps=101)
    today = ec.current_acquisition_share(x)
    assert today == pytest.approx(0.75)
    row = curve.loc[np.isclose(curve.index, 0.75)].iloc[0]
    assert row["new_accounts"] == pytest.approx(20) and row["retention"] == pytest.approx(0.8)
    assert row["customer_equity"] == pytest.approx(ec.customer_equity(x)["customer_equity"])
    assert curve["optimal"].sum() == 1
    assert ec.budget_advice(curve, today) in ("advice_retention", "advice_acquisition", "advice_balanced")


def test_cohort_triangle_by_hand(tmp_path):
    ds = hand_book(tmp_path)
    t = cohorts.cohort_tables(ds, ds.accounts.set_index("account_id")["churned_on"])
    ret = t["retention"]
    assert t["sizes"].loc["2024Q1", "accounts"] == 3 and t["sizes"].loc["2025Q3", "accounts"] == 1
    # 2024Q1 cohort (A1, A2, A3): A3 churned in 2025Q2 (age 5), A2 in 2025Q3 (age 6)
    assert ret.loc["2024Q1", 4] == 1 and ret.loc["2024Q1", 5] == pytest.approx(2 / 3)
    assert ret.loc["2024Q1", 6] == pytest.approx(1 / 3)
    assert np.isnan(ret.loc["2025Q3", 5])                                   # not yet observed: NaN, not 0
    assert t["nrr"].loc["2025Q3", 0] == 1 and t["nrr"].loc["2025Q3", 1] == 0
    assert np.isnan(t["nrr"].loc["2024Q1", 0])                             # no revenue in the first quarter


def test_kaplan_meier_by_hand():
    frame = pd.DataFrame({"duration_days": [1.0, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0], "g": "x"})
    km = survival.kaplan_meier(frame)
    # S(1) = 4/5, S(2) = 4/5 * 3/4 = 0.6, S(3) = 0.6 * 1/2 = 0.3; the curve starts at (0, 1) and runs flat to
    # the longest follow-up (4, censored)
    assert km["time_days"].tolist() == [0, 1, 2, 3, 4]
    assert km["survival"].tolist() == pytest.approx([1, 0.8, 0.6, 0.3, 0.3])
    assert km["at_risk"].tolist() == [5, 5, 4, 2, 1]
    flat = survival.kaplan_meier(frame.assign(event=0))                     # no churn yet: a flat line
    assert flat["survival"].tolist() == [1, 1] and flat["time_days"].tolist() == [0, 4]
    assert (km["lower"] <= km["survival"]).all() and (km["survival"] <= km["upper"]).all()
    two = pd.concat([frame, frame.assign(g="y", duration_days=frame["duration_days"] * 10)])
    test = survival.logrank(two, "g")
    assert test["p_value"] < 0.05 and test["df"] == 1 and test["reason"] is None
    # not testable: the reason says why (a book in its first months has no churn yet)
    assert survival.logrank(two.assign(event=0), "g")["reason"] == ("logrank_no_events", {})
    assert np.isnan(survival.logrank(two.assign(event=0), "g")["p_value"])
    assert survival.logrank(frame, "g")["reason"] == ("logrank_one_group", {})


def test_cox_recovers_known_hazard_ratios():
    rng = np.random.default_rng(4)
    n = 3000
    x = pd.DataFrame({"complaints": rng.poisson(1.0, n).astype(float), "tier_A": (rng.random(n) < 0.3) * 1.0})
    beta = np.array([0.4, -0.7])
    t = rng.exponential(1 / (0.002 * np.exp(x.to_numpy() @ beta)))
    c = rng.uniform(100, 1500, n)
    dur = pd.DataFrame({"duration_days": np.minimum(t, c), "event": (t <= c).astype(int)})
    res = survival.cox(dur, x)
    hr = res.hazard_ratios
    assert ((hr["lower"] <= np.exp(beta)) & (np.exp(beta) <= hr["upper"])).all(), hr
    assert (res.ph_check["p_value"] > 0.001).all()                        # PH holds by construction
    assert res.events == dur["event"].sum()
    with pytest.raises(ValueError, match="too few"):
        survival.cox(dur.assign(event=0), x)


def _cox_data(seed: int, n: int = 120):
    """Exponential lifetimes with a rare (5%) strong-effect dummy and covariates on scales 1, 3 and 10."""
    rng = np.random.default_rng(seed)
    rare = (rng.random(n) < 0.05).astype(float)
    z = rng.normal(size=(n, 3)) * [1, 3, 10]
    t = rng.exponential(1 / np.exp(2.5 * rare + z @ [0.3, 0.1, 0.05])) * 1000
    c = rng.uniform(0, 2000, n)
    x = pd.DataFrame(np.column_stack([rare, z]), columns=["rare", "z1", "z3", "z10"])
    return pd.DataFrame({"duration_days": np.minimum(t, c), "event": (t <= c).astype(int)}), x


def test_cox_reaches_the_maximum_where_plain_newton_diverges():
    from statsmodels.duration.hazard_regression import PHReg
    dur, x = _cox_data(seed=1)
    model = PHReg(dur["duration_days"].to_numpy(), x.to_numpy(), status=dur["event"].to_numpy(), ties="breslow")
    with np.errstate(all="ignore"):
        assert np.isnan(model.fit().params).all()          # statsmodels' own Newton-Raphson overshoots here
    res = survival.cox(dur, x)
    beta = np.log(res.hazard_ratios["hazard_ratio"].to_numpy())
    assert np.isfinite(res.hazard_ratios.to_numpy()).all()
    assert np.abs(model.score(beta)).max() < 1e-6                              # a stationary point ...
    for _ in range(20):                                                        # ... and the maximum
        assert model.loglike(beta) >= model.loglike(beta + np.random.default_rng(_).normal(0, 0.05, 4))
    assert ((res.hazard_ratios["lower"] <= np.exp([2.5, 0.3, 0.1, 0.05]))
            & (np.exp([2.5, 0.3, 0.1, 0.05]) <= res.hazard_ratios["upper"])).all()


def test_cox_without_a_finite_maximum_raises():
    # the dummy's five accounts are exactly the five first churns: the partial likelihood rises without bound
    n = 40
    dur = pd.DataFrame({"duration_days": np.arange(1.0, n + 1), "event": (np.arange(n) < 30).astype(int)})
    x = pd.DataFrame({"d": (np.arange(n) < 5).astype(float), "z": np.random.default_rng(0).normal(size=n)})
    with pytest.raises(ValueError, match="did not converge.*not estimable"):
        survival.cox(dur, x)


def test_survival_on_book(small_dir):
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    fl = ec.book_flows(ds)
    lives = survival.durations(ds, fl.accounts["churned_on"])
    assert lives["event"].sum() == fl.accounts["churned_on"].notna().sum()
    assert (lives["duration_days"] > 0).all()
    drivers, why = survival.try_churn_drivers(ds, fl.accounts["churned_on"])
    assert why is None and np.isfinite(drivers.hazard_ratios[["hazard_ratio", "lower", "upper"]].to_numpy()).all()
    assert drivers.events == lives["event"].sum() and "credit_rating" in drivers.dropped


def test_no_new_accounts_and_no_retained_accounts(tmp_path):
    """A window without acquisitions: CAC and referral share are not available (None with a reason)."""
    acc = tiny_accounts(ids=("A1", "A2"), acquired=("2024-01-10", "2024-02-01"))
    acc["churned_on"] = ["2025-08-01", "2025-09-01"]            # both churn in the window: nobody retained
    tx = pd.DataFrame({"account_id": ["A1", "A2"], "order_date": ["2025-01-05", "2025-02-01"],
                       "revenue": [100.0, 200.0], "gross_margin": [10.0, 20.0], "product_category": "x"})
    costs = pd.DataFrame({"period": ["2025-10-01", "2025-10-01"], "kind": ["acquisition", "retention"],
                          "amount": [500.0, 50.0], "account_id": None})
    folder = write_tables(tmp_path / "none", accounts=acc, transactions=tx, costs=costs)
    ds = load_dataset(folder, analysis_date="2026-06-30", today=TODAY)
    m = ec.book_flows(ds, ec.ChurnDefinition("recorded")).measured
    assert m.values["new_accounts_12m"] == 0 and m.values["churn_rate_12m"] == 1.0
    assert m.values["cac"] is None and "no new accounts" in m.reasons["cac"]
    assert m.values["referral_share_new"] is None
    assert m.values["retention_cost_per_account"] is None and "no retained" in m.reasons["retention_cost_per_account"]
    assert m.values["cac_to_retention_cost_ratio"] is None


def test_what_ifs_refuse_an_implausible_retention():
    """Retention 0.993 makes m r / (1 + d - r) explode (+112% on the sample); above 0.97 a what-if is refused."""
    x = ec.EquityInputs(accounts=100, margin=1000, retention=0.943, discount_rate=0.1, new_accounts=20, cac=1500,
                        years=3)
    w = ec.churn_what_if(x, (1, 5, 10))
    assert list(w["plausible"]) == [True, False, False]
    assert np.isfinite(w.loc[1, "customer_equity"]) and w.loc[[5, 10], "customer_equity"].isna().all()
    assert w.loc[5, "retention"] == pytest.approx(0.993)
    assert ec.tornado(ec.EquityInputs(accounts=100, margin=1000, retention=0.9, discount_rate=0.1, new_accounts=20,
                                      cac=1500)).loc["retention", "high"] == pytest.approx(
        ec.customer_equity(ec.EquityInputs(accounts=100, margin=1000, retention=0.97, discount_rate=0.1,
                                           new_accounts=20, cac=1500))["customer_equity"]
        - ec.customer_equity(ec.EquityInputs(accounts=100, margin=1000, retention=0.9, discount_rate=0.1,
                                             new_accounts=20, cac=1500))["customer_equity"])
