"""Figures of the account-manager scorecard notebook."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..text.i18n import t, tv
from .style import fit_axis, money_axis, ordered


def win_rates(rates: pd.DataFrame, *, lang: str = "en"):
    """Win rate of existing vs new accounts with 95% intervals and the rule-of-thumb values."""
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [t("existing_accounts" if flag else "new_accounts_short", lang) for flag in rates.index]
    x = np.arange(len(rates))
    ax.bar(x, rates["win_rate"] * 100, yerr=[(rates["win_rate"] - rates["lower"]) * 100,
                                              (rates["upper"] - rates["win_rate"]) * 100], capsize=6)
    for xi, flag in zip(x, rates.index):                 # rule-of-thumb lines drawn over the bars, wide
        ax.hlines(50 if flag else 15, xi - 0.48, xi + 0.48, colors="C3", linestyles="--", lw=2.5, zorder=5)
    fit_axis(ax, float(max(100 * rates["upper"].max(), 50)))
    ax.set_xticks(x, labels)
    ax.set_title(t("win_rate_title", lang))
    ax.set_ylabel(t("win_rate_pct", lang))
    ax.set_xlabel(t("rule_dashed", lang))
    fig.tight_layout()
    return fig


def ageing(table: pd.DataFrame, *, currency: str, lang: str = "en"):
    """Open receivables by credit rating (best first), stacked by days past due; the axis shows the tallest
    stack."""
    fig, ax = plt.subplots()
    table = table.reindex(ordered(table.index))
    bottom = np.zeros(len(table))
    for col in table.columns:
        ax.bar([str(tv(v, lang)) for v in table.index], table[col], bottom=bottom, label=t(f"bucket_{col}", lang))
        bottom += table[col].to_numpy()
    fit_axis(ax, float(bottom.max()) if len(bottom) else 0.0)
    money_axis(ax, currency=currency, lang=lang)
    ax.set_title(t("ageing_title", lang))
    ax.set_xlabel(t("credit_rating", lang))
    ax.set_ylabel(t("receivables", lang))
    ax.legend(title=t("days_past_due", lang))
    fig.tight_layout()
    return fig


def complaint_funnel(summary: dict, *, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    n = summary["complaints"]
    values = [n, n * summary["resolved_share"], n * summary["first_contact_share"]]
    labels = [t("complaints", lang), t("resolved", lang), t("first_contact", lang)]
    ax.barh(labels[::-1], values[::-1])
    ax.set_title(t("complaint_funnel_title", lang))
    ax.set_xlabel(t("complaints_12m", lang))
    fig.tight_layout()
    return fig


MAX_PANELS = 24      # a book with more managers shows the best and the lowest ranked (each has its own page)


def manager_panels(margin: pd.DataFrame, card: pd.DataFrame, *, currency: str, lang: str = "en"):
    """One small panel per manager: monthly margin, with retention, compliance and DSO in the title. With more
    than :data:`MAX_PANELS` managers, the first and last half of them in the scorecard's order (rank): a grid
    of every manager of a large team (hundreds) would be metres tall and take minutes to draw."""
    names = [m for m in card.index if m in margin.index]
    everyone = len(names)
    if everyone > MAX_PANELS:
        names = names[:MAX_PANELS // 2] + names[-(MAX_PANELS // 2):]
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(14, 2.8 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        ax.plot(margin.columns, margin.loc[name])
        money_axis(ax, currency=currency, lang=lang)
        c = card.loc[name]
        parts = [f"{t('retention_rate', lang)} {c['retention_rate']:.0%}"]
        if "visit_compliance" in c and pd.notna(c["visit_compliance"]):
            parts.append(f"{t('compliance_rate', lang)} {c['visit_compliance']:.0%}")
        if "dso_days" in c and pd.notna(c["dso_days"]):
            parts.append(t("dso_panel", lang, days=f"{c['dso_days']:.0f}"))
        ax.set_title(f"{name}\n" + " · ".join(parts), fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    fig.suptitle(t("panels_title", lang) if everyone <= MAX_PANELS else
                 t("panels_title_some", lang, n=MAX_PANELS // 2, managers=everyone))
    fig.supylabel(t("gross_margin", lang))
    fig.supxlabel(t("month", lang))
    fig.tight_layout()
    return fig
