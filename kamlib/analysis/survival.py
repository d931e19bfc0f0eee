"""Account survival and churn drivers: Kaplan-Meier and log-rank (statsmodels), Cox proportional hazards
(:mod:`kamlib.models.cox`).

Durations run from acquisition to churn (event) or to the analysis date (censored), in days. Churn drivers
(:func:`churn_drivers`) are estimated without look-ahead: a Cox model in counting-process form, one row per
account and calendar month in the book, each covariate counted in the ``lookback_days`` before its month
starts (nothing from the month itself or later), with a discrete-time hazard (cloglog GLM on the same rows)
beside it as a robustness check.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from ..data import aggregate as agg
from ..models.cox import CoxPH, CoxPHResults
from . import memo

from ..data.dataset import Dataset
from ..text.display import Shown, Summary, headed



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


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values over the tests given (family-wise error rate): a covariate is
    named at level a when its adjusted p-value is below a."""
    from statsmodels.stats.multitest import multipletests
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


@dataclass
class CoxResults:
    """Cox PH fit: hazard ratios with CIs and the proportional-hazards check."""

    hazard_ratios: pd.DataFrame
    ph_check: pd.DataFrame
    nobs: int
    events: int
    result: CoxPHResults
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


def collinear_covariates(x: pd.DataFrame) -> dict:
    """Covariates that are a linear combination of the ones before them plus a constant (the Cox model has no
    intercept, so e.g. tier dummies that cover every account cannot all be estimated): ``{covariate: (i18n key,
    values)}``, found by the rank of the centred columns taken in order."""
    centred = (x - x.mean()).to_numpy(float)
    scale = np.abs(centred).max(axis=0)
    centred = centred / np.where(scale > 0, scale, 1.0)
    out, kept = {}, []
    for j, c in enumerate(x.columns):
        trial = centred[:, kept + [j]]
        if np.linalg.matrix_rank(trial, tol=1e-8 * np.sqrt(len(x))) <= len(kept):
            out[c] = ("cox_dropped_collinear", {"others": list(x.columns[kept])})
        else:
            kept.append(j)
    return out


#: Largest |coefficient| and standard error, per standard deviation of the covariate, taken as a finite
#: estimate (a hazard ratio of e^10 ~ 22,000 per standard deviation; a 95% interval spanning e^+-100). Beyond
#: them the partial likelihood is still rising towards infinity (monotone likelihood: the covariate separates
#: churned from retained accounts), where the score vanishes too.
MAX_STANDARDISED_COEF, MAX_STANDARDISED_SE = 10.0, 50.0


def _at_maximum(res: CoxPHResults) -> bool:
    """A converged fit (no Newton step left and a zero score: :meth:`CoxPH.fit`) with finite estimates and
    standard errors and no coefficient running off to infinity (:data:`MAX_STANDARDISED_COEF`,
    :data:`MAX_STANDARDISED_SE`)."""
    p, bse = res.params, res.bse
    if not (res.converged and np.all(np.isfinite(p)) and np.all(np.isfinite(bse))):
        return False
    sd = res.model.exog.std(axis=0)
    return not (np.any(np.abs(p) * sd > MAX_STANDARDISED_COEF) or np.any(bse * sd > MAX_STANDARDISED_SE))


def fit_cox(model: CoxPH, names: list[str]) -> CoxPHResults:
    """Maximum partial likelihood, checked (:func:`_at_maximum`). Raises :class:`CoxUnavailable` when the fit
    reaches no finite maximum (a covariate separates churned from retained) or fails (the error is kept as the
    exception's message)."""
    try:
        res = model.fit()
    except Exception as e:                       # noqa: BLE001 - any failure of the fit is a non-estimable model
        raise CoxUnavailable("cox_failed", f"the Cox model of churn (covariates {', '.join(names)}) could not "
                             f"be fitted: {type(e).__name__}: {e}") from e
    if not _at_maximum(res):
        raise CoxUnavailable("cox_not_estimable", f"the Cox model of churn did not converge (covariates "
                             f"{', '.join(names)}): some hazard ratio is not estimable (a covariate separates "
                             "churned from retained accounts)")
    return res


def cox(dur: pd.DataFrame, x: pd.DataFrame, alpha: float = 0.05) -> CoxResults:
    """Cox proportional-hazards regression (:class:`kamlib.models.cox.CoxPH`, Breslow ties). ``dur``:
    duration_days and event per row; with ``entry_days`` too, rows are (entry, exit] intervals
    (counting-process form).

    The PH check correlates each covariate's Schoenfeld residuals with the rank of the event time (a
    Grambsch-Therneau style test per covariate); small p-values flag time-varying effects."""
    events = int(dur["event"].sum())
    if events < 5:
        raise CoxUnavailable("cox_too_few", f"only {events} churn events: too few for a Cox model", events=events)
    x = x.loc[dur.index]
    dropped = inestimable_covariates(dur, x)
    x = x.drop(columns=list(dropped))
    dropped |= collinear_covariates(x)
    x = x.drop(columns=[c for c in dropped if c in x.columns])
    if x.shape[1] == 0:
        raise CoxUnavailable("cox_no_covariates", "no covariate left for the Cox model")
    entry = dur["entry_days"].to_numpy(float) if "entry_days" in dur else None
    model = CoxPH(dur["duration_days"].to_numpy(float), x.to_numpy(float), dur["event"].to_numpy(), entry)
    res = fit_cox(model, list(x.columns))
    z = stats.norm.ppf(1 - alpha / 2)
    beta, se = res.params, res.bse
    hr = pd.DataFrame({"coef": beta, "std_err": se, "hazard_ratio": np.exp(beta),
                       "lower": np.exp(beta - z * se), "upper": np.exp(beta + z * se), "p_value": res.pvalues},
                      index=x.columns)
    hr["p_adjusted"] = holm(hr["p_value"])
    sch = res.schoenfeld_residuals
    ev = dur["event"].to_numpy() == 1
    t_rank = stats.rankdata(dur["duration_days"].to_numpy()[ev])
    rows = []
    for j, name in enumerate(x.columns):
        r, p = stats.pearsonr(sch[ev, j], t_rank) if np.std(sch[ev, j]) > 0 else (np.nan, np.nan)
        rows.append({"covariate": name, "rho": r, "p_value": p})
    ph = pd.DataFrame(rows).set_index("covariate")
    return CoxResults(hr, ph, len(dur), events, res, dropped)


LOOKBACK_DAYS = 90


def periods(ds: Dataset, churned_on: pd.Series | None = None, freq: str = "M",
            until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Counting-process rows: one per account and calendar month (``freq``) it is in the book up to its churn
    (the event) or the end of follow-up ``until`` (default: the analysis date). Time is the account's age in
    days at the end of a day: ``entry_days`` (its age when the period starts: the month start, or the
    acquisition day) and ``duration_days`` (when it ends: the next month start, the end of the churn day, or
    the end of follow-up); ``event`` 1 in the row whose period holds the churn. ``churned_on``: churn date per
    account (default: recorded)."""
    end = ds.analysis_date if until is None else min(pd.Timestamp(until), ds.analysis_date)
    acc = ds.accounts.set_index("account_id")
    acc = acc[acc["acquired_on"] <= end]
    churn = pd.to_datetime((acc["churned_on"] if churned_on is None else churned_on).reindex(acc.index))
    event = churn.notna() & (churn <= end)
    last = churn.where(event, end)
    first_p, last_p = acc["acquired_on"].dt.to_period(freq), last.dt.to_period(freq)
    first_ord = pd.PeriodIndex(first_p).asi8                                # period ordinals
    n = pd.PeriodIndex(last_p).asi8 - first_ord + 1                          # periods from acquisition to the end
    i = np.repeat(np.arange(len(acc)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    period = pd.PeriodIndex.from_ordinals(first_ord[i] + offset, freq=freq)
    acquired = acc["acquired_on"].to_numpy()[i]
    start = np.maximum(period.start_time.normalize().to_numpy(), acquired)
    stop = np.minimum((period + 1).start_time.normalize().to_numpy(), last.to_numpy()[i] + np.timedelta64(1, "D"))
    is_last = offset == n[i] - 1
    days = np.timedelta64(1, "D")
    return pd.DataFrame({"account_id": acc.index.to_numpy()[i], "period_start": start,
                         "entry_days": (start - acquired) / days, "duration_days": (stop - acquired) / days,
                         "event": (is_last & event.to_numpy()[i]).astype(int)})


def _window_sums(acc_code: np.ndarray, day: np.ndarray, weight: np.ndarray, row_acc: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``weight`` over events of its account dated in [lo, hi) (days as integers)."""
    span = np.int64(1 << 20)                   # days since 1970 stay below it until the year 4840
    key = acc_code.astype(np.int64) * span + day
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(weight, float)[order])])
    base = row_acc.astype(np.int64) * span
    start = base + np.clip(lo, 0, None).astype(np.int64)     # -inf: from the account's first event
    return cum[np.searchsorted(key, base + hi, "left")] - cum[np.searchsorted(key, start, "left")]


def _days(values) -> np.ndarray:
    return (pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")).astype(np.int64)


def lookback_covariates(ds: Dataset, rows: pd.DataFrame, lookback_days: int = LOOKBACK_DAYS
                        ) -> tuple[pd.DataFrame, dict]:
    """Covariates of each counting-process row, measured before its period starts: counts in the
    ``lookback_days`` before it (``complaints_<L>d``, ``unresolved_complaints_<L>d`` — complaints in the window
    not resolved by the period start —, ``visits_<L>d``, with payments ``late_invoices_<L>d`` — invoices due in
    the window not paid by their due date —, with a discount column ``ordered_<L>d`` (1 when the account
    ordered in the window) and ``discount_pct_<L>d``, the revenue-weighted mean discount in % of those orders:
    a window without orders has no discount, so it is set to 0 there and, beside ``ordered_<L>d``, its hazard
    ratio compares discounts among accounts that ordered — silence before a churn does not read as a discount
    effect), and dummies of the tier in force when the period starts (reference C; :func:`tier_in_force`,
    NaN where it is not known). Returns the covariates and the covariates left out with their reason
    (``{name: (i18n key, values)}``): the credit rating is known only as it stands today, after the periods it
    would explain, and so is the tier without a ``tier_changes`` table."""
    ids = pd.Index(ds.accounts["account_id"])
    row_acc = ids.get_indexer(rows["account_id"])
    hi = _days(rows["period_start"])
    lo = hi - lookback_days
    out = pd.DataFrame(index=rows.index)
    dropped = {}
    suffix = f"_{lookback_days}d"

    def count(acc_ids, dates, weight=None, lo=lo):
        a = ids.get_indexer(acc_ids)
        keep = a >= 0
        w = np.ones(keep.sum()) if weight is None else np.asarray(weight, float)[keep]
        return _window_sums(a[keep], _days(np.asarray(dates)[keep]), w, row_acc, lo, hi)

    it = ds.interactions_of(["visit", "complaint_resolved"], columns=["account_id", "date", "kind"])
    if it is None:
        for name in ("complaints", "unresolved_complaints", "visits"):
            dropped[name + suffix] = ("cox_dropped_no_table", {"table": "interactions"})
    else:
        from .scorecard import complaints
        comp = complaints(ds)
        out["complaints" + suffix] = count(comp["account_id"], comp["complained_on"])
        # complaints in the window still open when the period starts: resolutions close an account's complaints
        # oldest first (as :func:`kamlib.analysis.scorecard.complaints` pairs them), so with C(t) complaints and
        # R(t) resolutions before t, the open ones among those made in [lo, hi) number C(hi) - max(C(lo), R(hi))
        resolved = it[it["kind"] == "complaint_resolved"]
        never = np.full(len(rows), -np.inf)
        c_hi = count(comp["account_id"], comp["complained_on"], lo=never)
        c_lo = c_hi - out["complaints" + suffix].to_numpy()
        r_hi = count(resolved["account_id"], resolved["date"], lo=never)
        out["unresolved_complaints" + suffix] = np.clip(c_hi - np.maximum(c_lo, r_hi), 0, None)
        visits = it[it["kind"] == "visit"]
        out["visits" + suffix] = count(visits["account_id"], visits["date"])
    late = ds.rows("payments", agg.late_invoices)
    if late is not None:
        # known at the due date: an invoice due in the window and not paid by then is late
        out["late_invoices" + suffix] = count(late["account_id"], late["due_date"])
    tx = ds.table("transactions")
    if "discount" in tx.columns:
        d = agg.execute(agg.discount_by_account_day(tx, end=ds.analysis_date))
        rev = count(d["account_id"], d["day"], d["revenue"])
        disc = count(d["account_id"], d["day"], d["discounted"])
        sold = count(d["account_id"], d["day"], d["revenue"] > 0) > 0
        out["ordered" + suffix] = sold.astype(float)
        out["discount_pct" + suffix] = np.divide(100 * disc, rev, out=np.zeros_like(rev), where=sold & (rev > 0))
    tier = tier_in_force(ds, rows)
    if tier is None:
        dropped["tier"] = ("cox_dropped_tier_today", {})
    else:
        for t in ("strategic", "A", "B"):
            out[f"tier_{t}"] = np.where(tier.isna(), np.nan, (tier == t).astype(float))
    dropped["credit_rating"] = ("cox_dropped_current_only", {})
    return out, dropped


def tier_in_force(ds: Dataset, rows: pd.DataFrame) -> pd.Series | None:
    """The tier of each counting-process row's account as it stood when the row's period starts, from the
    optional ``tier_changes`` table (account_id, date, tier: from ``date`` on the account's tier is ``tier``,
    a change dated on a period's first day counting for that period). An account without a row there
    kept today's tier (``accounts.tier``) throughout; before an account's first row its tier is not known
    (NaN: those account-months are left out of the model). None without the table: today's tier applied to
    past months would be look-ahead (an account downgraded after it churned would make the tier look like a
    driver)."""
    changes = ds.frame("tier_changes")
    if changes is None:
        return None
    ch = changes[["account_id", "date", "tier"]].dropna(subset=["date"]).astype({"account_id": str})
    ch = ch.assign(date=pd.to_datetime(ch["date"])).sort_values("date", kind="stable")
    r = pd.DataFrame({"account_id": rows["account_id"].astype(str).to_numpy(),
                      "period_start": pd.to_datetime(rows["period_start"]).to_numpy(), "row": np.arange(len(rows))})
    r = r.sort_values("period_start", kind="stable")
    hit = pd.merge_asof(r, ch, left_on="period_start", right_on="date", by="account_id",
                        direction="backward").sort_values("row")
    today = ds.accounts.astype({"account_id": str}).set_index("account_id")["tier"]
    never = ~hit["account_id"].isin(set(ch["account_id"]))
    tier = hit["tier"].where(~never, hit["account_id"].map(today))
    return pd.Series(tier.to_numpy(), index=rows.index, name="tier")


@dataclass(repr=False)
class ChurnDrivers(Shown):
    """Churn drivers without look-ahead: the counting-process Cox model and its discrete-time check. The
    frames are indexed by covariate (e.g. ``complaints_90d``, ``tier_A``); ``coef`` and ``std_err`` are on the
    log-hazard scale, ``hazard_ratio`` = exp(coef) with its ``lower`` / ``upper`` Wald bounds, ``p_value`` of
    the Wald test; ``rho`` is the correlation of the scaled Schoenfeld residuals with event-time rank (far from
    0: the hazard ratio changes over time). ``p_adjusted`` is Holm's adjustment of ``p_value`` over the
    covariates tested (the rows of ``hazard_ratios``): a report names a driver only when it is below 0.05
    (:meth:`named`), so on a book where nothing drives churn at most 5% of reports name any."""

    hazard_ratios: pd.DataFrame      # covariate -> coef, std_err, hazard_ratio, lower, upper, p_value, p_adjusted
    ph_check: pd.DataFrame           # covariate -> rho, p_value (Schoenfeld residuals vs event-time rank)
    discrete: pd.DataFrame           # covariate -> hazard_ratio, lower, upper, p_value (cloglog GLM)
    nobs: int                        # account-month rows
    accounts: int
    events: int
    lookback_days: int
    dropped: dict = field(default_factory=dict)    # covariate -> (i18n key, values)
    result: object = None
    unknown_tier_rows: int = 0       # account-months left out: the tier then is not known (tier_changes)
    follow_up_end: pd.Timestamp | None = None   # the analysis date, or earlier for churn by inactivity

    @property
    def tests(self) -> int:
        """How many covariates were tested (the family Holm's adjustment covers)."""
        return len(self.hazard_ratios)

    def named(self, level: float = 0.05) -> pd.DataFrame:
        """The drivers a report may name: Holm-adjusted p-value below ``level``, strongest first."""
        hr = self.hazard_ratios
        return hr[hr["p_adjusted"] < level].sort_values("p_adjusted", kind="stable")

    def table(self) -> pd.DataFrame:
        """Cox and discrete-time hazard ratios side by side: hazard_ratio, lower, upper, p_value, p_adjusted
        (Holm), hazard_ratio_discrete per covariate."""
        return self.hazard_ratios[["hazard_ratio", "lower", "upper", "p_value", "p_adjusted"]].join(
            self.discrete[["hazard_ratio"]].rename(columns={"hazard_ratio": "hazard_ratio_discrete"}))

    def summary(self, lang: str = "en") -> Summary:
        """Rows, accounts, churns and look-back; the hazard ratios (:meth:`table`); the covariates left out."""
        from ..text.i18n import header, t
        info = [(t("res_account_months", lang), f"{self.nobs:,}"), (t("accounts", lang), f"{self.accounts:,}"),
                (t("res_churns", lang), f"{self.events:,}"), (t("res_lookback_days", lang), str(self.lookback_days))]
        notes = ([t("res_dropped", lang, names=t("list_separator", lang).join(
                 str(header(c, lang)) for c in self.dropped))] if self.dropped else [])
        return Summary(t("res_drivers_title", lang), info, headed(self.table(), lang), notes, max_rows=20)


def discrete_time_hazard(rows: pd.DataFrame, x: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The same drivers in a discrete-time hazard model on the same rows: a binomial GLM with complementary
    log-log link (grouped-time proportional hazards, so exp(coefficient) is a hazard ratio), one baseline
    level per year of account age and the log of each row's days as offset (fitted by :func:`cloglog_glm`)."""
    age_year = (rows["entry_days"] // 365).astype(int).clip(upper=9)
    base = pd.get_dummies(age_year, prefix="age", dtype=float)
    exog = np.column_stack([x.to_numpy(float), base.to_numpy(float)])
    beta, cov, _ = cloglog_glm(rows["event"].to_numpy(float), exog,
                            np.log((rows["duration_days"] - rows["entry_days"]).to_numpy(float)))
    k = x.shape[1]
    z = stats.norm.ppf(1 - alpha / 2)
    beta, se = beta[:k], np.sqrt(np.diag(cov))[:k]
    return pd.DataFrame({"hazard_ratio": np.exp(beta), "lower": np.exp(beta - z * se),
                         "upper": np.exp(beta + z * se), "p_value": 2 * stats.norm.sf(np.abs(beta / se))},
                        index=x.columns)


_EPS = np.finfo(float).eps


def cloglog_glm(y: np.ndarray, exog: np.ndarray, offset: np.ndarray, *, tol: float = 1e-8,
                maxiter: int = 100) -> tuple[np.ndarray, np.ndarray, int]:
    """Estimates, covariance (inverse expected information) and iterations of a binomial GLM with complementary log-log
    link, by iteratively reweighted least squares as statsmodels' ``GLM(...).fit()`` does it — the same
    start, working weights, clipping and deviance criterion, so the same numbers (tests compare them) —
    but solving the k x k normal equations instead of a least-squares problem on the weighted design:
    statsmodels' IRLS holds about fifteen copies of the design (7.5 GiB on the 4.6M account-months of a
    200k-account book), this about two."""
    def link(p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return np.log(-np.log1p(-p)), 1.0 / ((p - 1) * np.log1p(-p))     # g(p), g'(p)

    def deviance(mu):
        # with mu clipped as in the weights (statsmodels' way): unclipped, an event row whose mu rounds to 1 (a
        # large linear predictor) gives 0 x log 0 = NaN, the criterion never holds and the fit runs maxiter
        # iterations (100 x 0.35 s on a 200k-account book) at estimates that stopped changing after ~8
        m = np.clip(mu, _EPS, 1 - _EPS)
        return 2 * float(np.sum(special.xlogy(y, y / m) + special.xlogy(1 - y, (1 - y) / (1 - m))))

    mu = (y + 0.5) / 2
    eta, _ = link(mu)
    dev = deviance(mu)
    for iteration in range(1, maxiter + 1):
        _, d = link(mu)
        p = np.clip(mu, _EPS, 1 - _EPS)
        w = 1.0 / (d ** 2 * p * (1 - p))
        z = eta + d * (y - mu) - offset
        xw = exog * w[:, None]
        info = xw.T @ exog
        beta = np.linalg.lstsq(info, xw.T @ z, rcond=None)[0]
        del xw
        eta = exog @ beta + offset
        mu = -np.expm1(-np.exp(eta))
        new = deviance(mu)
        if abs(new - dev) <= tol:
            break
        dev = new
    return beta, np.linalg.pinv(info), iteration


def churn_drivers(ds: Dataset, churn: pd.Series | None = None, lookback_days: int = LOOKBACK_DAYS,
                  alpha: float = 0.05, *, definition=None) -> ChurnDrivers:
    """Churn drivers without look-ahead: Cox proportional hazards in counting-process form (with entry
    times: :func:`cox`) on one row per account and calendar month in the book, each covariate measured in the
    ``lookback_days`` before its month starts (:func:`lookback_covariates`), with a discrete-time hazard model
    beside it (:func:`discrete_time_hazard`). ``churn``: churn date per account (default: recorded);
    ``definition`` (:class:`kamlib.analysis.economics.ChurnDefinition`): how those dates were made — churn by
    inactivity, dated ``days`` after the last order, is dated back at the last order, so the look-back of the
    churn month ends before the lapse, and follow-up ends ``days`` before the analysis date (a lapse after it
    is not known yet)."""
    from ..models.arguments import fraction, positive
    positive("lookback_days", lookback_days, integer=True)
    fraction("alpha", alpha)
    until = None
    if definition is not None and definition.kind == "inactivity":
        if churn is None:
            raise ValueError("churn by inactivity needs the churn dates it made (economics.churn_dates)")
        churn = pd.to_datetime(churn) - pd.Timedelta(days=definition.days)
        until = ds.analysis_date - pd.Timedelta(days=definition.days)
    acc = ds.accounts.set_index("account_id")
    churn = pd.to_datetime((acc["churned_on"] if churn is None else churn).reindex(acc.index))
    # in a batch the notebooks share the fit's tables; its Cox result (the design and Schoenfeld residuals of
    # the account-month frame: ~0.8 GB at 200k accounts) is not kept for them
    return memo.remembered("churn_drivers", ds, (memo.content(churn), str(until), lookback_days, alpha),
                           lambda: _churn_drivers(ds, churn, until, lookback_days, alpha),
                           kept_as=lambda d: dataclasses.replace(d, result=None), shared=SHARED_DRIVERS)


def _churn_drivers(ds: Dataset, churn: pd.Series, until, lookback_days: int, alpha: float) -> ChurnDrivers:
    rows = periods(ds, churn, until=until)
    x, dropped = lookback_covariates(ds, rows, lookback_days)
    known = x.notna().all(axis=1).to_numpy()
    rows, x = rows[known].reset_index(drop=True), x[known].reset_index(drop=True)
    res = cox(rows, x, alpha=alpha)
    dropped |= res.dropped
    kept = list(res.hazard_ratios.index)
    return ChurnDrivers(res.hazard_ratios, res.ph_check, discrete_time_hazard(rows, x[kept], alpha),
                        len(rows), rows["account_id"].nunique(), res.events, lookback_days, dropped, res.result,
                        int((~known).sum()), until or ds.analysis_date)


_DRIVER_TABLES = ("hazard_ratios", "ph_check", "discrete")
_DRIVER_FACTS = ("nobs", "accounts", "events", "lookback_days", "unknown_tier_rows")


def _write_drivers(d: ChurnDrivers, folder: Path) -> None:
    """The fit's tables (Parquet) and facts (JSON), without the Cox result."""
    for name in _DRIVER_TABLES:
        getattr(d, name).to_parquet(folder / f"{name}.parquet")
    facts = {k: int(getattr(d, k)) for k in _DRIVER_FACTS}
    facts["dropped"] = d.dropped
    facts["follow_up_end"] = None if d.follow_up_end is None else pd.Timestamp(d.follow_up_end).isoformat()
    (folder / "facts.json").write_text(json.dumps(facts, default=str), encoding="utf-8")


def _read_drivers(folder: Path) -> ChurnDrivers:
    facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    end = facts.pop("follow_up_end")
    dropped = {k: (why, values) for k, (why, values) in facts.pop("dropped").items()}
    return ChurnDrivers(*(pd.read_parquet(folder / f"{n}.parquet") for n in _DRIVER_TABLES), **facts,
                        dropped=dropped, follow_up_end=None if end is None else pd.Timestamp(end))


#: a batch's kernels fit the churn drivers once between them (:mod:`kamlib.analysis.memo`)
SHARED_DRIVERS = memo.Shared(_write_drivers, _read_drivers)


def try_churn_drivers(ds: Dataset, churn: pd.Series | None = None, lookback_days: int = LOOKBACK_DAYS, *,
                      definition=None) -> tuple[ChurnDrivers | None, CoxUnavailable | None]:
    """:func:`churn_drivers`, or (None, why) when the model cannot be estimated on these accounts (for reports):
    every failure of the estimation becomes a :class:`CoxUnavailable` whose reason a report can word; only
    invalid arguments raise."""
    from ..models.arguments import positive
    positive("lookback_days", lookback_days, integer=True)
    try:
        return churn_drivers(ds, churn, lookback_days, definition=definition), None
    except CoxUnavailable as e:
        return None, e
    except Exception as e:                       # noqa: BLE001 - a report says why instead of failing
        why = CoxUnavailable("cox_failed", f"the churn-driver model could not be estimated: {type(e).__name__}: {e}")
        why.__cause__ = e
        return None, why


def hazard_ratio(drivers: CoxResults | None, why: CoxUnavailable | None,
                 covariate: str) -> tuple[pd.Series | None, tuple[str, dict] | None]:
    """One covariate's row of hazard ratios, or None and the reason (i18n key, values) it is not available:
    no model (``why``), or the covariate left out of it."""
    if drivers is None:
        return None, why.reason
    if covariate in drivers.hazard_ratios.index:
        return drivers.hazard_ratios.loc[covariate], None
    return None, drivers.dropped.get(covariate, ("cox_dropped_constant", {}))
