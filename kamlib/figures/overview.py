"""Figures of the account-overview report: monthly trend, breakdowns, top accounts."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..text.i18n import t, tv
from .style import PALETTE, money_axis, shorten


def monthly_trend(trend: pd.DataFrame, *, currency: str, lang: str = "en"):
    """Revenue and gross margin by month (money axis in the report's units), active accounts below."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, height_ratios=[2, 1])
    ax.plot(trend.index, trend["revenue"], marker="o", ms=3, label=t("revenue", lang))
    ax.plot(trend.index, trend["gross_margin"], marker="o", ms=3, label=t("gross_margin", lang))
    money_axis(ax, currency=currency, lang=lang)
    ax.set_title(t("monthly_trend", lang))
    ax.set_ylabel(t("amount", lang))
    ax.legend(loc="upper left")
    ax2.bar(trend.index, trend["active_accounts"], width=20, color="0.55")
    ax2.set_title(t("active_by_month", lang))
    ax2.set_ylabel(t("accounts", lang))
    ax2.set_xlabel(t("month", lang))
    fig.tight_layout()
    return fig


def breakdown_bars(table: pd.DataFrame, by: str, *, currency: str, lang: str = "en"):
    """Accounts and 12-month revenue per value of an account attribute, side by side."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(3, 0.45 * len(table) + 1.5)))
    labels = [str(tv(v, lang)) for v in table.index][::-1]
    ax1.barh(labels, table["accounts"].to_numpy()[::-1], color=sns.color_palette(PALETTE)[0])
    ax1.set_title(t("accounts_by_attribute", lang, attr=t(by, lang)))
    ax1.set_xlabel(t("accounts", lang))
    ax1.set_ylabel(t(by, lang))
    ax2.barh(labels, table["revenue"].to_numpy()[::-1], color=sns.color_palette(PALETTE)[1])
    money_axis(ax2, "x", currency=currency, lang=lang)
    ax2.set_title(t("by_attribute", lang, attr=t(by, lang)))
    ax2.set_xlabel(t("revenue_12m", lang))
    ax2.set_ylabel("")
    fig.tight_layout()
    return fig


def top_accounts_bar(top: pd.DataFrame, *, currency: str, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(top) + 1.5))
    names = [shorten(n, 28) for n in top["name"]]
    sns.barplot(x=top["revenue"].to_numpy(), y=names, ax=ax, hue=top["tier"].map(lambda v: tv(v, lang)).to_numpy(),
                dodge=False)
    money_axis(ax, "x", currency=currency, lang=lang)
    ax.set_title(t("top_accounts", lang))
    ax.set_xlabel(t("revenue_12m", lang))
    ax.set_ylabel(t("account", lang))
    ax.legend(title=t("tier", lang), loc="lower right")
    fig.tight_layout()
    return fig
