"""What makes a valuation cheaper must not change it: CLV summed over a table of month ends equals the sum month
by month, and a P(alive) kept for reuse equals the one computed afresh, for its own parameters and accounts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kamlib.models import BGNBD, MBGNBD, ParetoNBD, paretonbd
from kamlib.models.transactions import monthly_discount_rate
from kamlib.models.simulate import simulate_bgnbd, simulate_mbgnbd, simulate_paretonbd

TRUTH = {"bgnbd": dict(r=0.6, alpha=4.0, a=0.8, b=2.5), "mbgnbd": dict(r=0.6, alpha=4.0, a=0.8, b=2.5),
         "paretonbd": dict(r=0.6, alpha=4.0, s=0.7, beta=40.0)}


def _fitted(model, simulate, truth, seed=3, n=800):
    rng = np.random.default_rng(seed)
    rfm = simulate(rng.uniform(26, 156, n), rng=rng, **truth)
    rfm.attrs["time_unit"] = "W"
    return model().fit(rfm), rfm


@pytest.mark.parametrize("model,simulate,truth", [(BGNBD, simulate_bgnbd, TRUTH["bgnbd"]),
                                                  (MBGNBD, simulate_mbgnbd, TRUTH["mbgnbd"]),
                                                  (ParetoNBD, simulate_paretonbd, TRUTH["paretonbd"])])
def test_clv_over_a_table_of_month_ends_equals_the_month_by_month_sum(model, simulate, truth):
    fit, rfm = _fitted(model, simulate, truth)
    d = monthly_discount_rate(0.10, "annual")
    by_month, previous = np.zeros(len(rfm)), np.zeros(len(rfm))
    for k in range(1, 37):
        cum = fit.expected_purchases_if_alive(fit.months_to_units(k), rfm)
        by_month += (cum - previous) / (1 + d) ** k
        previous = cum
    expected = by_month * 250.0 * fit.p_alive(rfm).to_numpy()
    got = fit.clv(rfm, 250.0, horizon_months=36, discount_rate=0.10).to_numpy()
    assert expected.sum() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_a_kept_p_alive_is_the_one_of_its_own_parameters_and_accounts():
    fit, rfm = _fitted(ParetoNBD, simulate_paretonbd, TRUTH["paretonbd"])
    paretonbd._kept_p_alive.clear()
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    age = np.zeros(len(rfm))
    theta = fit.params.to_numpy()
    first = fit.p_alive(rfm).to_numpy()
    np.testing.assert_array_equal(first, paretonbd.p_alive(theta, x, tx, T, age))
    again = fit.p_alive(rfm).to_numpy()
    np.testing.assert_array_equal(again, first)
    mine = fit.p_alive(rfm)
    mine.iloc[:] = -1.0                                 # a caller changing its Series changes nothing kept
    np.testing.assert_array_equal(fit.p_alive(rfm).to_numpy(), first)
    other = fit.with_params(theta * np.array([1.0, 1.0, 1.5, 1.0]))
    np.testing.assert_array_equal(other.p_alive(rfm).to_numpy(), paretonbd.p_alive(theta * [1, 1, 1.5, 1], x, tx, T, age))
    half = rfm.iloc[: len(rfm) // 2]
    np.testing.assert_array_equal(fit.p_alive(half).to_numpy(), first[: len(half)])
    younger = rfm.assign(T=rfm["T"] - 1.0)
    assert not np.array_equal(fit.p_alive(younger).to_numpy(), first)


def test_what_is_kept_stays_within_its_budget(monkeypatch):
    fit, rfm = _fitted(ParetoNBD, simulate_paretonbd, TRUTH["paretonbd"], n=200)
    paretonbd._kept_p_alive.clear()
    monkeypatch.setattr(paretonbd, "P_ALIVE_KEPT_BYTES", 5 * 200 * 8)
    for k in range(12):
        fit.with_params(fit.params.to_numpy() * (1 + k / 100)).p_alive(rfm)
    assert len(paretonbd._kept_p_alive) == 5
    assert sum(v.nbytes for v in paretonbd._kept_p_alive.values()) <= 5 * 200 * 8


def test_a_batch_kernel_values_the_book_once_for_the_clv_report_and_the_book_tables(small_dir, monkeypatch):
    """The CLV report values with its model check's choice, the book tables with that model named: in a batch
    kernel the second is the first's valuation (not computed again), and it equals a fresh valuation."""
    from kamlib.analysis import clv, memo
    from kamlib.data.loading import load_dataset
    from conftest import TODAY
    ds = load_dataset(small_dir, analysis_date="2026-10-31", today=TODAY)
    kw = dict(horizon_months=36, discount_rate=0.10, n_draws=20)
    fresh = clv.value_accounts(ds, "auto", **kw)                       # outside a batch: computed
    valued = []
    real = clv.account_value
    monkeypatch.setattr(clv, "account_value", lambda *a, **k: valued.append(a[1]) or real(*a, **k))
    memo.enable()
    try:
        check = clv.model_check(ds, 12)
        report = clv.value_accounts(ds, check=check, **kw)               # notebook 02
        tables = clv.value_accounts(ds, check.choice.chosen, holdout_months=12, **kw)   # the book tables
        other = clv.value_accounts(ds, check.choice.chosen, holdout_months=12, **{**kw, "n_draws": 0})
    finally:
        memo.enable(False)
    assert valued == [check.choice.chosen, check.choice.chosen]       # the report's, then the point values
    pd.testing.assert_frame_equal(tables.frame, report.frame)
    pd.testing.assert_frame_equal(report.frame, fresh.frame)
    assert other.frame["clv_lower"].isna().all() and not report.frame["clv_lower"].isna().all()
