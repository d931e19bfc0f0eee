"""Figures of the manager reports and account briefs: 24 months of margin, an account's months and categories."""
from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from ..text.i18n import t, tv
from .style import money_axis, shorten


def margin_trend(monthly: pd.Series, *, manager: str, currency: str, lang: str = "en"):
    """A manager's portfolio gross margin per month. Drawn for every manager of a batch (1,300 at a large
    distributor), so laid out by fixed margins and quarterly month ticks rather than measured text (half
    the time: tight layout, automatic date ticks and title placement measure every label)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.bar(pd.to_datetime(monthly.index), monthly.to_numpy(), width=20, color="C0")
    money_axis(ax, currency=currency, lang=lang)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.set_title(t("portfolio_margin_title", lang, manager=shorten(manager, 30)), y=1.0, pad=6)
    ax.set_xlabel(t("month", lang))
    ax.set_ylabel(t("gross_margin", lang))
    fig.subplots_adjust(left=0.115, right=0.985, top=0.89, bottom=0.17)
    return fig


def account_months(monthly: pd.DataFrame, categories: pd.DataFrame, *, name: str, currency: str,
                   lang: str = "en"):
    """Left: revenue and gross margin per month, last 24 months; right: gross margin by product category
    (money axes in the report's units)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4), width_ratios=[2, 1])
    x = pd.to_datetime(monthly.index)
    ax1.bar(x, monthly["revenue"], width=20, color="C0", label=t("revenue", lang))
    ax1.bar(x, monthly["gross_margin"], width=12, color="C1", label=t("gross_margin", lang))
    ax1.set_title(t("brief_months_title", lang, name=shorten(name, 36)))
    ax1.set_xlabel(t("month", lang))
    money_axis(ax1, currency=currency, lang=lang)
    ax1.set_ylabel(t("amount", lang))
    ax1.legend(loc="upper left", fontsize=8)
    top = categories.head(8).iloc[::-1]
    ax2.barh([shorten(str(tv(c, lang)), 16) for c in top.index], top["gross_margin"], color="C1")
    money_axis(ax2, "x", currency=currency, lang=lang)
    ax2.set_title(t("brief_categories_title", lang))
    ax2.set_xlabel(t("gross_margin", lang))
    fig.tight_layout()
    return fig
