"""Warm Jupyter kernels for the batch: started once, heavy libraries imported once, many notebooks run.

A fresh kernel per notebook spends ~3 s of CPU importing pandas, matplotlib, seaborn, SciPy, Ibis and DuckDB
(a third of the monthly batch on the bundled sample). A :class:`WarmKernel` is reused for several
notebooks. Before each one :func:`clean_slate` runs inside the kernel: the user namespace is cleared
(``%reset -f``, with a new history session and the execution count back to 1), figures are closed, and
matplotlib settings, warning filters, environment and working directory are restored to their state after
start-up — so a notebook starts as in a new kernel; only imported modules are kept (like an IPython
startup file) and the model fits the notebooks of a run share (:mod:`kamlib.analysis.memo`, keyed by the
data set and the arguments). tests/test_kernels.py checks that nothing a notebook changes reaches the next one.

Both halves live here: the host side (``WarmKernel``, used by the report runner) and the kernel side
(``warm_up``, ``clean_slate``, executed inside the kernel).
"""
from __future__ import annotations

import importlib
import os
import uuid
import warnings
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync

# imported once per kernel; every notebook needs most of them
WARM_MODULES = ("numpy", "pandas", "matplotlib.pyplot", "seaborn", "scipy.stats", "scipy.optimize", "ibis",
                "duckdb", "IPython.display", "kamlib.report.notebook", "kamlib.report.widgets",
                "kamlib.analysis.overview", "kamlib.analysis.clv", "kamlib.analysis.economics",
                "kamlib.analysis.segmentation", "kamlib.analysis.scorecard", "kamlib.analysis.summary",
                "kamlib.figures.style", "kamlib.figures.overview", "kamlib.figures.clv", "kamlib.figures.economics",
                "kamlib.figures.segmentation", "kamlib.figures.scorecard")
_SETUP_TIMEOUT_S = 300
_MAX_SOCKET_PATH = 100   # Unix socket paths: 108 bytes on Linux, 104 on macOS
_KERNEL_RC = ("backend", "interactive")

_saved: dict = {}     # kernel side: the state clean_slate restores


# ---- kernel side --------------------------------------------------------------------------------------
def warm_up(modules: tuple[str, ...] = WARM_MODULES) -> None:
    """(In the kernel) import the heavy modules and remember the state each notebook must start from."""
    for name in modules:
        importlib.import_module(name)
    from ..analysis import memo
    memo.enable()        # the notebooks of a run share its model fits (same snapshot; see kamlib.analysis.memo)
    import matplotlib
    _saved.update(rc=matplotlib.rcParams.copy(), cwd=os.getcwd(), env=dict(os.environ),
                  warnings=list(warnings.filters))


def clean_slate(shared: str | None = None) -> None:
    """(In the kernel) give the next notebook the state of a freshly started kernel, modules aside; ``shared``:
    the run's folder for results its kernels share (:func:`kamlib.analysis.memo.share_in`)."""
    import matplotlib
    import matplotlib.pyplot as plt
    from IPython import get_ipython
    ip = get_ipython()
    ip.reset(new_session=True)    # %reset -f, a new history session and the execution count back to 1
    plt.close("all")
    with warnings.catch_warnings():          # rcParams copies include deprecated keys
        warnings.simplefilter("ignore")
        # backend and interactive mode belong to the kernel's inline integration (switched on with the
        # first figure); resetting them would stop figures from being shown
        matplotlib.rcParams.update({k: v for k, v in _saved["rc"].items() if k not in _KERNEL_RC})
    warnings.filters[:] = _saved["warnings"]
    os.environ.clear()
    os.environ.update(_saved["env"])
    os.chdir(_saved["cwd"])
    from ..analysis import memo
    memo.share_in(shared)
    release_memory()


def release_memory() -> None:
    """(In the kernel) give the memory of what is no longer referenced back to the system: the allocators of
    Arrow (pandas' string columns) and of glibc keep freed pages for reuse, so a warm kernel would otherwise
    hold the peak of the largest notebook it ran (~1 GB of 2 at 200k accounts) while the next runs."""
    import ctypes
    import gc
    import sys
    gc.collect()
    try:
        import pyarrow
        pyarrow.default_memory_pool().release_unused()
    except ImportError:
        pass
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):   # not glibc (musl)
            pass


# ---- host side ----------------------------------------------------------------------------------------
class _Manager(AsyncKernelManager):
    """Kernel manager that remembers the clients it hands out, so each notebook's client can be closed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._handed_out = []

    def client(self, **kwargs):
        c = super().client(**kwargs)
        self._handed_out.append(c)
        return c

    def close_clients(self) -> None:
        while self._handed_out:
            self._handed_out.pop().stop_channels()


def _local_sockets() -> dict:
    """Kernel manager settings for Unix sockets in Jupyter's runtime directory: no open TCP ports and no
    "running over TCP without encryption" warning (jupyter_client removes the sockets at shutdown). The
    path is absolute (the kernel runs in another directory); TCP when it would be too long for a socket."""
    runtime = Path(jupyter_runtime_dir())
    sockets = runtime / f"kam-{uuid.uuid4().hex[:12]}"
    if len(str(sockets)) > _MAX_SOCKET_PATH - 3:   # jupyter_client appends "-<n>"
        return {}
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {"transport": "ipc", "ip": str(sockets)}


class WarmKernel:
    """A kernel in ``cwd`` with :data:`WARM_MODULES` imported, reused for many notebooks.

    Pass ``kernel.manager`` to papermill (``km=``) after :meth:`fresh`; call :meth:`done` after each
    notebook and :meth:`shutdown` at the end. A kernel that died is replaced by a new one in :meth:`fresh`.
    """

    def __init__(self, cwd: str | Path, kernel_name: str = "python3"):
        self.cwd, self.kernel_name = str(cwd), kernel_name
        self.manager: _Manager | None = None
        self._control = None
        self._start()

    def _start(self) -> None:
        self.manager = _Manager(kernel_name=self.kernel_name, **_local_sockets())
        run_sync(self.manager.start_kernel)(cwd=self.cwd)
        self._control = self.manager.blocking_client()
        self._control.start_channels()
        self._control.wait_for_ready(timeout=_SETUP_TIMEOUT_S)
        self._run("__import__('kamlib.report.kernels').report.kernels.warm_up()")

    def _run(self, code: str) -> None:
        """Run set-up ``code``; RuntimeError naming the code when it fails."""
        self.run_quietly(code, timeout=_SETUP_TIMEOUT_S, what=f"kernel set-up failed running {code!r}: ")

    def run_quietly(self, code: str, timeout: float | None = None, what: str = "") -> None:
        """Run ``code`` in the kernel (e.g. a computation whose results the next notebooks reuse), its output
        discarded; RuntimeError ``what`` + the error (not the code, unless ``what`` names it) when it fails."""
        reply = self._control.execute_interactive(code, store_history=False, timeout=timeout,
                                                  output_hook=lambda msg: None)
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"{what}{content.get('ename')}: {content.get('evalue')}")

    def is_alive(self) -> bool:
        return self.manager is not None and bool(run_sync(self.manager.is_alive)())

    def fresh(self, shared: str | None = None) -> _Manager:
        """Clear the kernel for the next notebook (restarting it if it died); returns its manager. ``shared``:
        the folder where the run's kernels share results (see :func:`clean_slate`)."""
        if not self.is_alive():
            self.shutdown()
            self._start()
        self._run(f"__import__('kamlib.report.kernels').report.kernels.clean_slate({shared!r})")
        return self.manager

    def done(self) -> None:
        """After a notebook: the kernel cleared (:func:`clean_slate`, which releases the notebook's memory while
        the kernel waits for the next one) and the client the notebook opened closed."""
        if self.manager is None:
            return
        if self.is_alive():                  # one that died is restarted by the next fresh()
            try:
                self.run_quietly("__import__('kamlib.report.kernels').report.kernels.clean_slate()",
                                 timeout=_SETUP_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - e.g. it died just now: the same
                pass
        self.manager.close_clients()

    def kill(self) -> None:
        """Kill the kernel at once, without a word to it (a run being stopped); it runs in its own session, so
        its process group goes with it."""
        import signal
        pid = getattr(getattr(self.manager, "provisioner", None), "pid", None)
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self.manager, self._control = None, None

    def shutdown(self) -> None:
        if self.manager is None:
            return
        if self._control is not None:
            self._control.stop_channels()
        self.manager.close_clients()
        try:
            run_sync(self.manager.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is already gone needs no shutdown
            pass
        self.manager, self._control = None, None
