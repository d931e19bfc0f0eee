"""The key-account loop end to end: a report per account manager in the batch, linked from the index, and
``kam brief`` for one account — executed without stray output, each action with its reason."""
import html
import re

import pandas as pd
import pytest

from kamlib.cli import main
from kamlib.report.brief_run import run_brief
from kamlib.report.runner import run_report

from conftest import TODAY


def _clean(path) -> str:
    text = path.read_text(encoding="utf-8")
    assert '"name": "stderr"' not in text and '"output_type": "error"' not in text, path.name
    return text


def test_the_batch_writes_a_page_per_manager_and_links_them(data_copy, tmp_path):
    acc = pd.read_csv(data_copy / "accounts.csv")
    acc["account_manager"] = ["Li Na", "王芳"] * (len(acc) // 2) + ["Li Na"] * (len(acc) % 2)
    acc.to_csv(data_copy / "accounts.csv", index=False)
    run = run_report(data_dir=data_copy, month="2026-09", out_dir=tmp_path, progress=False, today=TODAY, jobs=2,
                     notebooks=("06_manager_portfolio",), parameters={"stale_after_days": 200})
    assert run.ok, [(n.name, n.error) for n in run.notebooks]
    assert sorted(n.name for n in run.notebooks) == ["managers/li-na", "managers/王芳"]
    month = tmp_path / "2026-09"
    index = (month / "index.html").read_text(encoding="utf-8")
    assert "Account managers" in index
    for page in ("managers/li-na.presentation.html", "managers/王芳.presentation.html"):
        assert f'href="{page}"' in index and (month / page).exists()
    # rendered from the shared tables through the manager template: no notebook executed per manager
    assert not (month / "executed" / "managers").exists()
    html = (month / "managers" / "li-na.presentation.html").read_text(encoding="utf-8")
    assert "This month&#x27;s actions" in html or "This month's actions" in html
    assert "Briefs of the strategic and A accounts" in html and "page-break-after" in html
    assert any(reason in html for reason in ("in-person visits in the last", "overdue, the oldest",
                                             "unresolved, the oldest", "may have lapsed", "most of its peers buy"))
    assert html.count("<img") == 1 and '<nav class="kam-toc">' in html and "Li Na" in html
    assert 'class="anchor-link"' in html and "a.anchor-link{display:none}" in html   # no stray pilcrow by headings
    assert not list(month.glob("accounts/*"))          # few key accounts: their briefs are in the report
    # the data-hygiene list, with the run's stale_after_days (kam.yaml actions.stale_after_days)
    assert "Data hygiene" in html and "(longer than 200 days)" in html


def test_many_key_accounts_link_to_their_brief_pages(small_dir, tmp_path, monkeypatch):
    from kamlib.report import manager_pages
    monkeypatch.setattr(manager_pages, "BRIEF_INLINE_LIMIT", 2)
    run = run_report(data_dir=small_dir, month="2026-09", out_dir=tmp_path, progress=False, today=TODAY, jobs=1,
                     notebooks=("06_manager_portfolio",))
    assert run.ok, [(n.name, n.error) for n in run.notebooks if n.status != "success"]
    assert all(n.name.startswith("managers/") for n in run.notebooks)      # brief pages are no index entries
    month = tmp_path / "2026-09"
    linked = 0
    for page in (month / "managers").glob("*.presentation.html"):
        html = page.read_text(encoding="utf-8")
        links = re.findall(r'href="\.\./accounts/([^"]+)"', html)
        if links:
            linked += 1
            assert "Margin 12 months" not in html        # the briefs are not repeated
            for link in links:
                brief = (month / "accounts" / link).read_text(encoding="utf-8")
                assert "Margin 12 months" in brief and "Talking points" in brief and "<img" not in brief
    assert linked


def test_kam_brief_writes_one_account(small_dir, tmp_path, capsys):
    account = pd.read_csv(small_dir / "accounts.csv")["account_id"].iloc[3]
    run = run_brief(data_dir=small_dir, account=account, month="2026-09", out_dir=tmp_path, today=TODAY,
                    progress=False)
    assert run.status == "success", run.error
    page = tmp_path / "2026-09" / "accounts" / f"{account}.presentation.html"
    html = page.read_text(encoding="utf-8")
    assert account in html and "Margin 12 months" in html and "Talking points" in html
    assert "<img" not in html and "90% range" in html            # one printed page, no chart; purchases (and CLV)
    assert not re.search(r"value (\d+%) to \1\)", html)       # P(alive): no band that reads '100% to 100%'
    assert not list(tmp_path.glob("*.duckdb")) and not list(tmp_path.glob(".tmp-*"))
    assert main(["brief", "--account", "NO-SUCH", "--data", str(small_dir), "--month", "2026-09",
                 "--out", str(tmp_path), "--today", TODAY, "--quiet"]) == 2
    assert "'NO-SUCH' is not in the accounts table" in capsys.readouterr().err


@pytest.fixture(scope="module")
def book(small_dir):
    from kamlib.analysis import portfolio
    from kamlib.data.loading import load_dataset
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    return ds, portfolio.book_tables(ds, n_draws=0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_manager_page_lists_their_own_stale_complaints_apart_from_the_actions(book, lang):
    from kamlib.analysis import actions, portfolio
    from kamlib.report import manager_pages
    from kamlib.report.notebook import NotebookContext
    from kamlib.text.formatting import count
    from kamlib.text.i18n import t
    ds, tables = book
    ctx = NotebookContext(ds=None, lang=lang)
    stale = actions.data_hygiene(ds, tables.accounts, 180)
    assert stale["detail"].map(lambda d: d["days"] > 180).all()
    with_items = stale["account_manager"].value_counts()
    assert len(with_items) >= 2, "the small book should have stale complaints under several managers"
    for manager in (with_items.index[0], next(m for m in portfolio.managers(ds) if m not in with_items.index)):
        mine = portfolio.portfolio(ds, tables, manager)
        page = html.unescape(manager_pages.captured(manager_pages.show_actions, ctx, mine))
        own = stale[stale["account_manager"] == manager]
        if own.empty:
            assert t("hygiene_title", lang) not in page
            continue
        actions_part, hygiene_part = page.split(t("hygiene_title", lang), 1)
        assert t("hygiene_sentence", lang, n=count(len(own), lang), days=180) in hygiene_part
        for name, reason in zip(own["name"], actions.reasons(own, lang)):
            assert name in hygiene_part and reason in hygiene_part
            assert reason not in actions_part                    # listed apart, not as an action
        others = set(stale.loc[stale["account_manager"] != manager, "name"]) - set(own["name"])
        assert not any(name in hygiene_part for name in others)  # the manager's own accounts only
