"""Finding and reading the tables of a data folder as they are exported: CSV in any common encoding (UTF-8,
UTF-8 with BOM, GBK / GB18030, UTF-16), gzip CSV, Parquet and Excel (a file per table, or one workbook with a
sheet per table). Every file is read as it is — all columns as text for CSV and Excel — into a DuckDB table;
validation parses it (:mod:`kamlib.data.schema`).
"""
from __future__ import annotations

import codecs
import datetime as dt
import gzip
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .aliases import header_key
from .schema import TABLES, DataValidationError

SUFFIXES = (".csv.gz", ".parquet", ".csv", ".xlsx")
# files named like a table that kamlib cannot read: an error naming the fix, never skipped
UNREADABLE = {".xls": "an old Excel format", ".xlsm": "an Excel file with macros", ".et": "a WPS spreadsheet",
              ".numbers": "a Numbers spreadsheet", ".tsv": "tab-separated text", ".txt": "a text file"}
SAVE_AS = "save it as .xlsx or as 'CSV UTF-8' from Excel"
_SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class TableFile:
    """Where one table is: a file, and the sheet of a workbook (None: the file's only or first sheet)."""

    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return self.path.name + (f" [sheet {self.sheet}]" if self.sheet else "")

    @property
    def kind(self) -> str:
        return "xlsx" if self.path.suffix.lower() == ".xlsx" else \
            "parquet" if self.path.suffix.lower() == ".parquet" else "csv"


def _split(name: str) -> tuple[str, str]:
    low = name.lower()
    for suffix in (*SUFFIXES, *UNREADABLE):
        if low.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook
    try:
        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as e:  # noqa: BLE001 - a damaged workbook is named, not skipped
        raise DataValidationError(f"cannot be read as an Excel workbook ({e}); {SAVE_AS}",
                                  table="data", source=str(path)) from None


def find_table(folder: Path, table: str, file_name: str | None = None) -> TableFile | None:
    """The file (or workbook sheet) holding ``table`` in ``folder``: named like the table or like
    ``file_name`` (``data.tables`` in kam.yaml), ignoring case; a sheet so named in a workbook of the folder.
    Two candidates, or a file in a format kamlib cannot read, are errors."""
    wanted = {header_key(table)} | ({header_key(file_name)} if file_name else set())
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    found = []
    for p in files:
        stem, suffix = _split(p.name)
        if header_key(stem) not in wanted:
            continue
        if suffix in UNREADABLE:
            raise DataValidationError(f"is {UNREADABLE[suffix]}, which cannot be read; {SAVE_AS}", table=table,
                                      source=str(p))
        if suffix:
            found.append(TableFile(p))
    if not found:
        for p in files:
            if _split(p.name)[1] == ".xlsx" and header_key(_split(p.name)[0]) not in _TABLE_KEYS:
                found += [TableFile(p, s) for s in sheet_names(p) if header_key(s) in wanted]
    if len(found) > 1:
        raise DataValidationError(f"more than one file holds this table ({', '.join(f.label for f in found)}); "
                                  "keep one", table=table, source=str(folder))
    return found[0] if found else None


_TABLE_KEYS = {header_key(t) for t in TABLES}    # a workbook named like a table is that table's file


# --- CSV encodings -------------------------------------------------------------------------------------

def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def detect_encoding(path: Path) -> str:
    """The encoding of a CSV file: from its byte-order mark; else UTF-8 when its start decodes as UTF-8; else
    GB18030 (the superset of GB2312 and GBK, Excel's default on Chinese Windows) when its non-ASCII bytes read
    as such; else charset-normalizer's guess."""
    with _open_bytes(path) as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if len(head) == _SNIFF_BYTES and b"\n" in head:      # whole lines only: no character cut in two
        head = head[: head.rfind(b"\n") + 1]
    if _mostly_gb18030(head):
        return "gb18030"
    from charset_normalizer import from_bytes
    best = from_bytes(head).best()
    if best is not None:
        return best.encoding
    raise DataValidationError(f"the text encoding cannot be recognised; {SAVE_AS}, or set data.encoding in "
                              "kam.yaml", table="data", source=str(path))


def _mostly_gb18030(head: bytes) -> bool:
    """True when the non-ASCII bytes read as GB18030 with at most a stray error (a damaged GBK file is still
    GBK: reading it so names the damaged byte)."""
    high = sum(b >= 0x80 for b in head)
    bad = head.decode("gb18030", errors="replace").count("\ufffd")
    return high > 0 and bad <= max(1, high // 200)


def to_utf8(path: Path, encoding: str, folder: Path) -> Path:
    """A UTF-8 copy of a CSV file in ``folder``; undecodable bytes are an error naming offset and line."""
    out = folder / (path.name.removesuffix(".gz") if path.name.lower().endswith(".gz") else path.name)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset, lines = 0, 1
    with _open_bytes(path) as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            try:
                dst.write(decoder.decode(chunk))
            except UnicodeDecodeError as e:
                at = offset + e.start
                line = lines + chunk[: e.start].count(b"\n")
                raise DataValidationError(
                    f"cannot be decoded as {encoding} at byte {at} (line {line}); {SAVE_AS}, or set "
                    "data.encoding in kam.yaml (e.g. gb18030, utf-8, utf-16)", table="data",
                    source=str(path)) from None
            offset += len(chunk)
            lines += chunk.count(b"\n")
        dst.write(decoder.decode(b"", final=True))
    return out


# --- Excel ---------------------------------------------------------------------------------------------

def _cell_text(v) -> str | None:
    """An Excel cell as the text a CSV export would hold: dates ISO, whole numbers without '.0'."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def read_xlsx(tf: TableFile) -> pd.DataFrame:
    """A sheet as a frame of text (header from its first non-empty row); Excel date cells become ISO dates."""
    from python_calamine import CalamineWorkbook
    try:
        wb = CalamineWorkbook.from_path(str(tf.path))
        rows = wb.get_sheet_by_name(tf.sheet or wb.sheet_names[0]).to_python(skip_empty_area=True)
    except Exception as e:  # noqa: BLE001
        raise DataValidationError(f"cannot be read as an Excel workbook ({e}); {SAVE_AS}", table="data",
                                  source=str(tf.path)) from None
    if not rows:
        return pd.DataFrame()
    header = [_cell_text(h) or f"column{i + 1}" for i, h in enumerate(rows[0])]
    body = np.array(rows[1:], dtype=object).reshape(-1, len(header))
    to_text = np.frompyfunc(_cell_text, 1, 1)
    frame = pd.DataFrame({h: pd.array(to_text(body[:, i]) if len(body) else [], dtype=object)
                          for i, h in enumerate(header)})
    return frame.astype(object).where(frame.notna(), None)


# --- into DuckDB ---------------------------------------------------------------------------------------

def read_into(con: duckdb.DuckDBPyConnection, tf: TableFile, target: str, *, encoding: str | None = None) -> None:
    """Create the table ``target`` holding the file as it is (CSV and Excel: every column as text)."""
    scratch = None
    try:
        if tf.kind == "parquet":
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM read_parquet('{_sql_path(tf.path)}')")
        elif tf.kind == "xlsx":
            frame = read_xlsx(tf)
            con.register("_kam_sheet", frame)
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM _kam_sheet")
            con.unregister("_kam_sheet")
        else:
            enc = (encoding or detect_encoding(tf.path)).lower()
            path = tf.path
            if enc not in ("utf-8", "utf8", "utf-8-sig"):
                scratch = Path(tempfile.mkdtemp(prefix="kam-csv-"))
                path = to_utf8(tf.path, enc, scratch)
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM read_csv('{_sql_path(path)}', header=true, "
                        "all_varchar=true)")
    except duckdb.InvalidInputException as e:
        msg = str(e)
        if "unicode" in msg.lower():
            line = msg.split("Line:")[1].split()[0] if "Line:" in msg else "?"
            raise DataValidationError(f"is not UTF-8 text (first bad byte near line {line}); {SAVE_AS}, or set "
                                      "data.encoding in kam.yaml (e.g. gb18030)", table="data",
                                      source=str(tf.path)) from None
        raise DataValidationError(f"cannot be read: {msg.splitlines()[0]}", table="data",
                                  source=str(tf.path)) from None
    except duckdb.Error as e:
        raise DataValidationError(f"cannot be read: {str(e).splitlines()[0]}", table="data",
                                  source=str(tf.path)) from None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _sql_path(path: Path) -> str:
    return path.as_posix().replace("'", "''")
