"""Results a batch computes once and its notebooks share (model fits, account tables): pickled under the run's
work folder, keyed by name. A notebook run on its own (no cache folder) computes them itself."""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def cached(folder: str | Path | None, name: str, compute: Callable[..., T], *args, **kwargs) -> T:
    """``compute(*args, **kwargs)``, read from ``folder/name.pickle`` when an earlier notebook of the run wrote
    it (written atomically, so parallel workers never read half a file)."""
    if not folder:
        return compute(*args, **kwargs)
    path = Path(folder) / f"{name}.pickle"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    value = compute(*args, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return value
