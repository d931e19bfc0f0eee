"""The report runner: execute notebooks with papermill, render HTML, collect metrics, write the index.

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
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat
import pandas as pd
from tqdm.auto import tqdm

from .html import render_notebook
from .index import write_index
from .interrupts import Interrupted, Interrupts
from ..analysis.metrics import merge_metric_files

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
DEFAULT_NOTEBOOKS = ("01_account_overview", "02_customer_lifetime_value", "03_retention_vs_acquisition",
                     "04_segmentation_strategy", "05_account_manager_scorecard", "00_executive_summary")
SUMMARY_NOTEBOOKS: tuple[str, ...] = ("00_executive_summary",)   # run last: they read the others' metrics
MANAGER_NOTEBOOK = "06_manager_portfolio"     # run once per account manager, into managers/<slug>.html
BRIEF_NOTEBOOK = "07_account_brief"           # kam brief: accounts/<id>.html
DECK_NOTEBOOK = "08_client_deck"              # kam report --deck: deck.pptx, after the others (reads their metrics)
# the parameters the shared tables of manager reports and briefs depend on (the key of their cache)
SHARED_PARAMETERS = ("book_settings",)         # kamlib.analysis.portfolio.book_settings of the run's parameters
# typical run times on the bundled sample, to start the longest notebooks first when running in parallel
TYPICAL_SECONDS = {"02_customer_lifetime_value": 16, "05_account_manager_scorecard": 16,
                   "03_retention_vs_acquisition": 15, "04_segmentation_strategy": 14, "01_account_overview": 12,
                   "06_manager_portfolio": 3}
PACKAGES = ("kamlib", "pandas", "numpy", "scipy", "statsmodels", "duckdb", "ibis-framework", "matplotlib",
            "seaborn", "papermill", "nbconvert")


@dataclass(frozen=True)
class Job:
    """One notebook execution of a run: the notebook, the report file it becomes (default: its own name; e.g.
    ``managers/li-na`` for a manager report) and its own parameters."""

    notebook: str
    output: str = ""
    params: tuple = ()           # ((name, value), ...)

    @property
    def name(self) -> str:
        return self.output or self.notebook


@dataclass
class NotebookRun:
    name: str
    status: str = "pending"           # success / failed
    duration_s: float = 0.0
    error: str | None = None
    cell: int | None = None
    html: str | None = None
    html_presentation: str | None = None
    pdf: str | None = None


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


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in a notebook's cell tagged 'parameters'."""
    import ast
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return set()
    return {t.id for n in ast.parse(cell.source).body if isinstance(n, ast.Assign) for t in n.targets
            if isinstance(t, ast.Name)}


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


_WORKER_KERNEL = None      # the warm kernel of a pool worker process
_WORKER_KERNEL_ERROR = ""  # why it could not start (reported by every notebook given to that worker)


def _environment(parallel: bool) -> None:
    """Environment the kernels inherit: static tables instead of live widgets; one BLAS thread per kernel
    when kernels share the cores."""
    os.environ["KAMLIB_BATCH"] = "1"
    if parallel:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"


def _start_kernel(notebook_dir: str | Path, parallel: bool):
    """A warm kernel for ``notebook_dir`` and "", or None and why it could not start."""
    from .kernels import WarmKernel
    _environment(parallel)
    try:
        return WarmKernel(notebook_dir), ""
    except Exception as e:  # noqa: BLE001 - reported per notebook instead of breaking the run
        return None, f"the kernel could not start: {type(e).__name__}: {e}"


def _start_worker_kernel(notebook_dir: str, parallel: bool) -> None:
    """Pool initializer: start this worker's warm kernel (shut down when the worker exits)."""
    import signal
    from multiprocessing import util

    from .interrupts import ignore_in_worker
    global _WORKER_KERNEL, _WORKER_KERNEL_ERROR
    ignore_in_worker()
    signal.signal(signal.SIGTERM, _stop_worker)
    _WORKER_KERNEL, _WORKER_KERNEL_ERROR = _start_kernel(notebook_dir, parallel)
    if _WORKER_KERNEL is not None:
        util.Finalize(_WORKER_KERNEL, _WORKER_KERNEL.shutdown, exitpriority=10)


def _stop_worker(signum, frame) -> None:
    """A pool worker told to stop (the run was interrupted): its kernel goes with it."""
    if _WORKER_KERNEL is not None:
        _WORKER_KERNEL.kill()
    os._exit(128 + signum)


def _tables_in_kernel(manager_notebook: str, parameters: dict) -> bool:
    """(Pool worker) compute and cache the run's book tables (:func:`kamlib.report.manager_pages.prepare_tables`)
    in this worker's warm kernel, which then keeps the fits they share with the notebooks it runs next (the
    churn drivers, the valuation: :mod:`kamlib.analysis.memo`); in this process when the kernel did not start.
    False when they could not be computed (the pages then compute them and report the failure)."""
    from .manager_pages import prepare_tables
    if _WORKER_KERNEL is None:
        return prepare_tables(Path(manager_notebook), parameters)
    args = json.dumps([manager_notebook, parameters], default=str)
    try:
        _WORKER_KERNEL.fresh()
        _WORKER_KERNEL.run_quietly("import json, pathlib\nfrom kamlib.report.manager_pages import prepare_tables\n"
                                   f"_nb, _p = json.loads({args!r})\nassert prepare_tables(pathlib.Path(_nb), _p)")
        return True
    except RuntimeError:
        return False
    finally:
        _WORKER_KERNEL.done()


def _worker_ready() -> bool:
    return _WORKER_KERNEL is not None


class _Shown:
    """What a report may show of a run: the paths the user gave instead of the run's temporary ones (snapshot,
    source spec, work folder), and no secret of the source (:mod:`kamlib.data.credentials`)."""

    def __init__(self, display: dict[str, str], secrets=()):
        self.display = sorted(display.items(), key=lambda kv: -len(kv[0]))
        self.secrets = tuple(secrets)

    def __call__(self, text: str) -> str:
        from ..data.credentials import scrub
        for actual, shown in self.display:
            text = text.replace(actual, shown)
        return scrub(text, self.secrets)

    def _walk(self, node):
        if isinstance(node, str):
            return self(node)
        if isinstance(node, list):
            return [self._walk(v) for v in node]
        if isinstance(node, dict):
            return {k: self._walk(v) for k, v in node.items()}
        return node

    def notebook(self, path: Path) -> None:
        """Rewrite an executed notebook: its cells and outputs as they may be shown."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["cells"] = self._walk(raw["cells"])
        path.write_text(json.dumps(raw, indent=1, ensure_ascii=False), encoding="utf-8")

    def folder(self, folder: Path) -> None:
        """Last pass over every file a run wrote: no secret in any byte (PDFs are printed from scrubbed HTML)."""
        from ..data.credentials import scrub_bytes
        if not self.secrets:
            return
        for f in folder.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                clean = scrub_bytes(data, self.secrets)
                if clean != data:
                    f.write_bytes(clean)


def execute_notebook(name: str, work: str, parameters: dict, notebook_dir: str, progress: bool,
                     kernel=None, output: str | None = None) -> dict:
    """Run one notebook on a warm kernel (this worker's, or ``kernel``) and render it; returns a NotebookRun
    dict. Each notebook receives the parameters it declares; ``_company`` and ``_fingerprint`` go to the HTML."""
    import papermill as pm
    kernel = kernel or _WORKER_KERNEL
    output = output or name
    run = NotebookRun(output)
    if kernel is None:
        run.status, run.error = "failed", _WORKER_KERNEL_ERROR
        return asdict(run)
    work_dir = Path(work)
    src = Path(notebook_dir) / f"{name}.ipynb"
    out_nb = work_dir / "executed" / f"{output}.ipynb"
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    (work_dir / output).parent.mkdir(parents=True, exist_ok=True)
    declared = declared_parameters(src)
    metrics = work_dir / "metrics" / f"{output.replace('/', '--')}.json"
    params = {k: v for k, v in dict(parameters, metrics_path=str(metrics)).items() if k in declared}
    t0 = time.perf_counter()
    try:
        # the kernel runs in notebook_dir (its working directory is restored before every notebook)
        pm.execute_notebook(str(src), str(out_nb), parameters=params, km=kernel.fresh(),
                            progress_bar=progress, kernel_name="python3", log_output=False)
        run.status = "success"
    except pm.PapermillExecutionError as e:
        run.status, run.cell = "failed", e.exec_count
        run.error = f"{e.ename}: {e.evalue}"
    except Exception as e:  # noqa: BLE001 - any failure of a notebook must be reported, not raised
        run.status, run.error = "failed", f"{type(e).__name__}: {e}"
    finally:
        kernel.done()
    run.duration_s = round(time.perf_counter() - t0, 2)
    shown = _Shown(parameters.get("_display", {}), parameters.get("_secrets", ()))
    run.error = shown(run.error) if run.error else run.error
    if out_nb.exists():
        shown.notebook(out_nb)
        try:
            run.html, run.html_presentation = render_notebook(
                out_nb, work_dir, output, company=parameters.get("_company", ""), month=parameters["month"],
                fingerprint=parameters.get("_fingerprint", ""), lang=parameters.get("language", "en"))
        except Exception as e:  # noqa: BLE001
            run.status, run.error = "failed", run.error or f"HTML rendering failed: {e}"
    if parameters.get("_pdf") and run.status == "success":
        from .pdf import html_to_pdf
        try:
            run.pdf = str(html_to_pdf(work_dir / run.html_presentation,
                                      work_dir / f"{output}.presentation.pdf").relative_to(work_dir))
        except Exception as e:  # noqa: BLE001
            run.status, run.error = "failed", f"PDF rendering failed: {e}"
    return asdict(run)


class NotebookRunner:
    """Runs notebooks on warm kernels: ``jobs`` pool workers with one kernel each, or one kernel in this
    process for ``jobs=1``. Kernels start (and import the libraries) as soon as the runner is created, so
    this overlaps with loading and validating the data. Use as a context manager."""

    def __init__(self, notebook_dir: Path, jobs: int):
        self.notebook_dir = Path(notebook_dir)
        self._pool, self._kernel, self._kernel_error, self._starting = None, None, "", None
        if jobs > 1:
            self._pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker_kernel,
                                             initargs=(str(self.notebook_dir), True))
            for _ in range(jobs):          # spawn the workers now, so their kernels warm up
                self._pool.submit(_worker_ready)
        else:                              # one kernel, started beside this thread (it mostly waits for it)
            import threading
            self._starting = threading.Thread(target=self._start_one, daemon=True)
            self._starting.start()

    def _start_one(self) -> None:
        self._kernel, self._kernel_error = _start_kernel(self.notebook_dir, parallel=False)

    def _started(self) -> None:
        """Wait for the kernel started in :meth:`__init__` (jobs=1)."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None

    def __enter__(self) -> NotebookRunner:
        return self

    def __exit__(self, kind, *exc) -> None:
        stopped = kind is not None and issubclass(kind, KeyboardInterrupt)    # Ctrl-C, SIGTERM: no waiting
        self._started()
        if self._pool is not None:
            if stopped:
                for process in list((self._pool._processes or {}).values()):   # their kernels go with them
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._kernel is not None:
            self._kernel.kill() if stopped else self._kernel.shutdown()

    @property
    def pool(self) -> ProcessPoolExecutor | None:
        """The workers (None with one kernel): the manager pages are drawn by them too."""
        return self._pool

    def beside(self, manager_notebook: Path, parameters: dict):
        """With pool workers, a future computing the run's book tables into its cache in a worker's kernel
        (:func:`_tables_in_kernel`), submitted before the notebooks so that a worker takes it first; None with
        one kernel (the pages compute them)."""
        if self._pool is None:
            return None
        return self._pool.submit(_tables_in_kernel, str(manager_notebook), parameters)

    def _args(self, job: Job, work: Path, parameters: dict) -> tuple:
        """execute_notebook's positional arguments for a job."""
        return job.notebook, str(work), {**parameters, **dict(job.params)}, str(self.notebook_dir)

    def submit(self, jobs, work: Path, parameters: dict) -> list[tuple[str, Future]]:
        """Queue ``jobs`` on the workers, longest first, without waiting; (report name, future) in the order
        given, for :meth:`collect`."""
        jobs = [j if isinstance(j, Job) else Job(j) for j in jobs]
        futs = {j.name: self._pool.submit(execute_notebook, *self._args(j, work, parameters), False, output=j.name)
                for j in sorted(jobs, key=lambda j: -TYPICAL_SECONDS.get(j.notebook, 10))}
        return [(j.name, futs[j.name]) for j in jobs]

    @staticmethod
    def collect(submitted: list[tuple[str, Future]], progress: bool) -> list[NotebookRun]:
        """The runs of :meth:`submit`'s jobs as they finish (a progress bar), returned in the order given."""
        for _ in tqdm(as_completed([f for _, f in submitted]), total=len(submitted), desc="notebooks",
                      disable=not progress):
            pass
        return [NotebookRun(**f.result()) for _, f in submitted]

    def run(self, jobs, work: Path, parameters: dict, progress: bool) -> list[NotebookRun]:
        """Run ``jobs`` (notebook names or :class:`Job`; longest first when parallel); results in their order."""
        jobs = [j if isinstance(j, Job) else Job(j) for j in jobs]
        if self._pool is None:
            self._started()
            if self._kernel is None and not self._kernel_error:
                self._kernel, self._kernel_error = _start_kernel(self.notebook_dir, parallel=False)
            if self._kernel is None:
                return [NotebookRun(j.name, status="failed", error=self._kernel_error) for j in jobs]
            return [NotebookRun(**execute_notebook(*self._args(j, work, parameters), progress, kernel=self._kernel,
                                                   output=j.name))
                    for j in tqdm(jobs, desc="notebooks", disable=not progress)]
        return self.collect(self.submit(jobs, work, parameters), progress)


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
                            shown=_Shown(params["_display"], params["_secrets"]))

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


BATCH_SNAPSHOT = "snapshot.duckdb"      # in a batch's cache folder: the data it validated (kam brief reuses them)
BATCH_SNAPSHOT_KEY = "snapshot.json"    # ... and what they were read with besides the files


def snapshot_key(tables: dict | None, columns: dict | None, read_options: dict | None, today: str | None) -> dict:
    """What a validated snapshot depends on besides its files (their fingerprint, in the cache folder's name):
    the table and column mapping, the reading options and the run date (``today``: dates after it are errors)."""
    key = {"tables": tables or {}, "columns": columns or {}, "read_options": read_options or {}}
    return {"read": json.loads(json.dumps(key, sort_keys=True, default=str)),
            "today": str(pd.Timestamp(today or dt.date.today()).date())}


def keep_snapshot(snapshot: Path, cache_dir: Path, key: dict) -> None:
    """Keep a successful batch's validated ``snapshot`` in its cache folder, with its :func:`snapshot_key`: a
    copy with the contacts' phone and e-mail masked (the reports folder never holds them as recorded; a brief
    that shows them in full validates the data again)."""
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
    (cache_dir / BATCH_SNAPSHOT_KEY).write_text(json.dumps({**key, "contact_details": "masked"}, indent=1,
                                                           ensure_ascii=False), encoding="utf-8")


def batch_snapshot(out_root: Path, month: str, data_dir: str | Path, params: dict, *, tables: dict | None,
                   columns: dict | None, read_options: dict | None, today: str | None) -> Path | None:
    """The cache folder of a successful batch of ``month`` in ``out_root`` on the same data files, parameters
    and reading, holding its validated snapshot and book tables; None when there is none, or when the brief
    shows contact details in full (the snapshot holds them masked). The fingerprint is taken from the files,
    nothing is validated. A batch validated with a later run date than ``today``
    is not reused (a row dated between the two would be an error now)."""
    from ..data.loading import folder_fingerprint
    from ..data.sources import is_database_url
    from .cache import MANIFEST
    if is_database_url(str(data_dir)) or not Path(data_dir).is_dir() or params.get("show_contact_details"):
        return None               # a database stays where it is; contact details in full are not in the snapshot
    try:
        fingerprint = folder_fingerprint(data_dir, tables=tables, **(read_options or {}))
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
    from ..data.loading import load_dataset
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
                # the pages' shared tables are computed by a worker beside the analysis notebooks
                ahead = runner.beside(manager_nb, params) if rendered else None
                # a page per manager from the shared tables, through one template (manager_pages): with workers,
                # a thread prepares the pages as soon as the tables are cached and queues them behind the
                # notebooks, so the workers never wait for the pages' preparation
                pages = _Pages(manager_nb, params, work, jobs, progress, runner.pool, ahead) if rendered else None
                run.notebooks = runner.run(first, work, params, progress)
                summaries = dict(params, metrics_dir=str(work / "metrics"))
                queued = runner.submit(last, work, summaries) if last and runner.pool is not None else None
                if pages is not None:
                    run.notebooks += [NotebookRun(**e) for e in pages.result()]
                if queued is not None:
                    run.notebooks += runner.collect(queued, progress)
                elif last:
                    run.notebooks += runner.run(last, work, summaries, progress)
                if all(r.status == "success" for r in run.notebooks):   # kept with the shared tables, for kam brief
                    keep_snapshot(snapshot, Path(params["cache_dir"]), snapshot_key(tables, columns, read_options, today))
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
        shown = _Shown(params["_display"], params["_secrets"])
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
    _Shown(params["_display"], params["_secrets"]).folder(work)
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
        shown = _Shown(p["_display"], p["_secrets"])
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
