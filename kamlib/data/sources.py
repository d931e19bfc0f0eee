"""Database sources: validate and map tables where they live (PostgreSQL, a DuckDB file, Spark, any Ibis
backend) and hand the analyses Ibis expressions over them. Nothing is copied out except the small tables
(accounts, costs, ...) and per-account summaries.

Database columns must carry their types (dates as DATE/TIMESTAMP, amounts numeric); checks run as queries
and errors name the table, the column and a sample of offending rows (by key).
"""
from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd

from . import schema
from .dataset import Dataset
from .engine import connect as duckdb_connect
from .schema import DataQuality, DataValidationError, TableSpec

DB_PREFIXES = ("postgresql://", "postgres://", "duckdb://")


def is_database_url(source) -> bool:
    return isinstance(source, str) and source.startswith(DB_PREFIXES)


def connect(source: str):
    """An Ibis backend for a database URL or a DuckDB file (read-only). A PostgreSQL URL goes to libpq as it
    is, so its conventions hold for what the URL leaves out: ``PGPASSWORD``, ``~/.pgpass``, ``PGSERVICE`` or
    ``?service=`` (``pg_service.conf``), ``PGHOST`` ... (Ibis would fill in localhost:5432 instead)."""
    if isinstance(source, str) and source.endswith(".duckdb") and not source.startswith("duckdb://"):
        return ibis.duckdb.from_connection(duckdb_connect(source, read_only=True))
    if isinstance(source, str) and source.startswith(("postgresql://", "postgres://")):
        import psycopg
        return ibis.postgres.from_connection(psycopg.connect(source, autocommit=True))
    return ibis.connect(source)


def read_source_spec(path: Path) -> dict:
    """A JSON source spec: {"source": url-or-folder, "tables": {...}, "columns": {...}}."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if "source" not in spec:
        raise ValueError(f"{path}: a source spec needs a 'source' key")
    return spec


def write_source_spec(path: Path, source: str, tables: dict | None = None, columns: dict | None = None) -> Path:
    Path(path).write_text(json.dumps({"source": source, "tables": tables or {}, "columns": columns or {}}))
    return Path(path)


def list_tables(backend) -> set[str]:
    """Table names of a backend (ibis 12's DuckDB ``list_tables`` fails with duckdb 2: query the catalog)."""
    try:
        return set(backend.list_tables())
    except AttributeError:
        rows = backend.raw_sql("SELECT table_name FROM information_schema.tables").fetchall()
        return {r[0] for r in rows}


def _sample(t: ibis.Table, cond, show: list[str], limit: int = 5) -> tuple[int, str]:
    n = int(t.filter(cond).count().execute())
    if not n:
        return 0, ""
    rows = t.filter(cond).select(*show).limit(limit).execute()
    shown = ", ".join("(" + ", ".join(f"{c}={r[c]!r}" for c in show) + ")" for _, r in rows.iterrows())
    return n, shown + (", ..." if n > limit else "")


def _fail(t, cond, *, spec: TableSpec, column: str, where: str, what: str, show: list[str]) -> None:
    n, shown = _sample(t, cond, show)
    if n:
        raise DataValidationError(f"{n} row(s) {what} ({shown})", table=spec.name, column=column, source=where)


def _typed(t: ibis.Table, spec: TableSpec, where: str) -> ibis.Table:
    """Check column presence and types; return the table with the model's columns only."""
    present = [c for c in spec.columns if c.name in t.columns]
    missing = [c.name for c in spec.columns if c.required and c.name not in t.columns]
    if spec.name == "transactions" and "gross_margin" not in t.columns and "cost" not in t.columns:
        missing.append("gross_margin (or cost)")
    if missing:
        raise DataValidationError(f"missing column(s) {', '.join(missing)}; found {', '.join(t.columns)}",
                                  table=spec.name, column=missing[0], source=where)
    cols = {}
    for c in present:
        typ = t[c.name].type()
        if c.kind == "date":
            if not (typ.is_date() or typ.is_timestamp()):
                raise DataValidationError(f"must be a DATE or TIMESTAMP column, found {typ}", table=spec.name,
                                          column=c.name, source=where)
            cols[c.name] = t[c.name].cast("date")
        elif c.kind == "number":
            if not typ.is_numeric():
                raise DataValidationError(f"must be numeric, found {typ}", table=spec.name, column=c.name,
                                          source=where)
            cols[c.name] = t[c.name].cast("float64")
        else:
            cols[c.name] = t[c.name].cast("string")
    if spec.name == "transactions" and "gross_margin" not in cols:
        cols["gross_margin"] = cols["revenue"] - t["cost"].cast("float64")
    return t.select(**cols)


def _check(t: ibis.Table, spec: TableSpec, where: str, today: pd.Timestamp, known_accounts) -> None:
    key = [spec.key] if spec.key else ([c for c in ("account_id",) if c in t.columns] or [t.columns[0]])
    for c in spec.columns:
        if c.name not in t.columns:
            continue
        col = t[c.name]
        if not c.nullable:
            _fail(t, col.isnull(), spec=spec, column=c.name, where=where, what="have no value", show=key)
        if c.allowed:
            _fail(t, col.notnull() & ~col.isin(list(c.allowed)), spec=spec, column=c.name, where=where,
                  what=f"have a value outside the allowed set ({', '.join(c.allowed)})", show=key + [c.name])
    if spec.key:
        dup = t.group_by(spec.key).agg(_n=t.count()).filter(lambda g: g._n > 1)
        n = int(dup.count().execute())
        if n:
            sample = dup.limit(5).execute()[spec.key].tolist()
            raise DataValidationError(f"{n} id(s) repeat (duplicates), e.g. {sample}", table=spec.name,
                                      column=spec.key, source=where)
    if known_accounts is not None and "account_id" in t.columns and spec.name != "accounts":
        unknown = t.filter(t.account_id.notnull()).anti_join(known_accounts, "account_id")
        n = int(unknown.count().execute())
        if n:
            sample = unknown.select("account_id").distinct().limit(5).execute()["account_id"].tolist()
            raise DataValidationError(f"{n} row(s) refer to accounts that are not in the accounts table "
                                      f"(e.g. {sample})", table=spec.name, column="account_id", source=where)
    if spec.date_column:
        _fail(t, t[spec.date_column] > today.date(), spec=spec, column=spec.date_column, where=where,
              what=f"are dated after today ({today.date()}); a typo?", show=key + [spec.date_column])
    rules = {
        "opportunities": [(lambda x: x.outcome.isin(["won", "lost"]) & x.closed_on.isnull(), "closed_on",
                           "are won or lost but have no closed_on"),
                          (lambda x: x.closed_on < x.created_on, "closed_on", "are closed before they were created")],
        "payments": [(lambda x: x.due_date < x.invoice_date, "due_date", "are due before they were invoiced"),
                     (lambda x: x.paid_date < x.invoice_date, "paid_date", "are paid before they were invoiced")],
    }
    for cond, column, what in rules.get(spec.name, []):
        _fail(t, cond(t), spec=spec, column=column, where=where, what=what, show=key + [column])


def _exclude(t: ibis.Table, spec: TableSpec, analysis_date: pd.Timestamp, future_rows: str, where: str,
             quality: DataQuality) -> ibis.Table:
    """Count and filter rows that are valid but not analysable; blank dates after the analysis date."""
    d = analysis_date.date()
    rules = []
    if spec.date_column:
        rules.append((t[spec.date_column] > d, f"dated after the analysis date {d}"))
    if spec.name == "transactions":
        rules += [(t.revenue < 0, "return (negative revenue)"), (t.revenue == 0, "zero revenue")]
    if future_rows == "error" and spec.date_column:
        _fail(t, rules[0][0], spec=spec, column=spec.date_column, where=where,
              what=f"are dated after the analysis date {d}", show=[spec.date_column])
    keep = ibis.literal(True)
    for cond, reason in rules:
        hit = t.filter(keep & cond)
        n = int(hit.count().execute())
        amount = float(hit.revenue.sum().execute() or 0.0) if spec.name == "transactions" and n else None
        quality.exclude(spec.name, reason, n, amount)
        keep = keep & ~cond
    out = t.filter(keep)
    blanks = list(spec.blank_after_analysis)
    if spec.name == "accounts":
        blanks += [("churned_on", "churn dates after the analysis date treated as not yet churned", ""),
                   ("won_back_on", "win-back dates after the analysis date ignored", "")]
    for col, reason, extra in blanks:
        if col not in out.columns:
            continue
        n = int(out.filter(out[col] > d).count().execute())
        if n:
            quality.adjust(spec.name, col, reason, n)
        late = out[col] > d
        changes = {col: late.ifelse(ibis.null().cast(out[col].type()), out[col])}
        if extra and "outcome" in out.columns:
            changes["outcome"] = late.ifelse(ibis.literal("open"), out.outcome)
        out = out.mutate(**changes)
    return out


def load_from_backend(backend, *, analysis_date=None, future_rows: str = "error", today=None,
                      tables: dict | None = None, columns: dict | None = None, label: str = "") -> Dataset:
    """Validate and map the tables of an Ibis ``backend``; returns a Dataset of expressions over them.

    ``tables`` maps model table names to source table names; ``columns`` maps, per model table, source
    column names to model column names (e.g. ``{"transactions": {"cust_no": "account_id"}}``).
    """
    tables, columns = tables or {}, columns or {}
    today_ts = pd.Timestamp(today or pd.Timestamp.today()).normalize()
    available = list_tables(backend)
    quality = DataQuality()
    typed: dict[str, ibis.Table] = {}
    wheres: dict[str, str] = {}
    for name, spec in schema.TABLES.items():
        src = tables.get(name, name)
        where = f"{label or backend.name}:{src}"
        if src not in available:
            if spec.required:
                raise DataValidationError(f"required table '{src}' not found (tables: {sorted(available)})",
                                          table=name, source=where)
            continue
        t = backend.table(src)
        if columns.get(name):
            t = t.rename({new: old for old, new in columns[name].items() if old in t.columns})
        typed[name] = _typed(t, spec, where)
        wheres[name] = where
        quality.rows_read[name] = int(typed[name].count().execute())
    known = typed["accounts"].select("account_id")
    for name, t in typed.items():
        _check(t, schema.TABLES[name], wheres[name], today_ts, known)
    if analysis_date is None:
        tx = typed["transactions"]
        last = tx.filter(tx.order_date <= today_ts.date()).order_date.max().execute()
        if last is None or pd.isna(last):
            raise DataValidationError("no dated rows to take the analysis date from", table="transactions",
                                      column="order_date", source=wheres["transactions"])
        analysis_date = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).normalize()
    ad = pd.Timestamp(analysis_date).normalize()
    if ad > today_ts:
        raise ValueError(f"analysis date {ad.date()} is after today ({today_ts.date()})")
    exprs = {name: _exclude(t, schema.TABLES[name], ad, future_rows, wheres[name], quality)
             for name, t in typed.items()}
    fp = f"{label or backend.name}:" + ",".join(f"{n}={quality.rows_read[n]}" for n in sorted(exprs))
    import hashlib
    return Dataset(con=None, analysis_date=ad, quality=quality, source=label or backend.name,
                   fingerprint=hashlib.sha256(fp.encode()).hexdigest()[:16], tables=tuple(exprs), exprs=exprs)
