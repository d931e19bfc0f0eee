"""Argument checks at the public boundary, scikit-learn style: say what was expected and what was found.

Rates are fractions: a discount rate of 10 or a margin rate of 25 is almost certainly a percentage typed as a
number, and would silently turn into wrong money, so it is refused with the fix ("pass 0.10").
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


def _values(value) -> np.ndarray:
    return np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=float).ravel()


def fraction(name: str, value, *, upper: float = 1.0, allow_negative: bool = False):
    """A rate given as a fraction (0.10 for 10%). Values above ``upper`` that look like percentages are
    refused with the fraction to pass; NaN passes through (missing stays missing)."""
    v = _values(value)
    finite = v[np.isfinite(v)]
    if finite.size and finite.max() > upper:
        top = float(finite.max())
        hint = f": pass {top / 100:g}" if 1 < top <= 100 else ""
        raise ValueError(f"{name}={top:g} looks like a percentage{hint} (a fraction, at most {upper:g})"
                         if hint else f"{name}={top:g} is out of range: expected a fraction at most {upper:g}")
    if finite.size and not allow_negative and finite.min() < 0:
        raise ValueError(f"{name}={float(finite.min()):g} is negative: expected a fraction from 0 to {upper:g}")
    return value


def non_negative(name: str, value, *, integer: bool = False):
    """A length of time or a count: a finite number >= 0 (a whole number with ``integer=True``)."""
    v = _values(value)
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if integer and not (isinstance(value, numbers.Integral) or np.all(v == np.round(v))):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


def positive(name: str, value, *, integer: bool = False):
    """A window or a count that must be above 0 (a look-back of 0 days measures nothing)."""
    non_negative(name, value, integer=integer)
    if np.any(_values(value) <= 0):
        raise ValueError(f"{name} must be above 0, got {value!r}")
    return value


def _key(text) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def one_of(name: str, value, allowed, *, loose: bool = False):
    """``value`` if it is one of ``allowed``; otherwise an error listing them. With ``loose``, case and
    punctuation do not matter ('BG/NBD' is 'bgnbd') and the allowed spelling is returned."""
    allowed = list(allowed)
    if value in allowed:
        return value
    if loose:
        match = [a for a in allowed if _key(a) == _key(value)]
        if len(match) == 1:
            return match[0]
    shown = ", ".join(repr(a) for a in allowed[:30]) + (f" ... ({len(allowed)} in all)" if len(allowed) > 30 else "")
    raise ValueError(f"{name}={value!r} is not known; the valid ones are: {shown}")


def columns_of(name: str, names, frame: pd.DataFrame, what: str = "the table"):
    """``names`` if every one is a column of ``frame``; otherwise an error naming the missing ones and the
    columns there are."""
    names = [names] if isinstance(names, str) else list(names)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(map(repr, missing))} in {what}; its columns are: "
                         f"{', '.join(map(str, frame.columns))}")
    return names
