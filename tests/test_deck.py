"""The deck's building blocks on hand-made data: native charts, fonts, 16:9, numbering, money axes."""
import re

import pandas as pd
from pptx import Presentation
from pptx.util import Inches

from kamlib.report.deck import Deck


def _deck(tmp_path, lang):
    deck = Deck("Acme", "2026年10月" if lang == "zh" else "October 2026", lang, "CNY", fingerprint="abc123")
    deck.title_slide("Headline")
    deck.bullets("Findings", ["one", "two"], "takeaway")
    deck.curve("Curve", {"share": ([0, 0.2, 1], [0, 0.7, 1]), "even": ([0, 1], [0, 1])}, "curve takeaway")
    deck.bar("Money", ["a", "b"], {"amount": [3.2e6, 45e6]}, "money takeaway", kind="money", horizontal=True)
    deck.bar("Shares", ["x", "y"], {"rate": [0.5, 0.16], "rule": [0.5, 0.15]}, "share takeaway", kind="share")
    deck.table("Recommendations", pd.DataFrame({"action": ["do"], "owner": ["me"]}), "table takeaway")
    return Presentation(deck.save(tmp_path / f"{lang}.pptx"))


def test_slides_are_16_9_numbered_sourced_with_native_charts(tmp_path):
    prs = _deck(tmp_path, "en")
    assert prs.slide_width * 9 == prs.slide_height * 16 and prs.slide_height == Inches(7.5)
    for layout in prs.slide_layouts:                 # the template's placeholders span the 16:9 slide
        for ph in layout.placeholders:
            assert ph.left + ph.width <= prs.slide_width
        if layout.name == "Title Only":
            assert layout.placeholders[0].width > Inches(10)
    n = len(prs.slides)
    for i, slide in enumerate(prs.slides, 1):
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert f"{i} / {n}" in texts
        assert any("abc123" in t and "October 2026" in t and "Acme" in t for t in texts)
    charts = [sh.chart for s in prs.slides for sh in s.shapes if sh.has_chart]
    assert len(charts) == 3
    money = charts[1]
    assert money.plots[0].series[0].values == (3.2, 45.0)          # editable data, in the axis unit (M)
    assert '"CN¥"#,##0"M"' in money.value_axis.tick_labels.number_format
    for chart in charts:
        sizes = [int(v) for v in re.findall(r'sz="(\d+)"', chart.part.blob.decode())]
        assert sizes and min(sizes) >= 1200


def test_chinese_deck_has_cjk_fonts_and_money_in_wan(tmp_path):
    prs = _deck(tmp_path, "zh")
    money = [sh.chart for s in prs.slides for sh in s.shapes if sh.has_chart][1]
    assert money.plots[0].series[0].values == (320.0, 4500.0)     # 万
    assert '万"' in money.value_axis.tick_labels.number_format
    assert 'ea typeface="Noto Sans CJK SC"' in money.part.blob.decode()
    assert "第" not in prs.slides[0].shapes.title.text_frame.text
    assert "来源" in " ".join(sh.text_frame.text for sh in prs.slides[1].shapes if sh.has_text_frame)
