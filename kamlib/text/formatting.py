"""Numbers, money, percentages and durations in the report language (so prose is built from computed values).

Locale rules come from Babel (CLDR): compact forms (CN¥12.3M; ¥1234.6万, ¥3.4亿), currency symbols, grouping,
percent signs, unit words. The report language's CLDR locale is named in its locale file
(``locales/<lang>.yaml``: ``cldr_locale``). House style, where it differs from CLDR, is kept here only:
missing values read as "n/a" / "无", multiples as "4.3x" / "4.3倍", p-values never as "p = 0".
"""
from __future__ import annotations

import functools
import math

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from .i18n import CLDR_LOCALES

MISSING = {"en": "n/a", "zh": "无"}   # house style for a value that is missing


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _locale(lang: str) -> str:
    return CLDR_LOCALES[lang]


def money(value: float | None, currency: str = "CNY", lang: str = "en", unit: float | None = None,
          digits: int | None = None) -> str:
    """An amount in compact form with the currency's symbol: ``money(12_345_678, 'CNY')`` -> 'CN¥12.3M'
    (zh: '¥1234.6万'; 3.4e8 -> '¥3.4亿'). Never more digits than the form allows: one decimal in a compact unit
    (trailing '.0' dropped), whole units below it from 10 on, cents below 10. ``unit`` (a divisor of the
    locale's compact forms, 1 for none) and ``digits`` fix the form, as :func:`money_column` does for a
    column; missing and infinite amounts read as "n/a" / "无"."""
    if _missing(value) or not math.isfinite(float(value)):
        return MISSING.get(lang, "n/a")
    value = float(value)
    units = compact_units(lang)
    if unit is None:
        unit = _unit_of(abs(value), units)
    fixed = digits is not None
    if digits is None:
        digits = 0 if value == 0 else _digits(abs(value), unit)    # nothing is 'CN¥0', not 'CN¥0.00'
    scaled = round(abs(value) / unit, digits)
    text = _number(scaled, digits, lang, units)
    if not fixed and digits and "." in text and set(text.rsplit(".", 1)[1]) == {"0"} and unit != 1:
        text = text.rsplit(".", 1)[0]                        # 'CN¥2.0M' reads 'CN¥2M' in prose
    symbol, prefix = _symbol(currency, lang)
    if scaled == 0 and unit != 1 and value == 0:                # an axis' zero reads '¥0', not '¥0万'
        text, unit = "0", 1.0
    sign = "-" if value < 0 and scaled != 0 else ""
    return f"{sign}{symbol}{text}{units.get(unit, '')}" if prefix else f"{sign}{text}{units.get(unit, '')}{symbol}"


def money_column(values, currency: str = "CNY", lang: str = "en"):
    """A formatter for one table column of amounts: one unit for the whole column (all K or all M; all 万 or
    all 亿), the unit of the column's typical (median) amount, and one number of decimals — so a reader
    compares rows digit by digit. Returns a function of one value."""
    import numpy as np
    v = np.abs(np.asarray(pd_values(values), dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    units = compact_units(lang)
    if v.size == 0:
        unit, digits = 1.0, 0
    else:
        typical = float(np.median(v))
        unit = _unit_of(typical, units)
        digits = 1 if unit != 1 else (0 if typical >= 10 else 2)
    return lambda x: money(x, currency, lang, unit=unit, digits=digits)


def money_unit(values, lang: str = "en") -> float:
    """The compact unit (divisor) that suits the largest of ``values`` (a chart axis' range)."""
    import numpy as np
    v = np.abs(np.asarray(pd_values(values), dtype=float))
    v = v[np.isfinite(v)]
    return _unit_of(float(v.max()), compact_units(lang)) if v.size else 1.0


def pd_values(values):
    """Values of a Series, Index, array or list as a flat list of floats (non-numbers as NaN)."""
    import pandas as pd
    return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype(float).to_numpy()


def compact_units(lang: str) -> dict[float, str]:
    """The locale's compact units from CLDR, divisor -> suffix: en {1: '', 1e3: 'K', 1e6: 'M', 1e9: 'B',
    1e12: 'T'}; zh {1: '', 1e4: '万', 1e8: '亿', 1e12: '万亿'}."""
    return dict(_compact_units(_locale(lang)))


@functools.lru_cache(maxsize=None)
def _compact_units(locale: str) -> tuple[tuple[float, str], ...]:
    from babel import Locale
    forms = Locale.parse(locale).compact_decimal_formats["short"]
    forms = forms.get("other", next(iter(forms.values())))
    units = {1.0: ""}
    for magnitude, pattern in forms.items():
        text = pattern.pattern if hasattr(pattern, "pattern") else str(pattern)
        zeros = text.count("0")
        suffix = text.replace("0", "").replace("'", "").strip()
        if suffix and zeros:
            units.setdefault(float(10 ** (len(magnitude) - zeros)), suffix)
    return tuple(sorted(units.items()))


def _digits(amount: float, unit: float) -> int:
    return 1 if unit != 1 else (0 if round(amount, 2) >= 10 else 2)


def _unit_of(amount: float, units: dict[float, str]) -> float:
    """The largest unit the amount reaches once rounded as it will be shown (999.6 -> 1K, 9999.96万 -> 1亿)."""
    chosen = 1.0
    for divisor in sorted(units)[1:]:
        shown = round(amount / chosen, _digits(amount, chosen)) * chosen
        if shown >= divisor * (1 - 1e-12):
            chosen = divisor
    return chosen


def _number(scaled: float, digits: int, lang: str, units: dict[float, str]) -> str:
    """Digits with the locale's decimal mark, grouped when the whole part is longer than the first compact
    unit's zeros (en from 1,000; zh from 1,0000 — CLDR's compact forms do not group within a unit)."""
    whole = int(scaled)
    text = f"{scaled:.{digits}f}"
    first = min((d for d in units if d > 1), default=1000.0)
    if len(str(whole)) > len(str(int(first))) - 1:
        text = f"{scaled:,.{digits}f}"
    decimal, group = _marks(_locale(lang))
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@functools.lru_cache(maxsize=None)
def _marks(locale: str) -> tuple[str, str]:
    """The locale's decimal and group marks (read once: a report formats thousands of amounts)."""
    from babel.numbers import get_decimal_symbol, get_group_symbol
    return get_decimal_symbol(locale), get_group_symbol(locale)


@functools.lru_cache(maxsize=None)
def _symbol(currency: str, lang: str) -> tuple[str, bool]:
    """The currency's symbol in the locale and whether it comes before the number."""
    from babel import Locale
    from babel.numbers import get_currency_symbol
    locale = _locale(lang)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    return get_currency_symbol(currency, locale=locale), pattern.lstrip().startswith("¤")


def pct(value: float | None, digits: int = 1, lang: str = "en") -> str:
    """0.1234 -> '12.3%'."""
    if _missing(value):
        return MISSING.get(lang, "n/a")
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return format_percent(float(value), pattern, locale=_locale(lang))


def times(value: float, lang: str = "en", digits: int = 1) -> str:
    """A ratio as a multiple: 4.3 -> '4.3x' (zh: '4.3倍'); ``digits`` after the point."""
    return f"{value:.{digits}f}倍" if lang == "zh" else f"{value:.{digits}f}x"


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


def days(n: float, lang: str = "en") -> str:
    """A number of days as words, rounded to whole days: "1 day", "6 days"; "6天"."""
    return format_unit(int(round(abs(n))), "duration-day", length="long" if lang == "en" else "short",
                       locale=_locale(lang))


def due_relative(n: float | None, lang: str = "en") -> str:
    """Days after (positive) or before (negative) a due date in words: "6 days late" / "逾期6天", "6 days
    early" / "提前6天", "on the due date" / "按期"."""
    from .i18n import t
    if _missing(n):
        return MISSING.get(lang, "n/a")
    whole = int(round(float(n)))
    if whole == 0:
        return t("due_on_time", lang)
    return t("due_late" if whole > 0 else "due_early", lang, days=days(whole, lang))


def counted(n: int | float, noun: str, lang: str = "en") -> str:
    """A count with its noun in the right plural form (CLDR plural rules): counted(1, 'invoice') ->
    '1 invoice', counted(3, 'invoice') -> '3 invoices' (zh: '3张发票'). Nouns are ``count_<noun>_one`` /
    ``count_<noun>_other`` in the locale files."""
    from babel import Locale
    from .i18n import t
    whole = int(round(n))
    form = "one" if Locale.parse(_locale(lang)).plural_form(whole) == "one" else "other"
    return t(f"count_{noun}_{form}", lang, n=count(whole, lang))


def month(period, lang: str = "en") -> str:
    """A calendar month in words: '2026-10' -> 'October 2026' (zh: '2026年10月')."""
    import pandas as pd
    return format_skeleton("yMMMM", pd.Period(str(period), freq="M").to_timestamp(), locale=_locale(lang))


def day(value, lang: str = "en") -> str:
    """A date in the locale's medium form: 'Sep 30, 2025' (zh: '2025年9月30日')."""
    import pandas as pd
    return format_date(pd.Timestamp(value).date(), format="medium", locale=_locale(lang))
