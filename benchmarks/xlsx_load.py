"""Benchmark: order lines exported to Excel (.xlsx, real date cells) loaded and validated by
kamlib.load_dataset — target of issue 23: 500k lines in < 30 s on this machine.

    python benchmarks/xlsx_load.py [--sizes 500000]

The lines are load_scale.py's (5 per order, the bundled sample's 2,000 accounts), written with openpyxl's
streaming writer; each load runs in a fresh subprocess (peak memory is its own).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load_scale import generate, measure  # noqa: E402


def to_xlsx(parquet: Path, out: Path) -> float:
    """Write the Parquet order lines as one sheet (dates as Excel date cells); returns seconds taken."""
    import pyarrow.parquet as pq
    from openpyxl import Workbook
    t = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("transactions")
    table = pq.read_table(parquet)
    ws.append(table.column_names)
    for batch in table.to_batches(100_000):
        for row in zip(*(c.to_pylist() for c in batch.columns)):
            ws.append(row)
    wb.save(out)
    return time.perf_counter() - t


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[500_000])
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            folder = generate(Path(tmp) / f"xlsx{n}", n, "parquet")
            parquet = folder / "transactions.parquet"
            written = to_xlsx(parquet, folder / "transactions.xlsx")
            parquet.unlink()
            size = (folder / "transactions.xlsx").stat().st_size / 2**20
            rows.append({"lines": n, "xlsx_mib": round(size, 1), "write_s": round(written, 1),
                         **measure(folder, None)})
            print(pd.DataFrame(rows).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
