"""A Chinese report is Chinese: every page of the zh batch (index, executive summary and memo, notebook reports,
manager pages, briefs), the deck and the workbook, read as a client reads them, carry no Latin word that is not
a name or code from the data or an allow-listed term (tests/zh_text.py)."""
import json
from pathlib import Path

import pytest

from kamlib.report.index import render

from conftest import SAMPLE, TODAY
from zh_text import data_strings, deck_text, stray_latin, visible_text, workbook_text


def _pages(month: Path) -> list[Path]:
    return sorted(p for p in month.rglob("*.html") if p.name == "index.html" or p.name.endswith(".presentation.html"))


def _stray(month: Path, data: set[str]) -> list[str]:
    found = []
    for page in _pages(month):
        words = stray_latin(visible_text(page.read_text(encoding="utf-8")), data)
        found += [f"{page.relative_to(month)}: {w}" for w in words[:5]]
    for name, texts in (("deck.pptx", deck_text), ("workbook.xlsx", workbook_text)):
        if (month / name).exists():
            found += [f"{name}: {w}" for w in stray_latin("\n".join(texts(month / name)), data)][:10]
    return found


def test_the_checker_finds_english_and_lets_data_and_terms_pass():
    data = {"Li Na", "Acme Industrial Supply", "A"}
    page = ("<html><head><title>Report</title></head><body><p>Li Na 的客户 Acme Industrial Supply（A级）："
            "CLV ¥3.2万，BG/NBD 模型，p < 0.001，发票SO0063196，2024Q4</p><code>kam brief --account</code>"
            "<script>var x = 'hidden';</script><p style='display: none'>hidden</p></body></html>")
    assert stray_latin(visible_text(page), data) == []
    assert [w.split()[0] for w in stray_latin(visible_text(page.replace("的客户", " accounts ")), data)] \
        == ["'accounts'"]
    assert stray_latin("fasteners的购买量远低于同类客户", data)[0].startswith("'fasteners'")


def test_every_zh_string_of_the_locale_file_is_chinese():
    """Every label, sentence and value name in zh.yaml, placeholders and `code` (settings, calls) aside, has no
    Latin word but the allow-listed terms and the tier codes A / B / C — also those this month's sample does
    not show."""
    import re

    from kamlib.text import i18n
    commands = {"index_brief_command"}                          # a command the index shows as code
    stray = []
    for key, texts in [*i18n.LABELS.items(), *i18n.VALUES.items()]:
        if key not in commands:
            text = re.sub(r"`[^`]*`|\{[^{}]*\}", " ", texts["zh"])
            stray += [f"{key}: {w}" for w in stray_latin(text, {"A", "B", "C"})]
    assert stray == [], stray


@pytest.mark.slow
def test_the_zh_batch_on_the_sample_is_chinese(zh_batch):
    pages = _pages(zh_batch)
    kinds = {p.relative_to(zh_batch).parts[0] for p in pages}
    assert {"index.html", "managers", "accounts", "00_executive_summary.presentation.html",
            "03_retention_vs_acquisition.presentation.html"} <= kinds, kinds
    assert (zh_batch / "deck.pptx").exists() and (zh_batch / "workbook.xlsx").exists()
    stray = _stray(zh_batch, data_strings(SAMPLE))
    assert stray == [], "English in the zh report:\n" + "\n".join(stray)


def test_the_zh_index_is_chinese(tmp_path):
    from test_index import _folder
    folder = _folder(tmp_path)
    for page in folder.rglob("*.html"):                        # the pages' own titles, as a zh run writes them
        page.write_text("<title>客户概况 — 2026-10</title>", encoding="utf-8")
    run = json.loads((folder / "run.json").read_text())
    run.update(started="2026-11-02T08:00:01", finished="2026-11-02T08:01:30")
    (folder / "run.json").write_text(json.dumps(run))
    stray = stray_latin(visible_text(render(folder, company="示例工业供应有限公司", lang="zh")), {"Li Na"})
    assert stray == [], stray


@pytest.fixture(scope="module")
def book(small_dir):
    from kamlib.analysis import portfolio
    from kamlib.data.loading import load_dataset
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    return ds, portfolio.book_tables(ds, n_draws=0)


def test_zh_manager_pages_and_their_briefs_are_chinese(book, small_dir):
    """The default run's cheaper variant of the batch check: two managers' pages (with their key accounts'
    briefs) rendered through the manager template, in Chinese, on the small book."""
    from kamlib.analysis import portfolio, service
    from kamlib.report import manager_pages
    from kamlib.report.notebook import NotebookContext
    ds, tables = book
    ctx, data = NotebookContext(ds=None, lang="zh"), data_strings(small_dir)
    mines = [portfolio.portfolio(ds, tables, m) for m in portfolio.managers(ds)]
    mines = sorted(mines, key=lambda m: len(m.hygiene) + len(manager_pages.key_accounts(m)))[-2:]  # the fullest
    for mine in mines:
        key = manager_pages.key_accounts(mine).index
        briefs = portfolio.account_briefs(ds, tables, key, service.ServicePolicy())
        body = manager_pages.captured(manager_pages.show_manager, ctx, mine, briefs, horizon_months=36,
                                      model=tables.model)
        page = manager_pages.render_page("manager", body, title=ctx.t("res_portfolio_title", manager=mine.manager),
                                         company="示例工业供应有限公司", month="2026-09", fingerprint="fp", lang="zh")
        text = visible_text(page)
        assert ("数据清理" in text) == (not mine.hygiene.empty)
        stray = stray_latin(text, data)
        assert stray == [], f"{mine.manager}: {stray}"
