"""Dates given as arguments — to the Python API, as notebook parameters, on the command line — read strictly.

Accepted: ``2026-10-31`` (or ``2026/10/31``), ``2026-10`` (the month's last day), ``2026年10月31日`` and
``2026年10月`` (the month's last day), or a date / datetime / Timestamp / Period object. Anything else is refused
with the forms accepted — in particular ``01/10/2026``, which is 1 October in China and Europe and 10 January in
the US. Errors name the argument (``analysis_date=...``), never the data files. (Dates *inside* data files
are read by :mod:`kamlib.data.readers`.)
"""
from __future__ import annotations

import datetime as dt
import re
import warnings

import pandas as pd

FORMS = "2026-10-31 (YYYY-MM-DD), 2026-10 (YYYY-MM: the month's last day) or 2026年10月31日"
_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})|(\d{4})年(\d{1,2})月")


class DateArgumentError(ValueError):
    """A date argument that cannot be read as one day, or that is out of range; the message names it."""


def _label(name: str, value) -> str:
    """How an error names the argument: ``analysis_date='01/10/2026'``, or ``--month 2026-13`` on the CLI."""
    return f"{name} {value}" if name.startswith("--") else f"{name}={value!r}"


def _today(today) -> pd.Timestamp:
    return pd.Timestamp(today or dt.date.today()).normalize()          # '' (a notebook parameter): today


def read_date(name: str, value, *, today=None, after_today: bool = False) -> pd.Timestamp:
    """``value`` as a day (midnight Timestamp); a month (``2026-10``, ``2026年10月``) is its last day.

    Refused, naming ``name``: forms other than those in :data:`FORMS` (ambiguous ones like ``01/10/2026``
    included), impossible days (``2026-02-30``), and — unless ``after_today`` — a day after ``today``
    (default: the real today)."""
    if isinstance(value, pd.Period):
        day = value.end_time.normalize()
    elif isinstance(value, (pd.Timestamp, dt.date)) and not pd.isna(value):
        day = pd.Timestamp(value).normalize()
    elif hasattr(value, "dtype") and str(getattr(value, "dtype", "")).startswith("datetime64") and value.ndim == 0:
        day = pd.Timestamp(value).normalize()
    elif isinstance(value, str):
        day = _parse(name, value.strip())
    else:
        raise DateArgumentError(f"{_label(name, value)} is not a date: give {FORMS}")
    if tz := getattr(day, "tz", None):
        raise DateArgumentError(f"{_label(name, value)} carries a time zone ({tz}): give the calendar day, {FORMS}")
    if not after_today and day > _today(today):
        raise DateArgumentError(f"{_label(name, str(day.date()))} is after today ({_today(today).date()}): the data cannot "
                                "know that day yet")
    return day


def _parse(name: str, text: str) -> pd.Timestamp:
    m = _DAY.fullmatch(text)
    try:
        if m:
            y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
            return pd.Timestamp(dt.date(y, mo, d))
        m = _MONTH.fullmatch(text)
        if m:
            y, mo = (int(g) for g in (m.groups()[:2] if m.group(1) else m.groups()[2:]))
            return pd.Period(dt.date(y, mo, 1), freq="M").end_time.normalize()
    except ValueError as e:      # month 13, 30 February
        why = f"there is no month {mo} (months are 01 to 12)" if not 1 <= mo <= 12 else f"not a real day ({e})"
        raise DateArgumentError(f"{_label(name, text)}: {why}") from None
    hint = (" (day and month could be either way round)" if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", text)
            else "")
    raise DateArgumentError(f"{_label(name, text)} is not a date kamlib reads{hint}: give {FORMS}")


def read_month(name: str, value, *, today=None) -> str:
    """``value`` as a month 'YYYY-MM' (``2026-10``, ``2026年10月``, a date or Period in it); the day of a full
    date is refused (a month was asked for)."""
    if isinstance(value, str) and not _MONTH.fullmatch(value.strip()):
        raise DateArgumentError(f"{_label(name, value)} is not of the form YYYY-MM (e.g. 2026-10) or 2026年10月")
    return str(pd.Period(read_date(name, value, today=today, after_today=True), freq="M"))


def check_against_data(name: str, day: pd.Timestamp, last_order, *, future_rows: str | None = None) -> None:
    """Compare an analysis or observation date with the data's last order: rows after ``day`` with
    ``future_rows='error'`` are refused naming ``future_rows='exclude'``; a ``day`` a whole calendar month or
    more after the last order (every account would look older and less alive) is warned about."""
    if last_order is None or pd.isna(last_order):
        return
    last = pd.Timestamp(last_order).normalize()
    if future_rows == "error" and last > day:
        month_end = pd.Period(day, freq="M").end_time.normalize()
        month_hint = (f", or {name}='{day:%Y-%m}' for the month's last day ({month_end.date()})"
                      if day != month_end else "")
        raise DateArgumentError(
            f"{name}={day.date()} is before the last order ({last.date()}): to analyse the book as of that day, "
            f"pass future_rows='exclude' (the later rows are left out and counted){month_hint}")
    if day > pd.Period(last, freq="M").end_time.normalize():
        warnings.warn(f"{name}={day.date()} is after the month of the data's last order ({last.date()}): every "
                      "account looks older and less likely alive than the data show; is that the date you meant?",
                      DateWarning, stacklevel=3)


class DateWarning(UserWarning):
    """A date argument that is allowed but probably not meant (far after the data's last order)."""
