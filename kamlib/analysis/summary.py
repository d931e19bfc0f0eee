"""Executive summary: this month's headline metrics beside last month's, formatted by unit, in en / zh."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..text.formatting import count, money, p_value, pct, times
from ..text.formatting import month as month_name
from ..text.i18n import LABELS, t, tv
from .metrics import GLOSSARY, merge_metric_files

SECTIONS = ("book", "clv", "economics", "segmentation", "scorecard", "findings")


def previous_month(month: str) -> str:
    return str(pd.Period(month, freq="M") - 1)


def load_metrics(source: str | Path) -> tuple[dict, dict]:
    """(metrics, notes) from a report's metrics.json or a folder of per-notebook metric files."""
    p = Path(source)
    if p.is_dir():
        return merge_metric_files(sorted(p.glob("*.json")))
    d = json.loads(p.read_text(encoding="utf-8"))
    return d.get("metrics", {}), d.get("notes", {})


def format_value(key: str, value, currency: str = "CNY", lang: str = "en") -> str | None:
    """A metric value formatted by the unit in its glossary entry (None stays None)."""
    if value is None:
        return None
    unit = GLOSSARY[key].unit if key in GLOSSARY else ""
    if unit.startswith("currency"):
        return money(value, currency, lang)
    if unit.startswith("share"):
        return pct(value)
    if unit in ("accounts", "opportunities", "invoices"):
        return count(value)
    if unit == "p-value":
        return p_value(value)
    if unit == "days":
        return f"{value:,.0f}"
    if unit == "ratio":
        return times(value, lang)
    return f"{value:,.3g}" if isinstance(value, float) else str(value)


def unit_label(key: str, currency: str = "CNY", lang: str = "en") -> str:
    """A metric's unit in words, in the report language ('CNY', 'CNY per account', '%', 'days', ...)."""
    unit = GLOSSARY[key].unit if key in GLOSSARY else ""
    if unit.startswith("currency"):
        return t("unit_currency_per_account", lang, currency=currency) if "per account" in unit else currency
    kind = {"share 0-1": "share", "share": "share", "0-1": "index", "p-value": "p"}.get(unit, unit)
    return t(f"unit_{kind}", lang) if f"unit_{kind}" in LABELS else unit


def comparison(current: dict, previous: dict | None, notes: dict, *, currency: str = "CNY",
               lang: str = "en") -> pd.DataFrame:
    """One row per glossary metric: section, label, this month, last month, change (relative for amounts and
    counts, in points for shares) and the reason when not available; without a previous report only this
    month."""
    rows = []
    for key, m in GLOSSARY.items():
        if m.unit == "text":                    # words, not numbers (e.g. the memo's finding kinds)
            continue
        cur = current.get(key)
        prev = previous.get(key) if previous else None
        if cur is None or prev is None:
            change = None
        elif m.unit.startswith("share"):
            change = t("change_points", lang, value=f"{100 * (cur - prev):+.1f}")
        elif prev:
            change = f"{cur / prev - 1:+.1%}"
        else:
            change = None
        rows.append({"section": m.issue, "metric": getattr(m, lang), "unit": unit_label(key, currency, lang),
                     "this_month": format_value(key, cur, currency, lang),
                     "last_month": format_value(key, prev, currency, lang), "change": change,
                     "reason": tv(notes.get(key, ""), lang) if cur is None else ""})
    table = pd.DataFrame(rows, index=pd.Index([k for k, m in GLOSSARY.items() if m.unit != "text"], name="key"))
    return table if previous is not None else table.drop(columns=["last_month", "change"])


def by_section(table: pd.DataFrame, lang: str = "en"):
    """(section title, its rows without the section column) per section of :func:`comparison`, in order."""
    for section in dict.fromkeys(table["section"]):
        rows = table[table["section"] == section].drop(columns="section")
        yield tv(section, lang), rows.drop(columns="reason") if not rows["reason"].any() else rows


# paragraphs of (i18n clause key, metrics it quotes); a clause whose metrics are missing is said as its "_na"
# variant (the comparison table gives the reason)
HIGHLIGHTS = (
    (("hl_book", ("active_accounts_12m", "revenue_12m", "margin_12m")), ("hl_equity", ("customer_equity",))),
    (("hl_churn", ("churn_rate_12m",)), ("hl_at_risk", ("accounts_at_risk",)), ("hl_top20", ("top20_margin_share",))),
    (("hl_cac_ratio", ("cac_to_retention_cost_ratio",)), ("hl_win_rates", ("win_rate_existing", "win_rate_new")),
     ("hl_dso", ("dso_days",)), ("hl_visits", ("service_compliance_rate",))),
)


def highlight_paragraphs(current: dict, month: str, currency: str = "CNY", lang: str = "en") -> list[str]:
    """The summary's prose: one paragraph per group of :data:`HIGHLIGHTS`, each clause filled with its
    formatted metrics or, when one is missing, saying so."""
    from ..text.i18n import t
    text = highlight_strings(current, currency, lang)
    paragraphs = []
    for clauses in HIGHLIGHTS:
        said = []
        for key, needs in clauses:
            if any(current.get(k) is None for k in needs):
                key += "_na"
            elif key == "hl_at_risk" and current["accounts_at_risk"] == 0:
                key += "_none"
            said.append(t(key, lang, month=month_name(month, lang), **text))
        paragraphs.append(("" if lang == "zh" else " ").join(said))
    return paragraphs


def highlight_strings(current: dict, currency: str = "CNY", lang: str = "en") -> dict[str, str]:
    """Formatted values of the metrics the highlights quote (those present; a clause with a missing one is
    said as its "_na" variant, which quotes none)."""
    out = {}
    for k in (k for clauses in HIGHLIGHTS for _, needs in clauses for k in needs):
        v = current.get(k)
        if v is not None:
            out[k] = times(v, lang) if k == "cac_to_retention_cost_ratio" else format_value(k, v, currency, lang)
    return out


def resolve_source(metrics_dir: str, month: str, reports: str | Path = "../reports") -> Path:
    """Where the summary reads this month's metrics: the batch's folder, else the month's last report."""
    return Path(metrics_dir) if metrics_dir else Path(reports) / month / "metrics.json"
