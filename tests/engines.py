"""Real database engines for the tests, started by the test suite itself: a throw-away PostgreSQL server
(Debian binaries, initdb/pg_ctl) and a local Spark session. Each skips with a message naming the missing
package when its binaries are absent."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd

from kamlib.data import schema

SQL_TYPES = {"id": "TEXT", "text": "TEXT", "date": "DATE", "number": "DOUBLE PRECISION"}


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the 'postgres' user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    """A server in a fresh directory under the system temp dir (pytest's own temp dirs are private to root,
    which the 'postgres' user cannot enter)."""

    def __init__(self, password: str | None = None):
        import tempfile
        self.password = password      # with a password: scram-sha-256 authentication for every connection
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="kamlib-pg-")) / "pgdata"
        self.port = _free_port()

    def start(self) -> "PostgresServer":
        base = self.dir.parent
        base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
            os.chmod(base, 0o755)
        auth = ["-A", "trust"]
        if self.password:
            pwfile = base / "pw"
            pwfile.write_text(self.password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        subprocess.run(_as_postgres_user([str(self.bin / "initdb"), "-D", str(self.dir), *auth, "-U",
                                          "postgres", "--no-sync"]), check=True, capture_output=True)
        if self.password:
            (base / "pw").unlink()
        subprocess.run(_as_postgres_user([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-w", "-l",
                                          str(self.dir / "log"), "-o",
                                          f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                                          "start"]), check=True, capture_output=True)
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        return self

    def stop(self) -> None:
        subprocess.run(_as_postgres_user([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "immediate",
                                          "stop"]), capture_output=True)
        shutil.rmtree(self.dir.parent, ignore_errors=True)

    def url(self, db: str = "postgres", *, password: bool = True) -> str:
        """The server's URL, with the password in it (``password=False``: without, for libpq to find)."""
        from urllib.parse import quote
        secret = f":{quote(self.password, safe='')}" if self.password and password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{db}"

    def load_folder(self, folder: Path, db: str = "postgres", rename: dict | None = None) -> None:
        """Create the model's tables with SQL types and COPY the CSV files of ``folder`` into them."""
        import psycopg
        rename = rename or {}
        with psycopg.connect(self.url(db), autocommit=True) as con:
            for name, spec in schema.TABLES.items():
                path = folder / f"{name}.csv"
                if not path.exists():
                    continue
                header = pd.read_csv(path, nrows=0).columns.tolist()
                kinds = {c.name: c.kind for c in spec.columns} | {"cost": "number"}
                cols = ", ".join(f'"{rename.get(c, c)}" {SQL_TYPES[kinds.get(c, "text")]}' for c in header)
                target = rename.get(name, name)
                con.execute(f'DROP TABLE IF EXISTS "{target}"')
                con.execute(f'CREATE TABLE "{target}" ({cols})')
                with con.cursor().copy(f'COPY "{target}" FROM STDIN WITH (FORMAT csv, HEADER true)') as cp:
                    cp.write(path.read_bytes())
