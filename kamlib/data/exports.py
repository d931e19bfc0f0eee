"""What ERP and Excel exports carry besides the data, read as it says or refused with the fix
(``data/README.md``, "Reading rules"): units in headers, VAT, currencies, discount scales, Excel serial dates,
two-digit years, subtotal and total rows, returns marked by business type, ids that lost their leading zeros.

Every step works on a staged table (``raw_<table>_t``, the file as text) and its view ``raw_<table>`` (with
``_row``, the line in the file); every value changed is counted in the data-quality summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from . import schema
from .aliases import HeaderPlan, UNIT_FACTORS
from .schema import DataQuality, DataValidationError, TableSpec, _q, date_expr, number_expr

Discount = Literal["auto", "fraction", "percent", "price_ratio"]
# currency names as exports write them -> ISO code (others are read as written, upper case)
CURRENCY_NAMES = {"人民币": "CNY", "RMB": "CNY", "元": "CNY", "￥": "CNY", "¥": "CNY", "美元": "USD", "美金": "USD",
                  "港币": "HKD", "港元": "HKD", "欧元": "EUR", "日元": "JPY", "英镑": "GBP", "新台币": "TWD",
                  "台币": "TWD", "新加坡元": "SGD", "澳元": "AUD", "韩元": "KRW"}
# a cell that marks a subtotal or total row: 小计 / 合计 / 总计 at its end (客户小计, 合计:) or before a colon
SUBTOTAL = r"^.{0,30}(小计|合计|总计|小計|合計|總計)\s*[:：]?\s*$|^(小计|合计|总计|小計|合計|總計)\s*[:：]"
SUBTOTAL_WORDS = ("total", "subtotal", "sub-total", "grand total", "total:", "subtotal:")   # each holds "total"
RETURN_MARKS = r"退货|退貨|红字|紅字|退回|冲销|沖銷"      # 业务类型 / 单据类型 of a return or a red-ink reversal
TWO_DIGIT_YEAR = r"^\s*\d{2}[-/.]\d{1,2}[-/.]\d{1,2}(\s.*)?$"
EXCEL_SERIAL = r"^\s*[2-7]\d{4}(\.\d+)?\s*$"              # 20000-79999: 1954-09-03 .. 2118-09-20


@dataclass(frozen=True)
class ReadOptions:
    """The ``kam.yaml`` settings of reading (``data.*`` and ``currency`` / ``currency_rates``)."""

    revenue_includes_tax: bool = False
    vat_rate: float | None = None
    units: dict = field(default_factory=dict)            # {table: {column: 万元 | 千元 | 元 | %}}
    discount: Discount = "auto"
    currency: str = "CNY"
    currency_rates: dict = field(default_factory=dict)   # {USD: 7.1}: report currency per unit
    min_year: int = 1990


def _lit(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _types(con, table: str) -> dict[str, str]:
    return dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())


def _set_number(con, table: str, col: str, expr: str, where: str, types: dict) -> int:
    """Set a number column (text or typed) to ``expr`` where ``where`` holds; the rows changed."""
    n = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchall()[0][0]
    if n:
        value = f"CAST({expr} AS VARCHAR)" if types[col] == "VARCHAR" else expr
        con.execute(f"UPDATE {table} SET {_q(col)} = {value} WHERE {where}")
    return int(n)


# --- rows that are not records ---------------------------------------------------------------------------

def subtotal_rows(con, table: str) -> str | None:
    """SQL condition true for the subtotal and total rows of an exported report (小计 / 合计 / 总计 in any
    text column); None when no row can be one: no text cell holds 计 / 計 or 'total' in any case (one cheap
    scan first — the full condition costs ~10x as much on a large file, and most files have no such row)."""
    text = [_q(c) for c, t in _types(con, table).items() if t == "VARCHAR"]
    maybe = " OR ".join(f"contains({c}, '计') OR contains({c}, '計') OR {c} ILIKE '%total%'" for c in text)
    if not text or not con.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {maybe})").fetchall()[0][0]:
        return None
    words = ", ".join(_lit(w) for w in SUBTOTAL_WORDS)
    return " OR ".join(f"coalesce(((contains({c}, '计') OR contains({c}, '計')) AND regexp_matches(trim({c}), "
                       f"{_lit(SUBTOTAL)})) OR (length({c}) < 20 AND lower(trim({c})) IN ({words})), false)"
                       for c in text)      # contains() first: no regex per cell


def return_rows(columns: list[str]) -> str:
    """SQL condition true for lines marked as returns by a business-type column (业务类型 / 单据类型: 退货,
    红字 ...), whatever the sign of their amount."""
    return f"coalesce(regexp_matches(_kind, {_lit(RETURN_MARKS)}), false)" if "_kind" in columns else "false"


# --- values as exported ----------------------------------------------------------------------------------

def prepare(con, name: str, plan: HeaderPlan, options: ReadOptions, quality: DataQuality, problems: list,
            source: str, is_csv: bool) -> None:
    """Read the staged table ``raw_<name>_t`` as its export says: Excel serial numbers in date columns as
    dates; amounts in the unit of their header (or ``data.units``); amounts in another currency converted
    (``currency_rates``) or refused; revenue that includes VAT made net; discounts in percent or as price
    ratios made fractions, or refused."""
    spec, table, raw = schema.TABLES[name], f"raw_{name}_t", f"raw_{name}"
    types = _types(con, table)
    present = [c for c in spec.columns if c.name in types]
    for col in (c.name for c in present if c.kind == "date" and types[c.name] == "VARCHAR"):
        q = _q(col)
        n = _set_number(con, table, col, f"strftime(DATE '1899-12-30' + CAST(floor(CAST(trim({q}) AS DOUBLE)) "
                        "AS INTEGER), '%Y-%m-%d')", f"regexp_matches({q}, {_lit(EXCEL_SERIAL)})", types)
        if n:
            quality.adjust(name, col, "Excel serial numbers read as dates", n)
    amounts = [c.name for c in present if c.kind == "number" and c.name != "discount"] + \
        (["_tax"] if "_tax" in types else [])
    units = {**plan.units, **(options.units.get(name) or {})}
    for col, unit in units.items():
        factor = UNIT_FACTORS.get(str(unit).strip())
        if col in amounts and factor not in (None, 1):
            n = _set_number(con, table, col, f"round({number_expr(col)} * {factor}, 2)",
                            f"{number_expr(col)} IS NOT NULL", types)
            quality.adjust(name, col, f"amounts in {unit} multiplied by {factor:,}", n)
    if "_currency" in types:
        _currencies(con, name, amounts, options, quality, problems, source, is_csv, types)
    if name == "transactions":
        if plan.tax_inclusive is not None:
            _net_of_tax(con, table, plan.tax_inclusive, options, quality, types, source)
        if "discount" in types:
            mode = "percent" if str(units.get("discount", "")).strip() in ("%", "％") and options.discount == "auto" \
                else options.discount
            _discounts(con, raw, table, mode, quality, problems, source, is_csv, types)


def _currencies(con, name, amounts, options, quality, problems, source, is_csv, types) -> None:
    """Lines in another currency than the report's: converted at ``currency_rates`` or refused."""
    spec, table, raw = schema.TABLES[name], f"raw_{name}_t", f"raw_{name}"
    cases = " ".join(f"WHEN {_lit(k.upper())} THEN {_lit(v)}" for k, v in CURRENCY_NAMES.items())
    code = f"CASE upper(trim(_currency)) {cases} ELSE upper(trim(_currency)) END"
    home = options.currency.upper()
    rates = {str(k).upper(): float(v) for k, v in options.currency_rates.items()}
    schema._fail(con, f"SELECT _row, _currency FROM {raw} WHERE _currency IS NULL OR trim(_currency) = ''",
                 spec=spec, column="currency", source=source, is_csv=is_csv, problems=problems,
                 what="have no currency (币别 / 币种); fill it in, or leave the column out if every amount is in "
                      f"{home}")
    found = [r[0] for r in con.execute(f"SELECT DISTINCT {code} FROM {table} WHERE trim(_currency) <> ''").fetchall()]
    for cur in sorted(c for c in found if c != home):
        where = f"({code}) = {_lit(cur)}"
        if cur not in rates:
            schema._fail(con, f"SELECT _row, _currency FROM {raw} WHERE {where}", spec=spec, column="currency",
                         source=source, is_csv=is_csv, problems=problems,
                         what=f"are in {cur}, not in the report currency {home}, and kam.yaml gives no rate: add "
                              f"currency_rates: {{{cur}: <{home} per {cur}>}} (e.g. {{USD: 7.1}})")
            continue
        n = 0
        for col in amounts:
            n = max(n, _set_number(con, table, col, f"round({number_expr(col)} * {rates[cur]}, 2)",
                                   f"{where} AND {number_expr(col)} IS NOT NULL", types))
        quality.adjust(name, "currency", f"amounts in {cur} converted at {rates[cur]:g} {home} per {cur}", n)


def _net_of_tax(con, table: str, header: str, options: ReadOptions, quality: DataQuality, types: dict,
                source: str) -> None:
    """Revenue that includes VAT (data.revenue_includes_tax): the line's 税额 subtracted, else divided by
    1 + data.vat_rate."""
    rev = number_expr("revenue")
    if "_tax" in types:
        n = _set_number(con, table, "revenue", f"round({rev} - coalesce({number_expr('_tax')}, 0), 2)",
                        f"{rev} IS NOT NULL", types)
        quality.adjust("transactions", "revenue", "revenue including VAT: the VAT column (税额) subtracted", n)
    elif options.vat_rate is not None:
        n = _set_number(con, table, "revenue", f"round({rev} / {1 + options.vat_rate}, 2)", f"{rev} IS NOT NULL",
                        types)
        quality.adjust("transactions", "revenue", f"revenue including VAT divided by {1 + options.vat_rate:g}", n)
    else:
        raise DataValidationError(f"column '{header}' is read as revenue including VAT (data.revenue_includes_tax), "
                                  "but there is no VAT column (税额) and no rate: set data.vat_rate in kam.yaml "
                                  "(e.g. 0.13)", table="transactions", column="revenue", source=source)


def _discounts(con, raw, table, mode, quality, problems, source, is_csv, types) -> None:
    """Discounts are fractions (0.097 = 9.7% off): in percent points (9.7) or as price ratios (0.903 =
    9.03折) they are converted when ``data.discount`` says so; values above 1, or a column that looks like
    price ratios, are refused otherwise."""
    spec, d = schema.TABLES["transactions"], number_expr("discount")
    fix = ("data.discount in kam.yaml: percent when 9.7 means 9.7% off, price_ratio when 0.903 means the price is "
           "90.3% of list (9.03折)")
    if mode == "percent":
        schema._fail(con, f"SELECT _row, discount FROM {raw} WHERE {d} > 100", spec=spec, column="discount",
                     source=source, is_csv=is_csv, problems=problems, what="are above 100 percent")
        n = _set_number(con, table, "discount", f"{d} / 100", f"{d} IS NOT NULL", types)
        quality.adjust("transactions", "discount", "discounts in percent divided by 100", n)
    elif mode == "price_ratio":
        schema._fail(con, f"SELECT _row, discount FROM {raw} WHERE {d} > 1", spec=spec, column="discount",
                     source=source, is_csv=is_csv, problems=problems,
                     what="are price ratios above 1 (data.discount: price_ratio; 0.9 = 9折)")
        n = _set_number(con, table, "discount", f"round(1 - {d}, 10)", f"{d} IS NOT NULL AND {d} <= 1", types)
        quality.adjust("transactions", "discount", "price ratios (0.9 = 9折) read as discounts of 1 minus the ratio", n)
    elif mode == "auto":
        before = len(problems)
        schema._fail(con, f"SELECT _row, discount FROM {raw} WHERE {d} > 1", spec=spec, column="discount",
                     source=source, is_csv=is_csv, problems=problems,
                     what=f"are above 1, but a discount is a fraction (0.097 = 9.7% off); set {fix}")
        median = con.execute(f"SELECT median({d}) FROM {table} WHERE {d} > 0").fetchall()[0][0]
        if len(problems) == before and median is not None and median > 0.5:
            problems.append(DataValidationError(
                f"the median discount is {median:.3g}: these look like price ratios (0.9 = 9折, 10% off), not "
                f"discounts; set {fix}, or data.discount: fraction if they are discounts", table="transactions",
                column="discount", source=source))


# --- checks with the fix ---------------------------------------------------------------------------------

def check_dates(con, raw: str, spec: TableSpec, present: list[str], source: str, is_csv: bool, problems: list,
                min_year: int = 1990) -> None:
    """Two-digit years (26-10-05 is not the year 26) and years before ``min_year`` (data.min_year) are errors
    naming the lines."""
    for name in (c for c in present if spec.column(c).kind == "date"):
        q, text = _q(name), f"CAST({_q(name)} AS VARCHAR)"
        two = f"regexp_matches({text}, {_lit(TWO_DIGIT_YEAR)})"
        schema._fail(con, f"SELECT _row, {text} FROM {raw} WHERE {q} IS NOT NULL AND {two}", spec=spec,
                     column=name, source=source, is_csv=is_csv, problems=problems,
                     what="have a two-digit year, which cannot be read (26-10-05 may be 2026 or 1926): format the "
                          "column in Excel as a date with a four-digit year (yyyy-mm-dd) and export again")
        schema._fail(con, f"SELECT _row, {text} FROM {raw} WHERE {q} IS NOT NULL AND NOT {two} "
                          f"AND {date_expr(name)} < DATE '{min_year:04d}-01-01'", spec=spec, column=name,
                     source=source, is_csv=is_csv, problems=problems,
                     what=f"are dated before {min_year}: a typo or a year Excel read wrongly? Correct them, or set "
                          "data.min_year in kam.yaml if the records really go back so far")


def check_after_acquisition(con, raw: str, source: str, is_csv: bool, problems: list) -> None:
    """Order lines dated before their account was acquired (accounts.acquired_on) are errors naming them."""
    schema._fail(con, f"SELECT r._row, r.shown || ' (acquired ' || a.acquired_on || ')' FROM (SELECT _row, "
                      f"CAST(order_date AS VARCHAR) AS shown, {date_expr('order_date')} AS day, "
                      f"CAST(account_id AS VARCHAR) AS account_id FROM {raw}) r "
                      "JOIN accounts a USING (account_id) WHERE r.day < a.acquired_on",
                 spec=schema.TABLES["transactions"], column="order_date", source=source, is_csv=is_csv,
                 problems=problems, what="are dated before their account was acquired (accounts.acquired_on, "
                                         "建档日期): correct the order dates or the acquisition dates")


def id_hint(con, raw: str) -> str:
    """Why account ids may be unknown: ids that match a known id after removing leading zeros or a '.0'
    (Excel read the id as a number), with the fix; '' when none does."""
    strip = "ltrim(regexp_replace(trim({}), '\\.0+$', ''), '0')"
    hit = con.execute(
        f"SELECT r.account_id, a.account_id FROM (SELECT DISTINCT CAST(account_id AS VARCHAR) AS account_id "
        f"FROM {raw}) r JOIN _all_account_ids a ON {strip.format('r.account_id')} = {strip.format('a.account_id')} "
        "WHERE r.account_id <> a.account_id LIMIT 1").fetchall()
    hit = hit[0] if hit else None
    if hit is None:
        return ""
    return (f"; {hit[0]!r} matches {hit[1]!r} after removing leading zeros or '.0': Excel read the ids as numbers in "
            "one of the files — format the id column as text in Excel (or export it as text) in both files")
