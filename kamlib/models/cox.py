"""Cox proportional-hazards regression: maximum Breslow partial likelihood on (entry, exit] rows.

Rows are intervals in counting-process form (left truncation at ``entry``). The risk set at an event time t
holds the rows with entry < t <= exit, as R's ``coxph(Surv(start, stop, event))``: an account split into
month rows is at risk at a time in one row only, so splitting rows at any times changes nothing. (statsmodels'
``PHReg(..., entry=...)`` counts a row entering at t as at risk at t too — the account twice, when its
previous row ends at t; with no entry at an event time both give the same numbers.) Tied events share their
risk set (Breslow).

Each row's times are ranked against the distinct event times once, at construction. An evaluation is then a
few vectorised passes over the rows, O(n p^2): risk-set sums are reverse cumulative sums of per-event-time
``bincount`` totals, and the Hessian's second moments one weighted Gram matrix of the rows (each row weighted
by exp(x'beta) times the sum of d_k / S0_k over the event times k it is at risk at). Memory: besides the
design and two integer ranks per row, one n x p temporary; no loop over rows or event times.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats


class CoxPH:
    """The Breslow log partial likelihood of ``time`` (exit), ``status`` (1 = event) and ``exog`` (n x p, no
    intercept), with optional ``entry`` times; :meth:`fit` maximises it."""

    def __init__(self, time, exog, status, entry=None):
        time = np.asarray(time, float)
        exog = np.asarray(exog, float)
        self.exog = exog[:, None] if exog.ndim == 1 else exog
        status = np.asarray(status)
        entry = np.zeros_like(time) if entry is None else np.asarray(entry, float)
        if not len(status) == len(entry) == len(time) == len(self.exog):
            raise ValueError("time, exog, status and entry must have the same number of rows")
        if not (np.isfinite(time).all() and np.isfinite(entry).all() and np.isfinite(self.exog).all()):
            raise ValueError("time, entry and exog must be finite")
        if not np.isin(status, (0, 1)).all():
            raise ValueError("status must be 0 (censored) or 1 (event)")
        if np.any(entry > time):
            raise ValueError("entry times may not be after exit times")
        self.event = status == 1
        if not self.event.any():
            raise ValueError("no events")
        self.times = np.unique(time[self.event])                   # distinct event times, ascending
        hi = np.searchsorted(self.times, time, "right") - 1         # last event time a row is at risk at
        lo = np.searchsorted(self.times, entry, "right")            # first: the first event time > entry
        self.event_at = hi[self.event]                              # each event's time
        keep = lo <= hi                                             # rows in no risk set are left out
        self._x = self.exog if keep.all() else self.exog[keep]
        self._lo, self._hi = lo[keep], hi[keep]
        self._deaths = np.bincount(self.event_at, minlength=len(self.times)).astype(float)
        self._event_x = self.exog[self.event].sum(axis=0)

    def _at_risk(self, v: np.ndarray) -> np.ndarray:
        """Per event time, the sum of ``v`` (one value per kept row) over its risk set: accumulated from the
        last event time back, adding rows as their exit passes and removing them once their entry is later."""
        m = len(self.times)
        change = np.bincount(self._hi, v, minlength=m) - np.bincount(self._lo, v, minlength=m + 1)[1:]
        return np.cumsum(change[::-1])[::-1]

    def _risk_sets(self, params: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Relative risks exp(x'beta - c) with c the largest x'beta, c, and their sum per risk set."""
        eta = self._x @ params
        c = float(eta.max())
        w = np.exp(eta - c)
        return w, c, self._at_risk(w)

    def _loglike(self, params: np.ndarray, c: float, s0: np.ndarray) -> float:
        with np.errstate(divide="ignore"):
            return float(params @ self._event_x - c * self._deaths.sum() - self._deaths @ np.log(s0))

    def loglike(self, params) -> float:
        """Log partial likelihood (Breslow ties)."""
        params = np.asarray(params, float)
        _, c, s0 = self._risk_sets(params)
        return self._loglike(params, c, s0)

    def _means(self, w: np.ndarray, s0: np.ndarray) -> np.ndarray:
        """Per event time, the risk-weighted mean covariates of its risk set (m x p)."""
        return np.column_stack([self._at_risk(w * xj) for xj in self._x.T]) / s0[:, None]

    def covariate_averages(self, params) -> np.ndarray:
        """Per distinct event time (:attr:`times`), the mean covariates of its risk set weighted by relative
        risk (m x p)."""
        w, _, s0 = self._risk_sets(np.asarray(params, float))
        return self._means(w, s0)

    def derivatives(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        """Log partial likelihood, score and Hessian at ``params``."""
        params = np.asarray(params, float)
        w, c, s0 = self._risk_sets(params)
        means = self._means(w, s0)
        score = self._event_x - self._deaths @ means
        # sum_k d_k S2_k / S0_k = X' diag(w_i * sum of d_k / S0_k over the k row i is at risk at) X
        cum = np.concatenate([[0.0], np.cumsum(self._deaths / s0)])
        xw = self._x * (w * (cum[self._hi + 1] - cum[self._lo]))[:, None]
        information = xw.T @ self._x - (means * self._deaths[:, None]).T @ means
        return self._loglike(params, c, s0), score, -information

    def fit(self, max_iter: int = 50, xtol: float = 1e-8, gtol: float = 1e-6) -> CoxPHResults:
        """Newton-Raphson from 0 with step halving: a step is halved until the log partial likelihood does not
        fall (beyond rounding: 1e-12 of its size). Converged when a step moves no coefficient by more than
        ``xtol`` and the score is at most ``gtol`` x (1 + |log likelihood|); it stops unconverged after
        ``max_iter`` steps, at a singular Hessian, or when 30 halvings find no better point (no finite maximum,
        e.g. when a covariate separates events from non-events, shows as one of these or as coefficients that
        keep growing)."""
        beta = np.zeros(self.exog.shape[1])
        with np.errstate(over="ignore", invalid="ignore"):
            ll, score, hessian = self.derivatives(beta)
            converged, iterations = False, 0
            while iterations < max_iter and not converged:
                try:
                    step = np.linalg.solve(-hessian, score)
                except np.linalg.LinAlgError:
                    break
                for _ in range(30):
                    trial = self.loglike(beta + step)
                    if np.isfinite(trial) and trial >= ll - 1e-12 * (1 + abs(ll)):
                        break
                    step = step / 2
                else:
                    break
                beta, iterations = beta + step, iterations + 1
                ll, score, hessian = self.derivatives(beta)
                converged = (np.max(np.abs(step)) <= xtol
                             and bool(np.max(np.abs(score)) <= gtol * (1 + abs(ll))))
        return CoxPHResults(self, beta, ll, score, hessian, iterations, converged)


@dataclass(eq=False)
class CoxPHResults:
    """A :class:`CoxPH` fit: ``params`` (log hazard ratios), the log partial likelihood ``llf``, ``score``
    and ``hessian`` at ``params``, Newton ``iterations`` and whether they ``converged``."""

    model: CoxPH
    params: np.ndarray
    llf: float
    score: np.ndarray
    hessian: np.ndarray
    iterations: int
    converged: bool

    def cov_params(self) -> np.ndarray:
        """Inverse of the observed information (NaN when singular)."""
        try:
            return np.linalg.inv(-self.hessian)
        except np.linalg.LinAlgError:
            return np.full_like(self.hessian, np.nan)

    @cached_property
    def bse(self) -> np.ndarray:
        """Standard errors (NaN where the information gives none)."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.cov_params()))

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided Wald test of each coefficient against 0 (normal reference)."""
        return 2 * stats.norm.sf(np.abs(self.params / self.bse))

    @cached_property
    def schoenfeld_residuals(self) -> np.ndarray:
        """Per row (n x p): the event row's covariates minus its risk set's weighted mean covariates at its
        event time; NaN for rows without an event (as statsmodels' ``PHRegResults``)."""
        m = self.model
        out = np.full(m.exog.shape, np.nan)
        out[m.event] = m.exog[m.event] - m.covariate_averages(self.params)[m.event_at]
        return out
