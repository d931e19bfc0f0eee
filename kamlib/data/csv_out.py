"""CSV files written in chunks by Arrow, byte for byte as ``DataFrame.to_csv(index=False, date_format="%Y-%m-%d")``
writes them (the sample generator's format, which the readers and the tests know): floats as Python's ``repr``
(``12.0``, ``-0.0``, ``5e-05``), missing values empty, dates as ``YYYY-MM-DD``, a field quoted only when it
holds a comma, a quote or a line break, ``\\n`` line ends, UTF-8.

Each chunk of rows is formatted and joined by Arrow compute kernels and written as one buffer, so a table of
tens of millions of rows is never turned into Python strings and only one chunk's text is held at a time.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

CHUNK_ROWS = 1_000_000
# Arrow's shortest round-trip text of a double is Python's repr without the trailing ".0" of whole numbers inside
# this range of magnitudes (outside it the two choose exponents differently): the rest are formatted by repr
_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e13


def _quoted_by_csv(char: str) -> bool:
    """Whether Python's csv module (pandas' writer) quotes a field holding ``char`` (a carriage return: by
    version)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([f"a{char}b"])
    return out.getvalue().startswith('"')


_QUOTED_CHARS = [c for c in ',"\n\r' if _quoted_by_csv(c)]
_NEEDS_QUOTES = "[" + "".join(re.escape(c) for c in _QUOTED_CHARS) + "]"
_STRUCTURAL = np.array([ord(c) for c in ',"\n\r'], np.uint8)     # what Arrow's writer refuses unquoted


def _floats(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    text = pc.cast(pa.array(values, from_pandas=True), pa.string())      # NaN -> null -> empty field
    with np.errstate(invalid="ignore"):
        whole = np.trunc(values) == values                               # "12" -> "12.0", "-0" -> "-0.0"
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    size = np.abs(values)
    odd = np.flatnonzero(np.isfinite(values) & (size != 0) & ((size < _PLAIN_LOW) | (size >= _PLAIN_HIGH))
                         | np.isinf(values))
    if odd.size:
        out = text.to_pylist()
        for j in odd:
            out[j] = repr(float(values[j]))
        text = pa.array(out, pa.string())
    return text


def _dates(values) -> pa.Array:
    """YYYY-MM-DD of each datetime (its day), formatted once per day of the column's range."""
    days = pd.DatetimeIndex(values).as_unit("s").to_numpy().astype("datetime64[D]")
    missing = np.isnat(days)
    if missing.all():
        return pa.nulls(days.size, pa.string())
    first, last = days[~missing].min(), days[~missing].max()
    if (last - first).astype(np.int64) > 4 * days.size:      # a few dates far apart: each formatted
        return pc.cast(pc.cast(pa.array(days, from_pandas=True), pa.date32()), pa.string())
    calendar = pc.cast(pc.cast(pa.array(np.arange(first, last + 1)), pa.date32()), pa.string())
    return calendar.take(pa.array((days - first).astype(np.int64), mask=missing))


def _column_text(series: pd.Series) -> tuple[pa.Array, bool]:
    """One column as Arrow text, each value as ``to_csv`` writes it (missing: null), and whether it is text
    of the data (which may need quotes) rather than formatted numbers or dates (which never do)."""
    kind = series.dtype.kind
    if isinstance(series.dtype, pd.DatetimeTZDtype) or kind == "M":
        return _dates(series), False
    if kind == "f":
        return _floats(series.to_numpy()), False
    if kind in "iu":
        return pc.cast(pa.array(series.to_numpy()), pa.string()), False
    if kind == "b":
        return pa.array(np.where(series.to_numpy(), "True", "False"), pa.string()), False
    arr = pa.array(series, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):                            # e.g. a column of concatenated frames
        arr = arr.combine_chunks()
    if pa.types.is_timestamp(arr.type):                             # Timestamps in an object column
        return _dates(series.to_numpy("datetime64[us]")), False
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if pa.types.is_null(arr.type):                                  # a part where every value is missing
        arr = arr.cast(pa.string())
    if not pa.types.is_string(arr.type):
        raise TypeError(f"column {series.name!r} of dtype {series.dtype} is not written by csv_out")
    return arr, True


def _plain(text: pa.Array) -> bool:
    """Whether no value holds a comma, a quote or a line break (a scan of the text buffer)."""
    data = text.buffers()[2] if len(text) else None
    return data is None or not np.isin(np.frombuffer(data, np.uint8), _STRUCTURAL).any()


def _quoted(text: pa.Array) -> pa.Array:
    needs = pc.fill_null(pc.match_substring_regex(text, _NEEDS_QUOTES), False)
    if not pc.any(needs).as_py():
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def _joined(texts: list[tuple[pa.Array, bool]]) -> pa.Buffer:
    """Rows of the columns' texts joined by commas, each ended by a newline, as one buffer."""
    columns = [c for c, _ in texts]
    if all(_plain(c) for c, data in texts if data):   # the common case: Arrow's writer, told never to quote
        out = pa.BufferOutputStream()
        pcsv.write_csv(pa.table(columns, names=[str(j) for j in range(len(columns))]), out,
                       pcsv.WriteOptions(include_header=False, quoting_style="none"))
        return out.getvalue()
    columns = [_quoted(c) for c in columns]
    rows = pc.binary_join_element_wise(*columns, ",", null_handling="replace", null_replacement="")
    rows = pc.binary_join_element_wise(rows, "", "\n")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return rows.buffers()[2][offsets[0]:offsets[-1]]


def _header(columns) -> bytes:
    names = [str(c) for c in columns]
    return (",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' if re.search(_NEEDS_QUOTES, c) else c for c in names)
            + "\n").encode()


def write_frame(frame: pd.DataFrame, sink: BinaryIO, *, header: bool = True, chunk_rows: int = CHUNK_ROWS) -> None:
    """Append ``frame`` to ``sink`` as CSV text (with its header line when ``header``), ``chunk_rows`` at a time."""
    if header:
        sink.write(_header(frame.columns))
    for lo in range(0, len(frame), chunk_rows):
        part = frame.iloc[lo:lo + chunk_rows]
        sink.write(_joined([_column_text(part[c]) for c in part.columns]))


def write_csv(frames: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path, *,
              chunk_rows: int = CHUNK_ROWS) -> Path:
    """Write one frame, or the consecutive parts of one table (the same columns), to ``path``."""
    parts = iter([frames] if isinstance(frames, pd.DataFrame) else frames)
    path = Path(path)
    with open(path, "wb") as sink:
        first = True
        for part in parts:
            write_frame(part, sink, header=first, chunk_rows=chunk_rows)
            first = False
    return path
