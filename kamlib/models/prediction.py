"""Prediction intervals per account: the range of an account's own future purchases and value, not only of
their expectation.

Each fitted purchase model draws an account's purchases in the next ``t`` from its posterior
(``sample_future``: alive with P(alive), then its purchase and dropout rates from their conditional
distributions, then the purchase process). Parameter uncertainty is added by mixing over parameter vectors
drawn from the estimates' asymptotic distribution (``draw_params``), one vector per group of samples. The
interval is the pair of (1 - level) / 2 and (1 + level) / 2 quantiles of the samples (inverted CDF, so the
discrete count keeps at least ``level`` of the probability).

For value, each simulated purchase count gets a simulated total spend from the Gamma-Gamma posterior (mean
spend rate nu ~ Gamma(q + p x, gamma + m x), the n purchases' total ~ Gamma(n p, nu)), with its parameters
drawn as well, times the margin rate. Discounting multiplies the simulated undiscounted value by the account's
expected discount factor per purchase (its discounted / undiscounted expected purchases): exact without a
discount, and otherwise it leaves out only the spread of the purchases' timing within the horizon.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import PoorlyDetermined

#: the most account x sample cells simulated at once (memory stays ~100 MB)
CHUNK_CELLS = 4_000_000


def _parameter_draws(results, n_draws: int, seed: int) -> list:
    """Result objects for ``n_draws`` parameter vectors (the estimates alone when the fit did not converge,
    is too poorly determined for draws, or ``n_draws`` is 0): the parameter uncertainty of the mixture."""
    if n_draws > 0 and results.converged and hasattr(results, "draw_params"):
        try:
            return [results.with_params(p) for p in results.draw_params(n_draws, seed)]
        except PoorlyDetermined:
            pass
    return [results]


def _chunks(n_accounts: int, n_samples: int):
    step = max(1, CHUNK_CELLS // max(n_samples, 1))
    for k in range(0, n_accounts, step):
        yield slice(k, min(k + step, n_accounts))


def _quantiles(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0, method="inverted_cdf")
    return lo, hi


class _Mixture:
    """The parameter draws mixed over (:func:`_parameter_draws`) and each draw's P(alive) of the accounts of
    ``rfm``, computed once and shared by every chunk of accounts (P(alive) is the costly part of a draw: two
    hypergeometric functions per account for the Pareto/NBD, whose fits keep it for the other uses of the
    same draws, e.g. the CLV band)."""

    def __init__(self, results, rfm: pd.DataFrame, n_draws: int, seed: int):
        self.fits = _parameter_draws(results, n_draws, seed)
        self.alive = [fit.p_alive(rfm).to_numpy() for fit in self.fits]

    def samples(self, t: float, rfm: pd.DataFrame, part: slice, n_samples: int, rng: np.random.Generator
                ) -> np.ndarray:
        """(n_samples, accounts) draws of the purchases in the next ``t`` of the accounts ``rfm.iloc[part]``."""
        sub = rfm.iloc[part]
        out = np.empty((n_samples, len(sub)), dtype=np.float32)
        rows = np.array_split(np.arange(n_samples), min(len(self.fits), n_samples))   # a block of samples per draw
        for fit, alive, block in zip(self.fits, self.alive, rows):
            out[block] = fit.sample_future(t, sub, rng, size=len(block), alive=alive[part])
        return out


def purchase_samples(results, t: float, rfm: pd.DataFrame, *, n_samples: int = 1000, n_draws: int = 200,
                     seed: int = 0) -> np.ndarray:
    """(n_samples, accounts) draws of each account's purchases in the next ``t`` time units, mixed over
    ``n_draws`` parameter vectors."""
    return _Mixture(results, rfm, n_draws, seed).samples(t, rfm, slice(0, len(rfm)), n_samples,
                                                         np.random.default_rng(seed + 1))


def purchase_interval(results, t: float, rfm: pd.DataFrame, *, level: float = 0.9, n_samples: int = 1000,
                      n_draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per account: ``expected`` purchases in the next ``t`` and the ``lower`` / ``upper`` ends of the interval
    holding ``level`` of its predictive distribution (accounts simulated in chunks)."""
    mixture = _Mixture(results, rfm, n_draws, seed)
    lo, hi = np.empty(len(rfm)), np.empty(len(rfm))
    for part in _chunks(len(rfm), n_samples):
        samples = mixture.samples(t, rfm, part, n_samples, np.random.default_rng(seed + 1))
        lo[part], hi[part] = _quantiles(samples, level)
    out = pd.DataFrame({"expected": results.expected_purchases(t, rfm).to_numpy(), "lower": lo, "upper": hi},
                       index=rfm.index)
    out.attrs.update(level=level, n_samples=n_samples)
    return out


def value_interval(results, rfm: pd.DataFrame, spend, *, horizon_months: int, discount_rate: float,
                   rate_period: str = "annual", margin_rate=1.0, level: float = 0.9, n_samples: int = 1000,
                   n_draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per account: ``lower`` / ``upper`` of its (discounted) value over ``horizon_months``: purchases from the
    purchase model's posterior, spend per purchase from the Gamma-Gamma posterior (``spend``: GammaGamma
    results; a number or Series is taken as known), times ``margin_rate``; both models' parameters drawn."""
    from .transactions import _aligned
    horizon = results.months_to_units(horizon_months)
    kw = dict(horizon_months=horizon_months, discount_rate=discount_rate, rate_period=rate_period)
    expected = results.expected_purchases(horizon, rfm).to_numpy()
    discounted = results.clv(rfm, 1.0, margin_rate=1.0, **kw).to_numpy()
    with np.errstate(all="ignore"):
        factor = np.where(expected > 0, discounted / expected, 1.0)
    margin = _aligned(margin_rate, rfm)
    lo, hi = np.empty(len(rfm)), np.empty(len(rfm))
    spend_fits = _parameter_draws(spend, n_draws, seed + 2) if hasattr(spend, "sample_total") else None
    mixture = _Mixture(results, rfm, n_draws, seed)
    rng = np.random.default_rng(seed + 3)
    for part in _chunks(len(rfm), n_samples):
        sub = rfm.iloc[part]
        counts = mixture.samples(horizon, rfm, part, n_samples, np.random.default_rng(seed + 1))
        if spend_fits is None:
            value = counts * results._spend(spend, sub)
        else:
            value = np.vstack([spend_fits[i % len(spend_fits)].sample_total(counts[i], sub, rng)
                               for i in range(n_samples)])
        lo[part], hi[part] = _quantiles(value * (factor[part] * margin[part]), level)
    return pd.DataFrame({"lower": lo, "upper": hi}, index=rfm.index)


def coverage(lower, upper, actual) -> float:
    """Share of accounts whose actual outcome lies in [lower, upper]."""
    lower, upper, actual = (np.asarray(v, float) for v in (lower, upper, actual))
    return float(np.mean((lower <= actual) & (actual <= upper)))
