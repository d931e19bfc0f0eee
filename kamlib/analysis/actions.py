"""This month's actions for account managers: one ranked list combining churn alerts, accounts behind the
visit policy, overdue invoices, open complaints, open opportunities about to age out and cross-sell
whitespace — each with its reason and the money at stake.

Money at stake, by kind: an account's 12-month margin where the relationship is at risk (a valuable account
whose P(alive) is low, a visit shortfall on a strategic or A account, an unresolved complaint); the overdue
amount of its invoices; the amount of an ageing opportunity; the peer-median margin of a whitespace category.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..data.periods import window_12m
from . import book, service
from ..models.arguments import fraction, one_of
from .scorecard import classify_opportunities, complaints, receivables

KINDS = ("churn_alert", "visits_behind", "overdue_invoices", "open_complaint", "opportunity_ageing", "whitespace",
         "decision_maker_not_met")
COLUMNS = ["account_id", "account_manager", "name", "tier", "kind", "money_at_stake", "detail"]
VISIT_WEEKS = 13


def account_table(ds: Dataset, value=None) -> pd.DataFrame:
    """Per account in the book: name, tier, manager, 12-month margin and, with a CLV valuation ``value``
    (:class:`kamlib.analysis.clv.AccountValue`), P(alive) and CLV with its band."""
    acc = ds.accounts.set_index("account_id")
    acc = acc[~book.churned_as_of(acc, ds.analysis_date) & (acc["acquired_on"] <= ds.analysis_date)]
    w = window_12m(ds.analysis_date)
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start, end=w.end)).set_index(
        "account_id")
    out = acc[["name", "tier", "account_manager"]].assign(
        margin_12m=per["gross_margin"].reindex(acc.index).fillna(0.0))
    if value is not None:
        out = out.join(value.frame[["p_alive", "clv", "clv_lower", "clv_upper"]])
    return out


def churn_alerts(table: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Valuable accounts (12-month margin above the median of accounts with margin) with P(alive) below
    ``threshold``: money at stake, their 12-month margin."""
    fraction("threshold", threshold)
    if "p_alive" not in table:
        return pd.DataFrame(columns=COLUMNS)
    median = table.loc[table["margin_12m"] > 0, "margin_12m"].median()
    hit = table[(table["p_alive"] < threshold) & (table["margin_12m"] > median)]
    return _rows(hit, "churn_alert", hit["margin_12m"], [{"p_alive": p} for p in hit["p_alive"]])


def visits_behind(ds: Dataset, table: pd.DataFrame, policy: service.ServicePolicy = service.ServicePolicy(),
                  weeks: int = VISIT_WEEKS) -> pd.DataFrame:
    """Accounts under the visit policy with fewer in-person visits than required over the last ``weeks`` full
    weeks: money at stake, their 12-month margin. Nothing without an interactions table (visits unknown)."""
    start = ds.analysis_date - pd.Timedelta(weeks=weeks)
    comp = service.visit_compliance(ds.accounts[ds.accounts["account_id"].isin(table.index)], ds.interactions,
                                    start, ds.analysis_date, policy)
    if comp is None or comp.empty:
        return pd.DataFrame(columns=COLUMNS)
    need = comp["required_per_week"] * comp["weeks"]
    behind = comp[comp["visits"] < need]
    hit = table.loc[behind.index]
    return _rows(hit, "visits_behind", hit["margin_12m"],
                 [{"visits": int(v), "required": float(r), "weeks": int(k)}
                  for v, r, k in zip(behind["visits"], need[behind.index], behind["weeks"])])


def overdue_invoices(ds: Dataset, table: pd.DataFrame) -> pd.DataFrame:
    """Accounts with invoices past their due date at the analysis date: money at stake, the overdue amount."""
    if ds.payments is None:
        return pd.DataFrame(columns=COLUMNS)
    r = receivables(ds.payments, ds.analysis_date)
    r = r[(r["days_past_due"] > 0) & r["account_id"].isin(table.index)]
    g = r.groupby("account_id").agg(amount=("amount", "sum"), invoices=("amount", "size"),
                                    oldest=("days_past_due", "max"))
    hit = table.loc[g.index]
    return _rows(hit, "overdue_invoices", g["amount"],
                 [{"invoices": int(n), "days": int(d)} for n, d in zip(g["invoices"], g["oldest"])])


def open_complaints(ds: Dataset, table: pd.DataFrame) -> pd.DataFrame:
    """Accounts with complaints not resolved at the analysis date: money at stake, their 12-month margin."""
    comp = complaints(ds)
    if comp is None:
        return pd.DataFrame(columns=COLUMNS)
    open_ = comp[comp["resolved_on"].isna() & comp["account_id"].isin(table.index)]
    g = open_.groupby("account_id").agg(n=("complained_on", "size"), since=("complained_on", "min"))
    hit = table.loc[g.index]
    return _rows(hit, "open_complaint", hit["margin_12m"],
                 [{"complaints": int(n), "days": int((ds.analysis_date - s).days)} for n, s in zip(g["n"], g["since"])])


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
    (:func:`kamlib.analysis.buying_centre.coverage`): money at stake, their 12-month margin. Nothing without a
    contacts table or when visits do not say whom they met."""
    from .buying_centre import coverage
    cov = coverage(ds, table, policy.decision_maker_days)
    if cov is None or cov.empty:
        return pd.DataFrame(columns=COLUMNS)
    cov = cov[cov["alert"].fillna(False).astype(bool)]
    hit = table.loc[cov.index]
    return _rows(hit, "decision_maker_not_met", hit["margin_12m"],
                 [{"days": None if np.isnan(d) else int(d), "limit": int(lim)}
                  for d, lim in zip(cov["days_since_decision_maker"], cov["limit_days"])])


def cross_sell(table: pd.DataFrame, ws: pd.DataFrame | None) -> pd.DataFrame:
    """Each account's largest whitespace category (:func:`kamlib.analysis.segmentation.whitespace`): money at
    stake, its peer-median margin."""
    if ws is None or ws.empty:
        return pd.DataFrame(columns=COLUMNS)
    top = ws[ws["account_id"].isin(table.index)].sort_values("opportunity", ascending=False).drop_duplicates(
        "account_id")
    hit = table.loc[top["account_id"]]
    return _rows(hit, "whitespace", top["opportunity"].to_numpy(),
                 [{"category": c, "status": s} for c, s in zip(top["product_category"], top["status"])])


def _rows(hit: pd.DataFrame, kind: str, money, details: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": hit.index, "account_manager": hit["account_manager"].to_numpy(),
                         "name": hit["name"].to_numpy(), "tier": hit["tier"].to_numpy(), "kind": kind,
                         "money_at_stake": np.asarray(money, dtype=float), "detail": details}, columns=COLUMNS)


def this_month(ds: Dataset, table: pd.DataFrame | None = None, *, manager: str | None = None, ws: pd.DataFrame | None = None,
               policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5
               ) -> pd.DataFrame:
    """One ranked list of this month's actions (of one ``manager``, or everyone's), largest money at stake
    first; ``detail`` holds the values its reason is written from.

    ``table``: :func:`account_table` (default: built with the CLV valuation of
    :func:`kamlib.analysis.clv.value_accounts`, the model chosen as in the CLV report). Columns of the result
    (index ``rank``, from 1): account_id, account_manager, name, tier, kind (one of :data:`KINDS`),
    money_at_stake and detail (a dict; :func:`reasons` words it)."""
    fraction("alert_threshold", alert_threshold)
    if table is None:
        from .clv import value_accounts
        table = account_table(ds, value_accounts(ds, n_draws=0))
    if manager is not None:
        one_of("manager", manager, sorted(ds.accounts["account_manager"].dropna().unique()))
        table = table[table["account_manager"] == manager]
    parts = [churn_alerts(table, alert_threshold), visits_behind(ds, table, policy), overdue_invoices(ds, table),
             open_complaints(ds, table), ageing_opportunities(ds, table), cross_sell(table, ws),
             decision_maker_not_met(ds, table, policy)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=COLUMNS)
    out = out.sort_values(["money_at_stake", "account_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True).rename_axis("rank").rename(index=lambda i: i + 1)


def reasons(actions: pd.DataFrame, lang: str = "en") -> pd.Series:
    """Each action's reason in the report language, written from its ``detail``."""
    from ..text.formatting import counted, days
    from ..text.i18n import t, tv

    def one(kind: str, detail: dict) -> str:
        if kind == "whitespace":
            key = "action_whitespace_below" if detail["status"] == "below peers" else "action_whitespace_not_bought"
            return t(key, lang, category=tv(detail["category"], lang))
        if kind == "overdue_invoices":
            detail = {**detail, "invoices": counted(detail["invoices"], "invoice", lang), "days": days(detail["days"], lang)}
        if kind == "open_complaint":
            detail = {**detail, "complaints": counted(detail["complaints"], "complaint", lang),
                      "days": days(detail["days"], lang)}
        if kind == "decision_maker_not_met":
            if detail.get("days") is None:
                return t("action_decision_maker_never_met", lang, limit=days(detail["limit"], lang))
            detail = {"days": days(detail["days"], lang), "limit": days(detail["limit"], lang)}
        return t(f"action_{kind}", lang, **detail)
    return pd.Series([one(k, d) for k, d in zip(actions["kind"], actions["detail"])], index=actions.index,
                     name="reason", dtype=object)
