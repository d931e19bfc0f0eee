"""A seeded generator of a realistic B2B key-account book, simulated from known behavioural parameters.

While in the book an account orders as a Poisson process, in weeks, with rate lambda ~ Gamma(r, alpha); order
values follow the Gamma-Gamma model: z ~ Gamma(p_spend, nu), nu ~ Gamma(q, gamma). Churn comes from a monthly
hazard with known drivers measured in the 90 days before each month (:class:`ChurnHazard`): complaints and
unresolved complaints raise it, in-person visits lower it, tier on its own does not (strategic accounts churn
less only because they are visited more). The true parameters are returned (and written to ``truth.json``)
so tests can check that the models recover them; the CLV models' own tests use pure BG/NBD and Pareto/NBD
simulations (:mod:`kamlib.models.simulate`). Costs, pipeline, payments and win-backs are layered on top.

Vectorised throughout: the tables are simulated as integer codes (account index, day, category, order number)
and become text only when a frame is built (Arrow), so :func:`write_book` (``kam sample``) can write each table,
chunk by chunk, as soon as it is final; :func:`generate_book` keeps the frames in memory. The random draws are
those of the first, row-by-row generator, so a seed gives the same files as it always did.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .csv_out import CHUNK_ROWS, write_csv

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
    truth: dict = field(default_factory=dict)
    opportunities: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    contacts: pd.DataFrame | None = None
    tier_changes: pd.DataFrame | None = None

    def write(self, folder: str | Path) -> Path:
        """Write the tables as CSV files plus ``truth.json`` into ``folder`` (the text of
        ``DataFrame.to_csv(index=False, date_format="%Y-%m-%d")``, written in chunks by :mod:`.csv_out`)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name in TABLE_NAMES:
            if getattr(self, name) is None:
                continue
            write_csv(getattr(self, name), out / f"{name}.csv")
        _write_truth(out, self.truth)
        return out


TABLE_NAMES = ("accounts", "transactions", "costs", "interactions", "opportunities", "payments", "contacts",
               "tier_changes")


def _write_truth(folder: Path, truth: dict) -> None:
    (folder / "truth.json").write_text(json.dumps(truth, indent=2, default=str))


def generate_book(config: GeneratorConfig | None = None) -> SimulatedBook:
    """Simulate a key-account book in memory. Deterministic for a given ``config`` (seeded)."""
    tables: dict[str, pd.DataFrame] = {}
    truth = _simulate(config or GeneratorConfig(), lambda name, rows, part: tables.__setitem__(name, part(0, rows)))
    return SimulatedBook(truth=truth, **tables)


def write_book(config: GeneratorConfig | None = None, folder: str | Path = "data/sample", *,
               chunk_rows: int = CHUNK_ROWS) -> Path:
    """Simulate a book and write it into ``folder``: the files :meth:`SimulatedBook.write` writes for
    :func:`generate_book` of the same ``config``, byte for byte, but each table is written as soon as it is
    final, ``chunk_rows`` rows at a time built from the simulation's integer codes, and dropped: the memory holds
    the codes and one chunk's text, never every table as a frame (``kam sample``; 200k accounts in the README's
    benchmarks). The tables are written by a second thread while the simulation goes on (Arrow and numpy work
    outside the GIL, so on two cores the writing is mostly hidden)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kam-sample-writer") as writer:
        written = []

        def emit(name: str, rows: int, part) -> None:
            parts = (part(lo, min(lo + chunk_rows, rows)) for lo in range(0, max(rows, 1), chunk_rows))
            written.append(writer.submit(write_csv, parts, out / f"{name}.csv", chunk_rows=chunk_rows))

        truth = _simulate(config or GeneratorConfig(), emit)
        for done in written:
            done.result()                        # a failed write fails the command
    _write_truth(out, truth)
    return out


# --- the tables are simulated as integer codes (account index, day since ``start``, category code, order number)
# and turned into text once, by Arrow, when a frame is built: no per-row Python objects at any book size

_STR = pd.Series(["x"]).dtype          # the installed pandas' default text dtype ("str", Arrow-backed, in pandas 3)
_COST_KINDS = ("acquisition", "retention", "service", "win_back")              # in text order
_SERVICE_KINDS = ("call", "complaint", "complaint_resolved", "visit")          # in text order


def _text(values) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """An Arrow text array (or anything ``pa.array`` takes) as a pandas column of the default text dtype."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    if _STR == object:
        return arr.to_numpy(zero_copy_only=False)
    return pd.array(arr, dtype=_STR)


def _take(labels, codes: np.ndarray) -> pa.Array:
    """``labels[codes]`` as Arrow text (a code of -1: missing)."""
    codes = np.asarray(codes)
    return pa.array(labels, pa.string()).take(pa.array(codes, mask=codes < 0))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``f"{prefix}{number:0{width}d}"`` for each (non-negative) number, by Arrow."""
    numbers = np.asarray(numbers, np.int64)
    if numbers.size and numbers.max() < 10 ** width:      # "1" + the padded digits, its "1" replaced: one pass
        return pc.binary_replace_slice(pc.cast(pa.array(numbers + 10 ** width), pa.string()), start=0, stop=1,
                                       replacement=prefix)
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _text_order(prefixes: tuple[str, ...], widths: tuple[int, ...], prefix_code: np.ndarray,
                numbers: np.ndarray) -> np.ndarray:
    """A sort key ordering the ids ``prefixes[code] + number zero-padded to widths[code]`` as their text sorts:
    numeric while every number fits its width (prefixes of one length, given in text order), else the text's
    rank ("SO10000000" sorts before "SO2000000")."""
    limit = np.array([10 ** w for w in widths])[prefix_code]
    if (numbers < limit).all() and list(prefixes) == sorted(set(prefixes)) and len({len(p) for p in prefixes}) == 1:
        return prefix_code.astype(np.int64) * int(10 ** max(widths)) + numbers
    text = _ids(prefixes[0], numbers, widths[0])
    for j in range(1, len(prefixes)):
        text = pc.if_else(pa.array(prefix_code == j), _ids(prefixes[j], numbers, widths[j]), text)
    return np.asarray(pc.rank(text, sort_keys="ascending", tiebreaker="dense"), dtype=np.int64)


def _dates(start: pd.Timestamp, days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Days since ``start`` as datetimes (NaT where ``missing``)."""
    out = (np.datetime64(start.date(), "D") + np.asarray(days, np.int64)).astype("datetime64[us]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


def _days(start: pd.Timestamp, dates) -> np.ndarray:
    return np.asarray((pd.DatetimeIndex(dates) - start).days, dtype=np.int64)


def _permuted(table: dict[str, np.ndarray], order) -> dict[str, np.ndarray]:
    return {k: v[order] for k, v in table.items()}


def _order_by(*keys: np.ndarray) -> np.ndarray:
    """The stable sort of rows by integer ``keys``, the first the major one: ``np.lexsort(keys[::-1])``, done as
    one stable argsort of the keys packed into one int64 when their ranges allow it (a single pass)."""
    if not keys[0].size:
        return np.arange(0)
    packed, span = np.zeros(keys[0].size, np.int64), 1
    for key in reversed(keys):
        lo, hi = int(key.min()), int(key.max())
        if span * (hi - lo + 1) >= 2 ** 62:
            return np.lexsort(keys[::-1])
        packed += (key.astype(np.int64) - lo) * span
        span *= hi - lo + 1
    return np.argsort(packed, kind="stable")


def _part(build, table, *args):
    """``part(lo, hi)`` for ``emit``: rows ``lo:hi`` of a frame (``build`` None) or the frame ``build`` makes of
    those rows of a table of codes (and ``args``); the table is bound now, whatever its name is bound to later."""
    if build is None:
        return lambda lo, hi: table.iloc[lo:hi]
    return lambda lo, hi: build(_permuted(table, slice(lo, hi)), *args)


def _rows(table: dict[str, np.ndarray]) -> int:
    return next(iter(table.values())).size


def _concat(*tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}


def _company_names(rng: np.random.Generator, n: int, industries: np.ndarray) -> pa.Array:
    """Company names from pinyin syllables, the industry (codes into ``INDUSTRIES``) and a suffix; a name met
    again is numbered ("... (2)")."""
    a = rng.choice(len(_NAME_A), n)
    b = rng.choice(len(_NAME_B), n)
    s = rng.choice(len(_SUFFIX), n)
    combo = ((a * len(_NAME_B) + b) * len(INDUSTRIES) + industries) * len(_SUFFIX) + s
    used, inverse = np.unique(combo, return_inverse=True)
    ua, ub, ui, us = np.unravel_index(used, (len(_NAME_A), len(_NAME_B), len(INDUSTRIES), len(_SUFFIX)))
    text = [f"{_NAME_A[x]}{_NAME_B[y]} {INDUSTRIES[z].title()} {_SUFFIX[w]}" for x, y, z, w in zip(ua, ub, ui, us)]
    distinct, name = np.unique(np.array(text, dtype=object), return_inverse=True)   # two combinations, one text
    name = name.reshape(-1)[inverse.reshape(-1)]
    # the how-many-th time each name is met, in row order
    order = np.argsort(name, kind="stable")
    first = np.r_[True, name[order][1:] != name[order][:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    seen = np.empty(n, np.int64)
    seen[order] = np.arange(n) - run_start + 1
    base = _take(distinct.tolist(), name)
    numbered = pc.binary_join_element_wise(base, " (", pc.cast(pa.array(seen), pa.string()), ")", "")
    return pc.if_else(pa.array(seen > 1), numbered, base)


def _simulate(cfg: GeneratorConfig, emit) -> dict:
    """Simulate a key-account book, deterministic for a given ``cfg`` (seeded): each table is handed to
    ``emit(name, rows, part)`` as soon as it is final (``part(lo, hi)``: its rows ``lo:hi`` as a frame) and
    dropped. Returns the truth."""
    tp = cfg.truth
    rng = np.random.default_rng(cfg.seed)
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    n = cfg.n_accounts
    span_days = (end - start).days

    # --- acquisition dates: an initial book plus steady acquisition that grows over time
    n_init = int(round(cfg.initial_book_share * n))
    init_days = rng.integers(0, 90, n_init)
    later = rng.power(1.6, n - n_init) * (span_days - 90) + 90
    acq_days = np.sort(np.concatenate([init_days, later.astype(int)])).astype(np.int64)
    acquired = pd.DatetimeIndex(_dates(start, acq_days))

    # --- behaviour: purchase rate and spend (Gamma-Gamma)
    lam = rng.gamma(tp.r, 1.0 / tp.alpha, n)                    # orders per week
    nu = rng.gamma(tp.q, 1.0 / tp.gamma, n)                     # spend rate; mean order = p / nu

    # --- account attributes; tier follows expected value (with some noise)
    industry = rng.choice(len(INDUSTRIES), n)
    chan = rng.choice(["direct", "referral", "agent"], n, p=list(cfg.channel_shares))
    exp_annual = lam * 52 * tp.p / nu
    rank = pd.Series(exp_annual).rank(ascending=False, pct=True).to_numpy()
    tier_i = np.select([rank <= 0.03, rank <= 0.15, rank <= 0.50], [0, 1, 2], 3)
    noisy = rng.random(n) < 0.1
    tier = _TIERS[np.where(noisy, np.clip(tier_i + rng.choice([-1, 1], n), 0, 3), tier_i)]
    managers = cfg.managers
    manager = rng.choice(len(managers), n)
    shape = cfg.churn.complaint_propensity_shape
    complaint_propensity = rng.gamma(shape, 1.0 / shape, n)
    # credit rating worsens with the propensity to complain (a signal known today, not when it was earned)
    risk = pd.Series(complaint_propensity + rng.normal(0, 0.3, n)).rank(pct=True).to_numpy()
    credit = np.select([risk < 0.2, risk < 0.5, risk < 0.8, risk < 0.95], ["AAA", "AA", "A", "BBB"], "BB")

    # --- churn, visits and complaints, month by month, from the known hazard
    churn_day, service = _churn_and_service(cfg, rng, acq_days, tier, manager, complaint_propensity)
    churned_on = pd.Series(_dates(start, np.where(churn_day <= span_days, churn_day, 0), churn_day > span_days))

    # --- orders while in the book: the first at acquisition, then a Poisson process at rate lambda
    stop_day = np.minimum(churn_day, span_days)
    weeks_in = ((stop_day - acq_days) / 7.0).clip(min=0)
    k = rng.poisson(lam * weeks_in)
    o_acc = np.concatenate([np.arange(n), np.repeat(np.arange(n), k)])
    o_week = np.concatenate([np.zeros(n), rng.random(k.sum()) * np.repeat(weeks_in, k)])
    o_day = acq_days[o_acc] + np.floor(o_week * 7).astype(np.int64)
    del o_week
    o_value = rng.gamma(tp.p, 1.0 / nu[o_acc])
    sort = _order_by(o_acc, o_day)
    o_acc, o_day, o_value = o_acc[sort], o_day[sort], o_value[sort]
    del sort
    account_ids = np.array([f"KA{i + 1:05d}" for i in range(n)], dtype=object)
    accounts = pd.DataFrame({
        "account_id": _text(account_ids.tolist()),
        "name": _text(_company_names(rng, n, industry)),
        "enterprise_type": rng.choice(["private", "state-owned", "foreign", "joint-venture"], n,
                                      p=[0.5, 0.2, 0.15, 0.15]),
        "industry": np.array(INDUSTRIES)[industry],
        "region": rng.choice(REGIONS, n, p=[0.3, 0.25, 0.18, 0.12, 0.1, 0.05]),
        "account_manager": np.array(managers)[manager],
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
    del shares, used, kept, n_lines
    revenue = np.round(o_value[line_order] * share, 2)
    del share
    acc_line = o_acc[line_order]
    base_margin = rng.beta(8, 24, n)
    price_sensitive = rng.random(n) < 0.3
    discount = np.where(price_sensitive[acc_line], rng.uniform(0, 0.2, line_order.size),
                        rng.uniform(0, 0.04, line_order.size))
    margin = np.round(revenue * (base_margin[acc_line] - 0.9 * discount + rng.normal(0, 0.03, line_order.size)), 2)
    lines = {"kind": np.zeros(line_order.size, np.int8), "order": line_order.astype(np.int32),
             "acc": acc_line.astype(np.int32), "day": o_day[line_order].astype(np.int32),
             "category": rng.choice(len(CATEGORIES), line_order.size).astype(np.int8),
             "revenue": revenue, "gross_margin": margin, "discount": np.round(discount, 3)}
    del discount
    zero = rng.random(line_order.size) < cfg.zero_revenue_rate
    lines["revenue"][zero] = 0.0
    lines["gross_margin"][zero] = 0.0
    returned = np.flatnonzero(rng.random(line_order.size) < cfg.return_rate)
    ret = _permuted(lines, returned)
    ret["kind"][:] = 1
    ret["day"] = np.minimum(ret["day"] + rng.integers(3, 30, returned.size), span_days)
    ret["revenue"], ret["gross_margin"] = -ret["revenue"], -ret["gross_margin"]
    # by date and order id ("SO0000012" < "SO0000012-R" < "SO0000013"): the same order as sorting the ids as text
    key = np.concatenate([2 * line_order, 2 * line_order[returned] + 1])
    lines = _concat(lines, ret)
    lines = _permuted(lines, _order_by(lines["day"], key))
    del key, ret, line_order, acc_line, revenue, margin

    costs = _costs(cfg, rng, accounts)
    interactions = _interactions(cfg, rng, acq_days, stop_day, service, account_ids)
    del service
    # pipeline, payments and win-backs come from a second stream, so the tables above do not change
    rng2 = np.random.default_rng(cfg.seed + 1)
    accounts, lines, costs = _win_backs(cfg, rng2, accounts, lines, costs, lam, nu)
    emit("costs", _rows(costs), _part(_costs_frame, costs, account_ids))
    del costs
    _opportunities(cfg, rng2, accounts, acq_days, stop_day, manager, emit)
    payments = _payments(cfg, rng2, lines, accounts)
    emit("payments", _rows(payments), _part(_payments_frame, payments, account_ids, start))
    del payments
    emit("transactions", _rows(lines), _part(_transactions_frame, lines, account_ids, start))
    del lines
    config = {k: v for k, v in asdict(cfg).items() if k != "truth"} | {"n_managers": len(managers)}
    truth = {"parameters": asdict(tp), "config": config,
             "churn_hazard": asdict(cfg.churn) | {"period": "calendar month",
                                                  "tier_hazard_ratios": {"strategic": 1.0, "A": 1.0, "B": 1.0}},
             "accounts_alive_at_end": int(churned_on.isna().sum()), "n_orders": int(o_acc.size),
             "win_rate_existing": cfg.win_rate_existing, "win_rate_new": cfg.win_rate_new}
    del o_acc, o_day, o_value
    contacts, interactions["contact"] = with_contacts(accounts, interactions, cfg.seed + 2)
    emit("contacts", len(contacts), _part(None, contacts))
    emit("interactions", _rows(interactions),
         _part(_interactions_frame, interactions, account_ids, contacts["contact_id"].tolist(), start))
    del interactions, contacts
    tier_changes = with_tier_changes(accounts, cfg.end, cfg.seed + 3)
    emit("tier_changes", len(tier_changes), _part(None, tier_changes))
    emit("accounts", len(accounts), _part(None, accounts))
    return truth


_TIERS = np.array(["strategic", "A", "B", "C"])


def _order_ids(lines: dict[str, np.ndarray]) -> pa.Array:
    """SO0000012 (a sale line of order 12), SO0000012-R (its return), WB000003 (a win-back order)."""
    sale = _ids("SO", lines["order"] + 1, 7)
    sale = pc.if_else(pa.array(lines["kind"] == 1), pc.binary_join_element_wise(sale, "-R", ""), sale)
    return pc.if_else(pa.array(lines["kind"] == 2), _ids("WB", lines["order"] + 1, 6), sale)


def _transactions_frame(lines: dict[str, np.ndarray], account_ids: np.ndarray, start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": _text(_order_ids(lines)),
        "account_id": _text(_take(account_ids.tolist(), lines["acc"])),
        "order_date": _dates(start, lines["day"]),
        "product_category": _text(_take(CATEGORIES, lines["category"])),
        "revenue": lines["revenue"],
        "gross_margin": lines["gross_margin"],
        "discount": lines["discount"],
    })


def with_contacts(accounts: pd.DataFrame, interactions: dict[str, np.ndarray], seed: int):
    """The buying centres of the key accounts and the contact met on each interaction (an index into the
    contacts, -1: none; only visits to key accounts have one) (:mod:`kamlib.data.generator_contacts`; its own
    random stream, the other tables stay as they are)."""
    from .generator_contacts import contact_frames
    return contact_frames(accounts, interactions, seed, _text_rank(accounts["account_id"].to_numpy(object)))


def with_tier_changes(accounts: pd.DataFrame, end, seed: int) -> pd.DataFrame:
    """The accounts' tier history (:mod:`kamlib.data.generator_tiers`; its own random stream)."""
    from .generator_tiers import tier_history
    return tier_history(accounts, end, seed)


def _active_months(acquired: pd.Series, last_active: pd.Series, end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """(account index, month ordinal) for each calendar month an account is in the book."""
    first = acquired.dt.to_period("M").array.asi8             # month ordinals
    last = last_active.clip(upper=end).dt.to_period("M").array.asi8
    k = np.maximum(last - first + 1, 1)
    idx = np.repeat(np.arange(len(acquired)), k)
    offs = np.arange(idx.size) - np.repeat(np.cumsum(k) - k, k)   # 0, 1, ... within each account
    return idx, first[idx] + offs


def _month_starts(ordinals: np.ndarray) -> np.ndarray:
    return np.asarray(ordinals, np.int64).astype("datetime64[M]").astype("datetime64[us]")


def _costs(cfg: GeneratorConfig, rng, accounts: pd.DataFrame) -> dict[str, np.ndarray]:
    """Cost rows as codes: period (month start), kind (into ``_COST_KINDS``), amount, acc (-1: none)."""
    end = pd.Timestamp(cfg.end)
    chan_cac = dict(zip(["direct", "referral", "agent"], cfg.cac_by_channel))
    # acquisition: CAC of the accounts won that month plus spend on prospects that were never won
    cac = accounts["acquisition_channel"].map(chan_cac).to_numpy() * rng.gamma(4, 0.25, len(accounts))
    acq = pd.DataFrame({"month": accounts["acquired_on"].dt.to_period("M"), "amount": cac})
    acq = acq.groupby("month")["amount"].sum()
    all_months = pd.period_range(cfg.start, cfg.end, freq="M")
    acq = acq.reindex(all_months, fill_value=0) + rng.gamma(2, 15000, len(all_months))
    m = len(all_months)
    rows = [{"period": _month_starts(all_months.asi8), "kind": np.zeros(m, np.int8),
             "amount": acq.round(2).to_numpy(), "acc": np.full(m, -1)}]
    # retention and service spend per account and month while the account is active
    last_active = accounts["churned_on"].fillna(end)
    am_i, am_month = _active_months(accounts["acquired_on"], last_active, end)
    for code, table in ((1, cfg.retention_cost_per_account_month), (2, cfg.service_cost_per_account_month)):
        amount = accounts["tier"].map(table).to_numpy()[am_i] * rng.gamma(8, 1 / 8, am_i.size)
        if code == 1:   # retention is budgeted as one line per month
            per = pd.Series(amount.round(2)).groupby(am_month).sum()
            rows.append({"period": _month_starts(per.index.to_numpy()), "kind": np.full(len(per), 1, np.int8),
                         "amount": per.to_numpy(), "acc": np.full(len(per), -1)})
        else:
            rows.append({"period": _month_starts(am_month), "kind": np.full(am_i.size, 2, np.int8),
                         "amount": amount.round(2), "acc": am_i.astype(np.int32)})
    out = _concat(*rows)
    return _permuted(out, _order_by(out["period"].view(np.int64), out["kind"]))


def _costs_frame(costs: dict[str, np.ndarray], account_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"period": costs["period"], "kind": _text(_take(_COST_KINDS, costs["kind"])),
                         "amount": costs["amount"], "account_id": _text(_take(account_ids.tolist(), costs["acc"]))})


def _churn_and_service(cfg: GeneratorConfig, rng, acq: np.ndarray, tier: np.ndarray, manager: np.ndarray,
                       propensity: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Month by month: each account in the book churns with the :class:`ChurnHazard` probability given the
    visits, complaints and unresolved complaints of the ``lookback_days`` before the month (or before its
    acquisition day in its first month); then that month's visits and complaints happen, up to the churn day.
    Returns the churn days since ``start`` (int64 max: still in the book) and the visits, complaints and
    resolutions (account index, day, kind code into ``_SERVICE_KINDS``)."""
    ch = cfg.churn
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    n = len(acq)
    beta = {k: np.log(v) for k, v in ch.hazard_ratios.items()}
    h0 = -np.log1p(-ch.base_monthly)
    present = np.unique(manager)                                     # the managers' diligence, in name order
    by_name = present[np.argsort(np.array(cfg.managers, dtype=object)[present], kind="stable")]
    diligence = np.empty(len(cfg.managers))
    diligence[by_name] = rng.uniform(0.6, 1.15, by_name.size)
    visit_rate = (pd.Series(tier).map(cfg.visits_per_week).to_numpy() / 7 * diligence[manager]
                  * rng.gamma(4.0, 0.25, n))   # per day
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
    parts = []
    for kind, code in (("visit", 3), ("complaint", 1), ("resolved", 2)):
        i, d = (np.concatenate(v) for v in ev[kind])
        keep = d <= (end - start).days
        parts.append({"acc": i[keep].astype(np.int32), "day": d[keep].astype(np.int32),
                      "kind": np.full(keep.sum(), code, np.int8)})
    return churn_day, _concat(*parts)


def _interactions(cfg: GeneratorConfig, rng, acq_days: np.ndarray, stop_day: np.ndarray,
                  service: dict[str, np.ndarray], account_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The simulated visits, complaints and resolutions, plus phone calls (0.5 a week) while in the book, sorted
    by date, account id (as text) and kind."""
    weeks = ((stop_day - acq_days) / 7).clip(min=0)
    k = rng.poisson(0.5 * weeks)
    i = np.repeat(np.arange(acq_days.size), k)
    days = np.floor(rng.random(i.size) * weeks[i] * 7).astype(np.int64)
    out = _concat(service, {"acc": i.astype(np.int32), "day": (acq_days[i] + days).astype(np.int32),
                            "kind": np.zeros(i.size, np.int8)})
    id_rank = _text_rank(account_ids)
    return _permuted(out, _order_by(out["day"], id_rank[out["acc"]], out["kind"]))


def _text_rank(ids: np.ndarray) -> np.ndarray:
    """Each id's position in the ids' text order ("KA100000" < "KA10001")."""
    return np.argsort(np.argsort(ids.astype(str), kind="stable"), kind="stable")


def _interactions_frame(interactions: dict[str, np.ndarray], account_ids: np.ndarray,
                        contact_ids: list[str], start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame({"account_id": _text(_take(account_ids.tolist(), interactions["acc"])),
                         "date": _dates(start, interactions["day"]),
                         "kind": _text(_take(_SERVICE_KINDS, interactions["kind"])),
                         "contact_id": _text(_take(contact_ids, interactions["contact"]))})


def _win_backs(cfg: GeneratorConfig, rng, accounts: pd.DataFrame, lines: dict, costs: dict, lam: np.ndarray,
               nu: np.ndarray):
    """Some churned accounts are won back 1-6 months later at a cost, and order again at their old rate."""
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    span = (end - start).days
    churned = accounts["churned_on"]
    eligible = np.flatnonzero((churned.notna() & (churned <= end - pd.Timedelta(days=240))).to_numpy())
    chosen = eligible[rng.random(eligible.size) < cfg.win_back_share]
    back = churned.iloc[chosen] + pd.to_timedelta(rng.integers(30, 181, chosen.size), unit="D")
    accounts = accounts.copy()
    accounts["won_back_on"] = pd.NaT
    accounts.loc[accounts.index[chosen], "won_back_on"] = back.to_numpy()
    if not chosen.size:
        return accounts, lines, costs
    back_day = _days(start, back)
    parts = []
    for i, first in zip(chosen, back_day):       # one account's draws after another's, as the stream had them
        weeks = (span - first) / 7
        k = rng.poisson(lam[i] * weeks) + 1
        days = np.sort(np.floor(rng.random(k) * weeks * 7))
        days[0] = 0
        parts.append((np.full(k, i), first + days.astype(np.int64), np.round(rng.gamma(cfg.truth.p, 1.0 / nu[i], k), 2)))
    acc, day, value = (np.concatenate(v) for v in zip(*parts))
    m = acc.size
    wb = {"kind": np.full(m, 2, np.int8), "order": np.arange(m, dtype=np.int32), "acc": acc.astype(np.int32),
          "day": day.astype(np.int32), "category": rng.choice(len(CATEGORIES), m).astype(np.int8), "revenue": value}
    wb["gross_margin"] = np.round(value * rng.uniform(0.15, 0.3, m), 2)
    wb["discount"] = np.round(rng.uniform(0.05, 0.15, m), 3)        # won back with a deal
    # by date and order id: "WB..." after the "SO..." orders of a day, which keep their order
    n_tx = lines["day"].size
    source = np.repeat([0, 1], [n_tx, m])
    position = np.concatenate([np.arange(n_tx), np.arange(m)])
    lines = _concat(lines, {k: wb[k] for k in lines})
    lines = _permuted(lines, _order_by(lines["day"], source, position))
    spend = {"period": back.dt.to_period("M").dt.to_timestamp().to_numpy().astype("datetime64[us]"),
             "kind": np.full(chosen.size, 3, np.int8),
             "amount": np.round(cfg.win_back_cost * rng.gamma(4, 0.25, chosen.size), 2),
             "acc": chosen.astype(np.int32)}
    costs = _concat(costs, spend)
    return accounts, lines, _permuted(costs, _order_by(costs["period"].view(np.int64), costs["kind"]))


_STAGES = ("qualification", "proposal", "negotiation", "won")
_OUTCOMES = ("won", "lost", "open")


def _opportunities(cfg: GeneratorConfig, rng, accounts: pd.DataFrame, acq_days: np.ndarray, stop_day: np.ndarray,
                   manager: np.ndarray, emit) -> None:
    """Won prospect opportunities at each acquisition, lost prospects around them (win rate ``win_rate_new``),
    and opportunities of existing accounts while they are in the book (win rate ``win_rate_existing``)."""
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    span = (end - start).days
    n = len(accounts)
    # prospects that became accounts
    cycle = np.ceil(rng.gamma(3, 20, n)).astype(np.int64)
    won_new = {"acc": np.arange(n), "manager": manager, "created": acq_days - cycle, "closed": acq_days,
               "outcome": np.zeros(n, np.int8), "stage": np.full(n, 3, np.int8),
               "amount": np.round(rng.lognormal(11, 0.8, n), -2)}
    # lost prospects: a Poisson number around each win, pursued at about the same time, so that
    # wins / (wins + losses) = win_rate_new in expectation in any period
    per_win = rng.poisson((1 - cfg.win_rate_new) / cfg.win_rate_new, n)
    j = np.repeat(np.arange(n), per_win)
    k = j.size
    created = won_new["created"][j] + rng.integers(-60, 61, k)
    closed = created + np.ceil(rng.gamma(3, 20, k)).astype(np.int64)
    lost_names = _company_names(rng, k, rng.choice(len(INDUSTRIES), k))
    lost_new = {"acc": np.full(k, -1), "manager": rng.choice(len(cfg.managers), k), "created": created,
                "closed": closed, "outcome": np.ones(k, np.int8),
                "stage": rng.choice(3, k, p=[0.5, 0.3, 0.2]).astype(np.int8),
                "amount": np.round(rng.lognormal(11, 0.8, k), -2)}
    # existing accounts
    first = acq_days + 30
    years = ((stop_day - first) / 365.25).clip(min=0)
    m = rng.poisson(accounts["tier"].map(cfg.opportunities_per_year).to_numpy() * years)
    i = np.repeat(np.arange(n), m)
    created = first[i] + np.floor(rng.random(i.size) * years[i] * 365.25).astype(np.int64)
    closed = created + np.ceil(rng.gamma(2, 15, i.size)).astype(np.int64)
    won = rng.random(i.size) < cfg.win_rate_existing
    existing = {"acc": i, "manager": manager[i], "created": created, "closed": closed,
                "outcome": np.where(won, 0, 1).astype(np.int8),
                "stage": np.where(won, 3, rng.choice(3, i.size, p=[0.3, 0.4, 0.3])).astype(np.int8),
                "amount": np.round(rng.lognormal(10.5, 0.9, i.size), -2)}
    out = _concat(won_new, lost_new, existing)
    out["name"] = np.concatenate([np.arange(n), n + np.arange(k), np.full(i.size, -1)])   # into names below
    names = pa.concat_arrays([pa.array(accounts["name"], pa.string()), lost_names.cast(pa.string())])
    out = _permuted(out, np.flatnonzero(out["created"] <= span))
    still_open = np.flatnonzero(out["closed"] > span)
    out["outcome"][still_open] = 2
    out["stage"][still_open] = rng.choice(3, still_open.size)
    out = _permuted(out, np.argsort(out["created"], kind="stable"))
    out["number"] = np.arange(_rows(out)) + 1
    account_ids = accounts["account_id"].tolist()
    emit("opportunities", _rows(out), _part(_opportunities_frame, out, names, account_ids, cfg.managers, start))


def _opportunities_frame(out: dict[str, np.ndarray], names: pa.Array, account_ids: list[str], managers,
                         start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame({
        "opportunity_id": _text(_ids("OP", out["number"], 6)),
        "account_id": _text(_take(account_ids, out["acc"])),
        "prospect_name": _text(names.take(pa.array(out["name"], mask=out["name"] < 0))),
        "account_manager": _text(_take(list(managers), out["manager"])),
        "created_on": _dates(start, out["created"]),
        "closed_on": _dates(start, out["closed"], out["outcome"] == 2),
        "outcome": _text(_take(_OUTCOMES, out["outcome"])),
        "stage": _text(_take(_STAGES, out["stage"])),
        "amount": out["amount"],
    })


def _payments(cfg: GeneratorConfig, rng, lines: dict[str, np.ndarray], accounts: pd.DataFrame) -> dict:
    """One invoice per order: 60-day terms for state-owned accounts, 30 days otherwise; payment delay after
    the due date depends on the credit rating; a few risky invoices are never paid. Codes: wb (a win-back
    order), number (the order's), acc, day, due, paid (-1: not paid by the end), amount."""
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    sales = np.flatnonzero(lines["revenue"] > 0)
    win_back = (lines["kind"][sales] == 2).astype(np.int64)
    number = lines["order"][sales].astype(np.int64) + 1
    key = _text_order(("SO", "WB"), (7, 6), win_back, number)      # the invoice (order) ids' text order
    inv = pd.DataFrame({"key": key, "day": lines["day"][sales], "amount": lines["revenue"][sales],
                        "acc": lines["acc"][sales], "wb": win_back, "number": number}).groupby("key").agg(
        day=("day", "min"), amount=("amount", "sum"), acc=("acc", "first"), wb=("wb", "first"),
        number=("number", "first"))
    del sales, win_back, number, key
    acc = inv["acc"].to_numpy()
    day = inv["day"].to_numpy().astype(np.int64)
    due = day + np.where(accounts["enterprise_type"].to_numpy()[acc] == "state-owned", 60, 30)
    mean = pd.Series(accounts["credit_rating"]).map(cfg.payment_delay_days).to_numpy()[acc]
    delay = np.round(mean + rng.normal(0, 3 + np.abs(mean) / 3, len(inv))).astype(np.int64)
    paid = np.maximum(due + delay, day)
    bad_debt = (accounts["credit_rating"].to_numpy()[acc] == "BB") & (rng.random(len(inv)) < 0.03)
    paid[(paid > (end - start).days) | bad_debt] = -1
    order = np.lexsort((inv.index.to_numpy(), day))
    return {"wb": inv["wb"].to_numpy()[order].astype(np.int8), "number": inv["number"].to_numpy()[order],
            "acc": acc[order], "day": day[order], "due": due[order], "paid": paid[order],
            "amount": inv["amount"].to_numpy()[order].round(2)}


def _payments_frame(pay: dict[str, np.ndarray], account_ids: np.ndarray, start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame({
        "invoice_id": _text(pc.if_else(pa.array(pay["wb"] == 1), _ids("WB", pay["number"], 6),
                                       _ids("SO", pay["number"], 7))),
        "account_id": _text(_take(account_ids.tolist(), pay["acc"])),
        "invoice_date": _dates(start, pay["day"]),
        "due_date": _dates(start, pay["due"]),
        "paid_date": _dates(start, np.maximum(pay["paid"], 0), pay["paid"] < 0),
        "amount": pay["amount"],
    })
