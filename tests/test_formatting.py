"""Locale formats from Babel (CLDR) in both report languages, and the house style kept in one place."""
import math

import pytest

from kamlib.text import formatting as f


@pytest.mark.parametrize("value, lang, text", [
    (12_345_678, "en", "CN¥12.3M"), (1_234_567_890, "en", "CN¥1.2B"), (12_345, "en", "CN¥12.3K"),
    (123, "en", "CN¥123"), (-45_678, "en", "-CN¥45.7K"),
    (12_345_678, "zh", "¥1234.6万"), (340_000_000, "zh", "¥3.4亿"), (12_000, "zh", "¥1.2万"),
    (9_852, "zh", "¥9852"), (-45_678, "zh", "-¥4.6万"),
])
def test_money_in_compact_cldr_form_with_the_currency_symbol(value, lang, text):
    assert f.money(value, "CNY", lang) == text


def test_money_in_other_currencies():
    assert f.money(2_500_000, "USD", "en") == "$2.5M" and f.money(2_500_000, "USD", "zh") == "US$250万"


@pytest.mark.parametrize("value", [None, math.nan])
def test_missing_values_read_as_house_style_not_zero(value):
    assert f.money(value, "CNY", "en") == "n/a" and f.money(value, "CNY", "zh") == "无"
    assert f.pct(value) == "n/a" and f.pct(value, lang="zh") == "无"


def test_percentages_counts_and_months():
    assert f.pct(0.1234) == "12.3%" and f.pct(0.5, 0, "zh") == "50%" and f.pct(-0.021, 2) == "-2.10%"
    assert f.count(12_345.4) == "12,345" and f.count(12_345, "zh") == "12,345"
    assert (f.months(1), f.months(7), f.months(7, "zh")) == ("1 month", "7 months", "7个月")


def test_house_style_multiples_and_p_values():
    assert f.times(4.26) == "4.3x" and f.times(4.26, "zh") == "4.3倍"
    assert f.p_value(0.0004) == "p < 0.001" and f.p_value(0.01) == "p = 0.010"


def test_months_and_dates_in_the_report_language():
    assert f.month("2026-10") == "October 2026" and f.month("2026-10", "zh") == "2026年10月"
    assert f.day("2025-09-30") == "Sep 30, 2025" and f.day("2025-09-30", "zh") == "2025年9月30日"
