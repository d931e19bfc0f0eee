"""``rfm_summary``: the bridge from order lines to the per-account inputs of the CLV models."""
from __future__ import annotations

import ibis
import pandas as pd

from ..data import aggregate as agg
from ..data.dates import check_against_data, read_date


def rfm_summary(transactions: ibis.Table | pd.DataFrame, *, observation_end, calibration_end=None,
                time_unit: str = "W", account_col: str = "account_id", date_col: str = "order_date",
                value_col: str = "revenue", collapse: str = "D") -> pd.DataFrame:
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
    out = out.drop(columns="first_purchase")
    out.index.name = account_col
    out.attrs["time_unit"] = time_unit
    return out
