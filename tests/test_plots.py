import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kamlib.figures import economics as economics_plots  # noqa: E402


def test_hazard_ratio_axis_reads_as_plain_ratios():
    hr = pd.DataFrame({"hazard_ratio": [0.6, 1.3, 3.1], "lower": [0.4, 1.2, 1.0], "upper": [0.9, 1.4, 9.4]},
                      index=["visits_per_month", "complaints_per_year", "tier_strategic"])
    fig = economics_plots.forest(hr, lang="en")
    ax = fig.axes[0]
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    shown = [tick.get_text() for tick, v in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= v <= hi]
    assert {"0.5", "1", "2", "5"} <= set(shown) and not any("^" in s for s in shown)
    assert ax.get_title() and ax.get_xlabel() and [lab.get_text() for lab in ax.get_yticklabels()][0] != ""
    plt.close(fig)


@pytest.mark.parametrize("lang, unit", [("en", "M"), ("zh", "万")])
def test_strategy_matrix_is_log_with_money_ticks_not_symlog(lang, unit):
    from kamlib.figures import segmentation as segmentation_plots
    frame = pd.DataFrame({"gross_margin": [-2e4, 5e4, 3e5, 2e6], "potential": [0.0, 8e4, 5e5, 3e6],
                          "strategy": ["cut_cost_exit", "nurture_change", "maintain_efficiently", "support_develop"]})
    fig = segmentation_plots.strategy_matrix(frame, 1e5, 2e5, currency="CNY", potential_label="CLV", lang=lang)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlim()[0] > 0 and ax.get_xlim()[1] >= 2e6 and ax.get_ylim()[1] >= 3e6   # every account shown
    labels = [lab.get_text() for lab in ax.get_xticklabels() + ax.get_yticklabels() if lab.get_text()]
    assert labels and not any(s.startswith("-") or "^" in s for s in labels)
    assert any(unit in s for s in labels)
    assert "symlog" not in ax.get_xlabel() + ax.get_ylabel()
    plt.close(fig)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_receivables_by_rating_in_rating_order_with_the_tallest_stack_shown(lang):
    from kamlib.figures import scorecard as scorecard_plots
    table = pd.DataFrame({"not due": [5e6, 1e6, 2e6, 3e6, 4e6], "90+": [1e6, 2e6, 0.0, 0.0, 9e6]},
                         index=["A", "AA", "AAA", "BB", "BBB"])
    fig = scorecard_plots.ageing(table, currency="CNY", lang=lang)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert [lab.get_text() for lab in ax.get_xticklabels()] == ["AAA", "AA", "A", "BBB", "BB"]
    assert ax.get_ylim()[1] >= 13e6                       # BBB's stack (4M + 9M) is not clipped
    plt.close(fig)


def test_rule_of_thumb_lines_sit_above_the_bars():
    from kamlib.figures import scorecard as scorecard_plots
    rates = pd.DataFrame({"win_rate": [0.6, 0.2], "lower": [0.5, 0.1], "upper": [0.9, 0.3]}, index=[True, False])
    fig = scorecard_plots.win_rates(rates)
    ax = fig.axes[0]
    bars = max(p.get_zorder() for p in ax.patches)
    lines = [c for c in ax.collections if c.get_linestyle()[0][1] is not None and c.get_zorder() > bars]  # dashed
    assert len(lines) == 2 and ax.get_ylim()[1] >= 90
    plt.close(fig)


def test_chinese_names_draw_in_an_english_report_without_missing_glyphs():
    import warnings

    import pytest

    from kamlib.figures import overview, style
    if style.cjk_font() is None:
        pytest.skip("no CJK font installed (Debian fonts-noto-cjk; `make system-deps`)")
    style.use_style("en")
    top = pd.DataFrame({"name": ["上海宏达机械设备有限公司华东区域销售与服务中心", "Acme Industrial Supply"],
                        "revenue": [3e6, 2e6], "tier": ["A", "B"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = overview.top_accounts_bar(top, currency="CNY", lang="en")
        fig.canvas.draw()
    assert not [w for w in caught if "missing from font" in str(w.message)]
    labels = [lab.get_text() for lab in fig.axes[0].get_yticklabels()]
    assert labels[0].endswith("…") and len(labels[0]) <= 15 and labels[1] == "Acme Industrial Supply"
    plt.close(fig)


def test_shorten_counts_cjk_characters_double():
    from kamlib.figures.style import shorten
    assert shorten("Short name") == "Short name"
    assert shorten("x" * 30, 10) == "x" * 10 + "…"
    assert shorten("上海宏达机械设备有限公司", 10) == "上海宏达机…"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_large_team_shows_its_best_and_lowest_ranked_managers(lang):
    import numpy as np
    from kamlib.figures import scorecard as scorecard_plots
    from kamlib.text.i18n import t
    months = pd.date_range("2025-11-01", periods=12, freq="MS")
    names = [f"m{i:03d}" for i in range(40)]                  # in rank order, as the scorecard
    margin = pd.DataFrame(np.ones((40, 12)), index=names, columns=months)
    card = pd.DataFrame({"retention_rate": 0.9}, index=[*names, "team median"])
    fig = scorecard_plots.manager_panels(margin, card, currency="CNY", lang=lang)
    shown = [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_visible() and ax.get_title()]
    half = scorecard_plots.MAX_PANELS // 2
    assert shown == names[:half] + names[-half:]
    assert fig._suptitle.get_text() == t("panels_title_some", lang, n=half, managers=40)
    small = scorecard_plots.manager_panels(margin.iloc[:5], card, currency="CNY", lang=lang)
    assert len([ax for ax in small.axes if ax.get_visible() and ax.get_title()]) == 5
    assert small._suptitle.get_text() == t("panels_title", lang)
    plt.close("all")
