"""Book overview: size, monthly trend, top accounts and breakdowns by account attribute."""
from __future__ import annotations

import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..data.periods import window_12m


def window_accounts(ds: Dataset, analysis_date=None) -> pd.DataFrame:
    """Accounts joined with their revenue and gross margin in the 12-month window (0 when no orders): the
    accounts table's columns plus revenue, gross_margin and lines (order lines in the window), one row per
    account, churned ones included — the population of the report's concentration metrics."""
    w = window_12m(analysis_date or ds.analysis_date)
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start, end=w.end))
    out = ds.accounts.merge(per, on="account_id", how="left")
    out[["revenue", "gross_margin"]] = out[["revenue", "gross_margin"]].fillna(0.0)
    out["lines"] = out["lines"].fillna(0).astype("int64")
    return out


def book_summary(ds: Dataset) -> dict:
    """Headline counts and 12-month totals of the book at the analysis date."""
    w = window_12m(ds.analysis_date)
    acc = window_accounts(ds)
    active = acc["lines"] > 0
    revenue, margin = float(acc["revenue"].sum()), float(acc["gross_margin"].sum())
    churned = acc["churned_on"].notna().sum() if "churned_on" in acc else 0
    return {
        "analysis_date": ds.analysis_date, "window_start": w.start, "window_end": w.end,
        "accounts": int(len(acc)), "accounts_recorded_churned": int(churned),
        "active_accounts_12m": int(active.sum()), "revenue_12m": revenue, "margin_12m": margin,
        "margin_rate_12m": margin / revenue if revenue else None,
    }


def monthly_trend(ds: Dataset) -> pd.DataFrame:
    """Revenue, gross margin and active (ordering) accounts per calendar month up to the analysis date."""
    out = agg.execute(agg.monthly_totals(ds.table("transactions"), end=ds.analysis_date)).set_index("month").sort_index()
    months = pd.date_range(out.index.min(), ds.analysis_date, freq="MS")
    out = out.reindex(months, fill_value=0)
    out.index.name = "month"
    return out


def revenue_change_12m(trend: pd.DataFrame) -> float | None:
    """Relative change of the last 12 months' revenue against the 12 months before (None if < 24 months)."""
    if len(trend) < 24:
        return None
    last, prev = trend["revenue"].iloc[-12:].sum(), trend["revenue"].iloc[-24:-12].sum()
    return float(last / prev - 1) if prev else None


def top_accounts(ds: Dataset, n: int = 15) -> pd.DataFrame:
    """The ``n`` accounts with most 12-month revenue, with their attributes."""
    acc = window_accounts(ds)
    cols = ["account_id", "name", "tier", "industry", "region", "account_manager", "revenue", "gross_margin"]
    out = acc.nlargest(n, "revenue")[cols].reset_index(drop=True)
    out["margin_rate"] = out["gross_margin"] / out["revenue"]
    out.index += 1
    return out


def breakdown(ds: Dataset, by: str) -> pd.DataFrame:
    """Accounts, active accounts, 12-month revenue and margin per value of account attribute ``by``."""
    from ..models.arguments import columns_of
    columns_of("by", by, ds.accounts, "the accounts table")
    acc = window_accounts(ds)
    out = acc.groupby(by, observed=True).agg(accounts=("account_id", "size"),
                                             active_accounts=("lines", lambda s: int((s > 0).sum())),
                                             revenue=("revenue", "sum"), gross_margin=("gross_margin", "sum"))
    out["revenue_share"] = out["revenue"] / out["revenue"].sum() if out["revenue"].sum() else 0.0
    return out.sort_values("revenue", ascending=False)
