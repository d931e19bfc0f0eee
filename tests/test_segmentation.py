"""Concentration, ABC, strategy, tiers and visit compliance against hand-computed values and edge cases."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import concentration as cc
from kamlib.analysis import segmentation as sg
from kamlib.analysis import service
from kamlib.data.loading import load_dataset

from conftest import TODAY


def test_gini_lorenz_hhi_top_share_by_hand():
    assert cc.gini([1, 1, 1, 1]) == 0
    assert cc.gini([0, 0, 0, 1]) == pytest.approx(0.75)           # (n-1)/n for one holder
    # sum_ij |xi - xj| for (1, 2, 3): 2*(1+2+1) = 8; / (2 * 9 * 2) = 2/9
    assert cc.gini([3, 1, 2]) == pytest.approx(2 / 9)
    assert cc.hhi([1, 1]) == 0.5 and cc.hhi([5]) == 1 and cc.hhi([1, 1, 2]) == pytest.approx(0.375)
    assert cc.top_share([5, 3, 1, 1, 0]) == pytest.approx(0.5)     # ceil(0.2*5)=1 account: 5/10
    assert cc.top_share([4, 3, 2, 1, 1, 1]) == pytest.approx(7 / 12)  # ceil(1.2)=2 accounts
    assert cc.share_of_accounts_for([5, 3, 1, 1], 0.8) == 0.5       # 5+3 = 8 = 80% exactly
    assert cc.share_of_accounts_for([1, 1, 1, 1, 1], 0.8) == 0.8
    lc = cc.lorenz_curve([3, 1])
    assert lc["value_share"].tolist() == [0, 0.25, 1] and lc["account_share"].tolist() == [0, 0.5, 1]
    with pytest.raises(ValueError, match="non-negative"):
        cc.gini([-1, 2])


def test_edges_one_account_all_equal_negative_margins():
    assert cc.top_share([7.0]) == 1 and cc.gini([7.0]) == 0 and cc.hhi([7.0]) == 1
    assert cc.top_share([]) is None and cc.gini([]) is None
    assert cc.top_share([-1.0, -2.0]) is None                      # no positive total: undefined, not a crash
    # negative margins count against the total: the top account makes more than 100%
    assert cc.top_share([10.0, 5.0, -5.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert cc.share_of_accounts_for([10.0, 2.0, -4.0], 0.8) == pytest.approx(1 / 3)


def test_abc_classes_thresholds_and_ties():
    s = pd.Series([50, 30, 10, 5, 5], index=list("abcde"))
    assert cc.abc_classes(s).tolist() == ["A", "A", "B", "B", "C"]  # 'c' starts at exactly 80%: B
    equal = pd.Series([1.0] * 10)
    assert cc.abc_classes(equal).value_counts().to_dict() == {"A": 8, "B": 2}   # 9th, 10th start at 80%, 90%
    neg = pd.Series([10.0, -3.0, 0.0])
    assert cc.abc_classes(neg).tolist() == ["A", "C", "C"]
    table = cc.abc_table(pd.Series([1.0]))
    assert table.index.tolist() == ["A", "B", "C"] and table["accounts"].tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="thresholds"):
        cc.abc_classes(s, (0.9, 0.8))


def test_whale_curve_peak():
    wc = cc.whale_curve(pd.Series({"x": 10.0, "y": 5.0, "z": -5.0}))
    assert wc["cumulative_profit"].tolist() == [10, 15, 10]
    assert wc.loc[wc["peak"], "account_id"].item() == "y"
    assert wc["cumulative_share"].iloc[1] == pytest.approx(1.5)


def test_strategy_quadrants_at_thresholds():
    value = pd.Series([10.0, 10.0, 1.0, 1.0, 5.0], index=list("abcde"))
    potential = pd.Series([9.0, 1.0, 9.0, 1.0, 5.0], index=list("abcde"))
    profit = pd.Series([1.0, 1.0, 1.0, -1.0, 1.0], index=list("abcde"))
    s = sg.strategy(value, potential, value_threshold=5.0, potential_threshold=5.0, profit=profit)
    assert s.to_dict() == {"a": "support_develop", "b": "maintain_efficiently", "c": "nurture_change",
                           "d": "cut_cost_exit", "e": "support_develop"}      # at threshold = high
    # low-low but profitable after cost-to-serve, or cost-to-serve unknown: maintained, not exited
    assert sg.strategy(value, potential, 5.0, 5.0, profit=-profit)["d"] == "maintain_efficiently"
    assert sg.strategy(value, potential, 5.0, 5.0)["d"] == "maintain_efficiently"
    frame = pd.DataFrame({"strategy": ["support_develop"], "gross_margin": [3.0], "cost_to_serve": [1.0],
                          "potential": [2.0]})
    table = sg.strategy_table(frame)
    assert table.index.tolist() == ["Support & develop", "Maintain efficiently", "Nurture & change behaviour",
                                    "Cut cost-to-serve or exit"]                # empty quadrants shown
    assert table.loc["Cut cost-to-serve or exit", "accounts"] == 0
    assert table.loc["Support & develop", "profit_after_cost_to_serve"] == 2.0
    assert sg.strategy_table(frame, "zh").index[0] == "重点发展"


def test_value_is_the_accounts_making_most_of_the_margin_and_exit_is_not_half_the_book():
    # a Pareto book: high value = the accounts that, largest first, make 80% of the margin
    margin = pd.Series([50.0, 30.0, 10.0, 5.0, 3.0, 2.0], index=list("abcdef"))
    assert sg.share_threshold(margin, 0.8) == 30.0 and sg.share_threshold(margin, 0.9) == 10.0
    assert sg.share_threshold(pd.Series([0.0, -1.0]), 0.8) == float("inf")
    rng = np.random.default_rng(30)
    for _ in range(20):                       # random books: no half of the book in 'exit' by construction
        n = 400
        value = pd.Series(rng.lognormal(10, 1.5, n))
        potential = pd.Series(rng.lognormal(10, 1.5, n))
        profit = value - rng.lognormal(9, 1.0, n)            # some accounts cost more to serve than they earn
        s = sg.strategy(value, potential, profit=profit)
        exit_ = s == "cut_cost_exit"
        assert (profit[exit_] < 0).all()
        assert exit_.mean() <= (profit < 0).mean() < 0.5
        hv = value >= s.attrs["value_threshold"]
        assert value[hv].sum() / value.sum() >= 0.8 > value[hv].sum() / value.sum() - value[hv].min() / value.sum()


def test_quantile_scores_are_tie_safe():
    v = pd.Series([0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
    scores, edges = sg.quantile_scores(v)
    assert scores[v == 0].nunique() == 1                                       # ties share a score
    assert scores.is_monotonic_increasing and scores.between(1, 5).all()
    r, _ = sg.quantile_scores(pd.Series([1, 50, 100]), 5, higher_is_better=False)
    assert r.iloc[0] > r.iloc[2]                                               # recent = better


def test_suggested_tiers_and_migration():
    margin = pd.Series(np.arange(100, 0, -1.0), index=[f"a{i}" for i in range(100)])
    tiers = service.suggested_tiers(margin)
    assert tiers.value_counts().to_dict() == {"C": 50, "B": 35, "A": 12, "strategic": 3}
    recorded = pd.Series(["C"] * 100, index=margin.index)
    assert service.tier_changes(recorded, tiers).value_counts()["upgrade"] == 50
    mig = service.tier_migration(recorded, tiers)
    assert mig.shape == (4, 4) and mig.loc["C", "strategic"] == 3 and mig.loc["A"].sum() == 0


def test_visit_compliance_on_hand_built_log():
    """Window 2026-01-05 (Mon) .. 2026-02-01 (Sun) = 4 full weeks; week of 2026-01-19 is a holiday week."""
    accounts = pd.DataFrame({
        "account_id": ["S1", "S2", "A1", "A2", "B1"],
        "tier": ["strategic", "strategic", "A", "A", "B"],
        "acquired_on": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-01", "2026-01-14", "2025-01-01"]),
        "churned_on": pd.to_datetime([None, None, None, None, None]),
    })
    rows = []
    for monday in pd.date_range("2026-01-05", periods=4, freq="7D"):
        rows += [("S1", monday), ("S1", monday + pd.Timedelta(days=3))]        # 2 a week: meets policy
        rows += [("A1", monday + pd.Timedelta(days=1))]                       # 1 a week: meets policy
    rows += [("S2", pd.Timestamp("2026-01-06"))] * 3                          # 3 in one week, none after
    rows += [("A2", pd.Timestamp("2026-01-20")), ("A2", pd.Timestamp("2026-01-27"))]
    rows += [("A1", pd.Timestamp("2026-02-02"))]                               # outside the window
    visits = pd.DataFrame(rows, columns=["account_id", "date"]).assign(kind="visit")
    calls = pd.DataFrame({"account_id": ["S2"] * 10, "date": pd.Timestamp("2026-01-13"), "kind": "call"})
    inter = pd.concat([visits, calls], ignore_index=True)
    policy = service.ServicePolicy(holidays=("2026-01-21",))
    c = service.visit_compliance(accounts, inter, "2026-01-05", "2026-02-01", policy)
    assert "B1" not in c.index                                                 # B has no policy
    assert c.loc["S1", "weeks"] == 3 and c.loc["S1", "visits"] == 6 and c.loc["S1", "compliant"]
    assert c.loc["S2", "visits"] == 3 and not c.loc["S2", "compliant"]         # calls do not count
    assert c.loc["S2", "weeks_meeting_policy"] == 1
    assert c.loc["A1", "weeks"] == 3 and c.loc["A1", "compliant"]
    # A2 acquired mid-window (Wed 2026-01-14): counted from the week of 2026-01-26 only (01-19 is holiday)
    assert c.loc["A2", "weeks"] == 1 and c.loc["A2", "visits"] == 1 and c.loc["A2", "compliant"]
    by = service.compliance_by_manager(c, accounts.assign(account_manager="Li"))
    assert by.loc["Li", "compliance_rate"] == pytest.approx(3 / 4)


def test_visit_compliance_counts_won_back_accounts_from_their_return():
    """4 full weeks from Mon 2026-01-05; one visit a week for each account."""
    accounts = pd.DataFrame({
        "account_id": ["W1", "W2", "C1"], "tier": ["A", "A", "A"],
        "acquired_on": pd.to_datetime(["2025-01-01"] * 3),
        "churned_on": pd.to_datetime(["2026-01-10", "2026-01-20", "2026-01-10"]),
        # W1 back on Tue of week 3; W2's win-back ended an earlier lapse; C1 never came back
        "won_back_on": pd.to_datetime(["2026-01-20", "2025-06-01", None]),
    })
    mondays = pd.date_range("2026-01-05", periods=4, freq="7D")
    visits = pd.DataFrame([(a, m + pd.Timedelta(days=1)) for a in accounts["account_id"] for m in mondays],
                          columns=["account_id", "date"]).assign(kind="visit")
    c = service.visit_compliance(accounts, visits, "2026-01-05", "2026-02-01")
    assert c.loc["W1", "weeks"] == 1 and c.loc["W1", "visits"] == 1       # week of 01-26 only
    assert c.loc["W2", "weeks"] == 2                                        # weeks of 01-05 and 01-12
    assert "C1" not in c.index                                              # no whole week in the book


def test_service_flags():
    tiers = pd.Series({"s": "strategic", "a": "A", "c": "C", "c2": "C"})
    vpw = pd.Series({"s": 1.0, "a": 1.5, "c": 1.2, "c2": 0.1})
    assert service.service_flags(tiers, vpw).to_dict() == {"s": "under-served", "a": "", "c": "over-served",
                                                           "c2": ""}


@pytest.fixture(scope="module")
def seg(small_dir):
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    return ds, sg.account_frame(ds)


def test_account_frame_and_metrics_on_book(seg):
    ds, s = seg
    f = s.frame
    m = s.metrics()
    tx = ds.transactions
    window = tx[tx["order_date"].between("2025-10-01", "2026-09-30")].groupby("account_id")[
        ["revenue", "gross_margin"]].sum()
    window = window[window["revenue"] > 0]
    assert m["top20_margin_share"] == pytest.approx(cc.top_share(window["gross_margin"]))
    assert m["gini_revenue"] == pytest.approx(cc.gini(window["revenue"]))
    assert len(window) > (f["revenue"] > 0).sum()          # churned accounts with window revenue count too
    assert sum(m[f"strategy_{k}"] for k in sg.STRATEGIES) == len(f)
    assert m["unprofitable_accounts_after_cost_to_serve"] == (f["gross_margin"] < f["cost_to_serve"]).sum()
    assert 0 <= m["service_compliance_rate"] <= 1 and s.potential_source == "potential_margin_growth"
    acc = ds.accounts.set_index("account_id")
    in_book = acc["churned_on"].isna() | (acc["churned_on"] > ds.analysis_date) | (acc["won_back_on"] > acc["churned_on"])
    ordered = ds.transactions.loc[ds.transactions["order_date"] <= ds.analysis_date, "account_id"].unique()
    assert set(f.index) == set(acc.index[in_book & acc.index.isin(ordered)])
    assert (acc["won_back_on"].reindex(f.index).notna()).any()          # won-back accounts are in the book
    # the cost-to-serve allocates all of the window's service costs plus visits
    w0, w1 = pd.Timestamp("2025-10-01"), pd.Timestamp("2026-09-30")
    cts = service.cost_to_serve(ds, w0, w1, visit_cost=0.0)
    costs = ds.costs[(ds.costs["kind"] == "service") & ds.costs["period"].between(w0, w1)]
    assert cts.sum() == pytest.approx(costs["amount"].sum())


def test_clusters_are_seeded_and_stable(seg):
    _, s = seg
    a, diag, prof = sg.clusters(s.frame)
    b, _, _ = sg.clusters(s.frame)
    assert (a == b).all() and diag["chosen"].sum() == 1
    assert prof["accounts"].sum() == len(s.frame)
    assert prof["revenue"].is_monotonic_decreasing


def test_price_flags(seg):
    ds, s = seg
    p_alive = pd.Series(0.1, index=s.frame.index)
    price = sg.price_sensitivity(ds, s.frame, p_alive=p_alive)
    deep = (s.frame["abc_class"] == "C") & (price["mean_discount_12m"] >= 0.10)
    assert (price.loc[deep, "price_flag"] == "deep discount, low value").all()
    rest = price[~deep]
    assert (rest["price_flag"] == np.where(rest["retention_offer_last_3m"], "", "at risk, no retention offer")).all()



def test_price_sensitivity_without_discount_data(data_copy):
    tx = pd.read_csv(data_copy / "transactions.csv").drop(columns="discount")
    tx.to_csv(data_copy / "transactions.csv", index=False)
    ds = load_dataset(data_copy, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    assert sg.price_sensitivity(ds, sg.account_frame(ds).frame) is None


def test_concentration_counts_every_account_with_window_revenue_churned_ones_too(tmp_path):
    """A book with known answers: two accounts churned during the window still count (docs/metrics.md)."""
    from conftest import tiny_accounts, write_tables
    acc = tiny_accounts(ids=("A1", "A2", "A3", "A4", "A5"),
                        acquired=("2024-01-01",) * 5)
    acc["churned_on"] = [None, None, None, "2026-03-31", "2026-05-31"]
    rev = {"A1": 100.0, "A2": 50.0, "A3": 25.0, "A4": 400.0, "A5": 60.0}
    margin = {"A1": 40.0, "A2": 10.0, "A3": 5.0, "A4": 100.0, "A5": 45.0}
    tx = pd.DataFrame({"account_id": list(rev), "order_date": ["2026-02-10"] * 5, "revenue": list(rev.values()),
                       "gross_margin": list(margin.values()), "product_category": "x"})
    ds = load_dataset(write_tables(tmp_path, accounts=acc, transactions=tx), analysis_date="2026-09-30",
                      today=TODAY)
    seg = sg.account_frame(ds)
    assert set(seg.frame.index) == {"A1", "A2", "A3"}                 # the strategy population: in the book
    m = seg.metrics()
    # top 20% = ceil(0.2 * 5) = 1 account: A4's 100 of 200
    assert m["top20_margin_share"] == pytest.approx(100 / 200)
    # 100 + 45 + 40 = 185 >= 160 (80%) after 3 of 5 accounts
    assert m["accounts_share_for_80pct_margin"] == pytest.approx(3 / 5)
    r = np.array(list(rev.values()))
    assert m["gini_revenue"] == pytest.approx(np.abs(r[:, None] - r[None, :]).sum() / (2 * len(r) ** 2 * r.mean()))
    assert m["hhi_revenue"] == pytest.approx(((r / r.sum()) ** 2).sum())


def test_whitespace_on_a_hand_built_peer_group(tmp_path):
    """Six machinery A accounts: five buy x (A1 does not), all buy y but A2 far below the others (for its size),
    two buy z. The potential is the peers' median share of margin in the category x the account's margin."""
    from conftest import tiny_accounts, write_tables
    ids = ("A1", "A2", "A3", "A4", "A5", "A6")
    acc = tiny_accounts(ids=ids, acquired=("2024-01-01",) * 6)
    margin = {("A2", "x"): 100, ("A3", "x"): 200, ("A4", "x"): 300, ("A5", "x"): 400, ("A6", "x"): 500,
              ("A1", "y"): 80, ("A2", "y"): 2, ("A3", "y"): 80, ("A4", "y"): 80, ("A5", "y"): 80, ("A6", "y"): 80,
              ("A3", "z"): 50, ("A4", "z"): 50}
    tx = pd.DataFrame([{"account_id": a, "product_category": c, "order_date": "2026-05-10", "revenue": 4.0 * v,
                        "gross_margin": float(v)} for (a, c), v in margin.items()])
    other = tiny_accounts(ids=("B1",), acquired=("2024-01-01",)).assign(industry="printing")  # its own group
    tx = pd.concat([tx, pd.DataFrame([{"account_id": "B1", "product_category": "x", "order_date": "2026-05-10",
                                       "revenue": 40.0, "gross_margin": 10.0}])])
    ds = load_dataset(write_tables(tmp_path, accounts=pd.concat([acc, other]), transactions=tx),
                      analysis_date="2026-09-30", today=TODAY)
    ws = sg.whitespace(ds)
    assert ws[["account_id", "product_category", "status"]].values.tolist() == [
        ["A1", "x", "not bought"], ["A2", "y", "below peers"]]
    a1 = ws.iloc[0]
    x_shares = [100 / 102, 200 / 330, 300 / 430, 400 / 480, 500 / 580]                   # the buyers' margin shares
    assert a1["peer_share"] == 1.0 and a1["peers"] == 5 and a1["account_margin"] == 80
    assert a1["potential"] == pytest.approx(np.median(x_shares) * 80)
    a2 = ws.iloc[1]
    y_shares = [1.0, 2 / 102, 80 / 330, 80 / 430, 80 / 480, 80 / 580]
    assert a2["margin"] == 2 and a2["potential"] == pytest.approx(np.median(y_shares) * 102 - 2)
    assert a2["revenue_share"] == pytest.approx(8 / 408)
    assert sg.whitespace_potential(ws).to_dict() == pytest.approx({"A1": a1["potential"], "A2": a2["potential"]})
    assert sg.whitespace(ds, min_share=0.9)["account_id"].tolist() == ["A1", "A2"]          # z (2 of 5) never is
    assert sg.whitespace(ds, min_peers=7).empty                                               # groups too small


def test_the_discount_correlation_is_pandas_per_account_correlation():
    """_corr_by_account (group sums) gives groupby(level=0).corr(): pairwise-complete rows, NaN for a single
    row or no variation."""
    from kamlib.analysis.segmentation import _corr_by_account
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 15, 800)
    index = pd.MultiIndex.from_arrays([np.repeat([f"A{i}" for i in range(len(sizes))], sizes),
                                       np.concatenate([np.arange(n) for n in sizes])])
    df = pd.DataFrame(rng.normal(size=(len(index), 2)), index=index, columns=["x", "y"])
    df.loc[df.sample(frac=0.05, random_state=1).index, "x"] = np.nan
    df.loc["A5", "y"] = 1.0
    ranks = df.groupby(level=0)[["x", "y"]].rank()
    expected = ranks.groupby(level=0).corr().xs("x", level=1)["y"]
    got = _corr_by_account(ranks["x"], ranks["y"]).reindex(expected.index)
    assert expected.isna().sum() > 20 and np.isnan(got["A5"])
    pd.testing.assert_series_equal(got, expected, check_names=False, rtol=1e-12)
