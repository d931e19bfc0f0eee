"""PDF copies of the presentation reports, printed by headless Chromium (Debian package ``chromium``).

The HTML reports are self-contained, so printing needs no network; Chinese text uses the CJK fonts the
project's setup installs (``fonts-noto-cjk``)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120


class PdfUnavailable(RuntimeError):
    """PDF output was asked for but no Chromium is installed."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def require_chromium() -> str:
    chromium = find_chromium()
    if chromium is None:
        raise PdfUnavailable("PDF output needs Chromium: install the Debian package 'chromium' "
                             "(`make system-deps`) or run without --pdf")
    return chromium


def html_to_pdf(html_file: Path, pdf_file: Path, chromium: str | None = None) -> Path:
    """Print ``html_file`` to ``pdf_file`` (A4, backgrounds, no browser header/footer)."""
    chromium = chromium or require_chromium()
    pdf_file.unlink(missing_ok=True)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf_file}", Path(html_file).resolve().as_uri()]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"printing {html_file.name} to PDF took over {TIMEOUT_S} s") from None
    if done.returncode or not pdf_file.exists() or pdf_file.stat().st_size == 0:
        tail = " ".join(done.stderr.strip().splitlines()[-2:])
        raise RuntimeError(f"printing {html_file.name} to PDF failed (exit {done.returncode}): {tail}")
    return pdf_file
