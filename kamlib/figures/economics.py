"""Figures of the retention-vs-acquisition notebook: cohorts, survival, hazard ratios, what-ifs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..text.i18n import header, t, tv
from .style import money_axis, plain_log_ticks


def cohort_heatmap(table: pd.DataFrame, *, title_key: str, lang: str = "en", fmt: str = ".0%"):
    """A cohort triangle (cohort x age in quarters) as a heatmap."""
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(table) + 2))
    sns.heatmap(table, annot=table.size <= 150, fmt=fmt, cmap="viridis", ax=ax,
                cbar_kws={"label": t(title_key, lang)}, annot_kws={"size": 7})
    ax.set_title(t(title_key, lang))
    ax.set_xlabel(t("age_quarters", lang))
    ax.set_ylabel(t("cohort", lang))
    fig.tight_layout()
    return fig


def survival_curves(km: pd.DataFrame, *, group_label: str, lang: str = "en"):
    """Kaplan-Meier curves with 95% bands, time in months."""
    fig, ax = plt.subplots()
    for g, sub in km.groupby("group"):
        months = sub["time_days"] / 30.4375
        ax.step(months, sub["survival"] * 100, where="post", label=str(tv(g, lang)))
        ax.fill_between(months, sub["lower"] * 100, sub["upper"] * 100, step="post", alpha=0.15)
    ax.set_ylim(0, 101)
    ax.set_title(t("km_title", lang, group=group_label))
    ax.set_xlabel(t("months_since_acquisition", lang))
    ax.set_ylabel(t("still_active_pct", lang))
    ax.legend(title=group_label)
    fig.tight_layout()
    return fig


def forest(hr: pd.DataFrame, *, lang: str = "en"):
    """Hazard ratios with 95% intervals on a log axis."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(hr) + 1.5))
    y = np.arange(len(hr))[::-1]
    ax.errorbar(hr["hazard_ratio"], y, xerr=[hr["hazard_ratio"] - hr["lower"], hr["upper"] - hr["hazard_ratio"]],
                fmt="o", capsize=3)
    ax.axvline(1, color="0.5", ls=":")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis, subs=(1, 2, 5))
    ax.set_yticks(y, [header(c, lang) for c in hr.index])
    ax.set_title(t("forest_title", lang))
    ax.set_xlabel(t("hazard_ratio_axis", lang))
    fig.tight_layout()
    return fig


def tornado(table: pd.DataFrame, *, currency: str, change: float, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    ax.barh(y, table["low"], color="C3", label=t("input_minus", lang, pct=f"{change:.0%}"))
    ax.barh(y, table["high"], color="C2", label=t("input_plus", lang, pct=f"{change:.0%}"))
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(y, [t(f"input_{i}", lang) for i in table.index])
    ax.set_title(t("tornado_title", lang))
    money_axis(ax, "x", currency=currency, lang=lang)
    ax.set_xlabel(t("ce_change_axis", lang, currency=currency))
    ax.legend()
    fig.tight_layout()
    return fig


def budget_curve(curve: pd.DataFrame, *, currency: str, lang: str = "en"):
    fig, ax = plt.subplots()
    ax.plot(curve.index * 100, curve["customer_equity"])
    best = curve[curve["optimal"]].index[0]
    ax.axvline(best * 100, color="C3", ls="--", label=t("optimal_share", lang, pct=f"{best:.0%}"))
    ax.set_title(t("budget_title", lang))
    ax.set_xlabel(t("acquisition_share_axis", lang))
    money_axis(ax, currency=currency, lang=lang)
    ax.set_ylabel(t("customer_equity", lang))
    ax.legend()
    fig.tight_layout()
    return fig
