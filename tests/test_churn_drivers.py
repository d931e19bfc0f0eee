"""Churn drivers without look-ahead: counting-process rows whose covariates come from before each period,
and recovery of the known hazard ratios of a simulated book."""
import json

import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import survival
from kamlib.data.generator import GeneratorConfig, generate_book
from kamlib.data.loading import load_dataset

from conftest import TODAY, tiny_accounts, write_tables


def _hand_built(tmp_path):
    acc = tiny_accounts(ids=("A1", "A2"), acquired=("2026-01-15", "2025-06-01"))
    acc["churned_on"] = ["2026-04-10", None]
    tx = pd.DataFrame({"account_id": ["A1", "A2"], "order_date": ["2026-01-15", "2025-06-01"],
                       "revenue": [100.0, 100.0], "gross_margin": [10.0, 10.0], "product_category": "x",
                       "discount": [0.1, 0.0]})
    inter = pd.DataFrame({"account_id": ["A1", "A1", "A1"], "kind": ["visit", "complaint", "complaint_resolved"],
                          "date": ["2026-01-31", "2026-02-02", "2026-03-01"]})
    pay = pd.DataFrame({"invoice_id": ["I1"], "account_id": ["A1"], "invoice_date": ["2026-01-15"],
                        "due_date": ["2026-02-10"], "paid_date": ["2026-02-20"], "amount": [100.0]})
    folder = write_tables(tmp_path, accounts=acc, transactions=tx, interactions=inter, payments=pay)
    return load_dataset(folder, analysis_date="2026-06-30", today=TODAY)


def test_counting_process_rows_measure_every_covariate_before_its_period(tmp_path):
    ds = _hand_built(tmp_path)
    rows = survival.periods(ds)
    a1 = rows[rows["account_id"] == "A1"].reset_index(drop=True)
    assert a1["period_start"].dt.strftime("%m-%d").tolist() == ["01-15", "02-01", "03-01", "04-01"]
    assert a1["entry_days"].tolist() == [0, 17, 45, 76] and a1["duration_days"].tolist() == [17, 45, 76, 86]
    assert a1["event"].tolist() == [0, 0, 0, 1]
    a2 = rows[rows["account_id"] == "A2"]
    assert len(a2) == 13 and a2["event"].sum() == 0 and a2["duration_days"].iloc[-1] == 395   # to 2026-06-30
    x, dropped = survival.lookback_covariates(ds, rows)
    x1 = x.loc[rows["account_id"] == "A1"].reset_index(drop=True)
    # the complaint of 2 February, the day after the February period starts, is not in February's covariate
    assert x1["complaints_90d"].tolist() == [0, 0, 1, 1]
    # resolved on 1 March, the day March starts: still open when March's covariate is measured
    assert x1["unresolved_complaints_90d"].tolist() == [0, 0, 1, 0]
    assert x1["visits_90d"].tolist() == [0, 1, 1, 1]
    assert x1["late_invoices_90d"].tolist() == [0, 0, 1, 1]           # due 10 February, paid late
    assert x1["discount_pct_90d"].tolist() == pytest.approx([0, 10, 10, 10])   # the 15 January order
    assert "credit_rating" in dropped and dropped["credit_rating"][0] == "cox_dropped_current_only"
    assert set(x.columns) >= {"tier_strategic", "tier_A", "tier_B"}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = generate_book(GeneratorConfig(n_accounts=3000, seed=11)).write(tmp_path_factory.mktemp("churn"))
    truth = json.loads((folder / "truth.json").read_text())["churn_hazard"]
    return load_dataset(folder, analysis_date="2026-10-31", today=TODAY), truth


def test_the_known_hazard_ratios_are_recovered(simulated):
    ds, truth = simulated
    res = survival.churn_drivers(ds)
    hr = res.hazard_ratios
    true = pd.Series(truth["hazard_ratios"])
    true = pd.concat([true, pd.Series({f"tier_{t}": v for t, v in truth["tier_hazard_ratios"].items()})])
    inside = (hr.loc[true.index, "lower"] <= true) & (true <= hr.loc[true.index, "upper"])
    assert inside.all(), hr
    # the drivers are told apart from no effect; payments and discounts have none in the simulation
    assert (hr.loc[list(truth["hazard_ratios"]), "p_value"] < 0.001).all()
    for name in ("late_invoices_90d", "discount_pct_90d"):
        assert hr.loc[name, "lower"] <= 1 <= hr.loc[name, "upper"]
    # the discrete-time hazard on the same rows agrees
    np.testing.assert_allclose(np.log(res.discrete.loc[true.index, "hazard_ratio"]),
                               np.log(hr.loc[true.index, "hazard_ratio"]), atol=0.1)
    assert res.events == ds.accounts["churned_on"].notna().sum() and res.accounts == len(ds.accounts)


@pytest.mark.slow
def test_hazard_ratio_intervals_cover_the_truth_over_seeds(tmp_path):
    """95% intervals of the three drivers cover the truth in most of 12 simulated books."""
    hits, runs = 0, 0
    for seed in range(12):
        folder = generate_book(GeneratorConfig(n_accounts=1500, seed=100 + seed)).write(tmp_path / str(seed))
        truth = pd.Series(json.loads((folder / "truth.json").read_text())["churn_hazard"]["hazard_ratios"])
        hr = survival.churn_drivers(load_dataset(folder, analysis_date="2026-10-31", today=TODAY)).hazard_ratios
        hits += int(((hr.loc[truth.index, "lower"] <= truth) & (truth <= hr.loc[truth.index, "upper"])).sum())
        runs += len(truth)
    assert hits / runs >= 0.85, hits / runs
