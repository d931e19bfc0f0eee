"""Results a batch kernel computes once for all the notebooks it runs (the churn-driver model, the book's CLV
valuation): several reports of a month fit the same model on the same validated snapshot, each in a cleared
namespace of the same warm kernel (:mod:`kamlib.report.kernels`), and one fit takes minutes on a large book.

Off unless a batch turns it on (:func:`enable`, called by the warm kernels of ``kam report``): an analyst's
session always computes. When on, a result is reused only for the same data set (fingerprint, source and
analysis date of the validated snapshot the batch opened) and the same arguments (a Series argument by its
content); the last :data:`KEEP` results of each kind are kept, and each caller gets its own copy of their
tables, so a notebook that changes a table in place does not change what the next one reads.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Callable, TypeVar

import pandas as pd

T = TypeVar("T")
KEEP = 2
_enabled = False
_store: dict[str, list[tuple[tuple, object]]] = {}


def enable(on: bool = True) -> None:
    """Turn reuse on (a batch kernel) or off; off also forgets what was kept."""
    global _enabled
    _enabled = bool(on)
    if not _enabled:
        _store.clear()


def content(series: pd.Series | None) -> str | None:
    """A key for a Series argument: a digest of its index, values and dtype."""
    if series is None:
        return None
    h = hashlib.sha256(pd.util.hash_pandas_object(series, index=True).to_numpy().tobytes())
    h.update(str(series.dtype).encode())
    return h.hexdigest()


def remembered(kind: str, ds, key: tuple, compute: Callable[[], T], kept_as: Callable[[T], T] | None = None) -> T:
    """``compute()``, or (when on) a copy of the value kept for the same data set and ``key``; ``kept_as``: what
    of a value is kept (and returned), e.g. without a fit object as large as the data it was fitted on."""
    fingerprint = getattr(ds, "fingerprint", "")
    if not _enabled or not fingerprint:
        return compute()
    full = (fingerprint, getattr(ds, "source", ""), str(ds.analysis_date), key)
    kept = _store.setdefault(kind, [])
    for k, value in kept:
        if k == full:
            return _copy(value)
    value = compute()
    value = kept_as(value) if kept_as is not None else value
    kept.insert(0, (full, value))
    del kept[KEEP:]
    return _copy(value)


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
