"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each repeat
purchase it becomes inactive with probability p ~ Beta(a, b). Inputs per account: frequency x (repeat
purchases), recency t_x and age T, in one time unit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1

from .base import FitResults, Model
from .simulate import simulate_bgnbd
from .transactions import TransactionResults, prepare_rfm

COLUMNS = ["frequency", "recency", "T"]


def _arrays(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (rfm["frequency"].to_numpy(float), rfm["recency"].to_numpy(float), rfm["T"].to_numpy(float))


def _inner(r, a, b, x, z):
    """(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) of the BG/NBD predictions, by Euler's transformation
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), finite for large x and T, and directly where that form
    overflows (a and b very large, e.g. a fit at the boundary: (1-z)^(a-1) underflows as 2F1 overflows)."""
    with np.errstate(all="ignore"):
        out = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        bad = ~np.isfinite(out)
        if np.any(bad):
            direct = (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
            out = np.where(bad, direct, out)
    return out


class BGNBDResults(TransactionResults):
    """Fitted BG/NBD with predictions."""

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        r, alpha, a, b = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        with np.errstate(all="ignore"):
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        p = np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)
        return pd.Series(p, index=rfm.index, name="p_alive")

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] for a customer just acquired (unconditional)."""
        r, alpha, a, b = self.params.to_numpy()
        t = np.asarray(t, float)
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - _inner(r, a, b, 0.0, z))

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | alive, x, t_x, T] (Fader et al. 2005, eq. 10 without the P(alive) factor), evaluated with
        Euler's transformation of the hypergeometric function so large x and T stay finite."""
        r, alpha, a, b = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        t = np.asarray(t, float)          # a number, or a column of times (k, 1) for a (k, accounts) table
        z = t / (alpha + T + t)
        return (a + b + x - 1) / (a - 1) * (1 - _inner(r, a, b, x, z))

    def sample_future(self, t, rfm: pd.DataFrame, rng: np.random.Generator, size: int | None = None,
                      alive: np.ndarray | None = None) -> np.ndarray:
        """Draws of each account's purchases in the next ``t`` from its posterior (one per account, or ``size``
        rows of them): alive with P(alive), then lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x) and
        min(Poisson(lambda t), Geometric(p)). ``alive``: their P(alive), when already computed."""
        from .mbgnbd import _bg_future
        r, alpha, a, b = self.params.to_numpy()
        x, _, T = _arrays(rfm)
        return _bg_future(rng, self._alive(rfm, alive), r + x, alpha + T, a, b + x, t, size)

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0) -> pd.DataFrame:
        """Accounts simulated from the fitted parameters (see ``kamlib.models.simulate``)."""
        r, alpha, a, b = self.params.to_numpy()
        return simulate_bgnbd(T, r=r, alpha=alpha, a=a, b=b, rng=rng, future=future)


class BGNBD(Model):
    """BG/NBD model of repeat purchasing. ``BGNBD().fit(rfm)`` with columns frequency, recency, T."""

    param_names = ("r", "alpha", "a", "b")
    shape_names = ("r", "a", "b")
    long_name = "BG/NBD"
    results_class = BGNBDResults

    def _prepare(self, data, weights):
        d, w = prepare_rfm(data, weights, self.long_name)
        # special functions and logs are evaluated once per distinct value, then gathered per row
        for key in ("frequency", "recency", "T"):
            d[key + "_i"], d[key + "_u"] = pd.factorize(d[key])
        return d, w

    def _initial(self, d, w):
        x = np.average(d["frequency"], weights=w)
        T = np.average(d["T"], weights=w)
        return np.array([1.0, max(T / max(x, 0.1), 0.1), 1.0, 2.0])

    @staticmethod
    def _parts(theta, d):
        """log of the constant and of the two likelihood terms, per row."""
        r, alpha, a, b = theta
        x, xu, xi = d["frequency"], d["frequency_u"], d["frequency_i"]
        a0 = (gammaln(r + xu) - gammaln(r) + r * np.log(alpha))[xi]
        a1 = (betaln(a, b + xu) - betaln(a, b))[xi] - (r + x) * np.log(alpha + d["T_u"])[d["T_i"]]
        a2_u = np.where(xu > 0, betaln(a + 1, np.maximum(b + xu - 1, 1e-12)) - betaln(a, b), -np.inf)
        a2 = a2_u[xi] - (r + x) * np.log(alpha + d["recency_u"])[d["recency_i"]]
        return a0, a1, a2

    def _loglik(self, theta, d):
        a0, a1, a2 = self._parts(theta, d)
        return a0 + np.logaddexp(a1, a2)

    def _terms(self, theta, d):
        """Per-row log-likelihood and gradient columns: the reference form behind ``_loglik_grad``; the optimiser
        uses the fused ``_value_and_grad``, which tests check against it."""
        r, alpha, a, b = theta
        x, xu, xi = d["frequency"], d["frequency_u"], d["frequency_i"]
        a0, a1, a2 = self._parts(theta, d)
        m = np.logaddexp(a1, a2)
        w2 = np.exp(a2 - m)                        # weight of the second term; the first has 1 - w2
        inv_T = (1.0 / (alpha + d["T_u"]))[d["T_i"]]
        inv_tx = (1.0 / (alpha + d["recency_u"]))[d["recency_i"]]
        log_T = np.log(alpha + d["T_u"])[d["T_i"]]
        log_tx = np.log(alpha + d["recency_u"])[d["recency_i"]]
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xu)
        per_x = {  # gradient pieces that depend on x only: evaluated on distinct x
            "r": (digamma(r + xu) - digamma(r))[xi],
            "a1": (digamma(a) - psi_abx)[xi], "a2": (digamma(a + 1) - psi_abx)[xi],
            "b1": (digamma(b + xu) - psi_abx)[xi], "b2": (digamma(np.maximum(b + xu - 1, 1e-12)) - psi_abx)[xi]}
        cols = (
            per_x["r"] + np.log(alpha) - log_T + w2 * (log_T - log_tx),
            r / alpha - (r + x) * (inv_T + w2 * (inv_tx - inv_T)),
            -(digamma(a) - psi_ab) + per_x["a1"] + w2 * (per_x["a2"] - per_x["a1"]),
            -(digamma(b) - psi_ab) + per_x["b1"] + w2 * (per_x["b2"] - per_x["b1"]),
        )
        return a0 + m, cols

    def _loglik_grad(self, theta, d):
        return np.column_stack(self._terms(theta, d)[1])

    def _value_and_grad(self, theta, d, w):
        """Weighted total log-likelihood and gradient, fused for the optimiser: terms that depend on x only
        are summed over distinct x (weights binned by x) instead of per row. Equals w @ _loglik and
        w @ _loglik_grad (tested)."""
        r, alpha, a, b = theta
        x, xu, xi = d["frequency"], d["frequency_u"], d["frequency_i"]
        W = w.sum()
        wx = np.bincount(xi, weights=w, minlength=len(xu))
        log_T = np.log(alpha + d["T_u"])[d["T_i"]]
        log_tx = np.log(alpha + d["recency_u"])[d["recency_i"]]
        rx = r + x
        ln_b_ab = betaln(a, b)
        a1 = (betaln(a, b + xu) - ln_b_ab)[xi] - rx * log_T
        a2_u = np.where(xu > 0, betaln(a + 1, np.maximum(b + xu - 1, 1e-12)) - ln_b_ab, -np.inf)
        a2 = a2_u[xi] - rx * log_tx
        # m = log(exp(a1) + exp(a2)) and w2 = exp(a2 - m), from one exp and one log1p
        delta = a2 - a1
        e = np.exp(-np.abs(delta))
        m = np.maximum(a1, a2) + np.log1p(e)
        ww2 = w * np.where(delta > 0, 1.0, e) / (1.0 + e)    # weight x share of the second likelihood term
        wx2 = np.bincount(xi, weights=ww2, minlength=len(xu))
        ll = wx @ (gammaln(r + xu) - gammaln(r) + r * np.log(alpha)) + w @ m
        inv_T = (1.0 / (alpha + d["T_u"]))[d["T_i"]]
        inv_tx = (1.0 / (alpha + d["recency_u"]))[d["recency_i"]]
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xu)
        da1, da2 = digamma(a) - psi_abx, digamma(a + 1) - psi_abx
        db1, db2 = digamma(b + xu) - psi_abx, digamma(np.maximum(b + xu - 1, 1e-12)) - psi_abx
        grad = np.array([
            wx @ (digamma(r + xu) - digamma(r)) + W * np.log(alpha) - w @ log_T + ww2 @ (log_T - log_tx),
            W * r / alpha - (w * rx) @ inv_T - (ww2 * rx) @ (inv_tx - inv_T),
            -W * (digamma(a) - psi_ab) + wx @ da1 + wx2 @ (da2 - da1),
            -W * (digamma(b) - psi_ab) + wx @ db1 + wx2 @ (db2 - db1),
        ])
        return float(ll), grad


__all__ = ["BGNBD", "BGNBDResults", "FitResults"]
