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
                       future: float = 0.0, age=0.0) -> pd.DataFrame:
    """Simulate Pareto/NBD accounts: Poisson(lambda) purchases during an Exponential(mu) lifetime.

    lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta). Purchases while alive in (0, min(tau, T)) are uniform.

    ``age`` (per account or one number, default 0): left truncation. An account acquired ``age`` time units
    before the observation window starts is observed on (0, T] from the window's start; its lifetime runs
    from acquisition, so it may have dropped out before the window (no purchases then) and it is alive at T
    when tau > age + T. Every purchase in the window counts (no purchase at the window's origin). With
    age 0 this is the ordinary simulation (same draws).
    """
    T = np.asarray(T, dtype=float)
    age = np.broadcast_to(np.asarray(age, dtype=float), T.shape)
    lam = rng.gamma(r, 1.0 / alpha, size=T.size)
    mu = rng.gamma(s, 1.0 / beta, size=T.size)
    with np.errstate(divide="ignore", over="ignore"):
        tau = rng.exponential(1.0 / mu)       # mu underflows to 0 for tiny s: an account that never drops out
    left = tau - age                          # lifetime remaining at the window's start (negative: gone before)
    horizon = np.clip(np.minimum(left, T), 0, None)
    x = rng.poisson(lam * horizon)
    tx = horizon * np.where(x > 0, rng.beta(np.maximum(x, 1), 1), 0.0)   # max of x uniforms on (0, horizon)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "lambda": lam, "mu": mu, "alive": left > T})
    if np.any(age > 0):
        out["age_at_start"] = age
    if future > 0:
        live = np.clip(np.minimum(left, T + future) - T, 0, None)
        out["frequency_future"] = rng.poisson(lam * live)
    return out


def simulate_mbgnbd(T, *, r: float, alpha: float, a: float, b: float, rng: np.random.Generator,
                    future: float = 0.0) -> pd.DataFrame:
    """Simulate MBG/NBD accounts: as :func:`simulate_bgnbd`, but the account may also drop out right at its
    first purchase (time 0) with probability p, so it survives K - 1 ~ Geometric(p) - 1 repeat purchases."""
    return _geometric_dropout(T, r, alpha, a, b, rng, future, repeats_only=True)


def simulate_paretonbd_purchases(acquired, end: float, *, r: float, alpha: float, s: float, beta: float,
                                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Purchase times of Pareto/NBD accounts acquired at times ``acquired`` (one per account, in the model's
    time unit on any origin), up to ``end``: the first purchase at acquisition, then Poisson(lambda) purchases
    until an Exponential(mu) lifetime ends, lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta).

    Returns (account index, time) of every purchase, ordered by account and time: a book's order history,
    from which a window starting after some accounts were acquired can be cut (left truncation)."""
    acquired = np.asarray(acquired, dtype=float)
    n = acquired.size
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    with np.errstate(divide="ignore", over="ignore"):
        tau = rng.exponential(1.0 / mu)
    span = np.clip(np.minimum(tau, end - acquired), 0, None)
    k = rng.poisson(lam * span)
    owner = np.repeat(np.arange(n), k)
    times = acquired[owner] + rng.random(k.sum()) * span[owner]
    first = np.flatnonzero(acquired <= end)
    i = np.concatenate([first, owner])
    t = np.concatenate([acquired[first], times])
    order = np.lexsort((t, i))
    return i[order], t[order]
