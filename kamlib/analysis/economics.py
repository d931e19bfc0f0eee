"""Retention vs acquisition economics measured on the book: flows, spend ratios, customer equity, what-ifs.

Window = the 12 calendar months ending with the analysis month. An account is *at risk at window start* if
acquired before the window and not churned before it (a recorded churn ended by a win-back before the window
does not count, :mod:`kamlib.analysis.book`); *retained* if at risk at start and not churned in the
window. Every headline quantity that cannot be computed is returned as None with a reason, never as 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from . import book
from ..data.dataset import Dataset
from ..text.display import Shown, Summary, plain_number
from ..text.formatting import times
from ..data.periods import last_complete_period, window_12m
from ..models.arguments import fraction, non_negative

CHURN_KINDS = ("recorded", "inactivity", "p_alive")


@dataclass(frozen=True)
class ChurnDefinition:
    """How churn is dated. ``recorded``: accounts.churned_on; ``inactivity``: no order for ``days`` days (churn
    dated ``days`` after the last order, or after acquisition when there was none); ``p_alive``: P(alive) at
    the analysis date below ``threshold`` (churn dated at the last order)."""

    kind: str = "recorded"
    days: int = 180
    threshold: float = 0.5

    def __post_init__(self):
        if self.kind not in CHURN_KINDS:
            raise ValueError(f"churn definition must be one of {CHURN_KINDS}, got {self.kind!r}")

    def label(self, lang: str = "en") -> str:
        from ..text.i18n import t
        return t(f"churn_{self.kind}", lang, days=self.days, threshold=f"{self.threshold:g}")


def default_churn(ds: Dataset) -> ChurnDefinition:
    """Recorded churn when accounts.churned_on has values, else 180 days without an order."""
    acc = ds.accounts
    has = "churned_on" in acc and acc["churned_on"].notna().any()
    return ChurnDefinition("recorded" if has else "inactivity")


def churn_dates(ds: Dataset, definition: ChurnDefinition, p_alive: pd.Series | None = None) -> pd.Series:
    """Churn date per account (NaT while not churned as of the analysis date)."""
    acc = ds.accounts.set_index("account_id")
    end = ds.analysis_date
    if definition.kind == "recorded":
        if "churned_on" not in acc:
            raise ValueError("churn definition 'recorded' needs the accounts.churned_on column")
        d = acc["churned_on"]
    else:
        last = agg.execute(agg.last_order_by_account(ds.table("transactions"), end=end)).set_index("account_id")
        last_order = last["last_order"].reindex(acc.index)
        if definition.kind == "inactivity":
            d = last_order.fillna(acc["acquired_on"]) + pd.Timedelta(days=definition.days)
        else:
            if p_alive is None:
                raise ValueError("churn definition 'p_alive' needs P(alive) per account (kamlib.analysis.clv.account_value)")
            lapsed = p_alive.reindex(acc.index) < definition.threshold
            d = last_order.fillna(acc["acquired_on"]).where(lapsed)
    d = pd.to_datetime(d)
    return d.where(d <= end).rename("churned_on")


@dataclass
class Measured:
    """Headline values with the reason for each one that is not available."""

    values: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)

    def headline(self) -> tuple[dict, dict]:
        """(values, reasons) restricted to the glossary's headline keys, for the metrics recorder."""
        from .metrics import GLOSSARY
        keys = [k for k in self.values if k in GLOSSARY]
        return {k: self.values[k] for k in keys}, {k: self.reasons[k] for k in keys if k in self.reasons}

    def set(self, key: str, value, reason: str | None = None) -> None:
        ok = value is not None and not (isinstance(value, float) and not np.isfinite(value))
        self.values[key] = value if ok else None
        if not ok:
            self.reasons[key] = reason or "not computable"


def _ratio(num, den, why: str):
    return (float(num) / float(den), None) if den else (None, why)


@dataclass(repr=False)
class BookFlows(Shown):
    """Window flows per account and the headline economics.

    ``accounts``, indexed by account_id: ``acquired_on``, ``channel`` (acquisition channel), ``churned_on`` (under
    the churn definition used), ``back_on`` (the win-back ending a recorded churn), ``new`` (acquired in the
    window), ``at_risk_start`` (in the book when the window starts), ``churned``, ``retained`` and ``won_back``
    (in the window). ``measured``: the headline values and the reason of each one not available;
    ``window_margin``: gross margin per account in the window."""

    accounts: pd.DataFrame          # per account: acquired_on, churned_on, back_on, channel, at_risk_start, ...
    measured: Measured
    window_margin: pd.Series
    analysis_date: pd.Timestamp

    def in_book_before(self, day) -> pd.Series:
        """Per account: in the book just before ``day`` (:func:`in_book_before`)."""
        return in_book_before(self.accounts, day)

    def summary(self, lang: str = "en") -> Summary:
        """The headline values of the window (a reason instead of each one not available)."""
        from ..text.i18n import LABELS, t
        from .metrics import GLOSSARY
        rows = {(getattr(GLOSSARY[k], lang) if k in GLOSSARY else LABELS.get(k, {}).get(lang, k)):
                (plain_number(v) if isinstance(v, float) else v) if v is not None
                else t("res_not_available", lang, why=self.measured.reasons.get(k, ""))
                for k, v in self.measured.values.items()}
        table = pd.DataFrame({t("value", lang): pd.Series(rows, dtype=object)})
        return Summary(t("res_flows_title", lang), [(t("res_analysis_date", lang), str(self.analysis_date.date())),
                                                    (t("accounts", lang), f"{len(self.accounts):,}")], table,
                       max_rows=20)


def in_book_before(accounts: pd.DataFrame, day) -> pd.Series:
    """Acquired before ``day`` and not lapsed just before it: not churned before ``day``, or won back before it
    (``back_on``: the win-back ending a recorded churn, :mod:`kamlib.analysis.book`; NaT under the other churn
    definitions). These are the accounts at risk from ``day`` on."""
    day = pd.Timestamp(day)
    lapsed = (accounts["churned_on"] < day) & ~(accounts["back_on"] < day)
    return (accounts["acquired_on"] < day) & ~lapsed


def book_flows(ds: Dataset, churn: ChurnDefinition | None = None, p_alive: pd.Series | None = None) -> BookFlows:
    """New, churned and retained accounts, spend and the spend ratios of the 12-month window."""
    churn = churn or default_churn(ds)
    w = window_12m(ds.analysis_date)
    acc = ds.accounts.set_index("account_id")
    f = pd.DataFrame({"acquired_on": acc["acquired_on"], "channel": acc["acquisition_channel"],
                      "churned_on": churn_dates(ds, churn, p_alive)})
    f["new"] = f["acquired_on"].between(w.start, w.end)
    # a recorded churn ended by a win-back (kamlib.analysis.book) puts the account back in the book from that day
    f["back_on"] = book.lapse(acc)[1] if churn.kind == "recorded" else pd.Series(pd.NaT, index=acc.index)
    f["at_risk_start"] = in_book_before(f, w.start)
    f["churned"] = f["at_risk_start"] & f["churned_on"].between(w.start, w.end)
    f["retained"] = f["at_risk_start"] & ~f["churned"]
    if "won_back_on" in acc:
        f["won_back"] = acc["won_back_on"].between(w.start, w.end)
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start, end=w.end))
    margin = per.set_index("account_id")["gross_margin"].reindex(f.index).fillna(0.0)

    m = Measured()
    n_new, n_churn, n_risk, n_ret = (int(f[c].sum()) for c in ("new", "churned", "at_risk_start", "retained"))
    m.set("new_accounts_12m", n_new)
    m.set("churned_accounts_12m", n_churn)
    m.set("churn_rate_12m", *_ratio(n_churn, n_risk, "no account was at risk at the window start"))
    costs = ds.rows("costs", lambda c: agg.costs_by_kind(c, start=w.start, end=w.end))
    costs = None if costs is None else costs.set_index("kind")
    spend = {}
    for kind in ("acquisition", "retention", "win_back"):
        if costs is None:
            spend[kind] = (None, "no costs table in the data")
        elif kind in costs.index:
            spend[kind] = (float(costs.at[kind, "amount"]), None)
        else:
            spend[kind] = (None, f"no '{kind}' costs in the window")
    m.set("acquisition_spend_12m", *spend["acquisition"])
    m.set("retention_spend_12m", *spend["retention"])
    acq, ret = spend["acquisition"][0], spend["retention"][0]
    m.set("cac", *(_ratio(acq, n_new, "no new accounts in the window") if acq is not None
                   else (None, spend["acquisition"][1])))
    m.set("retention_cost_per_account", *(_ratio(ret, n_ret, "no retained accounts") if ret is not None
                                          else (None, spend["retention"][1])))
    cac, rpa = m.values["cac"], m.values["retention_cost_per_account"]
    m.set("cac_to_retention_cost_ratio", *((cac / rpa, None) if cac is not None and rpa
                                           else (None, "needs both CAC and retention cost per account")))
    m.set("referral_share_new", *_ratio((f["new"] & (f["channel"] == "referral")).sum(), n_new,
                                        "no new accounts in the window"))
    wb = spend["win_back"][0]
    if "won_back" in f and wb is not None:
        m.set("winback_cost_per_recovered_account", *_ratio(wb, f["won_back"].sum(), "no account won back in the window"))
    else:
        m.set("winback_cost_per_recovered_account", None, "the data mark no win-backs or no win-back costs")
    return BookFlows(f, m, margin, ds.analysis_date)


def unit_economics(flows: BookFlows) -> pd.DataFrame:
    """Per acquisition channel: new, at risk, churned, retention rate, margin per retained account, and the
    months needed to pay back the book's CAC from that margin."""
    f = flows.accounts.assign(margin=flows.window_margin)
    g = f.groupby("channel").agg(new_accounts=("new", "sum"), at_risk_start=("at_risk_start", "sum"),
                                 churned=("churned", "sum"), retained=("retained", "sum"))
    g["retention_rate"] = g["retained"] / g["at_risk_start"].where(g["at_risk_start"] > 0)
    g["margin_per_retained_account"] = (f[f["retained"]].groupby("channel")["margin"].mean()).reindex(g.index)
    cac = flows.measured.values.get("cac")
    g["months_to_pay_back_cac"] = (cac / (g["margin_per_retained_account"] / 12)) if cac else np.nan
    new = f[f["new"]]
    g["margin_of_new_accounts"] = new.groupby("channel")["margin"].sum().reindex(g.index).fillna(0.0)
    return g


def flows_by_period(flows: BookFlows, ds: Dataset, freq: str = "Q") -> pd.DataFrame:
    """New and churned accounts, accounts in the book and retention rate per complete period (quarters by
    default; :func:`kamlib.data.periods.last_complete_period`); an account won back before a period is in the book
    at its start again."""
    f = flows.accounts
    first, last = pd.Period(f["acquired_on"].min(), freq=freq), last_complete_period(ds.analysis_date, freq)
    periods = pd.period_range(first, last, freq=freq)
    rows = []
    for p in periods:
        s, e = p.start_time, p.end_time.normalize()
        at_start = flows.in_book_before(s)
        churned = at_start & f["churned_on"].between(s, e)
        rows.append({"period": str(p), "new_accounts": int(f["acquired_on"].between(s, e).sum()),
                     "accounts_at_start": int(at_start.sum()), "churned": int(churned.sum()),
                     "retention_rate": 1 - churned.sum() / at_start.sum() if at_start.sum() else np.nan})
    columns = ["period", "new_accounts", "accounts_at_start", "churned", "retention_rate"]
    return pd.DataFrame(rows, columns=columns).set_index("period")


# --- customer equity and what-if ------------------------------------------------------------------------

@dataclass(frozen=True)
class EquityInputs:
    """Annual inputs of the simple customer-equity model (all per year)."""

    accounts: float            # accounts in the book now
    margin: float              # margin per account per year
    retention: float           # annual retention rate r
    discount_rate: float       # annual discount rate d
    new_accounts: float        # new accounts per year
    cac: float                 # acquisition cost per new account
    retention_cost: float = 0.0   # retention spend per retained account per year
    years: int = 3             # horizon: the existing book and the cohorts acquired within it, valued to its end

    def __post_init__(self):
        fraction("retention", self.retention)
        fraction("discount_rate", self.discount_rate)
        non_negative("years", self.years, integer=True)


MAX_PLAUSIBLE_RETENTION = 0.97   # what-ifs refuse a book that keeps more than this share of accounts a year


def account_value(margin: float, r: float, d: float, retention_cost: float = 0.0, new: bool = False,
                  years: float | None = None) -> float:
    """Value of one account under constant margin and retention (margin at each year end while retained),
    over ``years`` years (None: for ever).

    Existing account: (m - c) r / (1 + d - r) x (1 - q^n), with q = r / (1 + d) and n = ``years`` (it must
    survive to the next year end first). New account: (m - c) / (1 + d - r) x (1 - q^n) (its first year's
    margin arrives for sure). For ever: the same without the factor (1 - q^n).
    """
    if not 0 <= r < 1 + d:
        raise ValueError(f"retention must be in [0, 1 + d), got {r}")
    net = margin - retention_cost
    ever = net / (1 + d - r) if new else net * r / (1 + d - r)
    return ever if years is None else ever * (1 - (r / (1 + d)) ** years)


def customer_equity(x: EquityInputs, existing_value: float | None = None) -> dict[str, float]:
    """Customer equity over a horizon of ``x.years`` years, both parts on the same horizon: the existing book
    (``existing_value``, the CLV models' value over the same horizon, else the simple model) plus the cohorts
    acquired at the start of each year k = 0 .. years - 1, each valued to the end of the horizon:
    sum_k new x (value of a new account over years - k years - CAC) / (1 + d)^k."""
    existing = (existing_value if existing_value is not None
                else x.accounts * account_value(x.margin, x.retention, x.discount_rate, x.retention_cost,
                                                years=x.years))
    future = sum(x.new_accounts * (account_value(x.margin, x.retention, x.discount_rate, x.retention_cost,
                                                 new=True, years=x.years - k) - x.cac) / (1 + x.discount_rate) ** k
                 for k in range(x.years))
    return {"existing": float(existing), "future_cohorts": float(future), "customer_equity": float(existing + future)}


def churn_what_if(x: EquityInputs, points=(1, 2, 5, 10)) -> pd.DataFrame:
    """Customer equity when annual churn falls by k percentage points (retention + k/100), and its % change
    — the measured answer to '5% less churn lifts profit 25-85%'. A retention above
    :data:`MAX_PLAUSIBLE_RETENTION` is not plausible for a book of accounts: that row is refused (NaN,
    ``plausible`` False) rather than reported as a huge gain."""
    base = customer_equity(x)["customer_equity"]
    rows = []
    for k in points:
        r = x.retention + k / 100
        plausible = r <= MAX_PLAUSIBLE_RETENTION
        ce = customer_equity(replace(x, retention=r))["customer_equity"] if plausible else np.nan
        rows.append({"churn_reduction_points": k, "retention": r, "customer_equity": ce,
                     "change": ce - base, "change_pct": (ce - base) / abs(base) if base else np.nan,
                     "plausible": plausible})
    return pd.DataFrame(rows).set_index("churn_reduction_points")


def break_even_retention_spend(x: EquityInputs, retention_gain: float) -> float:
    """Largest extra spend per account per year that a programme raising retention by ``retention_gain``
    can cost before it destroys customer equity of the existing book over the horizon (closed form in the
    simple model: value(m - c, r1, n) = value(m, r0, n))."""
    r1 = x.retention + retention_gain
    m, r0, d = x.margin - x.retention_cost, x.retention, x.discount_rate
    return float(m - account_value(m, r0, d, years=x.years) / account_value(1.0, r1, d, years=x.years))


def programme_what_if(x: EquityInputs, cost_per_account: float, retention_gain: float) -> dict[str, float]:
    """Net effect on customer equity of a retention programme (extra cost per account per year, + retention)."""
    base = customer_equity(x)["customer_equity"]
    new = customer_equity(replace(x, retention=x.retention + retention_gain,
                                  retention_cost=x.retention_cost + cost_per_account))["customer_equity"]
    return {"customer_equity": new, "change": new - base}


def acquisition_what_if(x: EquityInputs, spend_change: float, elasticity: float = 0.5) -> dict[str, float]:
    """Raise acquisition spend by ``spend_change`` (0.2 = +20%); new accounts respond with diminishing returns
    new' = new (1 + change)^elasticity, so CAC rises."""
    base = customer_equity(x)["customer_equity"]
    spend = x.new_accounts * x.cac * (1 + spend_change)
    new = x.new_accounts * (1 + spend_change) ** elasticity
    ce = customer_equity(replace(x, new_accounts=new, cac=spend / new if new else x.cac))["customer_equity"]
    return {"new_accounts": new, "cac": spend / new if new else np.nan, "customer_equity": ce, "change": ce - base}


def budget_split(x: EquityInputs, budget: float, *, max_retention: float = 0.97, new_ceiling: float = 2.0,
                 steps: int = 41) -> pd.DataFrame:
    """Customer equity for shares of an annual budget spent on acquisition vs retention (Blattberg & Deighton
    1996 style exponential response curves, calibrated to pass through today's spend and outcomes):

        new(A) = N_max (1 - exp(-k_a A)),  N_max = new_ceiling x today's new accounts
        r(R)   = r_max (1 - exp(-k_r R)),  R = retention spend per account, r_max = ``max_retention``
    """
    a0, n0 = x.new_accounts * x.cac, x.new_accounts
    r0, c0 = x.retention, x.retention_cost
    n_max = new_ceiling * n0
    if not (0 < r0 < max_retention) or n0 <= 0 or a0 <= 0 or c0 <= 0:
        raise ValueError("budget_split needs positive acquisition and retention spend, new accounts and "
                         "0 < retention < max_retention")
    k_a = -np.log(1 - n0 / n_max) / a0
    k_r = -np.log(1 - r0 / max_retention) / c0
    rows = []
    for share in np.linspace(0, 1, steps):
        acq = share * budget
        per_account = (1 - share) * budget / x.accounts
        new = n_max * (1 - np.exp(-k_a * acq))
        r = max_retention * (1 - np.exp(-k_r * per_account))
        y = replace(x, new_accounts=new, cac=acq / new if new > 0 else 0.0, retention=r, retention_cost=per_account)
        rows.append({"acquisition_share": share, "new_accounts": new, "retention": r,
                     "customer_equity": customer_equity(y)["customer_equity"]})
    out = pd.DataFrame(rows).set_index("acquisition_share")
    out["optimal"] = out["customer_equity"] == out["customer_equity"].max()
    return out


def tornado(x: EquityInputs, change: float = 0.2) -> pd.DataFrame:
    """Customer equity with each input moved down / up by ``change`` (retention capped at
    :data:`MAX_PLAUSIBLE_RETENTION`), sorted by the width of the swing."""
    base = customer_equity(x)["customer_equity"]
    rows = []
    for name in ("margin", "retention", "discount_rate", "new_accounts", "cac", "retention_cost"):
        v = getattr(x, name)
        lo_v, hi_v = v * (1 - change), v * (1 + change)
        if name == "retention":
            hi_v = min(hi_v, MAX_PLAUSIBLE_RETENTION)
        lo = customer_equity(replace(x, **{name: lo_v}))["customer_equity"]
        hi = customer_equity(replace(x, **{name: hi_v}))["customer_equity"]
        rows.append({"input": name, "low": lo - base, "high": hi - base, "swing": abs(hi - lo)})
    return pd.DataFrame(rows).set_index("input").sort_values("swing", ascending=False)


def equity_inputs(flows: BookFlows, discount_rate: float = 0.10, years: int = 3) -> EquityInputs | None:
    """The simple model's inputs measured on the book (None when CAC or the churn rate is unavailable);
    ``years``: the horizon, the CLV horizon in whole years when the existing book is valued by the CLV models."""
    v = flows.measured.values
    if v.get("cac") is None or v.get("churn_rate_12m") is None:
        return None
    f = flows.accounts
    alive_now = flows.in_book_before(flows.analysis_date + pd.Timedelta(days=1))
    margin = flows.window_margin[f["retained"]].mean() if f["retained"].any() else flows.window_margin.mean()
    return EquityInputs(accounts=float(alive_now.sum()), margin=float(margin), retention=1 - v["churn_rate_12m"],
                        discount_rate=discount_rate, new_accounts=float(v["new_accounts_12m"]), cac=float(v["cac"]),
                        retention_cost=float(v.get("retention_cost_per_account") or 0.0), years=years)


def rules_vs_measured(measured: Measured, churn_effect_5pts: float | None, lang: str = "en") -> pd.DataFrame:
    """Each rule of thumb of the domain brief beside this book's measured value ('not available' = None)."""
    from ..text.i18n import t
    v = measured.values
    ratio = v.get("cac_to_retention_cost_ratio")
    wb, rc = v.get("winback_cost_per_recovered_account"), v.get("retention_cost_per_account")
    rows = [
        ("rule_keep_fifth", times(5, lang, digits=0), ratio, "x"),
        ("rule_win_seven", times(7, lang, digits=0), ratio, "x"),
        ("rule_winback_tenth", times(10, lang, digits=0), wb / rc if wb is not None and rc else None, "x"),
        ("rule_churn_profit", "+25% to +85%" if lang == "en" else "+25%至+85%", churn_effect_5pts, "pct"),
        ("rule_referral", "60%", v.get("referral_share_new"), "pct"),
    ]
    out = pd.DataFrame([{"claim": t(k, lang), "rule_of_thumb": rule,
                         "measured": (None if val is None else (times(val, lang) if kind == "x" else f"{val:+.0%}"
                                                                 if k == "rule_churn_profit" else f"{val:.0%}"))}
                        for k, rule, val, kind in rows])
    return out.set_index("claim")


def churn_definition(name: str = "auto", days: int = 180, threshold: float = 0.5, ds: Dataset | None = None
                     ) -> ChurnDefinition:
    """A churn definition from notebook / config parameters ('auto' = recorded when available)."""
    if name == "auto":
        if ds is None:
            raise ValueError("churn definition 'auto' needs the data set")
        return replace(default_churn(ds), days=days, threshold=threshold)
    return ChurnDefinition(name, days, threshold)


def current_acquisition_share(x: EquityInputs) -> float:
    """Today's share of (acquisition + retention) spend that goes to acquisition."""
    acq, ret = x.new_accounts * x.cac, x.retention_cost * x.accounts
    return acq / (acq + ret) if acq + ret else float("nan")


def budget_advice(curve: pd.DataFrame, now_share: float, tolerance: float = 0.05) -> str:
    """'advice_retention' / 'advice_acquisition' / 'advice_balanced' (i18n keys) from the budget curve."""
    best = float(curve.index[curve["optimal"]][0])
    if best < now_share - tolerance:
        return "advice_retention"
    if best > now_share + tolerance:
        return "advice_acquisition"
    return "advice_balanced"
