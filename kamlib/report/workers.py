"""Notebooks run on warm kernels: the report runner's pool workers (each with one kernel started at once, so
the libraries are imported while the data are validated), one notebook's execution and rendering, and the
redaction of what a report may show of a run (the user's paths, no secret of the source)."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from .html import render_notebook

# typical run times on the bundled sample, to start the longest notebooks first when running in parallel
TYPICAL_SECONDS = {"02_customer_lifetime_value": 16, "05_account_manager_scorecard": 16,
                   "03_retention_vs_acquisition": 15, "04_segmentation_strategy": 14, "01_account_overview": 12,
                   "06_manager_portfolio": 3}


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


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in a notebook's cell tagged 'parameters'."""
    import ast
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return set()
    return {t.id for n in ast.parse(cell.source).body if isinstance(n, ast.Assign) for t in n.targets
            if isinstance(t, ast.Name)}


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
        _WORKER_KERNEL.fresh(parameters.get("_shared"))
        _WORKER_KERNEL.run_quietly("import json, pathlib\nfrom kamlib.report.manager_pages import prepare_tables\n"
                                   f"_nb, _p = json.loads({args!r})\nassert prepare_tables(pathlib.Path(_nb), _p)")
        return True
    except RuntimeError:
        return False
    finally:
        _WORKER_KERNEL.done()


def _notebook_then_tables(args: tuple, output: str, manager_notebook: str, parameters: dict) -> tuple[dict, bool]:
    """(Pool worker) a notebook (:func:`execute_notebook`'s ``args``), then the run's book tables in the same
    warm kernel (:func:`_tables_in_kernel`): after the CLV report, whose valuation the kernel keeps, the tables
    do not value the book again. Returns the notebook's NotebookRun dict and whether the tables were made."""
    return execute_notebook(*args, False, output=output), _tables_in_kernel(manager_notebook, parameters)


def _worker_ready() -> bool:
    return _WORKER_KERNEL is not None


class Redactor:
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
        pm.execute_notebook(str(src), str(out_nb), parameters=params, km=kernel.fresh(parameters.get("_shared")),
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
    shown = Redactor(parameters.get("_display", {}), parameters.get("_secrets", ()))
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

    def beside(self, manager_notebook: Path, parameters: dict, *, after: Job | None = None,
               work: Path | None = None):
        """With pool workers, a future computing the run's book tables into its cache in a worker's kernel
        (:func:`_tables_in_kernel`), submitted before the notebooks so that a worker takes it first; ``after``:
        a notebook that worker runs first, in ``work`` (the CLV report, whose valuation the tables reuse), and
        the future then gives its NotebookRun dict too (:func:`_notebook_then_tables`). None with one kernel
        (the pages compute the tables)."""
        if self._pool is None:
            return None
        if after is None:
            return self._pool.submit(_tables_in_kernel, str(manager_notebook), parameters)
        return self._pool.submit(_notebook_then_tables, self._args(after, work, parameters), after.name,
                                 str(manager_notebook), parameters)

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
