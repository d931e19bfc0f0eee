"""The README's Python API section runs as written, top to bottom, on the bundled sample; the public face."""
import re
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT


def _api_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Python API\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_readme_python_api_runs_as_written(monkeypatch):
    if not (ROOT / "data" / "sample" / "transactions.csv").exists():
        pytest.skip("the bundled sample is made by `make test` / `kam sample`")
    monkeypatch.chdir(ROOT)
    blocks = _api_blocks()
    assert len(blocks) >= 3
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md, Python API block {i + 1}", "exec"), ns)
    assert {"frequency", "recency", "T", "frequency_holdout"} <= set(ns["rfm"].columns)
    assert ns["bg"].converged and ns["bg"].nobs == len(ns["rfm"])
    assert ns["value"].frame["clv"].sum() > 0 and ns["value"].horizon_months == 36
    assert isinstance(ns["seg"].frame, pd.DataFrame) and len(ns["seg"].frame) > 0


def test_import_kamlib_gives_the_public_face():
    import kamlib as kam
    for name in ("load_dataset", "rfm_summary", "Dataset", "BGNBD", "ParetoNBD", "GammaGamma",
                 "ShiftedBetaGeometric", "concentration", "segmentation", "economics", "scorecard", "cohorts",
                 "survival", "service", "clv", "overview", "summary", "models"):
        assert getattr(kam, name) is not None, name
        assert name in dir(kam)
    assert kam.clv.__name__ == "kamlib.analysis.clv" and kam.BGNBD is kam.models.BGNBD
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        kam.nothing


def test_import_kamlib_is_lazy():
    code = "import sys, kamlib; print(any(m in sys.modules for m in ('pandas', 'duckdb', 'ibis', 'kamlib.analysis')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_analysis_modules_import_by_their_short_names():
    import importlib
    import sys

    import kamlib
    survival = importlib.import_module("kamlib.survival")
    assert survival is sys.modules["kamlib.analysis.survival"] and survival.__spec__.name == "kamlib.analysis.survival"
    from kamlib.segmentation import whitespace
    assert whitespace.__module__ == "kamlib.analysis.segmentation" and kamlib.survival is survival
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("kamlib.nothing")
