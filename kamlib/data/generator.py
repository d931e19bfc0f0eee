"""A seeded generator of a realistic B2B key-account book, simulated from known behavioural parameters.

While in the book an account orders as a Poisson process, in weeks, with rate lambda ~ Gamma(r, alpha); order
values follow the Gamma-Gamma model: z ~ Gamma(p_spend, nu), nu ~ Gamma(q, gamma). Churn comes from a monthly
hazard with known drivers measured in the 90 days before each month (:class:`ChurnHazard`): complaints and
unresolved complaints raise it, in-person visits lower it, tier on its own does not (strategic accounts churn
less only because they are visited more). The true parameters are returned (and written to ``truth.json``)
so tests can check that the models recover them; the CLV models' own tests use pure BG/NBD and Pareto/NBD
simulations (:mod:`kamlib.models.simulate`). Costs, pipeline, payments and win-backs are layered on top.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .csv_out import write_csv

INDUSTRIES = ("machinery", "food service", "construction", "electronics", "chemicals", "retail chain",
              "logistics", "printing")
REGIONS = ("East China", "South China", "North China", "Central China", "West China", "Northeast")
MANAGERS = ("Zhang Wei", "Li Na", "Wang Fang", "Liu Yang", "Chen Jing", "Yang Lei", "Zhao Min", "Huang Tao",
            "Zhou Xin", "Wu Hao", "Xu Li", "Sun Qiang")
SURNAMES = ("Zhang", "Li", "Wang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu",
            "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song", "Tang", "Han", "Feng", "Deng",
            "Cao", "Peng")
GIVEN_NAMES = ("Wei", "Na", "Fang", "Yang", "Jing", "Lei", "Min", "Tao", "Xin", "Hao", "Li", "Qiang", "Jun", "Yan",
               "Ping", "Hui", "Gang", "Ying", "Bin", "Lin", "Hong", "Jie", "Mei", "Chao", "Dan", "Yu", "Bo", "Ning",
               "Kai", "Rui", "Lan", "Qing", "Ting", "Xia", "Long", "Peng", "Shan", "Yun", "Zhen", "Fei", "Hua",
               "Ming", "Xue", "Jian", "Yue", "Dong", "Yi", "Tian", "Wen", "Kun")
SPAN_OF_CONTROL = 150        # accounts per manager in a larger book (the sample: 2,000 accounts, 12 managers)
CATEGORIES = ("bearings", "hydraulics", "fasteners", "packaging", "frozen food", "consumables", "spare parts")
_NAME_A = ("Hua", "Zhong", "Xin", "Tian", "Jin", "Hong", "Da", "Heng", "Sheng", "Yong", "Kai", "Rui", "Bo",
           "Ming", "Long", "Feng", "Hai", "Guang", "Cheng", "An")
_NAME_B = ("xin", "tai", "yuan", "da", "li", "feng", "sheng", "hua", "tong", "neng", "chuang", "fa", "mei",
           "lian", "tian")
_SUFFIX = ("Industrial Co.", "Trading Co.", "Group", "Manufacturing Ltd.", "Supply Chain Co.",
           "Technology Co.", "Foods Co.", "Holdings")


@dataclass(frozen=True)
class TrueParameters:
    """The behavioural parameters the sample is simulated from (time unit: weeks; money: currency units)."""

    r: float = 1.2           # purchase-rate heterogeneity: lambda ~ Gamma(shape=r, rate=alpha), orders per week
    alpha: float = 4.0
    p: float = 4.0           # Gamma-Gamma spend: order value z ~ Gamma(shape=p, rate=nu)
    q: float = 3.0           # nu ~ Gamma(shape=q, rate=gamma)
    gamma: float = 10000.0
    time_unit: str = "W"


@dataclass(frozen=True)
class ChurnHazard:
    """The true churn process: in each calendar month an account in the book churns with probability
    1 - exp(-H0 exp(sum_j beta_j x_j)), H0 = -log(1 - base_monthly), where x_j are counted in the
    ``lookback_days`` before the month starts (a grouped-time proportional-hazards model: exp(beta_j) is the
    hazard ratio a Cox model of churn on the same covariates estimates). Tier has no effect of its own."""

    base_monthly: float = 0.012
    hazard_ratios: dict = field(default_factory=lambda: {
        "complaints_90d": 1.5, "unresolved_complaints_90d": 2.0, "visits_90d": 0.97})
    lookback_days: int = 90
    complaints_per_year: float = 2.0     # mean; each account's propensity ~ Gamma(shape, 1 / shape), mean 1
    complaint_propensity_shape: float = 0.3   # a few accounts complain a lot: churn risk differs by account
    resolved_share: float = 0.85         # complaints ever resolved; the rest stay unresolved


@dataclass(frozen=True)
class GeneratorConfig:
    n_accounts: int = 2000
    start: str = "2022-01-01"
    end: str = "2026-10-31"
    seed: int = 20261
    initial_book_share: float = 0.3      # accounts already in the book in the first quarter
    truth: TrueParameters = field(default_factory=TrueParameters)
    churn: ChurnHazard = field(default_factory=ChurnHazard)
    return_rate: float = 0.006           # share of order lines later returned
    zero_revenue_rate: float = 0.002     # free samples / zero-revenue lines
    channel_shares: tuple[float, float, float] = (0.45, 0.35, 0.20)  # direct, referral, agent
    cac_by_channel: tuple[float, float, float] = (42000.0, 15000.0, 30000.0)
    retention_cost_per_account_month: dict = field(default_factory=lambda: {
        "strategic": 4000.0, "A": 1500.0, "B": 500.0, "C": 150.0})
    service_cost_per_account_month: dict = field(default_factory=lambda: {
        "strategic": 6000.0, "A": 2000.0, "B": 600.0, "C": 250.0})
    visits_per_week: dict = field(default_factory=lambda: {"strategic": 2.0, "A": 1.0, "B": 0.25, "C": 0.08})
    win_rate_existing: float = 0.5       # opportunities of existing accounts
    win_rate_new: float = 0.15           # opportunities of prospects
    opportunities_per_year: dict = field(default_factory=lambda: {"strategic": 4.0, "A": 3.0, "B": 1.5, "C": 0.6})
    payment_delay_days: dict = field(default_factory=lambda: {   # mean days paid after the due date
        "AAA": -6.0, "AA": -3.0, "A": 2.0, "BBB": 15.0, "BB": 40.0})
    win_back_share: float = 0.1          # churned accounts later won back
    win_back_cost: float = 60000.0       # mean win-back spend per account won back
    n_managers: int | None = None        # None: the sample's 12 up to 2,000 accounts, one per 150 accounts above

    @property
    def managers(self) -> tuple[str, ...]:
        """The account managers' names: the sample's 12 first, then surname and given name pairs."""
        n = self.n_managers if self.n_managers is not None else (
            len(MANAGERS) if self.n_accounts <= 2000 else round(self.n_accounts / SPAN_OF_CONTROL))
        if n < 1:
            raise ValueError(f"n_managers must be at least 1, got {n}")
        extra = (f"{s} {g}" for g in GIVEN_NAMES for s in SURNAMES)
        names = list(MANAGERS) + [x for x in extra if x not in MANAGERS]
        if n > len(names):        # more than the pairs: numbered
            names += [f"{names[i % len(names)]} {i // len(names) + 1}" for i in range(len(names), n)]
        return tuple(names[:n])


@dataclass
class SimulatedBook:
    accounts: pd.DataFrame
    transactions: pd.DataFrame
    costs: pd.DataFrame
    interactions: pd.DataFrame
    truth: dict
    opportunities: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    contacts: pd.DataFrame | None = None
    tier_changes: pd.DataFrame | None = None

    def write(self, folder: str | Path) -> Path:
        """Write the tables as CSV files plus ``truth.json`` into ``folder`` (the text of
        ``DataFrame.to_csv(index=False, date_format="%Y-%m-%d")``, written in chunks by :mod:`.csv_out`)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("accounts", "transactions", "costs", "interactions", "opportunities", "payments",
                     "contacts", "tier_changes"):
            if getattr(self, name) is None:
                continue
            write_csv(getattr(self, name), out / f"{name}.csv")
        (out / "truth.json").write_text(json.dumps(self.truth, indent=2, default=str))
        return out


def _company_names(rng: np.random.Generator, n: int, industries: np.ndarray) -> list[str]:
    a = rng.choice(_NAME_A, n)
    b = rng.choice(_NAME_B, n)
    s = rng.choice(_SUFFIX, n)
    names = [f"{x}{y} {ind.title()} {suf}" for x, y, ind, suf in zip(a, b, industries, s)]
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


def generate_book(config: GeneratorConfig | None = None) -> SimulatedBook:
    """Simulate a key-account book. Deterministic for a given ``config`` (seeded)."""
    cfg = config or GeneratorConfig()
    tp = cfg.truth
    rng = np.random.default_rng(cfg.seed)
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    n = cfg.n_accounts
    span_days = (end - start).days

    # --- acquisition dates: an initial book plus steady acquisition that grows over time
    n_init = int(round(cfg.initial_book_share * n))
    init_days = rng.integers(0, 90, n_init)
    later = rng.power(1.6, n - n_init) * (span_days - 90) + 90
    acq_days = np.sort(np.concatenate([init_days, later.astype(int)]))
    acquired = start + pd.to_timedelta(acq_days, unit="D")

    # --- behaviour: purchase rate and spend (Gamma-Gamma)
    lam = rng.gamma(tp.r, 1.0 / tp.alpha, n)                    # orders per week
    nu = rng.gamma(tp.q, 1.0 / tp.gamma, n)                     # spend rate; mean order = p / nu

    # --- account attributes; tier follows expected value (with some noise)
    industry = rng.choice(INDUSTRIES, n)
    chan = rng.choice(["direct", "referral", "agent"], n, p=list(cfg.channel_shares))
    exp_annual = lam * 52 * tp.p / nu
    rank = pd.Series(exp_annual).rank(ascending=False, pct=True).to_numpy()
    tier = np.select([rank <= 0.03, rank <= 0.15, rank <= 0.50], ["strategic", "A", "B"], "C")
    order = np.array(["strategic", "A", "B", "C"])
    pos = {t: j for j, t in enumerate(order)}
    tier_i = np.array([pos[t] for t in tier])
    noisy = rng.random(n) < 0.1
    tier = order[np.where(noisy, np.clip(tier_i + rng.choice([-1, 1], n), 0, 3), tier_i)]
    manager = rng.choice(cfg.managers, n)
    shape = cfg.churn.complaint_propensity_shape
    complaint_propensity = rng.gamma(shape, 1.0 / shape, n)
    # credit rating worsens with the propensity to complain (a signal known today, not when it was earned)
    risk = pd.Series(complaint_propensity + rng.normal(0, 0.3, n)).rank(pct=True).to_numpy()
    credit = np.select([risk < 0.2, risk < 0.5, risk < 0.8, risk < 0.95], ["AAA", "AA", "A", "BBB"], "BB")

    # --- churn, visits and complaints, month by month, from the known hazard
    churned_on, service = _churn_and_service(cfg, rng, acquired, tier, manager, complaint_propensity)

    # --- orders while in the book: the first at acquisition, then a Poisson process at rate lambda
    stop = churned_on.fillna(end).clip(upper=end)
    weeks_in = (np.asarray((pd.DatetimeIndex(stop) - pd.DatetimeIndex(acquired)).days) / 7.0).clip(min=0)
    k = rng.poisson(lam * weeks_in)
    o_acc = np.concatenate([np.arange(n), np.repeat(np.arange(n), k)])
    o_week = np.concatenate([np.zeros(n), rng.random(k.sum()) * np.repeat(weeks_in, k)])
    o_day = acquired.to_numpy()[o_acc] + pd.to_timedelta(np.floor(o_week * 7), unit="D").to_numpy()
    o_value = rng.gamma(tp.p, 1.0 / nu[o_acc])
    sort = np.lexsort((o_day, o_acc))
    o_acc, o_day, o_value = o_acc[sort], o_day[sort], o_value[sort]
    accounts = pd.DataFrame({
        "account_id": [f"KA{i + 1:05d}" for i in range(n)],
        "name": _company_names(rng, n, industry),
        "enterprise_type": rng.choice(["private", "state-owned", "foreign", "joint-venture"], n,
                                      p=[0.5, 0.2, 0.15, 0.15]),
        "industry": industry,
        "region": rng.choice(REGIONS, n, p=[0.3, 0.25, 0.18, 0.12, 0.1, 0.05]),
        "account_manager": manager,
        "tier": tier,
        "acquired_on": acquired,
        "acquisition_channel": chan,
        "credit_rating": credit,
        "churned_on": churned_on.to_numpy(),
    })

    # --- order lines: each order split into 1-3 product lines; margins, discounts, returns
    n_lines = rng.choice([1, 2, 3], o_acc.size, p=[0.5, 0.35, 0.15])
    line_order = np.repeat(np.arange(o_acc.size), n_lines)
    shares = rng.dirichlet(np.ones(3), o_acc.size)
    used = np.arange(3)[None, :] < n_lines[:, None]           # each order's first n_lines shares, normalised
    kept = np.where(used, shares, 0.0)
    share = (kept / kept.sum(axis=1, keepdims=True))[used]
    revenue = np.round(o_value[line_order] * share, 2)
    acc_line = o_acc[line_order]
    base_margin = rng.beta(8, 24, n)
    price_sensitive = rng.random(n) < 0.3
    discount = np.where(price_sensitive[acc_line], rng.uniform(0, 0.2, line_order.size),
                        rng.uniform(0, 0.04, line_order.size))
    margin = np.round(revenue * (base_margin[acc_line] - 0.9 * discount + rng.normal(0, 0.03, line_order.size)), 2)
    order_ids = np.char.add("SO", np.char.zfill((np.arange(o_acc.size) + 1).astype(str), 7))
    tx = pd.DataFrame({
        "order_id": order_ids[line_order],
        "account_id": accounts["account_id"].to_numpy()[acc_line],
        "order_date": o_day[line_order],
        "product_category": rng.choice(CATEGORIES, line_order.size),
        "revenue": revenue,
        "gross_margin": margin,
        "discount": np.round(discount, 3),
    })
    zero = rng.random(len(tx)) < cfg.zero_revenue_rate
    tx.loc[zero, ["revenue", "gross_margin"]] = 0.0
    returned = rng.random(len(tx)) < cfg.return_rate
    ret = tx[returned].copy()
    ret["order_date"] = np.minimum(ret["order_date"] + pd.to_timedelta(rng.integers(3, 30, len(ret)), unit="D"), end)
    ret[["revenue", "gross_margin"]] = -ret[["revenue", "gross_margin"]]
    ret["order_id"] = ret["order_id"] + "-R"
    # by date and order id ("SO0000012" < "SO0000012-R" < "SO0000013"): the same order as sorting the ids as text
    key = np.concatenate([2 * line_order, 2 * line_order[returned] + 1])
    tx = pd.concat([tx, ret])
    tx = tx.iloc[np.lexsort((key, tx["order_date"].to_numpy()))].reset_index(drop=True)

    costs = _costs(cfg, rng, accounts)
    interactions = _interactions(cfg, rng, accounts, service)
    # pipeline, payments and win-backs come from a second stream, so the tables above do not change
    rng2 = np.random.default_rng(cfg.seed + 1)
    accounts, tx, costs = _win_backs(cfg, rng2, accounts, tx, costs, lam, nu)
    opportunities = _opportunities(cfg, rng2, accounts)
    payments = _payments(cfg, rng2, tx, accounts)
    config = {k: v for k, v in asdict(cfg).items() if k != "truth"} | {"n_managers": len(cfg.managers)}
    truth = {"parameters": asdict(tp), "config": config,
             "churn_hazard": asdict(cfg.churn) | {"period": "calendar month",
                                                  "tier_hazard_ratios": {"strategic": 1.0, "A": 1.0, "B": 1.0}},
             "accounts_alive_at_end": int(churned_on.isna().sum()), "n_orders": int(o_acc.size),
             "win_rate_existing": cfg.win_rate_existing, "win_rate_new": cfg.win_rate_new}
    book = SimulatedBook(accounts, tx, costs, interactions, truth, opportunities, payments)
    return with_tier_changes(with_contacts(book, cfg.seed + 2), cfg.end, cfg.seed + 3)


def with_contacts(book: SimulatedBook, seed: int) -> SimulatedBook:
    """``book`` with the buying centres of its key accounts and the contact met on each of their visits
    (:mod:`kamlib.data.generator_contacts`; its own random stream, the other tables stay as they are)."""
    from .generator_contacts import contact_frames
    book.contacts, book.interactions = contact_frames(book.accounts, book.interactions, seed)
    return book


def with_tier_changes(book: SimulatedBook, end, seed: int) -> SimulatedBook:
    """``book`` with its accounts' tier history (:mod:`kamlib.data.generator_tiers`; its own random stream)."""
    from .generator_tiers import tier_history
    book.tier_changes = tier_history(book.accounts, end, seed)
    return book


def _active_months(acquired: pd.Series, last_active: pd.Series, end: pd.Timestamp) -> pd.DataFrame:
    """Rows (account index, month) for each calendar month an account is in the book."""
    first = acquired.dt.to_period("M").array.asi8             # month ordinals
    last = last_active.clip(upper=end).dt.to_period("M").array.asi8
    k = np.maximum(last - first + 1, 1)
    idx = np.repeat(np.arange(len(acquired)), k)
    offs = np.arange(idx.size) - np.repeat(np.cumsum(k) - k, k)   # 0, 1, ... within each account
    return pd.DataFrame({"i": idx, "month": pd.PeriodIndex.from_ordinals(first[idx] + offs, freq="M")})


def _costs(cfg: GeneratorConfig, rng, accounts: pd.DataFrame) -> pd.DataFrame:
    end = pd.Timestamp(cfg.end)
    chan_cac = dict(zip(["direct", "referral", "agent"], cfg.cac_by_channel))
    # acquisition: CAC of the accounts won that month plus spend on prospects that were never won
    cac = accounts["acquisition_channel"].map(chan_cac).to_numpy() * rng.gamma(4, 0.25, len(accounts))
    acq = pd.DataFrame({"month": accounts["acquired_on"].dt.to_period("M"), "amount": cac})
    acq = acq.groupby("month")["amount"].sum()
    all_months = pd.period_range(cfg.start, cfg.end, freq="M")
    acq = acq.reindex(all_months, fill_value=0) + rng.gamma(2, 15000, len(all_months))
    rows = [pd.DataFrame({"period": all_months.to_timestamp(), "kind": "acquisition",
                          "amount": acq.round(2).to_numpy(), "account_id": None})]
    # retention and service spend per account and month while the account is active
    last_active = accounts["churned_on"].fillna(end)
    am = _active_months(accounts["acquired_on"], last_active, end)
    tiers = accounts["tier"].to_numpy()[am["i"]]
    for kind, table in (("retention", cfg.retention_cost_per_account_month),
                        ("service", cfg.service_cost_per_account_month)):
        amount = pd.Series(tiers).map(table).to_numpy() * rng.gamma(8, 1 / 8, len(am))
        per = pd.DataFrame({"period": am["month"].dt.to_timestamp(), "kind": kind,
                            "amount": amount.round(2), "account_id": accounts["account_id"].to_numpy()[am["i"]]})
        if kind == "retention":  # retention is budgeted as one line per month
            per = per.groupby(["period", "kind"], as_index=False)["amount"].sum().assign(account_id=None)
        rows.append(per)
    return pd.concat(rows, ignore_index=True).sort_values(["period", "kind"], kind="stable").reset_index(drop=True)


def _churn_and_service(cfg: GeneratorConfig, rng, acquired: pd.Series, tier: np.ndarray, manager: np.ndarray,
                       propensity: np.ndarray) -> tuple[pd.Series, pd.DataFrame]:
    """Month by month: each account in the book churns with the :class:`ChurnHazard` probability given the
    visits, complaints and unresolved complaints of the ``lookback_days`` before the month (or before its
    acquisition day in its first month); then that month's visits and complaints happen, up to the churn day.
    Returns the churn dates (NaT: still in the book) and the visits, complaints and resolutions (account
    index, day)."""
    ch = cfg.churn
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    n = len(acquired)
    acq = np.asarray((pd.DatetimeIndex(acquired) - start).days)
    beta = {k: np.log(v) for k, v in ch.hazard_ratios.items()}
    h0 = -np.log1p(-ch.base_monthly)
    names = sorted(set(manager))
    diligence = dict(zip(names, rng.uniform(0.6, 1.15, len(names))))
    visit_rate = (pd.Series(tier).map(cfg.visits_per_week).to_numpy() / 7
                  * pd.Series(manager).map(diligence).to_numpy() * rng.gamma(4.0, 0.25, n))   # per day
    complaint_rate = ch.complaints_per_year / 365.25 * propensity
    churn_day = np.full(n, np.iinfo(np.int64).max)
    never_day = np.iinfo(np.int64).max // 2
    ev = {"visit": ([], []), "complaint": ([], []), "resolved": ([], [])}
    # counts kept as the months pass (each month reads only what it needs, not every earlier event): events of
    # the last months (for the look-back window), complaints so far, resolutions dated before this month and
    # those still to come
    recent: dict[str, list] = {"visit": [], "complaint": []}
    complaints_so_far = np.zeros(n, np.int64)
    resolved_before = np.zeros(n, np.int64)
    pending = (np.array([], np.int64), np.array([], np.int64))

    def window(kind, lo, hi):
        inside = [i[(d >= lo[i]) & (d < hi[i])] for i, d in recent[kind]]
        return np.bincount(np.concatenate(inside) if inside else np.array([], np.int64), minlength=n)

    for month in pd.period_range(start, end, freq="M"):
        m0 = (month.start_time - start).days
        m1 = min((month.end_time.normalize() - start).days, (end - start).days)
        first = np.maximum(m0, acq)
        active = (acq <= m1) & (churn_day == np.iinfo(np.int64).max)     # in the book, not churned yet
        lo, hi = first - ch.lookback_days, first
        for kind in recent:                  # events before the earliest window start are no longer needed
            recent[kind] = [(i, d) for i, d in recent[kind] if d.size and d.max() >= m0 - ch.lookback_days]
        x = {"visits_90d": window("visit", lo, hi), "complaints_90d": window("complaint", lo, hi)}
        # open complaints among those of the window, resolutions closing complaints oldest first (as the data
        # pair them): C(hi) - max(C(lo), R(hi)) with C, R the complaints and resolutions before a day; every
        # complaint so far is before hi (hi >= this month's first day)
        due = pending[1] < m0
        resolved_before += np.bincount(pending[0][due], minlength=n)
        pending = (pending[0][~due], pending[1][~due])
        soon = pending[1] < hi[pending[0]]
        c_hi, r_hi = complaints_so_far, resolved_before + np.bincount(pending[0][soon], minlength=n)
        x["unresolved_complaints_90d"] = np.clip(c_hi - np.maximum(c_hi - x["complaints_90d"], r_hi), 0, None)
        eta = sum(beta[k] * x[k] for k in beta)
        days = np.clip(m1 - first + 1, 0, None)
        prob = 1 - np.exp(-h0 * np.exp(eta) * days / (m1 - m0 + 1))
        churns = active & (rng.random(n) < prob)
        churn_day[churns] = first[churns] + np.floor(rng.random(churns.sum()) * days[churns]).astype(int)
        # this month's visits and complaints, before the churn day
        last = np.minimum(m1, churn_day - 1)
        span = np.where(active, np.clip(last - first + 1, 0, None), 0)
        for kind, rate in (("visit", visit_rate), ("complaint", complaint_rate)):
            k = rng.poisson(rate * span)
            i = np.repeat(np.arange(n), k)
            d = first[i] + np.floor(rng.random(i.size) * span[i]).astype(int)
            ev[kind][0].append(i)
            ev[kind][1].append(d)
            recent[kind].append((i, d))
            if kind == "complaint":     # resolved the same day (first contact) or within weeks; some never
                delay = np.where(rng.random(i.size) < 0.3, 0, np.ceil(rng.gamma(1.5, 6, i.size))).astype(int)
                never = rng.random(i.size) >= ch.resolved_share
                resolved = np.where(never, never_day, d + delay)
                ev["resolved"][0].append(i)
                ev["resolved"][1].append(resolved)
                complaints_so_far = complaints_so_far + np.bincount(i, minlength=n)
                pending = (np.concatenate([pending[0], i[~never]]), np.concatenate([pending[1], resolved[~never]]))
    gone = churn_day <= (end - start).days
    churned_on = pd.Series(start + pd.to_timedelta(np.where(gone, churn_day, 0), unit="D")).where(gone)
    rows = []
    for kind in ("visit", "complaint", "resolved"):
        i, d = (np.concatenate(v) for v in ev[kind])
        keep = d <= (end - start).days
        rows.append(pd.DataFrame({"i": i[keep], "day": d[keep],
                                  "kind": {"resolved": "complaint_resolved"}.get(kind, kind)}))
    return churned_on, pd.concat(rows, ignore_index=True)


def _interactions(cfg: GeneratorConfig, rng, accounts: pd.DataFrame, service: pd.DataFrame) -> pd.DataFrame:
    """The simulated visits, complaints and resolutions, plus phone calls (0.5 a week) while in the book."""
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    frames = [pd.DataFrame({"i": service["i"], "date": start + pd.to_timedelta(service["day"], unit="D"),
                            "kind": service["kind"]})]
    stop = accounts["churned_on"].fillna(end).clip(upper=end)
    weeks = ((stop - accounts["acquired_on"]).dt.days / 7).to_numpy().clip(min=0)
    k = rng.poisson(0.5 * weeks)
    i = np.repeat(np.arange(len(accounts)), k)
    days = np.floor(rng.random(i.size) * weeks[i] * 7)
    frames.append(pd.DataFrame({"i": i, "date": accounts["acquired_on"].to_numpy()[i]
                                + pd.to_timedelta(days, unit="D"), "kind": "call"}))
    out = pd.concat(frames, ignore_index=True)
    ids = accounts["account_id"].to_numpy()
    id_rank = np.argsort(np.argsort(ids.astype(str), kind="stable"), kind="stable")    # the ids' text order
    kind_code = pd.Categorical(out["kind"], categories=sorted(out["kind"].unique())).codes
    out = out.iloc[np.lexsort((kind_code, id_rank[out["i"].to_numpy()], out["date"].to_numpy()))]
    out = out.assign(account_id=ids[out["i"].to_numpy()])         # sorted by date, account id and kind
    return out[["account_id", "date", "kind"]].reset_index(drop=True)


def _win_backs(cfg: GeneratorConfig, rng, accounts: pd.DataFrame, tx: pd.DataFrame, costs: pd.DataFrame,
               lam: np.ndarray, nu: np.ndarray):
    """Some churned accounts are won back 1-6 months later at a cost, and order again at their old rate."""
    end = pd.Timestamp(cfg.end)
    churned = accounts["churned_on"]
    eligible = np.flatnonzero((churned.notna() & (churned <= end - pd.Timedelta(days=240))).to_numpy())
    chosen = eligible[rng.random(eligible.size) < cfg.win_back_share]
    back = churned.iloc[chosen] + pd.to_timedelta(rng.integers(30, 181, chosen.size), unit="D")
    accounts = accounts.copy()
    accounts["won_back_on"] = pd.NaT
    accounts.loc[accounts.index[chosen], "won_back_on"] = back.to_numpy()
    rows = []
    for i, start in zip(chosen, back):
        weeks = (end - start).days / 7
        k = rng.poisson(lam[i] * weeks) + 1
        days = np.sort(np.floor(rng.random(k) * weeks * 7))
        days[0] = 0
        value = np.round(rng.gamma(cfg.truth.p, 1.0 / nu[i], k), 2)
        rows.append(pd.DataFrame({"account_id": accounts["account_id"].iat[i],
                                  "order_date": start + pd.to_timedelta(days, unit="D"), "revenue": value}))
    if rows:
        wb = pd.concat(rows, ignore_index=True)
        wb["order_id"] = [f"WB{j + 1:06d}" for j in range(len(wb))]
        wb["product_category"] = rng.choice(CATEGORIES, len(wb))
        wb["gross_margin"] = np.round(wb["revenue"] * rng.uniform(0.15, 0.3, len(wb)), 2)
        wb["discount"] = np.round(rng.uniform(0.05, 0.15, len(wb)), 3)   # won back with a deal
        # by date and order id: "WB..." after the "SO..." orders of a day, which keep their order
        source = np.repeat([0, 1], [len(tx), len(wb)])
        position = np.concatenate([np.arange(len(tx)), np.arange(len(wb))])
        dates = np.concatenate([tx["order_date"].to_numpy(), wb["order_date"].to_numpy()])
        tx = pd.concat([tx, wb[tx.columns]], ignore_index=True)
        tx = tx.iloc[np.lexsort((position, source, dates))].reset_index(drop=True)
        spend = pd.DataFrame({"period": back.dt.to_period("M").dt.to_timestamp().to_numpy(), "kind": "win_back",
                              "amount": np.round(cfg.win_back_cost * rng.gamma(4, 0.25, chosen.size), 2),
                              "account_id": accounts["account_id"].iloc[chosen].to_numpy()})
        costs = pd.concat([costs, spend], ignore_index=True).sort_values(["period", "kind"], kind="stable")
    return accounts, tx, costs.reset_index(drop=True)


def _opportunities(cfg: GeneratorConfig, rng, accounts: pd.DataFrame) -> pd.DataFrame:
    """Won prospect opportunities at each acquisition, lost prospects around them (win rate ``win_rate_new``),
    and opportunities of existing accounts while they are in the book (win rate ``win_rate_existing``)."""
    end = pd.Timestamp(cfg.end)
    n = len(accounts)
    stages = np.array(["qualification", "proposal", "negotiation"])
    # prospects that became accounts
    cycle = np.ceil(rng.gamma(3, 20, n))
    won_new = pd.DataFrame({"account_id": accounts["account_id"], "prospect_name": accounts["name"],
                            "account_manager": accounts["account_manager"],
                            "created_on": accounts["acquired_on"] - pd.to_timedelta(cycle, unit="D"),
                            "closed_on": accounts["acquired_on"], "outcome": "won", "stage": "won"})
    won_new["amount"] = np.round(rng.lognormal(11, 0.8, n), -2)
    # lost prospects: a Poisson number around each win, pursued at about the same time, so that
    # wins / (wins + losses) = win_rate_new in expectation in any period
    per_win = rng.poisson((1 - cfg.win_rate_new) / cfg.win_rate_new, n)
    j = np.repeat(np.arange(n), per_win)
    k = j.size
    created = won_new["created_on"].to_numpy()[j] + pd.to_timedelta(rng.integers(-60, 61, k), unit="D")
    closed = created + pd.to_timedelta(np.ceil(rng.gamma(3, 20, k)), unit="D")
    lost_new = pd.DataFrame({"account_id": None, "prospect_name": _company_names(rng, k, rng.choice(INDUSTRIES, k)),
                             "account_manager": rng.choice(cfg.managers, k), "created_on": created, "closed_on": closed,
                             "outcome": "lost", "stage": rng.choice(stages, k, p=[0.5, 0.3, 0.2]),
                             "amount": np.round(rng.lognormal(11, 0.8, k), -2)})
    # existing accounts
    stop = accounts["churned_on"].fillna(end).clip(upper=end)
    first = accounts["acquired_on"] + pd.Timedelta(days=30)
    years = ((stop - first).dt.days / 365.25).clip(lower=0).to_numpy()
    m = rng.poisson(accounts["tier"].map(cfg.opportunities_per_year).to_numpy() * years)
    i = np.repeat(np.arange(n), m)
    created = first.to_numpy()[i] + pd.to_timedelta(np.floor(rng.random(i.size) * years[i] * 365.25), unit="D")
    closed = created + pd.to_timedelta(np.ceil(rng.gamma(2, 15, i.size)), unit="D")
    won = rng.random(i.size) < cfg.win_rate_existing
    existing = pd.DataFrame({"account_id": accounts["account_id"].to_numpy()[i],
                             "prospect_name": None, "account_manager": accounts["account_manager"].to_numpy()[i],
                             "created_on": created, "closed_on": closed, "outcome": np.where(won, "won", "lost"),
                             "stage": np.where(won, "won", rng.choice(stages, i.size, p=[0.3, 0.4, 0.3])),
                             "amount": np.round(rng.lognormal(10.5, 0.9, i.size), -2)})
    out = pd.concat([won_new, lost_new, existing], ignore_index=True)
    out = out[out["created_on"] <= end].copy()
    still_open = out["closed_on"] > end
    out.loc[still_open, "outcome"] = "open"
    out.loc[still_open, "stage"] = rng.choice(stages, still_open.sum())
    out.loc[still_open, "closed_on"] = pd.NaT
    out = out.sort_values("created_on", kind="stable").reset_index(drop=True)
    out.insert(0, "opportunity_id", [f"OP{j + 1:06d}" for j in range(len(out))])
    return out


def _payments(cfg: GeneratorConfig, rng, tx: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """One invoice per order: 60-day terms for state-owned accounts, 30 days otherwise; payment delay after
    the due date depends on the credit rating; a few risky invoices are never paid."""
    end = pd.Timestamp(cfg.end)
    sales = tx[tx["revenue"] > 0]
    inv = sales.groupby(["order_id", "account_id"], as_index=False).agg(invoice_date=("order_date", "min"),
                                                                         amount=("revenue", "sum"))
    acc = accounts.set_index("account_id").loc[inv["account_id"]]
    terms = np.where(acc["enterprise_type"].to_numpy() == "state-owned", 60, 30)
    inv["due_date"] = inv["invoice_date"] + pd.to_timedelta(terms, unit="D")
    mean = acc["credit_rating"].map(cfg.payment_delay_days).to_numpy()
    delay = np.round(mean + rng.normal(0, 3 + np.abs(mean) / 3, len(inv)))
    paid = inv["due_date"] + pd.to_timedelta(delay, unit="D")
    paid = paid.where(paid >= inv["invoice_date"], inv["invoice_date"])
    bad_debt = (acc["credit_rating"].to_numpy() == "BB") & (rng.random(len(inv)) < 0.03)
    inv["paid_date"] = paid.where((paid <= end) & ~bad_debt)
    inv = inv.rename(columns={"order_id": "invoice_id"})
    inv["amount"] = inv["amount"].round(2)
    return inv[["invoice_id", "account_id", "invoice_date", "due_date", "paid_date", "amount"]].sort_values(
        ["invoice_date", "invoice_id"], kind="stable").reset_index(drop=True)
