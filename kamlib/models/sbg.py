"""Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007, "How to project customer retention").

Each contract renews every period with its own probability 1 - theta, theta ~ Beta(alpha, beta). With
B() the beta function: P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), survival
S(t) = B(alpha, beta + t) / B(alpha, beta), retention rate r_t = (beta + t - 1) / (alpha + beta + t - 1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from .arguments import fraction, non_negative
from .base import FitResults, Model


def _cohorts(survivors) -> list[np.ndarray]:
    """One array of active counts at periods 0..n per cohort (a sequence, a list of them, or a DataFrame
    with one column per cohort and NaN after the last observed period)."""
    if isinstance(survivors, pd.DataFrame):
        cols = [survivors[c].dropna().to_numpy(float) for c in survivors.columns]
    elif isinstance(survivors, (list, tuple)) and survivors and np.ndim(survivors[0]) == 1:
        cols = [np.asarray(c, float) for c in survivors]
    else:
        cols = [np.asarray(survivors, float)]
    for j, c in enumerate(cols):
        if c.ndim != 1 or len(c) < 2:
            raise ValueError(f"cohort {j}: need active counts for at least periods 0 and 1, got {c!r}")
        if np.any(np.diff(c) > 0) or np.any(c < 0) or not np.all(np.isfinite(c)):
            bad = int(np.argmax(np.diff(c) > 0)) + 1 if np.any(np.diff(c) > 0) else int(np.argmax(c < 0))
            raise ValueError(f"cohort {j}: active counts must be non-negative and non-increasing; "
                             f"period {bad} has {c[bad]:g} after {c[max(bad - 1, 0)]:g}")
    return cols


class ShiftedBetaGeometricResults(FitResults):
    """Fitted sBG with survival, retention and DERL."""

    def survival(self, t) -> np.ndarray:
        """S(t): share of a cohort still active after t periods (S(0) = 1)."""
        a, b = self.params.to_numpy()
        t = np.asarray(t, float)
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def retention_rate(self, t) -> np.ndarray:
        """r_t = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1), rising with tenure (t >= 1)."""
        a, b = self.params.to_numpy()
        t = np.asarray(t, float)
        return (b + t - 1) / (a + b + t - 1)

    def churn_probability(self, t) -> np.ndarray:
        """P(T = t): share of the cohort lost at period t."""
        a, b = self.params.to_numpy()
        t = np.asarray(t, float)
        return np.exp(betaln(a + 1, b + t - 1) - betaln(a, b))

    def projection(self, size: float, periods: int) -> pd.Series:
        """Expected active accounts of a cohort of ``size`` at periods 0..periods."""
        t = np.arange(periods + 1)
        return pd.Series(size * self.survival(t), index=pd.Index(t, name="period"), name="expected_active")

    def derl(self, discount_rate: float, renewals: int = 0) -> float:
        """Discounted expected residual lifetime (Fader & Hardie 2010, eq. 6) of an account that has renewed
        ``renewals`` times and is about to make its next payment (counted undiscounted):

            DERL = (beta + n) / (alpha + beta + n) * 2F1(1, beta + n + 1; alpha + beta + n + 1; 1 / (1 + d))

        with n = renewals; multiply by the margin per period for the residual value. ``discount_rate`` is per
        contract period."""
        fraction("discount_rate", discount_rate)
        non_negative("renewals", renewals, integer=True)
        a, b = self.params.to_numpy()
        n = float(renewals)
        return float((b + n) / (a + b + n) * hyp2f1(1.0, b + n + 1, a + b + n + 1, 1 / (1 + discount_rate)))

    def del_(self, discount_rate: float) -> float:
        """Discounted expected lifetime of a new contract, payments at periods 0, 1, ... (first undiscounted)."""
        fraction("discount_rate", discount_rate)
        a, b = self.params.to_numpy()
        return float(hyp2f1(1.0, b, a + b, 1 / (1 + discount_rate)))


class ShiftedBetaGeometric(Model):
    """``ShiftedBetaGeometric().fit(survivors)``: active counts at periods 0..n of one or several cohorts."""

    param_names = ("alpha", "beta")
    shape_names = ("alpha", "beta")
    long_name = "Shifted-beta-geometric"
    results_class = ShiftedBetaGeometricResults

    def _prepare(self, data, weights):
        if weights is not None:
            raise ValueError("ShiftedBetaGeometric: weights are implied by the cohort counts")
        t_list, lost, censored = [], [], []
        for c in _cohorts(data):
            n = len(c) - 1
            t_list.append(np.arange(1, n + 1))
            lost.append(c[:-1] - c[1:])
            censored.append(np.r_[np.zeros(n - 1), c[-1]])
        t = np.concatenate(t_list).astype(float)
        # each row: churn at t (weight = lost) and, at the last period, survival past t (weight = still active)
        d = {"t": np.r_[t, t], "event": np.r_[np.ones_like(t), np.zeros_like(t)]}
        w = np.r_[np.concatenate(lost), np.concatenate(censored)]
        keep = w > 0
        return {k: v[keep] for k, v in d.items()}, w[keep]

    def _loglik(self, theta, d):
        a, b = theta
        t, ev = d["t"], d["event"]
        return np.where(ev == 1, betaln(a + 1, b + t - 1), betaln(a, b + t)) - betaln(a, b)

    def _loglik_grad(self, theta, d):
        a, b = theta
        t, ev = d["t"], d["event"]
        base_a, base_b = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
        ga = np.where(ev == 1, digamma(a + 1) - digamma(a + b + t), digamma(a) - digamma(a + b + t)) - base_a
        gb = np.where(ev == 1, digamma(b + t - 1) - digamma(a + b + t), digamma(b + t) - digamma(a + b + t)) - base_b
        return np.column_stack([ga, gb])
