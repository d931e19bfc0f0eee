"""The sample's buying centres: a few contacts per key account and the contact each visit met.

Applied after :func:`kamlib.data.generator.generate_book` has simulated everything else, from its own random
stream, so it changes no other table. Names are pinyin, phone numbers 1xx-xxxx-xxxx and e-mail addresses on
example.com / example.cn (reserved domains): personal data in form only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Hu",
             "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo")
_GIVEN = ("Wei", "Fang", "Jun", "Min", "Jing", "Lei", "Qiang", "Yan", "Hui", "Ping", "Gang", "Xia", "Bin",
          "Hong", "Tao", "Ying", "Peng", "Li", "Hua", "Chao")
# role -> titles it is held under; the decision maker is always there, the others with these probabilities
_TITLES = {"decision_maker": ("General Manager", "Chairman"), "purchasing": ("Purchasing Manager", "Buyer"),
           "finance": ("Finance Director", "Chief Accountant"), "technical": ("Technical Lead", "Chief Engineer"),
           "user": ("Production Manager", "Workshop Director"), "executive": ("Deputy General Manager",
                                                                             "Vice President")}
_PRESENT = {"purchasing": 0.95, "finance": 0.7, "technical": 0.75, "user": 0.6, "executive": 0.35}
# how often each role is the one met on a visit (the decision maker's share varies by account, below)
_MEET_WEIGHT = {"purchasing": 5.0, "technical": 2.0, "user": 2.0, "finance": 1.0, "executive": 0.6}


def contact_frames(accounts: pd.DataFrame, interactions: pd.DataFrame, seed: int,
                   tiers: tuple[str, ...] = ("strategic", "A")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contacts of the accounts in ``tiers`` and ``interactions`` with a ``contact_id`` on their visits
    (calls, complaints and visits to other accounts have none). Deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    key = accounts[accounts["tier"].isin(tiers)]["account_id"].to_numpy()
    rows = []
    for acc in key:
        roles = ["decision_maker"] + [r for r, p in _PRESENT.items() if rng.random() < p]
        for role in roles:
            rows.append({"account_id": acc, "role": role, "title": rng.choice(_TITLES[role]),
                         "surname": rng.choice(_SURNAMES), "given": rng.choice(_GIVEN)})
    contacts = pd.DataFrame(rows, columns=["account_id", "role", "title", "surname", "given"])
    n = len(contacts)
    contacts.insert(1, "contact_id", [f"CT{j + 1:06d}" for j in range(n)])
    contacts.insert(2, "name", contacts["surname"] + " " + contacts["given"])
    prefix = rng.choice(["135", "136", "137", "138", "139", "150", "158", "186", "189"], n)
    contacts["phone"] = [f"{p}{x:08d}" for p, x in zip(prefix, rng.integers(0, 10 ** 8, n))]
    domain = rng.choice(["example.com", "example.cn"], n)
    contacts["email"] = [f"{g.lower()}.{s.lower()}{j % 97}@{d}" for j, (g, s, d) in
                         enumerate(zip(contacts["given"], contacts["surname"], domain))]
    contacts["is_decision_maker"] = np.where(contacts["role"] == "decision_maker", "true", "false")
    contacts = contacts.drop(columns=["surname", "given"])

    out = interactions.copy()
    out["contact_id"] = None
    visits = np.flatnonzero((out["kind"] == "visit").to_numpy() & out["account_id"].isin(key).to_numpy())
    # the decision maker's share of an account's visits varies a lot: some are rarely met (the alert's cases)
    dm_weight = dict(zip(key, rng.gamma(1.2, 1.0, key.size)))
    # each account's contacts as a slice of plain arrays (contacts are made account by account)
    c_acc, c_id = contacts["account_id"].to_numpy(object), contacts["contact_id"].to_numpy(object)
    c_role = contacts["role"].to_numpy(object)
    firsts = np.flatnonzero(np.r_[True, c_acc[1:] != c_acc[:-1]]) if n else np.array([], int)
    bounds = dict(zip(c_acc[firsts], zip(firsts, np.r_[firsts[1:], n])))
    chosen = np.empty(visits.size, dtype=object)
    acc_of_visit = out["account_id"].to_numpy()[visits]
    accs, which = np.unique(acc_of_visit, return_inverse=True)
    # each account's visits in their order, found once (not by a scan of every visit per account)
    groups = np.split(np.argsort(which, kind="stable"), np.cumsum(np.bincount(which, minlength=accs.size))[:-1])
    for acc, at in zip(accs, groups):
        lo, hi = bounds[acc]
        w = np.array([dm_weight[acc] if r == "decision_maker" else _MEET_WEIGHT[r] for r in c_role[lo:hi]])
        chosen[at] = rng.choice(c_id[lo:hi], at.size, p=w / w.sum())
    out.loc[out.index[visits], "contact_id"] = chosen
    return contacts, out
