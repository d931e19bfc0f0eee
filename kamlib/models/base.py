"""The shared maximum-likelihood core and statsmodels-style results objects for every kamlib model.

Models are fitted in log-parameter space (all parameters are positive) with L-BFGS-B, using analytic
gradients where a model provides them. Identical input rows are compressed into weights first, so a book of
a million accounts with few distinct (frequency, recency, T) rows fits in the time of the distinct rows.
Standard errors come from the Hessian of the log-likelihood at the optimum (computed in log space, where it
is well conditioned, and mapped back: cov(theta) = D cov(log theta) D with D = diag(theta), exact at a
stationary point). Confidence intervals are Wald intervals on the log scale, so they stay positive.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..text.display import Summary


class ConvergenceWarning(UserWarning):
    """The optimiser stopped without meeting its convergence criteria. Besides the English message it carries
    the parts a report translates: ``model`` (long name), ``edge`` (shape parameters heading to the edge of the
    parameter space, e.g. "s = 1.3e-06"; empty if none) and ``detail`` (the optimiser's own message)."""

    def __init__(self, message: str, model: str = "", edge: str = "", detail: str = ""):
        super().__init__(message)
        self.model, self.edge, self.detail = model, edge, detail


LOG_BOUND = 20.0                 # the fitter searches log parameters in [-LOG_BOUND, LOG_BOUND]


def estimate_format(v: float) -> str:
    """Four decimals as in statsmodels' tables; scientific notation for values that would show as 0.0000
    or run to many digits (a parameter at the edge of its space, or its interval)."""
    if v != 0 and np.isfinite(v) and not 1e-3 <= abs(v) < 1e7:
        return f"{v:.4e}"
    return f"{v:.4f}"


class FitError(RuntimeError):
    """The likelihood could not be evaluated or maximised."""


class PoorlyDetermined(FitError):
    """The estimates are too uncertain for bands from the asymptotic distribution."""


def compress(frame: pd.DataFrame, columns: list[str], weights: np.ndarray | None = None
             ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Unique rows of ``frame[columns]`` as arrays (in order of first appearance) plus their summed weights.

    Each column is factorised (hashing), the codes are combined into one integer key per row, and the key is
    factorised again: linear time, no sort."""
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(frame):
        raise ValueError(f"weights has {len(w)} values for {len(frame)} rows")
    values = {c: frame[c].to_numpy(dtype=float) for c in columns}
    key = np.zeros(len(frame), dtype=np.int64)
    size = 1
    for c in columns:
        codes, uniques = pd.factorize(values[c])
        size *= max(len(uniques), 1)
        if size >= 2**62:   # combined key would overflow: fall back to a group-by
            g = pd.DataFrame(values).assign(_w=w).groupby(columns, sort=False, as_index=False)["_w"].sum()
            return {c: g[c].to_numpy() for c in columns}, g["_w"].to_numpy()
        key = key * len(uniques) + codes
    group, uniques = pd.factorize(key)
    if len(group) == 0:
        return {c: v[:0] for c, v in values.items()}, np.zeros(0)
    # factorize numbers groups in order of first appearance: a row opens a group when its code exceeds all before
    first = np.flatnonzero(np.r_[True, group[1:] > np.maximum.accumulate(group)[:-1]])
    return {c: v[first] for c, v in values.items()}, np.bincount(group, weights=w, minlength=len(uniques))


def require_columns(frame: pd.DataFrame, columns: list[str], model: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{model}: expected a DataFrame such as rfm_summary() returns, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{model}: input lacks column(s) {missing}; found {list(frame.columns)}")
    for c in columns:
        v = frame[c].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            i = frame.index[np.argmax(bad)]
            raise ValueError(f"{model}: column '{c}' has {int(bad.sum())} negative or non-finite value(s), "
                             f"e.g. at index {i!r}: {frame.loc[i, c]!r}")


class FitResults:
    """Fitted parameters with standard errors, confidence intervals, log-likelihood and criteria."""

    def __init__(self, model: "Model", params: np.ndarray, cov_log: np.ndarray, llf: float, nobs: float,
                 converged: bool, iterations: int, message: str, data: dict | None = None):
        names = list(model.param_names)
        self.model = model
        self.params = pd.Series(params, index=names, name="estimate")
        self._cov_log = cov_log
        d = np.diag(params)
        self._cov = pd.DataFrame(d @ cov_log @ d, index=names, columns=names)
        self.llf = float(llf)
        self.nobs = float(nobs)
        self.df_model = len(names)
        self.converged = bool(converged)
        self.iterations = int(iterations)
        self.message = message
        self.time_unit = model.time_unit
        self._data = data or {}

    # --- statsmodels-style inference
    def cov_params(self) -> pd.DataFrame:
        return self._cov

    @property
    def bse(self) -> pd.Series:
        """Standard errors; NaN where the inverted information has no positive variance (the Hessian is
        not negative definite: no well-defined maximum in that direction)."""
        return pd.Series(_sqrt_variance(np.diag(self._cov.to_numpy())), index=self.params.index, name="std err")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald intervals on the log scale: exp(log theta +/- z se(log theta)) (NaN where ``bse`` is)."""
        z = stats.norm.ppf(1 - alpha / 2)
        se_log = _sqrt_variance(np.diag(self._cov_log))
        with np.errstate(over="ignore"):           # an unidentified parameter's interval runs to 0 and inf
            lo = self.params.to_numpy() * np.exp(-z * se_log)
            hi = self.params.to_numpy() * np.exp(z * se_log)
        return pd.DataFrame({"lower": lo, "upper": hi}, index=self.params.index)

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * self.df_model

    @property
    def bic(self) -> float:
        return -2 * self.llf + np.log(self.nobs) * self.df_model

    def draw_params(self, n: int, seed: int | None = 0) -> np.ndarray:
        """``n`` parameter vectors from the asymptotic distribution (normal on the log scale), truncated to the
        box the fitter searches (exp(+-LOG_BOUND)): a poorly determined parameter would otherwise give draws
        such as s = 1e43, outside the model's numerical range. The covariance of a fit that did not converge
        may not be positive semi-definite; its negative eigenvalues are set to 0."""
        rng = np.random.default_rng(seed)
        cov = (self._cov_log + self._cov_log.T) / 2
        eig, vec = np.linalg.eigh(cov)
        if eig.min() < 0:
            cov = (vec * np.clip(eig, 0.0, None)) @ vec.T
        mean = np.log(self.params.to_numpy())
        kept, drawn = np.empty((0, len(mean))), 0
        while len(kept) < n:                       # rejection sampling; each round draws what is still missing
            size = 2 * (n - len(kept)) + 10
            u = rng.multivariate_normal(mean, cov, size=size, method="eigh")
            kept = np.vstack([kept, u[np.all(np.abs(u) <= LOG_BOUND, axis=1)]])[:n]
            drawn += size
            if len(kept) < drawn / 4:
                raise PoorlyDetermined(f"{self.model.long_name}: most parameter draws fall outside "
                                       f"exp(+-{LOG_BOUND:g}); the fit is too poorly determined for bands")
        return np.exp(kept)

    def with_params(self, params: np.ndarray) -> "FitResults":
        """A copy of these results with other parameter values (for bootstrap predictions)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = pd.Series(np.asarray(params, float), index=self.params.index, name="estimate")
        return new

    def summary(self, alpha: float = 0.05, lang: str = "en") -> Summary:
        """Estimates with standard errors and Wald intervals, fit statistics and notes (``lang``: en or zh)."""
        from ..text.i18n import LABELS, t, tv

        def label(key: str, **fmt) -> str:
            return t("fit_" + key, lang, **fmt)

        name = tv(self.model.long_name, lang)       # "Gamma-Gamma spend" reads "Gamma-Gamma 客单价" in zh

        unit_key = f"time_unit_{self.time_unit}"
        unit = t(unit_key, lang) if unit_key in LABELS else self.time_unit or "-"
        ci = self.conf_int(alpha)
        table = pd.DataFrame({label("estimate"): self.params, label("std_err"): self.bse,
                              f"[{alpha / 2:.3f}": ci["lower"], f"{1 - alpha / 2:.3f}]": ci["upper"]})
        info = [(label("model"), name), (label("method"), label("ml")),
                (label("observations"), f"{self.nobs:,.0f}"),
                (label("converged"), t("yes" if self.converged else "no", lang)),
                (label("iterations"), str(self.iterations)), (label("time_unit"), unit),
                (label("llf"), f"{self.llf:,.3f}"), ("AIC", f"{self.aic:,.2f}"), ("BIC", f"{self.bic:,.2f}")]
        info += [(label(key), value) for key, value in self._extra_info()]
        notes = [label("note_se")] + [label(key, unit=unit, **fmt) for key, fmt in self._extra_notes()]
        if self.bse.isna().any():
            notes.insert(1, label("note_no_se", names=", ".join(self.bse.index[self.bse.isna()])))
        return Summary(label("title", model=name), info, table, notes, float_format=estimate_format)

    def _extra_info(self) -> list[tuple[str, str]]:
        """(label key without the 'fit_' prefix, formatted value) pairs for the summary."""
        return []

    def _extra_notes(self) -> list[tuple[str, dict]]:
        """(label key without the 'fit_' prefix, format arguments) pairs for the summary's notes."""
        return []

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"<{type(self).__name__} {p}, llf={self.llf:.3f}>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def _sqrt_variance(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(v > 0, np.sqrt(v), np.nan)


class Model:
    """Base class: subclasses define parameter names, data preparation and the log-likelihood."""

    param_names: tuple[str, ...] = ()
    # shape parameters: running to 0 or infinity means a degenerate limit of the model (scale parameters
    # such as a spend or time scale may legitimately be large; they follow the data's units)
    shape_names: tuple[str, ...] = ()
    long_name: str = ""
    results_class: type[FitResults] = FitResults

    def __init__(self, time_unit: str | None = None):
        self.time_unit = time_unit

    # subclasses implement these
    def _prepare(self, data, weights) -> tuple[dict[str, np.ndarray], np.ndarray]:
        raise NotImplementedError

    def _loglik(self, theta: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _loglik_grad(self, theta: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray | None:
        """Per-row gradient (n, k) with respect to the natural parameters, or None."""
        return None

    @classmethod
    def has_gradient(cls) -> bool:
        """Whether the model supplies a per-row gradient (else the fitter uses finite differences)."""
        return cls._loglik_grad is not Model._loglik_grad

    def _value_and_grad(self, theta: np.ndarray, d: dict[str, np.ndarray], w: np.ndarray
                        ) -> tuple[float, np.ndarray]:
        """Weighted total log-likelihood and its gradient (models may override with a fused version)."""
        return float(np.dot(w, self._loglik(theta, d))), w @ self._loglik_grad(theta, d)

    def _initial(self, d: dict[str, np.ndarray], w: np.ndarray) -> np.ndarray:
        return np.ones(len(self.param_names))

    def fit(self, data, weights=None, *more, initial: dict | None = None, maxiter: int = 2000,
            gtol: float = 1e-7, time_unit: str | None = None) -> FitResults:
        """Maximum-likelihood fit; returns a results object (params, bse, conf_int(), llf, summary()). Also
        lifetimes' call shape ``fit(frequency, recency, T, time_unit="D")`` (:mod:`kamlib.models.call_shape`)."""
        from .call_shape import SHAPES, frame_from_arrays
        if type(self).__name__ in SHAPES and not isinstance(data, pd.DataFrame):
            data, weights = frame_from_arrays(self, (data, *([] if weights is None else [weights]), *more), time_unit)
        elif more:
            raise TypeError(f"{type(self).__name__}.fit(frame, weights) takes no further positional arguments")
        if time_unit is not None:
            self.time_unit = time_unit
        d, w = self._prepare(data, weights)
        if self.time_unit is None and isinstance(data, pd.DataFrame):
            self.time_unit = data.attrs.get("time_unit", None)
        if w.sum() <= 0:
            raise FitError(f"{self.long_name}: no observations to fit")
        theta0 = (np.array([initial[k] for k in self.param_names], float) if initial
                  else self._initial(d, w))
        theta, llf, res = maximize_loglik(self, d, w, theta0, maxiter=maxiter, gtol=gtol)
        cov_log, ok_hess = covariance_log(self, d, w, theta)
        message = str(res.message).strip(" :")
        edge = np.isin(self.param_names, self.shape_names) & (np.abs(np.log(theta)) > EDGE)
        if not res.success and ok_hess and not edge.any():
            # L-BFGS-B often stops with a failed line search (ABNORMAL) at the maximum, where the likelihood
            # is flat to rounding; Newton steps on the Hessian decide, and the Newton decrement measures how
            # far the maximum can still be
            theta, llf, cov_log, ok_hess, decrement = newton_polish(self, d, w, theta, llf, cov_log)
            if ok_hess and decrement < NEWTON_DECREMENT_TOL:
                res.success = True
                message = f"{message}; at the maximum by Newton's criterion (decrement {decrement:.1e})"
        converged = bool(res.success) and ok_hess and not edge.any()   # a degenerate limit is no maximum
        if not converged:
            detail = message
            far = ", ".join(f"{k} = {v:.3g}" for k, v, e in zip(self.param_names, theta, edge) if e)
            if far:
                message += (f"; {far} heading to the edge of the parameter space: the likelihood may have no "
                            "interior maximum on these data (few accounts, or little variation)")
            warnings.warn(ConvergenceWarning(f"{self.long_name}: fit did not converge ({message}); estimates are "
                                             "unreliable", model=self.long_name, edge=far, detail=detail),
                          stacklevel=2)
        return self.results_class(self, theta, cov_log, llf, w.sum(), converged, res.nit, message,
                                  data={"d": d, "w": w})


def total_loglik(model: Model, d, w, theta) -> float:
    with np.errstate(all="ignore"):
        v = float(np.dot(w, model._loglik(theta, d)))
    return v if np.isfinite(v) else -np.inf


def maximize_loglik(model: Model, d, w, theta0, *, maxiter: int, gtol: float):
    """L-BFGS-B on u = log(theta), minimising -LL / sum(w) (scaled for conditioning)."""
    scale = w.sum()
    has_grad = model.has_gradient()

    def f(u):
        theta = np.exp(u)
        if not has_grad:
            ll = total_loglik(model, d, w, theta)
            return -ll / scale if np.isfinite(ll) else 1e100
        with np.errstate(all="ignore"):
            ll, g = model._value_and_grad(theta, d, w)
        if not (np.isfinite(ll) and np.all(np.isfinite(g))):
            return 1e100, np.zeros_like(u)
        return -ll / scale, -(g * theta) / scale

    u0 = np.log(theta0)
    if not np.isfinite(total_loglik(model, d, w, theta0)):
        raise FitError(f"{model.long_name}: log-likelihood is not finite at the starting values {theta0}")
    opts = {"maxiter": maxiter, "gtol": gtol, "ftol": 1e-14, "maxcor": 20}
    box = [(-LOG_BOUND, LOG_BOUND)] * len(u0)
    res = optimize.minimize(f, u0, jac=has_grad, method="L-BFGS-B", bounds=box, options=opts)
    if "PGTOL" not in str(res.message).upper():
        # stopped on the function tolerance, not on a small gradient: restart from there to tighten it
        res2 = optimize.minimize(f, res.x, jac=has_grad, method="L-BFGS-B", bounds=box, options=opts)
        if res2.fun <= res.fun:
            res2.nit += res.nit
            res = res2
    theta = np.exp(res.x)
    llf = total_loglik(model, d, w, theta)
    if not np.isfinite(llf):
        raise FitError(f"{model.long_name}: log-likelihood is not finite at the optimum")
    if np.any(np.abs(res.x) >= LOG_BOUND - 0.1):
        res.success = False
        res.message = f"a parameter ran to the boundary of the search space (exp(+-{LOG_BOUND:g}))"
    return theta, llf, res


def _grad_log(model: Model, d, w, u: np.ndarray) -> np.ndarray:
    theta = np.exp(u)
    if model.has_gradient():
        with np.errstate(all="ignore"):
            return model._value_and_grad(theta, d, w)[1] * theta
    eps = 1e-5
    out = np.empty_like(u)
    for i in range(len(u)):
        e = np.zeros_like(u)
        e[i] = eps
        out[i] = (total_loglik(model, d, w, np.exp(u + e)) - total_loglik(model, d, w, np.exp(u - e))) / (2 * eps)
    return out


EDGE = np.log(1e5)               # |log shape parameter| beyond which a fit heads to the edge of the space
NEWTON_DECREMENT_TOL = 1e-6      # g' H^-1 g: twice the log-likelihood a Newton step could still gain


def newton_polish(model: Model, d, w, theta, llf: float, cov_log: np.ndarray, steps: int = 5):
    """Up to ``steps`` Newton steps in log-parameter space from ``theta`` (halved until the log-likelihood
    does not drop).

    Returns (theta, llf, cov_log, ok_hess, decrement) with the Newton decrement g' H^-1 g at the returned point:
    below ~1e-6 the maximum is closer than 0.001 standard errors in every direction."""
    u, ok = np.log(theta), True
    for taken in range(steps + 1):
        g = _grad_log(model, d, w, u)
        decrement = float(g @ cov_log @ g)
        if not np.isfinite(decrement) or decrement < NEWTON_DECREMENT_TOL or taken == steps:
            break
        step = cov_log @ g
        for _ in range(30):
            ll_new = total_loglik(model, d, w, np.exp(u + step))
            if ll_new >= llf:
                break
            step = step / 2
        else:
            break                                  # no step keeps the likelihood: stay where we are
        u, llf = u + step, ll_new
        cov_log, ok = covariance_log(model, d, w, np.exp(u))
        if not ok:
            return np.exp(u), llf, cov_log, ok, np.inf
    return np.exp(u), llf, cov_log, ok, decrement


def covariance_log(model: Model, d, w, theta) -> tuple[np.ndarray, bool]:
    """Inverse of the observed information in log-parameter space (central differences of the gradient)."""
    u = np.log(theta)
    k = len(u)
    h = 1e-4
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        hess[:, i] = (_grad_log(model, d, w, u + e) - _grad_log(model, d, w, u - e)) / (2 * h)
    hess = (hess + hess.T) / 2
    info = -hess
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan), False
    ok = bool(np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh(info) > 0))
    return cov, ok


Vectorised = Callable[[np.ndarray], np.ndarray]
