"""kamlib: key-account analytics — validated data, CLV models, segmentation, economics, reports.

``import kamlib as kam`` is the one public face::

    ds = kam.load_dataset("data/sample", analysis_date="2026-10-31")
    rfm = kam.rfm_summary(ds.transactions, observation_end="2026-10-31")
    bg = kam.BGNBD().fit(rfm)
    kam.concentration.concentration_metrics(...)

The package is laid out as the floors of the data flow, each importing only from the floors below it:

- ``text``      translations (one data file per language) and locale formats
- ``data``      reading and validation, the DuckDB engine, the Ibis aggregation layer, ``Dataset``, the sample
- ``models``    purchase, spend and retention models over one fitting core (results objects)
- ``analysis``  rfm, clv, economics, cohorts, survival, concentration, segmentation, service, scorecard,
                overview, summary and the headline-metric glossary: pure, no notebooks
- ``figures``   one module per report over one shared style
- ``report``    the papermill runner, warm kernels, HTML / PDF, the notebook context, widgets
- ``cli``, ``config``  the ``kam`` command and ``kam.yaml``

Modules are imported on first use, so ``import kamlib`` stays fast. The analysis modules can also be imported
by their short names (``import kamlib.survival``, ``from kamlib.clv import model_check``); ``kam.actions``
(this month's actions) and ``kam.portfolio`` (manager portfolios, account briefs) are the key-account loop;
``kam.findings`` chooses the decision memo's findings.

In a notebook (or wherever matplotlib is already imported) ``import kamlib`` sets the report style with a CJK
font, so Chinese account names draw as text in one's own charts too; ``kam.use_style("zh")`` puts the CJK font
first for Chinese labels.
"""
from __future__ import annotations

import sys
import types
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.util import spec_from_loader

__version__ = "0.1.0"

# public name -> module defining it (imported on first access)
_NAMES = {
    "Dataset": "kamlib.data.dataset",
    "DataQuality": "kamlib.data.schema",
    "DataValidationError": "kamlib.data.schema",
    "load_dataset": "kamlib.data.loading",
    "rfm_summary": "kamlib.analysis.rfm",
    "MetricsRecorder": "kamlib.analysis.metrics",
    "BGNBD": "kamlib.models",
    "ParetoNBD": "kamlib.models",
    "MBGNBD": "kamlib.models",
    "GammaGamma": "kamlib.models",
    "ShiftedBetaGeometric": "kamlib.models",
    "use_style": "kamlib.figures.style",
}
ANALYSES = ("rfm", "clv", "economics", "cohorts", "survival", "concentration", "segmentation", "service",
            "scorecard", "overview", "summary", "metrics", "actions", "portfolio", "findings")
_MODULES = {**{name: f"kamlib.analysis.{name}" for name in ANALYSES},
            **{name: f"kamlib.{name}" for name in ("models", "text", "data", "analysis", "figures", "report",
                                                    "cli", "config")}}

__all__ = ["__version__", *_NAMES, *_MODULES]


class _ShortNames(MetaPathFinder, Loader):
    """``import kamlib.<analysis>`` gives the module ``kamlib.analysis.<analysis>`` itself."""

    def find_spec(self, fullname, path=None, target=None):
        short = fullname.removeprefix("kamlib.")
        if fullname.startswith("kamlib.") and short in ANALYSES:
            return spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return types.ModuleType(spec.name)        # a placeholder: exec_module puts the real module in its place

    def exec_module(self, module) -> None:
        # the import system returns what sys.modules holds under the name after this call
        sys.modules[module.__name__] = import_module(_MODULES[module.__name__.removeprefix("kamlib.")])


if not any(isinstance(f, _ShortNames) for f in sys.meta_path):
    sys.meta_path.append(_ShortNames())


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(import_module(_NAMES[name]), name)
    elif name in _MODULES:
        value = import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'kamlib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if "ipykernel" in sys.modules or "matplotlib" in sys.modules:      # one's own charts draw Chinese names too
    import_module("kamlib.figures.style").use_style("en")
