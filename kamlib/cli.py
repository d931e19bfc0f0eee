"""The ``kam`` command line: ``kam report``, ``kam sample``, ``kam validate``, ``kam lab``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_SAMPLE = Path("data/sample")


def _cmd_sample(args) -> int:
    from .data.generator import GeneratorConfig, generate_book
    out = generate_book(GeneratorConfig(n_accounts=args.accounts, seed=args.seed)).write(args.out)
    print(f"sample written to {out}")
    return 0


def _cmd_validate(args) -> int:
    from .data.loading import load_dataset
    from .data.periods import month_end
    ds = load_dataset(args.data, analysis_date=month_end(args.month) if args.month else None,
                      future_rows="exclude")
    print(f"{args.data}: valid; analysis date {ds.analysis_date.date()}; fingerprint {ds.fingerprint}")
    print(ds.quality.summary().to_string())
    if ds.quality.exclusions:
        print(ds.quality.exclusions_table().to_string(index=False))
    return 0


def months_between(first: str, last: str) -> list[str]:
    """'2026-01', '2026-03' -> ['2026-01', '2026-02', '2026-03']."""
    import pandas as pd
    a, b = pd.Period(first, freq="M"), pd.Period(last, freq="M")
    if b < a:
        raise ValueError(f"--from {first} is after --to {last}")
    return [str(p) for p in pd.period_range(a, b, freq="M")]


def _cmd_report(args) -> int:
    from .config import load_config
    from .data.loading import load_dataset
    from .report.runner import run_report
    cfg = load_config(args.config, overrides={"language": args.language, "currency": args.currency,
                                              "data.source": args.data, "report.out": args.out,
                                              "report.jobs": args.jobs, "company": args.company,
                                              "report.pdf": True if args.pdf else None})
    for note in cfg.notes:
        print(f"warning: {note}", file=sys.stderr)
    os.environ.update(cfg.data.duckdb.environment())   # DuckDB settings, inherited by the notebook kernels
    data = cfg.data.source
    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise ValueError("--from and --to go together (or use --month)")
        months = months_between(args.from_, args.to)
    else:
        months = [args.month or str(load_dataset(data, future_rows="exclude", today=args.today,
                                                 tables=cfg.data.tables, columns=cfg.data.columns).analysis_month)]
    failed = []
    for month in months:       # in order, so each month can compare with the one before
        run = run_report(data_dir=data, month=month, out_dir=cfg.report.out, jobs=cfg.report.jobs or os.cpu_count() or 1,
                         notebooks=tuple(args.notebooks or cfg.report.notebooks or ()) or None,
                         parameters=cfg.notebook_parameters(), progress=not args.quiet, today=args.today,
                         company=cfg.company, tables=cfg.data.tables, columns=cfg.data.columns,
                         pdf=cfg.report.pdf)
        target = Path(cfg.report.out) / (month if run.ok else f"{month}-failed") / "index.html"
        for nb in run.notebooks:
            print(f"  {nb.name:32s} {nb.status:8s} {nb.duration_s:6.1f} s" + (f"  {nb.error}" if nb.error else ""))
        if run.ok:
            print(f"report written: {target}")
        else:
            failed.append(month)
            print(f"report FAILED (previous report of {month} kept); see {target}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_lab(args) -> int:
    """Open JupyterLab on the notebooks with this environment's kernel (kamlib installed)."""
    import subprocess
    from .report.runner import NOTEBOOK_DIR as nb_dir
    return subprocess.call([sys.executable, "-m", "jupyterlab", f"--notebook-dir={nb_dir}", *args.extra])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kam", description="Key-account analytics reports.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="run the notebooks for a month and render HTML reports")
    r.add_argument("--config", help="project configuration (default: kam.yaml when present)")
    r.add_argument("--data", help="data folder (overrides data.source; default data/sample)")
    r.add_argument("--month", help="analysis month YYYY-MM (default: last month with transactions)")
    r.add_argument("--from", dest="from_", help="first month of a back-fill range YYYY-MM")
    r.add_argument("--to", help="last month of a back-fill range YYYY-MM")
    r.add_argument("--out", help="output folder (default: reports)")
    r.add_argument("--jobs", type=int, help="notebooks run in parallel (default: number of cores)")
    r.add_argument("--notebooks", nargs="*", help="notebook names to run (default: all)")
    r.add_argument("--currency")
    r.add_argument("--language", choices=["en", "zh"])
    r.add_argument("--company")
    r.add_argument("--today", help=argparse.SUPPRESS)
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--pdf", action="store_true", help="also print the presentation versions to PDF (Chromium)")
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
    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks with the kamlib kernel")
    lab.add_argument("extra", nargs="*", help="extra arguments for jupyter lab")
    lab.set_defaults(func=_cmd_lab)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .config import ConfigError
    from .report.pdf import PdfUnavailable
    from .data.schema import DataValidationError
    try:
        return args.func(args)
    except DataValidationError as e:
        print(f"invalid data: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"invalid configuration: {e}", file=sys.stderr)
        return 2
    except PdfUnavailable as e:
        print(str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
