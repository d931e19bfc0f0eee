"""The data model: table specifications and their validation, run as SQL on the source.

Every check runs as a DuckDB query over the raw table (all columns as text for CSV), so the same checks
scale to large files and every error can name the file, the column and a sample of offending rows.
Rows that are valid but not usable for analysis (returns, zero-revenue lines, lines dated after the
analysis date in back-fill mode) are *excluded and counted* in a :class:`DataQuality` record, never
dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

ColumnKind = Literal["id", "text", "date", "number"]

ENTERPRISE_TYPES = ("state-owned", "private", "foreign", "joint-venture")
ACQUISITION_CHANNELS = ("direct", "referral", "agent")
TIERS = ("strategic", "A", "B", "C")
COST_KINDS = ("acquisition", "retention", "service", "win_back")
INTERACTION_KINDS = ("visit", "call", "complaint", "complaint_resolved")
OUTCOMES = ("won", "lost", "open")
CONTACT_ROLES = ("decision_maker", "purchasing", "finance", "technical", "user", "executive")   # the buying centre
DOUBTFUL_AFTER_DAYS = 365   # an invoice unpaid this long after its due date is doubtful debt (kam.yaml: payments)


@dataclass(frozen=True)
class Column:
    """One column of a table: its kind, whether it must be present, and its allowed values."""

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableSpec:
    """A table of the data model. ``date_column`` is the column compared with the analysis date."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    key: str | None = None
    date_column: str | None = None
    # (SQL condition true for bad rows, column named in the error, what is wrong)
    row_rules: tuple[tuple[str, str, str], ...] = ()
    # (column, reason, extra SET clause): dates after the analysis date are blanked (not yet happened)
    blank_after_analysis: tuple[tuple[str, str, str], ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        (
            Column("account_id", "id"),
            Column("name", "text"),
            Column("enterprise_type", "text", allowed=ENTERPRISE_TYPES),
            Column("industry", "text"),
            Column("region", "text"),
            Column("account_manager", "text"),
            Column("tier", "text", allowed=TIERS),
            Column("acquired_on", "date"),
            Column("acquisition_channel", "text", allowed=ACQUISITION_CHANNELS),
            Column("credit_rating", "text"),
            Column("churned_on", "date", required=False, nullable=True),
            Column("won_back_on", "date", required=False, nullable=True),
        ),
        key="account_id",
        date_column="acquired_on",
    ),
    "transactions": TableSpec(
        "transactions",
        (
            Column("account_id", "id"),
            Column("order_date", "date"),
            Column("revenue", "number"),
            Column("gross_margin", "number", required=False),
            Column("cost", "number", required=False),
            Column("product_category", "text"),
            Column("order_id", "id", required=False, nullable=True),
            Column("discount", "number", required=False, nullable=True),
        ),
        date_column="order_date",
        row_rules=(("revenue > 0 AND gross_margin > revenue", "gross_margin", "have a gross margin above their "
                    "revenue (margin is revenue minus cost)"),
                   ("cost < 0", "cost", "have a negative cost")),
    ),
    "costs": TableSpec(
        "costs",
        (
            Column("period", "date"),
            Column("kind", "text", allowed=COST_KINDS),
            Column("amount", "number"),
            Column("account_id", "id", required=False, nullable=True),
        ),
        required=False,
        date_column="period",
        row_rules=(("amount < 0", "amount", "are negative (costs are spending, written as positive amounts)"),),
    ),
    "interactions": TableSpec(
        "interactions",
        (
            Column("account_id", "id"),
            Column("date", "date"),
            Column("kind", "text", allowed=INTERACTION_KINDS),
            Column("contact_id", "id", required=False, nullable=True),   # who was met (contacts table)
        ),
        required=False,
        date_column="date",
    ),
    "opportunities": TableSpec(
        "opportunities",
        (
            Column("opportunity_id", "id"),
            Column("account_id", "id", nullable=True),
            Column("prospect_name", "text", required=False, nullable=True),
            Column("account_manager", "text"),
            Column("created_on", "date"),
            Column("closed_on", "date", nullable=True),
            Column("outcome", "text", allowed=OUTCOMES),
            Column("amount", "number"),
            Column("stage", "text", required=False, nullable=True),
        ),
        required=False,
        key="opportunity_id",
        date_column="created_on",
        row_rules=(
            ("outcome IN ('won', 'lost') AND closed_on IS NULL", "closed_on", "are won or lost but have no closed_on"),
            ("closed_on < created_on", "closed_on", "are closed before they were created"),
            ("account_id IS NULL AND (prospect_name IS NULL OR trim(prospect_name) = '')", "account_id",
             "have neither an account_id nor a prospect_name"),
        ),
        blank_after_analysis=(("closed_on", "opportunities closed after the analysis date treated as open",
                               ", outcome = 'open'"),),
    ),
    "payments": TableSpec(
        "payments",
        (
            Column("invoice_id", "id"),
            Column("account_id", "id"),
            Column("invoice_date", "date"),
            Column("due_date", "date"),
            Column("paid_date", "date", nullable=True),
            Column("amount", "number"),
        ),
        required=False,
        key="invoice_id",
        date_column="invoice_date",
        row_rules=(("due_date < invoice_date", "due_date", "are due before they were invoiced"),
                   ("paid_date < invoice_date", "paid_date", "are paid before they were invoiced")),
        blank_after_analysis=(("paid_date", "payments after the analysis date treated as unpaid", ""),),
    ),
    "contacts": TableSpec(       # the buying centre (客户档案 · 联系人); phone and email are personal information
        "contacts",
        (
            Column("account_id", "id"),
            Column("contact_id", "id"),
            Column("name", "text"),
            Column("role", "text", allowed=CONTACT_ROLES),
            Column("title", "text", required=False, nullable=True),
            Column("phone", "text", required=False, nullable=True),
            Column("email", "text", required=False, nullable=True),
            Column("is_decision_maker", "text", required=False, nullable=True, allowed=("true", "false")),
        ),
        required=False,
        key="contact_id",
    ),
    "tier_changes": TableSpec(   # tier history (客户级别变更): from `date` on, the account's tier is `tier`
        "tier_changes",
        (
            Column("account_id", "id"),
            Column("date", "date"),
            Column("tier", "text", allowed=TIERS),
        ),
        required=False,
        date_column="date",
    ),
}


class DataValidationError(ValueError):
    """Input data that cannot be analysed. The message names the file, column and offending rows; one raised
    for several problems (:meth:`combine`) lists them all in ``problems``."""

    def __init__(self, message: str, *, table: str, column: str | None = None,
                 rows: list[int] | None = None, source: str | None = None, count: int | None = None):
        where = source or table
        prefix = f"{where}: column '{column}': " if column else f"{where}: "
        super().__init__(prefix + message)
        self.table, self.column, self.rows, self.source, self.count = table, column, rows or [], source, count
        self.problems: list[DataValidationError] = [self]

    @classmethod
    def combine(cls, problems: list[DataValidationError]) -> DataValidationError:
        """One error for every problem found (the message lists them, one per line)."""
        if len(problems) == 1:
            return problems[0]
        err = cls(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems), table="data")
        err.args = (f"{len(problems)} problems in the data:\n" + "\n".join(f"  - {p}" for p in problems),)
        err.problems = list(problems)
        return err

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class DataQuality:
    """Rows read per table and rows excluded per reason (with the revenue they carried, if any)."""

    rows_read: dict[str, int] = field(default_factory=dict)
    exclusions: list[dict] = field(default_factory=list)
    adjustments: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)    # counted, not excluded (e.g. accounts without orders)
    notes: list[dict] = field(default_factory=list)       # files not read, hidden sheets, tables left out and why

    def exclude(self, table: str, reason: str, rows: int, amount: float | None = None) -> None:
        if rows:
            self.exclusions.append({"table": table, "reason": reason, "rows": int(rows),
                                    "amount": None if amount is None else float(amount)})

    def adjust(self, table: str, column: str, reason: str, values: int) -> None:
        """Record values that were changed (not rows removed), e.g. future churn dates blanked."""
        self.adjustments.append({"table": table, "column": column, "reason": reason, "values": int(values)})

    def find(self, table: str, finding: str, rows: int, amount: float | None = None) -> None:
        """Record rows that stay in the data but deserve a look (they do not stop the run)."""
        if rows:
            self.findings.append({"table": table, "finding": finding, "rows": int(rows),
                                  "amount": None if amount is None else float(amount)})

    def note(self, table: str, note: str) -> None:
        """Record what was not read and why (a file matching no table, a hidden sheet, a header-only table)."""
        self.notes.append({"table": table, "note": note})

    def notes_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.notes, columns=["table", "note"])

    def findings_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.findings, columns=["table", "finding", "rows", "amount"])

    @property
    def rows_excluded(self) -> int:
        return sum(e["rows"] for e in self.exclusions)

    def summary(self) -> pd.DataFrame:
        """One row per table: rows read, rows excluded, rows used."""
        excluded = pd.DataFrame(self.exclusions, columns=["table", "reason", "rows", "amount"])
        per_table = excluded.groupby("table")["rows"].sum()
        out = pd.DataFrame({"rows_read": pd.Series(self.rows_read, dtype="int64")})
        out["rows_excluded"] = per_table.reindex(out.index).fillna(0).astype("int64")
        out["rows_used"] = out["rows_read"] - out["rows_excluded"]
        out.index.name = "table"
        return out

    def exclusions_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.exclusions, columns=["table", "reason", "rows", "amount"])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DATE_FORMATS = ("%Y年%m月%d日", "%Y.%m.%d")     # besides ISO and 2026/10/5, which DuckDB casts itself
# amounts as exported: 1,234.50 / ￥1,234.50 / ¥1234.5 / 1234.50元 (thousands commas only in groups of three,
# so a decimal comma such as 1234,50 stays an error)
AMOUNT_PATTERN = r"-?[￥¥]?\s*-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*元?"


def date_expr(col: str) -> str:
    """SQL that parses a text or typed column as DATE (NULL when it cannot be parsed): ISO dates (a time part
    is ignored), 2026/10/5, 2026年10月5日, 2026.10.5."""
    c = _q(col)
    formats = "[" + ", ".join(f"'{f}'" for f in DATE_FORMATS) + "]"
    return (f"COALESCE(TRY_CAST({c} AS DATE), TRY_CAST(TRY_CAST({c} AS TIMESTAMP) AS DATE), "
            f"TRY_CAST(TRY_STRPTIME(CAST({c} AS VARCHAR), {formats}) AS DATE))")


def number_expr(col: str) -> str:
    """SQL that parses a text or typed column as DOUBLE (NULL when it cannot be parsed), amounts with
    thousands separators, a currency sign or 元 included."""
    c, text = _q(col), f"CAST({_q(col)} AS VARCHAR)"
    return (f"COALESCE(TRY_CAST({c} AS DOUBLE), TRY_CAST(CASE WHEN regexp_full_match(trim({text}), "
            f"'{AMOUNT_PATTERN}') THEN regexp_replace({text}, '[\\s,￥¥元]', '', 'g') END AS DOUBLE))")


def typed_expr(column: Column) -> str:
    if column.kind == "date":
        return f"{date_expr(column.name)} AS {_q(column.name)}"
    if column.kind == "number":
        return f"{number_expr(column.name)} AS {_q(column.name)}"
    return f"CAST({_q(column.name)} AS VARCHAR) AS {_q(column.name)}"


def _row_label(source: str, is_csv: bool) -> str:
    """CSV files count lines (the header is line 1), Excel sheets and tables count rows."""
    return "line" if is_csv and not (source.lower().endswith(".xlsx") or "[sheet " in source) else "row"


def _sample(con, sql: str, limit: int = 5) -> list[tuple]:
    return con.execute(f"{sql} LIMIT {limit}").fetchall()


def _shown(value) -> str:
    return "empty" if value is None or (isinstance(value, str) and not value.strip()) else repr(value)


def _fail(con, sql_rows: str, *, spec: TableSpec, column: str | None, source: str, is_csv: bool,
          what: str, problems: list | None = None) -> None:
    """A problem when the query ``sql_rows`` (selecting _row and the offending value) returns rows: added to
    ``problems`` (every check runs), or raised when no list is given."""
    n = con.execute(f"SELECT count(*) FROM ({sql_rows})").fetchone()[0]
    if not n:
        return
    sample = _sample(con, sql_rows + " ORDER BY 1")
    offset = 1 if is_csv else 0  # CSV line numbers count the header line
    shown = ", ".join(f"{_row_label(source, is_csv)} {r[0] + offset}: {_shown(r[1])}" for r in sample)
    rows = [int(r[0]) + offset for r in sample]
    err = DataValidationError(f"{n} row(s) {what} ({shown}{', ...' if n > len(sample) else ''})",
                              table=spec.name, column=column, rows=rows, source=source, count=int(n))
    if problems is None:
        raise err
    problems.append(err)


def check_columns(con, raw: str, spec: TableSpec, source: str) -> list[str]:
    """Fail on missing required columns; return the spec columns present in the raw table."""
    present = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if spec.name == "transactions" and "gross_margin" not in present and "cost" not in present:
        missing.append("gross_margin (or cost)")
    if missing:
        raise DataValidationError(
            f"missing column(s) {', '.join(missing)}; found {', '.join(c for c in present if c != '_row')}",
            table=spec.name, column=missing[0], source=source)
    return [c.name for c in spec.columns if c.name in present]


def check_values(con, raw: str, spec: TableSpec, present: list[str], source: str, is_csv: bool,
                 problems: list | None = None) -> None:
    """Missing values, unparsable dates and numbers, values outside the allowed set: every check of the table
    counted in one scan, and only the failing ones read again for their example rows."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {raw})").fetchall())
    checks = []                                        # (column, value shown, condition, what)
    for name in present:
        col = spec.column(name)
        q = _q(name)
        if not col.nullable:  # only text can be blank; typed (e.g. Parquet) columns are only checked for NULL
            blank = f" OR trim({q}) = ''" if types[name] == "VARCHAR" else ""
            checks.append((name, q, f"{q} IS NULL{blank}", "have no value"))
        if col.kind == "date":
            checks.append((name, f"CAST({q} AS VARCHAR)", f"{q} IS NOT NULL AND {date_expr(name)} IS NULL",
                           "have a date that cannot be parsed (expected YYYY-MM-DD, 2026/10/5 or 2026年10月5日)"))
        elif col.kind == "number":
            checks.append((name, f"CAST({q} AS VARCHAR)", f"{q} IS NOT NULL AND ({number_expr(name)} IS NULL OR "
                           f"isnan({number_expr(name)}) OR isinf({number_expr(name)}))",
                           "are not numbers (1,234.50, ￥1,234.50 and 1234.50元 are read; a decimal comma as in "
                           "1234,50 is not: write 1234.50)"))
        if col.allowed:
            allowed = ", ".join("'" + a + "'" for a in col.allowed)
            checks.append((name, q, f"{q} IS NOT NULL AND {q} NOT IN ({allowed})",
                           f"have a value outside the allowed set ({', '.join(col.allowed)}; a company's own codes "
                           f"are mapped to these under data.values in kam.yaml)"))
    if not checks:
        return
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for _, _, cond, _ in checks)
                         + f" FROM {raw}").fetchone()
    for (name, value, cond, what), n in zip(checks, counts):
        if n:
            _fail(con, f"SELECT _row, {value} FROM {raw} WHERE {cond}", spec=spec, problems=problems, column=name,
                  source=source, is_csv=is_csv, what=what)


def check_unique_key(con, raw: str, spec: TableSpec, source: str, is_csv: bool,
                     problems: list | None = None) -> None:
    if spec.key is None:
        return
    k = _q(spec.key)
    _fail(con, f"SELECT _row, {k} FROM {raw} WHERE {k} IN "
               f"(SELECT {k} FROM {raw} GROUP BY {k} HAVING count(*) > 1)",
          spec=spec, problems=problems, column=spec.key, source=source, is_csv=is_csv,
          what=f"repeat an id (duplicate {spec.key} values)")


def check_known_accounts(con, raw: str, spec: TableSpec, accounts: str, source: str, is_csv: bool,
                         problems: list | None = None, hint: str = "") -> None:
    _fail(con, f"SELECT _row, account_id FROM {raw} WHERE account_id IS NOT NULL "
               f"AND CAST(account_id AS VARCHAR) NOT IN (SELECT account_id FROM {accounts})",
          spec=spec, problems=problems, column="account_id", source=source, is_csv=is_csv,
          what="refer to accounts that are not in the accounts table" + hint)


def check_row_rules(con, raw: str, spec: TableSpec, present: list[str], source: str, is_csv: bool,
                    problems: list | None = None, skip: str = "false") -> None:
    """Cross-column consistency rules of a table (e.g. closed before created), evaluated on typed values;
    rows where the raw condition ``skip`` holds (e.g. lines marked as returns) are not checked."""
    if not spec.row_rules:
        return
    typed = ", ".join(typed_expr(spec.column(c)) for c in present)
    for condition, column, what in spec.row_rules:
        if column not in present:       # e.g. a margin rule on a file that gives cost instead
            continue
        _fail(con, f"SELECT _row, CAST({_q(column)} AS VARCHAR) FROM (SELECT _row, {typed} FROM {raw} "
                   f"WHERE NOT ({skip})) WHERE {condition}", spec=spec, problems=problems, column=column, source=source,
              is_csv=is_csv, what=what)


def check_not_after(con, raw: str, spec: TableSpec, limit: pd.Timestamp, source: str, is_csv: bool,
                    what: str, problems: list | None = None) -> None:
    col = spec.date_column
    if col is None:         # an undated table (contacts)
        return
    _fail(con, f"SELECT _row, CAST({_q(col)} AS VARCHAR) FROM {raw} "
               f"WHERE {date_expr(col)} > DATE '{limit.date()}'",
          spec=spec, problems=problems, column=col, source=source, is_csv=is_csv, what=what)
