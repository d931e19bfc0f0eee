"""Exact, vectorised simulators of the buy-till-you-die models (for tests, model checks and the generator).

Each returns one row per account with the calibration summary (frequency, recency, T), the latent
quantities (purchase rate, death) and, if ``future`` > 0, the repeat purchases in (T, T + future].
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _last_of_uniforms(T: np.ndarray, x: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Time of the x-th of n uniform points on (0, T): T times a Beta(x, n - x + 1) variate (0 when x = 0)."""
    tx = np.zeros_like(T)
    pos = x > 0
    tx[pos] = T[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    return tx


def _geometric_dropout(T, r: float, alpha: float, a: float, b: float, rng: np.random.Generator, future: float,
                       repeats_only: bool) -> pd.DataFrame:
    """BG/NBD-family accounts: Poisson(lambda) purchases, death with probability p after each one; the account
    survives K ~ Geometric(p) purchases (BG/NBD) or K - 1 (MBG/NBD, ``repeats_only``: it may die at time 0)."""
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1.0 / alpha, size=T.size)
    p = rng.beta(a, b, size=T.size)
    n = rng.poisson(lam * T)
    k = rng.geometric(p) - int(repeats_only)
    x = np.minimum(k, n)
    out = pd.DataFrame({"frequency": x, "recency": _last_of_uniforms(T, x, n, rng), "T": T, "lambda": lam,
                        "p": p, "alive": k > n})
    if future > 0:
        m = rng.poisson(lam * future)
        out["frequency_future"] = np.where(k > n, np.minimum(m, k - n), 0)
    return out


def simulate_bgnbd(T, *, r: float, alpha: float, a: float, b: float, rng: np.random.Generator,
                   future: float = 0.0) -> pd.DataFrame:
    """Simulate BG/NBD accounts observed for ``T`` periods since their first purchase.

    N ~ Poisson(lambda T) potential repeat purchases fall uniformly on (0, T); the account survives
    K ~ Geometric(p) of them (it dies right after purchase K), so frequency = min(K, N) and the recency is
    the x-th order statistic. Alive at T means K > N; the future count continues the same process.
    """
    return _geometric_dropout(T, r, alpha, a, b, rng, future, repeats_only=False)


def simulate_paretonbd(T, *, r: float, alpha: float, s: float, beta: float, rng: np.random.Generator,
                       future: float = 0.0) -> pd.DataFrame:
    """Simulate Pareto/NBD accounts: Poisson(lambda) purchases during an Exponential(mu) lifetime.

    lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta). Purchases while alive in (0, min(tau, T)) are uniform.
    """
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1.0 / alpha, size=T.size)
    mu = rng.gamma(s, 1.0 / beta, size=T.size)
    with np.errstate(divide="ignore", over="ignore"):
        tau = rng.exponential(1.0 / mu)       # mu underflows to 0 for tiny s: an account that never drops out
    horizon = np.minimum(tau, T)
    x = rng.poisson(lam * horizon)
    tx = horizon * np.where(x > 0, rng.beta(np.maximum(x, 1), 1), 0.0)   # max of x uniforms on (0, horizon)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "lambda": lam, "mu": mu, "alive": tau > T})
    if future > 0:
        live = np.clip(np.minimum(tau, T + future) - T, 0, None)
        out["frequency_future"] = rng.poisson(lam * live)
    return out


def simulate_mbgnbd(T, *, r: float, alpha: float, a: float, b: float, rng: np.random.Generator,
                    future: float = 0.0) -> pd.DataFrame:
    """Simulate MBG/NBD accounts: as :func:`simulate_bgnbd`, but the account may also drop out right at its
    first purchase (time 0) with probability p, so it survives K - 1 ~ Geometric(p) - 1 repeat purchases."""
    return _geometric_dropout(T, r, alpha, a, b, rng, future, repeats_only=True)
