"""Results that display themselves (summary() en/zh, short repr, HTML), the public face, and the argument
checks at the boundary that list what is valid."""
import subprocess
import sys

import pandas as pd
import pytest

import kamlib as kam
from kamlib.analysis import actions, clv, concentration, economics, portfolio, scorecard, segmentation, survival
from kamlib.text.display import Summary

from conftest import TODAY


@pytest.fixture(scope="module")
def ds(small_dir):
    return kam.load_dataset(small_dir, analysis_date="2026-09", future_rows="exclude", today=TODAY)


@pytest.fixture(scope="module")
def results(ds):
    check = clv.model_check(ds)
    value = clv.value_accounts(ds, check=check, n_draws=20)
    tables = portfolio.book_tables(ds, n_draws=0)
    manager = portfolio.managers(ds)[0]
    return {"Dataset": ds, "ModelCheck": check, "ModelChoice": check.choice, "AccountValue": value,
            "ChurnDrivers": survival.churn_drivers(ds),
            "Segmentation": segmentation.account_frame(ds, value.frame["clv"]),
            "BookFlows": economics.book_flows(ds), "BookTables": tables,
            "Portfolio": portfolio.portfolio(ds, tables, manager),
            "AccountBrief": portfolio.account_brief(ds, tables, tables.accounts.index[0])}


@pytest.mark.parametrize("name", ["Dataset", "ModelCheck", "ModelChoice", "AccountValue", "ChurnDrivers",
                                  "Segmentation", "BookFlows", "BookTables", "Portfolio", "AccountBrief"])
def test_every_result_shows_itself_briefly_in_both_languages(results, name):
    obj = results[name]
    en, zh = obj.summary(), obj.summary(lang="zh")
    assert isinstance(en, Summary) and isinstance(zh, Summary)
    assert en.title != zh.title and any("\u4e00" <= ch <= "\u9fff" for ch in zh.as_text())
    text = repr(obj)
    assert text.startswith(f"<{name}: ") and len(text.splitlines()) <= 4 and len(text) < 600
    page = obj._repr_html_()
    assert page.count("<tr") <= 45 and "<h4>" in page          # a few facts and a small table, never a dump
    assert len(en.as_text().splitlines()) <= 40
    assert "e+" not in en.as_text().split("-" * 78)[-1].replace("e+0", "")    # money not in raw float digits


def test_summaries_carry_the_numbers(results):
    value = results["AccountValue"]
    assert f"{value.total['clv']:,.0f}" in str(value.summary())
    check = results["ModelCheck"]
    assert check.choice.table.loc[check.choice.chosen, "model"] in str(check.summary())
    assert "frequency" in check.rfm.columns                     # the fitted frame, formerly .summary
    drivers = results["ChurnDrivers"]
    assert list(drivers.table().columns) == ["hazard_ratio", "lower", "upper", "p_value", "p_adjusted", "hazard_ratio_discrete"]
    assert f"{drivers.events:,}" in str(drivers.summary())


def test_fit_results_keep_their_statsmodels_summary(results):
    s = results["AccountValue"].purchases.summary(lang="zh")
    assert "AIC" in s.as_text() and s.float_format(1e-9) == "1.0000e-09"


def test_public_face():
    assert kam.actions.this_month is actions.this_month and kam.portfolio.book_tables is portfolio.book_tables
    from kamlib.figures.style import use_style
    assert kam.use_style is use_style


def test_defaults_that_need_no_plumbing(ds):
    card = scorecard.manager_scorecard(ds)          # the 'auto' churn definition by default
    churn = economics.churn_dates(ds, economics.churn_definition("auto", ds=ds))
    pd.testing.assert_frame_equal(card, scorecard.manager_scorecard(ds, churned_on=churn))
    todo = actions.this_month(ds)                   # the account table built with the CLV valuation
    assert len(todo) and set(todo["kind"]) <= set(actions.KINDS) and todo.index[0] == 1
    assert todo["money_at_stake"].dropna().is_monotonic_decreasing   # not available (NaN) last


@pytest.mark.parametrize("call,message", [
    (lambda ds: ds.table("transaction"), "no table 'transaction' in this data set; its tables are: accounts, transactions"),
    (lambda ds: clv.value_accounts(ds, "gamma"), "model='gamma' is not known; the valid ones are: 'auto', 'bgnbd'"),
    (lambda ds: clv.account_value(ds, "pareto"), "model='pareto' is not known"),
    (lambda ds: concentration.top_share([3.0, 2.0, 1.0], 20), "share=20 looks like a percentage: pass 0.2"),
    (lambda ds: survival.churn_drivers(ds, lookback_days=-1), "lookback_days must be a number >= 0"),
    (lambda ds: survival.churn_drivers(ds, lookback_days=0), "lookback_days must be above 0"),
    (lambda ds: segmentation.whitespace(ds, ("industy",)), "peers: no column 'industy' in the accounts table"),
    (lambda ds: actions.this_month(ds, pd.DataFrame(columns=["account_manager"]), manager="Nobody"),
     "manager='Nobody' is not known; the valid ones are:"),
    (lambda ds: actions.churn_alerts(pd.DataFrame(), threshold=50), "threshold=50 looks like a percentage"),
    (lambda ds: clv.clv_by(ds, None, "teir"), "by: no column 'teir' in the accounts table; its columns are: account_id"),
    (lambda ds: kam.overview.breakdown(ds, "teir"), "by: no column 'teir' in the accounts table"),
    (lambda ds: clv.top_share(pd.Series([3.0, 1.0]), 20), "share=20 looks like a percentage"),
    (lambda ds: portfolio.portfolio(ds, None, "Nobody"), "manager='Nobody' is not known; the valid ones are:"),
])
def test_bad_arguments_are_refused_listing_what_is_valid(ds, call, message):
    with pytest.raises((ValueError, KeyError)) as e:
        call(ds)
    assert message in str(e.value)


def test_model_names_as_lifetimes_users_write_them(ds):
    assert clv.value_accounts(ds, "BG/NBD", n_draws=0).purchases.model.long_name == "BG/NBD"


def test_importing_kamlib_sets_a_cjk_font_for_ones_own_charts():
    from kamlib.figures.style import cjk_font
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (Debian fonts-noto-cjk)")
    code = ("import matplotlib; import kamlib as kam; f = matplotlib.rcParams['font.sans-serif']; "
            "print(f.index(%r) > 0); kam.use_style('zh'); print(matplotlib.rcParams['font.sans-serif'][0])" % font)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["True", font]
