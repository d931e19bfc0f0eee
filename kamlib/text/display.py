"""How results show themselves, in the manner of statsmodels: ``summary(lang=...)`` gives a :class:`Summary`
(a title, a few facts, one small table, notes; text and HTML, in English or Chinese), and a result container
that mixes in :class:`Shown` prints as a few lines in a console and as its summary in a notebook — never as a
dump of nested frames."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

MAX_ROWS = 12          # rows of a summary table shown; the rest is counted in a note


def plain_number(v: float) -> str:
    """A number for a summary table: thousands grouped without decimals from 1,000 on (money never shows raw
    float digits), four significant digits below."""
    if not np.isfinite(v):
        return "" if np.isnan(v) else str(v)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


@dataclass
class Summary:
    """A printable summary: title, (label, value) facts in two columns, a table, notes (text and HTML)."""

    title: str
    info: list[tuple[str, str]]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    float_format: Callable[[float], str] = plain_number
    max_rows: int = MAX_ROWS

    def _shown(self) -> tuple[pd.DataFrame, list[str]]:
        more = len(self.table) - self.max_rows
        if more <= 0:
            return self.table, self.notes
        return self.table.head(self.max_rows), [*self.notes, f"… (+{more})"]

    def as_text(self) -> str:
        width = 78
        lines = ["=" * width, self.title.center(width), "=" * width]
        half = (len(self.info) + 1) // 2
        left, right = self.info[:half], self.info[half:]
        for i in range(half):
            a = f"{left[i][0] + ':':<18}{left[i][1]:>20}"
            b = f"{right[i][0] + ':':<18}{right[i][1]:>20}" if i < len(right) else ""
            lines.append(f"{a}  {b}")
        table, notes = self._shown()
        if len(table.columns):
            lines.append("-" * width)
            lines.append(table.to_string(float_format=self.float_format))
        lines.append("=" * width)
        lines += notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        table, notes = self._shown()
        info = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self.info)
        body = table.to_html(float_format=self.float_format) if len(table.columns) else ""
        notes = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)
        return f"<h4>{html.escape(self.title)}</h4><table>{info}</table>{body}{notes}"


class Shown:
    """Mixin of result containers (dataclasses declared with ``repr=False``): they implement
    ``summary(lang="en") -> Summary``; the console shows the title and the first facts, a notebook the
    summary."""

    def summary(self, lang: str = "en") -> Summary:  # pragma: no cover - each container has its own
        raise NotImplementedError

    def __repr__(self) -> str:
        s = self.summary()
        facts = "; ".join(f"{k}: {v}" for k, v in s.info[:6])
        return f"<{type(self).__name__}: {s.title}\n  {facts}\n  .summary() shows the table>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def headed(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A frame with its column and index names in ``lang`` (labels and category values translated)."""
    from .i18n import header
    out = frame.rename(columns=lambda c: header(c, lang), index=lambda i: header(i, lang, prefer_values=True))
    out.index.name = header(frame.index.name, lang) if frame.index.name else None
    return out


def distribution(frame: pd.DataFrame, columns, lang: str, totals=()) -> pd.DataFrame:
    """Mean, 10th percentile, median and 90th percentile of ``columns`` (and the total of ``totals``), one
    column each, headed in ``lang`` — a few lines instead of one row per account."""
    from .i18n import t
    cols = [c for c in columns if c in frame.columns]
    data = frame[cols].astype(float)
    rows = {"res_stat_mean": data.mean(), "res_stat_p10": data.quantile(0.1), "res_stat_median": data.median(),
            "res_stat_p90": data.quantile(0.9)}
    if totals:
        rows["res_stat_total"] = data.sum().where([c in totals for c in cols])
    out = pd.DataFrame(rows).T.rename(index=lambda k: t(k, lang))
    return headed(out, lang)
