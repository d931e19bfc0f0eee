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
        # (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z) (Euler)
        inner = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        return (a + b - 1) / (a - 1) * (1 - inner)

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | alive, x, t_x, T] (Fader et al. 2005, eq. 10 without the P(alive) factor), evaluated with
        Euler's transformation of the hypergeometric function so large x and T stay finite."""
        r, alpha, a, b = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        t = float(t)
        z = t / (alpha + T + t)
        inner = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - inner)

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0) -> pd.DataFrame:
        """Accounts simulated from the fitted parameters (see ``kamlib.models.simulate``)."""
        r, alpha, a, b = self.params.to_numpy()
        return simulate_bgnbd(T, r=r, alpha=alpha, a=a, b=b, rng=rng, future=future)


class BGNBD(Model):
    """BG/NBD model of repeat purchasing. ``BGNBD().fit(rfm)`` with columns frequency, recency, T."""

    param_names = ("r", "alpha", "a", "b")
    long_name = "BG/NBD"
    results_class = BGNBDResults

    def _prepare(self, data, weights):
        return prepare_rfm(data, weights, self.long_name)

    def _initial(self, d, w):
        x = np.average(d["frequency"], weights=w)
        T = np.average(d["T"], weights=w)
        return np.array([1.0, max(T / max(x, 0.1), 0.1), 1.0, 2.0])

    @staticmethod
    def _parts(theta, d):
        r, alpha, a, b = theta
        x, tx, T = d["frequency"], d["recency"], d["T"]
        a0 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
        a2 = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - betaln(a, b)
                      - (r + x) * np.log(alpha + tx), -np.inf)
        return a0, a1, a2

    def _loglik(self, theta, d):
        a0, a1, a2 = self._parts(theta, d)
        return a0 + np.logaddexp(a1, a2)

    def _loglik_grad(self, theta, d):
        r, alpha, a, b = theta
        x, tx, T = d["frequency"], d["recency"], d["T"]
        a0, a1, a2 = self._parts(theta, d)
        m = np.logaddexp(a1, a2)
        w1, w2 = np.exp(a1 - m), np.exp(a2 - m)
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
        g = np.empty((x.size, 4))
        g[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + T) - w2 * np.log(alpha + tx)
        g[:, 1] = r / alpha - w1 * (r + x) / (alpha + T) - w2 * (r + x) / (alpha + tx)
        d_a0 = -(digamma(a) - psi_ab)
        d_b0 = -(digamma(b) - psi_ab)
        g[:, 2] = d_a0 + w1 * (digamma(a) - psi_abx) + w2 * (digamma(a + 1) - psi_abx)
        g[:, 3] = d_b0 + w1 * (digamma(b + x) - psi_abx) + w2 * (digamma(np.maximum(b + x - 1, 1e-12)) - psi_abx)
        return g


__all__ = ["BGNBD", "BGNBDResults", "FitResults"]
