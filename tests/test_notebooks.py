"""Committed notebooks: a parameters cell with defaults, no stored outputs, no logic defined in cells."""
import ast

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    params = ast.parse(code[0].source)
    names = {t.id for node in params.body if isinstance(node, ast.Assign) for t in node.targets}
    assert {"data_dir", "month", "currency", "language", "metrics_path"} <= names
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "commit notebooks without outputs"
        tree = ast.parse(c.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defs, "logic belongs in kamlib, not in notebook cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path):
    """papermill must parse each parameter line (else it warns and its tooling misses the parameter)."""
    import papermill as pm
    nb = nbformat.read(path, as_version=4)
    params = ast.parse([c for c in nb.cells if c.cell_type == "code"][0].source)
    names = {t.id for node in params.body if isinstance(node, ast.Assign) for t in node.targets}
    assert names <= set(pm.inspect_notebook(str(path)))
