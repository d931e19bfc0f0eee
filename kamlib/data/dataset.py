"""The validated data set handed to every analysis: tables in an Ibis backend plus the analysis date."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import ibis
import pandas as pd

from ..text.display import Shown, Summary, headed
from .engine import connect as duckdb_connect, fetch_frame
from .schema import DataQuality


@dataclass(repr=False)
class Dataset(Shown):
    """Validated key-account data.

    Files are read into a local DuckDB connection (``con``); database sources stay where they are and are
    reached through Ibis expressions (``exprs``: validated, mapped and filtered views of the source tables).
    Either way ``table(name)`` gives the Ibis expression used by :mod:`kamlib.data.aggregate`, so aggregations
    run in the engine; the small tables are available as pandas frames.
    """

    con: duckdb.DuckDBPyConnection | None
    analysis_date: pd.Timestamp
    quality: DataQuality
    source: str = ""
    fingerprint: str = ""
    tables: tuple[str, ...] = ()
    exprs: dict = field(default_factory=dict, repr=False)
    _frames: dict = field(default_factory=dict, repr=False)
    only: tuple[str, ...] | None = None       # the accounts this view keeps (:meth:`for_accounts`); None: all

    @cached_property
    def backend(self):
        return ibis.duckdb.from_connection(self.con)

    def table(self, name: str) -> ibis.Table:
        """The Ibis expression of table ``name`` (one of :attr:`tables`; another name lists them)."""
        if self.tables and name not in self.tables and name not in self.exprs:
            raise KeyError(f"no table {name!r} in this data set; its tables are: {', '.join(self.tables)}")
        t = self.exprs[name] if name in self.exprs else self.backend.table(name)
        if self.only is not None and "account_id" in t.columns:
            from .aggregate import of_accounts
            t = of_accounts(t, self.only)
        return t

    def for_accounts(self, account_ids) -> Dataset:
        """A view of this data set with only the rows of ``account_ids`` in every table keyed by account,
        filtered in the engine (one account's brief need not read the whole book into memory). Whatever is
        computed from it describes those accounts alone."""
        from dataclasses import replace
        return replace(self, _frames={}, only=tuple(str(a) for a in account_ids))

    def summary(self, lang: str = "en") -> Summary:
        """Source, analysis date, fingerprint and rows read / excluded / used per table."""
        from ..text.i18n import t
        q = self.quality
        info = [(t("res_source", lang), self.source), (t("res_analysis_date", lang), str(self.analysis_date.date())),
                (t("data_fingerprint", lang), self.fingerprint), (t("res_tables", lang), ", ".join(self.tables))]
        notes = [t("res_rows_excluded_note", lang, rows=f"{q.rows_excluded:,}")] if q.rows_excluded else []
        return Summary(t("res_dataset_title", lang), info, headed(q.summary(), lang), notes)

    def has(self, name: str) -> bool:
        return name in self.tables

    def frame(self, name: str) -> pd.DataFrame | None:
        """A table as a pandas DataFrame (cached); None when the optional table is absent."""
        if not self.has(name):
            return None
        if name not in self._frames:
            if name in self.exprs:
                df = self.table(name).execute()
            elif self.only is not None and "account_id" in self.table(name).columns:
                df = fetch_frame(self.con, f"SELECT * FROM {name} WHERE account_id IN (SELECT unnest(?))",
                                 [list(self.only)])
            else:
                df = fetch_frame(self.con, f"SELECT * FROM {name}")
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c]) or c in ("acquired_on", "churned_on",
                                                                        "won_back_on", "order_date",
                                                                        "period", "date", "created_on",
                                                                        "closed_on", "invoice_date",
                                                                        "due_date", "paid_date"):
                    df[c] = pd.to_datetime(df[c])
            self._frames[name] = df
        return self._frames[name]

    @property
    def accounts(self) -> pd.DataFrame:
        return self.frame("accounts")

    @property
    def transactions(self) -> pd.DataFrame:
        return self.frame("transactions")

    @property
    def costs(self) -> pd.DataFrame | None:
        return self.frame("costs")

    @property
    def interactions(self) -> pd.DataFrame | None:
        return self.frame("interactions")

    def rows(self, name: str, where) -> pd.DataFrame | None:
        """The rows ``where`` (a function of the table's Ibis expression) selects from table ``name``, run in
        the engine so a book's millions of rows never reach pandas whole; for a view of a few accounts
        (:meth:`for_accounts`, one brief) run over the frame of their rows, read once, instead of scanning the
        table on every call. None when the optional table is absent."""
        if not self.has(name):
            return None
        from .aggregate import IN_LIST_LIMIT, as_table, execute
        few = self.only is not None and len(self.only) <= IN_LIST_LIMIT
        return execute(where(as_table(self.frame(name)) if few else self.table(name)))

    def interactions_of(self, kinds, *, start=None, end=None, columns=None) -> pd.DataFrame | None:
        """The interactions of ``kinds`` dated in [start, end] (either end open), only ``columns`` when given
        (:meth:`rows`: not the whole table as :attr:`interactions` reads it); None without an interactions
        table."""
        def where(t):
            day, keep = t.date.cast("date"), t.kind.isin(list(kinds))
            if start is not None:
                keep &= day >= pd.Timestamp(start).date()
            if end is not None:
                keep &= day <= pd.Timestamp(end).date()
            t = t.filter(keep)
            return t.select(*columns) if columns else t
        it = self.rows("interactions", where)
        return None if it is None else it.astype({"date": "datetime64[us]"})

    def save(self, path, *, mask_contacts: bool = False) -> None:
        """Write a validated snapshot (tables, analysis date, data-quality record, fingerprint) to a DuckDB
        file; :func:`kamlib.load_dataset` reopens it read-only without validating again. ``mask_contacts``:
        the contacts' phone and e-mail as a brief shows them masked (:mod:`kamlib.text.masking`), for a
        snapshot kept beside the reports (personal information is not kept there as recorded)."""
        import json
        from pathlib import Path
        path = Path(path).resolve()
        if mask_contacts:
            self._save_masked(path)
            return
        if self.con is None:
            raise ValueError("only data sets read from files can be saved as a snapshot")
        meta = {"analysis_date": str(self.analysis_date.date()), "source": self.source,
                "fingerprint": self.fingerprint, "tables": list(self.tables),
                "quality": {"rows_read": self.quality.rows_read, "exclusions": self.quality.exclusions,
                            "adjustments": self.quality.adjustments, "findings": self.quality.findings,
                            "notes": self.quality.notes}}
        own = self.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                               ).fetchone()[0]
        if own and Path(own).resolve() == path:   # built in this file (load_dataset(database=...)): no copy
            self.con.execute("CREATE OR REPLACE TABLE _kam_meta (meta VARCHAR)")
            self.con.execute("INSERT INTO _kam_meta VALUES (?)", [json.dumps(meta)])
            self.con.execute("CHECKPOINT")
            return
        path.unlink(missing_ok=True)
        self.con.execute(f"ATTACH '{path.as_posix()}' AS snap")
        try:
            for name in self.tables:
                self.con.execute(f"CREATE TABLE snap.{name} AS SELECT * FROM main.{name}")
            self.con.execute("CREATE TABLE snap._kam_meta (meta VARCHAR)")
            self.con.execute("INSERT INTO snap._kam_meta VALUES (?)", [json.dumps(meta)])
        finally:
            self.con.execute("DETACH snap")

    def _save_masked(self, path) -> None:
        """:meth:`save` into a new file, the contacts' phone and e-mail masked on the way (never written)."""
        from ..text.masking import mask_email, mask_phone
        con = duckdb_connect(None)
        try:
            for name, mask in (("mask_phone", mask_phone), ("mask_email", mask_email)):
                con.create_function(name, mask, ["VARCHAR"], "VARCHAR")
            own = self.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                                   ).fetchone()[0]
            con.execute(f"ATTACH '{own}' AS src (READ_ONLY)")
            con.execute(f"ATTACH '{path.as_posix()}' AS snap")
            for name in (*self.tables, "_kam_meta"):
                have = [r[0] for r in con.execute(f"DESCRIBE src.{name}").fetchall()]
                masked = [f"{mask}({c}) AS {c}" for c, mask in (("phone", "mask_phone"), ("email", "mask_email"))
                          if name == "contacts" and c in have]
                replace = f" REPLACE ({', '.join(masked)})" if masked else ""
                con.execute(f"CREATE TABLE snap.{name} AS SELECT *{replace} FROM src.{name}")
            con.execute("DETACH snap")
        finally:
            con.close()

    @classmethod
    def open_snapshot(cls, path) -> "Dataset":
        """A data set saved by :meth:`save` (read-only)."""
        import json
        con = duckdb_connect(str(path), read_only=True)
        meta = json.loads(con.execute("SELECT meta FROM _kam_meta").fetchone()[0])
        q = DataQuality(rows_read=meta["quality"]["rows_read"], exclusions=meta["quality"]["exclusions"],
                        adjustments=meta["quality"]["adjustments"], findings=meta["quality"].get("findings", []),
                        notes=meta["quality"].get("notes", []))
        return cls(con=con, analysis_date=pd.Timestamp(meta["analysis_date"]), quality=q, source=meta["source"],
                   fingerprint=meta["fingerprint"], tables=tuple(meta["tables"]))

    @property
    def opportunities(self) -> pd.DataFrame | None:
        return self.frame("opportunities")

    @property
    def payments(self) -> pd.DataFrame | None:
        return self.frame("payments")

    @property
    def analysis_month(self) -> pd.Period:
        return self.analysis_date.to_period("M")
