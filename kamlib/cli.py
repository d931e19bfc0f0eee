"""The ``kam`` command line: ``kam report``, ``kam sample``, ``kam validate``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_SAMPLE = Path("data/sample")


def _cmd_sample(args) -> int:
    from .generator import GeneratorConfig, generate_book
    out = generate_book(GeneratorConfig(n_accounts=args.accounts, seed=args.seed)).write(args.out)
    print(f"sample written to {out}")
    return 0


def _cmd_validate(args) -> int:
    from .io import load_dataset
    from .periods import month_end
    ds = load_dataset(args.data, analysis_date=month_end(args.month) if args.month else None,
                      future_rows="exclude")
    print(f"{args.data}: valid; analysis date {ds.analysis_date.date()}; fingerprint {ds.fingerprint}")
    print(ds.quality.summary().to_string())
    if ds.quality.exclusions:
        print(ds.quality.exclusions_table().to_string(index=False))
    return 0


def _cmd_report(args) -> int:
    from .io import load_dataset
    from .report import run_report
    month = args.month
    if month is None:
        month = str(load_dataset(args.data, future_rows="exclude").analysis_month)
    params = {"currency": args.currency, "language": args.language}
    run = run_report(data_dir=args.data, month=month, out_dir=args.out, jobs=args.jobs,
                     notebooks=tuple(args.notebooks) if args.notebooks else None, parameters=params,
                     progress=not args.quiet)
    target = Path(args.out) / (month if run.ok else f"{month}-failed") / "index.html"
    for nb in run.notebooks:
        print(f"  {nb.name:32s} {nb.status:8s} {nb.duration_s:6.1f} s" + (f"  {nb.error}" if nb.error else ""))
    if run.ok:
        print(f"report written: {target}")
        return 0
    print(f"report FAILED (previous report of {month} kept); see {target}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kam", description="Key-account analytics reports.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="run the notebooks for a month and render HTML reports")
    r.add_argument("--data", default=str(DEFAULT_SAMPLE), help="data folder (default: %(default)s)")
    r.add_argument("--month", help="analysis month YYYY-MM (default: last month with transactions)")
    r.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    r.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run in parallel")
    r.add_argument("--notebooks", nargs="*", help="notebook names to run (default: all)")
    r.add_argument("--currency", default="CNY")
    r.add_argument("--language", default="en", choices=["en", "zh"])
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_report)
    s = sub.add_parser("sample", help="generate the bundled synthetic key-account data set")
    s.add_argument("--out", default=str(DEFAULT_SAMPLE))
    s.add_argument("--accounts", type=int, default=2000)
    s.add_argument("--seed", type=int, default=20261)
    s.set_defaults(func=_cmd_sample)
    v = sub.add_parser("validate", help="validate a data folder and print the data-quality summary")
    v.add_argument("--data", default=str(DEFAULT_SAMPLE))
    v.add_argument("--month")
    v.set_defaults(func=_cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .schema import DataValidationError
    try:
        return args.func(args)
    except DataValidationError as e:
        print(f"invalid data: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
