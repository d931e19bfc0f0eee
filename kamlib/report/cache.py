"""Results a batch computes once and its notebooks share (model fits, account tables), kept as data only: each
table a Parquet file, everything else (numbers, names, a fitted purchase model's parameters) in a JSON
manifest with the data fingerprint, the parameters and the kamlib version they were computed with. Nothing
in the cache is ever executed (no pickles): a reports folder on a shared drive cannot make the next analyst
run code. A cache whose manifest does not match (other data, parameters, kamlib version or layout), or that
cannot be read, is computed again and rewritten. A notebook run on its own (no cache folder) computes them
itself."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import typing
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")
MANIFEST = "manifest.json"
FORMAT = 1          # the layout of a cache entry; another layout is rebuilt


class CacheMismatch(ValueError):
    """A cache entry that cannot be used: written for other data, parameters or kamlib version, or unreadable."""


def cached(folder: str | Path | None, name: str, compute: Callable[..., T], *args, **kwargs) -> T:
    """``compute(*args, **kwargs)``, read from ``folder/name/`` when an earlier notebook of the run (or a batch
    before ``kam brief``) wrote it for the same data and parameters; written atomically, so parallel workers
    never read half an entry. ``compute`` returns a DataFrame or a dataclass of DataFrames, plain values and
    fitted purchase models (its return annotation names the dataclass)."""
    if not folder:
        return compute(*args, **kwargs)
    path = Path(folder) / name
    key = cache_key(compute, args, kwargs)
    try:
        return load(path, compute, key)
    except (CacheMismatch, OSError, ValueError, KeyError, TypeError):
        pass                   # missing, stale or damaged: computed again below
    value = compute(*args, **kwargs)
    save(path, value, key)
    return value


def cache_key(compute: Callable, args: tuple, kwargs: dict) -> dict:
    """What a cached value depends on: the function, the data fingerprint (of a Dataset argument), the other
    arguments, the kamlib version and the cache layout."""
    from .. import __version__
    fingerprint = [getattr(a, "fingerprint", None) for a in args if hasattr(a, "fingerprint")]
    other = [a for a in args if not hasattr(a, "fingerprint")]
    return {"function": f"{compute.__module__}.{compute.__qualname__}", "fingerprint": fingerprint,
            "parameters": json.loads(json.dumps({"args": other, "kwargs": kwargs}, sort_keys=True,
                                                default=_plain)),
            "kamlib_version": __version__, "format": FORMAT}


def _plain(value):
    """A JSON form of a parameter value (a dataclass such as a service policy as its fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **dataclasses.asdict(value)}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return repr(value)


def save(path: Path, value, key: dict) -> None:
    """Write ``value`` as Parquet files and a manifest into ``path`` (replacing it atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if isinstance(value, pd.DataFrame):
            fields = {"": _save_field(tmp, "value", value)}
        elif dataclasses.is_dataclass(value):
            fields = {f.name: _save_field(tmp, f.name, getattr(value, f.name)) for f in dataclasses.fields(value)}
        else:
            raise TypeError(f"the cache keeps DataFrames and dataclasses of them, not {type(value).__name__}")
        (tmp / MANIFEST).write_text(json.dumps({**key, "fields": fields}, indent=1, default=_plain),
                                    encoding="utf-8")
        old = path.parent / f".{path.name}.{os.getpid()}.old"
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(path: Path, compute: Callable, key: dict):
    """The value saved in ``path`` if its manifest matches ``key``; raises :class:`CacheMismatch` otherwise."""
    manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise CacheMismatch("the manifest is not a JSON object")
    differs = [k for k in key if manifest.get(k) != key[k]]
    if differs:
        raise CacheMismatch(f"computed with another {', '.join(differs)}")
    fields = manifest["fields"]
    if list(fields) == [""]:
        return _load_field(path, fields[""])
    kind = typing.get_type_hints(compute).get("return")
    if not dataclasses.is_dataclass(kind):
        raise CacheMismatch(f"{key['function']} does not name the dataclass it returns")
    names = [f.name for f in dataclasses.fields(kind)]
    if sorted(names) != sorted(fields):
        raise CacheMismatch("the cached fields are not those of " + kind.__name__)
    return kind(**{n: _load_field(path, fields[n]) for n in names})


def _save_field(folder: Path, name: str, value) -> dict:
    from ..models.base import FitResults
    if isinstance(value, pd.DataFrame):
        file = f"{name}.parquet"
        frame = value.copy()
        frame.attrs = {}
        nested = [c for c in frame.columns if frame[c].dtype == object
                  and frame[c].map(lambda v: isinstance(v, (dict, list))).any()]
        for c in nested:        # e.g. an action's details: kept as JSON text (Parquet would widen them)
            frame[c] = frame[c].map(lambda v: None if v is None else json.dumps(v, default=_plain))
        frame.to_parquet(folder / file)
        return {"kind": "frame", "file": file, "json_columns": nested,
                "attrs": json.loads(json.dumps(value.attrs, default=_plain))}
    if isinstance(value, FitResults):
        return {"kind": "fit", **fit_state(value)}
    if value is None or isinstance(value, (str, bool, int, float, np.integer, np.floating)):
        return {"kind": "value", "value": value.item() if isinstance(value, np.generic) else value}
    raise TypeError(f"the cache keeps tables, plain values and fitted models, not {type(value).__name__} "
                    f"({name})")


def _load_field(folder: Path, spec: dict):
    kind = spec["kind"]
    if kind == "frame":
        frame = pd.read_parquet(Path(folder) / spec["file"])
        for c in spec.get("json_columns", []):
            frame[c] = frame[c].map(lambda v: None if v is None else json.loads(v))
        frame.attrs = dict(spec.get("attrs") or {})
        return frame
    if kind == "fit":
        return fit_from_state(spec)
    if kind == "value":
        return spec["value"]
    raise CacheMismatch(f"unknown field kind {kind!r}")


def fit_state(results) -> dict:
    """A fitted purchase model as data: its model's key, time unit, estimates, covariance and fit statistics."""
    from ..analysis.clv import TRANSACTION_MODELS
    key = next((k for k, m in TRANSACTION_MODELS.items() if type(results.model) is m), None)
    if key is None:
        raise TypeError(f"the cache keeps fitted purchase models ({', '.join(TRANSACTION_MODELS)}), not "
                        f"{type(results.model).__name__}")
    return {"model": key, "time_unit": results.time_unit, "params": results.params.tolist(),
            "cov_log": np.asarray(results._cov_log, float).tolist(), "llf": results.llf, "nobs": results.nobs,
            "converged": results.converged, "iterations": results.iterations, "message": results.message}


def fit_from_state(state: dict):
    """The fitted model :func:`fit_state` describes (predictions and parameter draws as the original's)."""
    from ..analysis.clv import TRANSACTION_MODELS
    if state["model"] not in TRANSACTION_MODELS:
        raise CacheMismatch(f"unknown purchase model {state['model']!r}")
    model = TRANSACTION_MODELS[state["model"]](time_unit=state["time_unit"])
    return model.results_class(model, np.asarray(state["params"], float), np.asarray(state["cov_log"], float),
                               state["llf"], state["nobs"], state["converged"], state["iterations"],
                               state["message"])
