"""Who is in the book when: recorded churn (``accounts.churned_on``) and win-back (``accounts.won_back_on``).

An account with a recorded churn is out of the book from ``churned_on`` until it is won back: a
``won_back_on`` after ``churned_on`` ends the lapse (a ``won_back_on`` on or before ``churned_on`` describes
an earlier lapse and is ignored). A churn is still a churn event for survival and churn-flow counts; these
helpers only answer whether an account is in the book on a day.
"""
from __future__ import annotations

import pandas as pd


def lapse(accounts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(gone, back) per row of ``accounts``: the recorded churn date and the win-back date that ends that
    lapse (NaT where there is none)."""
    nat = pd.Series(pd.NaT, index=accounts.index, dtype="datetime64[ns]")
    gone = pd.to_datetime(accounts["churned_on"]) if "churned_on" in accounts else nat
    back = pd.to_datetime(accounts["won_back_on"]) if "won_back_on" in accounts else nat
    return gone, back.where(back > gone)


def churned_as_of(accounts: pd.DataFrame, day) -> pd.Series:
    """True where the account's recorded churn is on or before ``day`` and it was not won back by ``day``."""
    day = pd.Timestamp(day)
    gone, back = lapse(accounts)
    return (gone <= day) & ~(back <= day)
