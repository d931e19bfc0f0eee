import pandas as pd

from kamlib.analysis import book


def test_churned_as_of_respects_win_back_after_the_churn_only():
    acc = pd.DataFrame({
        "churned_on": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-01", None, None]),
        "won_back_on": pd.to_datetime(["2026-05-01", None, "2025-12-01", None, "2026-01-01"]),
    }, index=["back", "gone", "old_lapse", "never", "no_churn"])
    assert book.churned_as_of(acc, "2026-02-28").tolist() == [False] * 5
    assert book.churned_as_of(acc, "2026-03-01").tolist() == [True, True, True, False, False]
    assert book.churned_as_of(acc, "2026-04-30").tolist() == [True, True, True, False, False]
    assert book.churned_as_of(acc, "2026-05-01").tolist() == [False, True, True, False, False]


def test_churned_as_of_without_churn_columns():
    acc = pd.DataFrame({"tier": ["A", "B"]})
    assert not book.churned_as_of(acc, "2026-01-01").any()
    only_churn = pd.DataFrame({"churned_on": pd.to_datetime(["2026-01-01", None])})
    assert book.churned_as_of(only_churn, "2026-06-01").tolist() == [True, False]
