"""lifetimes' call shape, ``fit(frequency, recency, T)``, for the models that have one (docs/from-lifetimes.md).

kamlib's models fit a frame (:func:`kamlib.analysis.rfm.rfm_summary`) that carries its time unit. Arrays in
lifetimes' order are taken when the unit of ``recency`` and ``T`` is given (``time_unit``: ``"D"`` days,
``"W"`` weeks = days / 7, ``"M"``, ``"Y"``); otherwise the call is refused with the kamlib call to make.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# model class -> lifetimes' positional arguments, in order
SHAPES = {"BGNBD": ("frequency", "recency", "T"), "ParetoNBD": ("frequency", "recency", "T"),
          "MBGNBD": ("frequency", "recency", "T"),
          "GammaGamma": ("frequency", "monetary_value")}
NEEDS_UNIT = {"BGNBD", "ParetoNBD", "MBGNBD"}


def _kamlib_call(name: str) -> str:
    if name == "GammaGamma":
        return ("GammaGamma().fit(rfm) with rfm = kam.rfm_summary(transactions, observation_end='2026-10-31'), "
                "or GammaGamma().fit(frequency, monetary_value)")
    return (f"{name}().fit(rfm) with rfm = kam.rfm_summary(transactions, observation_end='2026-10-31', "
            f"time_unit='W'), or {name}().fit(frequency, recency, T, time_unit='D') giving the unit of recency "
            "and T ('D' days, 'W' weeks = days / 7, as lifetimes' freq='D', freq_multiplier=7)")


def frame_from_arrays(model, arrays: tuple, time_unit: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """(the kamlib input frame, weights) for lifetimes' positional arrays (a last extra array: the weights)."""
    name = type(model).__name__
    cols = SHAPES.get(name)
    if cols is None or len(arrays) not in (len(cols), len(cols) + 1):
        raise TypeError(f"{name}.fit: expected a DataFrame such as rfm_summary() returns; call "
                        + (_kamlib_call(name) if cols else f"{name}().fit(frame)"))
    unit = time_unit or model.time_unit
    if name in NEEDS_UNIT and unit is None:
        raise TypeError(f"{name}.fit(frequency, recency, T) is lifetimes' call shape and needs the unit of recency "
                        f"and T: {_kamlib_call(name)}")
    values = [np.asarray(a, dtype=float).ravel() for a in arrays]
    if len({len(v) for v in values}) != 1:
        raise ValueError(f"{name}.fit: {', '.join(cols)} must have the same length; got {[len(v) for v in values]}")
    index = arrays[0].index if isinstance(arrays[0], pd.Series) else None
    frame = pd.DataFrame(dict(zip(cols, values)), index=index)
    if unit:
        from ..data.aggregate import unit_days
        unit_days(unit)                                # refuses an unknown unit, listing the known ones
        frame.attrs["time_unit"] = unit
    return frame, (values[len(cols)] if len(values) > len(cols) else None)
