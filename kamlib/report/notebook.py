"""What notebooks call to set up and show things: one context object, headings, prose, escaped tables."""
from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

import pandas as pd
from IPython.display import HTML, Markdown, display

from ..data.dataset import Dataset
from ..data.dates import read_month
from ..text.formatting import day as day_text
from ..text.formatting import money, money_column, number_format, pct
from ..text.formatting import month as month_name
from ..text.i18n import VALUES, header, t, tv
from ..data.loading import SAMPLE_DIR, load_dataset
from ..analysis.metrics import MetricsRecorder
from ..data.periods import month_end


@dataclass
class NotebookContext:
    """The data set, language, currency and metrics recorder shared by a notebook's cells."""

    ds: Dataset
    lang: str = "en"
    currency: str = "CNY"
    metrics: MetricsRecorder = field(default_factory=MetricsRecorder)

    def t(self, key: str, **fmt) -> str:
        return t(key, self.lang, **fmt)

    @property
    def month_text(self) -> str:
        """The analysis month in words, in the report language ('October 2026', '2026年10月')."""
        return month_name(self.ds.analysis_month, self.lang)

    def day(self, value) -> str:
        """A date in the report language's medium form ('Sep 30, 2025', '2025年9月30日')."""
        return day_text(value, self.lang)

    def show(self, figure) -> None:
        """Show a figure here, between the sentences and tables around it (not at the end of the cell)."""
        import matplotlib.pyplot as plt
        display(figure)
        plt.close(figure)

    def header(self, key) -> str:
        """Display text of a column, row or covariate name in the report language."""
        return header(key, self.lang)

    def heading(self, key: str, level: int = 2, **fmt) -> None:
        display(Markdown("#" * level + " " + _md_escape(self.t(key, **fmt))))

    def reason(self, reason: tuple[str, dict]) -> str:
        """A reason given as (translation key, values), e.g. why a model or covariate is not available."""
        key, values = reason
        return self.t(key, **values)

    def say(self, key: str, **fmt) -> None:
        """A narrative sentence from the translation table, filled with computed values."""
        display(Markdown(_md_escape(self.t(key, **fmt))))

    def paragraph(self, text: str) -> None:
        """Prose already translated and filled (e.g. :func:`kamlib.analysis.summary.highlight_paragraphs`)."""
        display(Markdown(_md_escape(text)))

    def money(self, value) -> str:
        return money(value, self.currency, self.lang)

    def table(self, df: pd.DataFrame, *, money_cols=(), pct_cols=(), int_cols=(), index: bool = True,
              blank_missing: bool = False):
        """A table with translated headers, formatted numbers and HTML-escaped text; missing values read 'not
        available', or stay blank with ``blank_missing`` (cells not observed yet, e.g. in a cohort triangle)."""
        out = translate_values(df, self.lang)
        fmt = {c: money_column(out[c], self.currency, self.lang) for c in money_cols if c in out}  # one unit
        fmt |= {c: pct for c in pct_cols if c in out}
        fmt |= {c: "{:,.0f}" for c in int_cols if c in out}
        fmt |= {c: _p_cell for c in P_VALUE_COLUMNS if c in out and c not in fmt}   # never 8.88e-32
        fmt |= {c: number_format(out[c]) for c in out.columns          # other decimals: by magnitude
                if c not in fmt and pd.api.types.is_float_dtype(out[c])}
        fmt |= {c: "{:,}" for c in out.columns                           # counts: 1,023, never 1023
                if c not in fmt and pd.api.types.is_integer_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])}
        fmt = {header(c, self.lang): f for c, f in fmt.items()}
        out = out.rename(columns=lambda c: header(c, self.lang))
        out.index.names = [header(n, self.lang) for n in out.index.names]
        out.columns.names = [header(n, self.lang) for n in out.columns.names]
        na_rep = "" if blank_missing else t("not_available", self.lang)
        styler = out.style.format(fmt, escape="html", na_rep=na_rep)
        styler = styler.format_index(escape="html")
        text = [c for c in out.columns if pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c])]
        if text:                                                         # words read left-aligned
            styler = styler.set_properties(subset=text, **{"text-align": "left"})
        if not index:
            styler = styler.hide(axis="index")
        return styler

    def record(self, key: str, value, reason: str | None = None):
        return self.metrics.record(key, value, reason=reason)

    def record_all(self, values: dict, reasons: dict[str, str] | None = None) -> None:
        """Record headline metrics; one that is not available gets its reason (a text key, stored in English)."""
        for key, value in values.items():
            why = (reasons or {}).get(key)
            self.record(key, value, reason=t(why, "en") if why else None)


P_VALUE_COLUMNS = ("p_value", "p_adjusted")


def _p_cell(p) -> str:
    """A p-value in a table: '< 0.001' below 0.001, else three decimals."""
    return "" if pd.isna(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


FREE_TEXT_COLUMNS = frozenset({"name", "prospect_name", "account_manager", "account_id"})


def _holds_codes(values: pd.Series | pd.Index) -> bool:
    """Whether values can be category codes or yes/no (text or boolean), not numbers or dates."""
    return (values.dtype == bool or pd.api.types.is_object_dtype(values)
            or pd.api.types.is_string_dtype(values))


def translate_values(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy of ``df`` with category values (tiers, strategies, flags, yes/no; see ``i18n.VALUES``) in text
    or boolean columns, and row keys (``i18n.header``) in the index, shown in ``lang``; numbers and free text
    (names) are untouched."""
    out = df.copy()
    for c in out.columns:
        if c in FREE_TEXT_COLUMNS:
            continue
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.cat.rename_categories(lambda v: tv(v, lang)) if s.cat.categories.isin(list(VALUES)).any() else s
        elif _holds_codes(s):
            out[c] = s.map(lambda v: tv(v, lang)).astype(object)
    def row_key(v, level_name):
        return v if level_name in FREE_TEXT_COLUMNS else header(v, lang, prefer_values=True)

    if isinstance(out.index, pd.MultiIndex):
        names = out.index.names
        out.index = pd.MultiIndex.from_tuples([tuple(row_key(v, n) for v, n in zip(key, names))
                                               for key in out.index], names=names)
    elif _holds_codes(out.index):
        out.index = pd.Index([row_key(v, out.index.name) for v in out.index], name=out.index.name, dtype=object)
    return out


def _md_escape(text: str) -> str:
    """Escape HTML in prose built from data (account names) before it is rendered as Markdown."""
    return html.escape(text, quote=False)


def open_notebook(*, data_dir: str = "", month: str | None = None, currency: str = "CNY", language: str = "en",
                  metrics_path: str | None = None, future_rows: str = "exclude", today: str | None = None,
                  show_header: bool = True) -> NotebookContext:
    """Load and validate the data, set the plot style, and return the notebook's context. An empty
    ``data_dir`` is the project's bundled sample, wherever the notebook runs."""
    from ..figures import style as plots       # matplotlib and seaborn: not imported for a brief's page
    plots.use_style(language)
    month = read_month("month", month) if month else None       # a notebook parameter, read strictly
    ds = load_dataset(data_dir or SAMPLE_DIR, analysis_date=month_end(month) if month else None, future_rows=future_rows,
                      today=today)
    ctx = NotebookContext(ds=ds, lang=language, currency=currency, metrics=MetricsRecorder(metrics_path))
    show_model_warnings(language)
    if show_header:
        display(HTML(f"<p><b>{html.escape(t('analysis_month', language))}:</b> {ds.analysis_month} &nbsp; "
                     f"<b>{html.escape(t('data_fingerprint', language))}:</b> {ds.fingerprint}</p>"),
                metadata={"kam": "header"})     # the presentation's title block says it already
    return ctx


def show_model_warnings(lang: str) -> None:
    """Show kamlib's model warnings (a fit that did not converge) as a note in the notebook, where the report
    keeps it in the reader's language, instead of as stderr text; other warnings go where they went before."""
    from ..models import ConvergenceWarning
    previous = getattr(warnings.showwarning, "kamlib_previous", warnings.showwarning)

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ConvergenceWarning):
            display(Markdown("> " + _md_escape(model_warning_text(message, lang))))
        else:
            previous(message, category, filename, lineno, file, line)
    show.kamlib_previous = previous
    warnings.showwarning = show


def model_warning_text(warning, lang: str) -> str:
    """A :class:`~kamlib.models.ConvergenceWarning` as a sentence in the reader's language (the optimiser's
    own message stays as given, in brackets); other warnings: their message behind a translated prefix."""
    model = getattr(warning, "model", "")
    if not model:
        return t("model_warning", lang, message=str(warning))
    key = "model_warning_edge" if warning.edge else "model_warning_not_converged"
    return t(key, lang, model=model, params=warning.edge, detail=warning.detail)


def quality_section(ctx: NotebookContext) -> None:
    """Rows read, excluded and why (nothing is dropped silently)."""
    q = ctx.ds.quality
    read = sum(q.rows_read.values())
    if q.rows_excluded:
        ctx.say("quality_sentence", read=f"{read:,}", excluded=f"{q.rows_excluded:,}")
    else:
        ctx.say("quality_clean", read=f"{read:,}")
    display(ctx.table(q.summary(), int_cols=("rows_read", "rows_excluded", "rows_used")))
    if q.exclusions:
        display(ctx.table(q.exclusions_table(), money_cols=("amount",), int_cols=("rows",), index=False))
    for a in q.adjustments:
        display(Markdown(_md_escape(f"{a['table']}.{a['column']}: {a['values']:,} — {tv(a['reason'], ctx.lang)}")))
    if q.findings:
        ctx.say("quality_findings")
        display(ctx.table(q.findings_table(), money_cols=("amount",), int_cols=("rows",), index=False))


def not_available(ctx: NotebookContext, reasons: dict) -> None:
    """Say, for each metric that could not be computed, why ('not available', never a silent zero)."""
    from ..analysis.metrics import GLOSSARY
    for key, reason in reasons.items():
        name = getattr(GLOSSARY[key], ctx.lang) if key in GLOSSARY else key
        ctx.say("not_available_because", metric=name, reason=reason)
