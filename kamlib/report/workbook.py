"""The month's Excel workbook (``reports/<month>/workbook.xlsx``) for teams who work on in Excel.

One sheet each for the headline metrics, the accounts (tier, manager, 12-month margin, P(alive), CLV with its
interval, strategy, suggested tier), this month's actions (one sheet, filterable by manager), the manager
scorecard, the cross-sell whitespace and the open receivables. Written from the analysis tables the reports
use (no recomputation), with headers and category values in the report language, money in a currency number
format, dates as dates, a frozen header row, an autofilter and fitted column widths (XlsxWriter).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
from babel.numbers import get_currency_symbol

from ..analysis.metrics import GLOSSARY
from ..analysis.summary import unit_label
from ..text.i18n import CLDR_LOCALES, header, t, tv

MONEY = {"margin_12m", "clv", "clv_lower", "clv_upper", "money_at_stake", "amount", "margin", "peer_median_margin",
         "opportunity", "portfolio_clv", "margin_prev_12m", "account_margin", "potential"}
SHARE = {"p_alive", "retention_rate", "margin_growth", "visit_compliance", "win_rate", "peer_share", "revenue_share",
         "peer_median_revenue_share", "peer_median_margin_share"}
# number formats of the other cells: counts whole, other decimals two places (the cell keeps its full value)
NUMBER_FORMATS = {"count": "#,##0", "number": "#,##0.00", "index": "0.0000", "ratio": '0.0"x"', "p": "0.000"}
# a headline metric's glossary unit -> its format (money and shares as the columns above)
UNIT_FORMATS = {"accounts": "count", "opportunities": "count", "invoices": "count", "days": "count",
                "purchases": "number", "0-1": "index", "ratio": "ratio", "p-value": "p"}
CODES = {"tier", "strategy", "suggested_tier", "kind", "status", "product_category", "bucket"}   # shown translated


def _width(value) -> int:
    """Display width of a cell's text (CJK characters count double)."""
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _sheet(writer, name: str, frame: pd.DataFrame, lang: str, formats: dict) -> None:
    """Write ``frame`` (columns named by code) with translated headers and values, typed cells, frozen header,
    autofilter and fitted widths."""
    out = frame.copy()
    for c in out.columns:
        if c in CODES:
            out[c] = out[c].map(lambda v: tv(v, lang) if isinstance(v, str) else v)
    heads = [str(header(c, lang)) for c in out.columns]
    sheet = writer.book.add_worksheet(name)
    bold = formats["header"]
    for j, (code, head) in enumerate(zip(out.columns, heads)):
        sheet.write_string(0, j, head, bold)
        col = out[code]
        fmt = (formats["money"] if code in MONEY else formats["share"] if code in SHARE
               else formats["date"] if pd.api.types.is_datetime64_any_dtype(col)
               else formats["count"] if pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col)
               else formats["number"] if pd.api.types.is_float_dtype(col) else None)
        for i, v in enumerate(col.tolist(), start=1):
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                continue
            if isinstance(v, pd.Timestamp):
                sheet.write_datetime(i, j, v.to_pydatetime(), fmt)
            elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                sheet.write_number(i, j, float(v), fmt)
            else:
                sheet.write_string(i, j, str(v))
        texts = [head] + [("0000-00-00" if fmt is formats["date"] else f"{v:,.2f}" if isinstance(v, float) else v)
                          for v in col.head(500).tolist() if v is not None]
        sheet.set_column(j, j, min(max(_width(x) for x in texts) + 2, 60))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(out), 1), max(len(heads) - 1, 0))


def metrics_frame(metrics: dict, notes: dict, currency: str = "CNY", lang: str = "en") -> pd.DataFrame:
    """The headline metrics as rows: section, metric, unit, value (a number), reason when not available."""
    rows = [{"section": m.issue, "metric": getattr(m, lang), "unit": unit_label(k, currency, lang),
             "this_month": metrics.get(k), "reason": tv(notes.get(k, ""), lang) if metrics.get(k) is None else "", "key": k}
            for k, m in GLOSSARY.items() if m.unit != "text" and k in metrics]
    return pd.DataFrame(rows, columns=["section", "metric", "unit", "this_month", "reason", "key"])


def write_workbook(path: str | Path, *, metrics: dict, notes: dict, accounts: pd.DataFrame, actions: pd.DataFrame,
                   reasons: pd.Series, scorecard: pd.DataFrame, whitespace: pd.DataFrame,
                   receivables: pd.DataFrame | None, currency: str = "CNY", lang: str = "en") -> Path:
    """Write the workbook. ``accounts``: :attr:`kamlib.analysis.portfolio.BookTables.accounts`; ``actions``
    and their ``reasons`` (:func:`kamlib.analysis.actions.reasons`); ``scorecard``, ``whitespace``: the
    book tables'; ``receivables``: :func:`kamlib.analysis.scorecard.receivables` (None: no payments)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    symbol = get_currency_symbol(currency, locale=CLDR_LOCALES[lang]).replace('"', "")
    names = {a: (n, m) for a, n, m in zip(accounts.index, accounts["name"], accounts["account_manager"])}
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        book = writer.book
        formats = {"header": book.add_format({"bold": True, "bg_color": "#DCE6F0", "border": 1}),
                   "money": book.add_format({"num_format": f'"{symbol}"#,##0.00'}),
                   "share": book.add_format({"num_format": "0.0%"}),
                   "date": book.add_format({"num_format": "yyyy-mm-dd"}),
                   **{k: book.add_format({"num_format": v}) for k, v in NUMBER_FORMATS.items()}}
        m = metrics_frame(metrics, notes, currency, lang)
        m["section"] = m["section"].map(lambda s: tv(s, lang))
        _sheet(writer, t("wb_metrics", lang), m.drop(columns="key"),
               lang, formats)
        sheet = writer.sheets[t("wb_metrics", lang)]
        for r, (k, v) in enumerate(zip(m["key"], m["this_month"]), start=1):
            unit = GLOSSARY[k].unit
            fmt = (formats["money"] if unit.startswith("currency") else formats["share"] if unit.startswith("share")
                   else formats[UNIT_FORMATS.get(unit, "number")])
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and pd.notna(v):
                sheet.write_number(r, 3, float(v), fmt)
        cols = ["name", "tier", "account_manager", "margin_12m", "p_alive", "clv", "clv_lower", "clv_upper",
                "strategy", "suggested_tier"]
        acc = accounts.reindex(columns=cols).sort_values("clv", ascending=False).reset_index()
        _sheet(writer, t("wb_accounts", lang), acc, lang, formats)
        act = actions.assign(reason=reasons)[["account_manager", "account_id", "name", "tier", "kind",
                                              "money_at_stake", "reason"]].reset_index()
        _sheet(writer, t("wb_actions", lang), act, lang, formats)
        card = scorecard[[c for c in scorecard.columns if not c.startswith("rank_")]].rename_axis(
            "account_manager").reset_index()
        card["account_manager"] = card["account_manager"].map(lambda v: tv(v, lang))
        _sheet(writer, t("wb_scorecard", lang), card, lang, formats)
        ws = whitespace.copy()
        ws.insert(1, "name", ws["account_id"].map(lambda a: names.get(a, ("", ""))[0]))
        ws.insert(2, "account_manager", ws["account_id"].map(lambda a: names.get(a, ("", ""))[1]))
        _sheet(writer, t("wb_whitespace", lang), ws, lang, formats)
        if receivables is not None:
            rec = receivables.copy()
            rec.insert(2, "name", rec["account_id"].map(lambda a: names.get(a, ("", ""))[0]))
            rec["bucket"] = rec["bucket"].astype(str)
            keep = [c for c in ("invoice_id", "account_id", "name", "invoice_date", "due_date", "amount",
                                "days_past_due", "bucket") if c in rec]
            _sheet(writer, t("wb_receivables", lang), rec[keep].sort_values("days_past_due", ascending=False),
                   lang, formats)
    return path


def write_month(report_dir: str | Path, ds, tables, metrics: dict, notes: dict, *, currency: str = "CNY",
                lang: str = "en") -> Path | None:
    """``report_dir/workbook.xlsx`` from a month's data set, book tables (:class:`kamlib.analysis.portfolio.
    BookTables`) and headline metrics; nothing without a report folder (a notebook run on its own)."""
    if not report_dir:
        return None
    from ..analysis.actions import reasons
    from ..analysis.scorecard import open_invoices, receivables
    open_ = open_invoices(ds)
    if open_ is not None:
        open_ = receivables(open_[open_["account_id"].isin(tables.accounts.index)], ds.analysis_date)
    return write_workbook(Path(report_dir) / "workbook.xlsx", metrics=metrics, notes=notes, accounts=tables.accounts,
                          actions=tables.actions, reasons=reasons(tables.actions, lang), scorecard=tables.scorecard,
                          whitespace=tables.whitespace, receivables=open_, currency=currency, lang=lang)
