"""Reading a data set (CSV or Parquet files in a folder) with DuckDB, validating it, returning a Dataset."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from . import engine, schema
from .credentials import redact
from .dataset import Dataset
from .schema import DataQuality, DataValidationError, TableSpec

FutureRows = Literal["error", "exclude"]
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"   # the bundled sample (`kam sample`)
_EXTENSIONS = (".parquet", ".csv", ".csv.gz")


def find_table_file(folder: Path, name: str) -> Path | None:
    for ext in _EXTENSIONS:
        p = folder / f"{name}{ext}"
        if p.exists():
            return p
    return None


def fingerprint(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of the data files (first 16 hex digits)."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def _is_snapshot(path: Path) -> bool:
    con = engine.connect(str(path), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = '_kam_meta'")
                    .fetchone()[0])
    finally:
        con.close()


def _scan(path: Path) -> str:
    """DuckDB table function reading a data file as-is (CSV: every column as text, parsed by validation)."""
    if path.suffix == ".parquet":
        return f"read_parquet('{path.as_posix()}')"
    return f"read_csv('{path.as_posix()}', header=true, all_varchar=true)"


def _read_raw(con: duckdb.DuckDBPyConnection, path: Path, raw: str, rename: dict) -> None:
    """Read a file as-is into the temporary table ``{raw}_t`` (the user's column names mapped; DuckDB spills
    it beyond its memory limit) and expose it as the view ``raw`` with ``_row``, the 1-based row in the file
    (rowid follows insertion order, i.e. the file's)."""
    try:
        con.execute(f"CREATE TEMP TABLE {raw}_t AS SELECT * FROM {_scan(path)}")
    except duckdb.Error as e:
        raise DataValidationError(f"cannot be read: {e}", table=raw.removeprefix("raw_"), source=str(path)) from e
    have = [r[0] for r in con.execute(f"DESCRIBE {raw}_t").fetchall()]
    for old, new in rename.items():       # the user's column names -> the model's
        if old in have:
            con.execute(f'ALTER TABLE {raw}_t RENAME COLUMN "{old}" TO "{new}"')
    con.execute(f"CREATE TEMP VIEW {raw} AS SELECT rowid + 1 AS _row, * FROM {raw}_t")


def _drop_raw(con: duckdb.DuckDBPyConnection, raw: str) -> None:
    con.execute(f"DROP VIEW {raw}")
    con.execute(f"DROP TABLE {raw}_t")


def _load_table(con, spec: TableSpec, path: Path, *, analysis_date: pd.Timestamp, today: pd.Timestamp,
                future_rows: FutureRows, quality: DataQuality, rename: dict | None = None) -> None:
    raw, source, is_csv = f"raw_{spec.name}", str(path), path.suffix != ".parquet"
    _read_raw(con, path, raw, rename or {})
    quality.rows_read[spec.name] = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    present = schema.check_columns(con, raw, spec, source)
    schema.check_values(con, raw, spec, present, source, is_csv)
    schema.check_unique_key(con, raw, spec, source, is_csv)
    schema.check_row_rules(con, raw, spec, present, source, is_csv)
    if spec.name != "accounts" and "account_id" in present:
        schema.check_known_accounts(con, raw, spec, "_all_account_ids", source, is_csv)
    schema.check_not_after(con, raw, spec, today, source, is_csv,
                           what=f"are dated after today ({today.date()}); a typo?")
    if future_rows == "error":
        schema.check_not_after(con, raw, spec, analysis_date, source, is_csv,
                               what=f"are dated after the analysis date {analysis_date.date()}")
    cols = [spec.column(c) for c in present]
    if spec.name == "transactions" and "gross_margin" not in present:
        cols.append(schema.Column("gross_margin", "number"))
        select = ", ".join(schema.typed_expr(c) for c in cols if c.name != "gross_margin")
        select += f", {schema.number_expr('revenue')} - {schema.number_expr('cost')} AS gross_margin"
    else:
        select = ", ".join(schema.typed_expr(c) for c in cols)
    con.execute(f"CREATE TABLE typed_{spec.name} AS SELECT _row, {select} FROM {raw}")
    _drop_raw(con, raw)
    if spec.name == "accounts":  # ids known before back-fill exclusions, for the reference checks
        con.execute("CREATE TABLE _all_account_ids AS SELECT account_id FROM typed_accounts")
    _apply_exclusions(con, spec, analysis_date, quality)


def _count(con, table: str, where: str, amount: str | None = None) -> tuple[int, float | None]:
    sel = f"count(*), {('sum(' + amount + ')') if amount else 'NULL'}"
    n, a = con.execute(f"SELECT {sel} FROM {table} WHERE {where}").fetchone()
    return int(n), a


def _apply_exclusions(con, spec: TableSpec, analysis_date: pd.Timestamp, quality: DataQuality) -> None:
    """Count and remove rows that are valid but not analysable; create the final table ``spec.name``."""
    typed, d = f"typed_{spec.name}", f"DATE '{analysis_date.date()}'"
    rules: list[tuple[str, str, str | None]] = [
        (f"{spec.date_column} > {d}", f"dated after the analysis date {analysis_date.date()}",
         "revenue" if spec.name == "transactions" else None),
    ]
    if spec.name == "transactions":
        rules += [("revenue < 0", "return (negative revenue)", "revenue"),
                  ("revenue = 0", "zero revenue", "revenue")]
    keep, excluded = [], 0
    for where, reason, amount in rules:
        cond = where if not keep else f"({where}) AND " + " AND ".join(f"NOT ({k})" for k in keep)
        n, a = _count(con, typed, cond, amount)
        quality.exclude(spec.name, reason, n, a)
        keep.append(where)
        excluded += n
    if excluded:
        # insertion order is preserved (DuckDB's default): the table keeps the file's row order without a sort
        where_keep = " AND ".join(f"NOT ({k})" for k in keep)
        con.execute(f"CREATE TABLE {spec.name} AS SELECT * EXCLUDE (_row) FROM {typed} WHERE {where_keep}")
        con.execute(f"DROP TABLE {typed}")
    else:  # nothing to leave out: no copy
        con.execute(f"ALTER TABLE {typed} DROP COLUMN _row")
        con.execute(f"ALTER TABLE {typed} RENAME TO {spec.name}")
    if spec.name == "accounts":
        for col, reason in (("churned_on", "churn dates after the analysis date treated as not yet churned"),
                            ("won_back_on", "win-back dates after the analysis date ignored")):
            if col in [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]:
                n, _ = _count(con, "accounts", f"{col} > {d}")
                if n:
                    quality.adjust("accounts", col, reason, n)
                    con.execute(f"UPDATE accounts SET {col} = NULL WHERE {col} > {d}")
    for col, reason, extra in spec.blank_after_analysis:
        n, _ = _count(con, spec.name, f"{col} > {d}")
        if n:
            quality.adjust(spec.name, col, reason, n)
            con.execute(f"UPDATE {spec.name} SET {col} = NULL{extra} WHERE {col} > {d}")


def _default_analysis_date(path: Path, col: str, today: pd.Timestamp) -> pd.Timestamp:
    """End of the month of the last order (up to ``today``) in the transactions file; ``col`` is the
    file's name of the order date column."""
    con = engine.connect()
    try:
        if col not in [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_scan(path)}").fetchall()]:
            raise DataValidationError(f"missing column '{col}' (the order date), needed to take the analysis "
                                      "date from the data", table="transactions", column="order_date",
                                      source=str(path))
        day = schema.date_expr(col)
        last = con.execute(f"SELECT max({day}) FROM {_scan(path)} WHERE {day} <= DATE '{today.date()}'"
                           ).fetchone()[0]
    finally:
        con.close()
    if last is None:
        raise DataValidationError("no dated rows to take the analysis date from", table="transactions",
                                  column="order_date", source=str(path))
    return (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).normalize()


def load_dataset(source: str | Path, *, analysis_date: str | pd.Timestamp | None = None,
                 future_rows: FutureRows = "error", today: str | pd.Timestamp | None = None,
                 tables: dict | None = None, columns: dict | None = None,
                 database: str | Path | None = None) -> Dataset:
    """Read and validate the tables in folder ``source``.

    Tables: ``accounts`` and ``transactions`` (required), ``costs``, ``interactions``, ``opportunities`` and
    ``payments`` (optional), each
    as ``<name>.parquet``, ``<name>.csv`` or ``<name>.csv.gz``. ``analysis_date`` defaults to the end of the
    last month with transactions. Rows dated after it are an error (``future_rows='error'``) or are left
    out and counted (``'exclude'``, for back-filling past months); rows dated after ``today`` are always an
    error. Raises :class:`DataValidationError` naming file, column and rows.

    ``source`` may also be a database URL (``postgresql://user@host/db``), a DuckDB file, or a JSON source
    spec ({"source", "tables", "columns"}); then the tables stay in the database (:mod:`kamlib.data.sources`).
    ``tables`` / ``columns`` map your table and column names to the model's (files: table = file name).
    ``database``: build the data set of a folder in this DuckDB file (replaced) instead of in memory, so
    large files stay within DuckDB's memory limit (:mod:`kamlib.data.engine`; working copies spill beyond it).
    """
    from . import sources
    if isinstance(source, (str, Path)) and str(source).endswith(".json") and Path(source).is_file():
        spec = sources.read_source_spec(Path(source))
        tables, columns, source = spec.get("tables") or {}, spec.get("columns") or {}, spec["source"]
    if sources.is_database_url(str(source)) or (str(source).endswith(".duckdb") and Path(source).is_file()
                                                 and not _is_snapshot(Path(source))):
        return sources.load_from_backend(sources.connect(str(source)), analysis_date=analysis_date,
                                         future_rows=future_rows, today=today, tables=tables, columns=columns,
                                         label=redact(str(source)))
    folder = Path(source)
    if folder.is_file() and folder.suffix == ".duckdb" and _is_snapshot(folder):
        ds = Dataset.open_snapshot(folder)
        if analysis_date is not None and pd.Timestamp(analysis_date).normalize() != ds.analysis_date:
            raise ValueError(f"{folder} is a snapshot for {ds.analysis_date.date()}, not {analysis_date}")
        return ds
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder not found: {folder}")
    today_ts = pd.Timestamp(today or dt.date.today()).normalize()
    files: dict[str, Path] = {}
    tables, columns = tables or {}, columns or {}
    for name, spec in schema.TABLES.items():
        path = find_table_file(folder, tables.get(name, name))
        if path is None:
            if spec.required:
                f = tables.get(name, name)
                raise DataValidationError(f"required table '{f}' not found in {folder} "
                                          f"(expected {f}.csv or {f}.parquet)", table=name)
            continue
        files[name] = path
    if analysis_date is None:
        # the user's name of the order date column (columns maps theirs -> the model's)
        col = next((k for k, v in (columns.get("transactions") or {}).items() if v == "order_date"),
                   "order_date")
        analysis_date = _default_analysis_date(files["transactions"], col, today_ts)
    ad = pd.Timestamp(analysis_date).normalize()
    if ad > today_ts:
        raise ValueError(f"analysis date {ad.date()} is after today ({today_ts.date()})")
    if database is not None:
        engine.remove_database(database)
    con = engine.connect(None if database is None else str(database))
    quality = DataQuality()
    try:
        for name, path in files.items():
            _load_table(con, schema.TABLES[name], path, analysis_date=ad, today=today_ts,
                        future_rows=future_rows, quality=quality, rename=columns.get(name) or {})
        con.execute("DROP TABLE _all_account_ids")
    except BaseException:
        con.close()   # a file database is released at once (the caller may delete it)
        raise
    return Dataset(con=con, analysis_date=ad, quality=quality, source=str(folder),
                   fingerprint=fingerprint(list(files.values())), tables=tuple(files))
