"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) with a numerically stable likelihood.

While alive an account buys as Poisson(lambda), lambda ~ Gamma(r, alpha); its lifetime is Exponential(mu),
mu ~ Gamma(s, beta). The likelihood (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model") is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) (A(t_x) - A(T)) ]

where A(t) holds a Gauss hypergeometric function. Applying Euler's transformation turns it into
2F1(1, b; r+s+x+1; z) with 0 <= z < 1 and all terms positive, evaluated in logs, so large x and T (x = 221,
T = 103.6) stay finite:

    alpha >= beta:  log A(t) = -(r+x) log(alpha+t) - s log(beta+t) + log 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+t))
    alpha <  beta:  log A(t) = (1-r-x) log(alpha+t) - (s+1) log(beta+t) + log 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+t))
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, hyp2f1

from .base import Model
from .bgnbd import COLUMNS, _arrays
from .simulate import simulate_paretonbd
from .transactions import TransactionResults, prepare_rfm


def _log_hyp2f1_1(b, c, z):
    """log 2F1(1, b; c; z) for 0 <= z < 1 and c > b > 0 (all series terms positive).

    scipy's ``hyp2f1`` returns NaN in part of this range (large b, c - b small, z near 1: e.g. b = 195,
    c = 197.4, z = 0.998, met with large s and beta); those entries are computed as the expectation
    E[1 / (1 - z U)] with U ~ Beta(b, c - b) (Euler's integral), by adaptive quadrature."""
    with np.errstate(all="ignore"):
        out = np.log(hyp2f1(1.0, b, c, z))
    bad = ~np.isfinite(out)
    if np.any(bad):
        b_, c_, z_ = (np.broadcast_to(v, np.shape(out))[bad] for v in (b, c, z))
        out = np.array(out, float)
        out[bad] = [np.log(_hyp2f1_1_by_quadrature(*v)) for v in zip(b_, c_, z_)]
    return out


def _hyp2f1_1_by_quadrature(b: float, c: float, z: float) -> float:
    """2F1(1, b; c; z) = E[1 / (1 - z U)], U ~ Beta(b, c - b), for 0 <= z < 1 and c > b > 0.

    Integrated over w = log(1 - U), where the integrand is smooth and unimodal at every scale (the mass of
    1 - U sits near (c - b) / (c - 1), which can be 1e-5), split at its approximate mode."""
    from scipy import integrate
    lb = betaln(b, c - b)

    def integrand(w):
        v = np.exp(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_f = (c - b) * w + (b - 1) * np.log1p(-v) - lb - np.log((1 - z) + z * v)
        return np.exp(log_f) if np.isfinite(log_f) else 0.0
    mode = np.log(min(max((c - b) / max(c - 1, 1e-300), 1e-300), 0.5))
    opts = dict(limit=200, epsabs=0.0, epsrel=1e-11)
    with warnings.catch_warnings():     # roundoff near 1e-10 relative (checked against mpmath in the tests)
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(integrand, -np.inf, mode, **opts)[0] + integrate.quad(integrand, mode, 0.0, **opts)[0]


def _log_a(theta, x, t):
    r, alpha, s, beta = theta
    c = r + s + x + 1
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return -(r + x) * np.log(alpha + t) - s * np.log(beta + t) + _log_hyp2f1_1(r + x, c, z)
    z = (beta - alpha) / (beta + t)
    return (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t) + _log_hyp2f1_1(s + 1, c, z)


def _log_bracket_parts(theta, x, tx, T):
    """log of the two bracket terms: (alpha+T)^-(r+x)(beta+T)^-s and s/(r+s+x) (A(t_x) - A(T))."""
    r, alpha, s, beta = theta
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    la_tx, la_T = _log_a(theta, x, tx), _log_a(theta, x, T)
    with np.errstate(all="ignore"):
        diff = la_tx + np.log(-np.expm1(np.minimum(la_T - la_tx, 0.0)))   # log(A(tx) - A(T)), A decreasing
    second = np.log(s) - np.log(r + s + x) + np.where(tx < T, diff, -np.inf)
    return first, second


class ParetoNBDResults(TransactionResults):
    """Fitted Pareto/NBD with predictions."""

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = first / (first + second) of the likelihood bracket."""
        x, tx, T = _arrays(rfm)
        first, second = _log_bracket_parts(self.params.to_numpy(), x, tx, T)
        p = np.exp(first - np.logaddexp(first, second))
        return pd.Series(p, index=rfm.index, name="p_alive")

    @staticmethod
    def _growth(s, beta_t, t):
        """[1 - (beta_t/(beta_t+t))^(s-1)] / (s-1), with its limit log(1 + t/beta_t) at s = 1."""
        L = np.log1p(t / beta_t)
        with np.errstate(all="ignore"):
            g = -np.expm1(-(s - 1) * L) / (s - 1)
        return np.where(np.abs(s - 1) < 1e-10, L, g)

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] = r beta / alpha * [1 - (beta/(beta+t))^(s-1)] / (s-1) for a newly acquired account."""
        r, alpha, s, beta = self.params.to_numpy()
        t = np.asarray(t, float)
        return r * beta / alpha * self._growth(s, beta, t)

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | alive, x, t_x, T] = (r+x)(beta+T)/(alpha+T) * [1-((beta+T)/(beta+T+t))^(s-1)]/(s-1)."""
        r, alpha, s, beta = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        return (r + x) * (beta + T) / (alpha + T) * self._growth(s, beta + T, float(t))

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0) -> pd.DataFrame:
        r, alpha, s, beta = self.params.to_numpy()
        return simulate_paretonbd(T, r=r, alpha=alpha, s=s, beta=beta, rng=rng, future=future)


class ParetoNBD(Model):
    """Pareto/NBD model of repeat purchasing. ``ParetoNBD().fit(rfm)`` with columns frequency, recency, T.

    The gradient is taken by central differences of the vectorised likelihood (the hypergeometric term has
    no cheap closed-form derivative in its parameters); rows are compressed first.
    """

    param_names = ("r", "alpha", "s", "beta")
    long_name = "Pareto/NBD"
    results_class = ParetoNBDResults

    def _prepare(self, data, weights):
        return prepare_rfm(data, weights, self.long_name)

    def _initial(self, d, w):
        x = np.average(d["frequency"], weights=w)
        T = np.average(d["T"], weights=w)
        return np.array([0.5, max(T / max(x, 0.1), 0.1) / 2, 0.5, max(T, 1.0) / 4])

    def _loglik(self, theta, d):
        r, alpha, s, beta = theta
        x, tx, T = d["frequency"], d["recency"], d["T"]
        first, second = _log_bracket_parts(theta, x, tx, T)
        return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(first, second)

    def _loglik_grad(self, theta, d):
        """Per-row gradient by central differences in log-parameter space (vectorised over rows)."""
        k = len(theta)
        g = np.empty((d["frequency"].size, k))
        h = 1e-6
        for i in range(k):
            up, dn = theta.copy(), theta.copy()
            up[i] *= np.exp(h)
            dn[i] *= np.exp(-h)
            g[:, i] = (self._loglik(up, d) - self._loglik(dn, d)) / (2 * h * theta[i])
        return g


__all__ = ["ParetoNBD", "ParetoNBDResults", "COLUMNS"]
