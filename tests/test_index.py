"""The landing page, built from a report folder: headline first, reports in reading order, managers by name,
every brief in the folder, metrics with units, run details collapsed at the end; no page for the deck."""
import json

import pandas as pd

from kamlib.report.index import render, write_index, write_managers


def _folder(tmp_path, status="success"):
    f = tmp_path / "2026-10"
    (f / "accounts").mkdir(parents=True)
    nbs = [{"name": n, "status": status if n == "03_retention_vs_acquisition" else "success", "duration_s": 3.0,
            "html": f"{n}.html", "html_presentation": f"{n}.presentation.html", "error": "boom" if status != "success"
            and n == "03_retention_vs_acquisition" else None, "cell": 4}
           for n in ("01_account_overview", "03_retention_vs_acquisition", "02_customer_lifetime_value",
                     "00_executive_summary", "08_client_deck", "managers/li-na")]
    for n in nbs:
        for key in ("html", "html_presentation"):
            (f / n[key]).parent.mkdir(parents=True, exist_ok=True)
            (f / n[key]).write_text(f"<title>{n['name']} — 2026-10</title>")
    (f / "deck.pptx").write_bytes(b"x")
    (f / "run.json").write_text(json.dumps({"month": "2026-10", "status": status, "notebooks": nbs,
                                            "fingerprint": "fp1234", "started": "s", "finished": "e",
                                            "package_versions": {"pandas": "2"},
                                            "parameters": {"company": "Acme", "language": "en"}}))
    (f / "metrics.json").write_text(json.dumps({"month": "2026-10", "metrics": {
        "revenue_12m": 428_555_022.0, "dso_days": 41.0, "hhi_revenue": 0.0024, "churn_rate_12m": 0.179,
        "memo_findings": "overdue_invoices", "finding_overdue_amount": 3_969_998.9, "finding_overdue_accounts": 108},
        "notes": {}}))
    write_managers(f, pd.DataFrame({"accounts": [104], "margin_12m": [9_512_504.0], "actions": [37]},
                                   index=pd.Index(["Li Na"], name="account_manager")))
    return f


def test_the_index_leads_with_the_headline_and_ends_with_the_run(tmp_path):
    page = render(_folder(tmp_path), company="Acme")
    order = [page.index(s) for s in ("Acme", "October 2026", "CN¥4M of invoices are overdue in 108 accounts",
                                     "00_executive_summary.presentation.html", "01_account_overview.presentation",
                                     "02_customer_lifetime_value.presentation", "03_retention_vs_acquisition.pres",
                                     "deck.pptx", "Account managers", "Account briefs", "Headline metrics",
                                     "<details>", "fp1234")]
    assert order == sorted(order)
    assert "08_client_deck.presentation.html" not in page                    # no page for the deck notebook
    assert "CN¥428.6M" in page and "428,555,022" not in page and "HHI" not in page
    assert ">41<" in page and "days" in page
    assert 'href="managers/li-na.presentation.html">Li Na<' in page and "CN¥9.5M" in page and ">37<" in page
    assert "No account brief yet" in page


def test_a_brief_written_later_is_listed_when_the_index_is_rewritten(tmp_path):
    f = _folder(tmp_path)
    write_index(f)
    assert "KA00001" not in (f / "index.html").read_text()
    (f / "accounts" / "KA00001.html").write_text("<title>Account brief: KA00001 — 2026-10</title>")
    (f / "accounts" / "KA00001.presentation.html").write_text("<title>Account brief: KA00001 — 2026-10</title>")
    write_index(f)
    page = (f / "index.html").read_text()
    assert 'href="accounts/KA00001.presentation.html">Account brief: KA00001<' in page
    assert "Acme" in page                                                       # the run's company


def test_chinese_index_and_a_failed_run(tmp_path):
    f = _folder(tmp_path, status="failed")
    zh = render(f, lang="zh")
    assert '<html lang="zh-CN"' in zh and "大客户报告" in zh and "客户经理" in zh and "¥397万" in zh
    assert "Account managers" not in zh and "Headline metrics" not in zh
    en = render(f)
    assert en.index("FAILED") < en.index("Reports") and "boom" in en
