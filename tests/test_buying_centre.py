"""The buying centre on a hand-built book: roles on record, the last meeting with each, the alert 'no meeting
with a decision maker within the policy', its action and its count in the manager scorecard; masking."""
from __future__ import annotations

import pandas as pd
import pytest

from kamlib.analysis import actions, buying_centre, scorecard, service
from kamlib.data.loading import load_dataset
from kamlib.text.masking import contact_details, mask_email, mask_phone

from conftest import TODAY, write_tables

END = "2026-06-30"
MANAGER = {"S1": "Li Na", "S3": "Li Na", "A1": "Wang Fang", "S2": "Wang Fang", "S4": "Wang Fang", "B1": "Wang Fang"}
TIER = {"S1": "strategic", "S2": "strategic", "S3": "strategic", "S4": "strategic", "A1": "A", "B1": "B"}
ACQUIRED = {a: "2024-01-01" for a in TIER} | {"S2": "2026-05-15"}


@pytest.fixture
def book(tmp_path):
    ids = list(TIER)
    accounts = pd.DataFrame({"account_id": ids, "name": [f"Co {a}" for a in ids], "enterprise_type": "private",
                             "industry": "machinery", "region": "East China",
                             "account_manager": [MANAGER[a] for a in ids], "tier": [TIER[a] for a in ids],
                             "acquired_on": [ACQUIRED[a] for a in ids], "acquisition_channel": "direct",
                             "credit_rating": "A"})
    tx = pd.DataFrame({"account_id": ids * 2, "order_date": ["2026-05-20"] * 6 + ["2026-06-10"] * 6,
                       "revenue": 1000.0, "gross_margin": 300.0, "product_category": "bearings"})
    contacts = pd.DataFrame([
        ("S1", "S1-DM", "Wang Wei", "decision_maker", "false"), ("S1", "S1-P", "Li Jun", "purchasing", "false"),
        ("A1", "A1-DM", "Zhao Min", "decision_maker", "true"), ("S2", "S2-DM", "Xu Li", "decision_maker", "true"),
        ("S3", "S3-DM", "Gao Lei", "decision_maker", "true"), ("S4", "S4-F", "Hu Yan", "finance", "true"),
        ("B1", "B1-DM", "Ma Hui", "decision_maker", "true")],
        columns=["account_id", "contact_id", "name", "role", "is_decision_maker"])
    contacts["phone"] = ["13812341234", "13900001111", "", "", "", "", ""]
    contacts["email"] = ["zhang.wei@example.com"] + [""] * 6
    inter = pd.DataFrame([
        ("S1", "2026-06-20", "visit", "S1-P"), ("S1", "2026-03-01", "visit", "S1-DM"),
        ("S1", "2026-07-05", "visit", "S1-DM"),              # after the analysis date: not counted
        ("A1", "2026-03-01", "visit", "A1-DM"),
        ("S3", "2026-06-10", "visit", "S1-DM"),              # another account's contact: not a meeting of S3
        ("S3", "2026-06-12", "call", "S3-DM"),               # a call is not a meeting
        ("S4", "2026-06-01", "visit", "S4-F"), ("B1", "2026-01-01", "visit", "B1-DM")],
        columns=["account_id", "date", "kind", "contact_id"])
    folder = write_tables(tmp_path / "data", accounts=accounts, transactions=tx, contacts=contacts,
                          interactions=inter)
    return load_dataset(folder, analysis_date=END, today=TODAY, future_rows="exclude")


def test_roles_last_meetings_and_the_decision_maker_alert(book):
    cov = buying_centre.coverage(book)
    assert sorted(cov.index) == ["A1", "S1", "S2", "S3", "S4"]            # B accounts have no policy by default
    assert cov.loc["S1", "roles"] == ("decision_maker", "purchasing")
    assert cov.loc["S1", "last_purchasing"] == pd.Timestamp("2026-06-20")
    assert cov.loc["S1", "last_decision_maker"] == pd.Timestamp("2026-03-01")     # the July visit is later
    assert cov.loc["S1", "days_since_decision_maker"] == 121 and cov.loc["S1", "limit_days"] == 90
    assert bool(cov.loc["S1", "alert"]) is True
    assert bool(cov.loc["A1", "alert"]) is False                          # 121 days, A accounts: 180
    assert bool(cov.loc["S2", "alert"]) is False                          # in the book 46 days: not yet due
    assert pd.isna(cov.loc["S3", "days_since_decision_maker"]) and bool(cov.loc["S3", "alert"]) is True
    assert bool(cov.loc["S4", "alert"]) is False                          # is_decision_maker on a finance director
    assert cov.loc["S4", "decision_makers"] == 1 and cov.loc["S4", "last_finance"] == pd.Timestamp("2026-06-01")
    tighter = buying_centre.coverage(book, days={"strategic": 90, "A": 100, "B": 365})
    assert bool(tighter.loc["A1", "alert"]) is True and bool(tighter.loc["B1", "alert"]) is False


def test_the_alert_is_an_action_and_counted_per_manager(book):
    table = actions.account_table(book)
    todo = actions.this_month(book, table)
    dm = todo[todo["kind"] == "decision_maker_not_met"].set_index("account_id")
    assert sorted(dm.index) == ["S1", "S3"]
    assert dm["money_at_stake"].isna().all()       # no churn-driver estimate: not available, not the margin
    texts = dict(zip(dm.index, actions.reasons(dm.reset_index(), "en")))
    assert "121 days ago" in texts["S1"] and "every 90 days" in texts["S1"]
    assert "no meeting with a decision maker on record" in texts["S3"]
    assert "未拜访" in actions.reasons(dm.reset_index(), "zh").iloc[1] or "无拜访" in actions.reasons(
        dm.reset_index(), "zh").iloc[1]
    churned = pd.Series(pd.NaT, index=book.accounts["account_id"], dtype="datetime64[ns]")
    card = scorecard.manager_scorecard(book, churned_on=churned)
    assert card.loc["Li Na", "decision_maker_gaps"] == 2 and card.loc["Wang Fang", "decision_maker_gaps"] == 0
    strict = scorecard.manager_scorecard(book, churned_on=churned,
                                         decision_maker_days={"strategic": 90, "A": 100})
    assert strict.loc["Wang Fang", "decision_maker_gaps"] == 1
    policy = service.ServicePolicy(decision_maker_days={"strategic": 1000, "A": 1000})   # S3 in the book 911 days
    assert not (actions.this_month(book, table, policy=policy)["kind"] == "decision_maker_not_met").any()


def test_visits_that_do_not_name_a_contact_make_the_alert_not_available(book, tmp_path):
    inter = book.interactions.drop(columns="contact_id")
    folder = write_tables(tmp_path / "d2", accounts=book.accounts, transactions=book.transactions,
                          contacts=book.frame("contacts"), interactions=inter)
    ds = load_dataset(folder, analysis_date=END, today=TODAY, future_rows="exclude")
    cov = buying_centre.coverage(ds)
    assert cov["alert"].isna().all() and cov["last_decision_maker"].isna().all()
    assert cov.loc["S1", "roles"] == ("decision_maker", "purchasing")
    assert not (actions.this_month(ds, actions.account_table(ds))["kind"] == "decision_maker_not_met").any()
    churned = pd.Series(pd.NaT, index=ds.accounts["account_id"], dtype="datetime64[ns]")
    assert "decision_maker_gaps" not in scorecard.manager_scorecard(ds, churned_on=churned)


def test_without_a_contacts_table_coverage_is_not_available(small_dir, tmp_path):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    (data / "contacts.csv").unlink()
    ds = load_dataset(data, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    assert buying_centre.coverage(ds) is None and buying_centre.contacts_met(ds) is None


def test_masking():
    assert mask_phone("13812341234") == "138****1234" and mask_phone("138-1234-1234") == "138****1234"
    assert mask_phone(13812341234) == "138****1234" and mask_phone(None) == "" and mask_phone(float("nan")) == ""
    assert mask_phone("5678") == "**78"
    assert mask_email("zhang.wei@example.com") == "z***@example.com" and mask_email("") == ""
    assert contact_details("13812341234", "z@example.cn") == ("138****1234", "z***@example.cn")
    assert contact_details("13812341234", "z@example.cn", show=True) == ("13812341234", "z@example.cn")
