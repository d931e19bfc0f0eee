"""The key-account loop, account by account: the tables every manager report and account brief share
(computed once per batch), one manager's portfolio, and one account's brief."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..text.display import Shown, Summary, headed
from ..models.arguments import one_of
from ..models.transactions import AGE_COLUMN, RFM_COLUMNS
from ..text.i18n import t
from . import actions, brief_items, buying_centre, clv, scorecard, segmentation, service

BRIEF_MONTHS = 24
POTENTIALS = {"clv": "potential_clv", "whitespace": "potential_whitespace", "growth": "potential_margin_growth"}


@dataclass(repr=False)
class BookTables(Shown):
    """Account-level results shared by the manager reports and briefs of one batch.

    ``accounts``, indexed by account_id: the columns of :func:`kamlib.analysis.actions.account_table` (profile,
    margin_12m, p_alive, clv and its range) plus ``strategy``, ``potential``, ``expected_purchases_12m`` and its
    range (``purchases_12m_lower`` / ``_upper``), the whitespace potential and, for strategic and A accounts, the
    ``*_lower`` / ``*_upper`` bands of P(alive) and expected purchases (uncertainty of the expected value).
    ``actions``: :func:`kamlib.analysis.actions.this_month`; ``hygiene``: :func:`kamlib.analysis.actions.data_hygiene`
    (complaints open longer than ``stale_after_days``, listed apart from the actions); ``scorecard``:
    :func:`kamlib.analysis.scorecard.manager_scorecard`; ``whitespace``: :func:`kamlib.analysis.segmentation.whitespace`."""

    accounts: pd.DataFrame       # per account in the book: profile, margin, P(alive), CLV and band, strategy
    actions: pd.DataFrame        # this month's actions of every manager, ranked (analysis.actions)
    scorecard: pd.DataFrame      # manager KPIs with the team median (analysis.scorecard)
    whitespace: pd.DataFrame     # cross-sell whitespace (analysis.segmentation)
    model: str                   # the purchase model that valued the book
    horizon_months: int
    hygiene: pd.DataFrame        # complaints open longer than stale_after_days: data hygiene, not actions
    stale_after_days: int
    purchases: object = None     # its fitted results, for an account's P(alive) and purchases with bands
    rfm: pd.DataFrame | None = None
    n_draws: int = 100           # parameter draws of every band and range (the book's setting)

    def summary(self, lang: str = "en") -> Summary:
        """The model, accounts, managers and actions; the team's scorecard."""
        info = [(t("res_purchase_model", lang), self.model), (t("accounts", lang), f"{len(self.accounts):,}"),
                (t("res_managers", lang), f"{self.accounts['account_manager'].nunique():,}"),
                (t("res_action_count", lang), f"{len(self.actions):,}")]
        card = self.scorecard[[c for c in self.scorecard.columns if not c.startswith("rank_")]]
        return Summary(t("res_book_tables_title", lang), info, headed(card, lang), max_rows=8)


# The month's settings the shared tables depend on, with their defaults (kam.yaml through ``kam report``, which
# gives every notebook and page the same ones): the memo, deck, manager pages and briefs then agree with the
# segmentation and scorecard reports.
BOOK_SETTINGS = {
    "clv_model": "auto", "holdout_months": 12, "horizon_months": 36, "discount_rate": 0.10, "n_draws": 100,
    "alert_threshold": 0.5, "alert_value_share": actions.ALERT_VALUE_SHARE,
    "stale_after_days": actions.STALE_AFTER_DAYS, "visit_policy": dict(service.DEFAULT_POLICY), "holidays": [],
    "decision_maker_days": dict(service.ServicePolicy().decision_maker_days),
    "complaint_open_days": service.ServicePolicy().complaint_open_days, "whitespace_peers": ["industry", "tier"],
    "potential": "clv", "value_threshold": None, "potential_threshold": None, "value_share": segmentation.VALUE_SHARE,
    "potential_share": segmentation.POTENTIAL_SHARE, "tier_rules": dict(service.DEFAULT_TIER_RULES),
    "visit_cost": 500.0, "allocation": "revenue", "kpi_weights": dict(scorecard.DEFAULT_WEIGHTS)}
SEGMENTATION_SETTINGS = ("value_threshold", "potential_threshold", "value_share", "potential_share", "tier_rules",
                         "visit_cost", "allocation")


def book_settings(parameters: dict | None = None, **overrides) -> dict:
    """Every setting of :data:`BOOK_SETTINGS`, from a run's notebook parameters (other keys ignored) and
    ``overrides``, defaults for the rest: one complete set, so equal settings share one cache entry."""
    given = {**(parameters or {}), **overrides}
    return {k: given.get(k, default) for k, default in BOOK_SETTINGS.items()}


def service_policy(settings: dict) -> service.ServicePolicy:
    """The visit and decision-maker policy of :func:`book_settings`."""
    return service.ServicePolicy(dict(settings["visit_policy"]), tuple(settings["holidays"]),
                                 decision_maker_days=dict(settings["decision_maker_days"]),
                                 complaint_open_days=settings["complaint_open_days"])


def tables_for(ds: Dataset, settings: dict | None = None) -> BookTables:
    """:func:`book_tables` under :func:`book_settings` ``settings`` (a batch's: ``cached(cache_dir, "book_tables",
    portfolio.tables_for, ds, settings)`` in a notebook)."""
    s = book_settings(settings)
    return book_tables(ds, clv_model=s["clv_model"], holdout_months=s["holdout_months"],
                       horizon_months=s["horizon_months"], discount_rate=s["discount_rate"], n_draws=s["n_draws"],
                       policy=service_policy(s), alert_threshold=s["alert_threshold"],
                       peers=tuple(s["whitespace_peers"]), alert_value_share=s["alert_value_share"],
                       stale_after_days=s["stale_after_days"], potential=s["potential"],
                       segmentation_options={k: s[k] for k in SEGMENTATION_SETTINGS}, kpi_weights=s["kpi_weights"])


def book_tables(ds: Dataset, *, clv_model: str = "auto", holdout_months: int = 12, horizon_months: int = 36,
                discount_rate: float = 0.10, n_draws: int = 100,
                policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5,
                peers: tuple[str, ...] = ("industry", "tier"), alert_value_share: float = actions.ALERT_VALUE_SHARE,
                stale_after_days: int = actions.STALE_AFTER_DAYS, potential: str = "clv",
                segmentation_options: dict | None = None, kpi_weights: dict | None = None) -> BookTables:
    """Everything the manager reports and briefs of a month share: the CLV valuation (with bands), strategy
    (``potential``: "clv", "whitespace" or "growth", and ``segmentation_options`` as
    :func:`kamlib.analysis.segmentation.account_frame`'s), whitespace, actions and the manager scorecard
    (``kpi_weights``) — fitted once."""
    value = clv.value_accounts(ds, clv_model, holdout_months=holdout_months, horizon_months=horizon_months,
                               discount_rate=discount_rate, n_draws=n_draws)
    ws = segmentation.whitespace(ds, peers)
    ws_potential = segmentation.whitespace_potential(ws)
    one_of("potential", potential, POTENTIALS)
    chosen = {"clv": value.frame["clv"], "whitespace": ws_potential, "growth": None}[potential]
    seg = segmentation.account_frame(ds, chosen, potential_source=POTENTIALS[potential], policy=policy,
                                     **(segmentation_options or {}))
    table = actions.account_table(ds, value, seg.frame)
    table = table.join(seg.frame[["suggested_tier"]]).join(
        value.frame[["expected_purchases_12m", "purchases_12m_lower", "purchases_12m_upper"]]).join(ws_potential)
    churned_on = pd.to_datetime(ds.accounts.set_index("account_id")["churned_on"])
    card = scorecard.manager_scorecard(ds, churned_on=churned_on, compliance=seg.compliance, clv=value.frame["clv"],
                                       weights=kpi_weights or scorecard.DEFAULT_WEIGHTS,
                                       decision_maker_days=policy.decision_maker_days)
    todo = actions.this_month(ds, table, ws=ws, policy=policy, alert_threshold=alert_threshold,
                              alert_value_share=alert_value_share, stale_after_days=stale_after_days)
    rfm = value.frame[[c for c in (*RFM_COLUMNS, AGE_COLUMN) if c in value.frame.columns]]   # as valued
    rfm.attrs = dict(value.frame.attrs)
    key = table.index[table["tier"].isin(["strategic", "A"])].intersection(rfm.index)   # the briefs' accounts
    # over every valued account, so each draw's P(alive) is the one the valuation computed (and kept)
    bands = purchase_bands(value.purchases, rfm, n_draws=n_draws).loc[key]
    table = table.join(bands[[c for c in bands.columns if c.endswith(("_lower", "_upper"))]])
    hygiene = actions.data_hygiene(ds, table, stale_after_days)
    return BookTables(table, todo, card, ws, value.purchases.model.long_name, horizon_months, hygiene,
                      stale_after_days, value.purchases, rfm, n_draws)


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
        # each draw's P(alive) once, for both (expected purchases = E[purchases | alive] x P(alive))
        alive = np.empty((n_draws, len(rfm)))
        expected = np.empty((n_draws, len(rfm)))
        for i, d in enumerate(purchases.with_params(p) for p in purchases.draw_params(n_draws, seed)):
            alive[i] = d.p_alive(rfm).to_numpy()
            expected[i] = d.expected_purchases_if_alive(units, rfm) * alive[i]
        for name, sims in (("p_alive", alive), ("expected_purchases_12m", expected)):
            out[f"{name}_lower"], out[f"{name}_upper"] = np.quantile(sims, [alpha / 2, 1 - alpha / 2], axis=0)
    return out


def managers(ds: Dataset) -> list[str]:
    """Account managers with accounts in the book, in name order."""
    return sorted(ds.accounts["account_manager"].dropna().unique().tolist())


@dataclass(repr=False)
class Portfolio(Shown):
    """One manager's portfolio. ``accounts``: the manager's rows of :attr:`BookTables.accounts`;
    ``strategy_mix``: accounts, margin_12m and clv per strategy; ``actions``: :func:`kamlib.analysis.actions.this_month`
    for the manager, ranked from 1; ``hygiene``: their complaints open longer than ``stale_after_days`` (apart)."""

    manager: str
    scorecard: pd.DataFrame     # the manager's row and the team median
    accounts: pd.DataFrame      # their accounts, largest CLV first
    strategy_mix: pd.DataFrame  # accounts and margin per strategy
    monthly_margin: pd.Series   # gross margin per month, last 24 months
    actions: pd.DataFrame       # this month's ranked actions
    hygiene: pd.DataFrame       # their data-hygiene items (complaints open longer than stale_after_days)
    stale_after_days: int

    def summary(self, lang: str = "en") -> Summary:
        """Accounts and actions; accounts, margin and CLV per strategy."""
        info = [(t("accounts", lang), f"{len(self.accounts):,}"), (t("res_action_count", lang), f"{len(self.actions):,}")]
        mix = self.strategy_mix.rename(index=lambda s: t(f"strategy_{s}", lang))
        return Summary(t("res_portfolio_title", lang, manager=self.manager), info, headed(mix, lang))


def portfolio(ds: Dataset, tables: BookTables, manager: str, monthly: pd.DataFrame | None = None) -> Portfolio:
    """One manager's portfolio (``monthly``: :func:`scorecard.monthly_margin_by_manager`, computed once when
    portfolios of many managers are made); an unknown manager lists the managers."""
    one_of("manager", manager, managers(ds))
    mine = tables.accounts[tables.accounts["account_manager"] == manager].sort_values("clv", ascending=False)
    rows = [r for r in (manager, scorecard.TEAM_MEDIAN) if r in tables.scorecard.index]
    mix = mine.groupby("strategy").agg(accounts=("name", "size"), margin_12m=("margin_12m", "sum"),
                                       clv=("clv", "sum")).reindex(list(segmentation.STRATEGIES)).dropna(how="all")
    monthly = scorecard.monthly_margin_by_manager(ds, BRIEF_MONTHS) if monthly is None else monthly
    trend = monthly.loc[manager] if manager in monthly.index else pd.Series(dtype=float)
    todo = tables.actions[tables.actions["account_manager"] == manager]
    return Portfolio(manager, tables.scorecard.loc[rows], mine, mix, trend,
                     todo.reset_index(drop=True).rename(index=lambda i: i + 1).rename_axis("rank"),
                     tables.hygiene[tables.hygiene["account_manager"] == manager], tables.stale_after_days)


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
    people: pd.DataFrame | None = None         # its buying centre (brief_items.people_of; None: no contacts table)
    coverage: pd.Series | None = None          # roles, last meeting with a decision maker, alert (buying_centre)
    since: dict | None = None                  # since the last visit (brief_items.since_last_visit)
    open_items: pd.DataFrame | None = None     # each overdue invoice, open complaint, open opportunity
    alerts: list | None = None                 # (text key, values) of the brief's alerts (brief_items.alerts)

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
                  policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5
                  ) -> AccountBrief:
    """One account's brief as of the analysis date (:func:`account_briefs`)."""
    acc = ds.accounts
    if not (acc["account_id"] == account_id).any():
        raise KeyError(f"account {account_id!r} is not in the accounts table")
    return account_briefs(ds.for_accounts([account_id]), tables, [account_id], policy, alert_threshold)[account_id]


def account_briefs(ds: Dataset, tables: BookTables, account_ids,
                   policy: service.ServicePolicy = service.ServicePolicy(), alert_threshold: float = 0.5
                   ) -> dict[str, AccountBrief]:
    """The briefs of ``account_ids`` (accounts of the book), each table read once for all of them (a manager
    report's key accounts, the whole book's in a batch): profile, value with bands, 24 months, service, money
    owed, pipeline, actions and whitespace; the people, what changed since the last visit, the open items and
    the alerts (P(alive) below ``alert_threshold``; ``policy``: decision-maker days, complaint days)."""
    ids = list(dict.fromkeys(account_ids))
    acc = ds.accounts.set_index("account_id")
    start = (ds.analysis_month - (BRIEF_MONTHS - 1)).start_time
    months = pd.date_range(start, ds.analysis_month.start_time, freq="MS")
    tx = agg.of_accounts(ds.table("transactions"), ids)
    monthly = agg.execute(agg.monthly_by_account(tx, end=ds.analysis_date))
    monthly = monthly[monthly["month"] >= start]
    # every account's 24 months as rows of two (account x month) grids, read by position below
    row_of = {a: i for i, a in enumerate(ids)}
    grid = {k: np.zeros((len(ids), len(months))) for k in ("revenue", "gross_margin")}
    # (as integers: an account without orders in the 24 months leaves an empty, untyped frame)
    r = monthly["account_id"].map(row_of).to_numpy(dtype=np.intp)
    c = months.get_indexer(pd.to_datetime(monthly["month"]))
    for k in grid:
        np.add.at(grid[k], (r, c), monthly[k].to_numpy(float))
    cats = agg.execute(agg.margin_by_account_category(tx, start=start, end=ds.analysis_date))
    cats = cats.sort_values(["account_id", "gross_margin"], ascending=[True, False], kind="stable")
    cats = cats.set_index("product_category")
    cats = dict(tuple(cats[["revenue", "gross_margin"]].groupby(cats["account_id"])))
    no_cats = pd.DataFrame({"revenue": [], "gross_margin": []}, index=pd.Index([], name="product_category"))
    band_names = [f"{n}_{side}" for n in ("p_alive", "expected_purchases_12m") for side in ("lower", "upper")]
    value_of = _values(tables, acc.loc[ids, "account_manager"], band_names)
    comp = cl = pay = op = None
    if ds.has("interactions"):
        start = ds.analysis_date - pd.Timedelta(weeks=actions.VISIT_WEEKS)
        comp = service.visit_compliance(acc.loc[ids].reset_index(),
                                        ds.interactions_of(["visit"], start=start, end=ds.analysis_date),
                                        start, ds.analysis_date, policy)
        cl = _complaint_counts(scorecard.complaints(ds), ids)
    if ds.payments is not None:
        pay = _invoice_facts(ds.payments[ds.payments["account_id"].isin(ids)], ds.analysis_date, ids)
    op = scorecard.classify_opportunities(ds)
    if op is not None:
        op = pd.crosstab(op.loc[op["account_id"].isin(ids), "account_id"], op["outcome"]).reindex(
            columns=["open", "won", "lost"], fill_value=0)
    todo = dict(tuple(tables.actions[tables.actions["account_id"].isin(ids)].groupby("account_id")))
    ws = dict(tuple(tables.whitespace[tables.whitespace["account_id"].isin(ids)].groupby("account_id")))
    empty_actions, empty_ws = tables.actions.iloc[:0], tables.whitespace.iloc[:0]
    unbanded = value_of.index[value_of[band_names].isna().all(axis=1)]
    unbanded = unbanded.intersection(tables.rfm.index) if tables.rfm is not None else unbanded[:0]
    if len(unbanded):                  # ranges only with the book's parameter draws (0: point values only)
        rfm = tables.rfm.loc[unbanded]
        _fill_bands(value_of, purchase_bands(tables.purchases, rfm, n_draws=tables.n_draws), band_names,
                    clv.purchase_interval(tables.purchases, rfm, tables.purchases.months_to_units(12), n_samples=500,
                                          n_draws=tables.n_draws) if tables.n_draws > 0 else None)
    in_book = set(tables.accounts.index)
    people = brief_items.people_of(ds, ids)
    since = brief_items.since_last_visit_of(ds, ids)
    items = brief_items.open_items_of(ds, ids)
    cov = buying_centre.coverage(ds, acc.loc[ids], policy.decision_maker_days)
    profiles = acc.loc[ids, [c for c in ("name", "tier", "enterprise_type", "industry", "region", "credit_rating",
                                         "account_manager", "acquired_on", "acquisition_channel") if c in acc.columns]]
    month_index = months.rename("month")
    monthly_of = np.stack([grid["revenue"], grid["gross_margin"]], axis=2)       # (account, month, column)
    has_interactions = ds.has("interactions")
    if has_interactions:
        visits_of = {a: (int(v), float(r * w), int(w)) for a, v, r, w in zip(
            comp.index, comp["visits"], comp["required_per_week"], comp["weeks"])}
    if op is not None:
        op_row = {a: i for i, a in enumerate(op.index)}
        op_counts, outcomes = op.to_numpy(), pd.Index(op.columns, name="outcome")
    out = {}
    for i, account_id in enumerate(ids):
        profile = profiles.iloc[i]
        value = value_of.iloc[i].copy()
        value.name = account_id if account_id in in_book else None
        m = pd.DataFrame(monthly_of[i], index=month_index, columns=_MONTHLY_COLUMNS)
        c = cats.get(account_id, no_cats)
        visits = complaints = invoices = opps = None
        if has_interactions:
            if account_id in visits_of:
                visits = _record(dict(zip(("visits", "required", "weeks"), visits_of[account_id])))
            complaints = _record(cl.get(account_id, _NO_COMPLAINTS))
        if pay is not None:
            invoices = _record(pay.get(account_id, _NO_INVOICES))
        if op is not None:
            opps = (pd.Series(op_counts[op_row[account_id]], index=outcomes, name="count")
                    if account_id in op_row else pd.Series(0, index=_OUTCOMES))
        row_cov = cov.loc[account_id] if cov is not None and account_id in cov.index else None
        alerts = brief_items.alerts(credit_rating=profile.get("credit_rating"), items=items[account_id],
                                    p_alive=value.get("p_alive"), alert_threshold=alert_threshold, coverage=row_cov,
                                    complaint_open_days=policy.complaint_open_days)
        out[account_id] = AccountBrief(account_id, profile, value, m, c, visits, complaints, invoices, opps,
                                       todo.get(account_id, empty_actions), ws.get(account_id, empty_ws),
                                       people=None if people is None else people[account_id], coverage=row_cov,
                                       since=since[account_id], open_items=items[account_id], alerts=alerts)
    return out


_MONTHLY_COLUMNS = pd.Index(["revenue", "gross_margin"])
_OUTCOMES = pd.Index(["open", "won", "lost"])
_INDEXES: dict[tuple, pd.Index] = {}


def _record(d: dict) -> pd.Series:
    """``pd.Series(d)``, its index made once per set of keys (with pandas' string dtype, building the index of a
    small Series costs more than the rest; the briefs of a book make hundreds of thousands)."""
    keys = tuple(d)
    if keys not in _INDEXES:
        _INDEXES[keys] = pd.Index(keys)
    return pd.Series(list(d.values()), index=_INDEXES[keys])


_VALUE_COLUMNS = ["margin_12m", "p_alive", "expected_purchases_12m", "purchases_12m_lower", "purchases_12m_upper",
                  "clv", "clv_lower", "clv_upper", "strategy"]
_NO_COMPLAINTS = {"complaints": 0, "resolved": 0, "open": 0, "median_resolution_days": np.nan}
_NO_INVOICES = {"open_amount": 0.0, "overdue_amount": 0.0, "overdue_invoices": 0, "average_days_late": np.nan}


def _values(tables: BookTables, managers: pd.Series, band_names: list[str]) -> pd.DataFrame:
    """The value line of each account of ``managers`` (index: account ids, values: their managers): the book
    table's columns (NaN outside the book) and its share of its manager's 12-month margin."""
    value = tables.accounts.reindex(index=managers.index, columns=[*_VALUE_COLUMNS, *band_names])
    total = managers.map(tables.accounts.groupby("account_manager")["margin_12m"].sum()).fillna(0.0)
    margin = tables.accounts["margin_12m"].reindex(managers.index)
    value["share_of_manager_margin"] = margin / total.where(total != 0)      # NaN: no margin to share
    return value


def _fill_bands(value: pd.DataFrame, bands: pd.DataFrame, band_names: list[str], ranges: pd.DataFrame | None) -> None:
    """(In place) the bands of accounts the book table has none for, their P(alive) and expected purchases where
    missing (accounts outside the book) and their purchase range where missing (``ranges``, when there are)."""
    rows = bands.index
    value.loc[rows, band_names] = bands[band_names].to_numpy()
    for name in ("p_alive", "expected_purchases_12m"):
        value.loc[rows, name] = value.loc[rows, name].where(value.loc[rows, name].notna(), bands[name])
    if ranges is None:
        return
    missing = ranges.index[value.loc[ranges.index, "purchases_12m_lower"].isna()]
    value.loc[missing, ["purchases_12m_lower", "purchases_12m_upper"]] = ranges.loc[missing, ["lower", "upper"]].to_numpy()


def _complaint_counts(complaints: pd.DataFrame, ids: list) -> dict[str, dict]:
    """Per account of ``ids`` with complaints: made, resolved, open and the median days to resolve."""
    mine = complaints[complaints["account_id"].isin(ids)]
    g = mine.assign(resolved=mine["resolved_on"].notna(), days=pd.to_numeric(mine["resolution_days"])
                    ).groupby("account_id")
    facts = g.agg(made=("resolved", "size"), resolved=("resolved", "sum"), median_days=("days", "median"))
    return {a: {"complaints": int(made), "resolved": int(resolved), "open": int(made - resolved),
                "median_resolution_days": median_days}
            for a, made, resolved, median_days in facts.itertuples(name=None)}


def _invoice_facts(pay: pd.DataFrame, at, ids: list) -> dict[str, dict]:
    """Per account with payments records: open and overdue amounts at ``at``, overdue invoices and the average
    days late of its paid invoices."""
    rec = scorecard.receivables(pay, at)
    overdue = rec[rec["days_past_due"] > 0]
    paid = pay[pay["paid_date"].notna()]
    facts = pd.DataFrame({
        "open_amount": rec.groupby("account_id")["amount"].sum(),
        "overdue_amount": overdue.groupby("account_id")["amount"].sum(),
        "overdue_invoices": overdue.groupby("account_id").size(),
        "average_days_late": (paid["paid_date"] - paid["due_date"]).dt.days.groupby(paid["account_id"]).mean(),
    }).reindex(pay["account_id"].unique())
    facts[["open_amount", "overdue_amount", "overdue_invoices"]] = facts[
        ["open_amount", "overdue_amount", "overdue_invoices"]].fillna(0)
    return {a: {"open_amount": float(r.open_amount), "overdue_amount": float(r.overdue_amount),
                "overdue_invoices": int(r.overdue_invoices), "average_days_late": float(r.average_days_late)}
            for a, r in facts.iterrows()}
