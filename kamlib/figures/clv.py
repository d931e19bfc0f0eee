"""Figures of the CLV notebook: model checks, CLV distribution and bands."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..text.i18n import t
from .style import money_axis


def tracking(track: pd.DataFrame, cal_end, *, lang: str = "en"):
    """Cumulative repeat purchases, actual vs model, with the end of calibration marked."""
    fig, ax = plt.subplots()
    ax.plot(track.index, track["actual"], label=t("actual", lang))
    ax.plot(track.index, track["expected"], ls="--", label=t("expected", lang))
    ax.axvline(pd.Timestamp(cal_end), color="0.4", lw=1)
    ax.annotate(t("calibration_end_label", lang), (pd.Timestamp(cal_end), ax.get_ylim()[1] * 0.05),
                rotation=90, ha="right", color="0.3")
    ax.set_title(t("tracking_title", lang))
    ax.set_xlabel(t("date", lang))
    ax.set_ylabel(t("frequency", lang))
    ax.legend()
    fig.tight_layout()
    return fig


def holdout_and_histogram(by_freq: pd.DataFrame, hist: pd.DataFrame, *, lang: str = "en"):
    """Left: mean holdout purchases by calibration frequency; right: frequency histogram, actual vs model."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(by_freq))
    ax1.plot(x, by_freq["actual"], marker="o", label=t("actual", lang))
    ax1.plot(x, by_freq["expected"], marker="s", ls="--", label=t("expected", lang))
    ax1.set_xticks(x, by_freq.index)
    ax1.set_title(t("holdout_title", lang))
    ax1.set_xlabel(t("calibration_frequency", lang))
    ax1.set_ylabel(t("mean_holdout_purchases", lang))
    ax1.legend()
    x = np.arange(len(hist))
    ax2.bar(x - 0.2, hist["actual"], width=0.4, label=t("actual", lang))
    ax2.bar(x + 0.2, hist["model"], width=0.4, label=t("expected", lang))
    ax2.set_xticks(x, hist.index)
    ax2.set_title(t("histogram_title", lang))
    ax2.set_xlabel(t("calibration_frequency", lang))
    ax2.set_ylabel(t("accounts", lang))
    ax2.legend()
    fig.tight_layout()
    return fig


def clv_distribution(clv: pd.Series, *, currency: str, lang: str = "en"):
    """Histogram of account CLV on a log scale (accounts with CLV below 1 currency unit are left out)."""
    fig, ax = plt.subplots()
    v = clv[clv >= 1]
    ax.hist(v, bins=np.logspace(0, np.log10(max(v.max(), 10)), 40))
    ax.set_xscale("log")
    ax.set_title(t("clv_distribution", lang))
    money_axis(ax, "x", currency=currency, lang=lang)
    ax.set_xlabel(t("clv_axis", lang, currency=currency))
    ax.set_ylabel(t("accounts", lang))
    fig.tight_layout()
    return fig


def top_clv_bands(top: pd.DataFrame, *, currency: str, lang: str = "en"):
    """Top accounts by CLV with the range of each account's value (``clv_lower`` / ``clv_upper``: its 90%
    prediction interval; points only when there are none)."""
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(top) + 1.5))
    y = np.arange(len(top))[::-1]
    bands = bool(top[["clv_lower", "clv_upper"]].notna().all().all())
    err = np.vstack([top["clv"] - top["clv_lower"], top["clv_upper"] - top["clv"]]) if bands else None
    ax.errorbar(top["clv"], y, xerr=err, fmt="o", capsize=3)
    ax.set_yticks(y, top["name"])
    ax.set_title(t("clv_top" if bands else "clv_top_points", lang))
    money_axis(ax, "x", currency=currency, lang=lang)
    ax.set_xlabel(t("clv", lang))
    fig.tight_layout()
    return fig
