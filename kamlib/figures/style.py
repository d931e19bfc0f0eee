"""Figures: one style, titles, axis labels with units, labels from the translation table."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from ..text.i18n import t, tv

PALETTE = "deep"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")


def cjk_font() -> str | None:
    """The first installed font that renders Chinese, or None."""
    from matplotlib import font_manager
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FONTS if f in names), None)
    if found is None:   # fonts installed after matplotlib built its cache: rescan once
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FONTS if f in names), None)
    return found


def use_style(lang: str = "en") -> None:
    """The report style; with ``lang='zh'`` a CJK font is selected (raises if none is installed)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (9, 4.5), "figure.dpi": 100,
                                                           "axes.titleweight": "bold"})
    if lang == "zh":
        font = cjk_font()
        if font is None:
            raise RuntimeError("no CJK font installed for Chinese plots: install Debian fonts-noto-cjk")
        matplotlib.rcParams["font.sans-serif"] = [font] + list(matplotlib.rcParams["font.sans-serif"])
        matplotlib.rcParams["axes.unicode_minus"] = False


def plain_log_ticks(axis, subs: tuple = (1.0,)) -> None:
    """Tick labels of a log or symlog axis as plain numbers (0.5, 1, 2, 10) instead of powers (10^0), at
    ``subs`` times each power of ten; no minor labels."""
    if axis.get_scale() == "log":
        axis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(mticker.NullFormatter())


def money_axis(ax, axis: str = "y", scale: float = 1e6) -> None:
    fmt = mticker.FuncFormatter(lambda v, _: f"{v / scale:,.1f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def monthly_trend(trend: pd.DataFrame, *, currency: str, lang: str = "en"):
    """Revenue and gross margin by month (millions of currency), active accounts below."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, height_ratios=[2, 1])
    ax.plot(trend.index, trend["revenue"], marker="o", ms=3, label=t("revenue", lang))
    ax.plot(trend.index, trend["gross_margin"], marker="o", ms=3, label=t("gross_margin", lang))
    money_axis(ax)
    ax.set_title(t("monthly_trend", lang))
    ax.set_ylabel(t("in_millions", lang, label=t("amount", lang), currency=currency))
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
    money_axis(ax2, "x")
    ax2.set_title(t("by_attribute", lang, attr=t(by, lang)))
    ax2.set_xlabel(t("in_millions", lang, label=t("revenue_12m", lang), currency=currency))
    ax2.set_ylabel("")
    fig.tight_layout()
    return fig


def top_accounts_bar(top: pd.DataFrame, *, currency: str, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(top) + 1.5))
    sns.barplot(x=top["revenue"].to_numpy(), y=top["name"].to_numpy(), ax=ax, hue=top["tier"].map(lambda v: tv(v, lang)).to_numpy(),
                dodge=False)
    money_axis(ax, "x")
    ax.set_title(t("top_accounts", lang))
    ax.set_xlabel(t("in_millions", lang, label=t("revenue_12m", lang), currency=currency))
    ax.set_ylabel(t("account", lang))
    ax.legend(title=t("tier", lang), loc="lower right")
    fig.tight_layout()
    return fig
