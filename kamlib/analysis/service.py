"""Tiers, service policy and cost-to-serve: what each account gets, and what it should get.

Default policy (domain brief): strategic accounts are visited in person at least 2x a week, A accounts at
least 1x a week. Compliance is measured over the full calendar weeks (Monday-Sunday) of the window in
which the account was in the book the whole week; weeks containing a listed holiday are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from . import book
from ..data.dataset import Dataset
from ..data.periods import window_12m

TIERS = ("strategic", "A", "B", "C")
DEFAULT_POLICY = {"strategic": 2.0, "A": 1.0}            # in-person visits per week
DEFAULT_TIER_RULES = {"strategic": 0.03, "A": 0.15, "B": 0.50}   # cumulative top shares by window margin


@dataclass(frozen=True)
class ServicePolicy:
    """Required in-person visits per week by tier, and holiday dates whose weeks are not counted; the most
    days without meeting a decision maker by tier, and the most days a complaint may stay open."""

    visits_per_week: dict = field(default_factory=lambda: dict(DEFAULT_POLICY))
    holidays: tuple = ()
    decision_maker_days: dict = field(default_factory=lambda: {"strategic": 90, "A": 180})
    complaint_open_days: int = 30

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"visits_per_week": pd.Series(self.visits_per_week)}).rename_axis("tier")


def counted_weeks(start, end, holidays=()) -> pd.DatetimeIndex:
    """Mondays of the full weeks inside [start, end] that contain none of ``holidays``."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    first = start + pd.Timedelta(days=(7 - start.day_of_week) % 7)
    mondays = pd.date_range(first, end - pd.Timedelta(days=6), freq="7D")
    if len(holidays):
        h = pd.to_datetime(pd.Series(list(holidays)))
        bad = set((h - pd.to_timedelta(h.dt.day_of_week, unit="D")).dt.normalize())
        mondays = mondays[~mondays.isin(bad)]
    return mondays


def visit_compliance(accounts: pd.DataFrame, interactions: pd.DataFrame | None, start, end,
                     policy: ServicePolicy = ServicePolicy(), tier_col: str = "tier") -> pd.DataFrame | None:
    """Per account under a visit policy: counted weeks, in-person visits in them, visits per week, required,
    whether the policy is met (visits >= required x weeks) and the share of weeks meeting it.

    Accounts are counted only for the weeks they were in the book all week (acquired on or before the
    Monday, not churned on or before the Sunday unless won back by the Monday); accounts with no counted week
    are left out (and said so by the caller). Without an interactions table visits are unknown: None (not
    'no visits').
    """
    if interactions is None:
        return None
    acc = accounts[accounts[tier_col].isin(list(policy.visits_per_week))].reset_index(drop=True)
    weeks = counted_weeks(start, end, policy.holidays)
    wk = weeks.to_numpy()
    acquired = pd.to_datetime(acc["acquired_on"]).to_numpy()
    gone, back = (d.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("2262-01-01")) for d in book.lapse(acc))
    # in_book[i, j]: account i was in the book for the whole week j (acquired by its Monday; its Sunday before
    # the churn date, or its Monday on or after the win-back)
    in_book = (wk[None, :] >= acquired[:, None]) & ((wk[None, :] + np.timedelta64(6, "D") < gone[:, None])
                                                    | (wk[None, :] >= back[:, None]))
    visits = np.zeros(in_book.shape)
    if interactions is not None and len(interactions):
        v = interactions[interactions["kind"] == "visit"]
        monday = (v["date"] - pd.to_timedelta(v["date"].dt.day_of_week, unit="D")).dt.normalize()
        row = pd.Index(acc["account_id"]).get_indexer(v["account_id"])
        col = pd.Index(weeks).get_indexer(monday)
        ok = (row >= 0) & (col >= 0)
        np.add.at(visits, (row[ok], col[ok]), 1)
    visits = np.where(in_book, visits, 0)
    need = acc[tier_col].map(policy.visits_per_week).to_numpy(float)
    out = pd.DataFrame({"account_id": acc["account_id"], "tier": acc[tier_col], "weeks": in_book.sum(axis=1),
                        "visits": visits.sum(axis=1).astype(int), "required_per_week": need,
                        "weeks_meeting_policy": ((visits >= need[:, None]) & in_book).sum(axis=1)})
    out = out[out["weeks"] > 0]
    out["visits_per_week"] = out["visits"] / out["weeks"]
    out["compliant"] = out["visits"] >= out["required_per_week"] * out["weeks"]
    out["week_share_meeting_policy"] = out["weeks_meeting_policy"] / out["weeks"]
    return out.set_index("account_id")


def compliance_by_manager(compliance: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Accounts under policy, compliant accounts and compliance rate per account manager."""
    j = compliance.join(accounts.set_index("account_id")[["account_manager"]])
    out = j.groupby("account_manager").agg(accounts=("compliant", "size"), compliant=("compliant", "sum"),
                                           visits_per_week=("visits_per_week", "mean"))
    out["compliance_rate"] = out["compliant"] / out["accounts"]
    return out.sort_values("compliance_rate")


def suggested_tiers(margin: pd.Series, rules: dict = DEFAULT_TIER_RULES) -> pd.Series:
    """Tier from value: rank accounts by window margin; the top ``rules['strategic']`` share is strategic, up
    to ``rules['A']`` A, up to ``rules['B']`` B, the rest (and accounts without positive margin) C."""
    cuts = [rules[t] for t in ("strategic", "A", "B")]
    if not 0 <= cuts[0] <= cuts[1] <= cuts[2] <= 1:
        raise ValueError(f"tier rules must be increasing cumulative shares in [0, 1], got {rules}")
    m = pd.Series(margin, dtype=float)
    rank = m.rank(ascending=False, method="first") / max(len(m), 1)
    tier = np.select([rank <= cuts[0], rank <= cuts[1], rank <= cuts[2]], ["strategic", "A", "B"], "C")
    tier = np.where(m.to_numpy() > 0, tier, "C")
    return pd.Series(tier, index=m.index, name="suggested_tier")


def tier_migration(recorded: pd.Series, suggested: pd.Series) -> pd.DataFrame:
    """Cross-table recorded tier (rows) x suggested tier (columns), all tiers shown."""
    tab = pd.crosstab(recorded.rename("recorded_tier"), suggested.rename("suggested_tier"))
    return tab.reindex(index=list(TIERS), columns=list(TIERS), fill_value=0)


def tier_changes(recorded: pd.Series, suggested: pd.Series) -> pd.Series:
    """'upgrade' / 'downgrade' / 'keep' per account (strategic is the highest tier)."""
    pos = {t: i for i, t in enumerate(TIERS)}
    r, s = recorded.map(pos), suggested.reindex(recorded.index).map(pos)
    return pd.Series(np.select([s < r, s > r], ["upgrade", "downgrade"], "keep"), index=recorded.index,
                     name="tier_change")


def cost_to_serve(ds: Dataset, start, end, *, visit_cost: float = 500.0, allocation: str = "revenue") -> pd.Series:
    """Cost-to-serve per account in [start, end]: service costs booked to the account, plus service costs
    without an account allocated by ``allocation`` ('revenue', 'visits' or 'equal' over accounts with window
    revenue), plus in-person visits x ``visit_cost``. Without an interactions table the visits are unknown, so
    is cost-to-serve: NaN for every account (not available, never the service costs alone)."""
    if allocation not in ("revenue", "visits", "equal"):
        raise ValueError(f"allocation must be 'revenue', 'visits' or 'equal', got {allocation!r}")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start=start, end=end)).set_index("account_id")
    ids = ds.accounts["account_id"]
    out = pd.Series(0.0, index=pd.Index(ids, name="account_id"), name="cost_to_serve")
    it = ds.interactions_of(["visit"], start=start, end=end)
    if it is None:
        return out * np.nan
    visits = it.groupby("account_id").size().reindex(out.index, fill_value=0).astype(float)
    out += visits * visit_cost
    if ds.costs is not None:
        c = ds.costs
        c = c[(c["kind"] == "service") & (c["period"] >= start) & (c["period"] <= end)]
        booked = c["account_id"].notna() if "account_id" in c else pd.Series(False, index=c.index)
        out += c[booked].groupby("account_id")["amount"].sum().reindex(out.index, fill_value=0)
        pool = float(c.loc[~booked, "amount"].sum())
        if pool:
            base = {"revenue": per["revenue"].clip(lower=0).reindex(out.index, fill_value=0),
                    "visits": visits,
                    "equal": (per["revenue"] > 0).reindex(out.index, fill_value=False).astype(float)}[allocation]
            out += pool * base / base.sum() if base.sum() else 0.0
    return out


def window_cost_to_serve(ds: Dataset, **kw) -> pd.Series:
    w = window_12m(ds.analysis_date)
    return cost_to_serve(ds, w.start, w.end, **kw)


def service_flags(value_tier: pd.Series, visits_per_week: pd.Series, policy: ServicePolicy = ServicePolicy()
                  ) -> pd.Series:
    """'under-served' when the value tier's policy is not met, 'over-served' when a B/C account gets at least
    the lowest policy's visits, else ''."""
    need = value_tier.map(policy.visits_per_week)
    v = visits_per_week.reindex(value_tier.index).fillna(0)
    lowest = min(policy.visits_per_week.values())
    flag = np.select([need.notna() & (v < need), need.isna() & (v >= lowest)], ["under-served", "over-served"], "")
    return pd.Series(flag, index=value_tier.index, name="service_flag")
