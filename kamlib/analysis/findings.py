"""The decision memo's findings, chosen by rules from the month's results — never typed in.

A candidate becomes a finding only when it is **significant** (its test, Holm-adjusted where there are several,
is below ``alpha``; descriptive counts of this month's action list need no test) and **material** (its money at
stake is at least ``material_share`` of the 12-month gross margin). Findings are ranked by money at stake and
the memo keeps at most ``max_findings``. Candidates that were tested and are *not* findings but that a board
asks about (win rates in line with the rule of thumb) become notes.

Money at stake, by kind (from the one action list, :mod:`kamlib.analysis.actions`): the 12-month margin of the
accounts with an open complaint, of the strategic and A accounts behind the visit policy, of the valuable
accounts that may have lapsed; the overdue amount; the peer-median margin of cross-sell whitespace; for a win
rate below its rule of thumb, the open pipeline of that group times the shortfall.

Every number a finding quotes is in :attr:`Memo.metrics` (keys in :data:`kamlib.analysis.metrics.GLOSSARY`), which
the memo notebook records, so every number in the memo is in ``metrics.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..text.i18n import t
from .scorecard import TEAM_MEDIAN, wilson_interval

RULE_WIN_RATE = {"existing": 0.5, "new": 0.15}        # the rules of thumb of the glossary (win_rate_*)
COMPLAINT_DRIVERS = ("unresolved_complaints_90d", "complaints_90d")
# the metrics each kind of finding quotes (template placeholder -> metric key)
QUOTES = {
    "open_complaint": dict(hr="finding_complaint_hazard_ratio", lo="finding_complaint_hazard_ratio_lower",
                           hi="finding_complaint_hazard_ratio_upper", p="finding_complaint_p_adjusted",
                           events="finding_churn_events", base="finding_driver_accounts",
                           n="finding_open_complaint_accounts", money="finding_open_complaint_margin"),
    "visits_behind": dict(n="finding_visits_behind_accounts", base="finding_visit_policy_accounts",
                          share="finding_visits_on_track_share", lo="finding_visits_on_track_lower",
                          hi="finding_visits_on_track_upper", money="finding_visits_behind_margin"),
    "whitespace": dict(n="finding_whitespace_accounts", money="finding_whitespace_margin"),
    "overdue_invoices": dict(n="finding_overdue_accounts", money="finding_overdue_amount"),
    "churn_alert": dict(n="finding_churn_alert_accounts", money="finding_churn_alert_margin"),
    **{f"win_rate_{g}": dict(rate=f"finding_win_rate_{g}", lo=f"finding_win_rate_lower_{g}",
                             hi=f"finding_win_rate_upper_{g}", closed=f"finding_win_closed_{g}",
                             p=f"finding_win_rate_p_adjusted_{g}", money=f"finding_win_gap_amount_{g}")
       for g in ("existing", "new")},
}
DRIVER_KEYS = ("finding_complaint_hazard_ratio", "finding_complaint_hazard_ratio_lower",
               "finding_complaint_hazard_ratio_upper", "finding_complaint_p_adjusted", "finding_churn_events",
               "finding_driver_accounts")
OWNERS = {"open_complaint": "owner_service", "visits_behind": "owner_kam", "whitespace": "owner_kam",
          "overdue_invoices": "owner_finance", "churn_alert": "owner_kam", "win_rate_existing": "owner_sales",
          "win_rate_new": "owner_sales"}


@dataclass(frozen=True)
class Finding:
    """One finding: its ``kind``, the money at stake, the metric keys it quotes (``values``: placeholder ->
    metric key) and the manager with most money at stake in it (None: not one manager's)."""

    kind: str
    money_at_stake: float
    values: dict                     # template placeholder -> metric key
    lead_manager: str | None = None


@dataclass
class Memo:
    """Findings ranked by money at stake, notes (tested, not findings), and every number they quote
    (``metrics``: key -> value, ``reasons``: key -> why a candidate's number is not available)."""

    findings: list[Finding]
    notes: list[tuple[str, dict]]    # (template key, placeholder -> metric key)
    metrics: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)

    def kinds(self) -> list[str]:
        return [f.kind for f in self.findings]

    def get(self, kind: str) -> Finding | None:
        """The finding of ``kind``, None when it is not one this month."""
        return next((f for f in self.findings if f.kind == kind), None)

    def win_rates_in_line(self) -> bool:
        """Whether both win rates were tested and neither differs from its rule of thumb."""
        return [k for k, _ in self.notes] == ["note_win_rate_existing_as_rule", "note_win_rate_new_as_rule"]

    def record(self, recorder) -> None:
        """Record every number the memo may quote (and why the missing ones are missing) with a
        :class:`kamlib.analysis.metrics.MetricsRecorder`."""
        recorder.record_many(self.metrics)
        for key, why in self.reasons.items():
            recorder.record(key, None, reason=why)


def holm(p_values: pd.Series) -> pd.Series:
    """Holm-adjusted p-values: sorted ascending, the i-th (from 0) times (m - i), made monotone, capped at 1."""
    p = pd.Series(p_values, dtype=float).dropna().sort_values()
    scaled = p.to_numpy() * (len(p) - np.arange(len(p)))
    return pd.Series(np.minimum(np.maximum.accumulate(scaled), 1.0), index=p.index).reindex(p_values.index)


def adjusted_p(hazard_ratios: pd.DataFrame) -> pd.Series:
    """The drivers' multiplicity-adjusted p-values: the ``p_adjusted`` column when the model provides it,
    else Holm over the ``p_value`` (or ``p``) column of all drivers."""
    if "p_adjusted" in hazard_ratios:
        return hazard_ratios["p_adjusted"].astype(float)
    return holm(hazard_ratios["p_value" if "p_value" in hazard_ratios else "p"])


def _lead(actions: pd.DataFrame) -> str | None:
    if actions.empty:
        return None
    by = actions.groupby("account_manager")["money_at_stake"].sum()
    return str(by.idxmax())


def choose(metrics: dict, actions: pd.DataFrame, accounts: pd.DataFrame, *,
           hazard_ratios: pd.DataFrame | None = None, drivers_base: dict | None = None,
           win_rates: pd.DataFrame | None = None, open_pipeline: dict | None = None,
           alpha: float = 0.05, material_share: float = 0.01, max_findings: int = 6,
           key_tiers: tuple[str, ...] = ("strategic", "A")) -> Memo:
    """The memo from this month's results.

    ``metrics``: the month's headline metrics (``margin_12m`` sets materiality); ``actions``:
    :func:`kamlib.analysis.actions.this_month`; ``accounts``: the account table (``tier``); ``hazard_ratios``:
    :attr:`kamlib.analysis.survival.ChurnDrivers.hazard_ratios` (None: the model is not available) with
    ``drivers_base`` = {"events", "accounts"}; ``win_rates``: :func:`kamlib.analysis.scorecard.win_rates` by
    ``existing`` (None: no opportunities); ``open_pipeline``: open opportunity amount by "existing" / "new"."""
    margin = metrics.get("margin_12m")
    floor = material_share * margin if margin else 0.0
    values, reasons, candidates, notes = {}, {}, [], []
    kinds = actions.groupby("kind") if len(actions) else None

    def of(kind: str) -> pd.DataFrame:
        return kinds.get_group(kind) if kinds is not None and kind in kinds.groups else actions.iloc[:0]

    def material(money: float | None) -> bool:
        return money is not None and money > 0 and money >= floor

    def money_of(part: pd.DataFrame, key: str) -> float | None:
        """The summed money at stake; None (with the reason) when no account's can be computed."""
        m = part["money_at_stake"]
        if len(m) and m.isna().all():
            reasons[key] = ("the churn-driver model does not support a link to churn (Holm-adjusted p >= 0.05 "
                            "or a 95% interval of the hazard ratio that includes 1), so no margin is put at risk")
            return None
        return float(m.sum())

    # --- unresolved complaints: a significant churn driver, and the margin of accounts with one open now
    open_c = of("open_complaint")
    values["finding_open_complaint_accounts"] = int(open_c["account_id"].nunique())
    values["finding_open_complaint_margin"] = money_of(open_c, "finding_open_complaint_margin")
    driver = None
    if hazard_ratios is None or hazard_ratios.empty:
        for k in DRIVER_KEYS:
            reasons[k] = "the churn-driver model is not available this month"
    else:
        p_adj = adjusted_p(hazard_ratios)
        driver = next((d for d in COMPLAINT_DRIVERS if d in hazard_ratios.index), None)
        if driver is None:
            for k in DRIVER_KEYS:
                reasons[k] = "complaints were left out of the churn-driver model (no complaints, or no variation)"
        else:
            row = hazard_ratios.loc[driver]
            values.update(finding_complaint_hazard_ratio=float(row["hazard_ratio"]),
                          finding_complaint_hazard_ratio_lower=float(row["lower"]),
                          finding_complaint_hazard_ratio_upper=float(row["upper"]),
                          finding_complaint_p_adjusted=float(p_adj[driver]),
                          finding_churn_events=int((drivers_base or {}).get("events", 0)),
                          finding_driver_accounts=int((drivers_base or {}).get("accounts", 0)))
            if (p_adj[driver] < alpha and row["lower"] > 1
                    and material(values["finding_open_complaint_margin"])):
                candidates.append(Finding("open_complaint", values["finding_open_complaint_margin"],
                                          QUOTES["open_complaint"], _lead(open_c)))

    # --- strategic and A accounts behind the visit policy (last 13 weeks): share on track with its interval
    behind = of("visits_behind")
    base = int(accounts["tier"].isin(key_tiers).sum()) if "tier" in accounts else 0
    values["finding_visits_behind_accounts"] = int(behind["account_id"].nunique())
    values["finding_visits_behind_margin"] = money_of(behind, "finding_visits_behind_margin")
    if not base:
        for k in QUOTES["visits_behind"].values():
            reasons.setdefault(k, "no strategic or A account in the book")
    else:
        on_track = base - values["finding_visits_behind_accounts"]
        lo, hi = wilson_interval(on_track, base)
        values.update(finding_visit_policy_accounts=base, finding_visits_on_track_share=on_track / base,
                      finding_visits_on_track_lower=lo, finding_visits_on_track_upper=hi)
        if material(values["finding_visits_behind_margin"]):
            candidates.append(Finding("visits_behind", values["finding_visits_behind_margin"],
                                      QUOTES["visits_behind"], _lead(behind)))

    # --- the rest of the action list: descriptive, material or not
    for kind in ("whitespace", "overdue_invoices", "churn_alert"):
        part, quoted = of(kind), QUOTES[kind]
        values[quoted["n"]] = int(part["account_id"].nunique())
        values[quoted["money"]] = money_of(part, quoted["money"])
        if material(values[quoted["money"]]):
            candidates.append(Finding(kind, values[quoted["money"]], quoted, _lead(part)))

    # --- win rates against the rules of thumb: binomial tests, Holm over the two
    for group in ("existing", "new"):
        reasons[f"finding_win_gap_amount_{group}"] = "the win rate is not significantly below its rule of thumb"
    if win_rates is None or win_rates.empty:
        for group in ("existing", "new"):
            for k in QUOTES[f"win_rate_{group}"].values():
                reasons.setdefault(k, "no opportunity closed in the window")
    else:
        tested = {}
        for group, is_existing in (("existing", True), ("new", False)):
            if is_existing not in win_rates.index:
                for k in QUOTES[f"win_rate_{group}"].values():
                    reasons.setdefault(k, f"no {group}-account opportunity closed in the window")
                continue
            r = win_rates.loc[is_existing]
            tested[group] = stats.binomtest(int(r["won"]), int(r["closed"]), RULE_WIN_RATE[group]).pvalue
            values.update({f"finding_win_closed_{group}": int(r["closed"]),
                           f"finding_win_rate_{group}": float(r["win_rate"]),
                           f"finding_win_rate_lower_{group}": float(r["lower"]),
                           f"finding_win_rate_upper_{group}": float(r["upper"])})
        adjusted = holm(pd.Series(tested))
        for group, p in adjusted.items():
            values[f"finding_win_rate_p_adjusted_{group}"] = float(p)
            rate = values[f"finding_win_rate_{group}"]
            quoted = {k: v for k, v in QUOTES[f"win_rate_{group}"].items() if k != "money"}
            gap = RULE_WIN_RATE[group] - rate
            if p >= alpha:
                notes.append((f"note_win_rate_{group}_as_rule", quoted))
            elif gap < 0:
                notes.append((f"note_win_rate_{group}_above_rule", quoted))
            else:
                money = float((open_pipeline or {}).get(group, 0.0)) * gap
                values[f"finding_win_gap_amount_{group}"] = money
                if material(money):
                    candidates.append(Finding(f"win_rate_{group}", money, QUOTES[f"win_rate_{group}"]))
                else:
                    notes.append((f"note_win_rate_{group}_below_rule", quoted))

    ranked = sorted(candidates, key=lambda f: -f.money_at_stake)[:max_findings]
    values = {k: v for k, v in values.items() if v is not None}
    values["memo_findings"] = ",".join(f.kind for f in ranked) or "none"
    return Memo(ranked, notes, values, {k: v for k, v in reasons.items() if k not in values})


def open_pipeline(opportunities: pd.DataFrame | None) -> dict:
    """Open opportunity amount of existing accounts and of new ones ({"existing": ..., "new": ...})."""
    if opportunities is None:
        return {}
    o = opportunities[opportunities["outcome"] == "open"]
    return {"existing": float(o.loc[o["existing"], "amount"].sum()),
            "new": float(o.loc[~o["existing"], "amount"].sum())}


# --- words ---------------------------------------------------------------------------------------------

def _fill(placeholders: dict, fmt) -> dict:
    return {name: fmt(key) for name, key in placeholders.items()}


def title(f: Finding, fmt, lang: str = "en") -> str:
    """The finding's conclusion as a sentence (``fmt``: metric key -> formatted value)."""
    return t(f"finding_{f.kind}_title", lang, **_fill(f.values, fmt))


def evidence(f: Finding, fmt, lang: str = "en") -> str:
    """The number, its base and its uncertainty."""
    return t(f"finding_{f.kind}_evidence", lang, **_fill(f.values, fmt))


def action(f: Finding, fmt, lang: str = "en") -> str:
    """What to do about it."""
    return t(f"finding_{f.kind}_action", lang, **_fill(f.values, fmt))


def owner(f: Finding, lang: str = "en", name=lambda m: m) -> str:
    """Who owns the action: a role, and the manager with most money at stake in it (``name``: display name)."""
    role = t(OWNERS[f.kind], lang)
    return t("owner_with_lead", lang, role=role, manager=name(f.lead_manager)) if f.lead_manager else role


def ranked_kinds(metrics: dict) -> list[str]:
    """The kinds of the month's findings, ranked, as the memo recorded them (``memo_findings``)."""
    kinds = str(metrics.get("memo_findings") or "none")
    return [] if kinds == "none" else [k for k in kinds.split(",") if k in QUOTES]


def recorded_headline(metrics: dict, currency: str = "CNY", lang: str = "en") -> str | None:
    """The memo's headline rebuilt from ``metrics.json`` (None: the memo did not run)."""
    if "memo_findings" not in metrics:
        return None
    kinds = ranked_kinds(metrics)
    memo = Memo([Finding(k, 0.0, QUOTES[k]) for k in kinds[:1]], [])
    return headline(memo, formatter(metrics, currency, lang), lang)


def headline(memo: Memo, fmt, lang: str = "en") -> str:
    """The memo's first sentence: the finding with most money at stake, or that there is none."""
    if not memo.findings:
        return t("memo_headline_none", lang)
    first = memo.findings[0]
    return t("memo_headline", lang, title=title(first, fmt, lang))


def note(key: str, placeholders: dict, fmt, lang: str = "en") -> str:
    return t(key, lang, **_fill(placeholders, fmt))


def table(memo: Memo, fmt, lang: str = "en", name=lambda m: m) -> pd.DataFrame:
    """The findings as rows: rank, finding, evidence, money at stake, action, owner (for the deck's closing
    slide and the workbook)."""
    return pd.DataFrame([{"finding": title(f, fmt, lang), "evidence": evidence(f, fmt, lang),
                          "money_at_stake": fmt(f.values["money"]), "action": action(f, fmt, lang),
                          "owner": owner(f, lang, name)} for f in memo.findings],
                        index=pd.RangeIndex(1, len(memo.findings) + 1, name="rank"),
                        columns=["finding", "evidence", "money_at_stake", "action", "owner"])


def memo(ds, tables, drivers, metrics: dict, **rules) -> Memo:
    """:func:`choose` on a data set's results: ``tables`` (:class:`kamlib.analysis.portfolio.BookTables`),
    ``drivers`` (:class:`kamlib.analysis.survival.ChurnDrivers` or None) and the month's headline metrics."""
    from ..data.periods import window_12m
    from .scorecard import classify_opportunities
    from .scorecard import win_rates as rates_of
    opps = classify_opportunities(ds)
    w = window_12m(ds.analysis_date)
    rates = rates_of(opps, w.start, w.end) if opps is not None else None
    out = choose(metrics, tables.actions, tables.accounts,
                 hazard_ratios=drivers.hazard_ratios if drivers is not None else None,
                 drivers_base={"events": drivers.events, "accounts": drivers.accounts} if drivers is not None else None,
                 win_rates=rates, open_pipeline=open_pipeline(opps), **rules)
    facts = top_accounts(tables.accounts)[1]
    out.metrics.update({k: v for k, v in facts.items() if v is not None})
    out.reasons.update({k: "no lifetime value of the accounts" for k in ("top10_clv", "top10_clv_share")
                        if facts.get(k) is None})
    return out


def top_accounts(accounts: pd.DataFrame, n: int = 10) -> tuple[pd.DataFrame, dict]:
    """The ``n`` accounts with the highest CLV (name, manager, clv) and their total and share of the book's
    CLV (``top10_clv``, ``top10_clv_share``; empty without a CLV column)."""
    if "clv" not in accounts or accounts["clv"].dropna().empty:
        return accounts.iloc[:0], {}
    top = accounts.nlargest(n, "clv")[["name", "account_manager", "clv"]]
    total = float(accounts["clv"].sum())
    return top, {"top10_clv": float(top["clv"].sum()),
                 "top10_clv_share": float(top["clv"].sum() / total) if total > 0 else None}


def visits_by_manager(actions: pd.DataFrame, accounts: pd.DataFrame,
                      key_tiers: tuple[str, ...] = ("strategic", "A")) -> pd.DataFrame:
    """Per manager: strategic and A accounts on track with the visit policy and behind it (this month's
    action list), most behind first."""
    key = accounts[accounts["tier"].isin(key_tiers)]
    behind = set(actions.loc[actions["kind"] == "visits_behind", "account_id"])
    flag = key.index.isin(list(behind))
    out = pd.DataFrame({"on_track": (~flag).astype(int), "behind": flag.astype(int),
                        "account_manager": key["account_manager"].to_numpy()}).groupby("account_manager").sum()
    return out.sort_values(["behind", "on_track"], ascending=[False, True])


def significant_drivers(hazard_ratios: pd.DataFrame | None, alpha: float = 0.05) -> pd.DataFrame:
    """The churn drivers whose adjusted p-value is below ``alpha``, largest effect first."""
    if hazard_ratios is None or hazard_ratios.empty:
        return pd.DataFrame(columns=["hazard_ratio", "lower", "upper"])
    hr = hazard_ratios[adjusted_p(hazard_ratios) < alpha]
    return hr.iloc[np.argsort(-np.abs(np.log(hr["hazard_ratio"].to_numpy())))][["hazard_ratio", "lower", "upper"]]


def managers_overview(scorecard: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Per account manager: accounts and 12-month margin as the scorecard counts them
    (:func:`kamlib.analysis.scorecard.manager_scorecard`: the same numbers as the scorecard report and the
    first table of the manager's page; the margins add up to the book's) and this month's actions."""
    card = scorecard.drop(index=TEAM_MEDIAN, errors="ignore")
    out = card[["accounts", "margin_12m"]].rename_axis("account_manager")
    out["accounts"] = out["accounts"].astype(int)
    out["actions"] = actions.groupby("account_manager").size().reindex(out.index, fill_value=0).astype(int)
    return out.sort_index()


def formatter(values: dict, currency: str = "CNY", lang: str = "en"):
    """metric key -> its value formatted as the reports format it (:func:`kamlib.analysis.summary.format_value`)."""
    from .summary import format_value
    return lambda key: format_value(key, values.get(key), currency, lang) or t("not_available", lang)
