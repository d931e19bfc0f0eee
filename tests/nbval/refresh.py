"""Regenerate the nbval references (``make nbval-refresh``): each notebook below executed on the bundled
sample with its default parameters, as ``make nbval`` re-runs it, images emptied (nbval does not compare them)
so the references stay small. Review the diff of tests/nbval/*.ipynb like code: it is how a change to a
notebook's output shows.

    KAMLIB_BATCH=1 .venv/bin/python tests/nbval/refresh.py [NAME ...]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOK_DIR = HERE.parents[1] / "notebooks"
# the report notebooks that run alone on the sample (00 and 08 read a batch's metrics, so they are left out)
NOTEBOOKS = ("01_account_overview", "02_customer_lifetime_value", "03_retention_vs_acquisition",
             "04_segmentation_strategy", "05_account_manager_scorecard", "06_manager_portfolio",
             "07_account_brief")


def refresh(name: str) -> Path:
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    with client.setup_kernel():          # as nbval runs cells: without history (so a trailing ';' shows output)
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i, store_history=False)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            for mime in [m for m in out.get("data", {}) if m.startswith("image/")]:
                out["data"][mime] = ""
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    os.environ.setdefault("KAMLIB_BATCH", "1")     # static tables, as in the reports (no widget model ids)
    for name in sys.argv[1:] or NOTEBOOKS:
        print(f"refreshed {refresh(name).relative_to(HERE.parents[1])}", flush=True)
