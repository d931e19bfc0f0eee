"""Results a batch kernel computes once for all the notebooks it runs (the churn-driver model, the book's CLV
valuation): several reports of a month fit the same model on the same validated snapshot, each in a cleared
namespace of the same warm kernel (:mod:`kamlib.report.kernels`), and one fit takes minutes on a large book.

Off unless a batch turns it on (:func:`enable`, called by the warm kernels of ``kam report``): an analyst's
session always computes. When on, a result is reused only for the same data set (fingerprint, source and
analysis date of the validated snapshot the batch opened) and the same arguments (a Series argument by its
content); the last :data:`KEEP` results of each kind are kept, and each caller gets its own copy of their
tables, so a notebook that changes a table in place does not change what the next one reads.

A result with a :class:`Shared` form (tables and numbers only: Parquet and JSON, never pickles) is also shared
between the run's kernels through a folder (:func:`share_in`, the run's private temporary folder): the first
kernel to need it computes it under a file lock and writes it; another that needs it meanwhile waits for the
lock and reads it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path
from typing import Callable, NamedTuple, TypeVar

import pandas as pd

T = TypeVar("T")
KEEP = 2
_enabled = False
_store: dict[str, list[tuple[tuple, object]]] = {}
_folder: Path | None = None


class Shared(NamedTuple):
    """How a kind of result is written to a folder and read back (data only)."""
    write: Callable[[object, Path], None]
    read: Callable[[Path], object]


def enable(on: bool = True) -> None:
    """Turn reuse on (a batch kernel) or off; off also forgets what was kept and stops sharing."""
    global _enabled
    _enabled = bool(on)
    if not _enabled:
        _store.clear()
        share_in(None)


def share_in(folder: str | Path | None) -> None:
    """Share results that have a :class:`Shared` form with the other kernels of the run through ``folder``
    (None: not shared)."""
    global _folder
    _folder = Path(folder) if folder else None


def content(series: pd.Series | None) -> str | None:
    """A key for a Series argument: a digest of its index, values and dtype."""
    if series is None:
        return None
    h = hashlib.sha256(pd.util.hash_pandas_object(series, index=True).to_numpy().tobytes())
    h.update(str(series.dtype).encode())
    return h.hexdigest()


def remembered(kind: str, ds, key: tuple, compute: Callable[[], T], kept_as: Callable[[T], T] | None = None,
               shared: Shared | None = None) -> T:
    """``compute()``, or (when on) a copy of the value kept for the same data set and ``key``; ``kept_as``: what
    of a value is kept (and returned), e.g. without a fit object as large as the data it was fitted on;
    ``shared``: its written form, for the other kernels of the run (:func:`share_in`)."""
    fingerprint = getattr(ds, "fingerprint", "")
    if not _enabled or not fingerprint:
        return compute()
    full = (fingerprint, getattr(ds, "source", ""), str(ds.analysis_date), key)
    kept = _store.setdefault(kind, [])
    for k, value in kept:
        if k == full:
            return _copy(value)
    def computed():
        value = compute()
        return kept_as(value) if kept_as is not None else value
    value = _through_folder(kind, full, computed, shared) if shared is not None and _folder else computed()
    kept.insert(0, (full, value))
    del kept[KEEP:]
    return _copy(value)


def _through_folder(kind: str, full: tuple, computed: Callable[[], T], shared: Shared) -> T:
    """The value of ``full`` as another kernel of the run wrote it, or computed (under the lock) and written."""
    try:
        import fcntl
    except ImportError:                            # no file locks (Windows): each kernel computes its own
        return computed()
    place = _folder / f"{kind}-{hashlib.sha256(repr(full).encode()).hexdigest()[:24]}"
    place.parent.mkdir(parents=True, exist_ok=True)
    with open(place.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # released when the file closes, also if this kernel dies
        if (place / "complete").exists():
            return shared.read(place)
        value = computed()
        shutil.rmtree(place, ignore_errors=True)  # a partial write of a kernel that died
        place.mkdir()
        shared.write(value, place)
        (place / "complete").touch()
        return value


def _copy(value):
    """The value with its own copies of its tables and dicts (fitted models are shared: they are not changed)."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _copy(getattr(value, f.name)) for f in dataclasses.fields(value)
                                             if f.init and isinstance(getattr(value, f.name),
                                                                      (pd.DataFrame, pd.Series, dict))})
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
