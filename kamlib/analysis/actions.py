"""This month's actions for account managers — the ONE list of what to do, of which the segmentation report
(04), the scorecard (05), the manager reports (06) and the briefs show views: churn alerts, visits behind the
visit policy, overdue invoices, open complaints, margin falling, accounts unprofitable after cost-to-serve,
opportunities about to age out and cross-sell whitespace — each with its reason and the money at stake.

Money at stake is the money plausibly at risk in the next 12 months (docs/metrics.md, ``money_at_stake``):

- churn alert: 12-month margin x (1 - P(alive));
- visits behind / open complaint: 12-month margin x the increase in the 12-month churn probability that the
  shortfall (unresolved complaints) is associated with — the book's 12-month churn rate moved by the churn
  drivers' hazard ratio per visit (per unresolved complaint) under proportional hazards; 'not available' when
  the churn-driver model does not support the link (95% interval of the hazard ratio includes 1);
- overdue invoices: the overdue amount; margin falling: the margin lost on the previous 12 months;
  unprofitable: the loss after cost-to-serve; ageing opportunity: its amount; whitespace: the cross-sell
  potential of the category (the peers' median margin share there x the account's margin).

Complaints open longer than ``stale_after_days`` are a data-hygiene item (:func:`data_hygiene`), not an action.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..data.periods import window_12m
from . import book, service
from ..models.arguments import fraction, one_of
from .scorecard import classify_opportunities, complaints, open_invoices, receivables

KINDS = ("churn_alert", "visits_behind", "overdue_invoices", "open_complaint", "margin_down", "unprofitable",
         "opportunity_ageing", "whitespace", "decision_maker_not_met")
COLUMNS = ["account_id", "account_manager", "name", "tier", "kind", "money_at_stake", "detail"]
VISIT_WEEKS = 13
ALERT_VALUE_SHARE = 0.2      # churn alerts: the top 20% of accounts by CLV (else 12-month margin)
STALE_AFTER_DAYS = 180       # a complaint open longer is a data-hygiene item
MARGIN_DROP = 0.3            # margin down more than 30% on the previous 12 months


@dataclass(frozen=True)
class ChurnRisk:
    """What turns a service defect into money at risk: the book's 12-month churn rate and the churn drivers'
    hazard ratios (per unit of a 90-day covariate) of the drivers a report names: Holm-adjusted p below 0.05."""

    churn_12m: float | None
    hazard_ratios: dict

    @classmethod
    def of(cls, ds: Dataset, drivers=None) -> "ChurnRisk":
        """From the data (churn recorded in ``accounts``) and :func:`kamlib.analysis.survival.churn_drivers`
        (computed when not given; no hazard ratios when the model cannot be fit)."""
        from . import survival
        acc = ds.accounts
        w = window_12m(ds.analysis_date)
        at_start = (acc["acquired_on"] < w.start) & ~book.churned_as_of(acc, w.start - pd.Timedelta(days=1))
        has_churn = "churned_on" in acc and acc["churned_on"].notna().any()
        rate = float(book.churned_as_of(acc[at_start], w.end).mean()) if has_churn and at_start.any() else None
        if drivers is None:
            drivers, _ = survival.try_churn_drivers(ds)
        hr = {}
        if drivers is not None:
            h = drivers.hazard_ratios
            hr = {c: float(h.loc[c, "hazard_ratio"]) for c in drivers.named(0.05).index}   # Holm over the tested
        return cls(rate, hr)

    def money(self, margin, covariate: str, change) -> np.ndarray:
        """Margin x (S0 - S1): S0 = 1 - the 12-month churn rate, S1 = S0 ** (HR ** change) (``change``: the
        covariate's difference from what the policy asks); NaN when the rate or a supported HR is missing."""
        margin = np.asarray(margin, dtype=float)
        hr = self.hazard_ratios.get(covariate)
        if self.churn_12m is None or hr is None:
            return np.full(margin.shape, np.nan)
        s0 = 1.0 - self.churn_12m
        return margin * (s0 - s0 ** (hr ** np.asarray(change, dtype=float)))


def account_table(ds: Dataset, value=None, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per account in the book: name, tier, manager, 12-month margin and, with a CLV valuation ``value``
    (:class:`kamlib.analysis.clv.AccountValue`), P(alive) and CLV with its band; with a segmentation ``frame``
    (:func:`kamlib.analysis.segmentation.account_frame`), strategy, potential and profit after cost-to-serve."""
    acc = ds.accounts.set_index("account_id")
    acc = acc[~book.churned_as_of(acc, ds.analysis_date) & (acc["acquired_on"] <= ds.analysis_date)]
    w = window_12m(ds.analysis_date)
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start, end=w.end)).set_index(
        "account_id")
    out = acc[["name", "tier", "account_manager"]].assign(
        margin_12m=per["gross_margin"].reindex(acc.index).fillna(0.0))
    if value is not None:
        out = out.join(value.frame[["p_alive", "clv", "clv_lower", "clv_upper"]])
    if frame is not None:
        out = out.join(frame[[c for c in ("strategy", "potential", "profit_after_cost_to_serve") if c in frame]])
    return out


def valuable(table: pd.DataFrame, share: float = ALERT_VALUE_SHARE) -> pd.Series:
    """True for the top ``share`` of accounts by CLV (by 12-month margin without a valuation)."""
    fraction("share", share)
    value = table["clv"] if "clv" in table and table["clv"].notna().any() else table["margin_12m"]
    return value.rank(ascending=False, method="first") <= max(1, int(np.ceil(share * value.notna().sum())))


def churn_alerts(table: pd.DataFrame, threshold: float = 0.5, value_share: float = ALERT_VALUE_SHARE
                 ) -> pd.DataFrame:
    """Valuable accounts (:func:`valuable`: top ``value_share`` by CLV, else margin) with P(alive) below
    ``threshold``: money at stake, 12-month margin x (1 - P(alive))."""
    fraction("threshold", threshold)
    if "p_alive" not in table or table.empty:
        return pd.DataFrame(columns=COLUMNS)
    hit = table[(table["p_alive"] < threshold) & valuable(table, value_share)]
    return _rows(hit, "churn_alert", hit["margin_12m"] * (1 - hit["p_alive"]),
                 [{"p_alive": p, "share": value_share} for p in hit["p_alive"]])


def visits_behind(ds: Dataset, table: pd.DataFrame, policy: service.ServicePolicy = service.ServicePolicy(),
                  weeks: int = VISIT_WEEKS, risk: ChurnRisk | None = None) -> pd.DataFrame:
    """Accounts under the visit policy with fewer in-person visits than required over the last ``weeks`` full
    weeks: money at stake, the margin the shortfall puts at risk (:meth:`ChurnRisk.money` with the hazard
    ratio per visit). Nothing without an interactions table (visits unknown)."""
    start = ds.analysis_date - pd.Timedelta(weeks=weeks)
    comp = service.visit_compliance(ds.accounts[ds.accounts["account_id"].isin(table.index)],
                                    ds.interactions_of(["visit"], start=start, end=ds.analysis_date),
                                    start, ds.analysis_date, policy)
    if comp is None or comp.empty:
        return pd.DataFrame(columns=COLUMNS)
    need = comp["required_per_week"] * comp["weeks"]
    behind = comp[comp["visits"] < need]
    hit = table.loc[behind.index]
    short = behind["visits"] - need[behind.index]
    money = (risk or ChurnRisk(None, {})).money(hit["margin_12m"], "visits_90d", short.to_numpy())
    return _rows(hit, "visits_behind", money,
                 [{"visits": int(v), "required": float(r), "weeks": int(k)}
                  for v, r, k in zip(behind["visits"], need[behind.index], behind["weeks"])])


def overdue_invoices(ds: Dataset, table: pd.DataFrame) -> pd.DataFrame:
    """Accounts with invoices past their due date at the analysis date: money at stake, the overdue amount."""
    opened = open_invoices(ds)
    if opened is None:
        return pd.DataFrame(columns=COLUMNS)
    r = receivables(opened, ds.analysis_date)
    r = r[(r["days_past_due"] > 0) & r["account_id"].isin(table.index)]
    g = r.groupby("account_id").agg(amount=("amount", "sum"), invoices=("amount", "size"),
                                    oldest=("days_past_due", "max"))
    hit = table.loc[g.index]
    return _rows(hit, "overdue_invoices", g["amount"],
                 [{"invoices": int(n), "days": int(d)} for n, d in zip(g["invoices"], g["oldest"])])


def _open_complaints(ds: Dataset, table: pd.DataFrame) -> pd.DataFrame | None:
    comp = complaints(ds)
    if comp is None:
        return None
    open_ = comp[comp["resolved_on"].isna() & comp["account_id"].isin(table.index)].copy()
    open_["days"] = (ds.analysis_date - open_["complained_on"]).dt.days
    return open_


def open_complaints(ds: Dataset, table: pd.DataFrame, risk: ChurnRisk | None = None,
                    stale_after_days: int = STALE_AFTER_DAYS) -> pd.DataFrame:
    """Accounts with complaints not resolved at the analysis date, open at most ``stale_after_days``: money at
    stake, the margin at risk (:meth:`ChurnRisk.money` with the hazard ratio per unresolved complaint)."""
    open_ = _open_complaints(ds, table)
    if open_ is None:
        return pd.DataFrame(columns=COLUMNS)
    open_ = open_[open_["days"] <= stale_after_days]
    g = open_.groupby("account_id").agg(n=("days", "size"), days=("days", "max"))
    hit = table.loc[g.index]
    money = (risk or ChurnRisk(None, {})).money(hit["margin_12m"], "unresolved_complaints_90d", g["n"].to_numpy())
    return _rows(hit, "open_complaint", money,
                 [{"complaints": int(n), "days": int(d)} for n, d in zip(g["n"], g["days"])])


def data_hygiene(ds: Dataset, table: pd.DataFrame, stale_after_days: int = STALE_AFTER_DAYS) -> pd.DataFrame:
    """Complaints open longer than ``stale_after_days`` (probably resolved without a record): a data-hygiene
    list apart from the actions, one row per account, no money at stake."""
    open_ = _open_complaints(ds, table)
    if open_ is None:
        return pd.DataFrame(columns=COLUMNS)
    open_ = open_[open_["days"] > stale_after_days]
    g = open_.groupby("account_id").agg(n=("days", "size"), days=("days", "max"))
    hit = table.loc[g.index]
    return _rows(hit, "stale_complaint", np.full(len(hit), np.nan),
                 [{"complaints": int(n), "days": int(d), "limit": int(stale_after_days)}
                  for n, d in zip(g["n"], g["days"])])


def margin_down(ds: Dataset, table: pd.DataFrame, drop: float = MARGIN_DROP) -> pd.DataFrame:
    """Accounts whose 12-month margin fell more than ``drop`` on the previous 12 months: money at stake, the
    margin lost."""
    w = window_12m(ds.analysis_date)
    prev = agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start - pd.DateOffset(years=1),
                                             end=w.start - pd.Timedelta(days=1))).set_index("account_id")["gross_margin"]
    prev = prev.reindex(table.index)
    change = table["margin_12m"] / prev.where(prev > 0) - 1
    hit = table[change < -drop]
    return _rows(hit, "margin_down", prev[hit.index] - hit["margin_12m"], [{"pct": -c} for c in change[hit.index]])


def unprofitable(table: pd.DataFrame) -> pd.DataFrame:
    """Accounts with a loss after cost-to-serve (``profit_after_cost_to_serve`` in ``table``, when known):
    money at stake, the loss."""
    if "profit_after_cost_to_serve" not in table:
        return pd.DataFrame(columns=COLUMNS)
    hit = table[table["profit_after_cost_to_serve"] < 0]
    return _rows(hit, "unprofitable", -hit["profit_after_cost_to_serve"], [{} for _ in range(len(hit))])


def ageing_opportunities(ds: Dataset, table: pd.DataFrame, quantile: float = 0.8) -> pd.DataFrame:
    """Open opportunities of accounts in the book older than ``quantile`` of the sales cycles won in the last
    12 months (about to age out): money at stake, the opportunity amount."""
    opps = classify_opportunities(ds)
    if opps is None:
        return pd.DataFrame(columns=COLUMNS)
    w = window_12m(ds.analysis_date)
    won = opps[(opps["outcome"] == "won") & opps["closed_on"].between(w.start, w.end)]
    if won.empty:
        return pd.DataFrame(columns=COLUMNS)
    limit = float(np.quantile((won["closed_on"] - won["created_on"]).dt.days, quantile))
    o = opps[(opps["outcome"] == "open") & opps["account_id"].isin(table.index)].copy()
    o["age"] = (ds.analysis_date - o["created_on"]).dt.days
    o = o[o["age"] > limit]
    hit = table.loc[o["account_id"]]
    return _rows(hit, "opportunity_ageing", o["amount"].to_numpy(),
                 [{"days": int(a), "limit": int(limit)} for a in o["age"]])


def decision_maker_not_met(ds: Dataset, table: pd.DataFrame,
                           policy: service.ServicePolicy = service.ServicePolicy()) -> pd.DataFrame:
    """Accounts whose decision maker was not met within ``policy.decision_maker_days``
    (:func:`kamlib.analysis.buying_centre.coverage`): money at stake not available (no churn-driver estimate
    links it to churn; never the whole margin). Nothing without a contacts table or when visits do not say whom
    they met."""
    from .buying_centre import coverage
    cov = coverage(ds, table, policy.decision_maker_days)
    if cov is None or cov.empty:
        return pd.DataFrame(columns=COLUMNS)
    cov = cov[cov["alert"].fillna(False).astype(bool)]
    hit = table.loc[cov.index]
    return _rows(hit, "decision_maker_not_met", np.full(len(hit), np.nan),
                 [{"days": None if np.isnan(d) else int(d), "limit": int(lim)}
                  for d, lim in zip(cov["days_since_decision_maker"], cov["limit_days"])])


def cross_sell(table: pd.DataFrame, ws: pd.DataFrame | None) -> pd.DataFrame:
    """Each account's largest whitespace category (:func:`kamlib.analysis.segmentation.whitespace`): money at
    stake, its cross-sell potential (the peers' median margin share there x the account's margin)."""
    if ws is None or ws.empty:
        return pd.DataFrame(columns=COLUMNS)
    top = ws[ws["account_id"].isin(table.index)].sort_values("potential", ascending=False).drop_duplicates(
        "account_id")
    hit = table.loc[top["account_id"]]
    return _rows(hit, "whitespace", top["potential"].to_numpy(),
                 [{"category": c, "status": s} for c, s in zip(top["product_category"], top["status"])])


def _rows(hit: pd.DataFrame, kind: str, money, details: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": hit.index, "account_manager": hit["account_manager"].to_numpy(),
                         "name": hit["name"].to_numpy(), "tier": hit["tier"].to_numpy(), "kind": kind,
                         "money_at_stake": np.asarray(money, dtype=float), "detail": details}, columns=COLUMNS)


def this_month(ds: Dataset, table: pd.DataFrame | None = None, *, manager: str | None = None, ws: pd.DataFrame | None = None,
               policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5,
               alert_value_share: float = ALERT_VALUE_SHARE, stale_after_days: int = STALE_AFTER_DAYS,
               risk: ChurnRisk | None = None) -> pd.DataFrame:
    """One ranked list of this month's actions (of one ``manager``, or everyone's), largest money at stake
    first (not available last); ``detail`` holds the values its reason is written from.

    ``table``: :func:`account_table` (default: built with the CLV valuation of
    :func:`kamlib.analysis.clv.value_accounts`, the model chosen as in the CLV report); with a
    ``profit_after_cost_to_serve`` column, loss-makers are actions too. ``risk``: :class:`ChurnRisk` (default:
    from the data). Columns of the result (index ``rank``, from 1): account_id, account_manager, name, tier,
    kind (one of :data:`KINDS`), money_at_stake and detail (a dict; :func:`reasons` words it)."""
    fraction("alert_threshold", alert_threshold)
    if table is None:
        from .clv import value_accounts
        table = account_table(ds, value_accounts(ds, n_draws=0))
    if manager is not None:
        one_of("manager", manager, sorted(ds.accounts["account_manager"].dropna().unique()))
        table = table[table["account_manager"] == manager]
    risk = risk if risk is not None else ChurnRisk.of(ds)
    parts = [churn_alerts(table, alert_threshold, alert_value_share), visits_behind(ds, table, policy, risk=risk),
             overdue_invoices(ds, table), open_complaints(ds, table, risk, stale_after_days), margin_down(ds, table),
             unprofitable(table), ageing_opportunities(ds, table), cross_sell(table, ws),
             decision_maker_not_met(ds, table, policy)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=COLUMNS)
    out = out.sort_values(["money_at_stake", "account_id"], ascending=[False, True], kind="stable",
                          na_position="last")
    return out.reset_index(drop=True).rename_axis("rank").rename(index=lambda i: i + 1)


def book_actions(ds: Dataset, value=None, frame: pd.DataFrame | None = None, *, peers=("industry", "tier"),
                 policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5,
                 alert_value_share: float = ALERT_VALUE_SHARE, stale_after_days: int = STALE_AFTER_DAYS
                 ) -> pd.DataFrame:
    """:func:`this_month` for every manager as the reports compute it (the segmentation report and the
    scorecard show views of it, the manager reports the same list by way of
    :func:`kamlib.analysis.portfolio.book_tables`): the account table with the CLV valuation ``value`` and
    the segmentation ``frame``, whitespace against ``peers``."""
    from .segmentation import whitespace
    return this_month(ds, account_table(ds, value, frame), ws=whitespace(ds, tuple(peers)), policy=policy,
                      alert_threshold=alert_threshold, alert_value_share=alert_value_share,
                      stale_after_days=stale_after_days)


def top_per_manager(todo: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A view of :func:`this_month`: each manager's ``n`` first actions, managers in name order."""
    return todo.sort_values("account_manager", kind="stable").groupby("account_manager", sort=False).head(n)


def by_manager(todo: pd.DataFrame) -> pd.DataFrame:
    """A view of :func:`this_month`: per manager, the actions, the accounts they concern and the money at
    stake (where available)."""
    return todo.groupby("account_manager").agg(action_count=("kind", "size"), accounts=("account_id", "nunique"),
                                               money_at_stake=("money_at_stake", "sum"))


def reasons(actions: pd.DataFrame, lang: str = "en") -> pd.Series:
    """Each action's reason in the report language, written from its ``detail``."""
    from ..text.formatting import counted, days, pct
    from ..text.i18n import t, tv

    def one(kind: str, detail: dict) -> str:
        if kind == "whitespace":
            key = "action_whitespace_below" if detail["status"] == "below peers" else "action_whitespace_not_bought"
            return t(key, lang, category=tv(detail["category"], lang))
        if kind == "churn_alert" and "share" in detail:
            return t("action_churn_alert_top", lang, **detail)
        if kind == "margin_down":
            return t("action_margin_down", lang, pct=pct(detail["pct"], 0, lang))
        if kind == "overdue_invoices":
            detail = {**detail, "invoices": counted(detail["invoices"], "invoice", lang), "days": days(detail["days"], lang)}
        if kind in ("open_complaint", "stale_complaint"):
            detail = {**detail, "complaints": counted(detail["complaints"], "complaint", lang),
                      "days": days(detail["days"], lang)}
        if kind == "decision_maker_not_met":
            if detail.get("days") is None:
                return t("action_decision_maker_never_met", lang, limit=days(detail["limit"], lang))
            detail = {"days": days(detail["days"], lang), "limit": days(detail["limit"], lang)}
        return t(f"action_{kind}", lang, **detail)
    return pd.Series([one(k, d) for k, d in zip(actions["kind"], actions["detail"])], index=actions.index,
                     name="reason", dtype=object)
