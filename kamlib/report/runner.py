"""The monthly report (``kam report``): the notebooks run on warm kernels (:mod:`kamlib.report.workers`), the
manager pages drawn beside them, metrics collected, the index written. ``kam brief`` is
:mod:`kamlib.report.brief_run`.

A run builds everything in a temporary folder next to the output and replaces ``<out>/<month>/`` only when
every notebook succeeded. A failed run leaves the previous report of that month untouched, writes a
failure page to ``<out>/<month>-failed/index.html`` naming the notebook, cell and error, and returns a
non-success result (the CLI exits non-zero). No temporary folder survives a run, whatever stops it.

A partial run (some notebooks, e.g. ``kam report --notebooks 02_customer_lifetime_value``) into a month that
has a report updates those notebooks and the index and metrics entries they own, and keeps everything else
(other reports, manager reports, briefs). Notebook names are checked before any work. This module knows
nothing about statistics.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from .index import write_index
from .interrupts import Interrupted, Interrupts
from .workers import Job, NotebookRun, NotebookRunner, Redactor, declared_parameters
from ..analysis.metrics import merge_metric_files

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
DEFAULT_NOTEBOOKS = ("01_account_overview", "02_customer_lifetime_value", "03_retention_vs_acquisition",
                     "04_segmentation_strategy", "05_account_manager_scorecard", "00_executive_summary")
SUMMARY_NOTEBOOKS: tuple[str, ...] = ("00_executive_summary",)   # run last: they read the others' metrics
CLV_NOTEBOOK = "02_customer_lifetime_value"     # values the book; the book tables follow it in its kernel
MANAGER_NOTEBOOK = "06_manager_portfolio"     # run once per account manager, into managers/<slug>.html
BRIEF_NOTEBOOK = "07_account_brief"           # kam brief: accounts/<id>.html
DECK_NOTEBOOK = "08_client_deck"              # kam report --deck: deck.pptx, after the others (reads their metrics)
# the parameters the shared tables of manager reports and briefs depend on (the key of their cache)
SHARED_PARAMETERS = ("book_settings",)         # kamlib.analysis.portfolio.book_settings of the run's parameters
PACKAGES = ("kamlib", "pandas", "numpy", "scipy", "statsmodels", "duckdb", "ibis-framework", "matplotlib",
            "seaborn", "papermill", "nbconvert")


@dataclass
class ReportRun:
    month: str
    out_dir: str
    parameters: dict
    notebooks: list[NotebookRun] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    fingerprint: str = ""
    status: str = "pending"
    notebook_dir: str = ""                                  # where the notebooks were read from
    updated: list[str] = field(default_factory=list)        # a partial run: the reports it replaced
    notes: list[str] = field(default_factory=list)          # things the user should know about the run

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_json(self) -> dict:
        d = asdict(self)
        d["package_versions"] = package_versions()
        return d


class UnknownNotebook(ValueError):
    """A notebook name that is not in the notebook folder (the message lists the names there are)."""


def report_notebooks(notebook_dir: str | Path | None = None) -> list[str]:
    """The notebooks ``kam report --notebooks`` can run from ``notebook_dir`` (default: the package's);
    the account brief is ``kam brief``'s."""
    return sorted(p.stem for p in Path(notebook_dir or NOTEBOOK_DIR).glob("*.ipynb") if p.stem != BRIEF_NOTEBOOK)


def resolve_notebooks(names, notebook_dir: str | Path | None = None) -> tuple[str, ...]:
    """``names`` as notebooks of ``notebook_dir``: each given by its file name (with or without ``.ipynb``), its
    number (``02``) or its name without the number (``customer_lifetime_value``); an unknown or ambiguous
    name raises :class:`UnknownNotebook` listing the valid ones, before any work is done."""
    valid = report_notebooks(notebook_dir)
    out = []
    for name in names:
        key = Path(str(name)).name.removesuffix(".ipynb")
        found = [v for v in valid if key in (v, v.split("_", 1)[0], v.split("_", 1)[-1])]
        if len(found) != 1:
            where = Path(notebook_dir or NOTEBOOK_DIR)
            hint = (f"; {BRIEF_NOTEBOOK} is written by kam brief --account <id>" if key == BRIEF_NOTEBOOK else "")
            raise UnknownNotebook(f"no notebook {name!r} in {where}{hint}; the notebooks are: {', '.join(valid)} "
                                  "(give the name, its number like 02, or the name without the number)")
        out.append(found[0])
    return tuple(dict.fromkeys(out))


def _owned_files(folder: Path, name: str) -> list[Path]:
    """The files a report ``name`` (e.g. ``02_customer_lifetime_value``) owns in a report folder."""
    return [folder / f"{name}.html", folder / f"{name}.presentation.html", folder / f"{name}.presentation.pdf",
            folder / "executed" / f"{name}.ipynb", folder / "metrics" / f"{name.replace('/', '--')}.json"]


def _seed_partial(final: Path, work: Path, names: tuple[str, ...]) -> list[NotebookRun]:
    """Copy the month's report into ``work`` without the files of the notebooks about to run (all manager
    reports when the manager notebook runs); returns the kept reports' runs from its run.json."""
    import dataclasses
    shutil.copytree(final, work, dirs_exist_ok=True)
    for name in names:
        for f in _owned_files(work, name):
            f.unlink(missing_ok=True)
    if MANAGER_NOTEBOOK in names:
        for d in (work / "managers", work / "executed" / "managers"):
            shutil.rmtree(d, ignore_errors=True)
        for f in (work / "metrics").glob("managers--*.json"):
            f.unlink()
    try:
        previous = json.loads((final / "run.json").read_text())
    except (OSError, ValueError):
        return []
    fields = {f.name for f in dataclasses.fields(NotebookRun)}
    return [NotebookRun(**{k: v for k, v in n.items() if k in fields}) for n in previous.get("notebooks", [])
            if n.get("name") not in names
            and not (MANAGER_NOTEBOOK in names and str(n.get("name", "")).startswith("managers/"))]


def package_versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def shared_model_choice(ds, params: dict, notebooks: list[Path]) -> dict:
    """``{"clv_model": <chosen>}`` when notebooks value the book with ``clv_model="auto"`` (their default):
    the holdout check (:func:`kamlib.analysis.clv.model_check`) runs once for the run instead of once per notebook, and
    they all use the model the CLV notebook chooses (it repeats the check to show it). {} otherwise."""
    valuing = any({"clv_model", "book_settings"} & declared_parameters(p) for p in notebooks)
    if params.get("clv_model", "auto") != "auto" or not valuing:
        return {}
    import warnings

    from ..analysis.clv import model_check
    from ..models import FitError
    with warnings.catch_warnings():       # fit warnings are shown in the CLV notebook
        warnings.simplefilter("ignore")
        try:
            return {"clv_model": model_check(ds, params.get("holdout_months", 12)).choice.chosen}
        except FitError:                  # each notebook then meets (and reports) the failure itself
            return {}


class _Pages:
    """The batch's manager pages (:func:`kamlib.report.manager_pages.render_batch`): drawn by ``pool``'s workers
    and prepared in a thread of this process once ``tables`` (the future of the book tables) is done, beside the
    notebooks; without a pool, drawn when :meth:`result` is asked for."""

    def __init__(self, notebook: Path, params: dict, work: Path, jobs: int, progress: bool, pool, tables):
        from concurrent.futures import ThreadPoolExecutor
        self._args = (notebook, params, work, jobs, progress, pool, tables)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kam-pages") if pool is not None else None
        self._future = self._thread.submit(self._draw) if self._thread is not None else None

    def _draw(self) -> list[dict]:
        from .manager_pages import render_batch
        notebook, params, work, jobs, progress, pool, tables = self._args
        if tables is not None:
            tables.result()
        return render_batch(notebook, params, work, jobs=jobs, progress=progress, pool=pool,
                            shown=Redactor(params["_display"], params["_secrets"]))

    def result(self) -> list[dict]:
        if self._future is None:
            return self._draw()
        try:
            return self._future.result()
        finally:
            self._thread.shutdown(wait=False, cancel_futures=True)


def _renders_managers(notebook: Path) -> bool:
    """Whether the manager reports are rendered from the shared tables (:mod:`kamlib.report.manager_pages`):
    when ``notebook`` is the package's notebook 06, not an analyst's edited copy (that one runs per manager)."""
    package = NOTEBOOK_DIR / f"{MANAGER_NOTEBOOK}.ipynb"
    try:
        return notebook.resolve() == package.resolve() or notebook.read_bytes() == package.read_bytes()
    except OSError:
        return False


def slug(name: str, lower: bool = True) -> str:
    """A file name for a manager (lower case) or an account id (as it is): letters, digits and CJK kept, the
    rest as '-'."""
    import re
    out = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", str(name)).strip("-") or "unnamed"
    return out.lower() if lower else out


def shared_cache(out_root: Path, month: str, fingerprint: str, params: dict) -> Path:
    """Where the notebooks of a month share computed tables (:mod:`kamlib.report.cache`): outside the report
    folder, keyed by the data fingerprint and the parameters, so ``kam brief`` after a batch reuses them."""
    import dataclasses
    import hashlib

    from .. import __version__
    from ..analysis.portfolio import BookTables
    shape = [f.name for f in dataclasses.fields(BookTables)]       # a cache of another layout is not reused
    key = hashlib.sha256(json.dumps({"params": {k: params.get(k) for k in SHARED_PARAMETERS}, "tables": shape,
                                     "version": __version__}, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return out_root / ".cache" / f"{month}-{fingerprint}-{key}"


class ReportLocked(RuntimeError):
    """Another ``kam report`` is writing the same month into the same output folder."""


@contextmanager
def month_lock(out_root: Path, month: str):
    """One writer per report month: an exclusive lock on ``<out>/.lock-<month>``, removed when the run ends
    (the kernel releases it if the run dies). A second run for the month refuses at once, naming the first."""
    import fcntl
    path = out_root / f".lock-{month}"
    while True:
        f = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise ReportLocked(f"another kam report is writing {month} into {out_root} ({holder}); wait for it "
                               "to finish or write to another --out") from None
        try:       # the file may have been removed by the run that held it: lock the one that is there now
            if os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        f.close()
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}, started {dt.datetime.now().isoformat(timespec='seconds')}")
    f.flush()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


@contextmanager
def _say_what_was_left(out_dir: str | Path, month: str, brief: bool = False):
    """On Ctrl-C or SIGTERM (:class:`~kamlib.report.interrupts.Interrupted`), after the run's own clean-up:
    remove half-written cache entries of the month and say what was removed and what was left as it was."""
    try:
        yield
    except Interrupted as e:
        root, pid = Path(out_dir).resolve(), os.getpid()
        for half in (*root.glob(f".cache/{month}-*/.*.tmp"), *root.glob(f".cache/{month}-*/.*.old")):
            shutil.rmtree(half, ignore_errors=True)
        left = [p for p in (*root.glob(f".tmp-{month}-{pid}"), *root.glob(f".old-{month}-{pid}"),
                            *root.glob(f".snapshot-*{month}-{pid}.duckdb*"), root / f".lock-{month}") if p.exists()]
        kept = Path(out_dir) / month
        what = "the brief" if brief else "the unfinished run"
        e.left = (f"{what} was removed (temporary folder, data snapshot, lock); "
                  + (f"{kept} was left as it was" if (root / month).is_dir() else f"no report of {month} was written")
                  + (f"; could not remove {', '.join(p.name for p in left)}" if left else ""))
        raise


@contextmanager
def _no_leftovers(out_root: Path, month: str):
    """Remove this process's temporary folders of ``month`` however the run ends (an error, Ctrl-C)."""
    try:
        yield
    finally:
        for tmp in (out_root / f".tmp-{month}-{os.getpid()}", out_root / f".old-{month}-{os.getpid()}"):
            shutil.rmtree(tmp, ignore_errors=True)


def run_report(*, data_dir: str | Path, month: str, out_dir: str | Path = "reports",
               notebooks: tuple[str, ...] | None = None, notebook_dir: str | Path | None = None,
               parameters: dict | None = None, jobs: int = 1, progress: bool = True,
               today: str | None = None, company: str = "", tables: dict | None = None,
               columns: dict | None = None, pdf: bool = False, read_options: dict | None = None,
               deck: bool = False) -> ReportRun:
    """Run the monthly report for ``month`` ('YYYY-MM') on the data in ``data_dir``.

    The executive summary compares with ``<out_dir>/<previous month>/metrics.json`` when it exists. With
    ``pdf`` the presentation versions are also printed to PDF (needs Chromium; checked before anything runs)."""
    from ..analysis import portfolio
    from ..data.engine import remove_database
    from ..data.loading import file_stats, load_dataset
    from ..data.periods import month_end
    if pdf:
        from .pdf import require_chromium
        require_chromium()
    from ..data.credentials import redact, secrets
    nb_dir = Path(notebook_dir or NOTEBOOK_DIR).resolve()
    if not nb_dir.is_dir():
        raise UnknownNotebook(f"notebook folder not found: {notebook_dir}")
    everything = (*DEFAULT_NOTEBOOKS, MANAGER_NOTEBOOK)
    if notebooks is None and notebook_dir is not None:     # an analyst's folder: the report notebooks it has
        notebooks = [n for n in everything if (nb_dir / f"{n}.ipynb").exists()] or everything
    names = resolve_notebooks((*(notebooks or everything), *((DECK_NOTEBOOK,) if deck else ())), nb_dir)
    out_root = Path(out_dir).resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    from ..data.sources import is_database_url
    source = str(data_dir) if is_database_url(str(data_dir)) else str(Path(data_dir).resolve())
    params = {"data_dir": source, "month": month, **(parameters or {})}
    shown_source = redact(str(data_dir))        # as the user gave it (relative stays relative), no password
    params["_secrets"] = secrets(str(data_dir))
    if today:
        params["today"] = today
    with Interrupts() as stop, _say_what_was_left(out_dir, month), month_lock(out_root, month), \
            _no_leftovers(out_root, month):
        run = ReportRun(month=month, out_dir=str(out_root), parameters=params, notebook_dir=str(nb_dir),
                        started=dt.datetime.now().isoformat(timespec="seconds"))
        final = out_root / month
        partial = final.is_dir() and not set(everything) <= set(names)
        first = [n for n in names if n not in (*SUMMARY_NOTEBOOKS, MANAGER_NOTEBOOK, DECK_NOTEBOOK)]
        last = [n for n in names if n in (*SUMMARY_NOTEBOOKS, DECK_NOTEBOOK)]
        # kernels warm up (start, import the libraries) while the data are loaded and validated
        with NotebookRunner(nb_dir, min(jobs, max(len(first), 1))) as runner:
            # notebooks open a validated snapshot instead of re-reading and re-validating the files (files are
            # loaded straight into it, so large folders stay within DuckDB's memory limit); a database source
            # stays where it is (the notebooks get a source spec with the table and column mapping)
            snapshot = out_root / f".snapshot-{month}-{os.getpid()}.duckdb"
            private = Path(tempfile.mkdtemp(prefix="kam-source-"))    # 0700, outside the report folder
            params["_shared"] = str(private / "shared")     # results the kernels share (kamlib.analysis.memo)
            work = out_root / f".tmp-{month}-{os.getpid()}"
            params["_display"] = {str(snapshot): shown_source, str(private / "source.json"): shown_source,
                                  source: shown_source, str(work): str(Path(out_dir) / month),
                                  str(out_root): str(Path(out_dir))}
            try:
                # validate before any notebook runs: bad data stops the run with the validation message
                ds = load_dataset(data_dir, analysis_date=month_end(month), future_rows="exclude", today=today,
                                  tables=tables, columns=columns, database=snapshot, for_report=True,
                                  **(read_options or {}))
                run.fingerprint = ds.fingerprint
                files = file_stats(source, tables=tables) if Path(source).is_dir() else None   # as just read
                params["_company"], params["_fingerprint"], params["_pdf"] = company, ds.fingerprint, pdf
                previous = out_root / str(pd.Period(month, freq="M") - 1) / "metrics.json"
                params["previous_metrics"] = str(previous) if previous.exists() else ""
                shutil.rmtree(work, ignore_errors=True)
                kept = _seed_partial(final, work, names) if partial else []
                (work / "executed").mkdir(parents=True, exist_ok=True)
                (work / "metrics").mkdir(exist_ok=True)
                params.update(shared_model_choice(ds, params, [nb_dir / f"{n}.ipynb" for n in names]))
                if ds.con is not None:
                    ds.save(snapshot)
                    ds.con.close()
                    params["data_dir"] = str(snapshot)
                else:
                    from ..data.sources import write_source_spec
                    # the spec carries the credentials: it stays in a private folder outside the report, removed below
                    params["data_dir"] = str(write_source_spec(private / "source.json", str(data_dir), tables, columns))
                params["book_settings"] = portfolio.book_settings(params)   # one set for every page sharing the tables
                # the CLV report values the book with the tables' parameter draws: one valuation, the same bands
                params.setdefault("n_draws", params["book_settings"]["n_draws"])
                params["cache_dir"] = str(shared_cache(out_root, month, ds.fingerprint, params))
                for stale in (out_root / ".cache").glob(f"{month}-*"):    # earlier data or parameters
                    if str(stale) != params["cache_dir"]:
                        shutil.rmtree(stale, ignore_errors=True)
                params["company"], params["deck_path"] = company, str(work / "deck.pptx")
                params["report_dir"] = str(work)      # where the executive summary writes the workbook and managers
                manager_nb = nb_dir / f"{MANAGER_NOTEBOOK}.ipynb"
                rendered = MANAGER_NOTEBOOK in names and _renders_managers(manager_nb)
                if MANAGER_NOTEBOOK in names and not rendered:    # an analyst's edited 06: run once per manager
                    first += [Job(MANAGER_NOTEBOOK, f"managers/{slug(m)}", (("account_manager", m),))
                              for m in sorted(ds.accounts["account_manager"].dropna().unique())]
                # the pages' shared tables are computed by a worker beside the analysis notebooks, after the CLV
                # report in the same kernel (which keeps its valuation for them)
                chained = CLV_NOTEBOOK if rendered and runner.pool is not None and CLV_NOTEBOOK in first else None
                ahead = runner.beside(manager_nb, params, after=Job(chained) if chained else None,
                                      work=work) if rendered else None
                # a page per manager from the shared tables, through one template (manager_pages): with workers,
                # a thread prepares the pages as soon as the tables are cached and queues them behind the
                # notebooks, so the workers never wait for the pages' preparation
                pages = _Pages(manager_nb, params, work, jobs, progress, runner.pool, ahead) if rendered else None
                run.notebooks = runner.run([n for n in first if n != chained], work, params, progress)
                if chained:
                    run.notebooks.insert(first.index(chained), NotebookRun(**ahead.result()[0]))
                summaries = dict(params, metrics_dir=str(work / "metrics"))
                queued = runner.submit(last, work, summaries) if last and runner.pool is not None else None
                if pages is not None:
                    run.notebooks += [NotebookRun(**e) for e in pages.result()]
                if queued is not None:
                    run.notebooks += runner.collect(queued, progress)
                elif last:
                    run.notebooks += runner.run(last, work, summaries, progress)
                if all(r.status == "success" for r in run.notebooks):   # kept with the shared tables, for kam brief
                    from .brief_run import keep_snapshot, snapshot_key
                    keep_snapshot(snapshot, Path(params["cache_dir"]), snapshot_key(tables, columns, read_options, today),
                                  files)
            finally:
                remove_database(snapshot)
                shutil.rmtree(private, ignore_errors=True)
        run.finished = dt.datetime.now().isoformat(timespec="seconds")
        run.status = "success" if all(r.status == "success" for r in run.notebooks) else "failed"
        if partial:
            run.updated = [r.name for r in run.notebooks]
            before = json.loads((final / "run.json").read_text()) if (final / "run.json").exists() else {}
            if before.get("fingerprint", run.fingerprint) != run.fingerprint:
                run.notes.append(f"the data changed since the rest of the {month} report was run (fingerprint "
                                 f"{before['fingerprint']} then, {run.fingerprint} now): run the whole month "
                                 "to bring every report to the same data")
            order = {n: i for i, n in enumerate((*(n for n in DEFAULT_NOTEBOOKS if n not in SUMMARY_NOTEBOOKS),
                                                 MANAGER_NOTEBOOK, *SUMMARY_NOTEBOOKS, DECK_NOTEBOOK))}
            run.notebooks = sorted(run.notebooks + kept, key=lambda r: order.get(
                MANAGER_NOTEBOOK if r.name.startswith("managers/") else r.name, len(order)))
        metrics, notes = merge_metric_files(sorted((work / "metrics").glob("*.json")))
        (work / "metrics.json").write_text(json.dumps({"month": month, "metrics": metrics, "notes": notes},
                                                      indent=2, ensure_ascii=False))
        shown = Redactor(params["_display"], params["_secrets"])
        run.parameters = {k: shown(v) if isinstance(v, str) else v for k, v in params.items() if not k.startswith("_")}
        run.parameters["data_dir"], run.out_dir = shown_source, str(out_dir)
        (work / "run.json").write_text(json.dumps(run.to_json(), indent=2, default=str))
        write_index(work, company=company, lang=params.get("language", "en"), currency=params.get("currency", "CNY"))
        shown.folder(work)
        failed_dir = out_root / f"{month}-failed"
        with stop.deferred():             # a signal now waits: the month's report is never half replaced
            if run.ok:
                backup = out_root / f".old-{month}-{os.getpid()}"
                if final.exists():
                    final.rename(backup)
                work.rename(final)
                shutil.rmtree(backup, ignore_errors=True)
                shutil.rmtree(failed_dir, ignore_errors=True)
            else:
                shutil.rmtree(failed_dir, ignore_errors=True)
                work.rename(failed_dir)
        return run
