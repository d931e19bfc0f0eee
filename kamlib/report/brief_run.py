"""``kam brief``: one account's brief — after a successful batch on the same files and settings from the
batch's validated snapshot and tables, in this process (no validation, no kernel); otherwise by validating the
data and running notebook 07. A batch keeps its snapshot for this (:func:`keep_snapshot`)."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from .html import render_notebook
from .index import write_index
from .interrupts import Interrupts
from .runner import BRIEF_NOTEBOOK, NOTEBOOK_DIR, _say_what_was_left, month_lock, shared_cache, slug
from .workers import Job, NotebookRun, NotebookRunner, Redactor, declared_parameters

BATCH_SNAPSHOT = "snapshot.duckdb"      # in a batch's cache folder: the data it validated (kam brief reuses them)
BATCH_SNAPSHOT_KEY = "snapshot.json"    # ... and what they were read with besides the files


def snapshot_key(tables: dict | None, columns: dict | None, read_options: dict | None, today: str | None) -> dict:
    """What a validated snapshot depends on besides its files (their fingerprint, in the cache folder's name):
    the table and column mapping, the reading options and the run date (``today``: dates after it are errors)."""
    key = {"tables": tables or {}, "columns": columns or {}, "read_options": read_options or {}}
    return {"read": json.loads(json.dumps(key, sort_keys=True, default=str)),
            "today": str(pd.Timestamp(today or dt.date.today()).date())}


def keep_snapshot(snapshot: Path, cache_dir: Path, key: dict, files: dict | None = None) -> None:
    """Keep a successful batch's validated ``snapshot`` in its cache folder, with its :func:`snapshot_key`: a
    copy with the contacts' phone and e-mail masked (the reports folder never holds them as recorded; a brief
    that shows them in full validates the data again). ``files``: the data files' stats when the batch read
    them (:func:`kamlib.data.loading.file_stats`), so a brief on unchanged files need not fingerprint them."""
    from ..data.dataset import Dataset
    from ..data.engine import remove_database
    if not snapshot.is_file():                # a database source: no snapshot
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / BATCH_SNAPSHOT_KEY).unlink(missing_ok=True)         # no key: the snapshot is not used
    remove_database(cache_dir / BATCH_SNAPSHOT)
    ds = Dataset.open_snapshot(snapshot)
    try:
        ds.save(cache_dir / BATCH_SNAPSHOT, mask_contacts=True)
    finally:
        ds.con.close()
    (cache_dir / BATCH_SNAPSHOT_KEY).write_text(json.dumps({**key, "contact_details": "masked", "files": files or {},
                                                            "fingerprint": ds.fingerprint}, indent=1,
                                                           ensure_ascii=False), encoding="utf-8")


def batch_snapshot(out_root: Path, month: str, data_dir: str | Path, params: dict, *, tables: dict | None,
                   columns: dict | None, read_options: dict | None, today: str | None) -> Path | None:
    """The cache folder of a successful batch of ``month`` in ``out_root`` on the same data files, parameters
    and reading, holding its validated snapshot and book tables; None when there is none, or when the brief
    shows contact details in full (the snapshot holds them masked). The fingerprint is taken from the files,
    nothing is validated. A batch validated with a later run date than ``today``
    is not reused (a row dated between the two would be an error now)."""
    from ..data.loading import file_stats, folder_fingerprint
    from ..data.sources import is_database_url
    from .cache import MANIFEST
    if is_database_url(str(data_dir)) or not Path(data_dir).is_dir() or params.get("show_contact_details"):
        return None               # a database stays where it is; contact details in full are not in the snapshot
    try:
        fingerprint = _fingerprint_seen(out_root, month, file_stats(data_dir, tables=tables)) or \
            folder_fingerprint(data_dir, tables=tables, **(read_options or {}))
    except OSError:
        return None
    folder = shared_cache(out_root, month, fingerprint, params)
    if not all((folder / f).is_file() for f in (BATCH_SNAPSHOT, BATCH_SNAPSHOT_KEY, f"book_tables/{MANIFEST}")):
        return None
    try:
        kept = json.loads((folder / BATCH_SNAPSHOT_KEY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    now = snapshot_key(tables, columns, read_options, today)
    if not isinstance(kept, dict) or kept.get("read") != now["read"] or not isinstance(kept.get("today"), str) \
            or kept["today"] > now["today"]:
        return None
    return folder


def _fingerprint_seen(out_root: Path, month: str, files: dict) -> str | None:
    """The fingerprint a kept batch snapshot of ``month`` recorded for data files with these stats (sizes and
    modification times, :func:`kamlib.data.loading.file_stats`); None when none did."""
    for key in sorted((out_root / ".cache").glob(f"{month}-*/{BATCH_SNAPSHOT_KEY}")):
        try:
            kept = json.loads(key.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(kept, dict) and files and kept.get("files") == files and isinstance(kept.get("fingerprint"), str):
            return kept["fingerprint"]
    return None


def run_brief(*, data_dir: str | Path, account: str, month: str, out_dir: str | Path = "reports",
              parameters: dict | None = None, today: str | None = None, company: str = "",
              tables: dict | None = None, columns: dict | None = None, read_options: dict | None = None,
              progress: bool = True, pdf: bool = False) -> NotebookRun:
    """One account's brief (``kam brief``): ``<out>/<month>/accounts/<account>.html`` (and the analyst
    version; with ``pdf`` also ``<account>.presentation.pdf``, one A4 page), from notebook 07 on the validated
    data; the tables a batch of that month computed are reused when its data and parameters are the same,
    and after a successful batch on the same files, parameters and reading, its validated snapshot too: the
    brief is then made in this process, without validating again or starting a kernel."""
    from ..analysis import portfolio
    out_root = Path(out_dir).resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    if pdf:
        from .pdf import require_chromium
        require_chromium()
    params = {"data_dir": str(data_dir), "month": month, **(parameters or {}), "account": account, "_pdf": pdf}
    report = out_root / month / "run.json"          # the purchase model the month's batch chose, when 'auto'
    if params.get("clv_model") == "auto" and report.exists():
        params["clv_model"] = json.loads(report.read_text()).get("parameters", {}).get("clv_model", "auto")
    if today:
        params["today"] = today
    with Interrupts(), _say_what_was_left(out_dir, month, brief=True), month_lock(out_root, month):
        params["book_settings"] = portfolio.book_settings(params)
        batch = batch_snapshot(out_root, month, data_dir, params, tables=tables, columns=columns,
                               read_options=read_options, today=today)
        if batch is not None:            # after a batch on the same data: its snapshot and tables, no kernel
            run = _brief_from_batch(batch, account, params, out_root=out_root, out_dir=out_dir, data_dir=data_dir,
                                    company=company)
            if run is not None:
                return run
        with NotebookRunner(NOTEBOOK_DIR, 1) as runner:
            return _brief_in_kernel(runner, account, params, out_root=out_root, out_dir=out_dir, data_dir=data_dir,
                                    company=company, tables=tables, columns=columns, read_options=read_options,
                                    progress=progress)


def _brief_in_kernel(runner: NotebookRunner, account: str, params: dict, *, out_root: Path, out_dir, data_dir,
                     company: str, tables, columns, read_options, progress: bool) -> NotebookRun:
    """``kam brief`` without a batch to reuse: the data validated into a snapshot, notebook 07 run on it."""
    from ..data.credentials import redact, secrets
    from ..data.engine import remove_database
    from ..data.loading import load_dataset
    from ..data.periods import month_end
    month, today = params["month"], params.get("today")
    snapshot = out_root / f".snapshot-brief-{month}-{os.getpid()}.duckdb"
    work = Path(tempfile.mkdtemp(prefix="kam-brief-"))
    try:
        ds = load_dataset(data_dir, analysis_date=month_end(month), future_rows="exclude", today=today,
                          tables=tables, columns=columns, database=snapshot, for_report=True,
                          **(read_options or {}))
        if account not in set(ds.accounts["account_id"]):
            raise KeyError(f"account {account!r} is not in the accounts table of {redact(str(data_dir))}")
        params.update(_company=company, _fingerprint=ds.fingerprint, _secrets=secrets(str(data_dir)),
                      _display={str(snapshot): redact(str(data_dir)), str(work): str(Path(out_dir) / month)})
        params["cache_dir"] = str(shared_cache(out_root, month, ds.fingerprint, params))
        ds.save(snapshot)
        ds.con.close()
        params["data_dir"] = str(snapshot)
        (work / "metrics").mkdir()
        job = Job(BRIEF_NOTEBOOK, f"accounts/{slug(account, lower=False)}", (("account", account),))
        (run,) = runner.run([job], work, params, progress)
        if run.status == "success":
            _publish_brief(work, params, out_root)
        return run
    finally:
        remove_database(snapshot)
        shutil.rmtree(work, ignore_errors=True)


def _publish_brief(work: Path, params: dict, out_root: Path) -> None:
    """Move a brief written in ``work`` into ``<out>/<month>/accounts/`` (no secret of the source in any byte)
    and list it in the month's index."""
    month = params["month"]
    target = out_root / month / "accounts"
    target.mkdir(parents=True, exist_ok=True)
    Redactor(params["_display"], params["_secrets"]).folder(work)
    for f in (work / "accounts").iterdir():
        shutil.move(str(f), target / f.name)
    if (out_root / month / "run.json").exists():        # the month's index lists the new brief
        write_index(out_root / month)


def _brief_from_batch(batch: Path, account: str, params: dict, *, out_root: Path, out_dir, data_dir,
                      company: str) -> NotebookRun | None:
    """``kam brief`` after a batch of the month on the same data and parameters: notebook 07's calls made here,
    on the batch's snapshot and book tables (``batch``, its cache folder), without a kernel; the page through
    the batch's brief template (:func:`kamlib.report.manager_pages.brief_page`), the analyst version as the
    notebook with its parameters and what it showed. None when the snapshot cannot be opened (the caller
    validates the data instead)."""
    from ..analysis import portfolio
    from ..data.credentials import redact, secrets
    from ..data.loading import load_dataset
    from ..data.periods import month_end
    from .briefs import show_brief
    from .cache import cached
    from .manager_pages import brief_page, displayed, notebook_defaults
    from .notebook import NotebookContext
    month = params["month"]
    try:
        ds = load_dataset(batch / BATCH_SNAPSHOT, analysis_date=month_end(month))
    except Exception:  # noqa: BLE001 - a damaged or foreign snapshot: the data are validated again
        return None
    work = Path(tempfile.mkdtemp(prefix="kam-brief-"))
    output = f"accounts/{slug(account, lower=False)}"
    try:
        if not batch.name.startswith(f"{month}-{ds.fingerprint}-"):      # written for other data
            return None
        if account not in set(ds.accounts["account_id"]):
            raise KeyError(f"account {account!r} is not in the accounts table of {redact(str(data_dir))}")
        nb = NOTEBOOK_DIR / f"{BRIEF_NOTEBOOK}.ipynb"
        given = {**params, "data_dir": str(batch / BATCH_SNAPSHOT), "cache_dir": str(batch),
                 "_secrets": secrets(str(data_dir)), "_display": {str(batch / BATCH_SNAPSHOT): redact(str(data_dir)),
                                                                  str(work): str(Path(out_dir) / month)}}
        p = {**notebook_defaults(nb), **given}
        shown = Redactor(p["_display"], p["_secrets"])
        t0 = time.perf_counter()
        try:
            ctx = NotebookContext(ds=ds, lang=p["language"], currency=p["currency"])
            settings = portfolio.book_settings(p["book_settings"])
            tables = cached(str(batch), "book_tables", portfolio.tables_for, ds, settings)
            brief = portfolio.account_brief(ds, tables, account, portfolio.service_policy(settings),
                                            alert_threshold=settings["alert_threshold"])
            shows = displayed(show_brief, ctx, brief, horizon_months=tables.horizon_months,
                              show_contact_details=p["show_contact_details"], standalone=True)
            page = {"work": str(work), "company": company, "month": month, "fingerprint": ds.fingerprint,
                    "pdf": p["_pdf"]}
            run = NotebookRun(**brief_page(ctx, account, brief, horizon_months=tables.horizon_months, page=page,
                                           outputs=shows))
            executed = work / "executed" / f"{output}.ipynb"
            _as_executed(nb, {k: v for k, v in given.items() if k in declared_parameters(nb)}, shows, executed)
            shown.notebook(executed)
            run.html, _ = render_notebook(executed, work, output, company=company, month=month,
                                          fingerprint=ds.fingerprint, lang=p["language"], presentation=False)
        except Exception as e:  # noqa: BLE001 - reported as a failed brief, as a notebook's error would be
            return NotebookRun(output, status="failed", error=shown(f"{type(e).__name__}: {e}"),
                               duration_s=round(time.perf_counter() - t0, 2))
        run.duration_s = round(time.perf_counter() - t0, 2)
        shutil.rmtree(work / "executed")
        _publish_brief(work, p, out_root)
        return run
    finally:
        ds.con.close()
        shutil.rmtree(work, ignore_errors=True)


def _as_executed(notebook: Path, parameters: dict, outputs: list, target: Path) -> None:
    """``notebook`` as papermill writes it after a run with ``parameters`` whose last code cell displayed
    ``outputs`` (:func:`kamlib.report.manager_pages.displayed`): the analyst version of a page rendered
    without a kernel shows the code and what it showed."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    nb = parameterize_notebook(load_notebook_node(str(notebook)), parameters)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code, 1):
        cell.execution_count, cell.outputs = n, []
    code[-1].outputs = [nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata or {})
                        for o in outputs]
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
