"""Valid means the report can run: after validation, checks that the data can carry the analyses (a
run that passes them does not fail inside a notebook on the shape of the data), and data-quality findings
that do not stop the run but are counted and shown (:class:`~kamlib.data.schema.DataQuality`)."""
from __future__ import annotations

import pandas as pd

from .schema import DOUBTFUL_AFTER_DAYS, DataQuality, DataValidationError

# the fewest accounts with orders, and with repeat purchase days, the purchase models are fitted on
MIN_ACCOUNTS_WITH_ORDERS = 10
MIN_REPEAT_BUYERS = 5


def check(ds, labels: dict[str, str] | None = None) -> None:
    """Raise one error naming every reason the data set ``ds`` (files or a database, queried where it lives)
    cannot carry a report (``labels``: the file or table behind each table, for messages)."""
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
    if problems:
        raise DataValidationError.combine(problems)


def findings(con, analysis_date: pd.Timestamp, quality: DataQuality) -> None:
    """Counted, not stopping: accounts without any order, invoices unpaid long after their due date."""
    day = f"DATE '{analysis_date.date()}'"
    n = con.execute("SELECT count(*) FROM accounts WHERE account_id NOT IN "
                    "(SELECT DISTINCT account_id FROM transactions)").fetchone()[0]
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
