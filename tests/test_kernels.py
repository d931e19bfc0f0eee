"""Warm kernels: a notebook run after another one on the same kernel starts from a freshly started state."""
import json
import tempfile
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from kamlib.report.kernels import WarmKernel

# everything a notebook could leave behind, printed as JSON by the probe notebook
PROBE = """
import json, os, warnings
import matplotlib, matplotlib.pyplot as plt
print(json.dumps({"names": sorted(n for n in globals() if not n.startswith("_")),
                  "linewidth": matplotlib.rcParams["lines.linewidth"], "cwd": os.getcwd(),
                  "env": os.environ.get("KAM_LEAK"), "warning_filters": len(warnings.filters),
                  "figures": len(plt.get_fignums())}))
"""
POLLUTE = """
import os, warnings
import matplotlib, matplotlib.pyplot as plt
leaked = 1
matplotlib.rcParams["lines.linewidth"] = 7.0
os.environ["KAM_LEAK"] = "1"
warnings.simplefilter("error")
plt.figure()
os.chdir("/")
"""
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"


def _run(kernel: WarmKernel, tmp_path, *sources: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    try:
        return pm.execute_notebook(str(src), str(out), km=kernel.fresh(), progress_bar=False)
    finally:
        kernel.done()


def _probe(kernel, tmp_path) -> dict:
    nb = _run(kernel, tmp_path, PROBE)
    return json.loads(nb.cells[0].outputs[0]["text"]) | {"count": nb.cells[0].execution_count}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    k = WarmKernel(tmp_path_factory.mktemp("kernel-cwd"))
    yield k
    k.shutdown()


def test_next_notebook_starts_from_the_fresh_state(kernel, tmp_path):
    baseline = _probe(kernel, tmp_path)
    assert baseline["count"] == 1 and "leaked" not in baseline["names"] and baseline["env"] is None
    _run(kernel, tmp_path, POLLUTE)
    assert _probe(kernel, tmp_path) == baseline


def test_figures_are_shown_in_every_notebook(kernel, tmp_path):
    for _ in range(2):          # the second run comes after a clean slate
        nb = _run(kernel, tmp_path, PLOT)
        assert any("image/png" in o.get("data", {}) for o in nb.cells[0].outputs)


def test_a_dead_kernel_is_replaced(kernel, tmp_path):
    with pytest.raises(Exception):
        _run(kernel, tmp_path, "import os\nos._exit(1)")
    assert _probe(kernel, tmp_path)["count"] == 1


def test_a_kernel_gives_back_the_memory_of_the_notebook_it_ran(kernel, tmp_path):
    """Pandas string columns live in Arrow's allocator, which keeps freed pages: without releasing them an idle
    warm kernel holds the largest notebook's peak while the next one runs."""
    import psutil
    big = ("import pandas as pd\nframe = pd.DataFrame({'id': pd.Series([f'A{i:09d}' for i in range(3_000_000)], "
           "dtype='string[pyarrow]')})\nframe['name'] = frame['id'] + '-acct'\ntotal = len(frame)")
    process = psutil.Process(kernel.manager.provisioner.pid)
    _run(kernel, tmp_path, "x = 1")
    before = process.memory_info().rss
    nb = pm.execute_notebook(*_write(tmp_path, big, "import psutil, os\n"
                                               "print(psutil.Process(os.getpid()).memory_info().rss)"),
                             km=kernel.fresh(), progress_bar=False)
    peak = int(nb.cells[1].outputs[0]["text"])
    kernel.done()
    after = process.memory_info().rss
    assert peak - before > 150 * 2**20                   # the notebook held its frames
    assert after - before < 0.25 * (peak - before), (before >> 20, peak >> 20, after >> 20)


def _write(tmp_path, *sources: str) -> tuple[str, str]:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "mem.ipynb"
    nbformat.write(nb, src)
    return str(src), str(tmp_path / "mem-out.ipynb")


def test_kernels_talk_over_unix_sockets_and_remove_them(monkeypatch):
    with tempfile.TemporaryDirectory(prefix="rt") as runtime:   # short path: socket paths are limited
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", runtime)
        k = WarmKernel(runtime)
        assert k.manager.transport == "ipc" and k.manager.ip.startswith(runtime)
        assert len(list(Path(runtime).glob("kam-*"))) == 5           # shell, iopub, stdin, control, heartbeat
        k.shutdown()
        assert not list(Path(runtime).glob("kam-*"))


def test_a_runtime_directory_too_long_for_sockets_falls_back_to_tcp(monkeypatch, tmp_path):
    from kamlib.report.kernels import _local_sockets
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("x" * 100)))
    assert _local_sockets() == {}
    with tempfile.TemporaryDirectory(prefix="rt") as runtime:
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", runtime)
        assert _local_sockets()["transport"] == "ipc"


def _outputs(nb) -> list:
    """Cell outputs without what differs between any two runs (pandas Styler ids, object addresses)."""
    import re
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for kind, value in sorted(o.get("data", {}).items()) + [("text", o.get("text", ""))]:
                value = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                out.append((kind, re.sub(r"0x[0-9a-f]+", "0x", re.sub(r"T_[0-9a-f]{5}", "T_", value))))
    return out


def test_a_report_notebook_after_another_matches_a_fresh_kernel(small_dir, tmp_path):
    from kamlib.report.runner import NOTEBOOK_DIR
    params = {"data_dir": str(small_dir), "month": "2026-09"}
    nb = str(NOTEBOOK_DIR / "01_account_overview.ipynb")
    fresh = pm.execute_notebook(nb, str(tmp_path / "fresh.ipynb"), parameters=params, cwd=str(NOTEBOOK_DIR),
                                progress_bar=False)
    warm = WarmKernel(NOTEBOOK_DIR)
    try:
        for name in ("04_segmentation_strategy", "01_account_overview"):
            out = pm.execute_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                                      parameters=params, km=warm.fresh(), progress_bar=False)
            warm.done()
    finally:
        warm.shutdown()
    counts = [[c.execution_count for c in run.cells if c.cell_type == "code"] for run in (out, fresh)]
    assert counts[0] == counts[1]
    assert _outputs(out) == _outputs(fresh) and len(_outputs(fresh)) > 20
