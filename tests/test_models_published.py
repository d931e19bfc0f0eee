"""Every model against published estimates: CDNOW (Fader, Hardie & Lee 2005) and the sBG paper (2007)."""
from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest

from kamlib.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD, ShiftedBetaGeometric

from conftest import ROOT

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]           # Fader & Hardie (2007), years 0-7
REGULAR_LATER = [223, 207, 194, 183, 173]                     # actual years 8-12


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    d = pd.read_csv(ROOT / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    rfm = pd.DataFrame({"frequency": d["x"].to_numpy(), "recency": d["t_x"].to_numpy(), "T": d["T"].to_numpy(),
                        "monetary_value": d["zbar"].to_numpy()}, index=d["ID"])
    rfm.attrs["time_unit"] = "W"
    return rfm


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return BGNBD().fit(cdnow)


@pytest.fixture(scope="module")
def paretonbd(cdnow):
    return ParetoNBD().fit(cdnow)


def test_bgnbd_cdnow_estimates(bgnbd):
    assert bgnbd.converged
    assert bgnbd.params.round(3).to_dict() == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(bgnbd.llf, 1) == -9582.4
    assert bgnbd.nobs == 2357
    assert bgnbd.aic == pytest.approx(2 * 9582.43 + 8, abs=0.05)


def test_bgnbd_conditional_expectation_published(bgnbd):
    """FHL (2005): a customer with x=2, t_x=30.43, T=38.86 is expected to make 1.226 purchases in 39 weeks."""
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    paper = bgnbd.with_params([0.243, 4.414, 0.793, 2.426])
    assert paper.expected_purchases(39, one).iloc[0] == pytest.approx(1.226, abs=5e-4)


def _hyp2f1_series(a, b, c, z):
    """2F1(a, b; c; z) by its power series in 40-digit arithmetic (mpmath's general routine is slow for
    parameters of 1e7)."""
    mpmath.mp.dps = 40
    a, b, c, z = map(mpmath.mpf, (a, b, c, z))
    total, term, n = mpmath.mpf(1), mpmath.mpf(1), 0
    while abs(term) > mpmath.mpf(10) ** -35 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


@pytest.mark.parametrize("theta", [(0.243, 4.414, 0.793, 2.426), (1.6059, 7.5984, 4.13976e5, 3.95676e7)])
def test_bgnbd_expected_purchases_match_the_series(bgnbd, theta):
    # the second: a fit at the boundary (a, b huge), where Euler's form underflows times overflows
    r, alpha, a, b = theta
    res = bgnbd.with_params(list(theta))
    rows = pd.DataFrame({"frequency": [0.0, 5.0, 30.0], "recency": [0.0, 100.0, 230.0], "T": [50.0, 120.0, 240.0]})
    got = res.expected_purchases_if_alive(52.0, rows)
    want = []
    for x, _, T in rows.to_numpy():
        z = mpmath.mpf(52) / (alpha + T + 52)
        inner = (1 - z) ** (r + x) * _hyp2f1_series(r + x, b + x, a + b + x - 1, z)
        want.append(float((a + b + x - 1) / (a - 1) * (1 - inner)))
    np.testing.assert_allclose(got, want, rtol=1e-9)
    z = mpmath.mpf(52) / (alpha + 52)
    new = float((a + b - 1) / (a - 1) * (1 - (1 - z) ** r * _hyp2f1_series(r, b, a + b - 1, z)))
    assert res.expected_purchases_new(np.array([52.0]))[0] == pytest.approx(new, rel=1e-9)


def test_paretonbd_cdnow_estimates_and_standard_errors(paretonbd):
    assert paretonbd.converged
    ref = pd.Series({"r": 0.5532, "alpha": 10.576, "s": 0.6062, "beta": 11.672})
    np.testing.assert_allclose(paretonbd.params[ref.index], ref, rtol=1e-3)
    assert paretonbd.llf == pytest.approx(-9594.976, abs=0.01)
    assert paretonbd.llf >= -9594.976 - 1e-3          # at least as good as the published maximum
    se = pd.Series({"r": 0.048, "alpha": 0.843, "s": 0.187, "beta": 6.21})
    np.testing.assert_allclose(paretonbd.bse[se.index], se, rtol=0.02)


def test_gammagamma_cdnow_estimates(cdnow):
    gg = GammaGamma().fit(cdnow)
    assert gg.converged
    assert gg.nobs == (cdnow["frequency"] > 0).sum() == 946
    # published p=6.25, q=3.74, gamma=15.44 (the last digit truncated: the maximum is at gamma=15.4477, where
    # the score is zero; lifetimes prints 15.45)
    assert gg.params.round(2)[["p", "q"]].to_list() == [6.25, 3.74]
    assert 15.44 <= gg.params["gamma"] < 15.45
    score = gg._data["w"] @ gg.model._loglik_grad(gg.params.to_numpy(), gg._data["d"])
    np.testing.assert_allclose(score, 0, atol=1e-4)
    spend = gg.expected_spend(cdnow)
    np.testing.assert_allclose(spend[cdnow["frequency"] == 0], gg.mean_spend, rtol=1e-12)
    assert -0.3 < gg.frequency_spend_correlation < 0.3


def _paretonbd_loglik_mpmath(r, alpha, s, beta, x, tx, T):
    """The textbook Pareto/NBD likelihood (no transformation) in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    r, alpha, s, beta, x, tx, T = map(mpmath.mpf, (r, alpha, s, beta, x, tx, T))
    if alpha >= beta:
        f = lambda t: mpmath.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** (r + s + x)  # noqa: E731
    else:
        f = lambda t: mpmath.hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + t)) / (beta + t) ** (r + s + x)  # noqa: E731
    a0 = f(tx) - f(T)
    like = (mpmath.gamma(r + x) * alpha ** r * beta ** s / mpmath.gamma(r)
            * (1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / (r + s + x) * a0))
    return float(mpmath.log(like))


@pytest.mark.parametrize("theta,row", [
    ((0.51, 2.88, 0.29, 14.1), (221, 103.4, 103.6)),      # the case that overflows naive implementations
    ((0.51, 14.1, 0.29, 2.88), (221, 103.4, 103.6)),      # alpha > beta branch
    ((0.5532, 10.576, 0.6062, 11.672), (0, 0, 38.86)),
    ((0.5532, 10.576, 0.6062, 11.672), (14, 35.0, 38.0)),
    ((2.0, 5.0, 5.0, 5.0), (3, 10.0, 20.0)),              # alpha == beta
    # large s and beta (nearly the same dropout rate for everyone), where scipy's hyp2f1 returns NaN
    ((1.654, 5.785, 193.8, 126694.4), (1, 32.714, 247.286)),
    ((1.654, 5.785, 193.8, 126694.4), (0, 0.0, 151.714)),
    ((1.654, 5.785, 193.8, 126694.4), (2, 121.714, 164.429)),
    ((0.9, 3.0, 2e4, 1e7), (40, 230.0, 237.7)),
])
def test_paretonbd_loglik_is_stable_and_exact(theta, row):
    d = {"frequency": np.array([row[0]], float), "recency": np.array([row[1]]), "T": np.array([row[2]])}
    ll = ParetoNBD()._loglik(np.array(theta), d)[0]
    assert np.isfinite(ll)
    assert ll == pytest.approx(_paretonbd_loglik_mpmath(*theta, *row), rel=1e-9, abs=1e-9)


def test_log_hyp2f1_1_matches_mpmath_where_scipy_fails():
    from kamlib.models.paretonbd import _log_hyp2f1_1
    cases = [(194.79, 197.447, 0.9980064), (50.0, 300.0, 0.999), (1e5, 1e5 + 2.6, 0.99999), (1e5, 1e5 + 230, 0.99999),
             (2.0, 2.5, 0.9999), (0.9, 300.9, 0.5), (1e4, 1e4 + 0.05, 0.998), (1.5, 3.0, 0.3),
             (132.57, 140.548, 1 - 1.494e-5),         # scipy finite but 3e-5 off in the log
             (8.6169e6, 8.6169e6 + 4.586, 1 - 4.1e-8), (148.59, 8393.1, 0.90286)]
    b, c, z = map(np.array, zip(*cases))
    got = _log_hyp2f1_1(b, c, z)
    mpmath.mp.dps = 30
    want = [float(mpmath.log(mpmath.hyp2f1(1, *v))) for v in cases]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_log_hyp2f1_1_by_trapezoid_matches_mpmath_over_its_domain():
    # random b >= 1, c - b in [0.01, 1e4], z near 1 (mpmath's hyp2f1; b <= 1e5 keeps it fast) or in [0, 0.9]
    # (the 40-digit series; b up to 1e7)
    from kamlib.models.paretonbd import _log_hyp2f1_1_by_trapezoid
    rng = np.random.default_rng(7)
    n = 60
    near = rng.random(n) < 0.5
    b = 10 ** rng.uniform(0, np.where(near, 5, 7))
    d = 10 ** rng.uniform(-2, 4, n)
    z = np.where(near, 1 - 10 ** rng.uniform(-9, -2, n), rng.uniform(0, 0.9, n))
    got = _log_hyp2f1_1_by_trapezoid(b, b + d, z)
    mpmath.mp.dps = 30
    want = [float(mpmath.log(mpmath.hyp2f1(1, *v) if close else _hyp2f1_series(1, *v)))
            for close, v in zip(near, zip(b, b + d, z))]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_paretonbd_p_alive_for_large_s_and_beta_matches_mpmath(paretonbd):
    r, alpha, s, beta = theta = (1.654, 5.785, 193.8, 126694.4)
    rows = pd.DataFrame({"frequency": [1.0, 0.0, 2.0, 5.0], "recency": [32.714, 0.0, 121.714, 76.857],
                         "T": [247.286, 151.714, 164.429, 243.714]})
    got = paretonbd.with_params(list(theta)).p_alive(rows).to_numpy()
    mpmath.mp.dps = 50
    want = []
    for x, tx, T in rows.to_numpy():
        ll = _paretonbd_loglik_mpmath(r, alpha, s, beta, x, tx, T)
        first = (mpmath.loggamma(r + x) + r * mpmath.log(alpha) + s * mpmath.log(beta) - mpmath.loggamma(r)
                 - (r + x) * mpmath.log(alpha + T) - s * mpmath.log(beta + T))
        want.append(float(mpmath.exp(first - ll)))            # P(alive) = first bracket term / whole bracket
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_paretonbd_predictions_finite_for_heavy_buyer(paretonbd):
    res = paretonbd.with_params([0.51, 2.88, 0.29, 14.1])
    heavy = pd.DataFrame({"frequency": [221.0], "recency": [103.4], "T": [103.6]})
    p = res.p_alive(heavy).iloc[0]
    e = res.expected_purchases(10, heavy).iloc[0]
    assert 0.99 < p <= 1 and np.isfinite(e)
    # an alive buyer of 221 purchases in ~103 weeks keeps buying at roughly that rate
    assert e == pytest.approx(10 * 221.5 / 106.5, rel=0.05)


def test_sbg_regular_cohort_fader_hardie_2007():
    res = ShiftedBetaGeometric().fit(REGULAR)
    assert res.converged
    assert res.params.round(3).to_dict() == {"alpha": 0.704, "beta": 1.182}
    assert res.nobs == 1000
    # projections for years 8-12 from the paper's parameters; S(t) as the product of retention rates
    paper = res.with_params([0.704, 1.182])
    t = np.arange(8, 13)
    product = np.array([np.prod(paper.retention_rate(np.arange(1, k + 1))) for k in t])
    np.testing.assert_allclose(paper.survival(t), product, rtol=1e-12)
    projected = 1000 * paper.survival(t)
    np.testing.assert_array_equal(np.round(projected), [220, 204, 191, 180, 170])
    np.testing.assert_allclose(projected, REGULAR_LATER, rtol=0.02)   # the paper's point: good projections


def test_sbg_derl_matches_brute_force_sum():
    res = ShiftedBetaGeometric().fit(REGULAR)
    for renewals in (0, 1, 4):   # S(t) decays polynomially; (1 + d)^-t makes 3000 terms exact
        for d in (0.1, 0.25):
            t = np.arange(renewals + 1, 3000)
            brute = np.sum(res.survival(t) / res.survival(renewals) / (1 + d) ** (t - renewals - 1))
            assert res.derl(d, renewals) == pytest.approx(brute, rel=1e-9)
    # a new contract's lifetime = first payment + the residual lifetime seen one period later, discounted
    assert res.del_(0.1) == pytest.approx(1 + res.derl(0.1, 0) / 1.1, rel=1e-12)
    # DERL rises with tenure (survivors are the better accounts)
    assert res.derl(0.1, 5) > res.derl(0.1, 1) > res.derl(0.1, 0)


def test_sbg_several_cohorts_and_bad_input():
    two = ShiftedBetaGeometric().fit([REGULAR, REGULAR[:5]])
    assert two.nobs == 2000
    frame = pd.DataFrame({"a": REGULAR, "b": REGULAR[:5] + [np.nan] * 3})
    assert ShiftedBetaGeometric().fit(frame).params.to_numpy() == pytest.approx(two.params.to_numpy(), rel=1e-6)
    with pytest.raises(ValueError, match="period 2 has 700"):
        ShiftedBetaGeometric().fit([1000, 600, 700])


def test_mbgnbd_cdnow_estimates_match_lifetimes(cdnow):
    """lifetimes' ModifiedBetaGeoFitter on CDNOW (its test suite, after BTYDplus): r=0.525, alpha=6.183,
    a=0.891, b=1.614."""
    mbg = MBGNBD().fit(cdnow)
    assert mbg.converged and mbg.nobs == 2357
    assert mbg.params.round(3).to_dict() == {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    assert mbg.llf > BGNBD().fit(cdnow).llf              # -9582.13 against the BG/NBD's -9582.43
    assert mbg.bse.notna().all() and "MBG/NBD" in mbg._repr_html_()
    # a single-order account, and an account without repeat purchases, can be dead (under the BG/NBD P = 1)
    rows = pd.DataFrame({"frequency": [0, 1], "recency": [0.0, 2.0], "T": [40.0, 40.0]})
    assert (mbg.p_alive(rows) < 0.6).all()
    # lifetimes' conditional expectation for FHL's customer (x=2, t_x=30.43, T=38.86, 39 weeks): 1.226 +- 0.05
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert mbg.expected_purchases(39, one).iloc[0] == pytest.approx(1.226, abs=0.05)


def test_mbgnbd_expected_purchases_match_the_series(cdnow):
    r, alpha, a, b = 0.525, 6.183, 0.891, 1.614
    res = MBGNBD().fit(cdnow.iloc[:300]).with_params([r, alpha, a, b])
    rows = pd.DataFrame({"frequency": [0.0, 5.0, 30.0], "recency": [0.0, 100.0, 230.0], "T": [50.0, 120.0, 240.0]})
    got = res.expected_purchases_if_alive(52.0, rows)
    want = []
    for x, _, T in rows.to_numpy():
        z = mpmath.mpf(52) / (alpha + T + 52)
        inner = (1 - z) ** (r + x) * _hyp2f1_series(r + x, b + x + 1, a + b + x, z)
        want.append(float((a + b + x) / (a - 1) * (1 - inner)))
    np.testing.assert_allclose(got, want, rtol=1e-9)
    z = mpmath.mpf(52) / (alpha + 52)
    new = float(b / (a - 1) * (1 - (1 - z) ** r * _hyp2f1_series(r, b + 1, a + b, z)))
    assert res.expected_purchases_new(np.array([52.0]))[0] == pytest.approx(new, rel=1e-9)
