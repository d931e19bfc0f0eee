"""Calendar helpers: analysis months and the 12-month window used by the headline metrics."""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class Window(NamedTuple):
    start: pd.Timestamp   # first day of the first month
    end: pd.Timestamp     # last day of the analysis month

    def contains(self, dates: pd.Series) -> pd.Series:
        return (dates >= self.start) & (dates <= self.end)


def month_end(month: str | pd.Timestamp | pd.Period) -> pd.Timestamp:
    """'2026-10' -> Timestamp('2026-10-31')."""
    return pd.Period(month, freq="M").end_time.normalize()


def window_12m(analysis_date) -> Window:
    """The 12 calendar months ending with the month of ``analysis_date``."""
    m = pd.Period(pd.Timestamp(analysis_date), freq="M")
    return Window((m - 11).start_time.normalize(), m.end_time.normalize())


def last_complete_period(analysis_date, freq: str = "Q") -> pd.Period:
    """The last period (quarter by default) that has ended by ``analysis_date``: period tables show complete
    periods only, so a quarter with one month of data does not look like a collapse."""
    day = pd.Timestamp(analysis_date).normalize()
    p = pd.Period(day, freq=freq)
    return p if p.end_time.normalize() <= day else p - 1
