"""The month's landing page (``reports/<month>/index.html``), in the report language.

Company, month and the memo's headline first; then the executive summary, the presentation reports in reading
order, the deck, workbook and PDFs; the account managers (display name, accounts, 12-month margin, actions,
their report); every account brief in the folder; the headline metrics with unit and formatted per kind; the run
details (notebooks, times, fingerprint, versions) collapsed at the end. Built from the folder itself (run.json,
metrics.json, managers.json, accounts/), so ``kam brief`` rewrites it after adding a brief.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from ..analysis.summary import format_value, unit_label
from ..analysis.metrics import GLOSSARY
from ..text.formatting import money
from ..text.formatting import month as month_name
from ..text.i18n import LABELS, t, tv
from .html import with_code

SUMMARY = "00_executive_summary"
DECK = "08_client_deck"                  # writes deck.pptx; its own page is not linked
MANAGERS_FILE = "managers.json"          # written by the executive summary: one row per manager
KEY_METRICS = ("revenue_12m", "margin_12m", "active_accounts_12m", "customer_equity", "churn_rate_12m",
               "accounts_at_risk", "top20_margin_share", "cac_to_retention_cost_ratio", "win_rate_existing",
               "win_rate_new", "dso_days", "service_compliance_rate")
STYLE = """<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:.6em 0}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;
text-align:left}td.n{text-align:right;white-space:nowrap}.headline{font-size:1.25em;background:#eef3f8;
border-left:5px solid #2d5d8a;padding:.7em 1em;margin:1em 0}.company{color:#555}.failed{color:#b42318}
details{margin-top:2em;color:#444}summary{cursor:pointer;font-weight:bold}ol li{margin:.25em 0}</style>"""


def write_managers(folder: str | Path, frame: pd.DataFrame) -> Path | None:
    """Save the managers' overview the index lists (manager, accounts, margin_12m, actions); no folder: nothing."""
    if not folder:
        return None
    path = Path(folder) / MANAGERS_FILE
    path.write_text(frame.reset_index().to_json(orient="records", force_ascii=False), encoding="utf-8")
    return path


def _read(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _title_of(page: Path) -> str:
    """A page's title without the month suffix the report adds ('Account brief: KA00001 — 2026-10')."""
    try:
        with open(page, "rb") as f:            # the head only: a page embeds its figures (100s of kB)
            m = re.search(r"<title>(.*?)</title>", f.read(4000).decode("utf-8", "ignore"), flags=re.S)
    except OSError:
        return page.name.split(".")[0]
    return html.unescape(m.group(1)).split(" — ")[0].strip() if m else page.stem


def _executed_title(folder: Path, name: str, lang: str) -> str:
    """A report's title: its executed notebook's first heading in ``lang``, else its page's title (a manager
    page), else its name."""
    from .html import notebook_title
    try:
        import nbformat
        title = notebook_title(nbformat.read(folder / "executed" / f"{name}.ipynb", as_version=4), lang)
        if title:
            return title
    except (OSError, ValueError):
        pass
    page = folder / f"{name}.presentation.html"
    return _title_of(page) if page.exists() else name


def render(folder: str | Path, *, company: str = "", lang: str = "en", currency: str = "CNY") -> str:
    """The index page of the report in ``folder``."""
    from .runner import slug
    folder, e = Path(folder), html.escape
    run = _read(folder / "run.json", {})
    m = _read(folder / "metrics.json", {})
    metrics, notes = m.get("metrics", {}), m.get("notes", {})
    month = run.get("month") or m.get("month", "")
    notebooks = run.get("notebooks", [])
    by_name = {n["name"]: n for n in notebooks}

    def link(href, label) -> str:
        return f'<a href="{e(href)}">{e(label)}</a>' if href and (folder / href).exists() else ""

    parts = [f'<div class="company">{e(company)}</div>',
             f"<h1>{e(t('index_title', lang, month=month_name(month, lang) if month else ''))}</h1>"]
    if run and run.get("status") != "success":
        failed = [n for n in notebooks if n.get("status") != "success"]
        parts.append(f'<p class="failed"><b>{e(t("index_failed", lang))}</b></p><ul class="failed">' + "".join(
            f"<li>{e(n['name'])}: {e(t('index_failed_cell', lang, cell=n.get('cell') or '-'))} "
            f"{e(n.get('error') or '')}</li>" for n in failed) + "</ul>")
    from ..analysis.findings import recorded_headline       # SciPy: not imported for a brief's index
    headline = recorded_headline(metrics, currency, lang)
    if headline:
        parts.append(f'<p class="headline">{e(headline)}</p>')
    summary = by_name.get(SUMMARY, {})
    if summary.get("html_presentation"):
        parts.append(f"<p><b>{link(summary['html_presentation'], t('index_exec_summary', lang))}</b>"
                     + (f" · {link(summary.get('pdf'), 'PDF')}" if summary.get("pdf") else "") + "</p>")
    # presentation reports in reading order (their numbers), neither the summary nor the deck's page
    reports = sorted((n for n in notebooks if "/" not in n["name"] and n["name"] not in (SUMMARY, DECK)
                      and n.get("html_presentation")), key=lambda n: n["name"])
    if reports:
        items = "".join(
            f"<li>{link(n['html_presentation'], _executed_title(folder, n['name'], lang))}"
            + "".join(f" · {x}" for x in (link(n.get("pdf"), "PDF"),
                                          link(n.get("html"), t("index_analyst", lang))) if x) + "</li>"
            for n in reports)
        parts.append(f"<h2>{e(t('index_reports', lang))}</h2><ol>{items}</ol>")
    files = [x for x in (link("deck.pptx", t("index_deck", lang)), link("workbook.xlsx", t("index_workbook", lang)))
             if x]
    pdfs = [link(n.get("pdf"), _executed_title(folder, n["name"], lang) + " (PDF)") for n in notebooks
            if n.get("pdf") and "/" not in n["name"]]
    if files or any(pdfs):
        parts.append(f"<h2>{e(t('index_files', lang))}</h2><ul>"
                     + "".join(f"<li>{x}</li>" for x in files + [p for p in pdfs if p]) + "</ul>")
    parts.append(_managers(folder, notebooks, currency, lang, link, slug))
    parts.append(_briefs(folder, lang))
    parts.append(_metrics(metrics, notes, currency, lang))
    parts.append(_run_details(folder, run, lang, link))
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{e(t('index_title', lang, month=month))}</title>{STYLE}</head><body>"
            + "\n".join(p for p in parts if p) + "</body></html>")


def _managers(folder: Path, notebooks: list, currency: str, lang: str, link, slug) -> str:
    e = html.escape
    pages = {n["name"].removeprefix("managers/"): n for n in notebooks if n["name"].startswith("managers/")}
    rows = _read(folder / MANAGERS_FILE, [])
    if not rows and not pages:
        return ""
    head = (f"<tr><th>{e(t('account_manager', lang))}</th><th>{e(t('accounts', lang))}</th>"
            f"<th>{e(t('margin_12m', lang))}</th><th>{e(t('res_action_count', lang))}</th></tr>")
    body = []
    listed = set()
    for r in rows:
        s = slug(r["account_manager"])
        listed.add(s)
        page = pages.get(s, {})
        name = link(page.get("html_presentation"), str(tv(r["account_manager"], lang))) or e(str(tv(r["account_manager"], lang)))
        body.append(f"<tr><td>{name}</td><td class=n>{int(r['accounts']):,}</td>"
                    f"<td class=n>{e(money(r['margin_12m'], currency, lang))}</td><td class=n>{int(r['actions']):,}</td></tr>")
    for s, page in sorted(pages.items()):                 # reports of managers the overview does not list
        if s not in listed:
            name = _executed_title(folder, f"managers/{s}", lang)
            body.append(f"<tr><td>{link(page.get('html_presentation'), name) or e(name)}</td><td></td><td></td><td></td></tr>")
    return f"<h2>{e(t('index_managers', lang))}</h2><table>{head}{''.join(body)}</table>"


def _briefs(folder: Path, lang: str) -> str:
    e = html.escape
    pages = sorted(p for p in (folder / "accounts").glob("*.html") if not p.name.endswith(".presentation.html")) \
        if (folder / "accounts").is_dir() else []
    def label(page: Path) -> str:                         # the account id, as a brief's page or PDF is named
        return e(t("res_brief_title", lang, account=page.name.split(".")[0]))

    shown = []
    for p in pages:
        pres = p.with_name(p.stem + ".presentation.html")
        shown.append(f'<li><a href="accounts/{e((pres if pres.exists() else p).name)}">{label(p)}</a></li>')
    pdfs = sorted((folder / "accounts").glob("*.pdf")) if (folder / "accounts").is_dir() else []
    shown += [f'<li><a href="accounts/{e(p.name)}">{label(p)} (PDF)</a></li>' for p in pdfs]
    command = t("index_brief_command", lang)
    none = with_code(t("index_no_briefs", lang, command=command), command)
    body = f"<ul>{''.join(shown)}</ul>" if shown else f"<p>{none}</p>"
    return f"<h2>{e(t('index_briefs', lang))}</h2>{body}"


def _metrics(metrics: dict, notes: dict, currency: str, lang: str) -> str:
    e = html.escape
    rows = []
    for key in KEY_METRICS:
        if key not in metrics:
            continue
        value = format_value(key, metrics[key], currency, lang)
        shown = e(value) if value is not None else f"<em>{e(t('not_available', lang))}</em> — {e(tv(notes.get(key, ''), lang))}"
        rows.append(f"<tr><td>{e(getattr(GLOSSARY[key], lang))}</td><td class=n>{shown}</td>"
                    f"<td>{e(unit_label(key, currency, lang))}</td></tr>")
    if not rows:
        return ""
    return (f"<h2>{e(t('index_metrics', lang))}</h2><table><tr><th>{e(t('metric', lang))}</th>"
            f"<th>{e(t('this_month', lang))}</th><th>{e(t('unit', lang))}</th></tr>{''.join(rows)}</table>")


def _run_details(folder: Path, run: dict, lang: str, link) -> str:
    """Each page of the run by its title (its file name when it has no page), status and duration; the data
    fingerprint, start and end, package versions; file and package names as code."""
    e = html.escape

    def status(value: str) -> str:
        return t(f"index_status_{value}", lang) if f"index_status_{value}" in LABELS else value

    def title(n: dict) -> str:
        shown = _executed_title(folder, n["name"], lang)
        return e(shown) if shown != n["name"] else f"<code>{e(shown)}</code>"

    if not run:
        return ""
    rows = "".join(
        f"<tr><td>{title(n)}</td><td>{e(status(n.get('status', '')))}</td>"
        f"<td class=n>{e(t('index_seconds', lang, seconds=format(n.get('duration_s', 0), '.1f')))}</td>"
        f"<td>{' · '.join(x for x in (link(n.get('html'), t('index_analyst', lang)),) if x)}</td></tr>"
        for n in run.get("notebooks", []))
    versions = ", ".join(f"{k} {v}" for k, v in run.get("package_versions", {}).items())
    when = " → ".join(e(str(run.get(k, "")).replace("T", " ")) for k in ("started", "finished"))
    return (f"<details><summary>{e(t('index_run', lang))}</summary>"
            f"<p>{e(t('data_fingerprint', lang))}: <code>{e(run.get('fingerprint', ''))}</code> · "
            f"{when} · {e(status(run.get('status', '')))}</p>"
            f"<p><code>{e(versions)}</code></p><table>{rows}</table>"
            f"<p><code>{link('metrics.json', 'metrics.json')} · {link('run.json', 'run.json')}</code></p></details>")


def write_index(folder: str | Path, *, company: str | None = None, lang: str | None = None,
                currency: str | None = None) -> Path:
    """(Re)write ``folder/index.html`` from the folder; company, language and currency default to the run's."""
    folder = Path(folder)
    params = _read(folder / "run.json", {}).get("parameters", {})
    page = render(folder, company=params.get("company", "") if company is None else company,
                  lang=lang or params.get("language", "en"), currency=currency or params.get("currency", "CNY"))
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"
