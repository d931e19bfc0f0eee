"""The one aggregation layer: everything computed from order lines, written as Ibis expressions.

The expressions run where the data lives (DuckDB by default; PostgreSQL, Spark or any Ibis backend
unchanged); only per-account (or per-month) summaries come back as pandas frames. Callers pass either an
Ibis table or a pandas DataFrame (wrapped in an in-memory DuckDB table).
"""
from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis.common.exceptions import IbisError

from . import engine

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Y": 365.25}


def as_table(data: ibis.Table | pd.DataFrame) -> ibis.Table:
    """An Ibis table for ``data`` (pandas frames become in-memory tables)."""
    if isinstance(data, ibis.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    raise TypeError(f"expected an Ibis table or a pandas DataFrame, got {type(data).__name__}")


#: above this many accounts, :func:`of_accounts` semi-joins an in-memory table of them instead of an IN list
#: (whose thousands of literals take seconds to compile)
IN_LIST_LIMIT = 500


def of_accounts(table: ibis.Table, ids) -> ibis.Table:
    """The rows of ``table`` whose ``account_id`` is one of ``ids``, filtered in the engine."""
    ids = [str(a) for a in ids]
    if len(ids) <= IN_LIST_LIMIT:
        return table.filter(table.account_id.isin(ids))
    return table.semi_join(ibis.memtable({"account_id": ids}), "account_id")


def unit_days(time_unit: str) -> float:
    try:
        return UNIT_DAYS[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {sorted(UNIT_DAYS)}, got {time_unit!r}") from None


def _date(value) -> dt.date:
    return pd.Timestamp(value).date()


def purchase_days(tx: ibis.Table, *, end, account_col: str, date_col: str, value_col: str,
                  collapse: str = "D", start=None) -> ibis.Table:
    """One row per account and purchase day (or coarser ``collapse`` period) with the summed value."""
    day = tx[date_col].cast("date")
    if collapse != "D":
        day = day.truncate({"W": "W", "M": "M"}[collapse])
    t = tx.mutate(_day=day)
    t = t.filter(t._day <= _date(end))
    if start is not None:
        t = t.filter(t._day > _date(start))
    return t.group_by([account_col, "_day"]).agg(_value=t[value_col].sum())


def rfm_expr(tx: ibis.Table, *, end, time_unit: str = "W", account_col: str = "account_id",
             date_col: str = "order_date", value_col: str = "revenue", collapse: str = "D") -> ibis.Table:
    """frequency / recency / T / monetary_value per account observed up to ``end`` (inclusive), with the date
    and value of its first purchase day (``first_purchase``, ``first_value``)."""
    u = unit_days(time_unit)
    days = purchase_days(tx, end=end, account_col=account_col, date_col=date_col, value_col=value_col,
                         collapse=collapse)
    # one pass, no self-join: repeat value = total value - value of the first purchase day
    g = days.group_by(account_col).agg(
        _n=days.count(), _first=days._day.min(), _last=days._day.max(),
        _first_value=days._value.argmin(days._day), _total_value=days._value.sum(),
    )
    freq = (g._n - 1).cast("int64")
    return g.select(
        g[account_col],
        frequency=freq,
        recency=g._last.delta(g._first, unit="day").cast("float64") / u,
        T=ibis.literal(_date(end)).delta(g._first, unit="day").cast("float64") / u,
        monetary_value=(freq > 0).ifelse((g._total_value - g._first_value) / freq.cast("float64"), 0.0),
        first_purchase=g._first,
        first_value=g._first_value,
    )


def holdout_expr(tx: ibis.Table, *, calibration_end, observation_end, account_col: str = "account_id",
                 date_col: str = "order_date", value_col: str = "revenue", collapse: str = "D") -> ibis.Table:
    """Purchase days and mean value per account in the holdout period (calibration_end, observation_end]."""
    days = purchase_days(tx, end=observation_end, start=calibration_end, account_col=account_col,
                         date_col=date_col, value_col=value_col, collapse=collapse)
    return days.group_by(account_col).agg(frequency_holdout=days.count().cast("int64"),
                                          monetary_value_holdout=days._value.mean())


def monthly_by_account(tx: ibis.Table, *, end=None, account_col: str = "account_id",
                       date_col: str = "order_date") -> ibis.Table:
    """Revenue, gross margin, order lines and orders per account and calendar month."""
    t = tx.mutate(month=tx[date_col].cast("date").truncate("M"))
    if end is not None:
        t = t.filter(t[date_col].cast("date") <= _date(end))
    order_key = t.order_id if "order_id" in t.columns else t[date_col].cast("date")
    return t.group_by([account_col, "month"]).agg(
        revenue=t.revenue.sum(), gross_margin=t.gross_margin.sum(), lines=t.count(),
        orders=order_key.nunique())


def monthly_margin_by(tx: ibis.Table, accounts: ibis.Table, *, by: str, end=None, account_col: str = "account_id",
                      date_col: str = "order_date") -> ibis.Table:
    """Gross margin per calendar month and ``by`` (a column of ``accounts``, e.g. the account manager) for the
    order lines of the accounts in ``accounts``."""
    t = tx.mutate(month=tx[date_col].cast("date").truncate("M"))
    if end is not None:
        t = t.filter(t[date_col].cast("date") <= _date(end))
    t = t.join(accounts.select(account_col, by), account_col)
    return t.group_by([by, "month"]).agg(gross_margin=t.gross_margin.sum())


def window_by_account(tx: ibis.Table, *, start, end, account_col: str = "account_id",
                      date_col: str = "order_date") -> ibis.Table:
    """Revenue, gross margin, orders and last order per account for order dates in [start, end]."""
    d = tx[date_col].cast("date")
    t = tx.filter((d >= _date(start)) & (d <= _date(end)))
    return t.group_by(account_col).agg(revenue=t.revenue.sum(), gross_margin=t.gross_margin.sum(),
                                       lines=t.count(), last_order=t[date_col].cast("date").max())


def open_invoices(pay: ibis.Table, *, at) -> ibis.Table:
    """The invoices open at ``at``: invoiced on or before it and not paid by it (every column kept)."""
    day = _date(at)
    return pay.filter((pay.invoice_date.cast("date") <= day)
                      & (pay.paid_date.isnull() | (pay.paid_date.cast("date") > day)))


def late_invoices(pay: ibis.Table) -> ibis.Table:
    """The account and due date of each invoice paid after its due date or not at all."""
    return pay.filter(pay.paid_date.isnull() | (pay.paid_date > pay.due_date)).select("account_id", "due_date")


def costs_by_kind(costs: ibis.Table, *, start, end) -> ibis.Table:
    """Amount per cost kind with cost rows in periods in [start, end]."""
    d = costs.period.cast("date")
    t = costs.filter((d >= _date(start)) & (d <= _date(end)))
    return t.group_by("kind").agg(amount=t.amount.sum().fill_null(0))


def last_order_by_account(tx: ibis.Table, *, end, account_col: str = "account_id",
                          date_col: str = "order_date") -> ibis.Table:
    d = tx[date_col].cast("date")
    t = tx.filter(d <= _date(end))
    return t.group_by(account_col).agg(first_order=t[date_col].cast("date").min(),
                                       last_order=t[date_col].cast("date").max())


def first_order_date(tx: ibis.Table, *, end, date_col: str = "order_date") -> ibis.Table:
    """The date of the book's first order line up to ``end`` (one row; null when there is none)."""
    t = tx.mutate(_day=tx[date_col].cast("date"))
    t = t.filter(t._day <= _date(end))
    return t.agg(first_order=t._day.min())


def execute(expr: ibis.Table) -> pd.DataFrame:
    """Run an expression on its backend and return pandas, with date columns as datetimes. Expressions over
    in-memory tables only (pandas input) run on kamlib's DuckDB (:func:`kamlib.data.engine.local_backend`)."""
    try:
        backend = expr._find_backend()
    except IbisError:
        backend = engine.local_backend()
    df = backend.execute(expr)
    for c, typ in expr.schema().items():
        if typ.is_date() or typ.is_timestamp():
            df[c] = pd.to_datetime(df[c])
    return df


def repeat_purchases_by_day(tx: ibis.Table, *, end, first_on_or_before, account_col: str = "account_id",
                            date_col: str = "order_date", value_col: str = "revenue",
                            exclude: list | None = None) -> ibis.Table:
    """Number of repeat purchase days per calendar day (up to ``end``) of the accounts whose first purchase
    is on or before ``first_on_or_before`` (less the accounts in ``exclude``) — the actual series of a
    cumulative tracking plot."""
    days = purchase_days(tx, end=end, account_col=account_col, date_col=date_col, value_col=value_col)
    first = days.group_by(account_col).agg(_first=days._day.min())
    j = days.join(first, account_col)
    j = j.filter((j._day > j._first) & (j._first <= _date(first_on_or_before)))
    if exclude:
        j = j.filter(~j[account_col].isin(list(exclude)))
    return j.group_by("_day").agg(repeat_purchases=j.count()).rename(day="_day")


def purchase_days_by_day(tx: ibis.Table, *, end, accounts: list, account_col: str = "account_id",
                         date_col: str = "order_date", value_col: str = "revenue") -> ibis.Table:
    """Number of purchase days per calendar day (up to ``end``) of the accounts in ``accounts``, the first
    included (accounts observed from the data start, not from their first purchase)."""
    days = purchase_days(tx, end=end, account_col=account_col, date_col=date_col, value_col=value_col)
    days = days.filter(days[account_col].isin(list(accounts)))
    return days.group_by("_day").agg(purchase_days=days.count()).rename(day="_day")


def discount_by_account_month(tx: ibis.Table, *, end, account_col: str = "account_id",
                              date_col: str = "order_date") -> ibis.Table:
    """Revenue and revenue-weighted discount per account and calendar month (for price sensitivity)."""
    d = tx[date_col].cast("date")
    t = tx.filter(d <= _date(end)).mutate(month=d.truncate("M"))
    return t.group_by([account_col, "month"]).agg(revenue=t.revenue.sum(),
                                                   discounted=(t.discount * t.revenue).sum())


def margin_by_account_category(tx: ibis.Table, *, start, end, account_col: str = "account_id",
                               date_col: str = "order_date") -> ibis.Table:
    """Revenue and gross margin per account and product category of order lines dated in [start, end]."""
    d = tx[date_col].cast("date")
    t = tx.filter((d >= _date(start)) & (d <= _date(end)))
    return t.group_by([account_col, "product_category"]).agg(revenue=t.revenue.sum(),
                                                             gross_margin=t.gross_margin.sum())


def discount_by_account_day(tx: ibis.Table, *, end, account_col: str = "account_id",
                            date_col: str = "order_date") -> ibis.Table:
    """Revenue and revenue-weighted discount per account and order day (for look-back windows)."""
    d = tx[date_col].cast("date")
    t = tx.filter(d <= _date(end)).mutate(day=d)
    return t.group_by([account_col, "day"]).agg(revenue=t.revenue.sum(), discounted=(t.discount * t.revenue).sum())


def monthly_totals(tx: ibis.Table, *, end=None, account_col: str = "account_id",
                   date_col: str = "order_date") -> ibis.Table:
    """Book-level revenue, gross margin and active (ordering) accounts per calendar month."""
    t = tx.mutate(month=tx[date_col].cast("date").truncate("M"))
    if end is not None:
        t = t.filter(t[date_col].cast("date") <= _date(end))
    return t.group_by("month").agg(revenue=t.revenue.sum(), gross_margin=t.gross_margin.sum(),
                                   active_accounts=t[account_col].nunique())
