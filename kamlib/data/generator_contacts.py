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
_ROLES = ("decision_maker", *_PRESENT)
_VISIT = 3          # the visits' code in the generator's interaction kinds


class _ScalarDraws:
    """``Generator.random()`` and ``Generator.choice(seq)`` one value at a time, computed in plain Python from the
    raw outputs of the generator's PCG64 stream exactly as numpy computes them (a double from the top 53 bits of
    a 64-bit output; a choice by Lemire's bounded integer on 32-bit halves, which numpy caches between calls):
    the same values as numpy's calls, without their per-call cost. :meth:`close` leaves the generator where
    those calls would have left it."""

    def __init__(self, rng: np.random.Generator, block: int = 4096):
        self.bitgen = rng.bit_generator
        self.state = self.bitgen.state
        if self.state["bit_generator"] != "PCG64":
            raise TypeError(f"scalar draws are emulated for PCG64, not {self.state['bit_generator']}")
        self.has32, self.half = self.state["has_uint32"], self.state["uinteger"]
        self.block, self.raw, self.at, self.used = block, [], 0, 0

    def _next64(self) -> int:
        if self.at == len(self.raw):
            self.raw, self.at = self.bitgen.random_raw(self.block).tolist(), 0
        self.at += 1
        self.used += 1
        return self.raw[self.at - 1]

    def _next32(self) -> int:
        if self.has32:
            self.has32 = 0
            return self.half
        u = self._next64()
        self.has32, self.half = 1, u >> 32
        return u & 0xFFFFFFFF

    def random(self) -> float:
        return (self._next64() >> 11) * (1.0 / 9007199254740992.0)

    def choice(self, size: int) -> int:
        """An index in ``range(size)``, as ``Generator.choice`` of a sequence of that size draws it."""
        if size == 1:
            return 0
        m = self._next32() * size
        if (m & 0xFFFFFFFF) < size:
            threshold = (0xFFFFFFFF - (size - 1)) % size
            while (m & 0xFFFFFFFF) < threshold:
                m = self._next32() * size
        return m >> 32

    def close(self) -> None:
        self.bitgen.state = self.state
        self.bitgen.advance(self.used)
        state = self.bitgen.state
        state["has_uint32"], state["uinteger"] = self.has32, self.half
        self.bitgen.state = state


def contact_frames(accounts: pd.DataFrame, interactions: dict[str, np.ndarray], seed: int, id_rank: np.ndarray,
                   tiers: tuple[str, ...] = ("strategic", "A")) -> tuple[pd.DataFrame, np.ndarray]:
    """The contacts of the accounts in ``tiers`` and, for each row of ``interactions`` (account index ``acc``,
    ``kind`` code), the contact met: an index into the contacts, -1 for calls, complaints and visits to other
    accounts. ``id_rank`` is each account id's place in the ids' text order. Deterministic for a given
    ``seed``."""
    rng = np.random.default_rng(seed)
    key_acc = np.flatnonzero(accounts["tier"].isin(tiers).to_numpy())
    draws = _ScalarDraws(rng)
    owner, role, title, surname, given = [], [], [], [], []
    for a in range(key_acc.size):
        roles = [0] + [r for r, p in enumerate(_PRESENT.values(), start=1) if draws.random() < p]
        for r in roles:
            owner.append(a)
            role.append(r)
            title.append(draws.choice(2))
            surname.append(draws.choice(len(_SURNAMES)))
            given.append(draws.choice(len(_GIVEN)))
    draws.close()
    owner, role = np.array(owner, np.int64), np.array(role, np.int64)
    n = owner.size
    surnames = [_SURNAMES[s] for s in surname]
    givens = [_GIVEN[g] for g in given]
    prefix = np.array(["135", "136", "137", "138", "139", "150", "158", "186", "189"])[rng.choice(9, n)]
    numbers = rng.integers(0, 10 ** 8, n)
    domain = np.array(["example.com", "example.cn"])[rng.choice(2, n)]
    contacts = pd.DataFrame({
        "account_id": accounts["account_id"].to_numpy()[key_acc[owner]],
        "contact_id": [f"CT{j + 1:06d}" for j in range(n)],
        "name": [f"{s} {g}" for s, g in zip(surnames, givens)],
        "role": np.array(_ROLES)[role] if n else np.array([], dtype=str),
        "title": [_TITLES[_ROLES[r]][t] for r, t in zip(role, title)],
        "phone": [f"{p}{x:08d}" for p, x in zip(prefix, numbers)],
        "email": [f"{g.lower()}.{s.lower()}{j % 97}@{d}" for j, (g, s, d) in enumerate(zip(givens, surnames, domain))],
        "is_decision_maker": np.where(role == 0, "true", "false"),
    })

    # the decision maker's share of an account's visits varies a lot: some are rarely met (the alert's cases)
    dm_weight = rng.gamma(1.2, 1.0, key_acc.size)
    key_of = np.full(len(accounts), -1)
    key_of[key_acc] = np.arange(key_acc.size)
    visits = np.flatnonzero((interactions["kind"] == _VISIT) & (key_of[interactions["acc"]] >= 0))
    visited = key_of[interactions["acc"][visits]]
    # one draw per visit, account after account in the ids' text order, each account's visits in their order;
    # the contact met is the first whose cumulative weight share exceeds it (numpy's choice with p=)
    visits = visits[np.lexsort((visits, id_rank[key_acc[visited]]))]
    visited = key_of[interactions["acc"][visits]]
    u = rng.random(visits.size)
    firsts = np.searchsorted(owner, np.arange(key_acc.size))
    counts = np.bincount(owner, minlength=key_acc.size)
    weight = np.zeros((key_acc.size, max(counts.max(initial=0), 1)))
    slot = np.arange(n) - firsts[owner]
    role_weight = np.array([0.0] + [_MEET_WEIGHT[r] for r in _ROLES[1:]])
    weight[owner, slot] = np.where(role == 0, dm_weight[owner], role_weight[role])
    total = weight[:, 0].copy()
    for c in range(1, weight.shape[1]):         # left to right, as numpy sums a few values
        total += weight[:, c]
    cdf = np.cumsum(weight / total[:, None], axis=1)  # p = w / w.sum(), cumulated
    last = cdf[np.arange(key_acc.size), np.maximum(counts - 1, 0)]
    pick = np.zeros(visits.size, np.int64)
    for c in range(weight.shape[1]):
        inside = c < counts[visited]
        pick += inside & (cdf[visited, c] / last[visited] <= u)
    contact = np.full(interactions["acc"].size, -1)
    contact[visits] = firsts[visited] + pick
    return contacts, contact
