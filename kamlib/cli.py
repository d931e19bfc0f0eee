"""The ``kam`` command line: ``kam report``, ``kam brief``, ``kam sample``, ``kam validate``, ``kam lab``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_SAMPLE = Path("data/sample")
# nbformat imports jsonschema, which imports rfc3987_syntax when it is installed (a Jupyter extra pulls it in):
# it compiles 39 grammars on import, ~0.8 s of CPU in every kam command (a fifth of `kam brief`'s own work).
# It only checks the 'iri' formats of a JSON schema, which the notebook schema does not use, so the kam
# process goes without it (a command that imported it before keeps it).
sys.modules.setdefault("rfc3987_syntax", None)


class UsageError(ValueError):
    """A user error: printed as one or two lines naming what is wrong and how to fix it, exit status 2."""


def checked_month(value: str, today: str | None = None) -> str:
    """``value`` as 'YYYY-MM' (``2026-10`` or ``2026年10月``, :mod:`kamlib.data.dates`) if it is a real, complete
    month (not the current one, not a future one)."""
    import pandas as pd

    from .data.dates import DateArgumentError, read_month
    try:
        value = read_month("--month", value or "")
    except DateArgumentError as e:
        raise UsageError(str(e)) from None
    last = last_complete_month(today)
    if pd.Period(value, freq="M") > last:
        raise UsageError(f"month {value} is not complete yet (today is {_today(today)}); the last complete month "
                         f"is {last}")
    return value


def _today(today: str | None):
    import pandas as pd
    return pd.Timestamp(today).date() if today else pd.Timestamp.today().date()


def last_complete_month(today: str | None = None):
    import pandas as pd
    return pd.Period(_today(today), freq="M") - 1


def default_month(cfg, data: str, today: str | None = None) -> str:
    """The month to report when none is given: the last month with transactions, if it is complete."""
    import pandas as pd

    from .data.loading import load_dataset
    last = load_dataset(data, future_rows="exclude", today=today, tables=cfg.data.tables, columns=cfg.data.columns,
                        **cfg.data.read_options()).analysis_month
    return str(min(pd.Period(last, freq="M"), last_complete_month(today)))


def checked_source(source) -> str:
    """A data folder that exists, or a database URL (checked when it is opened)."""
    from .data.sources import is_database_url
    if not is_database_url(str(source)) and not Path(source).exists():
        raise UsageError(f"data folder not found: {source} (give --data a folder with the accounts and "
                         "transactions files, or set data.source in kam.yaml)")
    return str(source)


def checked_output(folder) -> Path:
    """An output folder kamlib can write to, checked before any work."""
    import tempfile
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UsageError(f"cannot write to the output folder {folder} ({e.strerror}); choose another with --out")
    return folder


def _cmd_sample(args) -> int:
    from .data.generator import GeneratorConfig, write_book
    if args.accounts < 1 or (args.managers is not None and not 1 <= args.managers <= args.accounts):
        raise UsageError(f"--accounts must be at least 1 and --managers between 1 and the accounts "
                         f"(got {args.accounts} accounts, {args.managers} managers)")
    out = write_book(GeneratorConfig(n_accounts=args.accounts, seed=args.seed, n_managers=args.managers), args.out)
    print(f"sample written to {out}")
    return 0


def _cmd_validate(args) -> int:
    """Validate the data as ``kam report`` would; print every problem (or the data-quality summary) and
    write it as ``<out>/data-quality.html``."""
    from .config import load_config
    from .data.credentials import redact
    from .data.loading import load_dataset
    from .data.periods import month_end
    from .data.schema import DataValidationError
    from .report.html import render_quality_page
    cfg = load_config(args.config, overrides={"data.source": args.data})
    month = checked_month(args.month) if args.month else None
    source = checked_source(cfg.data.source)
    page = checked_output(args.out) / "data-quality.html"
    try:
        ds = load_dataset(source, analysis_date=month_end(month) if month else None, future_rows="exclude",
                          tables=cfg.data.tables, columns=cfg.data.columns, for_report=True,
                          **cfg.data.read_options())
    except DataValidationError as e:
        page.write_text(render_quality_page(redact(source), e.problems), encoding="utf-8")
        print(f"data-quality page: {page}", file=sys.stderr)
        raise
    page.write_text(render_quality_page(redact(source), [], ds.quality, analysis_month=ds.analysis_month),
                    encoding="utf-8")
    print(f"{redact(source)}: valid; analysis date {ds.analysis_date.date()}; fingerprint {ds.fingerprint}")
    print(ds.quality.summary().to_string())
    if ds.quality.exclusions:
        print(ds.quality.exclusions_table().to_string(index=False))
    if ds.quality.findings:
        print(ds.quality.findings_table().to_string(index=False))
    if ds.quality.adjustments:
        import pandas as pd
        print(pd.DataFrame(ds.quality.adjustments).to_string(index=False))
    for n in ds.quality.notes:
        print(f"note: {n['note']}")
    print(f"data-quality page: {page}")
    return 0


def months_between(first: str, last: str) -> list[str]:
    """'2026-01', '2026-03' -> ['2026-01', '2026-02', '2026-03']."""
    import pandas as pd
    a, b = pd.Period(first, freq="M"), pd.Period(last, freq="M")
    if b < a:
        raise UsageError(f"--from {first} is after --to {last}")
    return [str(p) for p in pd.period_range(a, b, freq="M")]


def _cmd_report(args) -> int:
    from .config import load_config
    from .report.runner import resolve_notebooks, run_report
    cfg = load_config(args.config, overrides={"language": args.language, "currency": args.currency,
                                              "data.source": args.data, "report.out": args.out,
                                              "report.jobs": args.jobs, "company": args.company,
                                              "report.pdf": True if args.pdf else None,
                                              "report.deck": True if args.deck else None})
    for note in cfg.notes:
        print(f"warning: {note}", file=sys.stderr)
    os.environ.update(cfg.environment())   # DuckDB settings and display names, inherited by the notebook kernels
    months = None
    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise UsageError("--from and --to go together (or use --month)")
        months = months_between(checked_month(args.from_, args.today), checked_month(args.to, args.today))
    elif args.month:
        months = [checked_month(args.month, args.today)]
    notebooks = tuple(args.notebooks or cfg.report.notebooks or ()) or None
    if args.notebook_dir and not Path(args.notebook_dir).is_dir():
        raise UsageError(f"--notebook-dir {args.notebook_dir}: folder not found")
    if notebooks:                     # names checked before any work (the valid ones listed)
        resolve_notebooks(notebooks, args.notebook_dir)
    data = checked_source(cfg.data.source)
    checked_output(cfg.report.out)
    if months is None:
        months = [default_month(cfg, data, args.today)]
    failed = []
    for month in months:       # in order, so each month can compare with the one before
        run = run_report(data_dir=data, month=month, out_dir=cfg.report.out, jobs=cfg.report.jobs or os.cpu_count() or 1,
                         notebooks=notebooks, notebook_dir=args.notebook_dir,
                         parameters=cfg.notebook_parameters(), progress=not args.quiet, today=args.today,
                         company=cfg.company_in(), tables=cfg.data.tables, columns=cfg.data.columns,
                         pdf=cfg.report.pdf, read_options=cfg.data.read_options(), deck=cfg.report.deck)
        target = Path(cfg.report.out) / (month if run.ok else f"{month}-failed") / "index.html"
        for nb in run.notebooks:
            if not run.updated or nb.name in run.updated:
                print(f"  {nb.name:32s} {nb.status:8s} {nb.duration_s:6.1f} s" + (f"  {nb.error}" if nb.error else ""))
        if run.updated:
            print(f"  (the other {len(run.notebooks) - len(run.updated)} reports of {month} kept as they were)")
        for note in run.notes:
            print(f"warning: {note}", file=sys.stderr)
        if run.ok:
            print(f"report written: {target}")
        else:
            failed.append(month)
            print(f"report FAILED (previous report of {month} kept); see {target}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_brief(args) -> int:
    """One account's brief: reports/<month>/accounts/<account>.html."""
    from .config import load_config
    from .report.brief_run import run_brief
    cfg = load_config(args.config, overrides={"language": args.language, "currency": args.currency,
                                              "data.source": args.data, "report.out": args.out})
    for note in cfg.notes:
        print(f"warning: {note}", file=sys.stderr)
    os.environ.update(cfg.environment())   # display names of data codes, inherited by the notebook kernel
    data = checked_source(cfg.data.source)
    checked_output(cfg.report.out)
    month = checked_month(args.month, args.today) if args.month else default_month(cfg, data, args.today)
    try:
        run = run_brief(data_dir=data, account=args.account, month=month, out_dir=cfg.report.out,
                        parameters=cfg.notebook_parameters(), today=args.today, company=cfg.company_in(),
                        tables=cfg.data.tables, columns=cfg.data.columns, read_options=cfg.data.read_options(),
                        progress=not args.quiet, pdf=args.pdf)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    if run.status != "success":
        print(f"brief FAILED: {run.error}", file=sys.stderr)
        return 1
    print(f"brief written: {Path(cfg.report.out) / month / run.html_presentation}")
    if run.pdf:
        print(f"brief printed: {Path(cfg.report.out) / month / run.pdf}")
    return 0


def _cmd_lab(args) -> int:
    """Open JupyterLab on the notebooks with this environment's kernel (kamlib installed)."""
    import subprocess
    from .report.runner import NOTEBOOK_DIR as nb_dir
    return subprocess.call([sys.executable, "-m", "jupyterlab", f"--notebook-dir={nb_dir}", *args.extra])


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    p = argparse.ArgumentParser(prog="kam", description="Key-account analytics reports.", parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="run the notebooks for a month and render HTML reports", parents=[common])
    r.add_argument("--config", help="project configuration (default: kam.yaml when present)")
    r.add_argument("--data", help="data folder (overrides data.source; default data/sample)")
    r.add_argument("--month", help="analysis month YYYY-MM (default: last month with transactions)")
    r.add_argument("--from", dest="from_", help="first month of a back-fill range YYYY-MM")
    r.add_argument("--to", help="last month of a back-fill range YYYY-MM")
    r.add_argument("--out", help="output folder (default: reports)")
    r.add_argument("--jobs", type=int, help="notebooks run in parallel (default: number of cores)")
    r.add_argument("--notebooks", nargs="*", help="notebook names to run (default: all); into a month that has a "
                   "report, only those are updated and the rest is kept")
    r.add_argument("--notebook-dir", help="run the notebooks of this folder (e.g. your edited copies) instead of "
                   "the package's; recorded in run.json")
    r.add_argument("--currency")
    r.add_argument("--language", choices=["en", "zh"])
    r.add_argument("--company")
    r.add_argument("--today", help=argparse.SUPPRESS)
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--pdf", action="store_true", help="also print the presentation versions to PDF (Chromium)")
    r.add_argument("--deck", action="store_true", help="also write the client deck (deck.pptx, editable slides)")
    r.set_defaults(func=_cmd_report)
    b = sub.add_parser("brief", help="write one account's brief (reports/<month>/accounts/<id>.html)",
                       parents=[common])
    b.add_argument("--account", required=True, help="the account id")
    b.add_argument("--month", help="analysis month YYYY-MM (default: the last complete month with orders)")
    b.add_argument("--config", help="project configuration (default: kam.yaml when present)")
    b.add_argument("--data", help="data folder (overrides data.source; default data/sample)")
    b.add_argument("--out", help="output folder (default: reports)")
    b.add_argument("--language", choices=["en", "zh"])
    b.add_argument("--currency")
    b.add_argument("--today", help=argparse.SUPPRESS)
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.add_argument("--pdf", action="store_true", help="also print the brief to PDF, one A4 page (Chromium)")
    b.set_defaults(func=_cmd_brief)
    s = sub.add_parser("sample", help="generate the bundled synthetic key-account data set", parents=[common])
    s.add_argument("--out", default=str(DEFAULT_SAMPLE))
    s.add_argument("--accounts", type=int, default=2000)
    s.add_argument("--seed", type=int, default=20261)
    s.add_argument("--managers", type=int, default=None,
                   help="account managers (default: 12 up to 2,000 accounts, then one per 150 accounts)")
    s.set_defaults(func=_cmd_sample)
    v = sub.add_parser("validate", help="validate a data folder and print the data-quality summary",
                       parents=[common])
    v.add_argument("--config", help="project configuration (default: kam.yaml when present)")
    v.add_argument("--data", help="data folder (overrides data.source; default data/sample)")
    v.add_argument("--month")
    v.add_argument("--out", default="reports", help="folder of the data-quality page (default: reports)")
    v.set_defaults(func=_cmd_validate)
    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks with the kamlib kernel")
    lab.add_argument("extra", nargs="*", help="extra arguments for jupyter lab")
    lab.set_defaults(func=_cmd_lab)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .config import ConfigError
    from .data.schema import DataValidationError
    from .report.pdf import PdfUnavailable
    from .report.interrupts import Interrupted
    from .report.runner import ReportLocked, UnknownNotebook
    prefixes = {DataValidationError: "invalid data: ", ConfigError: "invalid configuration: ", UsageError: "",
                UnknownNotebook: "",
                PdfUnavailable: "", ReportLocked: "", FileNotFoundError: "", PermissionError: ""}
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"kam {args.command}: {e}", file=sys.stderr)
        return e.exit_status
    except tuple(prefixes) as e:
        if args.debug:
            raise
        prefix = next(v for k, v in prefixes.items() if isinstance(e, k))
        print(f"kam {args.command}: {prefix}{e}", file=sys.stderr)
        if not isinstance(e, (UsageError, ConfigError, UnknownNotebook)):
            print("(run again with --debug for the Python traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
