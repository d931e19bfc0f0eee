"""Valid means the report can run: after validation, checks that the data can carry the analyses (a
run that passes them does not fail inside a notebook on the shape of the data), and data-quality findings
that do not stop the run but are counted and shown (:class:`~kamlib.data.schema.DataQuality`)."""
from __future__ import annotations

import pandas as pd

from .schema import DOUBTFUL_AFTER_DAYS, DataQuality, DataValidationError

# the fewest accounts with orders, and with repeat purchase days, the purchase models are fitted on
MIN_ACCOUNTS_WITH_ORDERS = 10
MIN_REPEAT_BUYERS = 5
# the analysis month must be covered: each of its last COVERAGE_MONTHS months needs at least COVERAGE_SHARE of
# the median monthly order lines of the 12 months before them (when that median is at least COVERAGE_MIN_LINES)
COVERAGE_MONTHS, COVERAGE_SHARE, COVERAGE_MIN_LINES = 3, 0.2, 10


def check(ds, labels: dict[str, str] | None = None, *, month_coverage: bool = True) -> None:
    """Raise one error naming every reason the data set ``ds`` (files or a database, queried where it lives)
    cannot carry a report (``labels``: the file or table behind each table, for messages); with
    ``month_coverage`` (``data.month_coverage`` in kam.yaml) also when the data do not cover the analysis
    month (:func:`uncovered_months`)."""
    labels = labels or {}
    problems = []
    month = ds.analysis_date.strftime("%Y-%m")

    def problem(table: str, text: str, column: str | None = None):
        problems.append(DataValidationError(text, table=table, column=column, source=labels.get(table, table)))

    if not int(ds.table("accounts").count().execute()):
        problem("accounts", "has no accounts (a header without rows?)")
    tx = ds.table("transactions")
    if not ds.quality.rows_read.get("transactions", 0):
        problem("transactions", "has no order lines (a header without rows?)")
    elif not int(tx.count().execute()):
        problem("transactions", f"has no order with positive revenue on or before the end of the analysis month "
                f"{month}: choose a later month (see the data-quality summary for the lines left out)",
                column="order_date")
    else:
        used = tx.filter(tx.order_date.cast("date") <= ds.analysis_date.date())
        days = used.group_by("account_id").agg(days=used.order_date.cast("date").nunique())
        buyers = int(days.count().execute())
        repeat = int(days.filter(days.days > 1).count().execute())
        if buyers < MIN_ACCOUNTS_WITH_ORDERS:
            problem("transactions", f"has orders from {buyers} account(s) up to {month}; the purchase models need "
                    f"at least {MIN_ACCOUNTS_WITH_ORDERS}")
        elif repeat < MIN_REPEAT_BUYERS:
            problem("transactions", f"has {repeat} account(s) that bought on more than one day up to {month}; the "
                    f"purchase models need at least {MIN_REPEAT_BUYERS} repeat buyers")
        if month_coverage and (text := uncovered_months(used, ds.analysis_date)):
            problem("transactions", text, column="order_date")
    if problems:
        raise DataValidationError.combine(problems)


def uncovered_months(tx, analysis_date: pd.Timestamp) -> str:
    """Why the order lines ``tx`` (an Ibis table up to the analysis date) do not cover the analysis month —
    it, or one of the months just before it, has no order or far fewer than the months before (an old file
    or a hidden sheet read instead of the new export) — or '' when they do."""
    end = pd.Period(analysis_date, freq="M")
    months = pd.period_range(end=end, periods=12 + COVERAGE_MONTHS, freq="M")
    day = tx.order_date.cast("date")
    recent = tx.filter(day >= months[0].start_time.date())
    got = recent.group_by(month=day.truncate("M")).agg(n=recent.count()).execute()
    counts = pd.Series(got["n"].to_numpy(), index=pd.to_datetime(got["month"]).dt.to_period("M")) \
        .reindex(months, fill_value=0)
    before, last = counts.iloc[:12], counts.iloc[12:]
    typical = float(before[before > 0].median()) if (before > 0).sum() >= 3 else 0.0
    short = last[last < COVERAGE_SHARE * typical]
    if typical < COVERAGE_MIN_LINES or short.empty:
        return ""
    last_day = tx.order_date.cast("date").max().execute()
    shown = ", ".join(f"{m}: {n:,}" for m, n in short.items())
    return (f"does not cover the analysis month {end}: order lines {shown}, against a median of {typical:,.0f} a "
            f"month in the 12 months before; the data end on {pd.Timestamp(last_day).date()}. Is the export "
            "complete (an older file or a hidden sheet read instead of the new one)? Choose a month the data cover, "
            "add the missing orders, or set data.month_coverage: false in kam.yaml if the month really had so "
            "few orders")


def findings(con, analysis_date: pd.Timestamp, quality: DataQuality) -> None:
    """Counted, not stopping: accounts without any order, invoices unpaid long after their due date."""
    day = f"DATE '{analysis_date.date()}'"
    n = con.execute("SELECT count(*) FROM accounts WHERE account_id NOT IN "
                    "(SELECT DISTINCT account_id FROM transactions)").fetchall()[0][0]
    quality.find("accounts", "accounts without any order up to the analysis date", n)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "contacts" in tables and "interactions" in tables and "contact_id" in [
            r[0] for r in con.execute("DESCRIBE interactions").fetchall()]:
        n = con.execute("SELECT count(*) FROM interactions WHERE contact_id IS NOT NULL AND contact_id NOT IN "
                        "(SELECT contact_id FROM contacts)").fetchone()[0]
        quality.find("interactions", "meetings with a contact_id not in the contacts table (not counted as "
                     "meeting anyone of the buying centre)", n)
    if "payments" in tables:
        n, amount = con.execute(
            f"SELECT count(*), sum(amount) FROM payments WHERE paid_date IS NULL "
            f"AND due_date < {day} - INTERVAL {DOUBTFUL_AFTER_DAYS} DAY").fetchone()
        quality.find("payments", f"invoices unpaid more than {DOUBTFUL_AFTER_DAYS} days after their due date "
                     "(doubtful debt)", n, amount)
