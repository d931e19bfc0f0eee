"""The sample's tier history (客户级别变更): the tier each account was given at acquisition and its one change.

Applied after :func:`kamlib.data.generator.generate_book` has simulated everything else, from its own random
stream, so it changes no other table. Every history ends at the account's tier in ``accounts`` (today's
tier); tier has no effect of its own on churn in the simulation, whenever it changed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_ORDER = np.array(["strategic", "A", "B", "C"])


def tier_history(accounts: pd.DataFrame, end, seed: int, changed_share: float = 0.2) -> pd.DataFrame:
    """Rows (account_id, date, tier): each account's tier from its acquisition day; ``changed_share`` of the
    accounts started one tier above or below today's and changed to it on a day between a month after
    acquisition and ``end``, drawn without regard to churn (some after it, as re-tiering of lapsed accounts):
    a change date tied to the churn would make the tier in force carry information about it. Deterministic
    for a given ``seed``."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end)
    n = len(accounts)
    today = accounts["tier"].to_numpy()
    pos = pd.Series(range(len(_ORDER)), index=_ORDER).reindex(today).fillna(3).astype(int).to_numpy()
    first_change = accounts["acquired_on"] + pd.Timedelta(days=30)
    room = (end - first_change).dt.days.to_numpy()
    changed = (rng.random(n) < changed_share) & (room > 0)
    step = np.where(pos == 0, 1, np.where(pos == 3, -1, rng.choice([-1, 1], n)))
    initial = np.where(changed, _ORDER[np.clip(pos + step, 0, 3)], today)
    start = pd.DataFrame({"account_id": accounts["account_id"], "date": accounts["acquired_on"], "tier": initial})
    day = np.floor(rng.random(n) * np.maximum(room, 1)).astype(int)
    change = pd.DataFrame({"account_id": accounts["account_id"],
                           "date": first_change + pd.to_timedelta(day, unit="D"), "tier": today})[changed]
    return (pd.concat([start, change], ignore_index=True).sort_values(["date", "account_id"], kind="stable")
            .reset_index(drop=True))
