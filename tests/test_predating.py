"""Accounts older than the order history: a simulated book whose accounts were acquired years before its
data start, with known Pareto/NBD parameters. Taking their first order in the data as their birth biases the
fit and the tracking; calibrating on the accounts acquired inside the data (``left_truncation=False``, and the
treatment of BG/NBD and MBG/NBD) recovers the truth. The left-truncated fit on every account:
tests/test_left_truncation.py."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import clv
from kamlib.data.loading import load_dataset
from kamlib.models import ParetoNBD

from conftest import TODAY, tiny_accounts, write_tables

TRUTH = {"r": 1.5, "alpha": 10.0, "s": 0.8, "beta": 60.0}       # weeks
START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2026-09-30")


def _book(tmp_path, n=6000, seed=2):
    """Pareto/NBD accounts acquired uniformly over 6 years before the data start and the 4.7 years of data;
    their purchases (the first at acquisition) are seen only from the data start."""
    rng = np.random.default_rng(seed)
    span = (END - START).days
    acq = rng.integers(-6 * 365, span, n)                           # days from the data start
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n) / 7          # purchases per day
    mu = rng.gamma(TRUTH["s"], 1 / TRUTH["beta"], n) / 7
    death = acq + rng.exponential(1 / mu)
    stop = np.minimum(death, span + 1)
    k = rng.poisson(lam * np.clip(stop - acq, 0, None))
    i = np.concatenate([np.arange(n), np.repeat(np.arange(n), k)])
    day = np.concatenate([acq, acq[np.repeat(np.arange(n), k)] + rng.random(k.sum()) * (stop - acq)[
        np.repeat(np.arange(n), k)]]).astype(int)
    seen = (day >= 0) & (day <= span)
    ids = np.array([f"P{j:05d}" for j in range(n)])
    listed = np.unique(i[seen])                                      # accounts with an order in the data
    acc = tiny_accounts(ids=tuple(ids[listed]), acquired=tuple((START + pd.to_timedelta(acq[listed], "D"))
                                                               .strftime("%Y-%m-%d")))
    tx = pd.DataFrame({"account_id": ids[i[seen]], "order_date": START + pd.to_timedelta(day[seen], "D"),
                       "revenue": 100.0, "gross_margin": 20.0, "product_category": "x"})
    return load_dataset(write_tables(tmp_path, accounts=acc, transactions=tx), analysis_date=END, today=TODAY)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return _book(tmp_path_factory.mktemp("predating"))


def test_accounts_older_than_the_data_are_found(book):
    old, start = clv.predating_accounts(book)
    acquired = book.accounts.set_index("account_id")["acquired_on"]
    assert start == pd.Timestamp(book.transactions["order_date"].min())
    assert set(old) == set(acquired.index[acquired < start - pd.Timedelta(days=31)]) and len(old) > 1000


def test_calibrating_inside_the_data_recovers_the_truth_where_the_first_order_as_birth_does_not(book):
    check = clv.model_check(book, 12, model="paretonbd", left_truncation=False)
    assert len(check.predating) > 1000 and not check.rfm.index.isin(check.predating).any()
    fit = check.choice.calibration_fits["paretonbd"]
    ci = fit.conf_int()
    truth = pd.Series(TRUTH)
    assert ((ci["lower"] <= truth) & (truth <= ci["upper"])).all(), (fit.params, ci)
    everyone = clv.holdout_summary(book, 12)
    naive = ParetoNBD().fit(everyone)                       # older accounts born at their first order in the data
    naive_ci = naive.conf_int()
    assert not ((naive_ci["lower"] <= truth) & (truth <= naive_ci["upper"])).all(), naive.params
    # the calibration-period tracking of the accounts the model describes is not biased
    track = clv.tracking(fit, book, check.rfm, check.calibration_end)
    at_cal_end = track[track.index <= check.calibration_end].iloc[-1]
    assert at_cal_end["expected"] == pytest.approx(at_cal_end["actual"], rel=0.05)
    naive_track = clv.tracking(naive, book, everyone, check.calibration_end)
    at = naive_track[naive_track.index <= check.calibration_end].iloc[-1]
    assert abs(at["expected"] / at["actual"] - 1) > 0.05


def test_every_account_is_valued_with_the_inside_calibration(book):
    import warnings

    from kamlib.models import ConvergenceWarning
    with warnings.catch_warnings(record=True) as caught:             # every order is worth 100: no spend variance,
        warnings.simplefilter("always", ConvergenceWarning)         # so Gamma-Gamma has no interior maximum
        value = clv.value_accounts(book, "auto", n_draws=0, left_truncation=False)
    assert any(isinstance(w.message, ConvergenceWarning) and "Gamma-Gamma" in str(w.message) for w in caught)
    assert len(value.frame) == book.transactions["account_id"].nunique()
    assert value.purchases.nobs == len(value.frame) - len(clv.predating_accounts(book)[0])
