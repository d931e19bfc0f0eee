"""Numbers, money, percentages and durations in the report language (so prose is built from computed values).

Locale rules come from Babel (CLDR): compact forms (CN¥12.3M; ¥1234.6万, ¥3.4亿), currency symbols, grouping,
percent signs, unit words. The report language's CLDR locale is named in its locale file
(``locales/<lang>.yaml``: ``cldr_locale``). House style, where it differs from CLDR, is kept here only:
missing values read as "n/a" / "无", multiples as "4.3x" / "4.3倍", p-values never as "p = 0".
"""
from __future__ import annotations

import math

from babel.dates import format_date, format_skeleton
from babel.numbers import format_compact_currency, format_decimal, format_percent
from babel.units import format_unit

from .i18n import CLDR_LOCALES

MISSING = {"en": "n/a", "zh": "无"}   # house style for a value that is missing


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _locale(lang: str) -> str:
    return CLDR_LOCALES[lang]


def money(value: float | None, currency: str = "CNY", lang: str = "en") -> str:
    """An amount in compact form with the currency's symbol: ``money(12_345_678, 'CNY')`` -> 'CN¥12.3M'
    (zh: '¥1234.6万'; 3.4e8 -> '¥3.4亿')."""
    if _missing(value):
        return MISSING.get(lang, "n/a")
    return format_compact_currency(float(value), currency, locale=_locale(lang), fraction_digits=1)


def pct(value: float | None, digits: int = 1, lang: str = "en") -> str:
    """0.1234 -> '12.3%'."""
    if _missing(value):
        return MISSING.get(lang, "n/a")
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return format_percent(float(value), pattern, locale=_locale(lang))


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


def count(value: int | float, lang: str = "en") -> str:
    """A whole number with the locale's grouping: 12345 -> '12,345'."""
    return format_decimal(int(round(value)), locale=_locale(lang))


def months(n: int, lang: str = "en") -> str:
    """A number of calendar months as words: "1 month", "7 months"; "7个月"."""
    text = format_unit(n, "duration-month", length="long", locale=_locale(lang))
    if "duration-month" in text:   # Babel's zh data has no long form; the short one ('7个月') is the full word
        text = format_unit(n, "duration-month", length="short", locale=_locale(lang))
    return text


def month(period, lang: str = "en") -> str:
    """A calendar month in words: '2026-10' -> 'October 2026' (zh: '2026年10月')."""
    import pandas as pd
    return format_skeleton("yMMMM", pd.Period(str(period), freq="M").to_timestamp(), locale=_locale(lang))


def day(value, lang: str = "en") -> str:
    """A date in the locale's medium form: 'Sep 30, 2025' (zh: '2025年9月30日')."""
    import pandas as pd
    return format_date(pd.Timestamp(value).date(), format="medium", locale=_locale(lang))
