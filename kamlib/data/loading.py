"""Reading a data set (CSV or Parquet files in a folder) with DuckDB, validating it, returning a Dataset."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from . import aliases, dates, engine, exports, readers, readiness, schema
from .credentials import redact
from .dataset import Dataset
from .schema import DataQuality, DataValidationError, TableSpec

FutureRows = Literal["error", "exclude"]
Duplicates = Literal["exclude", "keep", "error"]
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"   # the bundled sample (`kam sample`)
_EXTENSIONS = (".parquet", ".csv", ".csv.gz")


def fingerprint(paths: list[Path], options: exports.ReadOptions | None = None) -> str:
    """SHA-256 over the names and bytes of the data files, and the reading options that change the numbers
    when they are not the defaults (first 16 hex digits)."""
    h = hashlib.sha256()
    if options is not None and options != exports.ReadOptions():
        h.update(repr(sorted(vars(options).items())).encode())
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def _read_options(*, revenue_includes_tax: bool = False, vat_rate: float | None = None, units: dict | None = None,
                  discount: exports.Discount = "auto", currency: str = "CNY", currency_rates: dict | None = None,
                  min_year: int = 1990, **_other) -> exports.ReadOptions:
    """The reading options of :func:`load_dataset`'s keyword arguments (the others ignored)."""
    return exports.ReadOptions(revenue_includes_tax=revenue_includes_tax, vat_rate=vat_rate, units=units or {},
                               discount=discount, currency=currency, currency_rates=currency_rates or {},
                               min_year=min_year)


def _locate(folder: Path, tables: dict) -> readers.Found:
    """The file (or workbook sheet) of each table in ``folder`` (``tables``: the user's file names)."""
    return readers.find_tables(folder, {name: tables.get(name) for name in schema.TABLES})


def _files_fingerprint(located: readers.Found, options: exports.ReadOptions) -> str:
    return fingerprint(sorted({tf.path for tf in located.files.values()}), options)


def file_stats(folder: str | Path, *, tables: dict | None = None) -> dict[str, list[int]]:
    """Size and modification time (ns) of each data file of ``folder`` (as :func:`load_dataset` finds them):
    a file whose stats are the same as when it was fingerprinted is taken to be the same file (as make and
    rsync do), so ``kam brief`` need not read a large folder again to know it is the batch's."""
    out = {}
    for path in sorted({tf.path for tf in _locate(Path(folder), tables or {}).files.values()}):
        st = path.stat()
        out[str(path.resolve())] = [st.st_size, st.st_mtime_ns]
    return out


def folder_fingerprint(folder: str | Path, *, tables: dict | None = None, **read_options) -> str:
    """The fingerprint :func:`load_dataset` gives the data set of ``folder`` with these ``tables`` and reading
    options, from the files alone: nothing is read into tables or validated (``kam brief`` uses it to find
    the snapshot of a batch on the same data)."""
    return _files_fingerprint(_locate(Path(folder), tables or {}), _read_options(**read_options))


def _is_snapshot(path: Path) -> bool:
    con = engine.connect(str(path), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = '_kam_meta'")
                    .fetchall()[0][0])
    finally:
        con.close()


def _stage(con: duckdb.DuckDBPyConnection, name: str, tf: readers.TableFile, *, encoding: str | None,
           rename: dict, values: dict, options: exports.ReadOptions, quality: DataQuality, problems: list) -> str:
    """Read a table's file as it is into ``raw_<name>_t``, map its headers (the user's ``columns``, the
    model's names in any case and spacing, built-in Chinese headers; :func:`aliases.plan_headers`) and its
    codes (built-in Chinese codes, the user's ``values``), and expose it as the view ``raw_<name>`` with
    ``_row``, the 1-based row in the file (rowid follows insertion order, i.e. the file's), without the
    subtotal and total rows of a report export (left out and counted); then read its values as the export
    says (:func:`exports.prepare`). Returns the file's label for messages."""
    raw = f"raw_{name}"
    label = str(tf.path if tf.sheet is None else tf.path.with_name(tf.label))
    readers.read_into(con, tf, f"{raw}_t", encoding=encoding)
    have = [r[0] for r in con.execute(f"DESCRIBE {raw}_t").fetchall()]
    try:
        plan = aliases.plan_headers(name, have, rename, revenue_includes_tax=options.revenue_includes_tax)
    except aliases.HeaderConflict as e:
        con.execute(f"DROP TABLE {raw}_t")
        raise DataValidationError(str(e), table=name, source=label) from None
    for old, new in plan.rename.items():
        con.execute(f'ALTER TABLE {raw}_t RENAME COLUMN {schema._q(old)} TO {schema._q(new)}')
    have = [r[0] for r in con.execute(f"DESCRIBE {raw}_t").fetchall()]
    for col in (c.name for c in schema.TABLES[name].columns if c.allowed or c.name == "stage"):
        codes = aliases.value_map(name, col, values)
        if col in have and codes:
            q, text = schema._q(col), f"trim(CAST({schema._q(col)} AS VARCHAR))"
            cases = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in codes.items())
            con.execute(f"UPDATE {raw}_t SET {q} = CASE {text} {cases} ELSE {q} END "
                        f"WHERE {text} IN ({', '.join(_literal(k) for k in codes)})")
    quality.rows_read[name] = con.execute(f"SELECT count(*) FROM {raw}_t").fetchall()[0][0]
    subtotal = exports.subtotal_rows(con, f"{raw}_t")
    n, amount = (0, None) if subtotal is None else \
        _count(con, f"{raw}_t", subtotal, schema.number_expr("revenue") if "revenue" in have else None)
    quality.exclude(name, "subtotal or total row (小计 / 合计 / 总计)", n, amount)
    if n:       # the lines of the file kept as they were numbered, without the subtotal rows (a copy)
        con.execute(f"ALTER TABLE {raw}_t RENAME TO {raw}_all")
        con.execute(f"CREATE TEMP TABLE {raw}_t AS SELECT rowid + 1 AS _row, * FROM {raw}_all WHERE NOT ({subtotal})")
        con.execute(f"DROP TABLE {raw}_all")
        con.execute(f"CREATE TEMP VIEW {raw} AS SELECT * FROM {raw}_t")
    else:
        con.execute(f"CREATE TEMP VIEW {raw} AS SELECT rowid + 1 AS _row, * FROM {raw}_t")
    try:
        exports.prepare(con, name, plan, options, quality, problems, label, tf.kind != "parquet")
    except DataValidationError as e:
        problems.append(e)
    return label


def _literal(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def _drop_raw(con: duckdb.DuckDBPyConnection, raw: str) -> None:
    con.execute(f"DROP VIEW {raw}")
    con.execute(f"DROP TABLE {raw}_t")


def _load_table(con, spec: TableSpec, source: str, is_csv: bool, *, analysis_date: pd.Timestamp,
                today: pd.Timestamp, future_rows: FutureRows, quality: DataQuality, problems: list,
                accounts_known: bool, duplicates: Duplicates = "exclude", min_year: int = 1990,
                tf: readers.TableFile | None = None, rename: dict | None = None) -> bool:
    """Validate the staged table (every problem added to ``problems``) and create the typed table; False
    when its columns are missing (nothing more can be checked)."""
    raw = f"raw_{spec.name}"
    try:
        present = schema.check_columns(con, raw, spec, source)
    except DataValidationError as e:
        problems.append(_with_header_hint(con, raw, spec, e, tf, rename))
        _drop_raw(con, raw)
        return False
    raw_columns = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall() if r[0] != "_row"]
    returns = exports.return_rows(raw_columns) if spec.name == "transactions" else "false"
    schema.check_values(con, raw, spec, present, source, is_csv, problems)
    exports.check_dates(con, raw, spec, present, source, is_csv, problems, min_year)
    schema.check_unique_key(con, raw, spec, source, is_csv, problems)
    schema.check_row_rules(con, raw, spec, present, source, is_csv, problems, skip=returns)
    if spec.name != "accounts" and "account_id" in present and accounts_known:
        schema.check_known_accounts(con, raw, spec, "_all_account_ids", source, is_csv, problems,
                                    hint=exports.id_hint(con, raw))
        if spec.name == "transactions":
            exports.check_after_acquisition(con, raw, source, is_csv, problems)
    schema.check_not_after(con, raw, spec, today, source, is_csv, problems=problems,
                           what=f"are dated after today ({today.date()}); a typo?")
    if future_rows == "error":
        schema.check_not_after(con, raw, spec, analysis_date, source, is_csv, problems=problems,
                               what=f"are dated after the analysis date {analysis_date.date()}")
    cols = [spec.column(c) for c in present]
    if spec.name == "transactions" and "gross_margin" not in present:
        cols.append(schema.Column("gross_margin", "number"))
        select = ", ".join(schema.typed_expr(c) for c in cols if c.name != "gross_margin")
        select += f", {schema.number_expr('revenue')} - {schema.number_expr('cost')} AS gross_margin"
    else:
        select = ", ".join(schema.typed_expr(c) for c in cols)
    if spec.name == "transactions":
        select += f", {returns} AS _return"
    con.execute(f"CREATE TABLE typed_{spec.name} AS SELECT _row, {select} FROM {raw}")
    if spec.name == "transactions":
        _mark_duplicates(con, raw, raw_columns, duplicates, source, is_csv, problems)
    _drop_raw(con, raw)
    if spec.name == "accounts":  # ids known before back-fill exclusions, for the reference checks
        con.execute("CREATE TABLE _all_account_ids AS SELECT account_id FROM typed_accounts")
    _apply_exclusions(con, spec, analysis_date, quality)
    return True


def _with_header_hint(con, raw: str, spec: TableSpec, err: DataValidationError, tf: readers.TableFile | None,
                      rename: dict | None) -> DataValidationError:
    """A missing-columns error with what likely caused it: headers decoded in the wrong encoding, the header
    on a later row (title rows, a two-row merged header), or another sheet of the workbook holding the table."""
    headers = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall() if r[0] != "_row"]
    hints = []
    if readers.looks_garbled(headers):
        hints.append("the headers look like text in another encoding (e.g. Big5 read as GBK); set data.encoding in "
                     "kam.yaml (big5, gb18030, utf-8) or save the file as 'CSV UTF-8'")
    else:
        row = _header_row(con, raw, spec, rename)
        if row is not None:
            hints.append(f"the header seems to be on row {row} (title rows or a two-row merged header above "
                         "it?): delete the rows above the header and make it one row, one name per column")
    if tf is not None and tf.kind == "xlsx" and tf.others:
        hints.append(f"read sheet '{tf.sheet}'; the workbook also has sheet(s) {', '.join(repr(o) for o in tf.others)}"
                     f": name the sheet to read in kam.yaml (data.tables: {{{spec.name}: <sheet name>}})")
    if not hints:
        return err
    return DataValidationError(str(err).split(": ", 1)[1] + "; " + "; ".join(hints), table=err.table,
                               source=err.source)


def _header_row(con, raw: str, spec: TableSpec, rename: dict | None) -> int | None:
    """The row (1-based, the header being row 1) among the first 10 data rows that holds at least two of the
    table's headers; None when none does."""
    rows = con.execute(f"SELECT * EXCLUDE (_row) FROM {raw} ORDER BY _row LIMIT 10").fetchall()
    for i, row in enumerate(rows):
        cells = [str(v) for v in row if v is not None and str(v).strip()]
        try:
            known = aliases.plan_headers(spec.name, cells, rename)
        except aliases.HeaderConflict:
            return i + 2
        if sum(not m.startswith("_") for m in known.rename.values()) + \
                sum(c in {col.name for col in spec.columns} for c in cells) >= 2:
            return i + 2
    return None


def _mark_duplicates(con, raw: str, raw_columns: list[str], policy: Duplicates, source: str, is_csv: bool,
                     problems: list) -> None:
    """Order lines repeated exactly — every column of the file the same, also those kamlib does not read
    (行号, 物料编码): the column ``_duplicate`` marks every repeat after the first (excluded and counted), or
    they are an error, or are kept. Marked in place, so the table keeps the file's order."""
    cols = ", ".join(schema._q(c) for c in raw_columns)
    con.execute("ALTER TABLE typed_transactions ADD COLUMN _duplicate BOOLEAN DEFAULT false")
    if policy == "keep":
        return
    repeats = (f"SELECT _row FROM (SELECT _row, row_number() OVER (PARTITION BY {cols} ORDER BY _row) AS k "
               f"FROM {raw}) WHERE k > 1")
    if policy == "error":
        schema._fail(con, f"SELECT _row, 'repeats an earlier line' FROM ({repeats})",
                     spec=schema.TABLES["transactions"], column=None, source=source, is_csv=is_csv,
                     problems=problems, what="repeat an earlier order line exactly (data.duplicates: error)")
        return
    con.execute(f"UPDATE typed_transactions SET _duplicate = true WHERE _row IN ({repeats})")


def _count(con, table: str, where: str, amount: str | None = None) -> tuple[int, float | None]:
    sel = f"count(*), {('sum(' + amount + ')') if amount else 'NULL'}"
    n, a = con.execute(f"SELECT {sel} FROM {table} WHERE {where}").fetchall()[0]
    return int(n), a


def _apply_exclusions(con, spec: TableSpec, analysis_date: pd.Timestamp, quality: DataQuality) -> None:
    """Count and remove rows that are valid but not analysable; create the final table ``spec.name``."""
    typed, d = f"typed_{spec.name}", f"DATE '{analysis_date.date()}'"
    rules: list[tuple[str, str, str | None]] = [
        (f"{spec.date_column} > {d}", f"dated after the analysis date {analysis_date.date()}",
         "revenue" if spec.name == "transactions" else None),
    ] if spec.date_column else []     # undated tables (contacts) keep every row
    if spec.name == "transactions":
        rules += [("_duplicate", "order line repeated exactly (duplicate)", "revenue"),
                  ("_return", "return (marked 退货 / 红字 in its business type)", "revenue"),
                  ("revenue < 0", "return (negative revenue)", "revenue"),
                  ("revenue = 0", "zero revenue", "revenue")]
    keep, excluded = [], 0
    drop = ", _duplicate, _return" if spec.name == "transactions" else ""
    for where, reason, amount in rules:
        cond = where if not keep else f"({where}) AND " + " AND ".join(f"NOT ({k})" for k in keep)
        n, a = _count(con, typed, cond, amount)
        quality.exclude(spec.name, reason, n, a)
        keep.append(where)
        excluded += n
    if excluded:
        # insertion order is preserved (DuckDB's default): the table keeps the file's row order without a sort
        where_keep = " AND ".join(f"NOT ({k})" for k in keep)
        con.execute(f"CREATE TABLE {spec.name} AS SELECT * EXCLUDE (_row{drop}) FROM {typed} WHERE {where_keep}")
        con.execute(f"DROP TABLE {typed}")
    else:  # nothing to leave out: no copy
        con.execute(f"ALTER TABLE {typed} DROP COLUMN _row")
        for col in drop.split(", ")[1:]:
            con.execute(f"ALTER TABLE {typed} DROP COLUMN {col}")
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


def _default_analysis_date(con, today: pd.Timestamp, source: str) -> pd.Timestamp:
    """End of the month of the last order (up to ``today``) in the staged transactions."""
    if "order_date" not in [r[0] for r in con.execute("DESCRIBE raw_transactions").fetchall()]:
        raise DataValidationError("missing column 'order_date' (the order date), needed to take the analysis "
                                  "date from the data", table="transactions", column="order_date", source=source)
    day = schema.date_expr("order_date")
    last = con.execute(f"SELECT max({day}) FROM raw_transactions WHERE {day} <= DATE '{today.date()}'").fetchall()[0][0]
    if last is None:
        raise DataValidationError(f"no order dated on or before today ({today.date()}) to take the analysis "
                                  "month from", table="transactions", column="order_date", source=source)
    return (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).normalize()


def _last_order(con, today: pd.Timestamp):
    """The last order date up to ``today`` in the staged transactions (None when it cannot be read)."""
    try:
        day = schema.date_expr("order_date")
        return con.execute(f"SELECT max({day}) FROM raw_transactions WHERE {day} <= DATE '{today.date()}'").fetchall()[0][0]
    except duckdb.Error:       # a missing or unreadable column: reported by the validation
        return None


def load_dataset(source: str | Path, *, analysis_date: str | pd.Timestamp | None = None,
                 future_rows: FutureRows = "error", today: str | pd.Timestamp | None = None,
                 tables: dict | None = None, columns: dict | None = None,
                 database: str | Path | None = None, values: dict | None = None, encoding: str | None = None,
                 duplicates: Duplicates = "exclude", for_report: bool = False,
                 revenue_includes_tax: bool = False, vat_rate: float | None = None, units: dict | None = None,
                 discount: exports.Discount = "auto", currency: str = "CNY", currency_rates: dict | None = None,
                 min_year: int = 1990, month_coverage: bool = True) -> Dataset:
    """Read and validate the tables in folder ``source``.

    Tables: ``accounts`` and ``transactions`` (required), ``costs``, ``interactions``, ``opportunities`` and
    ``payments`` (optional), each a file named like the table in any case (``.csv`` in any common encoding —
    or ``encoding`` —, ``.csv.gz``, ``.parquet``, ``.xlsx``) or a sheet so named in a workbook of the folder
    (:mod:`kamlib.data.readers`); Chinese headers and codes are read (:mod:`kamlib.data.aliases`, plus
    ``columns`` and ``values``). ``analysis_date`` defaults to the end of the last month with transactions.
    Rows dated after it are an error (``future_rows='error'``) or are left out and counted (``'exclude'``,
    for back-filling past months); rows dated after ``today`` are always an error. Order lines repeated
    exactly are excluded and counted (``duplicates``: or kept, or an error). Raises one
    :class:`DataValidationError` listing every problem (file, column, lines, count); with ``for_report``
    (``kam report``, ``kam validate``) also when the data cannot carry a report (:mod:`kamlib.data.readiness`).

    ``source`` may also be a database URL (``postgresql://user@host/db``), a DuckDB file, or a JSON source
    spec ({"source", "tables", "columns"}); then the tables stay in the database (:mod:`kamlib.data.sources`).
    ``tables`` / ``columns`` map your table and column names to the model's (files: table = file name).
    ``database``: build the data set of a folder in this DuckDB file (replaced) instead of in memory, so
    large files stay within DuckDB's memory limit (:mod:`kamlib.data.engine`; working copies spill beyond it).

    Exports are read as they say or refused with the fix (:mod:`kamlib.data.exports`, ``data/README.md``):
    revenue is net of VAT (``revenue_includes_tax`` with ``vat_rate`` or a 税额 column for a tax-inclusive
    one), amounts in the unit of their header or ``units`` ({table: {column: 万元}}), discounts as fractions
    (``discount``: ``percent`` or ``price_ratio`` otherwise), lines in another currency than ``currency``
    converted at ``currency_rates`` ({USD: 7.1}); dates before ``min_year`` are errors; a header-only
    optional table is missing. ``month_coverage``: with ``for_report``, refuse an analysis month the data
    do not cover (:func:`readiness.check`).
    """
    from . import sources
    if analysis_date is not None:       # read strictly (kamlib.data.dates): errors name the argument
        analysis_date = dates.read_date("analysis_date", analysis_date, today=today)
    if isinstance(source, (str, Path)) and str(source).endswith(".json") and Path(source).is_file():
        spec = sources.read_source_spec(Path(source))
        tables, columns, source = spec.get("tables") or {}, spec.get("columns") or {}, spec["source"]
    if sources.is_database_url(str(source)) or (str(source).endswith(".duckdb") and Path(source).is_file()
                                                 and not _is_snapshot(Path(source))):
        ds = sources.load_from_backend(sources.connect(str(source)), analysis_date=analysis_date,
                                       future_rows=future_rows, today=today, tables=tables, columns=columns,
                                       label=redact(str(source)))
        if for_report:
            readiness.check(ds, {name: f"{redact(str(source))}:{(tables or {}).get(name, name)}"
                                 for name in ("accounts", "transactions")}, month_coverage=month_coverage)
        return ds
    folder = Path(source)
    if folder.is_file() and folder.suffix == ".duckdb" and _is_snapshot(folder):
        ds = Dataset.open_snapshot(folder)
        if analysis_date is not None and pd.Timestamp(analysis_date).normalize() != ds.analysis_date:
            raise ValueError(f"{folder} is a snapshot for {ds.analysis_date.date()}, not {analysis_date}")
        return ds
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder not found: {folder}")
    today_ts = pd.Timestamp(today or dt.date.today()).normalize()
    tables, columns = tables or {}, columns or {}
    options = _read_options(revenue_includes_tax=revenue_includes_tax, vat_rate=vat_rate, units=units,
                            discount=discount, currency=currency, currency_rates=currency_rates, min_year=min_year)
    located = _locate(folder, tables)
    problems: list[DataValidationError] = list(located.problems)
    found: dict[str, readers.TableFile] = located.files
    quality = DataQuality()
    for note in located.notes:
        quality.note("data", note)
    for name, spec in schema.TABLES.items():
        if name not in found and spec.required and not any(p.table == name for p in problems):
            f = tables.get(name, name)
            problems.append(DataValidationError(
                f"required table '{f}' not found in {folder} (expected {f}.csv, {f}.xlsx or {f}.parquet, a sheet "
                f"'{f}' in a workbook, or the file named in data.tables of kam.yaml)", table=name))
    if database is not None:
        engine.remove_database(database)
    con = engine.connect(None if database is None else str(database))
    try:
        labels = {}
        for name, tf in found.items():
            try:
                labels[name] = _stage(con, name, tf, encoding=encoding, rename=columns.get(name) or {},
                                      values=values or {}, options=options, quality=quality, problems=problems)
            except DataValidationError as e:
                problems.append(e)
                continue
            if not schema.TABLES[name].required and not con.execute(f"SELECT count(*) FROM raw_{name}").fetchall()[0][0]:
                # a header-only optional table is missing, exactly as an absent file ('not available')
                quality.note(name, f"{tf.label}: the file has no rows; {name} treated as not available")
                quality.rows_read.pop(name, None)
                quality.exclusions = [e for e in quality.exclusions if e["table"] != name]
                quality.adjustments = [a for a in quality.adjustments if a["table"] != name]
                _drop_raw(con, f"raw_{name}")
                del labels[name]
        if "accounts" not in labels or "transactions" not in labels:
            raise DataValidationError.combine(problems)
        if analysis_date is None:
            try:
                analysis_date = _default_analysis_date(con, today_ts, labels["transactions"])
            except DataValidationError as e:
                raise DataValidationError.combine(problems + [e]) from None
        else:
            dates.check_against_data("analysis_date", analysis_date, _last_order(con, today_ts),
                                     future_rows=future_rows)
        ad = pd.Timestamp(analysis_date).normalize()
        if ad > today_ts:
            raise ValueError(f"analysis date {ad.date()} is after today ({today_ts.date()})")
        loaded = []
        for name in labels:
            tf = found[name]
            ok = _load_table(con, schema.TABLES[name], labels[name], tf.kind != "parquet", analysis_date=ad,
                             today=today_ts, future_rows=future_rows, quality=quality, problems=problems,
                             accounts_known="accounts" in loaded, duplicates=duplicates, min_year=min_year,
                             tf=tf, rename=columns.get(name) or {})
            if ok:
                loaded.append(name)
        if problems:
            raise DataValidationError.combine(problems)
        readiness.findings(con, ad, quality)
        con.execute("DROP TABLE _all_account_ids")
        ds = Dataset(con=con, analysis_date=ad, quality=quality, source=str(folder),
                     fingerprint=_files_fingerprint(located, options),
                     tables=tuple(loaded))
        if for_report:
            readiness.check(ds, labels, month_coverage=month_coverage)
    except BaseException:
        con.close()   # a file database is released at once (the caller may delete it)
        raise
    return ds
