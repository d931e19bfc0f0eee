"""``rfm_summary``: the bridge from order lines to the per-account inputs of the CLV models."""
from __future__ import annotations

import ibis
import pandas as pd

from ..data import aggregate as agg
from ..data.dates import check_against_data, read_date


#: an account acquired more than this many days before the first order of the data predates the order history
PREDATING_GRACE_DAYS = 31


def rfm_summary(transactions: ibis.Table | pd.DataFrame, *, observation_end, calibration_end=None,
                time_unit: str = "W", account_col: str = "account_id", date_col: str = "order_date",
                value_col: str = "revenue", collapse: str = "D", acquired_on: pd.Series | None = None
                ) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per account, computed in the database engine.

    Conventions of the literature (Fader, Hardie & Lee 2005; the ``lifetimes`` package):

    - purchases on the same day (or the same ``collapse`` period: ``"D"``, ``"W"``, ``"M"``) are one purchase;
    - ``frequency`` = number of *repeat* purchase days (the first purchase is not a repeat);
    - ``recency`` = age at the last repeat purchase, ``T`` = age at the end of the (calibration) period, both
      measured from the first purchase in ``time_unit`` (``"D"``, ``"W"`` = days / 7, ``"M"``, ``"Y"``);
    - ``monetary_value`` = mean value of the repeat purchase days (0 when frequency is 0).

    With ``calibration_end``, the summary describes accounts whose first purchase is on or before it, and
    adds ``frequency_holdout``, ``monetary_value_holdout`` (0 when none) and ``duration_holdout`` for the
    period (calibration_end, observation_end]. Both dates are read strictly (:mod:`kamlib.data.dates`:
    ``2026-10-31``, ``2026-10`` = its last day, ``2026年10月31日``); an ``observation_end`` a month or more after the
    last order is warned about (every account would look older than it is).

    ``acquired_on`` (a Series of acquisition dates indexed by account id, e.g. the accounts table's): left
    truncation. Accounts acquired more than :data:`PREDATING_GRACE_DAYS` before the order history starts (its
    first order up to ``observation_end``, ``attrs["data_start"]``) are observed from the data start, not
    from their first order in the data: ``frequency`` counts every purchase day in (data start, calibration
    end], ``recency`` and ``T`` are measured from the data start, ``monetary_value`` is the mean of those
    purchase days, and ``age_at_start`` is their age at the data start (0 for the other accounts, whose origin
    stays their first purchase). Listed accounts of that age without an order in the calibration period
    enter with frequency 0 (they may have lapsed before the data started). This is the input of the
    left-truncated Pareto/NBD (:class:`kamlib.models.ParetoNBD`).

    Returns a DataFrame indexed by account id.
    """
    tx = agg.as_table(transactions)
    missing = [c for c in (account_col, date_col, value_col) if c not in tx.columns]
    if missing:
        raise KeyError(f"rfm_summary: transactions lack column(s) {missing}; found {list(tx.columns)}")
    end = read_date("observation_end", observation_end)
    cal = end if calibration_end is None else read_date("calibration_end", calibration_end)
    if cal > end:
        raise ValueError(f"calibration_end {cal.date()} is after observation_end {end.date()}")
    check_against_data("observation_end", end, agg.execute(tx.aggregate(last=tx[date_col].max()))["last"].iloc[0])
    kw = dict(account_col=account_col, date_col=date_col, value_col=value_col, collapse=collapse)
    expr = agg.rfm_expr(tx, end=cal, time_unit=time_unit, **kw)
    hold = None
    if calibration_end is not None:
        hold = agg.holdout_expr(tx, calibration_end=cal, observation_end=end, **kw)
        expr = expr.left_join(hold, account_col).select(
            *[expr[c] for c in expr.columns],
            frequency_holdout=hold.frequency_holdout.fill_null(0),
            monetary_value_holdout=hold.monetary_value_holdout.fill_null(0.0),
        )
    out = agg.execute(expr.order_by(account_col)).set_index(account_col)
    if calibration_end is not None:
        out["duration_holdout"] = (end - cal).days / agg.unit_days(time_unit)
    if acquired_on is not None:
        out = _left_truncated(out, tx, acquired_on, cal=cal, end=end, time_unit=time_unit, holdout=hold,
                              date_col=date_col)
    out = out.drop(columns=["first_purchase", "first_value"])
    out.index.name = account_col
    out.attrs["time_unit"] = time_unit
    return out


def _left_truncated(out: pd.DataFrame, tx, acquired_on: pd.Series, *, cal, end, time_unit: str,
                    holdout, date_col: str) -> pd.DataFrame:
    """``out`` (rfm rows from the first purchase) with the accounts older than the data measured from the data
    start, plus listed old accounts without a calibration order (see :func:`rfm_summary`)."""
    first = agg.execute(agg.first_order_date(tx, end=end, date_col=date_col))["first_order"].iloc[0]
    out = out.assign(age_at_start=0.0)
    if pd.isna(first):
        return out
    start, unit = pd.Timestamp(first), agg.unit_days(time_unit)
    acquired = pd.to_datetime(pd.Series(acquired_on))
    old = acquired[acquired < start - pd.Timedelta(days=PREDATING_GRACE_DAYS)]
    window = (cal - start).days / unit
    seen = out.index.isin(old.index)
    x = out.loc[seen, "frequency"].to_numpy(float)
    repeat_value = out.loc[seen, "monetary_value"].to_numpy(float) * x
    out.loc[seen, "monetary_value"] = (repeat_value + out.loc[seen, "first_value"].to_numpy(float)) / (x + 1)
    out.loc[seen, "recency"] += window - out.loc[seen, "T"]          # the first purchase is no origin here:
    out.loc[seen, "frequency"] += 1                                  # it counts, and time runs from the start
    out.loc[seen, "T"] = window
    unseen = old.index.difference(out.index)
    if len(unseen):
        extra = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": window, "monetary_value": 0.0}, index=unseen)
        if holdout is not None:
            hold = agg.execute(holdout).set_index(out.index.name or "account_id").reindex(unseen)
            extra = extra.assign(frequency_holdout=hold["frequency_holdout"].fillna(0).astype("int64"),
                                 monetary_value_holdout=hold["monetary_value_holdout"].fillna(0.0),
                                 duration_holdout=(end - cal).days / unit)
        out = pd.concat([out, extra.astype({"frequency": out["frequency"].dtype})]).sort_index()
    out.loc[out.index.isin(old.index), "age_at_start"] = ((start - old).dt.days / unit).reindex(
        out.index[out.index.isin(old.index)]).to_numpy()
    out.attrs["data_start"] = start
    return out
