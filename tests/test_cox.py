"""The vectorised Breslow partial-likelihood fit (kamlib.models.cox) against statsmodels' PHReg, its risk sets
in counting-process form, recovery of known hazard ratios and monotone likelihood."""
import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from kamlib.analysis import survival
from kamlib.models.cox import CoxPH

RTOL = 1e-9


def _rows(seed: int = 0, n: int = 600):
    """Whole-day (entry, exit] rows: tied event times, entries at 0, inside the follow-up, at event times and
    equal to the exit; rows censored before the first event or entering after the last; four covariates on
    different scales (one a 0/1 dummy)."""
    rng = np.random.default_rng(seed)
    exit_ = rng.integers(1, 40, n).astype(float)
    entry = np.floor(exit_ * rng.random(n))
    entry[rng.random(n) < 0.2] = 0.0
    entry[:20] = exit_[:20]
    entry[20:25], exit_[20:25] = 36.0, 38.0
    status = (rng.random(n) < 0.4).astype(int)
    status[(exit_ < 3) | (exit_ > 35)] = 0          # rows before the first or entering after the last event
    x = np.column_stack([rng.normal(size=n), 3 * rng.normal(size=n), rng.poisson(2, n), rng.random(n) < 0.3])
    return exit_, entry, status, x.astype(float)


@pytest.fixture(scope="module")
def pair():
    """The rows with entries at event times moved half a day (later, or earlier for a row ending there): where
    no row enters at an event time, statsmodels' risk sets (entry <= t) are the counting process's (entry < t)."""
    exit_, entry, status, x = _rows()
    at_event = np.isin(entry, exit_[status == 1])
    assert at_event.sum() > 100
    entry = np.where(at_event, np.where(entry + 0.5 <= exit_, entry + 0.5, entry - 0.5), entry)
    assert (exit_ < exit_[status == 1].min()).any() and (entry > exit_[status == 1].max()).any()
    return CoxPH(exit_, x, status, entry), PHReg(exit_, x, status=status, entry=entry, ties="breslow")


def test_likelihood_score_and_hessian_equal_statsmodels(pair):
    own, ref = pair
    for beta in (np.zeros(4), np.array([0.3, -0.2, 0.15, 0.8]), np.array([-1.0, 0.4, -0.5, 2.0])):
        ll, score, hessian = own.derivatives(beta)
        np.testing.assert_allclose(ll, ref.loglike(beta), rtol=RTOL)
        np.testing.assert_allclose(ll, own.loglike(beta), rtol=1e-14)
        np.testing.assert_allclose(score, ref.score(beta), rtol=RTOL)
        np.testing.assert_allclose(hessian, ref.hessian(beta), rtol=RTOL)


def test_the_fit_equals_statsmodels(pair):
    own, ref = pair
    res, sm = own.fit(), ref.fit()
    assert res.converged and 3 <= res.iterations <= 10
    np.testing.assert_allclose(res.params, sm.params, rtol=RTOL)
    np.testing.assert_allclose(res.bse, sm.bse, rtol=RTOL)
    np.testing.assert_allclose(res.cov_params(), sm.cov_params(), rtol=RTOL)
    np.testing.assert_allclose(res.pvalues, sm.pvalues, rtol=1e-7)
    np.testing.assert_allclose(res.llf, sm.llf, rtol=RTOL)
    assert res.schoenfeld_residuals.shape == sm.schoenfeld_residuals.shape == own.exog.shape
    np.testing.assert_array_equal(np.isnan(res.schoenfeld_residuals), np.isnan(sm.schoenfeld_residuals))
    assert np.isnan(res.schoenfeld_residuals).all(axis=1).sum() == (own.event == 0).sum()
    np.testing.assert_allclose(res.schoenfeld_residuals, sm.schoenfeld_residuals, rtol=RTOL, atol=1e-12)


def test_risk_sets_hold_the_rows_with_entry_before_the_event_time():
    """The counting process, spelled out: at event time t the risk set is entry < t <= exit (rows entering at
    t, at zero length and at the exit among them); tied events share it (Breslow)."""
    exit_, entry, status, x = _rows(seed=1, n=80)
    assert np.isin(entry, exit_[status == 1]).sum() > 10
    beta = np.array([0.2, -0.1, 0.3, -0.4])
    eta = x @ beta
    ll = 0.0
    for t in np.unique(exit_[status == 1]):
        at_risk = (entry < t) & (t <= exit_)
        dead = (status == 1) & (exit_ == t)
        ll += eta[dead].sum() - dead.sum() * np.log(np.exp(eta[at_risk]).sum())
    np.testing.assert_allclose(CoxPH(exit_, x, status, entry).loglike(beta), ll, rtol=1e-12)


def _simulated(seed: int, accounts: int, beta: np.ndarray, whole_days: bool = False):
    """Constant-hazard lifetimes, censored uniformly; each account's (0, T] split into rows at its integer ages.
    Continuous times (no event at a row's entry), or ``whole_days`` (events and entries on the same days)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.poisson(1.0, accounts), rng.random(accounts) < 0.3, rng.normal(size=accounts)])
    t = rng.exponential(30 / np.exp(x @ beta))
    c = rng.uniform(0, 60, accounts)
    if whole_days:
        t, c = np.ceil(t), np.ceil(c)
    stop = np.minimum(t, c)
    n = np.ceil(stop).astype(int)
    acc = np.repeat(np.arange(accounts), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    exit_ = np.minimum(k + 1.0, stop[acc])
    status = ((k == n[acc] - 1) & (t <= c)[acc]).astype(int)
    return (stop, (t <= c).astype(int), x), (exit_, k.astype(float), status, x[acc].astype(float))


def test_a_simulation_recovers_the_hazard_ratios_and_splitting_rows_changes_nothing():
    beta = np.array([0.4, -0.7, 0.25])
    (stop, event, x), (exit_, entry, status, x_rows) = _simulated(seed=3, accounts=4000, beta=beta)
    split = CoxPH(exit_, x_rows, status, entry).fit()
    assert split.converged and len(exit_) > 5 * len(stop)
    assert (np.abs(split.params - beta) < 3 * split.bse).all(), (split.params, split.bse)
    assert (split.bse < 0.05).all()
    whole = CoxPH(stop, x, event).fit()
    np.testing.assert_allclose(split.params, whole.params, rtol=1e-10)
    np.testing.assert_allclose(split.bse, whole.bse, rtol=1e-10)


def test_rows_split_on_event_days_count_each_account_once():
    """Whole days: accounts churn on the days other accounts' month rows start. Split or whole, each account is
    at risk once at each time, so the fit is the same; statsmodels' rule (entry <= t) counts an account whose
    row starts on a churn day twice there, and its estimates move with the splitting."""
    beta = np.array([0.4, -0.7, 0.25])
    (stop, event, x), (exit_, entry, status, x_rows) = _simulated(seed=5, accounts=3000, beta=beta, whole_days=True)
    assert np.isin(entry, exit_[status == 1]).mean() > 0.5
    split, whole = CoxPH(exit_, x_rows, status, entry).fit(), CoxPH(stop, x, event).fit()
    np.testing.assert_allclose(split.params, whole.params, rtol=1e-10)
    np.testing.assert_allclose(split.bse, whole.bse, rtol=1e-10)
    np.testing.assert_allclose(split.llf, whole.llf, rtol=1e-12)
    sm = PHReg(exit_, x_rows, status=status, entry=entry, ties="breslow").fit()
    assert np.abs(sm.params - whole.params).max() > 1e-3


def test_a_covariate_that_separates_has_no_maximum():
    """A covariate 3 in the rows that end in churn and 1 elsewhere (not a 0/1 dummy, which :func:`cox` would
    leave out before fitting): the partial likelihood rises without bound. Newton runs out to where the score
    and the Hessian vanish in rounding; the standard error shows it is no maximum."""
    _, (exit_, entry, status, x) = _simulated(seed=4, accounts=300, beta=np.zeros(3))
    x[:, 1] = 1 + 2 * status
    res = CoxPH(exit_, x, status, entry).fit()
    assert res.params[1] > 10 and res.llf > res.model.loglike(np.zeros(3)) + 10
    assert not res.bse[1] * x[:, 1].std() <= survival.MAX_STANDARDISED_SE
    assert not survival._at_maximum(res)
    dur = pd.DataFrame({"duration_days": exit_, "entry_days": entry, "event": status})
    with pytest.raises(survival.CoxUnavailable, match="not estimable") as e:
        survival.cox(dur, pd.DataFrame(x, columns=["count", "churned", "z"]))
    assert e.value.key == "cox_not_estimable"


def test_invalid_rows_raise():
    with pytest.raises(ValueError, match="same number of rows"):
        CoxPH([1.0, 2.0], [0.0, 1.0, 2.0, 3.0], [1, 0])
    with pytest.raises(ValueError, match="entry times"):
        CoxPH([1.0, 2.0], [[0.0], [1.0]], [1, 0], entry=[0.0, 3.0])
    with pytest.raises(ValueError, match="no events"):
        CoxPH([1.0, 2.0], [[0.0], [1.0]], [0, 0])
    with pytest.raises(ValueError, match="status"):
        CoxPH([1.0, 2.0], [[0.0], [1.0]], [2, 0])
