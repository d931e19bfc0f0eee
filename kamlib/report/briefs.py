"""Showing an account brief in a notebook (``kam brief``, and a page per strategic and A account in a manager
report): sentences built from the brief's values, small tables, and a print page break after it."""
from __future__ import annotations

import math

import pandas as pd
from IPython.display import HTML, display

from ..analysis.actions import reasons
from ..analysis.segmentation import ACTIONS
from ..figures import portfolio as portfolio_figures
from ..text.formatting import count, counted, due_relative, pct
from ..text.i18n import tv

PAGE_BREAK = '<div style="break-after: page; page-break-after: always"></div>'


def _num(value, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def show_brief(ctx, brief, *, horizon_months: int, figure: bool = True, level: int = 2) -> None:
    """The brief of one account: profile, value, 24 months, service, money owed, pipeline, strategy, actions."""
    p = brief.profile.map(lambda x: x.date().isoformat() if isinstance(x, pd.Timestamp) else x)
    v = brief.value
    ctx.heading("brief_title", level=level, name=str(p.get("name", brief.account_id)), id=brief.account_id)
    display(ctx.table(p.rename(ctx.header).to_frame(ctx.t("value")).astype(str)))
    band = (ctx.t("brief_band", lo=ctx.money(v["clv_lower"]), hi=ctx.money(v["clv_upper"]))
            if pd.notna(v.get("clv_lower")) else "")
    def between(name: str, fmt) -> str:         # 'x (95% band a to b)' when the brief has a band for it
        lo, hi = v.get(f"{name}_lower"), v.get(f"{name}_upper")
        return fmt(v.get(name)) + (ctx.t("brief_band", lo=fmt(lo), hi=fmt(hi)) if pd.notna(lo) else "")
    ctx.say("brief_value_sentence", margin=ctx.money(v.get("margin_12m")), share=pct(v["share_of_manager_margin"]),
            manager=str(p.get("account_manager", "")), p_alive=between("p_alive", pct),
            purchases=between("expected_purchases_12m", _num), months=horizon_months,
            clv=ctx.money(v.get("clv")), band=band,
            strategy=tv(v.get("strategy"), ctx.lang) if pd.notna(v.get("strategy")) else "—")
    if figure:
        ctx.show(portfolio_figures.account_months(brief.monthly, brief.categories, name=str(p.get("name", "")),
                                                  currency=ctx.currency, lang=ctx.lang))
    if brief.complaints is None:          # no interactions table: visits and complaints unknown
        ctx.say("brief_no_table", table=tv("interactions", ctx.lang))
    if brief.visits is not None:          # (none for an account not yet a full week in the book)
        ctx.say("brief_visits", visits=count(brief.visits["visits"]), weeks=count(brief.visits["weeks"]),
                required=_num(brief.visits["required"], 0))
    if brief.complaints is not None:
        c = brief.complaints
        if c["complaints"]:
            ctx.say("brief_complaints", n=count(c["complaints"]), resolved=count(c["resolved"]),
                    open=count(c["open"]), days=_num(c["median_resolution_days"], 0))
        else:
            ctx.say("brief_no_complaints")
    if brief.invoices is not None:
        i = brief.invoices
        ctx.say("brief_invoices", open=ctx.money(i["open_amount"]), overdue=ctx.money(i["overdue_amount"]),
                n=counted(i["overdue_invoices"], "invoice", ctx.lang), late=due_relative(i["average_days_late"], ctx.lang))
    if brief.opportunities is not None:
        o = brief.opportunities
        ctx.say("brief_opportunities", open=count(o["open"]), won=count(o["won"]), lost=count(o["lost"]))
    if pd.notna(v.get("strategy")):
        ctx.say("brief_strategy", strategy=tv(v["strategy"], ctx.lang), actions=ACTIONS[v["strategy"]][ctx.lang])
    if len(brief.actions):
        table = brief.actions.assign(reason=reasons(brief.actions, ctx.lang))[["kind", "money_at_stake", "reason"]]
        display(ctx.table(table, money_cols=("money_at_stake",), index=False))
    if len(brief.whitespace):
        display(ctx.table(brief.whitespace.set_index("product_category")[["status", "margin", "peer_median_margin",
                                                                          "opportunity"]],
                          money_cols=("margin", "peer_median_margin", "opportunity")))
    display(HTML(PAGE_BREAK))
