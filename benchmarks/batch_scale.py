"""Benchmark: the monthly batch at a distributor's scale — generate a book, run the full batch (every notebook,
every manager report, the deck), then `kam brief`; wall time and peak memory of each step (the whole process
tree: pool workers and kernels included), the machine's load beside them.

    python benchmarks/batch_scale.py [--accounts 20000] [--managers N] [--jobs 2] [--keep DIR] [--generate-only]

Targets (issue 34): 200k accounts generated in < 60 s and < 4 GiB; the 200k book with ~1,300 managers through
the full batch in < 10 minutes and < 8 GiB; the sample batch with the deck < 30 s; `kam brief` < 5 s after a
batch. Timings are measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import resource

TODAY = "2026-11-23"


def measured(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run ``cmd``; (wall seconds, CPU seconds of its process tree, peak MiB of the tree, exit status). CPU
    time does not depend on how busy the machine is; wall time does."""
    peak = [0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def watch():
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.25)
    t = time.perf_counter()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t
    done.set()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return wall, cpu, peak[0] / 2 ** 20, proc.returncode


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=20000)
    p.add_argument("--managers", type=int, default=None, help="default: the generator's (one per 150 accounts)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--month", default="2026-10")
    p.add_argument("--data", help="an existing book to use instead of generating one")
    p.add_argument("--keep", help="folder to keep the book and reports in (default: a temporary one)")
    p.add_argument("--generate-only", action="store_true", help="measure `kam sample` alone (no batch, no brief)")
    a = p.parse_args(argv)
    kam = [sys.executable, "-m", "kamlib.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.keep or tmp)
        data, out = Path(a.data) if a.data else root / "data", root / "reports"
        rows = []
        load = os.getloadavg()[0]
        if not a.data:
            cmd = [*kam, "sample", "--accounts", str(a.accounts), "--out", str(data)]
            rows.append(("generate", *measured(cmd + (["--managers", str(a.managers)] if a.managers else []))))
        accounts = __import__("pandas").read_csv(data / "accounts.csv", usecols=["account_id", "account_manager",
                                                                                  "tier"])
        if a.generate_only:
            report(rows, accounts, a, load, data)
            return
        rows.append(("batch (all notebooks, manager reports, deck)", *measured(
            [*kam, "report", "--data", str(data), "--month", a.month, "--out", str(out), "--jobs", str(a.jobs),
             "--today", TODAY, "--deck", "--quiet"])))
        key = accounts.loc[accounts["tier"] == "A", "account_id"].iloc[0]
        rows.append(("kam brief after the batch", *measured(
            [*kam, "brief", "--account", key, "--data", str(data), "--month", a.month, "--out", str(out),
             "--today", TODAY, "--quiet"])))
        report(rows, accounts, a, load, data)
        run = out / a.month / "run.json"
        if run.exists():
            notebooks = json.loads(run.read_text())["notebooks"]
            managers = [n for n in notebooks if n["name"].startswith("managers/")]
            for n in notebooks:
                if not n["name"].startswith("managers/"):
                    print(f"    {n['name']:42s} {n['status']:8s} {n['duration_s']:7.1f} s")
            if managers:
                total = sum(n["duration_s"] for n in managers)
                print(f"    {len(managers)} manager reports: {total:.1f} s of worker time "
                      f"({total / len(managers):.2f} s each)")


def report(rows, accounts, a, load: float, data: Path) -> None:
    lines = {t: sum(1 for _ in open(data / f"{t}.csv", "rb")) - 1 for t in ("transactions", "interactions")}
    print(f"book: {len(accounts):,} accounts, {accounts['account_manager'].nunique():,} managers, "
          f"{lines['transactions']:,} order lines, {lines['interactions']:,} interactions; "
          f"{a.jobs} jobs on {os.cpu_count()} cores; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    for name, wall, cpu, mib, status in rows:
        print(f"  {name:46s} {wall:8.1f} s wall {cpu:8.1f} s CPU {mib:8.0f} MiB peak"
              + ("" if status == 0 else f"  FAILED ({status})"))


if __name__ == "__main__":
    main()
