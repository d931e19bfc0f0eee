"""The visit brief: what it holds for an account (people, since the last visit, open items, alerts), in English
and fully in Chinese, masked contact details, and the printed page (one A4 page, checked on the PDF)."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import brief_items, portfolio
from kamlib.data.loading import load_dataset
from kamlib.report.briefs import render_brief
from kamlib.report.pdf import find_chromium

from conftest import TODAY

MONTH = "2026-09"


@pytest.fixture(scope="module")
def ds(small_dir):
    return load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")


@pytest.fixture(scope="module")
def tables(ds):
    return portfolio.book_tables(ds, n_draws=0)


def _busiest(ds, tables) -> str:
    """The key account with the most open items and contacts (the longest brief)."""
    key = tables.accounts.index[tables.accounts["tier"].isin(["strategic", "A"])]
    size = {a: len(v) for a, v in brief_items.open_items_of(ds, key).items()}
    return max(size, key=size.get)


def test_the_brief_lists_each_open_item_and_what_happened_since_the_last_visit(ds, tables):
    account = _busiest(ds, tables)
    b = portfolio.account_brief(ds, tables, account)
    items = b.open_items
    pay = ds.payments[ds.payments["account_id"] == account]
    overdue = pay[(pay["due_date"] < ds.analysis_date) & (pay["paid_date"].isna() | (pay["paid_date"] > ds.analysis_date))]
    assert sorted(items.loc[items["kind"] == "overdue_invoice", "ref"]) == sorted(overdue["invoice_id"])
    opps = ds.opportunities
    assert (items["kind"] == "open_opportunity").sum() == ((opps["account_id"] == account) & (opps["outcome"] == "open")).sum()
    s = b.since
    visits = ds.interactions[(ds.interactions["account_id"] == account) & (ds.interactions["kind"] == "visit")]
    assert s["last_visit"] == visits["date"].max()
    tx = ds.transactions[(ds.transactions["account_id"] == account) & (ds.transactions["order_date"] > s["last_visit"])]
    assert s["orders"]["revenue"] == pytest.approx(tx["revenue"].sum())
    paid = pay[(pay["paid_date"] > s["last_visit"]) & (pay["paid_date"] <= ds.analysis_date)]
    assert s["payments"]["amount"] == pytest.approx(paid["amount"].sum())
    assert set(b.people["role"]) >= {"decision_maker"} and "phone" in b.people
    if len(overdue):
        credit = dict(b.alerts)["brief_alert_credit"]
        assert credit["amount"] == pytest.approx(overdue["amount"].sum()) and credit["n"] == len(overdue)


def test_alerts_follow_their_rules():
    items = pd.DataFrame({"kind": ["overdue_invoice", "open_complaint", "open_complaint"], "ref": ["I1", None, None],
                          "since": pd.to_datetime(["2026-08-01"] * 3), "age_days": [60, 45, 10],
                          "amount": [1000.0, float("nan"), float("nan")], "stage": None})
    cov = pd.Series({"alert": True, "days_since_decision_maker": 120.0, "limit_days": 90.0})
    got = dict(brief_items.alerts(credit_rating="BBB", items=items, p_alive=0.3, alert_threshold=0.5, coverage=cov,
                                  complaint_open_days=30))
    assert got["brief_alert_credit"] == {"rating": "BBB", "amount": 1000.0, "n": 1, "days": 60}
    assert got["brief_alert_churn"]["p_alive"] == 0.3
    assert got["brief_alert_dm"] == {"days": 120, "limit": 90}
    assert got["brief_alert_complaints"] == {"n": 1, "days": 45, "limit": 30}
    calm = brief_items.alerts(credit_rating="AA", items=items.iloc[2:], p_alive=0.9, alert_threshold=0.5,
                              coverage=pd.Series({"alert": False, "days_since_decision_maker": 10.0,
                                                  "limit_days": 90.0}), complaint_open_days=30)
    assert calm == []
    assert dict(brief_items.alerts(credit_rating="BB", items=items.iloc[:0], p_alive=None, alert_threshold=0.5,
                                   coverage=None, complaint_open_days=30)) == {"brief_alert_rating": {"rating": "BB"}}


def test_contact_details_are_masked_unless_asked_for_and_zh_is_chinese(ds, tables):
    account = _busiest(ds, tables)
    b = portfolio.account_brief(ds, tables, account)
    phones = [p for p in b.people["phone"] if isinstance(p, str) and p]
    emails = [e for e in b.people["email"] if isinstance(e, str) and e]
    assert phones and emails
    page = render_brief(b, lang="en")
    assert not any(p in page for p in phones) and not any(e in page for e in emails)
    assert all(f"{p[:3]}****{p[-4:]}" in page for p in phones)
    shown = render_brief(b, lang="en", show_contact_details=True)
    assert all(p in shown for p in phones) and all(e in shown for e in emails)
    zh = render_brief(b, lang="zh")
    for en in ("People", "Talking points", "Open items", "Since the last visit", "decision maker", "Margin 12"):
        assert en not in zh
    assert "联系人" in zh and "沟通要点" in zh


@pytest.mark.skipif(not (find_chromium() and shutil.which("pdfinfo")), reason="needs Chromium and poppler-utils")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kam_brief_pdf_is_one_a4_page(small_dir, tmp_path, ds, tables, lang, capsys):
    from kamlib.cli import main
    account = _busiest(ds, tables)
    assert main(["brief", "--account", account, "--data", str(small_dir), "--month", MONTH, "--out", str(tmp_path),
                 "--today", TODAY, "--quiet", "--pdf", "--language", lang]) == 0
    pdf = tmp_path / MONTH / "accounts" / f"{account}.presentation.pdf"
    assert f"brief printed: " in capsys.readouterr().out
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert "(A4)" in info
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    people = ds.frame("contacts")
    mine = people[people["account_id"] == account]
    assert not any(p in text for p in mine["phone"]) and not any(e in text for e in mine["email"])
    assert any(f"{p[:3]}****{p[-4:]}" in text for p in mine["phone"])


def test_the_index_lists_each_manager_with_the_scorecards_accounts_and_margin(ds, tables):
    """One number per manager everywhere: the index's accounts and 12-month margin are the scorecard's (the
    report 05 league table and the first table of the manager's page), and they add up to the book's margin."""
    from kamlib.analysis import findings, overview
    from kamlib.analysis.scorecard import TEAM_MEDIAN
    listed = findings.managers_overview(tables.scorecard, tables.actions)
    card = tables.scorecard.drop(index=TEAM_MEDIAN).sort_index()
    assert listed.index.tolist() == card.index.tolist() and TEAM_MEDIAN not in listed.index
    assert listed["accounts"].tolist() == card["accounts"].astype(int).tolist()
    assert listed["margin_12m"].tolist() == pytest.approx(card["margin_12m"].tolist())
    assert listed["margin_12m"].sum() == pytest.approx(overview.book_summary(ds)["margin_12m"], rel=1e-6)
    assert listed["actions"].sum() == len(tables.actions)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_band_that_reads_the_same_at_both_ends_is_left_out(lang):
    """'P(alive) 100% (uncertainty of the expected value 100% to 100%)' says nothing: at the shown precision
    such a band is left out; a band that differs is kept."""
    from types import SimpleNamespace

    from kamlib.report.briefs import _numbers
    from kamlib.text.i18n import t
    value = {"margin_12m": 2_048_505.58, "p_alive": 0.997, "p_alive_lower": 0.996, "p_alive_upper": 0.998,
             "expected_purchases_12m": 23.3, "purchases_12m_lower": 8.0, "purchases_12m_upper": 34.0,
             "clv": 4_977_289.0, "clv_lower": 561_061.0, "clv_upper": 7_702_659.0, "share_of_manager_margin": 0.196}
    same = _numbers(SimpleNamespace(value=value), lang, "CNY", 36)
    marker = t("brief_band_expected", lang, lo="X", hi="Y").split("X")[0]
    assert marker not in same and t("brief_band", lang, lo="8", hi="34") in same
    wide = _numbers(SimpleNamespace(value={**value, "p_alive": 0.6, "p_alive_lower": 0.4, "p_alive_upper": 0.8}),
                    lang, "CNY", 36)
    assert marker in wide


def test_an_accounts_facts_are_its_own_rows_counted_and_the_same_alone_or_among_the_book(ds, tables):
    """The briefs' per-account facts come from group-bys over all accounts: each equals a direct count of that
    account's rows, and one account's brief (read from a view of its rows only) equals its brief among all."""
    from kamlib.analysis import scorecard
    comp = scorecard.complaints(ds)
    pay = ds.payments
    key = tables.accounts.index[tables.accounts["tier"].isin(["strategic", "A"])]
    with_complaints = comp["account_id"].value_counts().index.intersection(key)[:6].tolist()
    ids = [*with_complaints, *key.difference(with_complaints)[:6]]
    every = portfolio.account_briefs(ds, tables, list(key))
    for a in ids:
        mine = comp[comp["account_id"] == a]
        got = every[a].complaints
        assert got["complaints"] == len(mine) and got["open"] == mine["resolved_on"].isna().sum()
        assert got["resolved"] == mine["resolved_on"].notna().sum()
        assert pd.isna(got["median_resolution_days"]) if mine["resolved_on"].isna().all() else \
            got["median_resolution_days"] == pytest.approx(pd.to_numeric(mine["resolution_days"]).median())
        paid = pay[(pay["account_id"] == a) & pay["paid_date"].notna()]
        late = every[a].invoices["average_days_late"]
        assert (pd.isna(late) if paid.empty else late == pytest.approx((paid["paid_date"] - paid["due_date"]).dt.days.mean()))
        alone = portfolio.account_brief(ds, tables, a)
        pd.testing.assert_series_equal(alone.value, every[a].value)
        pd.testing.assert_series_equal(alone.profile, every[a].profile)
        pd.testing.assert_frame_equal(alone.monthly, every[a].monthly)
        pd.testing.assert_frame_equal(alone.open_items, every[a].open_items, check_dtype=False)
        for part in ("complaints", "invoices", "visits", "opportunities"):
            pd.testing.assert_series_equal(getattr(alone, part), getattr(every[a], part), check_dtype=False)
        since, among = dict(alone.since), dict(every[a].since)
        orders, orders_among = since.pop("orders"), among.pop("orders")
        assert since == among and alone.alerts == every[a].alerts
        for k in ("revenue", "margin"):                             # sums in another order
            assert orders.pop(k) == pytest.approx(orders_among.pop(k), rel=1e-12)
        assert orders == orders_among
        assert list(alone.people["name"]) == list(every[a].people["name"])
    assert len(with_complaints) >= 3


def test_every_band_of_a_brief_uses_the_books_parameter_draws(ds):
    """A key account's bands (book tables) and another account's (computed for its brief) come from the book's
    ``n_draws`` parameter draws, as its CLV band and ranges do."""
    tables = portfolio.book_tables(ds, n_draws=12)
    assert tables.n_draws == 12
    acc = tables.accounts
    key = acc.index[acc["tier"].isin(["strategic", "A"])][0]
    other = acc.index[~acc["tier"].isin(["strategic", "A"])][0]
    for account in (key, other):
        expected = portfolio.purchase_bands(tables.purchases, tables.rfm.loc[[account]], n_draws=12)
        value = portfolio.account_briefs(ds, tables, [account])[account].value
        for band in ("p_alive_lower", "p_alive_upper", "expected_purchases_12m_lower", "expected_purchases_12m_upper"):
            assert np.isfinite(value[band]), (account, band)
            assert value[band] == pytest.approx(expected.loc[account, band], rel=1e-12), (account, band)
