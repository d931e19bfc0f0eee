"""What a Chinese reader sees of a report — the visible text of its HTML pages, slides and workbook — and the Latin
words in it that are neither data (names, codes the data gave) nor allow-listed terms of the trade."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

# terms a Chinese KAM reader reads as they are: model and statistics names, units, products, file kinds
ALLOWED = frozenset({
    "CLV", "Gini", "Cox", "HHI", "RFM", "BG/NBD", "MBG/NBD", "Pareto/NBD", "Gamma-Gamma", "sBG", "AIC", "BIC",
    "MAE", "RMSE", "KPI", "Holm", "Wald", "Kaplan-Meier", "ABC", "CRM", "ERP", "VAT",
    "CNY", "PowerPoint", "Excel", "PDF",
    "p",                                    # p-values: "p < 0.001"
    "r", "alpha", "a", "b", "s", "beta", "q", "gamma",   # the models' published parameter names (appendix tables)
})
WORD = re.compile(r"[A-Za-z](?:[A-Za-z/\-]*[A-Za-z])?")
RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,&'()/+*\-]*")     # a run of Latin script: words, spaces, punctuation
CODES = (re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,4}\d{3,}(?![A-Za-z0-9])"),   # ids the data gave: KA00648, SO0063196
         re.compile(r"(?<![A-Za-z0-9])\d{4}Q[1-4](?![A-Za-z0-9])"),        # quarters: 2024Q4
         re.compile(r"[0-9a-f]{16}"),                         # the data fingerprint
         re.compile(r"[A-Za-z0-9.*_-]+@[A-Za-z0-9.-]+"),         # e-mail addresses (masked) of contacts
         re.compile(r"[A-Za-z0-9_-]+\.(?:pptx|xlsx|json|html|pdf)(?![A-Za-z0-9])"))   # file names


def data_strings(data_dir: Path) -> set[str]:
    """Free text and codes of the data that a report shows as they are: account, manager, contact and prospect
    names, contacts' job titles, tiers and credit ratings."""
    def col(table: str, *names: str) -> set[str]:
        path = Path(data_dir) / f"{table}.csv"
        if not path.exists():
            return set()
        frame = pd.read_csv(path, dtype=str, usecols=lambda c: c in names)
        return {v for c in frame.columns for v in frame[c].dropna()}
    return (col("accounts", "name", "account_manager", "tier", "credit_rating") | col("contacts", "name", "title")
            | col("opportunities", "prospect_name", "account_manager"))


def visible_text(page: str) -> str:
    """The text a browser shows: no head, scripts, styles, hidden elements or code (ids, commands, settings)."""
    from lxml import html as lxml_html
    doc = lxml_html.fromstring(page)
    for node in doc.xpath("//head|//script|//style|//noscript|//template|//code|//*[@hidden]"
                          "|//*[contains(translate(@style,' ',''),'display:none')]"):
        node.drop_tree()
    return "\n".join(doc.itertext())                           # cells and paragraphs apart


def deck_text(path: Path) -> list[str]:
    """Every text of a pptx deck: text frames, table cells, chart titles, categories and series names."""
    from pptx import Presentation
    out = []
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
            if shape.has_table:
                out += [cell.text for row in shape.table.rows for cell in row.cells]
            if shape.has_chart:
                chart = shape.chart
                if chart.has_title:
                    out.append(chart.chart_title.text_frame.text)
                for plot in chart.plots:
                    out += [str(c) for c in plot.categories] + [str(s.name) for s in plot.series]
    return out


def workbook_text(path: Path) -> list[str]:
    """Sheet names and every text cell of an xlsx workbook (headers and values)."""
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True)
    out = list(book.sheetnames)
    for sheet in book.worksheets:
        out += [v for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    return out


def stray_latin(text: str, data: set[str]) -> list[str]:
    """Latin words of ``text`` that are not data, codes, or :data:`ALLOWED`, each with some context. The text is
    read in runs of Latin script (a name, a term, an English sentence); a run that is a data value is data."""
    words = {v for v in data if WORD.fullmatch(v)}              # one-word values (tiers, ratings): whole words
    phrases = data - words
    for pattern in CODES:
        text = pattern.sub(" ", text)
    found = []
    for run in RUN.finditer(text):
        chunk = run.group(0).strip()
        if chunk in data or chunk.strip(" .,()&'/-") in data:
            continue
        stray = [w for w in WORD.findall(chunk) if w not in ALLOWED | words]
        if stray:                                                 # names inside a longer run are data too
            for value in (v for v in phrases if v in chunk):
                chunk = chunk.replace(value, " ")
            stray = [w for w in WORD.findall(chunk) if w not in ALLOWED | words]
        context = " ".join(text[max(0, run.start() - 20):run.end() + 20].split())
        found += [f"{w!r} in …{context}…" for w in stray]
    return found
