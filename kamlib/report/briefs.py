"""The brief a manager takes into a visit: one A4 page per account (``kam brief``, and a page per strategic
and A account in a manager report). :func:`render_brief` writes it as self-contained HTML from an
:class:`~kamlib.analysis.portfolio.AccountBrief` (reusable by any report); :func:`show_brief` shows it in a
notebook.

Layout: header (name, tier, manager, strategy, credit rating, alerts); the numbers in one line (12-month
margin, P(alive), purchases, CLV with its interval); people (the buying centre with the last meeting with
each); what happened since the last visit beside the open items to raise (one line each); talking points from
the ranked actions and the whitespace. Phone numbers and e-mail addresses are masked unless
``show_contact_details`` (:mod:`kamlib.text.masking`).
"""
from __future__ import annotations

import html
import math

import pandas as pd

from ..analysis.actions import reasons
from ..analysis.segmentation import ACTIONS
from ..text.formatting import count, counted, day, days, money, pct
from ..text.i18n import t, tv
from ..text.masking import contact_details
from .html import with_code

PAGE_BREAK = '<div style="break-after: page; page-break-after: always"></div>'
ITEMS_SHOWN = 6            # open items shown per kind; the rest are summed in one line
CONTACT_SETTING = "report.show_contact_details"   # the kam.yaml key that shows phone and e-mail unmasked
POINTS_SHOWN = 6           # talking points from the ranked actions
CSS = """<style>
.kb{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",Arial,sans-serif;font-size:9.5pt;color:#1d2430;
line-height:1.35;max-width:190mm}
.kb h3{font-size:10.5pt;margin:.55em 0 .2em;padding-bottom:1px;border-bottom:1px solid #c9d3df;color:#1f4e79}
.kb .kb-name{font-size:15pt;font-weight:700}.kb .kb-id{color:#667;font-weight:400;font-size:10pt}
.kb .kb-tags{color:#334;margin:.1em 0 .3em}
.kb .kb-alerts{margin:.2em 0}.kb .kb-alert{display:inline-block;background:#fde8e6;color:#8a1c12;border-radius:3px;
padding:1px 6px;margin:1px 4px 1px 0}.kb .kb-ok{display:inline-block;background:#e6f4ea;color:#1a6b33;
border-radius:3px;padding:1px 6px}
.kb .kb-numbers{background:#f3f6fa;padding:3px 6px;margin:.3em 0}
.kb .kb-cols{display:flex;gap:5mm}.kb .kb-cols>div{flex:1 1 0;min-width:0}
.kb table.kb-t{border-collapse:collapse;width:100%;font-size:8.5pt !important;display:table}
.kb table.kb-t td,.kb table.kb-t th{padding:1px 4px;border-bottom:1px solid #e3e8ee;text-align:left;
vertical-align:top;white-space:nowrap}
.kb table.kb-t td.num{text-align:right}.kb .dm{font-weight:700}
.kb ul,.kb ol{margin:.1em 0 .1em 1.3em;padding:0}.kb li{margin:0}
.kb .kb-note{color:#667;font-size:8pt}
</style>"""
# on the page of one brief (kam brief): A4, the title block compact, the notebook's intro and prompts hidden
PAGE_CSS = """<style>
@page{size:A4;margin:10mm}
@media print{body{margin:0}.kam-toc,.jp-MarkdownCell,.jp-InputArea,.jp-OutputPrompt{display:none !important}
.kam-title{margin:0 0 2mm 0 !important;padding:0 0 1mm 0 !important}.kam-title h1{font-size:12pt !important;margin:0}
.kam-meta{font-size:8pt}.jp-Cell,.jp-OutputArea-output,.jp-RenderedHTMLCommon{padding:0 !important;margin:0 !important}
.jp-Notebook{padding:0 !important}}
</style>"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _alert_text(key: str, values: dict, lang: str, currency: str) -> str:
    noun = {"brief_alert_credit": "invoice", "brief_alert_complaints": "complaint"}.get(key)
    shown = {k: (money(v, currency, lang) if k == "amount" else pct(v, 0, lang) if k in ("p_alive", "threshold")
                 else days(v, lang) if k in ("days", "limit") else counted(v, noun, lang) if k == "n" and noun
                 else v) for k, v in values.items()}
    return t(key, lang, **shown)


def _numbers(brief, lang: str, currency: str, horizon_months: int) -> str:
    from ..text.formatting import months
    v = brief.value

    def between(name: str, fmt, band: str, key: str, band_fmt=None) -> str:   # 'x (90% range a to b)'
        lo, hi = v.get(f"{band}_lower"), v.get(f"{band}_upper")
        text, band_fmt = fmt(v.get(name)), band_fmt or fmt
        if _missing(lo) or _missing(hi) or band_fmt(lo) == band_fmt(hi) == text:   # '100% (100% to 100%)'
            return text
        return text + t(key, lang, lo=band_fmt(lo), hi=band_fmt(hi))
    num = (lambda x: t("not_available", lang) if _missing(x) else f"{x:,.1f}")
    cur = (lambda x: money(x, currency, lang))
    return t("brief_numbers", lang, margin=cur(v.get("margin_12m")),
             p_alive=between("p_alive", lambda x: pct(x, 0, lang), "p_alive", "brief_band_expected"),   # no range
             purchases=between("expected_purchases_12m", num, "purchases_12m", "brief_band", lambda x: f"{x:,.0f}"),
             months=months(horizon_months, lang),
             clv=cur(v.get("clv")), band="" if _missing(v.get("clv_lower")) else t(
                 "brief_band", lang, lo=cur(v.get("clv_lower")), hi=cur(v.get("clv_upper"))),
             share=pct(v.get("share_of_manager_margin"), 1, lang))


def _people(brief, lang: str, show_contact_details: bool) -> str:
    head = f"<h3>{_e(t('brief_people', lang))}</h3>"
    p = brief.people
    if p is None:
        return head + f"<p class='kb-note'>{_e(t('brief_people_no_table', lang))}</p>"
    if not len(p):
        return head + f"<p class='kb-note'>{_e(t('brief_people_none', lang))}</p>"
    known = p.attrs.get("meetings_known", True)
    cols = ["brief_col_contact", "brief_col_role", "brief_col_title", "brief_col_last_met", "brief_col_phone",
            "brief_col_email"]
    rows = []
    for _, c in p.iterrows():
        phone, email = contact_details(c.get("phone"), c.get("email"), show_contact_details)
        last = (t("not_available", lang) if not known else t("brief_never", lang) if _missing(c["last_met"])
                else day(c["last_met"], lang))
        role = t(f"role_{c['role']}", lang)
        cls = " class='dm'" if c["decision_maker"] else ""
        rows.append(f"<tr><td{cls}>{_e(c['name'])}</td><td>{_e(role)}</td>"
                    f"<td>{_e('' if _missing(c.get('title')) else c.get('title'))}</td><td>{_e(last)}</td>"
                    f"<td>{_e(phone)}</td><td>{_e(email)}</td></tr>")
    note = [] if known else [_e(t("brief_meetings_unknown", lang))]
    if not show_contact_details:
        note.append(with_code(t("brief_masked_note", lang, setting=CONTACT_SETTING), CONTACT_SETTING))
    return (head + "<table class='kb-t'><tr>" + "".join(f"<th>{_e(t(c, lang))}</th>" for c in cols) + "</tr>"
            + "".join(rows) + "</table>" + "".join(f"<div class='kb-note'>{n}</div>" for n in note))


def _since(brief, lang: str, currency: str) -> str:
    s = brief.since
    if s is None:
        return ""
    cur = (lambda x: money(x, currency, lang))
    if s["last_visit"] is not None:
        names = ", ".join(f"{n} ({t(f'role_{r}', lang)})" for n, r in s["met"])
        title = t("brief_since_visit", lang, date=day(s["last_visit"], lang),
                  met=t("brief_since_met", lang, names=names) if names else "")
    else:
        from ..analysis.brief_items import NO_VISIT_DAYS
        title = t("brief_since_no_visit", lang, days=NO_VISIT_DAYS)
    o = s["orders"]
    lines = [t("brief_since_orders", lang, n=count(o["orders"], lang), revenue=cur(o["revenue"]), margin=cur(o["margin"]),
               date=day(o["last_order"], lang), categories=", ".join(str(tv(c, lang)) for c in o["categories"]))
             if o["orders"] else t("brief_since_no_orders", lang)]
    for part, table, key, fmt in (
            ("complaints", "interactions", "brief_since_complaints", lambda d: d),
            ("payments", "payments", "brief_since_payments",
             lambda d: {"n": counted(d["invoices"], "invoice", lang), "amount": cur(d["amount"])}),
            ("opportunities", "opportunities", "brief_since_opportunities",
             lambda d: {**d, "new_amount": cur(d["new_amount"]), "won_amount": cur(d["won_amount"]),
                        "lost_amount": cur(d["lost_amount"])})):
        if s[part] is None:
            lines.append(t("brief_since_not_available", lang, part=t(f"brief_part_{part}", lang),
                           table=tv(table, lang)))
        else:
            lines.append(t(key, lang, **fmt(s[part])))
    return f"<h3>{_e(title)}</h3><ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>"


def _open_items(brief, lang: str, currency: str) -> str:
    head = f"<h3>{_e(t('brief_open_items', lang))}</h3>"
    items = brief.open_items
    absent = {"payments": brief.invoices is None, "interactions": brief.complaints is None,
              "opportunities": brief.opportunities is None}                  # the brief's table was missing
    missing = [tv(n, lang) for n, gone in absent.items() if gone]
    note = (f"<div class='kb-note'>{_e(t('brief_items_not_available', lang, tables=', '.join(missing)))}</div>"
            if missing else "")
    if items is None or not len(items):
        return head + f"<p>{_e(t('brief_no_open_items', lang))}</p>" + note
    lines = []
    for kind, g in items.groupby("kind", sort=False):
        for _, r in g.head(ITEMS_SHOWN).iterrows():
            lines.append(t(f"brief_item_{kind}", lang, ref=_e(r["ref"]), amount=money(r["amount"], currency, lang),
                           date=day(r["since"], lang), days=days(r["age_days"], lang),
                           stage=tv(r["stage"], lang) if not _missing(r["stage"]) else "—"))
        rest = g.iloc[ITEMS_SHOWN:]
        if len(rest):
            lines.append(t("brief_items_more_complaints", lang, n=len(rest)) if kind == "open_complaint" else
                         t("brief_items_more", lang, n=len(rest), amount=money(rest["amount"].sum(), currency, lang)))
    return head + "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>" + note


def _talking_points(brief, lang: str, currency: str) -> str:
    head = f"<h3>{_e(t('brief_talking_points', lang))}</h3>"
    points = []
    todo = brief.actions.head(POINTS_SHOWN)
    if len(todo):
        for (_, a), why in zip(todo.iterrows(), reasons(todo, lang)):
            points.append(f"{tv(a['kind'], lang)}: " + t("brief_point_money", lang, reason=why,
                                                         money=money(a["money_at_stake"], currency, lang)))
    ws = brief.whitespace
    if ws is not None and len(ws):
        named = set(d.get("category") for d in todo["detail"] if isinstance(d, dict)) if len(todo) else set()
        more = [str(tv(c, lang)) for c in ws.sort_values("potential", ascending=False)["product_category"]
                if c not in named][:3]
        if more:
            points.append(t("brief_point_whitespace", lang, categories=", ".join(more)))
    strategy = brief.value.get("strategy")
    if isinstance(strategy, str):
        points.append(t("brief_strategy", lang, strategy=tv(strategy, lang), actions=ACTIONS[strategy][lang]))
    if not points:
        return head + f"<p>{_e(t('brief_no_talking_points', lang))}</p>"
    return head + "<ol>" + "".join(f"<li>{_e(p)}</li>" for p in points) + "</ol>"


def render_brief(brief, *, lang: str = "en", currency: str = "CNY", horizon_months: int = 36,
                 show_contact_details: bool = False) -> str:
    """The brief of one account as an HTML fragment (its own styles; fits one A4 page). A part whose table is
    missing says so, never shows zero; phone and e-mail are masked unless ``show_contact_details``."""
    p = brief.profile
    name = p.get("name", brief.account_id)
    strategy = brief.value.get("strategy")
    tags = [tv(p.get("tier"), lang), p.get("account_manager"),
            tv(strategy, lang) if isinstance(strategy, str) else None, tv(p.get("industry"), lang),
            tv(p.get("region"), lang), tv(p.get("enterprise_type"), lang),
            t("brief_head_credit", lang, rating=p.get("credit_rating")) if not _missing(p.get("credit_rating")) else None]
    alerts = brief.alerts or []
    chips = ("".join(f"<span class='kb-alert'>{_e(_alert_text(k, v, lang, currency))}</span>" for k, v in alerts)
             if alerts else f"<span class='kb-ok'>{_e(t('brief_no_alert', lang))}</span>")
    service = ""
    if brief.visits is not None:
        service = t("brief_visits", lang, visits=count(brief.visits["visits"], lang),
                    weeks=count(brief.visits["weeks"], lang), required=f"{brief.visits['required']:,.0f}")
    return (f"<div class='kb' lang='{'zh-CN' if lang == 'zh' else 'en'}'>{CSS}"
            f"<div class='kb-name'>{_e(name)} <span class='kb-id'>{_e(brief.account_id)}</span></div>"
            f"<div class='kb-tags'>{' · '.join(_e(x) for x in tags if x)}</div>"
            f"<div class='kb-alerts'>{chips}</div>"
            f"<div class='kb-numbers'>{_e(_numbers(brief, lang, currency, horizon_months))}</div>"
            f"{_people(brief, lang, show_contact_details)}"
            f"<div class='kb-cols'><div>{_since(brief, lang, currency)}</div>"
            f"<div>{_open_items(brief, lang, currency)}</div></div>"
            f"{_talking_points(brief, lang, currency)}"
            + (f"<div class='kb-note'>{_e(service)}</div>" if service else "") + "</div>")


def show_brief(ctx, brief, *, horizon_months: int, figure: bool = False, level: int = 2,
               show_contact_details: bool = False, standalone: bool = False) -> None:
    """Show the brief of one account (:func:`render_brief`) followed by a print page break; ``standalone``: the
    page is this brief only (``kam brief``), printed on one A4 page. ``figure``: also its 24 months of revenue
    and margin (for analysts; not part of the printed page). ``level`` is kept for callers' compatibility."""
    from IPython.display import HTML, display
    del level
    page = render_brief(brief, lang=ctx.lang, currency=ctx.currency, horizon_months=horizon_months,
                        show_contact_details=show_contact_details)
    display(HTML((PAGE_CSS if standalone else "") + page))
    if figure:
        from ..figures import portfolio as portfolio_figures
        ctx.show(portfolio_figures.account_months(brief.monthly, brief.categories,
                                                  name=str(brief.profile.get("name", "")), currency=ctx.currency,
                                                  lang=ctx.lang))
    if not standalone:
        display(HTML(PAGE_BREAK))
