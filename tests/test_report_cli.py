"""The report runner and the `kam` CLI, end to end on the small sample (notebooks run with papermill)."""
import json
import re
import shutil

import nbformat
import pytest

from kamlib.cli import main
from kamlib.report.runner import NOTEBOOK_DIR, run_report
from conftest import ROOT, TODAY


@pytest.fixture(scope="module")
def good_report(small_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    code = main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--jobs", "2", "--deck"])
    return code, out / "2026-09"


def test_report_succeeds_and_writes_everything(good_report):
    code, folder = good_report
    assert code == 0
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "success" and run["month"] == "2026-09"
    assert run["parameters"]["month"] == "2026-09" and len(run["fingerprint"]) == 16
    assert run["package_versions"]["pandas"] and run["package_versions"]["kamlib"] == "0.1.0"
    nb = {n["name"]: n for n in run["notebooks"]}
    assert nb["01_account_overview"]["status"] == "success" and nb["01_account_overview"]["duration_s"] > 0
    full = (folder / "01_account_overview.html").read_text()
    pres = (folder / "01_account_overview.presentation.html").read_text()
    assert full.count("data:image/png;base64") >= 3 and pres.count("data:image/png;base64") >= 3
    assert "open_notebook" in full and "open_notebook" not in pres      # code hidden for presenting
    index = (folder / "index.html").read_text()
    assert "FAILED" not in index and 'href="01_account_overview.presentation.html"' in index
    assert 'href="00_executive_summary.presentation.html"' in index
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["month"] == "2026-09"
    from kamlib.analysis.metrics import GLOSSARY
    assert set(metrics["metrics"]) == set(GLOSSARY)                        # every headline metric recorded
    assert all(k in metrics["notes"] for k, v in metrics["metrics"].items() if v is None)
    assert all(nb[n]["status"] == "success" for n in nb)
    assert '<header class="kam-title">' in pres and '<nav class="kam-toc">' in pres
    assert "Who the accounts are" in pres and "客户是谁" not in pres          # the introduction in English only
    assert "<title>Account overview — 2026-09</title>" in pres
    assert '<script src="http' not in pres and '<script src="http' not in full   # no network needed to view
    assert nb["02_customer_lifetime_value"]["status"] == "success"
    assert (folder / "02_customer_lifetime_value.presentation.html").exists()


def test_reports_carry_no_warnings_progress_bars_or_widgets(good_report):
    # stderr (warnings, progress bars) and widgets would be saved into the notebook and rendered into the report
    _, folder = good_report
    executed = sorted((folder / "executed").rglob("*.ipynb"))
    assert len(executed) == 7            # 6 reports and the deck; manager reports are rendered, not executed
    for path in executed:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            for out in cell.get("outputs", []):
                assert not (out.output_type == "stream" and out.name == "stderr"), (path.name, i, out.text[:300])
                assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), (path.name, i)
    pages = sorted((folder / "managers").glob("*.html"))
    assert len(pages) >= 2
    for page in pages:                   # the rendered pages carry no warnings or progress bars either
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"Warning:|Traceback|it/s\]|widget-view\+json", text), page.name


def test_clv_notebook_metric_matches_library(good_report, small_dir):
    from kamlib.analysis import clv
    from kamlib.data.loading import load_dataset
    _, folder = good_report
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    choice = clv.compare_models(clv.holdout_summary(ds, 12))
    value = clv.account_value(ds, choice.chosen, n_draws=10)
    assert metrics["accounts_at_risk"] == len(clv.accounts_at_risk(ds, value))
    # the run checked the models once and gave the choice to the notebooks that value the book (03-05)
    run = json.loads((folder / "run.json").read_text())
    assert run["parameters"]["clv_model"] == choice.chosen
    executed = nbformat.read(folder / "executed" / "03_retention_vs_acquisition.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'clv_model = "{choice.chosen}"' in injected.source


def test_the_run_shares_one_model_choice_only_when_auto(small_dir, monkeypatch):
    from kamlib.analysis import clv
    from kamlib.data.loading import load_dataset
    from kamlib.models import FitError
    from kamlib.report.runner import shared_model_choice
    ds = load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")
    valuing = [NOTEBOOK_DIR / "03_retention_vs_acquisition.ipynb"]
    chosen = clv.model_check(ds, 12).choice.chosen
    assert shared_model_choice(ds, {"clv_model": "auto", "holdout_months": 12}, valuing) == {"clv_model": chosen}
    assert shared_model_choice(ds, {}, valuing) == {"clv_model": chosen}          # the notebooks' default
    assert shared_model_choice(ds, {"clv_model": "bgnbd"}, valuing) == {}
    assert shared_model_choice(ds, {}, [NOTEBOOK_DIR / "01_account_overview.ipynb"]) == {}

    def no_fit(*args, **kw):
        raise FitError("BG/NBD: no observations to fit")
    monkeypatch.setattr(clv, "model_check", no_fit)      # the notebooks meet and report it themselves
    assert shared_model_choice(ds, {}, valuing) == {}


def test_backfilled_month_counts_later_rows(good_report):
    _, folder = good_report
    executed = nbformat.read(folder / "executed" / "01_account_overview.ipynb", as_version=4)
    text = json.dumps(executed.cells)
    assert "dated after the analysis date 2026-09-30" in text


def test_broken_notebook_fails_loudly_and_keeps_previous_report(small_dir, tmp_path, capsys):
    nb_dir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, nb_dir)
    out = tmp_path / "reports"
    ok = run_report(data_dir=small_dir, month="2026-09", out_dir=out, notebook_dir=nb_dir, progress=False,
                    today=TODAY, notebooks=("01_account_overview",))
    assert ok.ok
    nb = nbformat.read(nb_dir / "01_account_overview.ipynb", as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure for the test')"))
    nbformat.write(nb, nb_dir / "01_account_overview.ipynb")
    bad = run_report(data_dir=small_dir, month="2026-09", out_dir=out, notebook_dir=nb_dir, progress=False,
                     today=TODAY, notebooks=("01_account_overview",))
    assert not bad.ok
    failed = bad.notebooks[0]
    assert failed.status == "failed" and "deliberate failure" in failed.error and failed.cell is not None
    page = (out / "2026-09-failed" / "index.html").read_text()
    assert "FAILED" in page and "deliberate failure" in page
    assert json.loads((out / "2026-09-failed" / "run.json").read_text())["status"] == "failed"
    # the previous good report is untouched
    assert "FAILED" not in (out / "2026-09" / "index.html").read_text()
    assert not list(out.glob(".tmp-*"))


def test_cli_exits_nonzero_on_failure(small_dir, tmp_path, monkeypatch):
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    nbformat.write(nb, nb_dir / "01_account_overview.ipynb")
    monkeypatch.setattr("kamlib.report.runner.NOTEBOOK_DIR", nb_dir)
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(tmp_path / "r"),
                 "--quiet", "--jobs", "1", "--notebooks", "01_account_overview"]) == 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_kernel_that_cannot_start_fails_the_run(small_dir, tmp_path, monkeypatch, jobs):
    def broken(self, *args, **kwargs):
        raise OSError("no kernel here")
    monkeypatch.setattr("kamlib.report.kernels.WarmKernel.__init__", broken)
    run = run_report(data_dir=small_dir, month="2026-09", out_dir=tmp_path, progress=False, today=TODAY, jobs=jobs,
                     notebooks=("01_account_overview", "03_retention_vs_acquisition"))
    assert not run.ok and [n.status for n in run.notebooks] == ["failed", "failed"]
    assert all("the kernel could not start: OSError: no kernel here" in n.error for n in run.notebooks)
    assert "no kernel here" in (tmp_path / "2026-09-failed" / "index.html").read_text()


def test_cli_bad_data_stops_before_notebooks(data_copy, tmp_path, capsys):
    (data_copy / "transactions.csv").write_text("account_id,order_date\nKA00001,2024-01-01\n")
    assert main(["report", "--data", str(data_copy), "--month", "2026-09", "--out", str(tmp_path / "r"),
                 "--quiet"]) == 2
    assert "missing column(s) revenue" in capsys.readouterr().err
    assert not (tmp_path / "r" / "2026-09").exists()
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == []   # no snapshot or work folder left


def test_cli_validate_and_sample(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path / "s"), "--accounts", "40"]) == 0
    assert main(["validate", "--data", str(tmp_path / "s"), "--month", "2026-10"]) == 0
    assert "valid; analysis date 2026-10-31" in capsys.readouterr().out


def test_reports_in_a_real_browser(good_report):
    """Headless Debian chromium via Playwright: pages load, links resolve, images render, no console errors."""
    import shutil as sh
    chromium = sh.which("chromium") or sh.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; `make system-deps` installs it)")
    from playwright.sync_api import sync_playwright
    _, folder = good_report
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((folder / "index.html").as_uri())
        links = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
        assert len(links) >= 14
        for href in links:
            assert (folder / href).exists(), href
        for href in [h for h in links if h.endswith(".presentation.html") and not h.startswith("00_")][:3]:
            page.goto((folder / href).as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
            assert images and all(images), href
            assert page.locator("nav.kam-toc li").count() >= 2
        browser.close()
    assert errors == []


def test_a_young_book_reports_what_it_can(small_dir, tmp_path):
    # three months of history: no holdout is possible, fits degenerate (little dropout seen yet), few or no
    # churns; the report says so instead of failing (it failed on the holdout fit and on the log-rank test before)
    run = run_report(data_dir=small_dir, month="2022-03", out_dir=tmp_path, progress=False, today=TODAY, jobs=2,
                     notebooks=["02_customer_lifetime_value", "03_retention_vs_acquisition"])
    assert run.ok, [(n.name, n.status, n.error) for n in run.notebooks]
    clv_page = (tmp_path / "2022-03" / "02_customer_lifetime_value.presentation.html").read_text()
    assert "The order history covers only 3 months, too short to hold some out" in clv_page
    assert "No uncertainty band is given" in clv_page or "95% band" in clv_page
    eco_page = (tmp_path / "2022-03" / "03_retention_vs_acquisition.presentation.html").read_text()
    import pandas as pd
    churned = pd.to_datetime(pd.read_csv(small_dir / "accounts.csv")["churned_on"]) <= "2022-03-31"
    assert ("chi2 = " in eco_page) if churned.any() else ("not possible, no account has churned yet" in eco_page)
    for path in (tmp_path / "2022-03" / "executed").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for out in cell.get("outputs", []):
                assert not (out.output_type == "stream" and out.name == "stderr"), (path.name, out.text[:300])


def test_the_client_deck(good_report):
    """A consultant's deck: action titles, native charts, slide numbers and a source line on every slide, a
    closing Recommendations slide; every number in a title or takeaway is a metric of metrics.json as the reports
    format it (or a figure of the sentence itself, such as the rule of thumb's 80%)."""
    import re

    from pptx import Presentation

    from kamlib.analysis.summary import format_value
    from kamlib.text.i18n import LABELS
    code, folder = good_report
    prs = Presentation(folder / "deck.pptx")
    assert prs.slide_width * 9 == prs.slide_height * 16
    titles = [s.shapes.title.text for s in prs.slides]
    assert titles[0] == "Key-account review" and titles[-1] == "Recommendations"
    run = json.loads((folder / "run.json").read_text())
    for i, slide in enumerate(prs.slides, 1):
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert f"{i} / {len(titles)}" in texts
        assert any(run["fingerprint"] in t and "September 2026" in t for t in texts)        # the source line
    charts = [sh.chart for s in prs.slides for sh in s.shapes if sh.has_chart]
    assert len(charts) >= 5                                                        # native, editable charts
    for chart in charts:
        sizes = [int(v) for v in re.findall(r'sz="(\d+)"', chart.part.blob.decode())]
        assert sizes and min(sizes) >= 1200                                        # 12 pt at slide size
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    number = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
    formatted = {key: format_value(key, v) for key, v in metrics.items() if v is not None}
    from_metrics = {n for text in formatted.values() for n in number.findall(str(text))}
    literal = {n for key, text in LABELS.items() if key.startswith(("deck_", "finding_", "memo_", "note_"))
               for n in number.findall(re.sub(r"\{[^}]*\}", "", text["en"]))}
    said = titles[1:] + [sh.text_frame.text for s in list(prs.slides)[1:] for sh in s.shapes
                         if sh.has_text_frame and sh.top > 5_000_000 and sh.top < 6_300_000]  # takeaways
    assert len(said) > len(titles)
    for text in said:
        assert set(number.findall(text)) <= from_metrics | literal, text
    assert any(formatted["top20_margin_share"] in t for t in titles)
    assert any(formatted["dso_days"] in t for t in titles)
    xml = prs.slides[2].shapes[-1].text_frame._txBody.xml          # editable text with a CJK fallback font
    assert 'a:ea typeface="Noto Sans CJK SC"' in xml
    assert 'href="deck.pptx"' in (folder / "index.html").read_text()


def test_the_workbook_and_the_landing_page(good_report):
    """The workbook is linked from the index and agrees with the report: its action totals are the memo's
    numbers, its metrics those of metrics.json; the index leads with the memo's headline."""
    import openpyxl

    from kamlib.analysis.findings import recorded_headline
    _, folder = good_report
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    wb = openpyxl.load_workbook(folder / "workbook.xlsx")
    assert wb.sheetnames == ["Headline metrics", "Accounts", "Actions this month", "Manager scorecard",
                             "Cross-sell whitespace", "Receivables"]
    actions = list(wb["Actions this month"].iter_rows(min_row=2, values_only=True))
    behind = [r[6] for r in actions if r[5] == "visits behind policy"]               # empty: no money known
    if metrics["finding_visits_behind_margin"] is None:          # visits no supported driver: said why, not 0
        assert behind and all(m is None for m in behind)
        assert "churn-driver model" in json.loads((folder / "metrics.json").read_text())["notes"][
            "finding_visits_behind_margin"]
    else:
        assert sum(m or 0.0 for m in behind) == pytest.approx(metrics["finding_visits_behind_margin"])
    assert len({r[2] for r in actions if r[5] == "open complaint"}) == metrics["finding_open_complaint_accounts"]
    shown = {r[1]: r[3] for r in wb["Headline metrics"].iter_rows(min_row=2, values_only=True)}
    assert shown["Revenue (12 months)"] == pytest.approx(metrics["revenue_12m"])
    index = (folder / "index.html").read_text()
    assert 'href="workbook.xlsx"' in index and "08_client_deck.presentation.html" not in index
    headline = recorded_headline(metrics)
    assert headline and index.index(headline.split(":")[0]) < index.index("00_executive_summary.presentation.html")


def _files(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_rerunning_one_edited_notebook_keeps_the_rest_of_the_month(good_report, small_dir, tmp_path, capsys):
    _, folder = good_report
    out = tmp_path / "r"
    shutil.copytree(folder, out / "2026-09")
    (out / "2026-09" / "accounts").mkdir(exist_ok=True)
    (out / "2026-09" / "accounts" / "A1.html").write_text("a brief")           # a brief written by kam brief
    before = _files(out / "2026-09")
    metrics_before = json.loads((out / "2026-09" / "metrics.json").read_text())["metrics"]
    mine = tmp_path / "my-notebooks"                                           # an analyst's edited copy
    mine.mkdir()
    nb = nbformat.read(NOTEBOOK_DIR / "01_account_overview.ipynb", as_version=4)
    nb.cells.append(nbformat.from_dict({"cell_type": "markdown", "metadata": {},
                                        "source": "Edited by the analyst: marker-7f3a"}))
    nbformat.write(nb, mine / "01_account_overview.ipynb")
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--jobs", "1", "--notebook-dir", str(mine), "--notebooks", "01"]) == 0
    printed = capsys.readouterr().out
    assert "01_account_overview" in printed and "02_customer_lifetime_value" not in printed
    after = out / "2026-09"
    assert _files(after) == before                                              # nothing lost, nothing extra
    assert "marker-7f3a" in (after / "01_account_overview.html").read_text()
    assert "marker-7f3a" not in (after / "02_customer_lifetime_value.html").read_text()
    assert (after / "accounts" / "A1.html").read_text() == "a brief"
    run = json.loads((after / "run.json").read_text())
    assert run["status"] == "success" and run["updated"] == ["01_account_overview"]
    assert run["notebook_dir"] == str(mine.resolve())
    old_names = [n["name"] for n in json.loads((folder / "run.json").read_text())["notebooks"]]
    assert [n["name"] for n in run["notebooks"]] == old_names                  # every report still listed
    index = (after / "index.html").read_text()
    assert 'href="02_customer_lifetime_value.presentation.html"' in index and "managers/" in index
    metrics = json.loads((after / "metrics.json").read_text())["metrics"]
    assert metrics.keys() == metrics_before.keys()
    for k, v in metrics.items():
        if isinstance(v, str):                                                  # words (the memo's finding kinds)
            assert v == metrics_before[k]
        else:
            assert v == pytest.approx(metrics_before[k], rel=1e-9, abs=1e-12) if v is not None else metrics_before[k] is None
    assert not list(out.glob(".tmp-*")) and not list(out.glob(".old-*"))


def test_unknown_notebook_names_are_refused_before_any_work(small_dir, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--notebooks", "clv"]) == 2
    err = capsys.readouterr().err
    assert "no notebook 'clv'" in err and "02_customer_lifetime_value" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
    from kamlib.report.runner import UnknownNotebook, resolve_notebooks
    assert resolve_notebooks(["02", "customer_lifetime_value", "01_account_overview.ipynb"]) == (
        "02_customer_lifetime_value", "01_account_overview")
    with pytest.raises(UnknownNotebook, match="kam brief"):
        resolve_notebooks(["07_account_brief"])


def test_no_temporary_folder_survives_an_error(small_dir, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("kamlib.report.runner.shared_model_choice", boom)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_report(data_dir=small_dir, month="2026-09", out_dir=out, progress=False, today=TODAY,
                   notebooks=("01_account_overview",))
    assert [p.name for p in out.iterdir() if p.name.startswith((".tmp", ".old", ".snapshot"))] == []


def test_the_cookbook_reproduces_every_headline_metric(good_report, small_dir, monkeypatch):
    """docs/cookbook.md, run as written on the small book, gives the report's metrics.json to 1e-9."""
    import re
    _, folder = good_report
    report = json.loads((folder / "metrics.json").read_text())["metrics"]
    text = (ROOT / "docs" / "cookbook.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    first = 'data, month = "data/sample", "2026-10"'
    assert first in blocks[0]
    blocks[0] = blocks[0].replace(first, f"data, month = {str(small_dir)!r}, '2026-09'")
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/cookbook.md block {i + 1}", "exec"), ns)
    got = ns["metrics"]
    assert set(got) == set(report)                                  # every headline metric, nothing else
    for key, want in report.items():
        # named next to its glossary section (the memo's finding_* numbers as one family)
        assert f"`{key}`" in text or (key.startswith("finding_") and "`finding_*`" in text), key
        if want is None or isinstance(want, str):
            assert got[key] == want, key
        else:
            assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-12), key


def test_contact_details_appear_nowhere_unmasked(good_report, small_dir):
    """Phone numbers and e-mail addresses are personal information: no output of the batch (pages, executed
    notebooks, metrics.json, run.json, the deck, any workbook, the cache) holds one as recorded; the briefs in
    the manager reports show them masked."""
    import io
    import zipfile

    import pandas as pd
    from kamlib.text.masking import mask_phone
    _, folder = good_report
    contacts = pd.read_csv(small_dir / "contacts.csv", dtype=str)
    secrets = [s.encode() for s in pd.concat([contacts["phone"], contacts["email"]]).dropna()]
    assert len(secrets) > 20

    def contents(path):
        data = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):                  # pptx, xlsx: every member
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return b"".join(z.read(n) for n in z.namelist())
        return data
    files = [p for p in folder.parent.rglob("*") if p.is_file()]
    assert any(p.suffix == ".pptx" for p in files) and any(p.name == "metrics.json" for p in files)
    leaks = [(p.name, s.decode()) for p in files for s in secrets if s in contents(p)]
    assert leaks == []
    pages = "".join(p.read_text(encoding="utf-8") for p in (folder / "managers").glob("*.presentation.html"))
    assert any(mask_phone(s.decode()) in pages for s in secrets[:len(contacts)])
