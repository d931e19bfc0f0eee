"""The client deck (``kam report --deck``): a consultant's PowerPoint file built with python-pptx.

16:9 slides (the template's placeholders widened to 16:9), each with an action title (the slide's conclusion as
a sentence), one native chart or table (its data editable in PowerPoint) and a takeaway that describes that
chart; a slide number and a source line (company, month, data fingerprint) on every slide; a closing
"Recommendations" slide. Chart text is at least 12 pt, Chinese in a CJK font, money axes in the report
language's compact units (K / M; 万 / 亿). Titles and takeaways are written from recorded metrics by the
notebook, so every number in them is in ``metrics.json``; the chart data are the analysis tables themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from babel.numbers import get_currency_symbol
from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.text import PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from ..text.formatting import compact_units, money_unit
from ..text.i18n import CLDR_LOCALES, t

WIDTH, HEIGHT = Emu(12_192_000), Emu(6_858_000)   # 16:9 exactly (13.333 x 7.5 in)
TEMPLATE_WIDTH = Inches(10)                       # python-pptx's default template is 4:3
LATIN_FONT = {"en": "Calibri", "zh": "Microsoft YaHei"}
EAST_ASIAN_FONT = "Noto Sans CJK SC"              # Chinese text also where the deck is opened without YaHei
MIN_CHART_PT = 12
BLUE, GREY, RED = RGBColor(0x2D, 0x5D, 0x8A), RGBColor(0xA0, 0xA7, 0xB0), RGBColor(0xB4, 0x23, 0x18)
TITLE_ONLY = 5


@dataclass
class Deck:
    """Slides being assembled; :meth:`save` numbers them, adds the source line and writes the .pptx."""

    company: str
    month: str
    lang: str = "en"
    currency: str = "CNY"
    fingerprint: str = ""
    titles: list[str] = field(default_factory=list)       # every slide's title, for checks
    takeaways: list[str] = field(default_factory=list)    # every slide's takeaway, for checks
    _prs: Presentation = None

    def __post_init__(self):
        self._prs = Presentation()
        self._prs.slide_width, self._prs.slide_height = WIDTH, HEIGHT
        scale = WIDTH / TEMPLATE_WIDTH
        for holder in [self._prs.slide_master, *self._prs.slide_layouts]:      # 16:9 placeholders
            for shape in holder.placeholders:
                if shape._element.spPr.xfrm is not None:          # its own position (else the master's)
                    shape.left, shape.width = Emu(int(shape.left * scale)), Emu(int(shape.width * scale))

    # --- slides --------------------------------------------------------------------------------------
    def title_slide(self, headline: str) -> None:
        """The cover: deck title, company and month, and the memo's headline."""
        slide = self._prs.slides.add_slide(self._prs.slide_layouts[0])
        head, sub = slide.shapes.title, slide.placeholders[1]
        head.left, head.top, head.width, head.height = Inches(1.0), Inches(1.6), Inches(11.33), Inches(1.4)
        sub.left, sub.top, sub.width, sub.height = Inches(1.0), Inches(3.3), Inches(11.33), Inches(2.6)
        self._text(head, t("deck_title", self.lang), 40, bold=True)
        self._text(sub, f"{self.company} · {t('deck_month', self.lang, month=self.month)}\n{headline}", 20)
        self.titles.append(t("deck_title", self.lang))

    def bullets(self, title: str, lines: list[str], takeaway: str = "") -> None:
        """An action title over a list of points (e.g. the memo's findings)."""
        slide = self._slide(title)
        box = slide.shapes.add_textbox(Inches(0.6), Inches(1.9), Inches(12.1), Inches(4.0))
        box.text_frame.word_wrap = True
        self._text(box, "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1)), 20)
        for p in box.text_frame.paragraphs:
            p.space_after = Pt(10)
        self._takeaway(slide, takeaway)

    def bar(self, title: str, categories: list, series: dict[str, list], takeaway: str, *,
            horizontal: bool = False, stacked: bool = False, kind: str = "number", axis_title: str = "",
            highlight: int | None = None) -> None:
        """A native bar (``horizontal``) or column chart: ``series`` name -> values per category; ``kind`` of
        the values: 'money' (in the report's compact unit), 'share' (0-1, as %) or 'number'; ``highlight``: the
        index of a category drawn in red."""
        slide = self._slide(title)
        unit, fmt, label_fmt = self._value_format(kind, [v for vs in series.values() for v in vs])
        data = CategoryChartData()
        data.categories = [str(c) for c in categories]
        for name, values in series.items():
            data.add_series(name, [None if v is None else float(v) / unit for v in values], number_format=fmt)
        kind_of = {(True, True): XL_CHART_TYPE.BAR_STACKED, (True, False): XL_CHART_TYPE.BAR_CLUSTERED,
                   (False, True): XL_CHART_TYPE.COLUMN_STACKED, (False, False): XL_CHART_TYPE.COLUMN_CLUSTERED}
        chart = self._place(slide, kind_of[(horizontal, stacked)], data)
        plot = chart.plots[0]
        plot.gap_width = 60
        if not stacked:
            plot.overlap = 0
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format, labels.number_format_is_linked = label_fmt, False
        labels.position = XL_LABEL_POSITION.CENTER if stacked else XL_LABEL_POSITION.OUTSIDE_END
        self._font(labels.font, MIN_CHART_PT)
        colours = [BLUE, GREY, RED]
        for i, s in enumerate(plot.series):
            s.format.fill.solid()
            s.format.fill.fore_color.rgb = colours[i % len(colours)]
            if highlight is not None and i == 0:
                point = s.points[highlight]
                point.format.fill.solid()
                point.format.fill.fore_color.rgb = RED
        value_axis, category_axis = chart.value_axis, chart.category_axis
        value_axis.tick_labels.number_format, value_axis.tick_labels.number_format_is_linked = fmt, False
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xDD, 0xDD, 0xDD)
        if horizontal:
            category_axis.reverse_order = True          # the first category on top
        chart.has_title = False
        self._axis_title(value_axis, axis_title or (next(iter(series)) if len(series) == 1 else ""))
        self._fonts(chart, legend=len(series) > 1)
        self._takeaway(slide, takeaway)

    def curve(self, title: str, series: dict[str, tuple[list, list]], takeaway: str, *, x_title: str = "",
              y_title: str = "") -> None:
        """A native XY line chart of shares (0-1 on both axes, as %), e.g. a Lorenz curve and the diagonal."""
        slide = self._slide(title)
        data = XyChartData()
        for name, (xs, ys) in series.items():
            s = data.add_series(name, number_format="0%")
            for x, y in zip(xs, ys):
                s.add_data_point(float(x), float(y))
        chart = self._place(slide, XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS, data)
        for i, s in enumerate(chart.plots[0].series):
            s.smooth = False
            s.format.line.width = Pt(3 if i == 0 else 1.5)
            s.format.line.color.rgb = BLUE if i == 0 else GREY
        for axis, name in ((chart.value_axis, y_title), (chart.category_axis, x_title)):
            axis.minimum_scale, axis.maximum_scale = 0.0, 1.0
            axis.major_unit = 0.2
            axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = "0%", False
            self._axis_title(axis, name)
        chart.value_axis.has_major_gridlines = True
        chart.value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xDD, 0xDD, 0xDD)
        self._fonts(chart, legend=True)
        self._takeaway(slide, takeaway)

    def table(self, title: str, frame, takeaway: str = "", widths: list[float] | None = None) -> None:
        """A native table of ``frame`` (its columns as the header; e.g. the closing recommendations)."""
        slide = self._slide(title)
        n, m = len(frame) + 1, frame.shape[1]
        shape = slide.shapes.add_table(n, m, Inches(0.6), Inches(1.5), Inches(12.1), Inches(0.5 * n))
        table = shape.table
        for j, w in enumerate(widths or [12.1 / m] * m):
            table.columns[j].width = Inches(w)
        for i, row in enumerate([list(frame.columns), *frame.astype(str).to_numpy().tolist()]):
            for j, value in enumerate(row):
                self._text(table.cell(i, j), str(value), 14, bold=i == 0)
        self._takeaway(slide, takeaway)

    # --- pieces --------------------------------------------------------------------------------------
    def _slide(self, title: str):
        slide = self._prs.slides.add_slide(self._prs.slide_layouts[TITLE_ONLY])
        head = slide.shapes.title
        head.left, head.top, head.width, head.height = Inches(0.5), Inches(0.3), Inches(12.33), Inches(1.1)
        self._text(head, title, 26, bold=True)
        head.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
        head.text_frame.word_wrap = True
        self.titles.append(title)
        return slide

    def _place(self, slide, chart_type, data):
        frame = slide.shapes.add_chart(chart_type, Inches(0.6), Inches(1.45), Inches(12.1), Inches(4.55), data)
        return frame.chart

    def _takeaway(self, slide, text: str) -> None:
        if not text:
            return
        box = slide.shapes.add_textbox(Inches(0.6), Inches(6.05), Inches(12.1), Inches(0.8))
        box.text_frame.word_wrap = True
        self._text(box, text, 16)
        self.takeaways.append(text)

    def _value_format(self, kind: str, values: list) -> tuple[float, str, str]:
        """(divisor, axis number format, data-label number format) for values of ``kind``: money in one
        compact unit ('CN¥' ... 'M'; '¥' ... '万'), shares as %, numbers with grouping."""
        if kind == "share":
            return 1.0, "0%", "0.0%"
        if kind != "money":
            whole = all(v is None or abs(v - round(v)) < 1e-9 for v in values)
            return 1.0, "#,##0", "#,##0" if whole else "#,##0.0"
        unit = money_unit([v for v in values if v is not None] or [0.0], self.lang)
        suffix = compact_units(self.lang).get(unit, "")
        symbol = get_currency_symbol(self.currency, locale=CLDR_LOCALES[self.lang])
        top = max((abs(v) for v in values if v is not None), default=0.0) / unit
        axis = "#,##0" if top >= 10 else "#,##0.0"
        return unit, f'"{symbol}"{axis}"{suffix}"', f'"{symbol}"#,##0.0"{suffix}"'

    def _axis_title(self, axis, text: str) -> None:
        if not text:
            return
        axis.has_title = True
        axis.axis_title.text_frame.text = text
        for p in axis.axis_title.text_frame.paragraphs:
            for r in p.runs:
                self._font(r.font, MIN_CHART_PT + 2)

    def _fonts(self, chart, legend: bool) -> None:
        """Every chart text at least 12 pt, in the report language's fonts (CJK typeface for Chinese)."""
        self._font(chart.font, MIN_CHART_PT + 2)
        for axis in (chart.value_axis, chart.category_axis):
            self._font(axis.tick_labels.font, MIN_CHART_PT + 2)
        chart.has_legend = legend
        if legend:
            chart.legend.position = XL_LEGEND_POSITION.TOP
            chart.legend.include_in_layout = False
            self._font(chart.legend.font, MIN_CHART_PT + 2)

    def _font(self, font, size: float, bold: bool = False) -> None:
        font.size = Pt(size)
        font.bold = bold or None
        font.name = LATIN_FONT.get(self.lang, "Calibri")
        rpr = font._rPr                                  # python-pptx sets the Latin typeface only
        ea = rpr.find(qn("a:ea"))
        if ea is None:
            ea = rpr.makeelement(qn("a:ea"), {})
            latin = rpr.find(qn("a:latin"))
            (latin.addnext(ea) if latin is not None else rpr.append(ea))
        ea.set("typeface", EAST_ASIAN_FONT)

    def _text(self, shape, text: str, size: float, bold: bool = False) -> None:
        frame = shape.text_frame
        frame.text = text
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                self._font(run.font, size, bold)

    @property
    def slides(self) -> int:
        return len(self._prs.slides)

    def save(self, path: str | Path) -> Path:
        """Number every slide and add the source line, then write the file."""
        total = len(self._prs.slides)
        source = t("deck_source", self.lang, company=self.company, month=self.month, fingerprint=self.fingerprint)
        for i, slide in enumerate(self._prs.slides, 1):
            foot = slide.shapes.add_textbox(Inches(0.5), Inches(6.95), Inches(10.8), Inches(0.4))
            self._text(foot, source, 12)
            foot.text_frame.paragraphs[0].runs[0].font.color.rgb = RGBColor(0x66, 0x66, 0x66)
            num = slide.shapes.add_textbox(Inches(11.4), Inches(6.95), Inches(1.43), Inches(0.4))
            self._text(num, t("deck_slide_number", self.lang, n=i, total=total), 12)
            num.text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT
            num.name = f"Slide number {i}"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prs.save(path)
        return path
