"""Benchmark: the full monthly batch on the bundled sample — wall time, peak memory, per-notebook times.

    python benchmarks/batch.py [--month 2026-10] [--jobs 2]

Target (issue 7): under 60 seconds on 2 cores.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from kamlib.report.runner import run_report

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--month", default="2026-10")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--data", default=str(ROOT / "data" / "sample"))
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run = run_report(data_dir=a.data, month=a.month, out_dir=out, jobs=a.jobs, progress=False)
        wall = time.perf_counter() - t
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"monthly batch {a.month}: {'success' if run.ok else 'FAILED'} in {wall:.1f} s with {a.jobs} jobs "
          f"(target < 60 s); peak memory {max(peak_children, peak_self):.0f} MiB (largest process)")
    for nb in run.notebooks:
        print(f"  {nb.name:32s} {nb.status:8s} {nb.duration_s:6.1f} s")


if __name__ == "__main__":
    main()
