"""Account-manager scorecards and the KAM practice numbers behind them: pipeline win rates, payments (DSO,
ageing, late share), complaint handling, win-back economics.

Optional tables (opportunities, payments, interactions) may be absent: functions then return None and the
notebook says 'not available'.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..text.formatting import times
from ..text.i18n import t
from ..data.periods import window_12m
from ..data.schema import DOUBTFUL_AFTER_DAYS

if TYPE_CHECKING:
    from .economics import Measured

AGEING_BUCKETS = ("not due", "0-30", "31-60", "61-90", "90+")
STAGE_ORDER = ("qualification", "proposal", "negotiation", "won")
TEAM_MEDIAN = "team median"    # the last row of manager_scorecard (a display key in the locale files)
DEFAULT_WEIGHTS = {"margin_growth": 0.2, "retention_rate": 0.2, "visit_compliance": 0.15, "win_rate": 0.15,
                   "dso_days": 0.15, "complaint_resolution_days": 0.15}
LOWER_IS_BETTER = {"dso_days", "complaint_resolution_days"}


def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion (NaN when n = 0)."""
    if n == 0:
        return (np.nan, np.nan)
    z = stats.norm.ppf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


# --- pipeline ------------------------------------------------------------------------------------------

def classify_opportunities(ds: Dataset) -> pd.DataFrame | None:
    """Opportunities with ``existing`` (the account was acquired before the opportunity was created) and the
    cycle length in days; None without an opportunities table."""
    opp = ds.opportunities
    if opp is None:
        return None
    acquired = ds.accounts.set_index("account_id")["acquired_on"]
    acq = opp["account_id"].map(acquired)
    out = opp.assign(existing=(acq < opp["created_on"]).fillna(False).astype(bool),
                     cycle_days=(opp["closed_on"] - opp["created_on"]).dt.days)
    return out


def win_rates(opps: pd.DataFrame, start, end, by: str | list[str] = "existing") -> pd.DataFrame:
    """Won / (won + lost) of opportunities closed in [start, end] with Wilson 95% intervals, mean cycle days
    and mean won amount, per group."""
    closed = opps[opps["closed_on"].between(pd.Timestamp(start), pd.Timestamp(end))
                  & opps["outcome"].isin(["won", "lost"])]
    rows = []
    for key, g in closed.groupby(by):
        won = int((g["outcome"] == "won").sum())
        n = len(g)
        lo, hi = wilson_interval(won, n)
        rows.append({**dict(zip([by] if isinstance(by, str) else by, key if isinstance(key, tuple) else [key])),
                     "closed": n, "won": won, "win_rate": won / n, "lower": lo, "upper": hi,
                     "cycle_days": g["cycle_days"].mean(),
                     "won_amount_mean": g.loc[g["outcome"] == "won", "amount"].mean()})
    cols = ([by] if isinstance(by, str) else by)
    return pd.DataFrame(rows, columns=cols + ["closed", "won", "win_rate", "lower", "upper", "cycle_days",
                                              "won_amount_mean"]).set_index(cols)


def funnel(opps: pd.DataFrame, start, end) -> pd.DataFrame:
    """Opportunities created in [start, end] that reached each stage; 'won' counts won outcomes only (an open
    opportunity recorded at stage 'won' counts as negotiation)."""
    o = opps[opps["created_on"].between(pd.Timestamp(start), pd.Timestamp(end))]
    reached = o["stage"].map({s: i for i, s in enumerate(STAGE_ORDER)}).fillna(0)
    won = len(STAGE_ORDER) - 1
    reached = reached.where((o["outcome"] == "won") | (reached < won), won - 1)   # only a won outcome is 'won'
    reached = reached.where(o["outcome"] != "won", won)
    counts = [int((reached >= i).sum()) for i in range(len(STAGE_ORDER))]
    out = pd.DataFrame({"opportunities": counts}, index=pd.Index(STAGE_ORDER, name="stage"))
    out["share_of_first"] = out["opportunities"] / out["opportunities"].iloc[0] if counts[0] else np.nan
    return out


# --- payments -------------------------------------------------------------------------------------------

def receivables(pay: pd.DataFrame, at) -> pd.DataFrame:
    """Invoices open at date ``at`` (invoiced on or before it, unpaid at it) with days past due and bucket."""
    at = pd.Timestamp(at)
    open_ = pay[(pay["invoice_date"] <= at) & (pay["paid_date"].isna() | (pay["paid_date"] > at))].copy()
    past = (at - open_["due_date"]).dt.days
    open_["days_past_due"] = past
    open_["bucket"] = pd.cut(past, [-np.inf, 0, 30, 60, 90, np.inf], labels=list(AGEING_BUCKETS), right=True)
    open_.loc[past <= 0, "bucket"] = "not due"
    return open_


def open_invoices(ds: Dataset, at=None) -> pd.DataFrame | None:
    """The data set's invoices open at ``at`` (default: the analysis date), selected by :meth:`Dataset.rows`, so
    a book's millions of settled invoices never reach pandas; the input :func:`receivables` and :func:`ageing` need
    for that date. None without a payments table."""
    return ds.rows("payments", lambda pay: agg.open_invoices(pay, at=ds.analysis_date if at is None else at))


def ageing(pay: pd.DataFrame, at, by: str | None = None, accounts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Open receivables by ageing bucket (days past due), optionally per account attribute (e.g. credit)."""
    r = receivables(pay, at)
    if by is not None:
        r = r.merge(accounts[["account_id", by]], on="account_id", how="left")
        t = r.pivot_table(index=by, columns="bucket", values="amount", aggfunc="sum", observed=False)
        return t.reindex(columns=list(AGEING_BUCKETS)).fillna(0.0)
    return (r.groupby("bucket", observed=False)["amount"].sum().reindex(list(AGEING_BUCKETS)).fillna(0.0)
            .to_frame("amount"))


def doubtful(pay: pd.DataFrame, at, after_days: int = DOUBTFUL_AFTER_DAYS) -> pd.DataFrame:
    """Invoices open at ``at`` and unpaid more than ``after_days`` after their due date: doubtful debt (written
    off in most ledgers), kept out of DSO and the late-payment share and reported on their own."""
    r = receivables(pay, at)
    return r[r["days_past_due"] > after_days]


def dso(pay: pd.DataFrame, start, end, by: pd.Series | None = None,
        doubtful_after_days: int = DOUBTFUL_AFTER_DAYS) -> float | pd.Series:
    """Days sales outstanding: receivables open at ``end`` (doubtful debt left out, :func:`doubtful`) / amount
    invoiced in [start, end] x 365, or x the days the invoices cover when they start inside the window (a young
    book: three months of invoicing is not a year's). Per group when ``by`` maps account_id to a group."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    open_amount = receivables(pay, end)
    open_amount = open_amount[open_amount["days_past_due"] <= doubtful_after_days]
    invoiced = pay[pay["invoice_date"].between(start, end)]
    first = pay["invoice_date"].min()
    days = 365 if pd.isna(first) or first <= start else min(365, (end - first).days + 1)
    if by is None:
        total = invoiced["amount"].sum()
        return float(open_amount["amount"].sum() / total * days) if total else np.nan
    o = open_amount.groupby(open_amount["account_id"].map(by))["amount"].sum()
    s = invoiced.groupby(invoiced["account_id"].map(by))["amount"].sum()
    return (o.reindex(s.index).fillna(0.0) / s.where(s > 0) * days).rename("dso_days")


def late_share(pay: pd.DataFrame, start, end, by: pd.Series | None = None,
               doubtful_after_days: int = DOUBTFUL_AFTER_DAYS) -> float | pd.Series:
    """Invoices due in [start, end] paid after the due date or unpaid at ``end``, by count (doubtful debt,
    unpaid more than ``doubtful_after_days`` after its due date, left out)."""
    end_ts = pd.Timestamp(end)
    due = pay[pay["due_date"].between(pd.Timestamp(start), end_ts)]
    gone = due["paid_date"].isna() & ((end_ts - due["due_date"]).dt.days > doubtful_after_days)
    due = due[~gone]
    late = due["paid_date"].isna() | (due["paid_date"] > pd.Timestamp(end)) | (due["paid_date"] > due["due_date"])
    if by is None:
        return float(late.mean()) if len(due) else np.nan
    return late.groupby(due["account_id"].map(by)).mean().rename("late_payment_share")


def late_share_by_account(pay: pd.DataFrame, end) -> pd.Series:
    """Per account, the share of its invoices due up to ``end`` that were paid late or not at all."""
    due = pay[pay["due_date"] <= pd.Timestamp(end)]
    late = due["paid_date"].isna() | (due["paid_date"] > due["due_date"])
    return late.groupby(due["account_id"]).mean().rename("late_payment_share")


# --- complaints -----------------------------------------------------------------------------------------

def complaints(ds: Dataset, first_contact_days: int = 1) -> pd.DataFrame | None:
    """Each complaint paired with its resolution (an account's resolutions close its complaints oldest first),
    resolution days, and whether it was resolved at first contact (within ``first_contact_days``)."""
    it = ds.interactions_of(["complaint", "complaint_resolved"], end=ds.analysis_date)
    if it is None:
        return None
    c = it[it["kind"] == "complaint"].sort_values(["account_id", "date"], kind="stable").copy()
    r = it[it["kind"] == "complaint_resolved"].sort_values(["account_id", "date"], kind="stable").copy()
    c["n"] = c.groupby("account_id").cumcount()
    r["n"] = r.groupby("account_id").cumcount()
    out = c.merge(r[["account_id", "n", "date"]].rename(columns={"date": "resolved_on"}), on=["account_id", "n"],
                  how="left").drop(columns=["n", "kind"])
    out["resolution_days"] = (out["resolved_on"] - out["date"]).dt.days
    out["first_contact"] = out["resolution_days"] <= first_contact_days
    return out.rename(columns={"date": "complained_on"})


def complaint_summary(comp: pd.DataFrame, churned_on: pd.Series, start, end) -> dict:
    """Complaints in [start, end], resolved share, median resolution days, first-contact share, and churn
    (per the churn dates given) of accounts that complained vs the others in the window."""
    w = comp[comp["complained_on"].between(pd.Timestamp(start), pd.Timestamp(end))]
    resolved = w["resolved_on"].notna()
    complainers = set(w["account_id"])
    churned_in = churned_on.between(pd.Timestamp(start), pd.Timestamp(end))
    is_c = churned_on.index.isin(list(complainers))
    return {"complaints": len(w), "resolved_share": float(resolved.mean()) if len(w) else np.nan,
            "median_resolution_days": float(w.loc[resolved, "resolution_days"].median()) if resolved.any() else np.nan,
            "first_contact_share": float(w["first_contact"].mean()) if len(w) else np.nan,
            "churn_complainers": float(churned_in[is_c].mean()) if is_c.any() else np.nan,
            "churn_others": float(churned_in[~is_c].mean()) if (~is_c).any() else np.nan}


# --- scorecard ------------------------------------------------------------------------------------------

def manager_scorecard(ds: Dataset, *, churned_on: pd.Series | None = None, compliance: pd.DataFrame | None = None,
                      clv: pd.Series | None = None, weights: dict = DEFAULT_WEIGHTS,
                      decision_maker_days: dict | None = None) -> pd.DataFrame:
    """One row per account manager: accounts, portfolio margin (12 months) and its growth, retention rate,
    CLV of the portfolio, visit compliance, win rate, DSO, median complaint resolution days; each KPI's rank
    (1 = best) and a composite score = weighted mean of KPI percentile scores (weights shown, missing KPIs
    re-weighted over the available ones). A 'team median' row follows (no ranks). ``churned_on``: churn date
    per account (default: the churn definition ``auto`` — recorded churn when the data have it, else 180 days
    without an order — :func:`kamlib.analysis.economics.churn_definition`). With a contacts table,
    ``decision_maker_gaps`` counts the manager's accounts in the book whose decision maker was not met within
    ``decision_maker_days`` (:func:`kamlib.analysis.buying_centre.coverage`; not a ranked KPI)."""
    if churned_on is None:
        from .economics import churn_dates, churn_definition
        churned_on = churn_dates(ds, churn_definition("auto", ds=ds))
    unknown = set(weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown KPI weight(s) {sorted(unknown)}; allowed {sorted(DEFAULT_WEIGHTS)}")
    end = ds.analysis_date
    w = window_12m(end)
    acc = ds.accounts.set_index("account_id")
    mgr = acc["account_manager"]
    tx = ds.table("transactions")
    cur = agg.execute(agg.window_by_account(tx, start=w.start, end=w.end)).set_index("account_id")
    prev = agg.execute(agg.window_by_account(tx, start=w.start - pd.DateOffset(years=1),
                                             end=w.start - pd.Timedelta(days=1))).set_index("account_id")
    alive = churned_on.reindex(acc.index).isna() | (churned_on.reindex(acc.index) > end)
    at_risk = (acc["acquired_on"] < w.start) & ~(churned_on.reindex(acc.index) < w.start)
    churned = at_risk & churned_on.reindex(acc.index).between(w.start, w.end)
    card = pd.DataFrame({
        "accounts": alive.groupby(mgr).sum(),
        "margin_12m": cur["gross_margin"].groupby(mgr.reindex(cur.index)).sum(),
        "margin_prev_12m": prev["gross_margin"].groupby(mgr.reindex(prev.index)).sum(),
        "retention_rate": 1 - churned.groupby(mgr).sum() / at_risk.groupby(mgr).sum().replace(0, np.nan),
    }).fillna({"margin_12m": 0.0, "margin_prev_12m": 0.0})
    card["margin_growth"] = card["margin_12m"] / card["margin_prev_12m"].where(card["margin_prev_12m"] > 0) - 1
    if clv is not None:
        card["portfolio_clv"] = clv.groupby(mgr.reindex(clv.index)).sum()
    if compliance is not None and len(compliance):
        card["visit_compliance"] = compliance["compliant"].groupby(mgr.reindex(compliance.index)).mean()
    opps = classify_opportunities(ds)
    if opps is not None:
        closed = opps[opps["closed_on"].between(w.start, w.end) & opps["outcome"].isin(["won", "lost"])]
        card["win_rate"] = (closed["outcome"] == "won").groupby(closed["account_manager"]).mean()
    if ds.payments is not None:
        card["dso_days"] = dso(ds.payments, w.start, w.end, by=mgr)
    comp = complaints(ds)
    if comp is not None:
        cw = comp[comp["complained_on"].between(w.start, w.end) & comp["resolved_on"].notna()]
        card["complaint_resolution_days"] = cw["resolution_days"].groupby(mgr.reindex(cw["account_id"]).to_numpy()).median()
    gaps = _decision_maker_gaps(ds, acc[alive], decision_maker_days)
    if gaps is not None:
        card["decision_maker_gaps"] = gaps.groupby(mgr.reindex(gaps.index)).sum().reindex(card.index, fill_value=0)
    kpis = [k for k in weights if k in card]
    for k in kpis:
        card[f"rank_{k}"] = card[k].rank(ascending=k in LOWER_IS_BETTER, method="min")
    score = pd.Series(0.0, index=card.index)
    total = pd.Series(0.0, index=card.index)
    for k in kpis:
        pct = card[k].rank(ascending=k not in LOWER_IS_BETTER, pct=True)   # 1 = best
        score += (pct * weights[k]).fillna(0)
        total += card[k].notna() * weights[k]
    card["score"] = 100 * score / total.replace(0, np.nan)
    card["rank"] = card["score"].rank(ascending=False, method="min")
    card = card.sort_values("rank")
    card.index.name = "account_manager"
    median = card.median(numeric_only=True).rename(TEAM_MEDIAN)
    median[rank_columns(median.index)] = np.nan                 # a median rank means nothing
    out = pd.concat([card, median.to_frame().T])
    out.attrs["missing_kpis"] = [k for k in weights if weights[k] and k not in kpis]   # weights re-normalised
    return out


def _decision_maker_gaps(ds: Dataset, accounts: pd.DataFrame, days: dict | None) -> pd.Series | None:
    """Per account under the decision-maker policy: 1 when its decision maker was not met in time; None when
    that is not known (no contacts table, or visits that do not say whom they met)."""
    from .buying_centre import coverage
    cov = coverage(ds, accounts, days)
    if cov is None or cov["alert"].isna().all():
        return None
    return cov["alert"].fillna(False).astype(int)


def rank_columns(columns) -> list[str]:
    """The scorecard's rank columns: the overall ``rank`` first, then one ``rank_<kpi>`` per KPI."""
    return ["rank"] * ("rank" in columns) + [c for c in columns if c.startswith("rank_")]


def headline(ds: Dataset, flows, doubtful_after_days: int = DOUBTFUL_AFTER_DAYS) -> Measured:
    """The scorecard issue's headline metrics for the 12-month window, None with a reason when not available."""
    from .economics import Measured
    w = window_12m(ds.analysis_date)
    m = Measured()
    opps = classify_opportunities(ds)
    if opps is None:
        for k in ("win_rate_existing", "win_rate_new"):
            m.set(k, None, "no opportunities table in the data")
    else:
        rates = win_rates(opps, w.start, w.end)
        for k, flag in (("win_rate_existing", True), ("win_rate_new", False)):
            m.set(k, float(rates.loc[flag, "win_rate"]) if flag in rates.index else None,
                  "no opportunity of this kind closed in the window")
    pay = ds.payments
    if pay is None:
        for k in ("dso_days", "late_payment_share", "doubtful_receivables", "doubtful_invoices"):
            m.set(k, None, "no payments table in the data")
    else:
        m.set("dso_days", dso(pay, w.start, w.end, doubtful_after_days=doubtful_after_days),
              "nothing invoiced in the window")
        m.set("late_payment_share", late_share(pay, w.start, w.end, doubtful_after_days=doubtful_after_days),
              "no invoice due in the window")
        bad = doubtful(pay, w.end, doubtful_after_days)
        m.set("doubtful_receivables", float(bad["amount"].sum()))
        m.set("doubtful_invoices", len(bad))
    comp = complaints(ds)
    if comp is None:
        m.set("complaint_resolution_days_median", None, "no interactions table in the data")
    else:
        s = complaint_summary(comp, flows.accounts["churned_on"], w.start, w.end)
        m.set("complaint_resolution_days_median", s["median_resolution_days"],
              "no complaint made in the window was resolved")
    m.set("winback_cost_per_recovered_account", flows.measured.values.get("winback_cost_per_recovered_account"),
          flows.measured.reasons.get("winback_cost_per_recovered_account"))
    return m


def monthly_margin_by_manager(ds: Dataset, months: int = 24) -> pd.DataFrame:
    """Gross margin per calendar month (columns) for each account manager (rows), last ``months`` months."""
    m = agg.execute(agg.monthly_margin_by(ds.table("transactions"), ds.table("accounts"), by="account_manager",
                                          end=ds.analysis_date))
    t = m.pivot_table(index="account_manager", columns="month", values="gross_margin", aggfunc="sum").fillna(0.0)
    return t.iloc[:, -months:]


def claims_table(measured, rates: pd.DataFrame | None, retention_cost: float | None, lang: str = "en") -> pd.DataFrame:
    """The pipeline and win-back rules of thumb beside the measured values (with 95% intervals)."""
    rows = []
    for flag, key, rule in ((True, "rule_win_existing", "50%"), (False, "rule_win_new", "15%")):
        if rates is not None and flag in rates.index:
            r = rates.loc[flag]
            value = f"{r['win_rate']:.0%} ({r['lower']:.0%}-{r['upper']:.0%})"
        else:
            value = None
        rows.append({"claim": t(key, lang), "rule_of_thumb": rule, "measured": value})
    wb = measured.values.get("winback_cost_per_recovered_account")
    rows.append({"claim": t("rule_winback_tenth", lang), "rule_of_thumb": times(10, lang, digits=0),
                 "measured": times(wb / retention_cost, lang) if wb is not None and retention_cost else None})
    return pd.DataFrame(rows).set_index("claim")
