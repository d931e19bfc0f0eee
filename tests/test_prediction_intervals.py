"""Per-account prediction intervals (ranges) against simulated books with known truth: the 90% interval of an
account's holdout purchases, and of its holdout value, holds the actual outcome of 85-97% of accounts; the band
of the expected value alone (parameter uncertainty) holds almost none."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import clv
from kamlib.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from kamlib.models import prediction
from kamlib.models.simulate import simulate_bgnbd, simulate_mbgnbd, simulate_paretonbd

# key accounts: frequent buyers (about 13 purchase days a year) that rarely drop out; spend Gamma-Gamma
BG = {"r": 2.0, "alpha": 8.0, "a": 2.0, "b": 200.0}
PN = {"r": 2.0, "alpha": 8.0, "s": 1.5, "beta": 600.0}
GG = {"p": 5.0, "q": 4.0, "gamma": 30.0}
YEAR = 12 * 365.25 / 12 / 7          # the 12-month holdout in weeks


def _book(simulate, truth, seed, n=1000, ages=(26, 156)):
    """Calibration summary (frequency, recency, T, monetary_value) and the actual holdout purchases and value."""
    rng = np.random.default_rng(seed)
    sim = simulate(rng.uniform(*ages, n), rng=rng, future=YEAR, **truth)
    nu = rng.gamma(GG["q"], 1 / GG["gamma"], n)
    x, future = sim["frequency"].to_numpy(), sim["frequency_future"].to_numpy()
    sim["monetary_value"] = np.where(x > 0, rng.gamma(GG["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0)
    sim["value_future"] = np.where(future > 0, rng.gamma(GG["p"] * np.maximum(future, 1), 1 / nu), 0.0)
    sim.attrs["time_unit"] = "W"
    return sim


@pytest.mark.parametrize("model,truth,simulate,seed", [(BGNBD, BG, simulate_bgnbd, 1), (BGNBD, BG, simulate_bgnbd, 3),
                                                       (MBGNBD, BG, simulate_mbgnbd, 2),
                                                       (ParetoNBD, PN, simulate_paretonbd, 3)])
def test_ninety_percent_intervals_hold_the_holdout_of_85_to_97_percent_of_accounts(model, truth, simulate, seed):
    book = _book(simulate, truth, seed)
    res = model(time_unit="W").fit(book)
    assert res.converged
    purchases = clv.purchase_interval(res, book, YEAR, level=0.9)
    assert (purchases["lower"] <= purchases["upper"]).all()
    assert np.array_equal(purchases["lower"], np.round(purchases["lower"]))          # counts
    hit = prediction.coverage(purchases["lower"], purchases["upper"], book["frequency_future"])
    assert 0.85 <= hit <= 0.97, hit
    # the value over the same 12 months (no discount): purchases x spend from the Gamma-Gamma posterior
    spend = GammaGamma().fit(book)
    value = prediction.value_interval(res, book, spend, horizon_months=12, discount_rate=0.0, level=0.9)
    hit_value = prediction.coverage(value["lower"], value["upper"], book["value_future"])
    assert 0.85 <= hit_value <= 0.97, hit_value
    # the band of the expected value (parameter draws only) is no range of the account's outcome
    draws = np.vstack([res.with_params(p).expected_purchases(YEAR, book).to_numpy() for p in res.draw_params(100)])
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    assert prediction.coverage(lo, hi, book["frequency_future"]) < 0.2


def test_a_narrower_level_gives_a_nested_interval_and_discounting_scales_the_value():
    book = _book(simulate_bgnbd, BG, 1, n=600)
    res = BGNBD(time_unit="W").fit(book)
    wide = clv.purchase_interval(res, book, YEAR, level=0.9)
    narrow = clv.purchase_interval(res, book, YEAR, level=0.5)
    assert (narrow["lower"] >= wide["lower"]).all() and (narrow["upper"] <= wide["upper"]).all()
    assert (narrow["upper"] - narrow["lower"]).mean() < (wide["upper"] - wide["lower"]).mean()
    np.testing.assert_allclose(wide["expected"], res.expected_purchases(YEAR, book))
    spend = GammaGamma().fit(book)
    flat = prediction.value_interval(res, book, spend, horizon_months=24, discount_rate=0.0)
    disc = prediction.value_interval(res, book, spend, horizon_months=24, discount_rate=0.2)
    ratio = (disc["upper"] / flat["upper"])[flat["upper"] > 0]
    assert ((ratio > 1 / 1.2 ** 2) & (ratio < 1)).all()
    with pytest.raises(ValueError, match="level"):
        clv.purchase_interval(res, book, YEAR, level=1.5)


def test_a_book_of_accounts_that_have_mostly_lapsed_is_covered_at_least_at_the_level():
    # sparse buyers, most gone: the interval of a lapsed account is 0 to 0 and holds more than 90% of its
    # probability (a count cannot be cut finer), so coverage runs above the level, never below
    book = _book(simulate_bgnbd, {"r": 0.8, "alpha": 5.0, "a": 0.7, "b": 3.0}, 5, n=1500, ages=(26, 104))
    res = BGNBD(time_unit="W").fit(book)
    hit = prediction.coverage(*clv.purchase_interval(res, book, YEAR)[["lower", "upper"]].T.to_numpy(),
                              book["frequency_future"])
    assert 0.9 <= hit <= 0.99, hit
