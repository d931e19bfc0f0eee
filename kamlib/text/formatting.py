"""Number formatting for narrative sentences and tables (so prose is built from computed values)."""
from __future__ import annotations

import math


def money(value: float | None, currency: str = "CNY", lang: str = "en") -> str:
    """``money(12_345_678, 'CNY')`` -> 'CNY 12.3M' (zh: '1234.6万 CNY')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a" if lang == "en" else "无"
    v = float(value)
    if lang == "zh":
        if abs(v) >= 1e8:
            return f"{v / 1e8:,.2f}亿{currency}"
        if abs(v) >= 1e4:
            return f"{v / 1e4:,.1f}万{currency}"
        return f"{v:,.0f}{currency}"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{currency} {v / div:,.1f}{suffix}"
    return f"{currency} {v:,.0f}"


def pct(value: float | None, digits: int = 1) -> str:
    """0.1234 -> '12.3%'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def times(value: float, lang: str = "en") -> str:
    """A ratio as a multiple: 4.3 -> '4.3x' (zh: '4.3倍')."""
    return f"{value:.1f}倍" if lang == "zh" else f"{value:.1f}x"


def p_value(p: float) -> str:
    """A p-value as reported in prose: 'p = 0.010', and 'p < 0.001' below 0.001 (never 'p = 0')."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def number_format(values) -> str:
    """A format string that suits a column of numbers: whole numbers with thousands separators, else decimals
    by magnitude (1,234 / 12.3 / 1.23 / 0.012), or 3 significant digits when a column spans magnitudes
    (p-values) — one format per column, so digits line up."""
    import numpy as np
    v = np.asarray(values, dtype=float)
    v = np.abs(v[np.isfinite(v)])
    if v.size == 0 or np.all(v == np.round(v)):
        return "{:,.0f}"
    top, small = v.max(), v[v > 0].min() if np.any(v > 0) else 0.0
    if top >= 1000:
        return "{:,.0f}"
    if 0 < small < top / 1000:                  # spans magnitudes (e.g. p-values): significant digits
        return "{:.3g}"
    if top >= 10:
        return "{:,.1f}"
    if top >= 0.1:
        return "{:,.2f}"
    return "{:.2g}"


def count(value: int | float) -> str:
    return f"{int(round(value)):,}"


def months(n: int, lang: str = "en") -> str:
    """A number of calendar months as words: "1 month", "7 months"; "7个月"."""
    if lang == "zh":
        return f"{n}个月"
    return f"{n} month" if n == 1 else f"{n} months"
