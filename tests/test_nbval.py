"""The nbval set-up (`make nbval`): references for the notebooks, small and without images, and sanitizers that
remove what changes from run to run (the comparison itself runs in `make nbval`, not in the default suite)."""
import configparser
import re
import sys

import nbformat

from conftest import ROOT

NBVAL = ROOT / "tests" / "nbval"
sys.path.insert(0, str(NBVAL))
from refresh import NOTEBOOKS  # noqa: E402


def _sanitize(text: str) -> str:
    cfg = configparser.ConfigParser()
    cfg.read(NBVAL / "sanitize.cfg")
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    return text


def test_every_listed_notebook_has_a_small_reference_without_images():
    for name in NOTEBOOKS:
        assert (ROOT / "notebooks" / f"{name}.ipynb").exists(), name
        path = NBVAL / f"{name}.ipynb"
        assert path.stat().st_size < 400_000, name
        nb = nbformat.read(path, as_version=4)
        outputs = [o for c in nb.cells for o in c.get("outputs", [])]
        assert outputs, name                                           # an executed copy
        assert all(not v for o in outputs for m, v in o.get("data", {}).items() if m.startswith("image/")), name


def test_sanitizers_remove_ids_addresses_timings_and_paths():
    a = '<style>#T_1a2b3 td {}</style><table id="T_1a2b3"><pandas.io.formats.style.Styler at 0x7f3c2a1b9d10> 12.5 s'
    b = '<style>#T_9f8e7 td {}</style><table id="T_9f8e7"><pandas.io.formats.style.Styler at 0x7fa001c2e3f0> 3 s'
    assert _sanitize(a) == _sanitize(b)
    assert _sanitize("/work/main/data/sample") == _sanitize("/tmp/wt-33/data/sample")
    assert _sanitize("36 months, 12 accounts") == "36 months, 12 accounts"     # numbers in prose stay
