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

import hashlib
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyp2f1, polygamma

from .base import Model
from .bgnbd import COLUMNS, _arrays
from .simulate import simulate_paretonbd
from .transactions import AGE_COLUMN, TransactionResults, ages_at_start, prepare_rfm


def _log_hyp2f1_1(b, c, z):
    """log 2F1(1, b; c; z) for 0 <= z < 1 and c > b > 0 (all series terms positive).

    scipy's ``hyp2f1`` returns NaN for large b with z near 1 (b >~ 165, e.g. b = 195, c = 197.4, z = 0.998,
    met with large s and beta) and loses up to 1e-5 in the log just below that (b ~ 30-170, c - b ~ 4-8);
    there (b >= 20, z > 0.99), and wherever scipy is not finite (b >= 1), :func:`_log_hyp2f1_1_by_trapezoid` is
    used."""
    b, c, z = (np.asarray(v, float) for v in np.broadcast_arrays(b, c, z))
    own = (b >= 20) & (z > 0.99)
    out = np.full(b.shape, np.nan)
    with np.errstate(all="ignore"):
        out[~own] = np.log(hyp2f1(1.0, b[~own], c[~own], z[~own]))
    bad = ~np.isfinite(out) & (b >= 1)
    if np.any(bad):
        out[bad] = _log_hyp2f1_1_by_trapezoid(b[bad], c[bad], z[bad])
    return out


def _terms(s, b, d, z):
    """Over s = log(-log(1 - U)), rows of nodes: the Beta(b, d) density of U times dU/ds, scaled so that each
    row's largest value is 1 (0 where it underflows), and 1 / (1 - zU)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        y = np.exp(s)
        em = np.expm1(-y)                                                      # -U
        log_u = np.where(y < 1e-8, s - y / 2, np.log(-em))
        log_p = (b - 1) * log_u - d * y + s
        log_p = np.where(np.isnan(log_p), -np.inf, log_p)
        p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        g = 1.0 / ((1 - z) + z * np.exp(-y))                                 # both terms positive
    return p, g


def _live_range(lo, hi, b, d, z, *, n: int = 32, chunk: int = 2**20):
    """[lo, hi] trimmed to the nodes (of ``n`` + 1) where either integrand exceeds e^-36 of its largest value,
    widened by one node at each end (the integrands are unimodal or increasing-then-flat in s, so no mass lies
    beyond). The moment-based range is generous (for large b most of it lies left of the mass)."""
    lo, hi = lo.copy(), hi.copy()
    t = np.linspace(0.0, 1.0, n + 1)
    step = max(1, chunk // (n + 1))
    for k in range(0, lo.size, step):
        i = slice(k, k + step)
        width = hi[i] - lo[i]
        p, g = _terms(lo[i, None] + width[:, None] * t, b[i, None], d[i, None], z[i, None])
        pg = p * g
        live = (p > np.exp(-36.0)) | (pg > pg.max(axis=1, keepdims=True) * np.exp(-36.0))
        first = np.maximum(np.argmax(live, axis=1) - 1, 0)
        last = np.minimum(n - np.argmax(live[:, ::-1], axis=1) + 1, n)
        found = live.any(axis=1)
        lo[i], hi[i] = (np.where(found, lo[i] + width * t[first], lo[i]),
                        np.where(found, lo[i] + width * t[last], hi[i]))
    return lo, hi


def _log_hyp2f1_1_by_trapezoid(b, c, z, *, tol: float = 1e-10, max_nodes: int = 2**16,
                               chunk: int = 2**20) -> np.ndarray:
    """log 2F1(1, b; c; z) = log E[1 / (1 - zU)], U ~ Beta(b, c - b) (Euler's integral), for arrays with
    b >= 1, c > b, 0 <= z < 1.

    The expectation is the ratio of two integrals over s = log(-log(1 - U)), where the integrands are smooth
    and decay (double) exponentially at both ends, so the trapezoid rule converges geometrically; both use
    the same nodes, so discretisation error largely cancels. The range comes from the mean and sd of
    -log(1 - U) (digamma / trigamma), trimmed to where the integrands carry mass (:func:`_live_range`) and
    widened while an end still does; the number of nodes
    doubles until the estimates with n and n / 2 nodes agree to ``tol`` (absolute, in the log), or reaches
    ``max_nodes`` (the finest estimate is kept). Matches mpmath to ~1e-12 (tests)."""
    b, c, z = (np.ravel(v).astype(float) for v in np.broadcast_arrays(b, c, z))
    d = c - b
    mu = digamma(c) - digamma(d)                       # mean and sd of -log(1 - U); 1 - U ~ Beta(d, b)
    sd = np.sqrt(polygamma(1, d) - polygamma(1, c))
    low = mu - 40 * sd
    lo = np.where(low > 0, np.log(np.maximum(low, 1e-300)), np.log(mu) - 5 - 40 / b)
    hi = np.log(mu + 40 * sd - np.log1p(-z) / d)
    lo, hi = _live_range(lo, hi, b, d, z, chunk=chunk)
    out = np.full(b.shape, np.nan)
    todo, n = np.arange(b.size), 64
    while todo.size and n <= max_nodes:
        t = np.linspace(0.0, 1.0, n + 1)
        step, retry = max(1, chunk // (n + 1)), []
        for k in range(0, todo.size, step):
            i = todo[k:k + step]
            p, g = _terms(lo[i, None] + (hi[i] - lo[i])[:, None] * t, b[i, None], d[i, None], z[i, None])
            pg = p * g
            fine = np.log(pg.sum(axis=1) / p.sum(axis=1))
            coarse = np.log(pg[:, ::2].sum(axis=1) / p[:, ::2].sum(axis=1))
            edge = pg.max(axis=1) * np.exp(-36.0)
            low_open, high_open = pg[:, 0] > edge, pg[:, -1] > edge
            ok = (np.abs(fine - coarse) <= tol) & ~low_open & ~high_open
            out[i] = fine
            width = hi[i] - lo[i]
            lo[i[low_open]] -= width[low_open]
            hi[i[high_open]] += 1.0
            retry.append(i[~ok])
        todo, n = np.concatenate(retry), 2 * n
    return out


def _log_a(theta, x, t, beta):
    """log A(t) with the scale ``beta`` given per row (beta + a under left truncation); the branch (alpha >=
    beta or not) is taken row by row."""
    r, alpha, s, _ = theta
    c = r + s + x + 1
    up = alpha >= beta
    with np.errstate(all="ignore"):
        z = np.where(up, (alpha - beta) / (alpha + t), (beta - alpha) / (beta + t))
        head = np.where(up, -(r + x) * np.log(alpha + t) - s * np.log(beta + t),
                        (1 - r - x) * np.log(alpha + t) - (s + 1) * np.log(beta + t))
    return head + _log_hyp2f1_1(np.where(up, r + x, s + 1), c, z)


def _log_bracket_parts(theta, x, tx, T, age=0.0):
    """log of the two bracket terms: (alpha+T)^-(r+x)(beta+T)^-s and s/(r+s+x) (A(t_x) - A(T)), with beta + a
    for an account ``age`` = a time units old at the start of its window (left truncation; 0: the usual)."""
    r, alpha, s, beta = theta
    beta = np.broadcast_to(beta + np.asarray(age, float), np.shape(x))
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    la_tx, la_T = _log_a(theta, x, tx, beta), _log_a(theta, x, T, beta)
    with np.errstate(all="ignore"):
        diff = la_tx + np.log(-np.expm1(np.minimum(la_T - la_tx, 0.0)))   # log(A(tx) - A(T)), A decreasing
    second = np.log(s) - np.log(r + s + x) + np.where(tx < T, diff, -np.inf)
    return first, second


def _log_dead_before(s, beta, x, age):
    """log [x = 0] (1 - (beta / (beta + a))^s): the account dropped out before its window started (-inf for
    a = 0 or x > 0)."""
    age = np.broadcast_to(np.asarray(age, float), np.shape(x))
    with np.errstate(divide="ignore"):
        return np.where((x == 0) & (age > 0), np.log(-np.expm1(-s * np.log1p(age / beta))), -np.inf)


def loglik_left_truncated(theta, x, tx, T, age) -> np.ndarray:
    """Per-account log-likelihood of the left-truncated Pareto/NBD (``../shared/notes/left-truncated-pareto-nbd.md``):

        L = (beta / (beta + a))^s L_PNBD(r, alpha, s, beta + a | x, t_x, T) + [x = 0] (1 - (beta / (beta + a))^s)

    for an account acquired a time units before its window (0, T] starts, with x purchases in it, the last
    at t_x. The factor (beta / (beta + a))^s times the (beta + a)^s of L_PNBD leaves beta^s; with a = 0 this is
    the ordinary likelihood exactly."""
    r, alpha, s, beta = theta
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    first, second = _log_bracket_parts(theta, x, tx, T, age)
    alive = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(first, second)
    dead = _log_dead_before(s, beta, x, age)
    return np.where(np.isfinite(dead), np.logaddexp(alive, dead), alive)


def p_alive(theta, x, tx, T, age) -> np.ndarray:
    """P(alive at T | x, t_x, T, a) per account (see :meth:`ParetoNBDResults.p_alive`)."""
    first, second = _log_bracket_parts(theta, x, tx, T, age)
    p = np.exp(first - np.logaddexp(first, second))
    dead = _log_dead_before(theta[2], theta[3], x, age)
    if np.isfinite(dead).any():
        total = loglik_left_truncated(theta, x, tx, T, age)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = p * np.exp(np.where(np.isfinite(dead), np.log(-np.expm1(dead - total)), 0.0))
    return p


#: P(alive) arrays kept for reuse, at most this many bytes: an account's CLV band, its purchase range, its value
#: range and the briefs' bands draw the same parameter vectors (same seed), and each P(alive) costs two
#: hypergeometric functions per account — the largest cost of a valuation. 512 MB holds 200 draws for 320k
#: accounts; a larger book recomputes (least recently used first out)
P_ALIVE_KEPT_BYTES = 512 * 2**20
_kept_p_alive: OrderedDict[bytes, np.ndarray] = OrderedDict()


def _remembered_p_alive(theta, *columns) -> np.ndarray:
    """:func:`p_alive`, reused for the same parameters and the same accounts' (x, t_x, T, a): a read-only array
    (kept, not copied)."""
    h = hashlib.blake2b(np.asarray(theta, float).tobytes(), digest_size=20)
    for c in columns:
        h.update(np.ascontiguousarray(c, float).tobytes())
    key = h.digest()
    if key in _kept_p_alive:
        _kept_p_alive.move_to_end(key)
        return _kept_p_alive[key]
    p = p_alive(theta, *columns)
    p.flags.writeable = False
    _kept_p_alive[key] = p
    while sum(v.nbytes for v in _kept_p_alive.values()) > P_ALIVE_KEPT_BYTES and len(_kept_p_alive) > 1:
        _kept_p_alive.popitem(last=False)
    return p


class ParetoNBDResults(TransactionResults):
    """Fitted Pareto/NBD with predictions. Rows with ``age_at_start`` = a > 0 (accounts acquired a time units
    before their window; :func:`kamlib.analysis.rfm.rfm_summary` with ``acquired_on``) are left-truncated:
    their dropout rate's posterior has scale beta + a + T, and P(alive) allows for dropping out before the
    window (x = 0)."""

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T, a): first / (first + second) of the likelihood bracket (with beta + a),
        times the share of the likelihood of surviving to the window's start (1 for a = 0 or x > 0)."""
        x, tx, T = _arrays(rfm)
        p = _remembered_p_alive(self.params.to_numpy(), x, tx, T, ages_at_start(rfm))
        return pd.Series(p, index=rfm.index, name="p_alive")

    @staticmethod
    def _growth(s, beta_t, t):
        """[1 - (beta_t/(beta_t+t))^(s-1)] / (s-1), with its limit log(1 + t/beta_t) at s = 1."""
        L = np.log1p(t / beta_t)
        with np.errstate(all="ignore"):
            g = -np.expm1(-(s - 1) * L) / (s - 1)
        return np.where(np.abs(s - 1) < 1e-10, L, g)

    def expected_purchases_new(self, t, age=0.0) -> np.ndarray:
        """E[X(t)] = r beta / alpha * [1 - (beta/(beta+t))^(s-1)] / (s-1) for a newly acquired account; for an
        account ``age`` = a old at time 0 (alive or not), (beta/(beta+a))^s r (beta+a) / alpha * [1 -
        ((beta+a)/(beta+a+t))^(s-1)] / (s-1)."""
        r, alpha, s, beta = self.params.to_numpy()
        t, age = np.asarray(t, float), np.asarray(age, float)
        scale = beta + age
        return np.exp(-s * np.log1p(age / beta)) * r * scale / alpha * self._growth(s, scale, t)

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | alive, x, t_x, T, a] = (r+x)(beta+a+T)/(alpha+T) * [1-((beta+a+T)/(beta+a+T+t))^(s-1)]/(s-1)."""
        r, alpha, s, beta = self.params.to_numpy()
        x, tx, T = _arrays(rfm)
        scale = beta + ages_at_start(rfm) + T
        return (r + x) * scale / (alpha + T) * self._growth(s, scale, np.asarray(t, float))

    def sample_future(self, t, rfm: pd.DataFrame, rng: np.random.Generator, size: int | None = None,
                      alive: np.ndarray | None = None) -> np.ndarray:
        """Draws of each account's purchases in the next ``t`` from its posterior (one per account, or ``size``
        rows of them): alive with P(alive), then lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+a+T),
        lifetime ~ Exp(mu), Poisson(lambda min(lifetime, t)). ``alive``: their P(alive), when already
        computed."""
        r, alpha, s, beta = self.params.to_numpy()
        x, _, T = _arrays(rfm)
        dims = (len(x),) if size is None else (size, len(x))
        alive = rng.random(dims) < self._alive(rfm, alive)
        lam = rng.gamma(r + x, 1.0 / (alpha + T), size=dims)
        mu = rng.gamma(s, 1.0 / (beta + ages_at_start(rfm) + T), size=dims)
        with np.errstate(divide="ignore", over="ignore"):
            life = rng.exponential(1.0 / mu)
        return np.where(alive, rng.poisson(lam * np.minimum(life, float(t))), 0)

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0, age=0.0) -> pd.DataFrame:
        """Accounts simulated from the fitted parameters; ``age``: left truncation (see
        :func:`kamlib.models.simulate.simulate_paretonbd`)."""
        r, alpha, s, beta = self.params.to_numpy()
        return simulate_paretonbd(T, r=r, alpha=alpha, s=s, beta=beta, rng=rng, future=future, age=age)


class ParetoNBD(Model):
    """Pareto/NBD model of repeat purchasing. ``ParetoNBD().fit(rfm)`` with columns frequency, recency, T.

    An optional column ``age_at_start`` (a, in the same time unit) fits the left-truncated likelihood
    (:func:`loglik_left_truncated`): accounts acquired a time units before their window (0, T] starts, observed
    only in it, every purchase in it counted (x), including accounts with no purchase in it (x = 0) — they may
    have dropped out before. a = 0 (or no column) is the ordinary Pareto/NBD.

    The gradient is taken by central differences of the vectorised likelihood (the hypergeometric term has
    no cheap closed-form derivative in its parameters); rows are compressed first.
    """

    param_names = ("r", "alpha", "s", "beta")
    shape_names = ("r", "s")
    long_name = "Pareto/NBD"
    results_class = ParetoNBDResults

    def _prepare(self, data, weights):
        return prepare_rfm(data, weights, self.long_name, ages=True)

    def _initial(self, d, w):
        x = np.average(d["frequency"], weights=w)
        T = np.average(d["T"], weights=w)
        return np.array([0.5, max(T / max(x, 0.1), 0.1) / 2, 0.5, max(T, 1.0) / 4])

    def _loglik(self, theta, d):
        return loglik_left_truncated(theta, d["frequency"], d["recency"], d["T"], d.get(AGE_COLUMN, 0.0))

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


__all__ = ["ParetoNBD", "ParetoNBDResults", "COLUMNS", "loglik_left_truncated"]
