"""The key-account loop, account by account: the tables every manager report and account brief share
(computed once per batch), one manager's portfolio, and one account's brief."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..text.display import Shown, Summary, headed
from ..text.i18n import t
from . import actions, clv, scorecard, segmentation, service

BRIEF_MONTHS = 24


@dataclass(repr=False)
class BookTables(Shown):
    """Account-level results shared by the manager reports and briefs of one batch.

    ``accounts``, indexed by account_id: the columns of :func:`kamlib.analysis.actions.account_table` (profile,
    margin_12m, p_alive, clv and its band) plus ``strategy``, ``potential``, ``expected_purchases_12m``, the
    whitespace potential and, for strategic and A accounts, the ``*_lower`` / ``*_upper`` bands of P(alive) and
    expected purchases. ``actions``: :func:`kamlib.analysis.actions.this_month`; ``scorecard``:
    :func:`kamlib.analysis.scorecard.manager_scorecard`; ``whitespace``: :func:`kamlib.analysis.segmentation.whitespace`."""

    accounts: pd.DataFrame       # per account in the book: profile, margin, P(alive), CLV and band, strategy
    actions: pd.DataFrame        # this month's actions of every manager, ranked (analysis.actions)
    scorecard: pd.DataFrame      # manager KPIs with the team median (analysis.scorecard)
    whitespace: pd.DataFrame     # cross-sell whitespace (analysis.segmentation)
    model: str                   # the purchase model that valued the book
    horizon_months: int
    purchases: object = None     # its fitted results, for an account's P(alive) and purchases with bands
    rfm: pd.DataFrame | None = None

    def summary(self, lang: str = "en") -> Summary:
        """The model, accounts, managers and actions; the team's scorecard."""
        info = [(t("res_purchase_model", lang), self.model), (t("accounts", lang), f"{len(self.accounts):,}"),
                (t("res_managers", lang), f"{self.accounts['account_manager'].nunique():,}"),
                (t("res_action_count", lang), f"{len(self.actions):,}")]
        card = self.scorecard[[c for c in self.scorecard.columns if not c.startswith("rank_")]]
        return Summary(t("res_book_tables_title", lang), info, headed(card, lang), max_rows=8)


def book_tables(ds: Dataset, *, clv_model: str = "auto", holdout_months: int = 12, horizon_months: int = 36,
                discount_rate: float = 0.10, n_draws: int = 100,
                policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5,
                peers: tuple[str, ...] = ("industry", "tier")) -> BookTables:
    """Everything the manager reports and briefs of a month share: the CLV valuation (with bands), strategy,
    whitespace, actions and the manager scorecard — fitted once."""
    value = clv.value_accounts(ds, clv_model, holdout_months=holdout_months, horizon_months=horizon_months,
                               discount_rate=discount_rate, n_draws=n_draws)
    ws = segmentation.whitespace(ds, peers)
    seg = segmentation.account_frame(ds, value.frame["clv"], policy=policy)
    table = actions.account_table(ds, value)
    table = table.join(seg.frame[["strategy", "potential"]]).join(
        value.frame[["expected_purchases_12m"]]).join(segmentation.whitespace_potential(ws))
    churned_on = pd.to_datetime(ds.accounts.set_index("account_id")["churned_on"])
    card = scorecard.manager_scorecard(ds, churned_on=churned_on, compliance=seg.compliance, clv=value.frame["clv"])
    todo = actions.this_month(ds, table, ws=ws, policy=policy, alert_threshold=alert_threshold)
    rfm = value.frame[["frequency", "recency", "T"]]
    rfm.attrs = dict(value.frame.attrs)
    key = table.index[table["tier"].isin(["strategic", "A"])].intersection(rfm.index)   # the briefs' accounts
    bands = purchase_bands(value.purchases, rfm.loc[key])
    table = table.join(bands[[c for c in bands.columns if c.endswith(("_lower", "_upper"))]])
    return BookTables(table, todo, card, ws, value.purchases.model.long_name, horizon_months, value.purchases, rfm)


def purchase_bands(purchases, rfm: pd.DataFrame, *, n_draws: int = 200, alpha: float = 0.05,
                   seed: int = 0) -> pd.DataFrame:
    """Per account of ``rfm``: P(alive) and expected purchase days in the next 12 months with (1 - alpha) bands
    from parameter draws of the fitted purchase model (NaN bands when it did not converge)."""
    units = purchases.months_to_units(12)
    out = pd.DataFrame({"p_alive": purchases.p_alive(rfm), "expected_purchases_12m": purchases.expected_purchases(
        units, rfm)}, index=rfm.index)
    for name in ("p_alive", "expected_purchases_12m"):
        out[f"{name}_lower"] = out[f"{name}_upper"] = np.nan
    if purchases.converged and n_draws > 0 and len(rfm):
        draws = [purchases.with_params(d) for d in purchases.draw_params(n_draws, seed)]
        for name, f in (("p_alive", lambda d: d.p_alive(rfm).to_numpy()),
                        ("expected_purchases_12m", lambda d: d.expected_purchases(units, rfm).to_numpy())):
            sims = np.vstack([f(d) for d in draws])
            out[f"{name}_lower"], out[f"{name}_upper"] = np.quantile(sims, [alpha / 2, 1 - alpha / 2], axis=0)
    return out


def managers(ds: Dataset) -> list[str]:
    """Account managers with accounts in the book, in name order."""
    return sorted(ds.accounts["account_manager"].dropna().unique().tolist())


@dataclass(repr=False)
class Portfolio(Shown):
    """One manager's portfolio. ``accounts``: the manager's rows of :attr:`BookTables.accounts`;
    ``strategy_mix``: accounts, margin_12m and clv per strategy; ``actions``: :func:`kamlib.analysis.actions.this_month`
    for the manager, ranked from 1."""

    manager: str
    scorecard: pd.DataFrame     # the manager's row and the team median
    accounts: pd.DataFrame      # their accounts, largest CLV first
    strategy_mix: pd.DataFrame  # accounts and margin per strategy
    monthly_margin: pd.Series   # gross margin per month, last 24 months
    actions: pd.DataFrame       # this month's ranked actions

    def summary(self, lang: str = "en") -> Summary:
        """Accounts and actions; accounts, margin and CLV per strategy."""
        info = [(t("accounts", lang), f"{len(self.accounts):,}"), (t("res_action_count", lang), f"{len(self.actions):,}")]
        mix = self.strategy_mix.rename(index=lambda s: t(f"strategy_{s}", lang))
        return Summary(t("res_portfolio_title", lang, manager=self.manager), info, headed(mix, lang))


def portfolio(ds: Dataset, tables: BookTables, manager: str) -> Portfolio:
    mine = tables.accounts[tables.accounts["account_manager"] == manager].sort_values("clv", ascending=False)
    rows = [r for r in (manager, "team median") if r in tables.scorecard.index]
    mix = mine.groupby("strategy").agg(accounts=("name", "size"), margin_12m=("margin_12m", "sum"),
                                       clv=("clv", "sum")).reindex(list(segmentation.STRATEGIES)).dropna(how="all")
    monthly = scorecard.monthly_margin_by_manager(ds, BRIEF_MONTHS)
    trend = monthly.loc[manager] if manager in monthly.index else pd.Series(dtype=float)
    todo = tables.actions[tables.actions["account_manager"] == manager]
    return Portfolio(manager, tables.scorecard.loc[rows], mine, mix, trend,
                     todo.reset_index(drop=True).rename(index=lambda i: i + 1).rename_axis("rank"))


@dataclass(repr=False)
class AccountBrief(Shown):
    """One key account on a page (``kam brief``; a page per strategic and A account in a manager report)."""

    account_id: str
    profile: pd.Series                 # tier, enterprise type, industry, region, credit rating, manager, acquired
    value: pd.Series                   # margin 12m, P(alive), expected purchases, CLV and band, strategy, share
    monthly: pd.DataFrame              # revenue and gross margin per month, last 24 months
    categories: pd.DataFrame           # revenue and gross margin per product category, last 24 months
    visits: pd.Series | None           # visits against policy over the last 13 weeks (None: no interactions)
    complaints: pd.Series | None       # made, resolved, open, median days to resolve (None: no interactions)
    invoices: pd.Series | None         # open, overdue amounts, average days late (None: no payments)
    opportunities: pd.Series | None    # open, won, lost (None: no opportunities)
    actions: pd.DataFrame              # its actions this month
    whitespace: pd.DataFrame           # its whitespace categories

    def summary(self, lang: str = "en") -> Summary:
        """The profile as facts; the value row (margin, P(alive), purchases, CLV and band, strategy)."""
        from ..text.display import plain_number
        from ..text.i18n import header
        info = [(str(header(k, lang)), str(v.date() if isinstance(v, pd.Timestamp) else header(v, lang)))
                for k, v in self.profile.items()]
        value = self.value.map(lambda v: plain_number(v) if isinstance(v, float) else v)
        if isinstance(value.get("strategy"), str):
            value["strategy"] = t(f"strategy_{value['strategy']}", lang)
        table = headed(pd.DataFrame({"value": value}), lang)
        return Summary(t("res_brief_title", lang, account=self.account_id), info, table, max_rows=20)


def account_brief(ds: Dataset, tables: BookTables, account_id: str,
                  policy: service.ServicePolicy = service.ServicePolicy()) -> AccountBrief:
    acc = ds.accounts.set_index("account_id")
    if account_id not in acc.index:
        raise KeyError(f"account {account_id!r} is not in the accounts table")
    a = acc.loc[account_id]
    profile = a[[c for c in ("name", "tier", "enterprise_type", "industry", "region", "credit_rating",
                             "account_manager", "acquired_on", "acquisition_channel") if c in a.index]]
    row = tables.accounts.loc[account_id] if account_id in tables.accounts.index else pd.Series(dtype=object)
    mine = tables.accounts[tables.accounts["account_manager"] == a["account_manager"]]
    share = row.get("margin_12m", np.nan) / mine["margin_12m"].sum() if mine["margin_12m"].sum() else np.nan
    band_names = [f"{n}_{side}" for n in ("p_alive", "expected_purchases_12m") for side in ("lower", "upper")]
    value = row.reindex(["margin_12m", "p_alive", "expected_purchases_12m", "clv", "clv_lower", "clv_upper",
                         "strategy", *band_names]).copy()
    value["share_of_manager_margin"] = share
    if value[band_names].isna().all() and tables.rfm is not None and account_id in tables.rfm.index:
        value[band_names] = purchase_bands(tables.purchases, tables.rfm.loc[[account_id]]).loc[account_id, band_names]
    start = (ds.analysis_month - (BRIEF_MONTHS - 1)).start_time
    tx = ds.table("transactions")
    tx = tx.filter(tx.account_id == account_id)
    monthly = agg.execute(agg.monthly_by_account(tx, end=ds.analysis_date))
    monthly = (monthly[monthly["month"] >= start].set_index("month")[["revenue", "gross_margin"]]
               .reindex(pd.date_range(start, ds.analysis_month.start_time, freq="MS"), fill_value=0.0)
               .rename_axis("month"))
    cats = agg.execute(agg.margin_by_account_category(tx, start=start, end=ds.analysis_date))
    cats = cats.set_index("product_category")[["revenue", "gross_margin"]].sort_values("gross_margin",
                                                                                          ascending=False)
    visits = complaints = invoices = opps = None
    if ds.interactions is not None:
        comp = service.visit_compliance(ds.accounts[ds.accounts["account_id"] == account_id], ds.interactions,
                                        ds.analysis_date - pd.Timedelta(weeks=actions.VISIT_WEEKS), ds.analysis_date,
                                        policy)
        if comp is not None and account_id in comp.index:
            c = comp.loc[account_id]
            visits = pd.Series({"visits": int(c["visits"]), "required": float(c["required_per_week"] * c["weeks"]),
                                "weeks": int(c["weeks"])})
        cl = scorecard.complaints(ds)
        cl = cl[cl["account_id"] == account_id]
        complaints = pd.Series({"complaints": len(cl), "resolved": int(cl["resolved_on"].notna().sum()),
                                "open": int(cl["resolved_on"].isna().sum()),
                                "median_resolution_days": cl["resolution_days"].median()})
    if ds.payments is not None:
        pay = ds.payments[ds.payments["account_id"] == account_id]
        r = scorecard.receivables(pay, ds.analysis_date)
        paid = pay[pay["paid_date"].notna()]
        invoices = pd.Series({"open_amount": float(r["amount"].sum()),
                              "overdue_amount": float(r.loc[r["days_past_due"] > 0, "amount"].sum()),
                              "overdue_invoices": int((r["days_past_due"] > 0).sum()),
                              "average_days_late": float((paid["paid_date"] - paid["due_date"]).dt.days.mean())
                              if len(paid) else np.nan})
    op = scorecard.classify_opportunities(ds)
    if op is not None:
        op = op[op["account_id"] == account_id]
        opps = op["outcome"].value_counts().reindex(["open", "won", "lost"], fill_value=0)
    todo = tables.actions[tables.actions["account_id"] == account_id]
    ws = tables.whitespace[tables.whitespace["account_id"] == account_id]
    return AccountBrief(account_id, profile, value, monthly, cats, visits, complaints, invoices, opps, todo, ws)
