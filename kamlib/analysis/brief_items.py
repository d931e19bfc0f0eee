"""What a manager takes into a visit, for one account: its people (the buying centre with the last meeting
with each), what happened since the last visit, the open items to raise (each overdue invoice, open complaint
and open opportunity) and the alerts (credit, churn risk, decision maker not met, complaints open too long).

Everything is as of the analysis date: records dated after it are not in the data set (no look-ahead). A part
whose table is missing is None ('not available'), never zero.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from ..data.dataset import Dataset
from . import buying_centre
from .scorecard import classify_opportunities, complaints, open_invoices, receivables

NO_VISIT_DAYS = 90          # without a visit on record, 'since the last visit' covers this many days
SPECULATIVE_RATINGS = ("BB", "B", "CCC", "CC", "C", "D")   # below BBB: a credit alert even with nothing overdue
OPEN_ITEMS_SHOWN = 6        # per kind on the one-page brief; the rest are summed in one line


def people_of(ds: Dataset, account_ids) -> dict[str, pd.DataFrame] | None:
    """Per account: its contacts, decision makers first then by role — name, role, title, decision_maker,
    meetings, last_met, and phone / email as recorded (mask them before showing: :mod:`kamlib.text.masking`).
    None without a contacts table."""
    met = buying_centre.contacts_met(ds)
    if met is None:
        return None
    raw = ds.frame("contacts").set_index("contact_id")
    mine = met[met["account_id"].isin(list(account_ids))].copy()
    for col in ("phone", "email"):
        mine[col] = raw[col].reindex(mine["contact_id"]).to_numpy() if col in raw else None
    mine["_o"] = mine["role"].map({r: i for i, r in enumerate(buying_centre.CONTACT_ROLES)})
    mine = mine.sort_values(["decision_maker", "_o", "name"], ascending=[False, True, True], kind="stable")
    mine = mine.drop(columns="_o").set_index("contact_id")
    groups = dict(tuple(mine.drop(columns="account_id").groupby(mine["account_id"], sort=False)))
    empty = mine.iloc[:0].drop(columns="account_id")
    out = {}
    for a in account_ids:
        frame = groups[a] if a in groups else empty.copy()
        frame.attrs["meetings_known"] = met.attrs["meetings_known"]
        out[a] = frame
    return out


def since_last_visit_of(ds: Dataset, account_ids) -> dict[str, dict]:
    """Per account, what happened after its last visit (or, with none on record, in the last
    :data:`NO_VISIT_DAYS` days) up to the analysis date: ``start``, ``last_visit`` (None), ``met`` (names and
    roles met on it), orders (count, revenue, margin, last order date and its categories), complaints new and
    resolved, payments received (count, amount), opportunities new / won / lost (count, amount). A part whose
    table is missing is None."""
    ids = list(dict.fromkeys(account_ids))
    end = ds.analysis_date
    inter = ds.interactions_of(["visit"], end=end)
    last = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns]")
    met: dict = {}
    if inter is not None:
        v = inter[inter["account_id"].isin(ids)]
        last = v.groupby("account_id")["date"].max().reindex(ids)
        if "contact_id" in v and ds.has("contacts"):
            c = ds.frame("contacts").set_index("contact_id")
            on_last = v[v["date"] == v["account_id"].map(last)].dropna(subset=["contact_id"])
            on_last = on_last[on_last["contact_id"].isin(c.index)]
            for a, g in on_last.groupby("account_id"):
                met[a] = [(c.at[i, "name"], c.at[i, "role"]) for i in g["contact_id"]]
    start = last.fillna(end - pd.Timedelta(days=NO_VISIT_DAYS))
    tx = agg.of_accounts(ds.table("transactions"), ids)
    tx = tx.filter(tx.order_date.cast("date") >= start.min().date()).execute()
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx = tx[tx["order_date"] > tx["account_id"].map(start)]
    orders = _orders_since(tx, ids)
    comp = complaints(ds)
    if comp is not None:
        c = comp[comp["account_id"].isin(ids)]
        s0 = c["account_id"].map(start)
        comp = pd.DataFrame({"new": (c["complained_on"] > s0), "resolved": (c["resolved_on"] > s0)}).groupby(
            c["account_id"]).sum().reindex(ids, fill_value=0)
    pay = ds.payments
    if pay is not None:
        p = pay[pay["account_id"].isin(ids) & (pay["paid_date"] <= end)]
        p = p[p["paid_date"] > p["account_id"].map(start)]
        pay = p.groupby("account_id")["amount"].agg(["size", "sum"]).reindex(ids)
    opps = classify_opportunities(ds)
    if opps is not None:
        o = opps[opps["account_id"].isin(ids)]
        s0 = o["account_id"].map(start)
        closed = o["closed_on"] > s0
        kinds = {"new": o["created_on"] > s0, "won": closed & (o["outcome"] == "won"),
                 "lost": closed & (o["outcome"] == "lost")}
        by = o["account_id"]
        opps = pd.DataFrame({**{k: m.groupby(by).sum() for k, m in kinds.items()},
                             **{f"{k}_amount": o["amount"].where(m, 0.0).groupby(by).sum() for k, m in kinds.items()}}
                            ).reindex(ids)
    # per account as plain numbers, read by position (a pandas lookup per account and field is the cost here)
    starts, lasts = start.reindex(ids).tolist(), last.reindex(ids).tolist()
    if comp is not None:
        comp = comp.to_numpy(np.int64)
    if pay is not None:
        pay_n, pay_sum = np.nan_to_num(pay["size"].to_numpy(float)), np.nan_to_num(pay["sum"].to_numpy(float))
    if opps is not None:
        opps = opps.fillna(0)[["new", "new_amount", "won", "won_amount", "lost", "lost_amount"]].to_numpy(float)
    out = {}
    for i, a in enumerate(ids):
        d: dict = {"start": starts[i], "last_visit": None if pd.isna(lasts[i]) else lasts[i], "met": met.get(a, []),
                   "orders": orders[a]}
        d["complaints"] = None if comp is None else {"new": int(comp[i, 0]), "resolved": int(comp[i, 1])}
        d["payments"] = None if pay is None else {"invoices": int(pay_n[i]), "amount": float(pay_sum[i])}
        if opps is None:
            d["opportunities"] = None
        else:
            r = opps[i]
            d["opportunities"] = {"new": int(r[0]), "new_amount": float(r[1]), "won": int(r[2]),
                                  "won_amount": float(r[3]), "lost": int(r[4]), "lost_amount": float(r[5])}
        out[a] = d
    return out


def _orders_since(tx: pd.DataFrame, ids: list) -> dict[str, dict]:
    """Per account, its order lines ``tx`` (already those after its start): orders (order ids when every line
    has one, else order days), revenue, margin, the last order's date and its categories."""
    none = {"orders": 0, "revenue": 0.0, "margin": 0.0, "last_order": None, "categories": []}
    if tx.empty:
        return {a: dict(none, categories=[]) for a in ids}
    g = tx.groupby("account_id")
    by_id = "order_id" in tx
    facts = pd.DataFrame({
        "orders": g["order_id"].nunique() if by_id else g["order_date"].nunique(),
        "days": g["order_date"].nunique(),
        "ids_complete": g["order_id"].count() == g.size() if by_id else False,
        "revenue": g["revenue"].sum(), "margin": g["gross_margin"].sum(), "last_order": g["order_date"].max()})
    latest = tx[tx["order_date"] == tx["account_id"].map(facts["last_order"])]
    categories = latest.groupby("account_id")["product_category"].agg(lambda v: sorted(v.unique().tolist()))
    orders = np.where(facts["ids_complete"].to_numpy(bool), facts["orders"].to_numpy(), facts["days"].to_numpy())
    found = dict(zip(facts.index, zip(orders.tolist(), facts["revenue"].tolist(), facts["margin"].tolist(),
                                      facts["last_order"])))
    out = {}
    for a in ids:
        if a not in found:
            out[a] = dict(none, categories=[])
            continue
        n, revenue, margin, last = found[a]
        out[a] = {"orders": int(n), "revenue": float(revenue), "margin": float(margin), "last_order": last,
                  "categories": categories[a]}
    return out


def open_items_of(ds: Dataset, account_ids) -> dict[str, pd.DataFrame]:
    """Per account, each item to raise in the meeting, largest first within its kind: ``kind``
    (overdue_invoice, open_complaint, open_opportunity), ``ref`` (invoice or opportunity id), ``since`` (due
    date, complaint date, creation date), ``age_days`` (days past due / open), ``amount`` (NaN for a
    complaint) and ``stage``."""
    ids = list(dict.fromkeys(account_ids))
    rows = []
    opened = open_invoices(ds)
    if opened is not None:
        r = receivables(opened[opened["account_id"].isin(ids)], ds.analysis_date)
        r = r[r["days_past_due"] > 0]
        rows.append(pd.DataFrame({"account_id": r["account_id"], "kind": "overdue_invoice", "ref": r["invoice_id"],
                                  "since": r["due_date"], "age_days": r["days_past_due"], "amount": r["amount"],
                                  "stage": None}))
    comp = complaints(ds)
    if comp is not None:
        c = comp[comp["account_id"].isin(ids) & comp["resolved_on"].isna()]
        rows.append(pd.DataFrame({"account_id": c["account_id"], "kind": "open_complaint", "ref": None,
                                  "since": c["complained_on"], "age_days": (ds.analysis_date - c["complained_on"]).dt.days,
                                  "amount": np.nan, "stage": None}))
    opps = classify_opportunities(ds)
    if opps is not None:
        o = opps[opps["account_id"].isin(ids) & (opps["outcome"] == "open")]
        rows.append(pd.DataFrame({"account_id": o["account_id"], "kind": "open_opportunity", "ref": o["opportunity_id"],
                                  "since": o["created_on"], "age_days": (ds.analysis_date - o["created_on"]).dt.days,
                                  "amount": o["amount"], "stage": o["stage"] if "stage" in o else None}))
    cols = ["kind", "ref", "since", "age_days", "amount", "stage"]
    rows = [r for r in rows if len(r)]
    every = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["account_id", *cols]))
    every["_k"] = every["kind"].map({"overdue_invoice": 0, "open_complaint": 1, "open_opportunity": 2})
    every = every.sort_values(["_k", "amount", "age_days"], ascending=[True, False, False], kind="stable")
    groups = dict(tuple(every.groupby("account_id", sort=False)))
    empty = pd.DataFrame(columns=cols)
    return {a: groups[a][cols].reset_index(drop=True) if a in groups else empty.copy() for a in ids}


def alerts(*, credit_rating, items: pd.DataFrame, p_alive: float | None, alert_threshold: float,
           coverage: pd.Series | None, complaint_open_days: int) -> list[tuple[str, dict]]:
    """The brief's alerts as (text key, values): credit (overdue invoices, with the rating; or a rating below
    BBB), churn risk (P(alive) below ``alert_threshold``), decision maker not met within the policy, complaints
    open longer than ``complaint_open_days``."""
    out = []
    kind = items["kind"].to_numpy()
    age = items["age_days"].to_numpy(float)
    overdue = kind == "overdue_invoice"
    rating = "" if credit_rating is None or (isinstance(credit_rating, float) and np.isnan(credit_rating)) \
        else str(credit_rating)
    if overdue.any():
        out.append(("brief_alert_credit", {"rating": rating or "—",
                                           "amount": float(items["amount"].to_numpy(float)[overdue].sum()),
                                           "n": int(overdue.sum()), "days": int(age[overdue].max())}))
    elif rating.upper() in SPECULATIVE_RATINGS:
        out.append(("brief_alert_rating", {"rating": rating}))
    if p_alive is not None and not np.isnan(p_alive) and p_alive < alert_threshold:
        out.append(("brief_alert_churn", {"p_alive": float(p_alive), "threshold": alert_threshold}))
    flag = None if coverage is None else coverage.get("alert")
    if flag is not None and flag is not pd.NA and bool(flag):
        days = coverage["days_since_decision_maker"]
        if np.isnan(days):
            out.append(("brief_alert_dm_never", {"limit": int(coverage["limit_days"])}))
        else:
            out.append(("brief_alert_dm", {"days": int(days), "limit": int(coverage["limit_days"])}))
    late = (kind == "open_complaint") & (age > complaint_open_days)
    if late.any():
        out.append(("brief_alert_complaints", {"n": int(late.sum()), "days": int(age[late].max()),
                                               "limit": complaint_open_days}))
    return out
