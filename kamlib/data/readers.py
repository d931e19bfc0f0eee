"""Finding and reading the tables of a data folder as they are exported: CSV in any common encoding (UTF-8,
UTF-8 with BOM, GBK / GB18030, UTF-16), gzip CSV, Parquet and Excel (a file per table, or one workbook with a
sheet per table). Every file is read as it is — all columns as text for CSV and Excel — into a DuckDB table;
validation parses it (:mod:`kamlib.data.schema`).
"""
from __future__ import annotations

import codecs
import datetime as dt
import gzip
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
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
# CSV as Excel writes it, not guessed: DuckDB's sniffer takes a file with one ragged line for a one-column
# file and drops lines that start with '#' as comments
CSV_DIALECT = "delim=',', quote='\"', escape='\"', comment='', strict_mode=true"


@dataclass(frozen=True)
class TableFile:
    """Where one table is: a file, and the sheet of a workbook (None: the file's only or first visible sheet);
    ``others``: the workbook's other visible sheets (named in messages)."""

    path: Path
    sheet: str | None = None
    others: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.path.name + (f" [sheet {self.sheet}]" if self.sheet else "")

    @property
    def kind(self) -> str:
        return "xlsx" if self.path.suffix.lower() == ".xlsx" else \
            "parquet" if self.path.suffix.lower() == ".parquet" else "csv"


@dataclass
class Found:
    """The files of a folder by table, the problems finding them, and notes for the data-quality summary
    (files that match no table, hidden sheets not read)."""

    files: dict[str, TableFile] = field(default_factory=dict)
    problems: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _split(name: str) -> tuple[str, str]:
    low = name.lower()
    for suffix in (*SUFFIXES, *UNREADABLE):
        if low.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


# a copy or an older / newer version of a table's file or sheet: 'transactions (1)', '销售明细 - 副本',
# 'transactions_old', 'transactions 2026-10' (compared as header keys: no spaces, case folded)
_VARIANT = r"(\(\d+\)|（\d+）|-?副本(\(\d+\))?|-?copy(\(\d+\))?|[-_.]?(old|bak|backup|new|备份|旧|新|\d{1,2}|" \
           r"\d{4}[-_.]?\d{2}([-_.]?\d{2})?))"


def _matches(key: str, wanted: set[str]) -> str | None:
    """'exact' when ``key`` names a wanted table, 'variant' when it names a copy of one, else None."""
    if key in wanted:
        return "exact"
    if any(re.fullmatch(re.escape(w) + _VARIANT, key) for w in wanted):
        return "variant"
    return None


def sheets(path: Path) -> list[tuple[str, bool]]:
    """(name, visible) of every worksheet of a workbook, in order."""
    from python_calamine import CalamineWorkbook
    try:
        meta = CalamineWorkbook.from_path(str(path)).sheets_metadata
    except Exception as e:  # noqa: BLE001 - a damaged workbook is named, not skipped
        raise DataValidationError(f"cannot be read as an Excel workbook ({e}); {SAVE_AS}",
                                  table="data", source=str(path)) from None
    return [(m.name, str(m.visible).rsplit(".", 1)[-1].lower() == "visible") for m in meta]


def _size(tf: TableFile) -> str:
    """When a file was saved and how many rows it holds, for naming look-alike files."""
    day = dt.datetime.fromtimestamp(tf.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    try:
        if tf.kind == "csv":
            with _open_bytes(tf.path) as f:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1
        elif tf.kind == "parquet":
            rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{_sql_path(tf.path)}')").fetchone()[0]
        else:
            rows = max(len(_sheet_rows(tf)) - 1, 0)
    except Exception:  # noqa: BLE001 - only for the message
        return f"saved {day}"
    return f"saved {day}, {rows:,} rows"


def find_tables(folder: Path, names: dict[str, str | None]) -> Found:
    """The file (or workbook sheet) of each table in ``names`` ({table: its file name from ``data.tables``
    or None}): a file named like the table (or like its ``data.tables`` name, which then comes first) in any
    case, or a visible sheet so named in a workbook of the folder; in a file of its own, the sheet named like
    the table, else the first visible sheet. Hidden sheets are read only when ``data.tables`` names them.
    Several candidates (``transactions.csv`` and ``transactions (1).csv``), or a file in a format kamlib
    cannot read, are problems naming them; files that match no table are noted."""
    out = Found()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    keys = {p: header_key(_split(p.name)[0]) for p in files}
    table_keys = {header_key(t) for t in (*names, *TABLES)} | {header_key(f) for f in names.values() if f}
    books = {p: None for p in files if _split(p.name)[1] == ".xlsx" and keys[p] not in table_keys}
    used: set[Path] = set()
    for table, file_name in names.items():
        try:
            tf = _find_one(folder, files, keys, books, table, file_name, out.notes)
        except DataValidationError as e:
            out.problems.append(e)
            continue
        if tf is not None:
            out.files[table] = tf
            used.add(tf.path)
    for p in files:
        if p in used:
            continue
        out.notes.append(f"{p.name}: matches no table, not read (name it in data.tables of kam.yaml to read it)")
    out.notes = list(dict.fromkeys(out.notes))
    return out


def _find_one(folder, files, keys, books, table, file_name, notes) -> TableFile | None:
    for exact, wanted in ([(True, {header_key(file_name)})] if file_name else []) + [(False, {header_key(table)})]:
        found, unreadable = [], []
        for p in files:
            how = _matches(keys[p], wanted)
            if how is None or (exact and how != "exact"):
                continue
            suffix = _split(p.name)[1]
            if suffix in UNREADABLE:
                unreadable.append(p)
            elif suffix:
                found.append(_in_file(p, table, file_name, notes))
        if unreadable and not found:
            p = unreadable[0]
            raise DataValidationError(f"is {UNREADABLE[_split(p.name)[1]]}, which cannot be read; {SAVE_AS}",
                                      table=table, source=str(p))
        if not found:
            for p in books:
                if books[p] is None:
                    books[p] = sheets(p)
                named = [(n, visible) for n, visible in books[p]
                         if (_matches(header_key(n), wanted) == "exact" if exact else _matches(header_key(n), wanted))
                         and (visible or header_key(n) == header_key(file_name or ""))]
                hidden = [n for n, visible in books[p] if not visible and _matches(header_key(n), wanted)
                          and (n, visible) not in named]
                notes += [f"{p.name}: hidden sheet '{n}' not read (name it in data.tables of kam.yaml to read it)"
                          for n in hidden]
                found += [TableFile(p, n) for n, _ in named]
        if len(found) > 1:
            listed = "; ".join(f"{f.label} ({_size(f)})" for f in found)
            raise DataValidationError(
                f"{len(found)} files or sheets could be this table: {listed}; keep one in the folder (move the others "
                f"out), or name the one to read in kam.yaml (data.tables: {{{table}: <file or sheet name>}})",
                table=table, source=str(folder))
        if found:
            return found[0]
    return None


def _in_file(p: Path, table: str, file_name: str | None, notes: list[str]) -> TableFile:
    """A table's own file; for a workbook, the sheet to read: the one named like ``file_name`` (also hidden)
    or the table, else the first visible sheet; its other visible sheets are kept for messages."""
    if _split(p.name)[1] != ".xlsx":
        return TableFile(p)
    book = sheets(p)
    visible = [n for n, v in book if v]
    named = [n for n, _ in book if file_name and header_key(n) == header_key(file_name)] or \
            [n for n in visible if header_key(n) == header_key(table)]
    if not visible and not named:
        raise DataValidationError("has no visible sheet; unhide the sheet to read or name it in data.tables of "
                                  "kam.yaml", table=table, source=str(p))
    sheet = (named or visible)[0]
    notes += [f"{p.name}: hidden sheet '{n}' not read (name it in data.tables of kam.yaml to read it)"
              for n, v in book if not v and n != sheet]
    return TableFile(p, sheet if len(book) > 1 else None, tuple(n for n in visible if n != sheet))


_TABLE_KEYS = {header_key(t) for t in TABLES}    # a workbook named like a table is that table's file


def find_table(folder: Path, table: str, file_name: str | None = None) -> TableFile | None:
    """The file (or workbook sheet) of one table (:func:`find_tables`); problems are raised."""
    found = find_tables(folder, {table: file_name})
    if found.problems:
        raise found.problems[0]
    return found.files.get(table)


# --- CSV encodings -------------------------------------------------------------------------------------

def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def detect_encoding(path: Path) -> str:
    """The encoding of a CSV file: from its byte-order mark; else UTF-8 when its start decodes as UTF-8; else
    GB18030 (the superset of GB2312 and GBK, Excel's default on Chinese Windows) or Big5 (cp950: Taiwan and
    Hong Kong), whichever reads as common Chinese text (:func:`plausibility`); else charset-normalizer's
    guess."""
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
    chinese = [enc for enc in ("gb18030", "cp950") if _decodes(head, enc)]
    if chinese:      # GBK and Big5 bytes overlap: the decoding that reads as common Chinese text wins
        return max(chinese, key=lambda enc: plausibility(head.decode(enc, errors="replace")))
    from charset_normalizer import from_bytes
    best = from_bytes(head).best()
    if best is not None:
        return best.encoding
    raise DataValidationError(f"the text encoding cannot be recognised; {SAVE_AS}, or set data.encoding in "
                              "kam.yaml", table="data", source=str(path))


def _decodes(head: bytes, encoding: str) -> bool:
    """True when the non-ASCII bytes read in ``encoding`` with at most a stray error (a damaged GBK file is
    still GBK: reading it so names the damaged byte)."""
    high = sum(b >= 0x80 for b in head)
    bad = head.decode(encoding, errors="replace").count("\ufffd")
    return high > 0 and bad <= max(1, high // 200)


def _common(ch: str) -> bool:
    """A character of everyday Chinese: GB2312 level 1 (the 3,755 commonest simplified characters) or
    Big5's frequently used characters (5,401 traditional)."""
    for enc, lo, hi in (("gb2312", 0xB0A1, 0xD7FE), ("big5", 0xA440, 0xC67E)):
        try:
            b = ch.encode(enc)
        except UnicodeEncodeError:
            continue
        if len(b) == 2 and lo <= (b[0] << 8 | b[1]) <= hi:
            return True
    return False


def plausibility(text: str) -> float:
    """The share of the non-ASCII characters of ``text`` that are everyday Chinese (1.0 for Chinese read in
    its encoding; text decoded in the wrong one reads as rare characters and symbols, ~0.3-0.6)."""
    wide = [c for c in text if ord(c) >= 0x80 and not c.isspace() and c not in "\ufeff，。：；（）、·￥¥"]
    return sum(map(_common, wide)) / len(wide) if wide else 1.0


def looks_garbled(headers: list[str]) -> bool:
    """Headers that look like text decoded in the wrong encoding (mostly rare characters, or mojibake of
    UTF-8 read as a single-byte encoding)."""
    text = "".join(headers)
    wide = [c for c in text if ord(c) >= 0x80]
    if len(wide) < 2:
        return False
    latin = sum(0xC0 <= ord(c) <= 0x2FF for c in wide) / len(wide)
    return "\ufffd" in text or latin > 0.5 or plausibility(text) < 0.7


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


def _sheet_rows(tf: TableFile) -> list[list]:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(tf.path))
    return wb.get_sheet_by_name(tf.sheet or wb.sheet_names[0]).to_python(skip_empty_area=True)


def read_xlsx(tf: TableFile) -> pd.DataFrame:
    """A sheet as a frame of text (header from its first non-empty row); Excel date cells become ISO dates.
    Formula cells without a saved value (a file written by a program that does not calculate) are an error
    naming a cell and the fix."""
    try:
        rows = _sheet_rows(tf)
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
    frame = frame.astype(object).where(frame.notna(), None)
    if frame.isna().to_numpy().any():
        _check_formulas(tf)
    return frame


_FORMULA_WITHOUT_VALUE = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)'
                                    rb'(?:<v\s*/>|<v></v>)?</c>')


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> str:
    """The path inside the .xlsx of a sheet's XML (the first sheet when ``sheet`` is None)."""
    import xml.etree.ElementTree as ET
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    entries = ET.fromstring(book.read("xl/workbook.xml")).findall("m:sheets/m:sheet", ns)
    entry = next(e for e in entries if sheet is None or e.get("name") == sheet)
    rid = entry.get(f"{{{ns['r']}}}id")
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _check_formulas(tf: TableFile) -> None:
    try:
        with zipfile.ZipFile(tf.path) as book, book.open(_sheet_part(book, tf.sheet)) as part:
            n, first, tail = 0, None, b""
            while chunk := part.read(1 << 22):
                text = tail + chunk
                cut = text.rfind(b"</c>") + 4 if b"</c>" in text else 0
                hits = _FORMULA_WITHOUT_VALUE.findall(text[:cut])
                n, first, tail = n + len(hits), first or (hits[0] if hits else None), text[cut:]
    except (KeyError, StopIteration, zipfile.BadZipFile, OSError):
        return          # not the layout Excel writes: nothing to say
    if n:
        raise DataValidationError(
            f"{n:,} cell(s) hold a formula without a saved value (first: cell {first.decode()}), read as empty: the "
            "file was written by a program that does not calculate formulas; open and save it in Excel (or WPS), or "
            "export values instead of formulas", table="data", source=f"{tf.path}" + (f" [sheet {tf.sheet}]" if tf.sheet else ""))


# --- into DuckDB ---------------------------------------------------------------------------------------

def read_into(con: duckdb.DuckDBPyConnection, tf: TableFile, target: str, *, encoding: str | None = None) -> None:
    """Create the table ``target`` holding the file as it is (CSV and Excel: every column as text)."""
    scratch = None
    try:
        if tf.kind == "parquet":
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM read_parquet('{_sql_path(tf.path)}')")
        elif tf.kind == "xlsx":
            frame = read_xlsx(tf)
            con.execute("SELECT 1").fetchall()   # no unfinished result of an earlier query: register needs none
            con.register("_kam_sheet", frame)
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM _kam_sheet")
            con.unregister("_kam_sheet")
        else:
            enc = (encoding or detect_encoding(tf.path)).lower()
            path = tf.path
            if enc not in ("utf-8", "utf8", "utf-8-sig"):
                scratch = Path(tempfile.mkdtemp(prefix="kam-csv-"))
                path = to_utf8(tf.path, enc, scratch)
            try:
                con.execute(f"CREATE TEMP TABLE {target} AS SELECT * FROM read_csv('{_sql_path(path)}', "
                            f"header=true, all_varchar=true, {CSV_DIALECT})")
            except duckdb.InvalidInputException as e:
                ragged = None if "unicode" in str(e).lower() else _ragged_line(path)
                if ragged:
                    raise DataValidationError(ragged, table="data", source=str(tf.path)) from None
                raise
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


def _ragged_line(path: Path) -> str | None:
    """The first line of a CSV file with another number of fields than its header, as a message with the
    fix (None when every line has as many)."""
    import csv
    try:
        with (gzip.open(path, "rt", encoding="utf-8-sig", newline="") if path.name.lower().endswith(".gz")
              else open(path, encoding="utf-8-sig", newline="")) as f:
            reader = csv.reader(f)
            header = next(reader, [])
            for fields in reader:
                if fields and len(fields) != len(header):
                    extra = "an empty field at the end (a trailing comma)" if len(fields) > len(header) and \
                        not fields[-1].strip() else f"{len(fields)} fields"
                    return (f"line {reader.line_num} has {extra} but the header has {len(header)} fields; make every "
                            "line as long as the header (remove the trailing comma, or put a value that holds a "
                            "comma in double quotes) or export the file again from Excel as 'CSV UTF-8'")
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def _sql_path(path: Path) -> str:
    return path.as_posix().replace("'", "''")
