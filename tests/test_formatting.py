"""Locale formats from Babel (CLDR) in both report languages, and the house style kept in one place."""
import math

import pytest

from kamlib.text import formatting as f


@pytest.mark.parametrize("value, lang, text", [
    (12_345_678, "en", "CN¥12.3M"), (1_234_567_890, "en", "CN¥1.2B"), (12_345, "en", "CN¥12.3K"),
    (123, "en", "CN¥123"), (-45_678, "en", "-CN¥45.7K"),
    (12_345_678, "zh", "¥1234.6万"), (340_000_000, "zh", "¥3.4亿"), (12_000, "zh", "¥1.2万"),
    (9_852, "zh", "¥9852"), (-45_678, "zh", "-¥4.6万"),
    (0, "en", "CN¥0"), (0.0, "zh", "¥0"), (5.5, "en", "CN¥5.50"),     # nothing reads CN¥0, never CN¥0.00
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


# --- One money format (issue 32): never more digits than the form allows, one unit per column ------------
import re  # noqa: E402

import numpy as np  # noqa: E402

MAGNITUDES = sorted({float(m * 10.0 ** e) for e in range(-2, 11) for m in (1, 1.2345678901, 3.298487777777778,
                                                                              5.851000000000022, 9.9996, 9.99949)})
SIGNED = MAGNITUDES + [-v for v in MAGNITUDES] + [0.0, -0.0, 0.004, -0.004]
FORM = {"en": re.compile(r"^-?CN¥(\d{1,3}(,\d{3})*)(\.(\d))?([KMBT])?$|^-?CN¥\d\.\d\d$"),
        "zh": re.compile(r"^-?¥(\d{1,4}|\d{1,3}(,\d{3})+)(\.(\d))?(万|亿|万亿)?$|^-?¥\d\.\d\d$")}


def _amount(text: str, lang: str) -> float:
    """The amount a formatted string states (to read it back)."""
    units = f.compact_units(lang)
    body = text.replace("CN¥", "").replace("¥", "").replace(",", "")
    factor = next((d for d, s in sorted(units.items(), key=lambda kv: -len(kv[1])) if s and body.endswith(s)), 1.0)
    if factor != 1.0:
        body = body[: -len(units[factor])]
    return float(body) * factor


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("value", SIGNED)
def test_money_never_shows_more_digits_than_its_form(value, lang):
    text = f.money(value, "CNY", lang)
    assert FORM[lang].match(text), text
    shown = _amount(text, lang)
    # the text states the amount to its precision: within half a step of the last digit shown
    digits = text.split(".")[1] if "." in text else ""
    decimals = len(re.sub(r"\D", "", digits))
    unit = next((d for d, s in f.compact_units(lang).items() if s and text.endswith(s)), 1.0)
    assert abs(abs(shown) - abs(value)) <= 0.5 * unit * 10.0 ** -decimals + 1e-9 * abs(value)
    assert (text.startswith("-")) == (value < 0 and shown != 0)     # no '-0' and no lost sign


@pytest.mark.parametrize("value, lang, text", [
    (9701.225542590431, "zh", "¥9701"), (3298.487777777778, "zh", "¥3298"), (-1431.4099999999999, "zh", "-¥1431"),
    (58.51000000000022, "en", "CN¥59"), (107.65253795123645, "en", "CN¥108"), (5.3, "en", "CN¥5.30"),
    (999.6, "en", "CN¥1K"), (999_960, "en", "CN¥1M"), (99_999_999, "zh", "¥1亿"), (-0.004, "en", "CN¥0.00"),
])
def test_money_rounds_the_amounts_babel_leaves_raw_and_carries_at_unit_edges(value, lang, text):
    assert f.money(value, "CNY", lang) == text


@pytest.mark.parametrize("lang, suffixes", [("en", {"K"}), ("zh", {"万"})])
def test_a_money_column_has_one_unit_and_one_number_of_decimals(lang, suffixes):
    rng = np.random.default_rng(32)
    values = np.concatenate([rng.lognormal(np.log(60_000), 1.5, 200), [2e6, 4.3e8, -1431.41, 58.51, np.nan]])
    fmt = f.money_column(values, "CNY", lang)
    texts = [fmt(v) for v in values]
    assert texts[-1] == f.MISSING[lang]
    shown = texts[:-1]
    assert {re.sub(r"[\d.,¥CN\-]", "", s) for s in shown} == suffixes
    assert {len(s.split(".")[1].rstrip("K万亿M")) for s in shown} == {1}
    for v, s in zip(values[:-1], shown):
        assert abs(_amount(s.lstrip("-"), lang) - abs(v)) <= 0.05 * f.money_unit([1e5], lang) + 1e-6


def test_a_column_of_small_amounts_stays_in_whole_units_and_nan_or_inf_reads_missing():
    fmt = f.money_column([12.5, 130.2, 987.4], "CNY", "en")
    assert [fmt(v) for v in (12.5, 130.2, 987.4)] == ["CN¥12", "CN¥130", "CN¥987"]   # 12.5 rounds half to even
    assert f.money(float("inf"), "CNY", "zh") == "无" and f.money_column([], "CNY", "en")(1.0) == "CN¥1"


def test_durations_and_counts_read_in_words():
    assert (f.due_relative(-6.0), f.due_relative(-6.0, "zh")) == ("6 days early", "提前6天")
    assert (f.due_relative(1), f.due_relative(3.4, "zh"), f.due_relative(0.3)) == ("1 day late", "逾期3天",
                                                                                  "on the due date")
    assert f.due_relative(float("nan")) == "n/a"
    assert [f.counted(n, "invoice") for n in (0, 1, 2)] == ["0 invoices", "1 invoice", "2 invoices"]
    assert f.counted(1, "complaint") == "1 complaint" and f.counted(1, "complaint", "zh") == "1次投诉"
    assert f.counted(12_345, "account") == "12,345 accounts"


@pytest.mark.parametrize("lang, unit", [("en", "M"), ("zh", "万")])
def test_money_axis_ticks_use_the_report_units(lang, unit):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kamlib.figures.style import money_axis
    fig, ax = plt.subplots()
    ax.bar([0, 1, 2], [1.2e6, 3.4e6, 2.5e6])
    money_axis(ax, currency="CNY", lang=lang)
    fig.canvas.draw()
    labels = [tl.get_text() for tl in ax.get_yticklabels() if tl.get_text()]
    plt.close(fig)
    assert labels and all(unit in s or s in ("CN¥0", "¥0") for s in labels), labels
    assert all(len(re.sub(r"\D", "", s)) <= 4 for s in labels), labels


@pytest.mark.parametrize("ticks, expected", [((0, 2.5e6, 5e6, 7.5e6), ["CN¥0", "CN¥2.5M", "CN¥5.0M", "CN¥7.5M"]),
                                             ((0, 2e6, 4e6), ["CN¥0", "CN¥2M", "CN¥4M"]),
                                             ((-2.5e5, 0, 2.5e5, 7.5e5), ["-CN¥0.25M", "CN¥0", "CN¥0.25M", "CN¥0.75M"])])
def test_money_axis_ticks_carry_the_digits_each_tick_needs(ticks, expected):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kamlib.figures.style import money_axis
    fig, ax = plt.subplots()
    ax.set_ylim(min(ticks), max(ticks) * 1.5)
    ax.set_yticks(ticks)
    money_axis(ax, currency="CNY", lang="en")
    fig.canvas.draw()
    labels = [tl.get_text() for tl in ax.get_yticklabels()]
    plt.close(fig)
    assert labels == expected
