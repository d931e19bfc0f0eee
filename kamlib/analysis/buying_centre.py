"""The buying centre of each key account (客户档案 · 联系人): who is on record in each role, when each was last
met in person, and the accounts whose decision maker has not been met within the service policy
(``service_policy.decision_maker_days``: 90 days for strategic accounts, 180 for A by default).

A meeting is a visit (interactions of kind ``visit``) whose ``contact_id`` names a contact of the same account,
on or before the analysis date. The clock of the alert starts at the later of the last meeting with a decision
maker (role ``decision_maker`` or ``is_decision_maker`` true) and the account's acquisition, so a new account is
not flagged before it has been in the book the policy's number of days. Phone numbers and e-mail addresses are
not carried here: they belong on a brief only (:mod:`kamlib.text.masking`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dataset import Dataset
from ..data.schema import CONTACT_ROLES

DEFAULT_DECISION_MAKER_DAYS = {"strategic": 90, "A": 180}


def contacts_met(ds: Dataset) -> pd.DataFrame | None:
    """Every contact with ``decision_maker`` (bool), ``meetings`` (visits that met them) and ``last_met``
    (NaT: never met); no phone or e-mail. None without a contacts table. ``attrs['meetings_known']`` is False
    when the interactions do not say whom a visit met (no interactions table or no contact_id column): then
    ``meetings`` and ``last_met`` are not available, not zero."""
    c = ds.frame("contacts")
    if c is None:
        return None
    out = c[["account_id", "contact_id", "name", "role"]].copy()
    out["title"] = c["title"] if "title" in c else None
    flag = c["is_decision_maker"].eq("true") if "is_decision_maker" in c else False
    out["decision_maker"] = out["role"].eq("decision_maker") | flag
    inter = ds.interactions_of(["visit"], end=ds.analysis_date)
    known = inter is not None and "contact_id" in inter
    if known:
        v = inter[inter["contact_id"].notna()]
        g = v.groupby(["account_id", "contact_id"])["date"].agg(["max", "size"])
        key = pd.MultiIndex.from_frame(out[["account_id", "contact_id"]])
        out["last_met"] = g["max"].reindex(key).to_numpy()
        out["meetings"] = g["size"].reindex(key).fillna(0).astype(int).to_numpy()
    else:
        out["last_met"] = pd.NaT
        out["meetings"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["last_met"] = pd.to_datetime(out["last_met"])
    out.attrs["meetings_known"] = known
    return out


def coverage(ds: Dataset, accounts: pd.DataFrame | None = None, days: dict | None = None) -> pd.DataFrame | None:
    """Per account of ``accounts`` (indexed by account_id, with ``tier``; default: the accounts table) whose
    tier has a limit in ``days`` (default :data:`DEFAULT_DECISION_MAKER_DAYS`): ``roles`` on record (in the
    order of the schema's roles), ``contacts``, ``decision_makers``, ``last_<role>`` (last meeting with anyone in
    that role), ``last_decision_maker``, ``days_since_decision_maker`` (NaN: never met), ``limit_days`` and
    ``alert`` (no meeting with a decision maker in the last ``limit_days`` days, counted from acquisition for
    newer accounts; NA when meetings are not known). None without a contacts table."""
    met = contacts_met(ds)
    if met is None:
        return None
    days = DEFAULT_DECISION_MAKER_DAYS if days is None else days
    acc = ds.accounts.set_index("account_id") if accounts is None else accounts
    acc = acc[acc["tier"].isin(list(days))]
    mine = met[met["account_id"].isin(acc.index)]
    out = pd.DataFrame(index=acc.index.rename("account_id"))
    present = mine.groupby("account_id")["role"].agg(set)
    out["roles"] = [tuple(r for r in CONTACT_ROLES if r in present.get(a, set())) for a in out.index]
    out["contacts"] = mine.groupby("account_id").size().reindex(out.index, fill_value=0)
    out["decision_makers"] = mine.groupby("account_id")["decision_maker"].sum().reindex(out.index, fill_value=0)
    for role in CONTACT_ROLES:
        out[f"last_{role}"] = mine[mine["role"] == role].groupby("account_id")["last_met"].max().reindex(out.index)
    last_dm = mine[mine["decision_maker"]].groupby("account_id")["last_met"].max().reindex(out.index)
    out["last_decision_maker"] = pd.to_datetime(last_dm)
    out["days_since_decision_maker"] = (ds.analysis_date - out["last_decision_maker"]).dt.days.astype(float)
    out["limit_days"] = acc["tier"].map(days).astype(float)
    if not met.attrs["meetings_known"]:
        out["alert"] = pd.array([pd.NA] * len(out), dtype="boolean")
        return out
    acquired = pd.to_datetime(ds.accounts.set_index("account_id")["acquired_on"]).reindex(out.index)
    clock = pd.concat([out["last_decision_maker"], acquired], axis=1).max(axis=1)
    waited = (ds.analysis_date - clock).dt.days
    out["alert"] = pd.array(np.where(clock.isna(), True, waited > out["limit_days"]), dtype="boolean")
    return out
