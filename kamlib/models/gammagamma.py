"""Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV").

An account's purchase values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across accounts, independent of the
purchase process. The input is the mean value m of the account's x repeat purchases; the model assumes
spend and frequency are independent, so the fit reports their correlation as a diagnostic.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from .base import FitResults, Model, compress, require_columns

COLUMNS = ["frequency", "monetary_value"]


class GammaGammaResults(FitResults):
    """Fitted Gamma-Gamma spend model."""

    @property
    def frequency_spend_correlation(self) -> float:
        """Pearson correlation of frequency and mean spend among the fitted accounts (should be near 0)."""
        d, w = self._data["d"], self._data["w"]
        x, m = d["frequency"], d["monetary_value"]
        mx, mm = np.average(x, weights=w), np.average(m, weights=w)
        cov = np.average((x - mx) * (m - mm), weights=w)
        return float(cov / np.sqrt(np.average((x - mx) ** 2, weights=w) * np.average((m - mm) ** 2, weights=w)))

    @property
    def mean_spend(self) -> float:
        """Population mean value per purchase, p gamma / (q - 1) (infinite when q <= 1)."""
        p, q, g = self.params.to_numpy()
        return p * g / (q - 1) if q > 1 else np.inf

    def expected_spend(self, rfm: pd.DataFrame) -> pd.Series:
        """E[value per purchase | x, m] = (p (gamma + m x)) / (p x + q - 1): a weighted mean of the population
        mean and the account's own mean; accounts without repeat purchases get the population mean."""
        p, q, g = self.params.to_numpy()
        x = rfm["frequency"].to_numpy(float)
        m = np.where(x > 0, rfm["monetary_value"].to_numpy(float), 0.0)
        return pd.Series(p * (g + m * x) / (p * x + q - 1), index=rfm.index, name="expected_spend")

    def sample_total(self, n, rfm: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """One draw per account of the total value of ``n`` future purchases from its posterior: the spend rate
        nu ~ Gamma(q + p x, gamma + m x) (the prior Gamma(q, gamma) for accounts without repeat purchases), then
        the sum of n Gamma(p, nu) values ~ Gamma(n p, nu); 0 where n is 0."""
        p, q, g = self.params.to_numpy()
        x = rfm["frequency"].to_numpy(float)
        m = np.where(x > 0, rfm["monetary_value"].to_numpy(float), 0.0)
        nu = rng.gamma(q + p * x, 1.0 / (g + m * x))
        n = np.asarray(n, float)
        return np.where(n > 0, rng.gamma(np.maximum(n, 1) * p, 1.0) / nu, 0.0)

    def _extra_info(self):
        return [("freq_spend_corr", f"{self.frequency_spend_correlation:.3f}"),
                ("mean_spend", f"{self.mean_spend:,.2f}")]

    def _extra_notes(self):
        return [("note_independence", {})]


class GammaGamma(Model):
    """``GammaGamma().fit(rfm)`` uses accounts with frequency > 0 (columns frequency, monetary_value)."""

    param_names = ("p", "q", "gamma")
    shape_names = ("p", "q")
    long_name = "Gamma-Gamma spend"
    results_class = GammaGammaResults

    def _prepare(self, data, weights):
        require_columns(data, COLUMNS, self.long_name)
        keep = (data["frequency"] > 0).to_numpy()
        sub = data.loc[keep]
        if (sub["monetary_value"] <= 0).any():
            i = sub.index[(sub["monetary_value"] <= 0).to_numpy()][0]
            raise ValueError(f"Gamma-Gamma: monetary_value must be > 0 for repeat buyers; account {i!r} has "
                             f"{sub.loc[i, 'monetary_value']!r}")
        w = None if weights is None else np.asarray(weights, float)[keep]
        return compress(sub, COLUMNS, w)

    def _initial(self, d, w):
        m = np.average(d["monetary_value"], weights=w)
        return np.array([2.0, 3.0, m])

    def _loglik(self, theta, d):
        p, q, g = theta
        x, m = d["frequency"], d["monetary_value"]
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m)
                + px * np.log(x) - (px + q) * np.log(g + m * x))

    def _loglik_grad(self, theta, d):
        p, q, g = theta
        x, m = d["frequency"], d["monetary_value"]
        px = p * x
        lgmx = np.log(g + m * x)
        psi = digamma(px + q)
        return np.column_stack([
            x * (psi - digamma(px) + np.log(m) + np.log(x) - lgmx),
            psi - digamma(q) + np.log(g) - lgmx,
            q / g - (px + q) / (g + m * x),
        ])
