"""MBG/NBD (Batislam, Denizel & Filiztekin 2007), the BG/NBD in which an account may also drop out at time 0.

As in the BG/NBD an account buys as Poisson(lambda), lambda ~ Gamma(r, alpha), and drops out with probability
p ~ Beta(a, b) after each repeat purchase, but also right after its first purchase. So an account with a single
order can be dead (under the BG/NBD its P(alive) is 1). Individual likelihood, for every x:

    L = lambda^x [ (1-p)^(x+1) exp(-lambda T) + p (1-p)^x exp(-lambda t_x) ]

Alive at T, p has the posterior Beta(a, b + x + 1): the BG/NBD's conditional expectation with b -> b + 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from .base import Model
from .bgnbd import BGNBD, _arrays, _inner
from .simulate import simulate_mbgnbd
from .transactions import TransactionResults


class MBGNBDResults(TransactionResults):
    """Fitted MBG/NBD with predictions."""

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), for x = 0 too."""
        r, alpha, a, b = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        with np.errstate(all="ignore"):
            log_ratio = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return pd.Series(1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), index=rfm.index, name="p_alive")

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))] for a new account."""
        r, alpha, a, b = self.params.to_numpy()
        t = np.asarray(t, float)
        return b / (a - 1) * (1 - _inner(r, a, b + 1, 0.0, t / (alpha + t)))

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | alive, x, t_x, T] = (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] (the BG/NBD's with b -> b + 1)."""
        r, alpha, a, b = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        t = np.asarray(t, float)          # a number, or a column of times (k, 1) for a (k, accounts) table
        z = t / (alpha + T + t)
        return (a + b + x) / (a - 1) * (1 - _inner(r, a, b + 1, x, z))

    def sample_future(self, t, rfm: pd.DataFrame, rng: np.random.Generator, size: int | None = None,
                      alive: np.ndarray | None = None) -> np.ndarray:
        """Draws of each account's purchases in the next ``t`` from its posterior (one per account, or ``size``
        rows of them): alive with P(alive), then lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x+1) and
        min(Poisson(lambda t), Geometric(p)). ``alive``: their P(alive), when already computed."""
        r, alpha, a, b = self.params.to_numpy()
        x, _, T = _arrays(rfm)
        return _bg_future(rng, self._alive(rfm, alive), r + x, alpha + T, a, b + x + 1, t, size)

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0) -> pd.DataFrame:
        r, alpha, a, b = self.params.to_numpy()
        return simulate_mbgnbd(T, r=r, alpha=alpha, a=a, b=b, rng=rng, future=future)


def _bg_future(rng, p_alive, shape, rate, a, b, t, size: int | None = None) -> np.ndarray:
    """Purchases in the next ``t`` of BG-type accounts: alive with ``p_alive``, lambda ~ Gamma(shape, rate),
    dropout p ~ Beta(a, b) after each purchase (the purchase it drops out after counts); ``size`` rows of
    draws per account (one row when None)."""
    dims = (len(p_alive),) if size is None else (size, len(p_alive))
    alive = rng.random(dims) < p_alive
    lam = rng.gamma(shape, 1.0 / rate, size=dims)
    p = rng.beta(a, b, size=dims)
    k = rng.geometric(np.clip(p, 1e-300, 1.0))
    return np.where(alive, np.minimum(rng.poisson(lam * float(t)), k), 0)


class MBGNBD(Model):
    """MBG/NBD model of repeat purchasing. ``MBGNBD().fit(rfm)`` with columns frequency, recency, T."""

    param_names = ("r", "alpha", "a", "b")
    shape_names = ("r", "a", "b")
    long_name = "MBG/NBD"
    results_class = MBGNBDResults
    _prepare = BGNBD._prepare
    _initial = BGNBD._initial

    @staticmethod
    def _parts(theta, d):
        """log of the constant and of the two likelihood terms (alive at T; dropped out after t_x), per row."""
        r, alpha, a, b = theta
        x, xu, xi = d["frequency"], d["frequency_u"], d["frequency_i"]
        a0 = (gammaln(r + xu) - gammaln(r) + r * np.log(alpha))[xi]
        ln_b_ab = betaln(a, b)
        a1 = (betaln(a, b + xu + 1) - ln_b_ab)[xi] - (r + x) * np.log(alpha + d["T_u"])[d["T_i"]]
        a2 = (betaln(a + 1, b + xu) - ln_b_ab)[xi] - (r + x) * np.log(alpha + d["recency_u"])[d["recency_i"]]
        return a0, a1, a2

    def _loglik(self, theta, d):
        a0, a1, a2 = self._parts(theta, d)
        return a0 + np.logaddexp(a1, a2)

    def _loglik_grad(self, theta, d):
        r, alpha, a, b = theta
        x, xu, xi = d["frequency"], d["frequency_u"], d["frequency_i"]
        _, a1, a2 = self._parts(theta, d)
        w2 = np.exp(a2 - np.logaddexp(a1, a2))          # share of the dropped-out term
        inv_T = (1.0 / (alpha + d["T_u"]))[d["T_i"]]
        inv_tx = (1.0 / (alpha + d["recency_u"]))[d["recency_i"]]
        log_T = np.log(alpha + d["T_u"])[d["T_i"]]
        log_tx = np.log(alpha + d["recency_u"])[d["recency_i"]]
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xu + 1)[xi]
        da1, da2 = digamma(a) - psi_abx, digamma(a + 1) - psi_abx
        db1, db2 = digamma(b + xu + 1)[xi] - psi_abx, digamma(b + xu)[xi] - psi_abx
        return np.column_stack([
            (digamma(r + xu) - digamma(r))[xi] + np.log(alpha) - log_T + w2 * (log_T - log_tx),
            r / alpha - (r + x) * (inv_T + w2 * (inv_tx - inv_T)),
            -(digamma(a) - psi_ab) + da1 + w2 * (da2 - da1),
            -(digamma(b) - psi_ab) + db1 + w2 * (db2 - db1),
        ])


__all__ = ["MBGNBD", "MBGNBDResults"]
