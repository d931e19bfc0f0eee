"""The client deck (``kam report --deck``): an editable PowerPoint file (python-pptx) — a title slide, the
executive highlights, and one slide per key finding, each a chart and a one-sentence takeaway written from the
month's headline metrics (so every number in it is in ``metrics.json``), in the report language.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from ..analysis.summary import format_value
from ..text.i18n import t

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)       # 16:9
LATIN_FONT = {"en": "Calibri", "zh": "Microsoft YaHei"}
EAST_ASIAN_FONT = "Noto Sans CJK SC"              # Chinese text also where the deck is opened without YaHei


@dataclass
class Deck:
    """Slides being assembled; :meth:`save` writes the .pptx."""

    company: str
    month: str
    lang: str = "en"
    currency: str = "CNY"
    metrics: dict = field(default_factory=dict)
    takeaways: list[str] = field(default_factory=list)     # every slide's takeaway, for checks
    sources: list[tuple[str, dict]] = field(default_factory=list)   # (template key, metric keys) per takeaway
    _prs: Presentation = None

    def __post_init__(self):
        self._prs = Presentation()
        self._prs.slide_width, self._prs.slide_height = WIDTH, HEIGHT
        slide = self._prs.slides.add_slide(self._prs.slide_layouts[0])
        self._text(slide.shapes.title, t("deck_title", self.lang), 40)
        self._text(slide.placeholders[1], f"{self.company}\n{t('deck_month', self.lang, month=self.month)}", 20)

    def value(self, key: str) -> str:
        """A headline metric formatted as the reports format it ('not available' when missing)."""
        v = format_value(key, self.metrics.get(key), self.currency, self.lang)
        return t("not_available", self.lang) if v is None else v

    def takeaway(self, key: str, **metric_keys: str) -> str:
        """The sentence ``key`` filled with the named headline metrics (``placeholder=metric_key``)."""
        self.sources.append((key, metric_keys))
        return t(key, self.lang, **{k: self.value(m) for k, m in metric_keys.items()})

    def bullets(self, title: str, lines: list[str]) -> None:
        slide = self._prs.slides.add_slide(self._prs.slide_layouts[1])
        self._text(slide.shapes.title, title, 30)
        body = slide.placeholders[1]
        body.left, body.top, body.width, body.height = Inches(0.6), Inches(1.4), Inches(12.1), Inches(5.6)
        self._text(body, "\n".join(lines), 18)
        self.takeaways.extend(lines)

    def chart(self, title: str, figure, takeaway: str) -> None:
        """A slide with a title, the figure as a picture and the takeaway as editable text below it."""
        slide = self._prs.slides.add_slide(self._prs.slide_layouts[5])     # title only
        self._text(slide.shapes.title, title, 28)
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        plt.close(figure)
        buf.seek(0)
        pic = slide.shapes.add_picture(buf, Inches(0.6), Inches(1.3), height=Inches(4.6))
        if pic.width > WIDTH - Inches(1.2):                                 # wide charts: fit the width
            ratio = (WIDTH - Inches(1.2)) / pic.width
            pic.width, pic.height = Emu(int(pic.width * ratio)), Emu(int(pic.height * ratio))
        pic.left = int((WIDTH - pic.width) / 2)
        box = slide.shapes.add_textbox(Inches(0.6), Inches(6.1), Inches(12.1), Inches(1.1))
        box.text_frame.word_wrap = True
        self._text(box, takeaway, 18)
        self.takeaways.append(takeaway)

    def _text(self, shape, text: str, size: int) -> None:
        frame = shape.text_frame
        frame.text = text
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(size)
                run.font.name = LATIN_FONT.get(self.lang, "Calibri")
                rpr = run._r.get_or_add_rPr()               # python-pptx sets the Latin font only
                ea = rpr.find(qn("a:ea"))
                if ea is None:
                    ea = rpr.makeelement(qn("a:ea"), {})
                    rpr.append(ea)
                ea.set("typeface", EAST_ASIAN_FONT)

    @property
    def slides(self) -> int:
        return len(self._prs.slides)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prs.save(path)
        return path
