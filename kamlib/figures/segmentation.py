"""Figures of the segmentation notebook: Lorenz and whale curves, strategy matrix, compliance, clusters."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..analysis import concentration
from ..text.i18n import t
from .style import money_axis


def lorenz_and_whale(frame: pd.DataFrame, *, lang: str = "en"):
    """Left: Lorenz curves of window revenue and margin; right: whale curve of profit after cost-to-serve
    (left out when cost-to-serve is not available)."""
    whale = frame["profit_after_cost_to_serve"].notna().any()
    fig, axes = plt.subplots(1, 2 if whale else 1, figsize=(11 if whale else 6, 4.5), squeeze=False)
    ax1 = axes[0, 0]
    active = frame[frame["revenue"] > 0]
    for col in ("revenue", "gross_margin"):
        lc = concentration.lorenz_curve(active[col].clip(lower=0))
        ax1.plot(lc["account_share"] * 100, lc["value_share"] * 100, label=t(col, lang))
    ax1.plot([0, 100], [0, 100], color="0.6", ls=":", label=t("equality_line", lang))
    ax1.set_title(t("lorenz_title", lang))
    ax1.set_xlabel(t("cum_accounts_pct", lang))
    ax1.set_ylabel(t("cum_value_pct", lang))
    ax1.legend()
    if not whale:
        fig.tight_layout()
        return fig
    ax2 = axes[0, 1]
    wc = concentration.whale_curve(frame["profit_after_cost_to_serve"])
    ax2.plot(wc["account_share"] * 100, wc["cumulative_share"] * 100)
    peak = wc[wc["peak"]].iloc[0]
    ax2.scatter([peak["account_share"] * 100], [peak["cumulative_share"] * 100], color="C3", zorder=3)
    ax2.annotate(t("whale_peak", lang, pct=f"{peak['cumulative_share']:.0%}"),
                 (peak["account_share"] * 100, peak["cumulative_share"] * 100), textcoords="offset points",
                 xytext=(5, -15))
    ax2.axhline(100, color="0.6", ls=":")
    ax2.set_title(t("whale_title", lang))
    ax2.set_xlabel(t("cum_accounts_pct_by_profit", lang))
    ax2.set_ylabel(t("cum_profit_pct", lang))
    fig.tight_layout()
    return fig


def strategy_matrix(frame: pd.DataFrame, value_threshold: float, potential_threshold: float, *, currency: str,
                    potential_label: str, lang: str = "en"):
    """Value (window margin) against potential, quadrants labelled, bubble area = window margin."""
    fig, ax = plt.subplots(figsize=(9, 6.5))
    size = 10 + 300 * frame["gross_margin"].clip(lower=0) / max(frame["gross_margin"].max(), 1)
    names = frame["strategy"].map(lambda s: t(f"strategy_{s}", lang))
    # log axes with money ticks; accounts at or below zero (no margin or potential) sit on the axis floor, a
    # thousandth of the largest value, so every account is shown and no tick reads -0.01
    x, y = _floored(frame["gross_margin"]), _floored(frame["potential"])
    sns.scatterplot(x=x, y=y, hue=names, size=size, sizes=(10, 300), alpha=0.6, ax=ax, legend="brief")
    ax.axvline(max(value_threshold, x.min()), color="0.4", lw=1)
    ax.axhline(max(potential_threshold, y.min()), color="0.4", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x.min() / 1.5, x.max() * 2)
    ax.set_ylim(y.min() / 1.5, y.max() * 2)
    money_axis(ax, "x", currency=currency, lang=lang)
    money_axis(ax, "y", currency=currency, lang=lang)
    for key, (x, y, ha, va) in {"support_develop": (0.98, 0.98, "right", "top"),
                                "maintain_efficiently": (0.98, 0.02, "right", "bottom"),
                                "nurture_change": (0.02, 0.98, "left", "top"),
                                "cut_cost_exit": (0.02, 0.02, "left", "bottom")}.items():
        ax.text(x, y, t(f"strategy_{key}", lang), transform=ax.transAxes, ha=ha, va=va, fontweight="bold",
                color="0.25")
    handles, labels = ax.get_legend_handles_labels()          # the strategies (not seaborn's titles or sizes)
    strategies = set(names)
    keep = [i for i, label in enumerate(labels) if label in strategies]
    ax.legend([handles[i] for i in keep], [labels[i] for i in keep], title=t("strategy", lang),
              loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(t("strategy_matrix_title", lang))
    ax.set_xlabel(t("log_axis", lang, label=t("margin_12m", lang)))
    ax.set_ylabel(t("log_axis", lang, label=potential_label))
    fig.tight_layout()
    return fig


def _floored(values: pd.Series) -> pd.Series:
    """Values for a log axis: those at or below a floor (a thousandth of the largest, at least 1) raised to it."""
    top = float(values.max()) if len(values) and values.max() > 0 else 1.0
    return values.clip(lower=max(top / 1000, 1.0)).astype(float)


def compliance_by_manager(table: pd.DataFrame, *, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(table) + 1.5))
    ax.barh(table.index.astype(str), table["compliance_rate"] * 100)
    ax.set_xlim(0, 100)
    ax.set_title(t("compliance_title", lang))
    ax.set_xlabel(t("compliance_rate_pct", lang))
    ax.set_ylabel(t("account_manager", lang))
    fig.tight_layout()
    return fig


def silhouette(diag: pd.DataFrame, *, lang: str = "en"):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(diag.index, diag["silhouette"], marker="o")
    best = diag[diag["chosen"]].index[0]
    ax.scatter([best], [diag.loc[best, "silhouette"]], color="C3", zorder=3, s=60)
    ax.set_title(t("silhouette_title", lang))
    ax.set_xlabel(t("clusters_k", lang))
    ax.set_ylabel(t("silhouette_score", lang))
    fig.tight_layout()
    return fig


