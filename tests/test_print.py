"""Printed reports: A4 pages, tables of at least 9 pt that fit the page width (wrapped, never cut), checked on
the PDF as Chromium prints it (pdfinfo for the page size, pdftoppm for what lies beyond the right margin)."""
import shutil
import subprocess

import numpy as np
import pytest

from kamlib.report.html import decorate
from kamlib.report.pdf import find_chromium, html_to_pdf

pytestmark = pytest.mark.skipif(not (find_chromium() and shutil.which("pdfinfo") and shutil.which("pdftoppm")),
                                reason="needs Chromium and poppler-utils (pdfinfo, pdftoppm)")


def _page(lang: str) -> str:
    head = "".join(f"<th>第{i}个月 month {i}</th>" for i in range(1, 16))
    rows = "".join("<tr>" + "".join(f"<td>¥{1234.5 * (r + c):,.1f}万</td>" for c in range(15)) + "</tr>"
                   for r in range(40))
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    body = (f'<h2 id="a">Cohorts</h2><div class="jp-OutputArea-output">{table}</div>' * 2)
    page = f'<html lang="en"><head><title>x</title></head><body>{body}</body></html>'
    return decorate(page, company="示例工业供应有限公司", title="Cohorts", month="2026-09", fingerprint="abc", lang=lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_wide_table_prints_on_a4_within_the_margins(tmp_path, lang):
    html = tmp_path / "page.html"
    html.write_text(_page(lang), encoding="utf-8")
    _check_printed(html_to_pdf(html, tmp_path / "page.pdf"), tmp_path)


@pytest.mark.slow
def test_the_real_zh_pages_print_on_a4_within_the_margins(zh_batch, tmp_path):
    """The zh executive summary, the retention report (its cohort table is the widest), a manager page and a
    brief printed by `kam brief --pdf`: A4 on every page, nothing in the right margin, the brief on one page."""
    pages = [zh_batch / "00_executive_summary.presentation.html",
             zh_batch / "03_retention_vs_acquisition.presentation.html",
             sorted((zh_batch / "managers").glob("*.presentation.html"))[0]]
    for page in pages:
        n = _check_printed(html_to_pdf(page, tmp_path / f"{page.stem}.pdf"), tmp_path / page.stem)
        assert n >= 1
    brief = sorted((zh_batch / "accounts").glob("*.presentation.pdf"))
    assert len(brief) == 1, "kam brief --pdf printed no brief"
    assert _check_printed(brief[0], tmp_path / "brief") == 1, "the brief does not fit one A4 page"


def _check_printed(pdf, folder) -> int:
    """Check every page of ``pdf`` (A4 portrait; nothing printed in the outer 10 mm on the right; something
    printed); the number of pages."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = [line for line in info.splitlines() if line.startswith("Page") and "size" in line]
    assert sizes
    for size in sizes:
        w, h = (float(v) for v in size.split(":")[1].split("pts")[0].split("x"))
        assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2, f"{pdf.name}: {size}"        # A4, not US Letter
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(folder / "p")], check=True)
    images = sorted(folder.glob("p*.pgm"))
    assert len(images) == len(sizes)
    for number, img in enumerate(images, 1):
        pixels = _read_pgm(img)
        right_margin = pixels[:, -int(pixels.shape[1] * 10 / 210):]                   # the outer 10 mm of 210 mm
        assert (right_margin > 240).all(), f"{pdf.name} page {number}: printed into the right margin (cut?)"
        assert (pixels < 128).any(), f"{pdf.name} page {number}: blank"
    return len(images)


def test_print_css_sets_a4_and_readable_tables():
    page = _page("en")
    assert "size:A4" in page and "font-size:9pt" in page and "7px" not in page
    assert "break-after:avoid" in page                                   # headings kept with what follows


def _read_pgm(path) -> np.ndarray:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][-w * h:], dtype=np.uint8).reshape(h, w)
