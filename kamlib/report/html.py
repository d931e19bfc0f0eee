"""HTML of the reports: analyst and presentation versions of each notebook (title block, table of contents,
images embedded) and the index page. Everything user-supplied is HTML-escaped."""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import nbformat


STYLE = """<style>.kam-title{font-family:sans-serif;border-bottom:2px solid #2d5d8a;margin:1em auto;max-width:1100px;
padding:.5em 0}.kam-title h1{margin:.1em 0;font-size:1.6em}.kam-meta{color:#555}.kam-toc{font-family:sans-serif;
max-width:1100px;margin:0 auto 1em auto;background:#f5f7fa;padding:.6em 1em}.kam-toc ol{margin:.3em 0}
.jp-OutputArea-output table{display:block;overflow-x:auto;max-width:100%}
@page{size:A4;margin:14mm 12mm}
@media print{.jp-OutputArea-output{overflow:visible}.jp-OutputArea-output table{display:table;font-size:9pt;width:100%}
.jp-OutputArea-output th,.jp-OutputArea-output td{white-space:normal;overflow-wrap:anywhere}
h1,h2,h3,h4{break-after:avoid;page-break-after:avoid}tr,img,figure{break-inside:avoid}}</style>"""
TOC_LABEL = {"en": "Contents", "zh": "目录"}
META = {"en": ("Analysis month", "Data fingerprint"), "zh": ("分析月份", "数据指纹")}


def with_code(text: str, code: str) -> str:
    """``text`` HTML-escaped, with ``code`` in it (a command, a setting) marked up as ``<code>``."""
    return html.escape(text).replace(html.escape(code), f"<code>{html.escape(code)}</code>")


def decorate(page: str, *, company: str, title: str, month: str, fingerprint: str, lang: str = "en") -> str:
    """Insert the title block (company, report title, month, data fingerprint) and a table of contents built
    from the page's level-2 headings; set the page language; drop scripts loaded from the network."""
    e = html.escape
    heads = re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)(?:<a class="anchor-link".*?)?</h2>', page, flags=re.S)
    items = "".join(f'<li><a href="#{e(i, quote=True)}">{re.sub("<[^>]+>", "", t).strip()}</a></li>'
                    for i, t in heads)
    toc = f'<nav class="kam-toc"><b>{TOC_LABEL[lang]}</b><ol>{items}</ol></nav>' if items else ""
    month_l, fp_l = META[lang]
    block = (f'<header class="kam-title"><div class="kam-meta">{e(company)}</div><h1>{e(title)}</h1>'
             f'<div class="kam-meta">{month_l}: {e(month)} · {fp_l}: <code>{e(fingerprint)}</code></div></header>')
    # self-contained: no CDN scripts (require.js and MathJax are not needed; mermaid loads only if used)
    page = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", page)
    page = re.sub(r'<html lang="[^"]*"', f'<html lang="{"zh-CN" if lang == "zh" else "en"}"', page, count=1)
    page = re.sub(r"<title>.*?</title>", f"<title>{e(title)} — {e(month)}</title>", page, count=1, flags=re.S)
    page = page.replace("</head>", STYLE + "</head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + block + toc, page, count=1)


def in_language(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """The notebook without the cells tagged for another language (``lang-en`` / ``lang-zh``: the bilingual
    introductions analysts see in JupyterLab; a report shows its own language only)."""
    keep = [c for c in nb.cells
            if not any(t.startswith("lang-") and t != f"lang-{lang}" for t in c.metadata.get("tags", []))]
    return nbformat.from_dict({**nb, "cells": keep})


def notebook_title(nb: nbformat.NotebookNode, lang: str = "en") -> str:
    """The first markdown heading among the cells for ``lang`` ('English / 中文' titles give the part for
    ``lang``)."""
    for c in in_language(nb, lang).cells:
        if c.cell_type == "markdown":
            m = re.match(r"#\s+(.+)", c.source)
            if m:
                parts = [p.strip() for p in m.group(1).split(" / ")]
                return parts[1] if lang == "zh" and len(parts) > 1 else parts[0]
    return ""


def for_presentation(nb: nbformat.NotebookNode, lang: str = "en") -> nbformat.NotebookNode:
    """The notebook as a client reads it: no second title (the title block names the report; the first heading
    of the introduction and the header output go), and cells tagged ``appendix`` (model fits, parameter
    tables, bin edges) moved to an appendix at the end."""
    from ..text.i18n import t
    cells, appendix, titled = [], [], False
    for c in nb.cells:
        c = nbformat.from_dict(c)
        if c.cell_type == "markdown" and not titled and re.match(r"#\s", c.source):
            c.source, titled = re.sub(r"\A#\s+[^\n]*\n?", "", c.source), True
        if c.cell_type == "code":
            c.outputs = [o for o in c.get("outputs", []) if o.get("metadata", {}).get("kam") != "header"]
        (appendix if "appendix" in c.metadata.get("tags", []) else cells).append(c)
    if appendix:
        cells.append(nbformat.v4.new_markdown_cell("## " + t("appendix_title", lang)))
    return nbformat.from_dict({**nb, "cells": cells + appendix})


@functools.lru_cache(maxsize=None)
def _exporter(presentation: bool, embed_images: bool):
    """An HTML exporter (code and prompts hidden for the ``presentation``), made once per process: making one
    compiles its templates again (~0.5 s)."""
    from nbconvert import HTMLExporter
    hidden = dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True) if presentation else {}
    return HTMLExporter(embed_images=embed_images, **hidden)


def _links_images(nb: nbformat.NotebookNode) -> bool:
    """Whether a markdown cell shows an image (``![..](..)`` or ``<img``), which the HTML must embed to stay
    self-contained (embedding parses the whole page: ~1 s on a report); outputs carry their figures inline."""
    return any(c.cell_type == "markdown" and ("![" in c.source or "<img" in c.source) for c in nb.cells)


def render_notebook(nb_path: Path, out_dir: Path, name: str, *, company: str, month: str, fingerprint: str,
                    lang: str = "en", presentation: bool = True) -> tuple[str, str | None]:
    """Analyst (code shown) and presentation (code and prompts hidden) HTML in ``lang``, self-contained; the
    analyst version only without ``presentation`` (the caller renders it another way)."""
    nb = in_language(nbformat.read(nb_path, as_version=4), lang)
    title = notebook_title(nb, lang)
    kw = dict(company=company, title=title, month=month, fingerprint=fingerprint, lang=lang)
    embed = _links_images(nb)
    full, _ = _exporter(False, embed).from_notebook_node(nb)
    (out_dir / f"{name}.html").write_text(decorate(full, **kw), encoding="utf-8")
    if not presentation:
        return f"{name}.html", None
    pres, _ = _exporter(True, embed).from_notebook_node(for_presentation(nb, lang))
    (out_dir / f"{name}.presentation.html").write_text(decorate(pres, **kw), encoding="utf-8")
    return f"{name}.html", f"{name}.presentation.html"


def render_quality_page(source: str, problems: list, quality=None, *, analysis_month: str = "") -> str:
    """The data-quality page of ``kam validate``: every problem (file, column, count, example lines) or, when
    the data are valid, rows read / excluded / used and the findings that do not stop a run."""
    e = html.escape

    def table(frame) -> str:
        return frame.to_html(index=False, border=0, na_rep="", escape=True) if len(frame) else "<p>none</p>"

    import pandas as pd
    if problems:
        rows = pd.DataFrame([{"file": p.source or p.table, "column": p.column or "", "rows": p.count or "",
                              "problem": str(p).split(": ", 2)[-1]} for p in problems])
        body = (f"<p class=bad>{len(problems)} problem(s): the data cannot be used until they are fixed.</p>"
                + table(rows))
    else:
        body = (f"<p class=good>Valid for analysis month {e(str(analysis_month))}.</p><h2>Rows</h2>"
                + table(quality.summary().reset_index()) + "<h2>Rows left out (counted)</h2>"
                + table(quality.exclusions_table()) + "<h2>Findings (kept, worth a look)</h2>"
                + table(quality.findings_table()) + "<h2>Values read as the export says (changed)</h2>"
                + table(pd.DataFrame(quality.adjustments, columns=["table", "column", "reason", "values"]))
                + "<h2>Not read</h2>" + table(quality.notes_table()))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data quality — {e(source)}</title>'
            "<style>body{font-family:sans-serif;max-width:1100px;margin:1em auto}table{border-collapse:collapse}"
            "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
            ".bad{color:#a00;font-weight:bold}.good{color:#070;font-weight:bold}</style></head><body>"
            f"<h1>Data quality</h1><p>Source: <code>{e(source)}</code></p>{body}</body></html>")
