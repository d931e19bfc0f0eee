"""Acquisition cohorts: retention triangles, net revenue retention and margin per account by age."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from ..data.periods import last_complete_period


def _age(period: pd.Series, cohort: pd.Series) -> pd.Series:
    """Whole periods from ``cohort`` to ``period`` (both of one period frequency)."""
    return pd.Series(period.array.asi8 - cohort.array.asi8, index=period.index)


def _ages(dates: pd.Series, cohort: pd.Series, freq: str) -> pd.Series:
    """Age in periods (from the acquisition period) at each date; NaN where there is no date."""
    p = pd.to_datetime(dates.reindex(cohort.index)).dt.to_period(freq)
    return _age(p, cohort).where(p.notna())


def _count_by_age(cohort: pd.Series, age: pd.Series, rows, ages) -> pd.DataFrame:
    """Accounts per cohort with an event at each age or earlier (cumulative)."""
    has = age.notna()
    return pd.crosstab(cohort[has], age[has].astype(int)).reindex(index=rows, columns=ages, fill_value=0).cumsum(axis=1)


def cohort_tables(ds: Dataset, churned_on: pd.Series, freq: str = "Q",
                  back_on: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """Triangles (cohort by acquisition period x age in periods) up to the analysis date:

    - ``retention``: share of the cohort in the book at the end of each age period: not churned, or won back
      by then (``back_on``, the win-back ending a recorded churn — ``BookFlows.accounts["back_on"]``);
    - ``active``: share of the cohort with an order in the period;
    - ``nrr``: cohort revenue in the period / its revenue in the first period (net revenue retention);
    - ``margin_per_account``: cohort margin in the period / accounts acquired in the cohort.
    Complete periods only (:func:`kamlib.data.periods.last_complete_period`): cohorts acquired in a period that has
    not ended by the analysis date, and ages in such a period, are left out; cells not yet observed are NaN
    (not 0). No complete period: empty tables.
    """
    end = last_complete_period(ds.analysis_date, freq)
    acc = ds.accounts.set_index("account_id")
    cohort = acc["acquired_on"].dt.to_period(freq)
    acc, cohort = acc[cohort <= end], cohort[cohort <= end]
    sizes = cohort.value_counts().sort_index()
    if sizes.empty:
        empty = pd.DataFrame(index=pd.Index([], name="cohort"), columns=pd.Index([], name="age"), dtype=float)
        return {k: empty.copy() for k in ("retention", "active", "nrr", "margin_per_account")} | {
            "sizes": pd.DataFrame({"accounts": pd.Series(dtype=int)}, index=pd.Index([], name="cohort"))}
    ages = np.arange(0, (end - sizes.index.min()).n + 1)
    # retention at age k = 1 - (churned by the end of k and not won back by then) / cohort size
    lost = _count_by_age(cohort, _ages(churned_on, cohort, freq), sizes.index, ages)
    if back_on is not None:
        back = _ages(back_on, cohort, freq).where(churned_on.reindex(cohort.index).notna())
        lost = lost - _count_by_age(cohort, back, sizes.index, ages)
    ret = 1 - lost.div(sizes, axis=0)
    observed_age = pd.Series([(end - c).n for c in sizes.index], index=sizes.index)
    ret = ret.where(np.asarray(ages)[None, :] <= observed_age.to_numpy()[:, None])
    m = agg.execute(agg.monthly_by_account(ds.table("transactions"), end=end.end_time.normalize()))
    m = m[m["account_id"].isin(acc.index)]
    m["period"] = m["month"].dt.to_period(freq)
    m["cohort"] = cohort.reindex(m["account_id"]).array
    m["age"] = _age(m["period"], m["cohort"])
    m = m[m["age"] >= 0]
    by = m.groupby(["cohort", "age"]).agg(revenue=("revenue", "sum"), gross_margin=("gross_margin", "sum"),
                                          active=("account_id", "nunique"))
    observed = ret.notna()
    revenue = by["revenue"].unstack().reindex(index=sizes.index, columns=ages)
    active = by["active"].unstack().reindex(index=sizes.index, columns=ages)
    margin = by["gross_margin"].unstack().reindex(index=sizes.index, columns=ages)
    revenue, active, margin = (t.where(~observed, t.fillna(0)).where(observed) for t in (revenue, active, margin))
    first = revenue[0].where(revenue[0] > 0)
    out = {"retention": ret, "active": active.div(sizes, axis=0), "nrr": revenue.div(first, axis=0),
           "margin_per_account": margin.div(sizes, axis=0)}
    for t in out.values():
        t.index = t.index.astype(str)
        t.index.name, t.columns.name = "cohort", "age"
    out["sizes"] = sizes.rename("accounts").set_axis(sizes.index.astype(str)).to_frame()
    return out
