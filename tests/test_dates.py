"""The strict reader of date arguments (API, notebook parameters, CLI): accepted forms, refusals naming the
argument, and the checks against the data's last order."""
import datetime as dt
import warnings

import pandas as pd
import pytest

from kamlib.analysis.rfm import rfm_summary
from kamlib.cli import main
from kamlib.data.dates import DateArgumentError, DateWarning, read_date, read_month
from kamlib.data.loading import load_dataset

from conftest import TODAY


@pytest.mark.parametrize("value", ["2026-10-31", "2026/10/31", "2026-10", "2026年10月31日", "2026年10月",
                                   pd.Timestamp("2026-10-31 13:00"), dt.date(2026, 10, 31), pd.Period("2026-10")])
def test_accepted_forms(value):
    assert read_date("analysis_date", value, today=TODAY) == pd.Timestamp("2026-10-31")


@pytest.mark.parametrize("value,message", [
    ("01/10/2026", "day and month could be either way round"),
    ("10/01/2026", "give 2026-10-31 (YYYY-MM-DD), 2026-10 (YYYY-MM: the month's last day) or 2026年10月31日"),
    ("2026-13", "there is no month 13"),
    ("2026-02-30", "not a real day"),
    ("Oct 2026", "is not a date kamlib reads"),
    (20261031, "is not a date"),
    ("2026-11-24", "is after today (2026-11-23)"),
])
def test_refused_forms_name_the_argument(value, message):
    with pytest.raises(DateArgumentError) as e:
        read_date("analysis_date", value, today=TODAY)
    assert str(e.value).startswith("analysis_date=") and message in str(e.value)


def test_months():
    assert read_month("month", "2026年9月") == "2026-09" == read_month("month", "2026-09")
    with pytest.raises(DateArgumentError, match="not of the form YYYY-MM"):
        read_month("month", "2026-09-30")


def test_load_dataset_reads_argument_dates_strictly(small_dir):
    # the small book's orders run to 2026-10; 2026-09 is its month end, in either form
    assert load_dataset(small_dir, analysis_date="2026-09", future_rows="exclude", today=TODAY).analysis_date \
        == pd.Timestamp("2026-09-30")
    assert load_dataset(small_dir, analysis_date="2026年9月30日", future_rows="exclude",
                        today=TODAY).analysis_date == pd.Timestamp("2026-09-30")
    with pytest.raises(DateArgumentError, match="analysis_date='01/10/2026'"):
        load_dataset(small_dir, analysis_date="01/10/2026", today=TODAY)
    with pytest.raises(DateArgumentError) as e:       # a mid-month date: the argument, not the files
        load_dataset(small_dir, analysis_date="2026-10-15", today=TODAY)
    assert "analysis_date=2026-10-15" in str(e.value) and "future_rows='exclude'" in str(e.value)
    assert "analysis_date='2026-10'" in str(e.value)
    with pytest.warns(DateWarning, match="analysis_date=2026-11-23 is after the month of the data's last order"):
        load_dataset(small_dir, analysis_date="2026-11-23", today=TODAY)


def test_rfm_observation_end_is_a_month_end_and_checked(small_book):
    tx = small_book.transactions
    last = pd.Timestamp(tx["order_date"].max())
    month = f"{last:%Y-%m}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DateWarning)
        by_month = rfm_summary(tx, observation_end=month)
    by_day = rfm_summary(tx, observation_end=pd.Period(month).end_time.normalize())
    pd.testing.assert_frame_equal(by_month, by_day)         # '2026-10' is the 31st, not the 1st
    assert len(by_month) == tx["account_id"].nunique()
    with pytest.raises(DateArgumentError, match="observation_end="):
        rfm_summary(tx, observation_end="2999-01-01")
    early = tx[tx["order_date"] <= "2026-03-31"]           # an extract that stops in March
    with pytest.warns(DateWarning, match="observation_end=2026-09-30 is after the month of the data's last order"):
        rfm_summary(early, observation_end="2026-09")


def test_cli_month_in_chinese_and_errors(capsys):
    assert main(["validate", "--month", "01/10/2026"]) == 2
    assert "--month 01/10/2026 is not of the form YYYY-MM" in capsys.readouterr().err


def test_an_empty_today_parameter_is_today():
    # notebooks pass today="" when the run has no --today
    assert read_date("analysis_date", "2026-10-31", today="") == pd.Timestamp("2026-10-31")
    with pytest.raises(DateArgumentError, match="is after today"):
        read_date("analysis_date", "2999-01-01", today="")
