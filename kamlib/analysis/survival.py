"""Account survival and churn drivers with statsmodels: Kaplan-Meier, log-rank, Cox proportional hazards.

Durations run from acquisition to churn (event) or to the analysis date (censored), in days. Covariates of
the Cox model are summarised over each account's observed life, so they describe, not cause, churn (e.g.
complaints are more likely the longer the account is observed: rates per year are used to limit that).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from ..data import aggregate as agg

from ..data.dataset import Dataset

CREDIT_ORDER = {"AAA": 0, "AA": 1, "A": 2, "BBB": 3, "BB": 4, "B": 5, "CCC": 6, "CC": 7, "C": 8, "D": 9}


def durations(ds: Dataset, churned_on: pd.Series) -> pd.DataFrame:
    """Per account: duration_days (acquisition to churn or analysis date) and event (1 = churned)."""
    acc = ds.accounts.set_index("account_id")
    acc = acc[acc["acquired_on"] <= ds.analysis_date]
    c = pd.to_datetime(churned_on.reindex(acc.index))
    event = c.notna() & (c <= ds.analysis_date)
    stop = c.where(event, ds.analysis_date)
    days = (stop - acc["acquired_on"]).dt.days.clip(lower=0.5)
    return pd.DataFrame({"duration_days": days.astype(float), "event": event.astype(int)}, index=acc.index)


def kaplan_meier(frame: pd.DataFrame, group: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier survival with pointwise (1 - alpha) bands (log-log), per group when given.

    Long format: group, time_days, survival, lower, upper, at_risk. Each curve starts at time 0 (survival 1,
    everyone at risk) and, after its event times, ends at the longest follow-up (the last censored life), so a
    group without churn events shows as a flat line rather than not at all."""
    parts = [(None, frame)] if group is None else list(frame.groupby(group))
    rows = []
    for g, sub in parts:
        durations = sub["duration_days"].to_numpy()
        start = pd.DataFrame({"group": [g], "time_days": [0.0], "survival": [1.0], "lower": [1.0], "upper": [1.0],
                              "at_risk": [len(sub)]})
        curve = start
        if sub["event"].any():
            sf = SurvfuncRight(durations, sub["event"].to_numpy())
            lo, hi = _pointwise_band(sf, alpha)
            curve = pd.concat([start, pd.DataFrame({"group": g, "time_days": sf.surv_times, "survival": sf.surv_prob,
                                                    "lower": lo, "upper": hi, "at_risk": sf.n_risk})])
        last = curve.iloc[-1]
        if durations.max() > last["time_days"]:
            end = last.to_frame().T.assign(time_days=float(durations.max()),
                                           at_risk=int((durations >= durations.max()).sum()))
            curve = pd.concat([curve, end])
        rows.append(curve)
    out = pd.concat(rows, ignore_index=True)
    return out.astype({c: float for c in ("time_days", "survival", "lower", "upper")} | {"at_risk": int})


def _pointwise_band(sf: SurvfuncRight, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-log transformed Greenwood band, which stays in [0, 1]."""
    s, se = sf.surv_prob, sf.surv_prob_se
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(all="ignore"):
        theta = np.log(-np.log(s))
        se_theta = se / (s * np.abs(np.log(s)))
        lo = np.exp(-np.exp(theta + z * se_theta))
        hi = np.exp(-np.exp(theta - z * se_theta))
    lo = np.where(np.isfinite(lo), lo, s)
    hi = np.where(np.isfinite(hi), hi, s)
    return lo, hi


def logrank(frame: pd.DataFrame, group: str) -> dict:
    """Log-rank test of equal survival across the groups of ``group``: chi2, df, p_value and ``reason``
    (None, or the (i18n key, values) why the test is not possible: fewer than two groups, no churn events yet,
    or a singular variance matrix — then chi2 and p_value are NaN)."""
    groups = int(frame[group].nunique())
    out = {"chi2": np.nan, "df": groups - 1, "p_value": np.nan, "reason": None}
    if groups < 2:
        return out | {"reason": ("logrank_one_group", {})}
    if not frame["event"].any():
        return out | {"reason": ("logrank_no_events", {})}
    try:
        stat, p = survdiff(frame["duration_days"].to_numpy(), frame["event"].to_numpy(), frame[group].to_numpy())
    except np.linalg.LinAlgError:
        return out | {"reason": ("logrank_singular", {})}
    return out | {"chi2": float(stat), "p_value": float(p)}


def covariates(ds: Dataset, dur: pd.DataFrame) -> pd.DataFrame:
    """Churn-driver covariates per account over its observed life: complaints per year, share of complaints
    resolved, in-person visits per month, credit rating (ordinal, 0 = AAA), mean discount (%), share of
    invoices paid late (when payments exist), tier dummies (reference C). Covariates the Cox model cannot
    estimate (e.g. the same for every account) are left out, and named, by :func:`cox`."""
    acc = ds.accounts.set_index("account_id").reindex(dur.index)
    years = dur["duration_days"] / 365.25
    out = pd.DataFrame(index=dur.index)
    it = ds.interactions
    if it is not None:
        it = it[it["date"] <= ds.analysis_date]
        counts = it.groupby(["account_id", "kind"]).size().unstack(fill_value=0).reindex(dur.index, fill_value=0)
        comp = counts.get("complaint", pd.Series(0, index=dur.index))
        res = counts.get("complaint_resolved", pd.Series(0, index=dur.index))
        out["complaints_per_year"] = comp / years.clip(lower=0.25)
        out["complaints_resolved_share"] = (res / comp.where(comp > 0)).clip(upper=1).fillna(1.0)
        out["visits_per_month"] = counts.get("visit", 0) / (years.clip(lower=0.25) * 12)
    rating = acc["credit_rating"].map(CREDIT_ORDER)
    if rating.notna().all():
        out["credit_risk_grade"] = rating.astype(float)
    tx = ds.table("transactions")
    if "discount" in tx.columns:
        m = agg.execute(agg.discount_by_account_month(tx, end=ds.analysis_date)).groupby("account_id")[
            ["discounted", "revenue"]].sum()
        out["mean_discount_pct"] = 100 * (m["discounted"] / m["revenue"]).reindex(dur.index).fillna(0.0)
    if ds.payments is not None:
        from .scorecard import late_share_by_account
        late = late_share_by_account(ds.payments, ds.analysis_date)
        out["late_payment_share"] = late.reindex(dur.index).fillna(0.0)
    for tier in ("strategic", "A", "B"):
        out[f"tier_{tier}"] = (acc["tier"] == tier).astype(float)
    return out


@dataclass
class CoxResults:
    """Cox PH fit: hazard ratios with CIs and the proportional-hazards check."""

    hazard_ratios: pd.DataFrame
    ph_check: pd.DataFrame
    nobs: int
    events: int
    result: object
    dropped: dict = field(default_factory=dict)   # covariate -> (i18n key, values) of why it was left out


class CoxUnavailable(ValueError):
    """The Cox model cannot be fit on these accounts; ``key`` and ``values`` word the reason in reports."""

    def __init__(self, key: str, message: str, **values):
        super().__init__(message)
        self.key, self.values = key, values

    @property
    def reason(self) -> tuple[str, dict]:
        return self.key, self.values


def inestimable_covariates(dur: pd.DataFrame, x: pd.DataFrame) -> dict:
    """Covariates whose hazard ratio has no finite estimate, found before fitting: the same value for every
    account, or a 0/1 covariate with no churn among its accounts (hazard ratio 0) or with every churn among
    them (infinite). Returns ``{covariate: (i18n key, values)}``."""
    ev = dur["event"].to_numpy() == 1
    out = {}
    for c in x.columns:
        v = x[c].to_numpy(float)
        if np.all(v == v[0]):
            out[c] = ("cox_dropped_constant", {})
        elif np.isin(v, (0.0, 1.0)).all():
            members = v == 1
            if not (ev & members).any():
                out[c] = ("cox_dropped_no_churn", {"n": int(members.sum())})
            elif not (ev & ~members).any():
                out[c] = ("cox_dropped_all_churn", {"n": int(members.sum())})
    return out


#: Largest |coefficient| and standard error, per standard deviation of the covariate, taken as a finite
#: estimate (a hazard ratio of e^10 ~ 22,000 per standard deviation; a 95% interval spanning e^+-100). Beyond
#: them the partial likelihood is still rising towards infinity (monotone likelihood: the covariate separates
#: churned from retained accounts), where the score vanishes too.
MAX_STANDARDISED_COEF, MAX_STANDARDISED_SE = 10.0, 50.0


def _at_maximum(model: PHReg, res) -> bool:
    """Finite estimates and standard errors, a zero score (gradient of the log partial likelihood) and no
    coefficient running off to infinity (:data:`MAX_STANDARDISED_COEF`, :data:`MAX_STANDARDISED_SE`)."""
    p = np.asarray(res.params)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(res.bse))):
        return False
    sd = model.exog.std(axis=0)
    if np.any(np.abs(p) * sd > MAX_STANDARDISED_COEF) or np.any(np.asarray(res.bse) * sd > MAX_STANDARDISED_SE):
        return False
    return float(np.max(np.abs(model.score(p)))) <= 1e-6 * (1.0 + abs(model.loglike(p)))


def fit_phreg(model: PHReg, names: list[str]):
    """Maximum partial likelihood, checked. statsmodels fits by Newton-Raphson without step-size control, which
    can overshoot into exp() overflow (NaN estimates, with only a RuntimeWarning) when a covariate has few
    members; then BFGS finds the neighbourhood of the maximum and Newton-Raphson finishes from there. Raises
    :class:`CoxUnavailable` when neither reaches a finite maximum (a covariate separates churned from retained)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)     # the result is checked below instead
        res = model.fit()
        if not _at_maximum(model, res):
            start = model.fit(method="bfgs", maxiter=2000, disp=0).params
            res = model.fit(start_params=start) if np.all(np.isfinite(start)) else res
    if not _at_maximum(model, res):
        raise CoxUnavailable("cox_not_estimable", f"the Cox model of churn did not converge (covariates "
                             f"{', '.join(names)}): some hazard ratio is not estimable (a covariate separates "
                             "churned from retained accounts)")
    return res


def cox(dur: pd.DataFrame, x: pd.DataFrame, alpha: float = 0.05) -> CoxResults:
    """Cox proportional-hazards regression (statsmodels PHReg, Breslow ties).

    The PH check correlates each covariate's Schoenfeld residuals with the rank of the event time (a
    Grambsch-Therneau style test per covariate); small p-values flag time-varying effects."""
    events = int(dur["event"].sum())
    if events < 5:
        raise CoxUnavailable("cox_too_few", f"only {events} churn events: too few for a Cox model", events=events)
    x = x.loc[dur.index]
    dropped = inestimable_covariates(dur, x)
    x = x.drop(columns=list(dropped))
    if x.shape[1] == 0:
        raise CoxUnavailable("cox_no_covariates", "no covariate left for the Cox model")
    model = PHReg(dur["duration_days"].to_numpy(), x.to_numpy(float), status=dur["event"].to_numpy(),
                  ties="breslow")
    res = fit_phreg(model, list(x.columns))
    z = stats.norm.ppf(1 - alpha / 2)
    beta, se = res.params, res.bse
    hr = pd.DataFrame({"coef": beta, "std_err": se, "hazard_ratio": np.exp(beta),
                       "lower": np.exp(beta - z * se), "upper": np.exp(beta + z * se), "p_value": res.pvalues},
                      index=x.columns)
    sch = res.schoenfeld_residuals
    ev = dur["event"].to_numpy() == 1
    t_rank = stats.rankdata(dur["duration_days"].to_numpy()[ev])
    rows = []
    for j, name in enumerate(x.columns):
        r, p = stats.pearsonr(sch[ev, j], t_rank) if np.std(sch[ev, j]) > 0 else (np.nan, np.nan)
        rows.append({"covariate": name, "rho": r, "p_value": p})
    ph = pd.DataFrame(rows).set_index("covariate")
    return CoxResults(hr, ph, len(dur), events, res, dropped)


def churn_drivers(ds: Dataset, churned_on: pd.Series) -> CoxResults:
    """The Cox model of churn on the standard covariates of :func:`covariates`."""
    lives = durations(ds, churned_on)
    return cox(lives, covariates(ds, lives))


def try_churn_drivers(ds: Dataset, churned_on: pd.Series) -> tuple[CoxResults | None, CoxUnavailable | None]:
    """:func:`churn_drivers`, or (None, why) when the model cannot be fit on these accounts (for reports)."""
    try:
        return churn_drivers(ds, churned_on), None
    except CoxUnavailable as e:
        return None, e


def hazard_ratio(drivers: CoxResults | None, why: CoxUnavailable | None,
                 covariate: str) -> tuple[pd.Series | None, tuple[str, dict] | None]:
    """One covariate's row of hazard ratios, or None and the reason (i18n key, values) it is not available:
    no model (``why``), or the covariate left out of it."""
    if drivers is None:
        return None, why.reason
    if covariate in drivers.hazard_ratios.index:
        return drivers.hazard_ratios.loc[covariate], None
    return None, drivers.dropped.get(covariate, ("cox_dropped_constant", {}))
